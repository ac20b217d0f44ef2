/**
 * `npm run bench:subset -- [--rows 2000000] [--runs 3] [--tables 500]`: what subsetting costs.
 *
 * (1) A parent of `--rows` rows and a child of the same number of rows (each pointing at a random
 * parent). `propagate --subset` keeps 20% of the parents (keyed hash) and, by cascade, their
 * children. The baseline copies exactly those rows plainly: a second source database holds only
 * the rows the subset selects (made on the server beforehand) and is copied by a plain
 * `propagate`. Both run as child processes (start-up, catalog reads, root counting and evidence
 * included); medians of `--runs`. Every run is checked to have copied the same rows.
 * The same two reads as raw pipes, psql `\copy ... TO pstdout (FORMAT binary)` into psql
 * `\copy ... FROM pstdin` (both tables at once, into tables without the foreign key): of the
 * pre-made tables, and of the planner's SELECTs on the full source. Their ratio is what the
 * source's scan of the whole tables costs with no db-harness in the way.
 * (2) Planning a `--tables`-table schema (bench/wide-schema.ts): `plan --json` reports the time
 * of rule resolution, WHERE checks and planning; the whole command's wall time is shown too.
 */
import { execFile, spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, promisify } from "node:util"
import pg from "pg"
import { startEmbeddedPostgres } from "../src/engine/embedded-postgres.ts"
import { median, wideSchemaSql } from "./wide-schema.ts"

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const { values } = parseArgs({ options: { rows: { type: "string", default: "2000000" }, runs: { type: "string", default: "3" }, tables: { type: "string", default: "500" } } })
const ROWS = Number(values.rows)
const RUNS = Number(values.runs)
const TABLES = Number(values.tables)

const sql = async (url: string, text: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end()
  }
}

const cli = async (args: ReadonlyArray<string>) => {
  const started = performance.now()
  const { stdout } = await promisify(execFile)(process.execPath, ["--max-semi-space-size=1", "bin/db-harness.js", ...args], { cwd: REPO_ROOT, maxBuffer: 256 * 1024 * 1024 })
  return { ms: performance.now() - started, stdout }
}

const SCHEMA = `
CREATE TABLE parent (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent (id), note text NOT NULL, qty integer NOT NULL);
CREATE INDEX ON child (parent_id);`

