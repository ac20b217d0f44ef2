/**
 * The PII detection benchmark: accuracy on the labelled evaluation set and the time of a scan.
 *
 *   node bench/pii.bench.ts [--tables 100] [--rows 10000] [--sample-size 1000] [--runs 3]
 *
 * It starts its own PostgreSQL (embedded, on loopback), then:
 * 1. loads the labelled evaluation set (test/fixtures/pii-eval) and scans it in process with the
 *    built-in detectors: column-level recall and precision, misses and false alarms by name;
 * 2. makes `--tables` tables of `--rows` rows each (made by the server from the row number: ids,
 *    e-mail addresses, names, phone numbers, free text, amounts, timestamps, UUIDs) and times
 *    `db-harness detect-pii URL --sample-size N` as a child process, start-up included, over
 *    `--runs` runs (median), each with a new seed. Tables bigger than the sample are sampled
 *    with TABLESAMPLE BERNOULLI, so the timing includes real sampling.
 */
import { execFile } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, promisify } from "node:util"
import * as Effect from "effect/Effect"
import pg from "pg"
import { resolveEndpoint } from "../src/engine/connection.ts"
import { startEmbeddedPostgres } from "../src/engine/embedded-postgres.ts"
import { makeDetectors } from "../src/engine/pii-detect.ts"
import { scanDatabase } from "../src/engine/pii-scan.ts"
import { builtinPlugins } from "../src/plugins/index.ts"
import { evalLabels, evalSql, score } from "../test/fixtures/pii-eval/eval-set.ts"
import { median } from "./wide-schema.ts"

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const { values: args } = parseArgs({
  options: {
    tables: { type: "string", default: "100" },
    rows: { type: "string", default: "10000" },
    "sample-size": { type: "string", default: "1000" },
    runs: { type: "string", default: "3" }
  }
})
const TABLES = Number(args.tables)
const ROWS = Number(args.rows)
const SAMPLE = Number(args["sample-size"])
const RUNS = Number(args.runs)

const sql = async (url: string, text: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const tableSql = (i: number) => `CREATE TABLE t${String(i).padStart(3, "0")} (
  id bigint PRIMARY KEY, email text, full_name text, phone text, notes text, amount numeric(10,2), created_at timestamptz, external_id uuid);
INSERT INTO t${String(i).padStart(3, "0")}
  SELECT g, 'user' || g || '@mail${i}.org', (ARRAY['Maria','John','Lukas','Amelie'])[1 + g % 4] || ' ' || (ARRAY['Garcia','Smith','Schneider','Dubois'])[1 + g % 4],
         '+44 20 7946 ' || lpad((g % 10000)::text, 4, '0'), 'ticket ' || g || ' handled', g % 1000, timestamptz '2024-01-01' + g * interval '1 minute',
         md5(g::text)::uuid
    FROM generate_series(1, ${ROWS}) g;`

const server = await startEmbeddedPostgres()
const stopOnSignal = () => void server.stop().finally(() => process.exit(130))
process.once("SIGINT", stopOnSignal)
process.once("SIGTERM", stopOnSignal)
try {
  // 1. Accuracy on the labelled set.
  await sql(server.adminUrl, "CREATE DATABASE bench_pii_eval")
  const evalUrl = server.urlFor("bench_pii_eval")
  await sql(evalUrl, evalSql())
  const detectors = await Effect.runPromise(makeDetectors(builtinPlugins))
  const endpoint = await Effect.runPromise(resolveEndpoint(evalUrl, {}))
  const started = performance.now()
  const result = await Effect.runPromise(
    scanDatabase({ endpoint, sampleSize: SAMPLE, seed: 1, full: false, include: [], exclude: [], detectors, concurrency: 4 })
  )
  const evalMs = performance.now() - started
  const found = new Map(
    result.findings
      .filter((f) => f.severity === "breaking")
      .map((f) => [`${f.object.schema}.${f.object.table}.${f.object.column}`, (f.details as { entity: string }).entity])
  )
  const labels = evalLabels()
  const s = score(labels, found)
  const positives = [...labels.values()].filter((e) => e !== null).length
  console.log(`evaluation set: ${labels.size} labelled columns (${positives} personal, ${labels.size - positives} look-alikes) in ${result.tables.length} tables`)
  console.log(`  recall    ${s.recall.toFixed(3)}  (${s.truePositives}/${positives})`)
  console.log(`  precision ${s.precision.toFixed(3)}  (${s.truePositives}/${s.truePositives + s.falsePositives.length + s.wrongEntity.length})`)
  console.log(`  missed: ${s.falseNegatives.join(", ") || "none"}`)
  console.log(`  false alarms: ${s.falsePositives.join(", ") || "none"}`)
  console.log(`  wrong entity: ${s.wrongEntity.join(", ") || "none"}`)
  console.log(`  scan time (in process): ${evalMs.toFixed(0)} ms`)

  // 2. Time of a scan of TABLES tables.
  await sql(server.adminUrl, "CREATE DATABASE bench_pii_wide")
  const wideUrl = server.urlFor("bench_pii_wide")
  for (let i = 0; i < TABLES; i += 10) {
    await sql(wideUrl, Array.from({ length: Math.min(10, TABLES - i) }, (_, k) => tableSql(i + k)).join("\n"))
  }
  await sql(wideUrl, "ANALYZE")
  const evidence = await mkdtemp(join(tmpdir(), "db-harness-bench-pii-"))
  const times: Array<number> = []
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now()
    const child = await promisify(execFile)(
      process.execPath,
      ["--max-semi-space-size=1", "bin/db-harness.js", "detect-pii", wideUrl, "--sample-size", String(SAMPLE), "--seed", String(run + 1), "--json", "--evidence-dir", evidence],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 }
    ).catch((error: { code?: number; stdout?: string }) => {
      if (error.code === 4) return { stdout: error.stdout ?? "" }
      throw error
    })
    times.push(performance.now() - t0)
    const report = JSON.parse(child.stdout) as { summary: { tables: number; columnsScanned: number }; tables: Array<{ method: string; rowsSampled: number }> }
    if (run === 0) {
      const methods = new Set(report.tables.map((t) => `${t.method} (${t.rowsSampled} rows)`))
      console.log(`scan of ${report.summary.tables} tables x ${ROWS} rows, ${report.summary.columnsScanned} columns scanned, sample ${SAMPLE}: ${[...methods].join(", ")}`)
    }
  }
  console.log(`  detect-pii wall time (child process, start-up included): median ${(median(times) / 1000).toFixed(2)} s over ${RUNS} runs [${times.map((t) => (t / 1000).toFixed(2)).join(", ")}]`)
  await rm(evidence, { recursive: true, force: true })
} finally {
  await server.stop()
}
