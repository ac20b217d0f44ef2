/**
 * Row counts, SOURCE against TARGET. Every table that holds rows (ordinary tables and partitions)
 * is counted exactly, `SELECT count(*) FROM ONLY t`, under the sessions' statement timeout; a
 * partitioned table's count is the sum of its partitions' (so it is compared even when the
 * partitioning differs between the sides, without counting a row twice). A count that hits the
 * timeout fails the run, unless estimates were asked for: then it falls back to the catalog's
 * estimate (`pg_class.reltuples`), and the comparison says so. A table never analysed has no
 * estimate (-1) and is reported as unchecked. TARGET's tables that an orphan check already read
 * whole (consistency-orphans.ts, `childScanQuery`) take that scan's count instead of a scan of their own.
 *
 * A table is out of tolerance when |TARGET − SOURCE| / max(SOURCE, 1) > tolerance (0.05 = 5%),
 * in either direction: lost rows and unexpected extra rows both block.
 */
import * as Effect from "effect/Effect"
import { leavesOf, tableKey, type Catalog, type Table } from "./catalog.ts"
import type { ToleranceOverride } from "./consistency-config.ts"
import { isExcluded } from "./consistency-orphans.ts"
import { isStatementTimeout } from "./consistency-sessions.ts"
import { HarnessError } from "./errors.ts"
import { matchesTableGlob } from "./glob.ts"
import type { GateQuery } from "./plugin.ts"

export type CountMethod = "exact" | "estimate" | "unknown"

export interface TableCount {
  /** null when unknown (no exact count and no estimate). */
  readonly rows: number | null
  /** `estimate` when any part of it is the catalog's estimate. */
  readonly method: CountMethod
}

export interface RowCountComparison {
  readonly schema: string
  readonly table: string
  readonly source: TableCount
  readonly target: TableCount
  readonly tolerance: number
  /** Where the tolerance came from: `default` or the override's position in the config. */
  readonly toleranceFrom: string
  /** TARGET − SOURCE, or null when a side is unknown. */
  readonly difference: number | null
  /** |difference| / max(SOURCE, 1), or null. */
  readonly fraction: number | null
  readonly status: "ok" | "out-of-tolerance" | "unchecked"
}

export interface TableOnOneSide {
  readonly schema: string
  readonly table: string
  /** `source`: in SOURCE only (TARGET lost it); `target`: new in TARGET. */
  readonly presentIn: "source" | "target"
  /** A partition whose partitioned table both sides have (its rows are compared there). */
  readonly partitionOf: string | null
}

export interface CountOptions {
  readonly jobs: number
  readonly estimates: boolean
  readonly exclude: ReadonlyArray<string>
  readonly tolerance: number
  readonly tolerances: ReadonlyArray<ToleranceOverride>
}

/**
 * A table's identity in the maps below: its quoted name, `"s.x"."t"`, never `schema.name`, which
 * two tables can share (`"s.x".t` and `s."x.t"`).
 */
const keyOf = (table: { readonly schema: string; readonly name: string }) => tableKey(table.schema, table.name)
/** A table's name as people read it, in messages. */
const labelOf = (table: { readonly schema: string; readonly name: string }) => `${table.schema}.${table.name}`

/** Count the given leaf tables of one side, `jobs` at a time, biggest first. */
const countLeaves = (
  side: "SOURCE" | "TARGET",
  leaves: ReadonlyArray<Table>,
  query: GateQuery,
  options: CountOptions,
  counted: ReadonlyMap<string, number> = new Map()
): Effect.Effect<ReadonlyMap<string, TableCount>, HarnessError> =>
  Effect.forEach(
    [...leaves].sort((a, b) => b.rowEstimate - a.rowEstimate),
    (table) => {
      const rows = counted.get(keyOf(table))
      if (rows !== undefined) return Effect.succeed([keyOf(table), { rows, method: "exact" }] as [string, TableCount])
      return query(`SELECT count(*)::text AS n FROM ONLY ${tableKey(table.schema, table.name)}`).pipe(
        Effect.map((rows): [string, TableCount] => [keyOf(table), { rows: Number(String(rows[0]?.["n"] ?? 0)), method: "exact" }]),
        Effect.catchTag("HarnessError", (error) => {
          if (isStatementTimeout(error) && options.estimates) {
            const estimate: TableCount = table.rowEstimate >= 0 ? { rows: Math.round(table.rowEstimate), method: "estimate" } : { rows: null, method: "unknown" }
            return Effect.succeed([keyOf(table), estimate] as [string, TableCount])
          }
          return Effect.fail(
            new HarnessError({
              reason: error.reason,
              message: isStatementTimeout(error)
                ? `counting the rows of ${labelOf(table)} on ${side} hit the statement timeout: ${error.message}; raise --statement-timeout (statement_timeout_ms in the config), or pass --estimates to fall back to the catalog's estimate for such tables`
                : `counting the rows of ${labelOf(table)} on ${side}: ${error.message}`,
              cause: error.cause
            })
          )
        })
      )
    },
    { concurrency: Math.max(1, options.jobs) }
  ).pipe(Effect.map((entries) => new Map(entries)))

