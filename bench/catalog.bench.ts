/**
 * How long does reading a wide schema into the catalog model take? Every command that plans or
 * gates starts with this read, so it must stay well under a second for 1,000 tables.
 *
 *   node bench/catalog.bench.ts [--tables 1000] [--runs 7]
 *
 * It starts its own PostgreSQL (embedded, on loopback), creates `--tables` tables of eight columns
 * each (primary key, a foreign key to an earlier table in three of four, a unique and a plain
 * index, a check; a trigger on every tenth table, a view over every twentieth), then reads the
 * catalog `--runs` times and prints each time and the median. Each run opens a new connection, as
 * every db-harness command does, so the server backend starts with cold caches each time; the
 * connection itself is timed apart from the read.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { parseArgs } from "node:util"
import pg from "pg"
import { readCatalog } from "../src/engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { startEmbeddedPostgres } from "../src/engine/embedded-postgres.ts"
import { median, wideSchemaSql } from "./wide-schema.ts"

const { values: flags } = parseArgs({
  options: { tables: { type: "string", default: "1000" }, runs: { type: "string", default: "7" } }
})
const tableCount = Number(flags.tables)
const runs = Number(flags.runs)

const server = await startEmbeddedPostgres()
try {
  const admin = new pg.Client({ connectionString: server.adminUrl })
  await admin.connect()
  await admin.query("CREATE DATABASE bench_catalog")
  await admin.end()
  const url = server.urlFor("bench_catalog")
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const buildStarted = performance.now()
  await client.query(wideSchemaSql(tableCount))
  await client.end()
  console.log(`created ${tableCount} tables in ${Math.round(performance.now() - buildStarted)} ms`)

  const endpoint = await Effect.runPromise(resolveEndpoint(url, {}))
  const oneRun = Effect.timed(readCatalog).pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness bench")), Effect.timed)
  const times: Array<number> = []
  for (let run = 0; run < runs; run++) {
    const [total, [read, catalog]] = await Effect.runPromise(oneRun)
    const ms = Duration.toMillis(read)
    times.push(ms)
    const foreignKeys = catalog.tables.reduce((sum, table) => sum + table.foreignKeys.length, 0)
    console.log(
      `run ${run + 1}: read ${ms.toFixed(0)} ms, connect and close ${(Duration.toMillis(total) - ms).toFixed(0)} ms ` +
        `(${catalog.tables.length} tables, ${foreignKeys} foreign keys, ${catalog.views.length} views)`
    )
  }
  console.log(
    `catalog read of ${tableCount} tables: median ${median(times).toFixed(0)} ms, ` +
      `min ${Math.min(...times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms over ${runs} runs`
  )
} finally {
  await server.stop()
}
