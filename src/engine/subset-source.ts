/**
 * Subsetting as the engine sees it: a source filter for `propagate` (each table read through the
 * planner's SELECT instead of whole) and the evidence that proves the subset: the rules' digest
 * and seed, per table the rows copied and, for sampled tables, the roots picked against the
 * fraction asked for (with the stated tolerance), and every foreign key of the target validated.
 * `plan` uses the same preparation, so what it shows is what `propagate --subset` runs. A copy
 * counts roots while it loads, on a session of its own, and where a table's SELECT returns only
 * its roots the rows the copy read are the count, so no hashing scan precedes the first row;
 * `plan --count` counts them before anything is copied.
 */
import * as Effect from "effect/Effect"
import type { Catalog } from "./catalog.ts"
import type { HarnessError } from "./errors.ts"
import type { SourceFilter, SourceFilterRun, SourceQuery } from "./propagate.ts"
import { planSubset, type SubsetPlan, type SubsetTablePlan } from "./subset-plan.ts"
import { checkSubsetWhereClauses, loadSubsetRules, resolveSubsetRules, type SubsetRuleFile, type SubsetRules } from "./subset-rules.ts"

/**
 * The stated tolerance of hash sampling: a table of N rows sampled at fraction p gets
 * p·N ± (3·√(N·p·(1−p)) + 1) roots. A keyed hash picks each row independently with probability
 * p, so the count is binomial and lands inside three standard deviations 99.7% of the time; the
 * seed makes any one run reproducible. Date ranges and WHERE roots are exact.
 */
export const sampleTolerance = (total: number, fraction: number) => 3 * Math.sqrt(total * fraction * (1 - fraction)) + 1

export interface PreparedSubset {
  readonly rules: SubsetRules
  readonly plan: SubsetPlan
}

/** Resolve the rules against the source's catalog, check their WHERE clauses on the source, plan. */
export const prepareSubset = (file: SubsetRuleFile, catalog: Catalog, query: SourceQuery): Effect.Effect<PreparedSubset, HarnessError> =>
  Effect.gen(function* () {
    const rules = yield* resolveSubsetRules(file, catalog)
    yield* checkSubsetWhereClauses(rules, (sql) =>
      Effect.gen(function* () {
        // A failed statement would abort the snapshot transaction; a savepoint keeps it usable.
        yield* query("SAVEPOINT subset_check")
        yield* query(sql).pipe(Effect.tapError(() => query("ROLLBACK TO SAVEPOINT subset_check").pipe(Effect.ignore)))
        yield* query("RELEASE SAVEPOINT subset_check")
      })
    )
    return { rules, plan: planSubset(catalog, rules) }
  })

export interface RootCount {
  readonly table: string
  readonly total: number
  readonly roots: number
  /** fraction × total, for sampled tables. */
  readonly expected: number | undefined
  readonly tolerance: number | undefined
  readonly withinTolerance: boolean | undefined
}

/** A root table's sample as the evidence states it: its rows, its roots, and for a sample the fraction's share. */
const rootCount = (table: SubsetTablePlan, total: number, roots: number): RootCount => {
  const f = table.sampleFraction
  const expected = f === undefined ? undefined : f * total
  const tolerance = f === undefined ? undefined : sampleTolerance(total, f)
  return {
    table: table.label,
    total,
    roots,
    expected,
    tolerance,
    withinTolerance: expected === undefined ? undefined : Math.abs(roots - expected) <= tolerance!
  }
}

const rootTables = (prepared: PreparedSubset) => prepared.plan.tables.filter((t) => t.rootCountSql !== undefined)
const countOf = (rows: ReadonlyArray<Record<string, unknown>>, column: string) => Number(rows[0]?.[column] ?? 0)

/**
 * Count the roots each root table gets at the snapshot, before any copy (`plan --count`): one
 * scan of each root table, testing its root predicate (for a sample, hashing every key).
 */
export const countRoots = (prepared: PreparedSubset, query: SourceQuery): Effect.Effect<ReadonlyArray<RootCount>, HarnessError> =>
  Effect.forEach(rootTables(prepared), (table) =>
    Effect.map(query(table.rootCountSql!), (rows) => rootCount(table, countOf(rows, "total"), countOf(rows, "roots")))
  )

/**
 * The root counts of a copy, counted while it runs. A copied table whose SELECT returns exactly
 * its roots has them counted by the copy (the rows it read), so only its rows are counted here,
 * by a plain `count(*)` that hashes nothing; any other root table is counted as `countRoots`
 * does. Yields the counts once the copy's outcomes are known.
 */
const countRootsOfCopy = (prepared: PreparedSubset, query: SourceQuery, loading: ReadonlySet<string>) =>
  Effect.map(
    Effect.forEach(rootTables(prepared), (table) => {
      const byCopy = table.selectsOnlyRoots && loading.has(table.label)
      return Effect.map(query(byCopy ? table.rowCountSql! : table.rootCountSql!), (rows) => ({
        table,
        byCopy,
        total: countOf(rows, "total"),
        roots: countOf(rows, "roots")
      }))
    }),
    (counted) => (run: SourceFilterRun): ReadonlyArray<RootCount> => {
      // Rows read, not written: a stage may drop rows on the way to the target, not from the SELECT.
      const read = new Map(run.tables.map((t) => [t.table, t.rowsRead]))
      return counted.flatMap(({ table, byCopy, total, roots }) => {
        if (!byCopy) return [rootCount(table, total, roots)]
        const copied = read.get(table.label)
        return copied === undefined ? [] : [rootCount(table, total, copied)]
      })
    }
  )

/** `propagate --subset FILE`: every table read through its planned SELECT; evidence under `subset`. */
export const subsetSourceFilter = (file: SubsetRuleFile): SourceFilter => ({
  name: "subset",
  make: (catalog, query) =>
    Effect.gen(function* () {
      const prepared = yield* prepareSubset(file, catalog, query)
      const selects = new Map(prepared.plan.tables.map((t) => [t.label, t.select]))
      const evidence = (counts: ReadonlyArray<RootCount>, run: SourceFilterRun) => {
        const written = new Map(run.tables.map((t) => [t.table, t.rowsWritten]))
        return {
          rulesFile: prepared.rules.file,
          rulesDigest: prepared.rules.digest,
          seed: prepared.rules.seed,
          strategy: prepared.rules.strategy,
          tolerance: "sampled roots within fraction × rows ± (3·sqrt(rows·fraction·(1−fraction)) + 1); date ranges and WHERE roots exact",
          cycles: prepared.plan.cycles,
          tables: prepared.plan.tables.map((t) => {
            const count = counts.find((r) => r.table === t.label)
            return {
              table: t.label,
              role: t.role,
              rowsSelected: written.get(t.label) ?? null,
              ...(count === undefined ? {} : { sourceRows: count.total, roots: count.roots, expectedRoots: count.expected ?? count.roots, toleranceRows: count.tolerance ?? 0, withinTolerance: count.withinTolerance ?? true }),
              ...(t.nulledColumns.length > 0 ? { nulledWhenParentNotSelected: t.nulledColumns } : {})
            }
          }),
          foreignKeys: run.foreignKeys,
          allForeignKeysValid: run.foreignKeys.every((k) => k.validated)
        }
      }
      return {
        selects,
        evidence: (queryBeside, loading) => Effect.map(countRootsOfCopy(prepared, queryBeside, loading), (counts) => (run) => evidence(counts(run), run))
      }
    })
})

export { loadSubsetRules }