const sum = (counts: ReadonlyArray<TableCount>): TableCount => {
  if (counts.some((count) => count.rows === null)) return { rows: null, method: "unknown" }
  return {
    rows: counts.reduce((total, count) => total + (count.rows ?? 0), 0),
    method: counts.some((count) => count.method === "estimate") ? "estimate" : "exact"
  }
}

const toleranceFor = (options: CountOptions, schema: string, name: string): { readonly tolerance: number; readonly from: string } => {
  const override = options.tolerances.find((entry) => matchesTableGlob(entry.table, schema, name))
  return override === undefined
    ? { tolerance: options.tolerance, from: "default" }
    : { tolerance: override.tolerance, from: override.origin ?? `tolerances: ${override.table}` }
}

export interface RowCountResult {
  readonly comparisons: ReadonlyArray<RowCountComparison>
  readonly oneSided: ReadonlyArray<TableOnOneSide>
}

/**
 * Count both sides (in parallel) and compare every table both have. TARGET's counts start once
 * `targetAfter` is done (the orphan checks, which run on TARGET too: started together, the counts'
 * parallel workers can take every worker the server has, and a big orphan check then runs alone
 * on one process); the tables it yields (`tableKey` → rows, counted exactly at the same
 * snapshot by the checks' own scans) are not counted again.
 */
export const compareRowCounts = (
  source: { readonly catalog: Catalog; readonly query: GateQuery },
  target: { readonly catalog: Catalog; readonly query: GateQuery },
  options: CountOptions,
  targetAfter: Effect.Effect<ReadonlyMap<string, number>> = Effect.succeed(new Map())
): Effect.Effect<RowCountResult, HarnessError> =>
  Effect.gen(function* () {
    const included = (catalog: Catalog) => catalog.tables.filter((table) => !isExcluded(options.exclude, table.schema, table.name))
    const sourceTables = new Map(included(source.catalog).map((table) => [keyOf(table), table]))
    const targetTables = new Map(included(target.catalog).map((table) => [keyOf(table), table]))
    const both = [...sourceTables.keys()].filter((key) => targetTables.has(key)).sort()

    const leaves = (catalog: Catalog, tables: ReadonlyMap<string, Table>) => {
      const byKey = new Map<string, Table>()
      for (const key of both) for (const leaf of leavesOf(catalog, tables.get(key) as Table)) byKey.set(keyOf(leaf), leaf)
      return [...byKey.values()]
    }
    const [sourceCounts, targetCounts] = yield* Effect.all(
      [
        countLeaves("SOURCE", leaves(source.catalog, sourceTables), source.query, options),
        Effect.flatMap(targetAfter, (counted) => countLeaves("TARGET", leaves(target.catalog, targetTables), target.query, options, counted))
      ],
      { concurrency: 2 }
    )
    const countOf = (catalog: Catalog, table: Table, counts: ReadonlyMap<string, TableCount>) =>
      sum(leavesOf(catalog, table).map((leaf) => counts.get(keyOf(leaf)) ?? { rows: null, method: "unknown" }))

    const comparisons = both.map((key): RowCountComparison => {
      const s = sourceTables.get(key) as Table
      const t = targetTables.get(key) as Table
      const sourceCount = countOf(source.catalog, s, sourceCounts)
      const targetCount = countOf(target.catalog, t, targetCounts)
      const { tolerance, from } = toleranceFor(options, t.schema, t.name)
      if (sourceCount.rows === null || targetCount.rows === null) {
        return { schema: t.schema, table: t.name, source: sourceCount, target: targetCount, tolerance, toleranceFrom: from, difference: null, fraction: null, status: "unchecked" }
      }
      const difference = targetCount.rows - sourceCount.rows
      const fraction = Math.abs(difference) / Math.max(sourceCount.rows, 1)
      return {
        schema: t.schema,
        table: t.name,
        source: sourceCount,
        target: targetCount,
        tolerance,
        toleranceFrom: from,
        difference,
        fraction,
        status: fraction > tolerance ? "out-of-tolerance" : "ok"
      }
    })

    // A partition on one side only, under a partitioned table both sides have, is a repartitioning:
    // its rows are compared through the partitioned table.
    const parentOnBoth = (table: Table) => {
      let parent = table.partitionOf
      while (parent !== null) {
        const key = keyOf(parent)
        if (sourceTables.has(key) && targetTables.has(key)) return labelOf(parent)
        parent = (sourceTables.get(key) ?? targetTables.get(key))?.partitionOf ?? null
      }
      return null
    }
    const oneSided: Array<TableOnOneSide> = []
    for (const [key, table] of sourceTables) {
      if (!targetTables.has(key)) oneSided.push({ schema: table.schema, table: table.name, presentIn: "source", partitionOf: parentOnBoth(table) })
    }
    for (const [key, table] of targetTables) {
      if (!sourceTables.has(key)) oneSided.push({ schema: table.schema, table: table.name, presentIn: "target", partitionOf: parentOnBoth(table) })
    }
    oneSided.sort((a, b) => `${a.schema}.${a.table}`.localeCompare(`${b.schema}.${b.table}`))
    return { comparisons, oneSided }
  })
