/**
 * `db-harness inspect SOURCE [--json]`: read a database's schema into the catalog model and show
 * it. The summary is for people checking what a URL or environment name points at; `--json` is
 * the whole model, which the drift gate and other tools decode back with `decodeCatalog`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import type { Catalog, Table } from "../../engine/catalog.ts"
import { readCatalog } from "../../engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../../engine/connection.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { formatTable, logLine, printJson, printLine, style, type Style } from "../output.ts"

const source = Argument.String("source").pipe(
  Argument.withDescription("database to read: a postgres:// URL or an environment name (dev reads DB_DEV_CONN)")
)

const json = Flag.Boolean("json").pipe(
  Flag.withDescription("print the whole catalog model as JSON on stdout instead of the summary"),
  Flag.withDefault(false)
)

const countFormat = new Intl.NumberFormat("en-US")

/** `180004` → `18.4` (the numbering since PostgreSQL 10). */
const versionText = (serverVersion: number) => `${Math.floor(serverVersion / 10_000)}.${serverVersion % 10_000}`

const qualified = (object: { readonly schema: string; readonly name: string }) => `${object.schema}.${object.name}`

const counts = (pairs: ReadonlyArray<readonly [string, number]>) => pairs.map(([kind, count]) => `${kind} ${count}`).join(", ")

/** Counts per object kind (partitions included), as the lines above the table list. */
const countLines = (catalog: Catalog): ReadonlyArray<string> => {
  const sum = (count: (table: Table) => number) => catalog.tables.reduce((total, table) => total + count(table), 0)
  const partitioned = catalog.tables.filter((table) => table.relkind === "p").length
  const partitions = catalog.tables.filter((table) => table.partitionOf !== null).length
  const materialized = catalog.views.filter((view) => view.materialized).length
  return [
    counts([
      ["schemas", catalog.schemas.length],
      ["tables", catalog.tables.length],
      ["partitioned tables", partitioned],
      ["partitions", partitions],
      ["views", catalog.views.length - materialized],
      ["materialized views", materialized],
      ["sequences", catalog.sequences.length]
    ]),
    counts([
      ["columns", sum((table) => table.columns.length)],
      ["primary keys", sum((table) => (table.primaryKey === null ? 0 : 1))],
      ["foreign keys", sum((table) => table.foreignKeys.length)],
      ["unique", sum((table) => table.uniqueConstraints.length)],
      ["check", sum((table) => table.checkConstraints.length)],
      ["exclusion", sum((table) => table.exclusionConstraints.length)],
      ["indexes", sum((table) => table.indexes.length) + catalog.views.reduce((total, view) => total + view.indexes.length, 0)],
      ["triggers", sum((table) => table.triggers.length)],
      ["policies", sum((table) => table.policies.length)]
    ]),
    counts([
      ["functions and procedures", catalog.routines.length],
      ["enums", catalog.enums.length],
      ["domains", catalog.domains.length],
      ["composite types", catalog.compositeTypes.length]
    ]),
    `extensions: ${catalog.extensions.map((extension) => `${extension.name} ${extension.version}`).join(", ") || "none"}`
  ]
}

/**
 * One row per table; partitions (at any depth) are folded into their top parent, row estimates
 * summed and referenced tables merged, since a table of hundreds of partitions is one thing to a
 * reader.
 */
const tableRows = (catalog: Catalog): ReadonlyArray<ReadonlyArray<string>> => {
  const partitionsOf = new Map<string, Array<Table>>()
  for (const table of catalog.tables) {
    if (table.partitionOf === null) continue
    const parent = qualified(table.partitionOf)
    const siblings = partitionsOf.get(parent)
    if (siblings === undefined) partitionsOf.set(parent, [table])
    else siblings.push(table)
  }
  const familyOf = (table: Table): ReadonlyArray<Table> => [table, ...(partitionsOf.get(qualified(table)) ?? []).flatMap(familyOf)]
  const rows = catalog.tables
    .filter((table) => table.partitionOf === null)
    .map((table) => {
      const family = familyOf(table)
      const estimates = family.filter((member) => member.relkind === "r").map((member) => member.rowEstimate)
      const rowCount = estimates.length === 0 || estimates.some((estimate) => estimate < 0)
        ? "?"
        : countFormat.format(estimates.reduce((total, estimate) => total + estimate, 0))
      const references = [...new Set(family.flatMap((member) => member.foreignKeys.map((fk) => `${fk.references.schema}.${fk.references.table}`)))]
      const name = table.relkind === "p" ? `${qualified(table)} (${family.length - 1} partitions)` : qualified(table)
      return [name, rowCount, String(table.columns.length), table.primaryKey?.columns.join(", ") ?? "-", references.join(", ") || "-"]
    })
  const rowsWidth = Math.max(4, ...rows.map((row) => row[1]?.length ?? 0))
  const columnsWidth = "columns".length
  return rows.map(([name = "", rowCount = "", columns = "", key = "", references = ""]) => [
    name,
    rowCount.padStart(rowsWidth),
    columns.padStart(columnsWidth),
    key,
    references
  ])
}

const summary = (catalog: Catalog, label: string, s: Style): ReadonlyArray<string> => [
  s.bold(`${catalog.database} on ${label} (PostgreSQL ${versionText(catalog.serverVersion)})`),
  ...countLines(catalog),
  "",
  formatTable(["table", "rows", "columns", "primary key", "references"], tableRows(catalog)),
  s.dim("rows are the planner's estimates (? = never analysed); run inspect --json for everything")
]

export const inspect = Command.make("inspect", { source, json }, ({ source, json }) =>
  Effect.gen(function* () {
    const cli = yield* CliEnvironment
    const endpoint = yield* resolveEndpoint(source, cli.env)
    const [elapsed, catalog] = yield* readCatalog.pipe(
      Effect.provide(sqlClientLayer(endpoint, "db-harness inspect", 1)),
      Effect.timed
    )
    yield* logLine(`read the catalog of ${endpoint.display} in ${Math.round(Duration.toMillis(elapsed))} ms`)
    if (json) return yield* printJson(catalog)
    const s = yield* style
    for (const line of summary(catalog, endpoint.display, s)) yield* printLine(line)
  })
).pipe(
  Command.withDescription(
    "Read a database's schema (tables, partitions, columns, keys, indexes, views, sequences, functions, types, " +
      "triggers, policies, privileges) and print a summary, or with --json the whole catalog model."
  ),
  Command.withExamples([
    { command: "db-harness inspect staging", description: "summary of the database DB_STAGING_CONN points at" },
    { command: "db-harness inspect postgres://me@db.internal/app --json > app-schema.json", description: "save the model" }
  ])
)
