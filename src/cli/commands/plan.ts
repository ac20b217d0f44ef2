/**
 * `db-harness plan SOURCE --subset FILE [--count] [--json]`: the subset dry run. Shows, for every
 * table in load order, its role, the SELECT `propagate --subset` would stream, the rows it is
 * estimated to copy (`estimateSubsetRows`) and, with --count, the exact rows it selects at one
 * snapshot. Everything runs in read-only transactions on the source; nothing is written anywhere.
 */
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import { readCatalog } from "../../engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../../engine/connection.ts"
import { HarnessError } from "../../engine/errors.ts"
import type { SourceQuery } from "../../engine/propagate.ts"
import { openSourceSnapshot } from "../../engine/source-snapshot.ts"
import { countRoots, estimateSubsetRows, loadSubsetRules, prepareSubset } from "../../engine/subset-source.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { formatTable, printJson, printLine, style } from "../output.ts"
import { formatCount } from "../progress.ts"

const source = Argument.String("source").pipe(
  Argument.withDescription("database to plan against: a postgres:// URL or an environment name (prod reads DB_PROD_CONN)")
)

const flags = {
  subset: Flag.String("subset").pipe(Flag.withDescription("subset rules (YAML)")),
  count: Flag.Boolean("count").pipe(
    Flag.withDescription("also count the exact rows each table's SELECT returns (runs every query; read-only)"),
    Flag.withDefault(false)
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print the plan as JSON on stdout"), Flag.withDefault(false))
}

export const planCommand = Command.make("plan", { source, ...flags }, (input) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cli = yield* CliEnvironment
      const file = yield* loadSubsetRules(input.subset, cli.cwd)
      const endpoint = yield* resolveEndpoint(input.source, cli.env)
      const snapshot = yield* openSourceSnapshot(endpoint)
      const catalog = yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness catalog", 2)))
      const reader = yield* snapshot.reader("db-harness plan")
      const query: SourceQuery = (sql) =>
        Effect.tryPromise({
          try: () => reader.query(sql),
          catch: (cause) => new HarnessError({ reason: "BadInput", message: `source: ${(cause as Error).message ?? String(cause)}`, cause })
        }).pipe(Effect.map((result) => result.rows as ReadonlyArray<Record<string, unknown>>))
      const started = Date.now()
      const prepared = yield* prepareSubset(file, catalog, query)
      const planningMs = Date.now() - started
      const estimates = yield* estimateSubsetRows(prepared, query)
      const tables = yield* Effect.forEach(prepared.plan.tables, (table) =>
        Effect.gen(function* () {
          const estimatedRows = estimates.get(table.label) ?? 0
          const rows = input.count ? Number((yield* query(`SELECT count(*)::bigint AS n FROM (${table.select}) s`))[0]?.["n"] ?? 0) : undefined
          return { table, estimatedRows, rows }
        })
      )
      const roots = input.count ? yield* countRoots(prepared, query) : []
      if (input.json) {
        yield* printJson({
          source: endpoint.display,
          snapshotId: snapshot.snapshotId,
          rules: { file: prepared.rules.file, digest: prepared.rules.digest, seed: prepared.rules.seed, strategy: prepared.rules.strategy },
          planningMs,
          order: prepared.plan.tables.map((t) => t.label),
          cycles: prepared.plan.cycles,
          tables: tables.map(({ table, estimatedRows, rows }) => ({
            table: table.label,
            role: table.role,
            estimatedRows,
            ...(rows === undefined ? {} : { rows }),
            ...(input.count && roots.some((r) => r.table === table.label) ? { roots: roots.find((r) => r.table === table.label) } : {}),
            nulledColumns: table.nulledColumns,
            sql: table.select
          }))
        })
        return
      }
      const s = yield* style
      yield* printLine(s.bold(`Subset plan (nothing written), snapshot ${snapshot.snapshotId}, rules ${prepared.rules.file} (seed ${prepared.rules.seed}):`))
      yield* printLine(
        formatTable(
          ["#", "table", "role", "est. rows", ...(input.count ? ["rows"] : []), "nulled if parent not selected"],
          tables.map(({ table, estimatedRows, rows }, i) => [
            String(i + 1),
            table.label,
            table.role,
            formatCount(estimatedRows),
            ...(rows === undefined ? [] : [formatCount(rows)]),
            table.nulledColumns.join(", ") || "-"
          ])
        )
      )
      if (prepared.plan.cycles.length > 0)
        yield* printLine(`cycles (each read with one recursive query): ${prepared.plan.cycles.map((c) => c.join(" <-> ")).join("; ")}`)
      for (const r of roots) {
        if (r.expected !== undefined)
          yield* printLine(`${r.table}: ${r.roots} of ${r.total} rows sampled as roots (expected ${r.expected.toFixed(1)} ± ${r.tolerance!.toFixed(1)})`)
      }
      yield* printLine(`planned in ${planningMs} ms`)
      for (const { table } of tables) {
        yield* printLine("")
        yield* printLine(s.cyan(`-- ${table.label} (${table.role})`))
        yield* printLine(`${table.select};`)
      }
    })
  )
).pipe(Command.withDescription("Show the SELECT, estimated (and with --count exact) rows and load order of a subset, writing nothing"))
