/**
 * How long does `db-harness drift` take? Reading both catalogs, diffing them and running the
 * data-aware checks on TARGET, each timed apart, for pagila against a modified pagila (expected
 * well under a second) and for two generated 1,000-table schemas with scattered differences
 * (target: under 5 seconds in all).
 *
 *   node bench/drift.bench.ts [--tables 1000] [--runs 5]
 *
 * It starts its own PostgreSQL (embedded, on loopback). Each run opens new connections, as every
 * command does; the figures are medians over the runs.
 */
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import pg from "pg"
import { readCatalog } from "../src/engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { applyDataChecks } from "../src/engine/drift-data-checks.ts"
import { startEmbeddedPostgres } from "../src/engine/embedded-postgres.ts"
import { median, wideSchemaSql, wideTableName } from "./wide-schema.ts"
import { SEVERITY_ORDER } from "../src/engine/findings.ts"
import { diffSchemas } from "../src/engine/schema-diff.ts"
import { readOnlyQuery } from "../src/engine/schema-source.ts"

const { values: flags } = parseArgs({
  options: { tables: { type: "string", default: "1000" }, runs: { type: "string", default: "5" } }
})
const tableCount = Number(flags.tables)
const runs = Number(flags.runs)

const PAGILA = readFileSync(new URL("../../shared/fixtures/pagila/pagila-schema-stock.sql", import.meta.url), "utf8")

/** TARGET's differences from pagila: a column to drop, a dropped index, a relaxed NOT NULL, a changed default. */
const PAGILA_CHANGES = `
  ALTER TABLE public.actor ADD COLUMN nickname text;
  DROP INDEX public.idx_actor_last_name;
  ALTER TABLE public.address ALTER COLUMN phone DROP NOT NULL;
  ALTER TABLE public.film ALTER COLUMN rental_rate SET DEFAULT 5.99;`

const name = wideTableName

/** TARGET's differences: every 50th table has an extra column, every 100th lost an index, every 70th a narrower title, one extra table. */
const generatedChanges = (count: number) => {
  const statements: Array<string> = []
  for (let i = 0; i < count; i++) {
    if (i % 50 === 7) statements.push(`ALTER TABLE ${name(i)} ADD COLUMN legacy_flag boolean;`)
    if (i % 100 === 3) statements.push(`DROP INDEX ${name(i)}_created;`)
    if (i % 70 === 5) statements.push(`ALTER TABLE ${name(i)} ALTER COLUMN title TYPE varchar(100);`)
  }
  statements.push("CREATE TABLE obsolete_import (id bigint PRIMARY KEY, payload jsonb);")
  return `BEGIN;\n${statements.join("\n")}\nCOMMIT;`
}


const exec = async (url: string, sql: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** One drift run, as the command does it: both catalogs read at once, then diff, then TARGET's data checks. */
const oneRun = (sourceUrl: string, targetUrl: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const source = yield* resolveEndpoint(sourceUrl, {})
      const target = yield* resolveEndpoint(targetUrl, {})
      const started = performance.now()
      const [sourceCatalog, targetCatalog] = yield* Effect.all(
        [
          readCatalog.pipe(Effect.provide(sqlClientLayer(source, "db-harness bench", 1))),
          readCatalog.pipe(Effect.provide(sqlClientLayer(target, "db-harness bench", 1)))
        ],
        { concurrency: 2 }
      )
      const query = yield* readOnlyQuery(target, "db-harness bench")
      const read = performance.now()
      const findings = diffSchemas(sourceCatalog, targetCatalog, { includePrivileges: false, includeOwners: false, includeComments: false, exclude: [] })
      const diffed = performance.now()
      const checked = yield* applyDataChecks(findings, sourceCatalog, targetCatalog, query)
      const done = performance.now()
      return { read: read - started, diff: diffed - read, dataChecks: done - diffed, findings: checked }
    })
  )

const measure = async (label: string, sourceUrl: string, targetUrl: string) => {
  const results = []
  for (let run = 0; run < runs; run++) results.push(await Effect.runPromise(oneRun(sourceUrl, targetUrl)))
  const last = results[results.length - 1]!
  const counts = SEVERITY_ORDER.map((severity) => `${last.findings.filter((f) => f.severity === severity).length} ${severity}`).join(", ")
  const read = median(results.map((r) => r.read))
  const diff = median(results.map((r) => r.diff))
  const dataChecks = median(results.map((r) => r.dataChecks))
  console.log(
    `${label}: read both catalogs ${read.toFixed(0)} ms, diff ${diff.toFixed(1)} ms, data checks ${dataChecks.toFixed(1)} ms, ` +
      `total ${(read + diff + dataChecks).toFixed(0)} ms (medians of ${runs}; ${last.findings.length} findings: ${counts})`
  )
}

const server = await startEmbeddedPostgres()
try {
  for (const database of ["pagila_a", "pagila_b", "wide_a", "wide_b"]) await exec(server.adminUrl, `CREATE DATABASE ${database}`)
  await exec(server.urlFor("pagila_a"), PAGILA)
  await exec(server.urlFor("pagila_b"), PAGILA + PAGILA_CHANGES)
  const built = performance.now()
  await exec(server.urlFor("wide_a"), wideSchemaSql(tableCount, "varchar(200)"))
  await exec(server.urlFor("wide_b"), wideSchemaSql(tableCount, "varchar(200)") + generatedChanges(tableCount))
  console.log(`created two ${tableCount}-table schemas in ${Math.round(performance.now() - built)} ms`)
  await measure("pagila vs modified pagila", server.urlFor("pagila_a"), server.urlFor("pagila_b"))
  await measure(`${tableCount} tables vs ${tableCount} tables`, server.urlFor("wide_a"), server.urlFor("wide_b"))
} finally {
  await server.stop()
}