const server = await startEmbeddedPostgres()
const work = await mkdtemp(join(tmpdir(), "dbh-bench-subset-"))
try {
  for (const db of ["sub_src", "sub_pre", "sub_dst", "sub_pipe"]) await sql(server.adminUrl, `CREATE DATABASE ${db}`)
  const [src, pre, dst, pipeTarget] = ["sub_src", "sub_pre", "sub_dst", "sub_pipe"].map((d) => server.urlFor(d)) as [string, string, string, string]
  for (const url of [src, pre, dst]) await sql(url, SCHEMA)
  // The pipes' target: the same tables and indexes, no foreign key (psql's COPY would check it row by row).
  await sql(pipeTarget, SCHEMA.replace(" REFERENCES parent (id)", ""))
  process.stderr.write(`generating ${ROWS} parents and ${ROWS} children ...\n`)
  await sql(src, `INSERT INTO parent SELECT i, 'name ' || i, (i % 100000) / 100.0, timestamptz '2020-01-01' + i * interval '1 minute' FROM generate_series(1, ${ROWS}) i;
    INSERT INTO child SELECT i, 1 + (hashint8(i) & 2147483647) % ${ROWS}, 'note ' || i, i % 13 FROM generate_series(1, ${ROWS}) i; ANALYZE`)
  const rules = join(work, "subset.yaml")
  await writeFile(rules, `version: "1.0"\nstrategy: percentage\nseed: 1\npercentage: { sample_percentage: 0.2 }\nroots: [parent]\ncascade_selection: true\nmax_cascade_depth: 1\n`)
  // The same rows, made on the server from the planner's own SELECTs, as plain tables.
  const plan = JSON.parse((await cli(["plan", src, "--subset", rules, "--json"])).stdout) as { tables: Array<{ table: string; sql: string }> }
  const selectOf = (name: string) => plan.tables.find((t) => t.table === `public.${name}`)!.sql
  for (const name of ["parent", "child"]) {
    const select = selectOf(name)
    const rows = await sql(src, `SELECT count(*)::bigint AS n FROM (${select}) s`)
    process.stderr.write(`${name}: ${rows[0]!.n} rows selected\n`)
  }
  // Copy the selected rows into sub_pre with the subset itself (not timed), then verify counts.
  await cli(["propagate", src, pre, "--subset", rules, "--quiet", "--evidence-dir", join(work, "ev0")])
  await sql(pre, "ANALYZE")
  const expected = await sql(pre, "SELECT (SELECT count(*) FROM parent)::bigint AS p, (SELECT count(*) FROM child)::bigint AS c")
  const check = async () => {
    const got = await sql(dst, "SELECT (SELECT count(*) FROM parent)::bigint AS p, (SELECT count(*) FROM child)::bigint AS c")
    if (got[0]!.p !== expected[0]!.p || got[0]!.c !== expected[0]!.c) throw new Error(`copied ${JSON.stringify(got[0])}, expected ${JSON.stringify(expected[0])}`)
  }
  /** Both tables at once, each `psql \copy OUT | psql \copy IN` in binary; resolves with the wall time. */
  const pipes = async (from: string, out: (name: string) => string) => {
    await sql(pipeTarget, "TRUNCATE child, parent; CHECKPOINT")
    const started = performance.now()
    await Promise.all(
      ["parent", "child"].map(
        (name) =>
          new Promise<void>((resolve, reject) => {
            const psql = ["-X", "-q", "-v", "ON_ERROR_STOP=1"]
            const reader = spawn("psql", [...psql, from, "-c", `\\copy ${out(name)} TO pstdout (FORMAT binary)`], { stdio: ["ignore", "pipe", "inherit"] })
            const writer = spawn("psql", [...psql, pipeTarget, "-c", `\\copy public.${name} FROM pstdin (FORMAT binary)`], { stdio: ["pipe", "ignore", "inherit"] })
            reader.stdout.pipe(writer.stdin)
            let exited = 0
            const done = (code: number | null) => {
              if (code !== 0) reject(new Error(`psql exited ${code} copying ${name}`))
              else if (++exited === 2) resolve()
            }
            reader.on("exit", done)
            writer.on("exit", done)
          })
      )
    )
    const ms = performance.now() - started
    const got = await sql(pipeTarget, "SELECT (SELECT count(*) FROM parent)::bigint AS p, (SELECT count(*) FROM child)::bigint AS c")
    if (got[0]!.p !== expected[0]!.p || got[0]!.c !== expected[0]!.c) throw new Error(`the pipes copied ${JSON.stringify(got[0])}, expected ${JSON.stringify(expected[0])}`)
    return ms
  }
  const times = { subset: [] as Array<number>, plain: [] as Array<number>, pipePlain: [] as Array<number>, pipeSubset: [] as Array<number> }
  for (let run = 0; run < RUNS; run++) {
    times.pipePlain.push(await pipes(pre, (name) => `public.${name}`))
    times.pipeSubset.push(await pipes(src, (name) => `(${selectOf(name)})`))
    await sql(dst, "TRUNCATE child, parent; CHECKPOINT")
    times.plain.push((await cli(["propagate", pre, dst, "--quiet", "--evidence-dir", join(work, "ev")])).ms)
    await check()
    await sql(dst, "TRUNCATE child, parent; CHECKPOINT")
    times.subset.push((await cli(["propagate", src, dst, "--subset", rules, "--quiet", "--evidence-dir", join(work, "ev")])).ms)
    await check()
  }
  const copied = Number(expected[0]!.p) + Number(expected[0]!.c)
  const line = (what: string, ms: Array<number>) =>
    `${what.padEnd(44)} median ${(median(ms) / 1000).toFixed(2)} s  (${ms.map((m) => (m / 1000).toFixed(2)).join(", ")})  ${Math.round(copied / (median(ms) / 1000)).toLocaleString("en-US")} rows/s`
  console.log(`subset of ${ROWS.toLocaleString("en-US")} parents + ${ROWS.toLocaleString("en-US")} children: ${copied.toLocaleString("en-US")} rows copied (parents ${expected[0]!.p}, children ${expected[0]!.c})`)
  console.log(line("plain propagate of the pre-subset tables", times.plain))
  console.log(line("propagate --subset (20% of parents + children)", times.subset))
  console.log(`ratio subset / plain: ${(median(times.subset) / median(times.plain)).toFixed(2)}x`)
  console.log(line("psql pipes of the pre-subset tables", times.pipePlain))
  console.log(line("psql pipes of the planner's SELECTs", times.pipeSubset))
  console.log(`ratio of the pipes, SELECTs / pre-subset tables: ${(median(times.pipeSubset) / median(times.pipePlain)).toFixed(2)}x`)

  await sql(server.adminUrl, "CREATE DATABASE sub_wide")
  const wide = server.urlFor("sub_wide")
  await sql(wide, wideSchemaSql(TABLES))
  await sql(wide, "ANALYZE")
  const wideRules = join(work, "wide.yaml")
  await writeFile(wideRules, `version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 0.2 }\ncritical_tables: [t00000]\ncascade_selection: true\nmax_cascade_depth: 3\n`)
  const planning: Array<number> = []
  const wall: Array<number> = []
  for (let run = 0; run < RUNS; run++) {
    const result = await cli(["plan", wide, "--subset", wideRules, "--json"])
    planning.push((JSON.parse(result.stdout) as { planningMs: number }).planningMs)
    wall.push(result.ms)
  }
  console.log(`planning a ${TABLES}-table schema: median ${median(planning)} ms (rules resolved and checked, SQL for every table); whole plan command incl. start-up, catalog read and EXPLAIN of every table: median ${(median(wall) / 1000).toFixed(2)} s`)
} finally {
  await server.stop()
  await rm(work, { recursive: true, force: true })
}
