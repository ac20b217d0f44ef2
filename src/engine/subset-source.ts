/**
 * Subsetting as the engine sees it: a source filter for `propagate` (each table read through the
 * planner's SELECT instead of whole) and the evidence that proves the subset: the rules' digest
 * and seed, per table the rows copied and, for sampled tables, the roots picked against the
 * fraction asked for (with the stated tolerance), and every foreign key of the target validated.
 * `plan` uses the same preparation, so what it shows is what `propagate --subset` runs.
 */
import * as Effect from "effect/Effect"
import type { Catalog } from "./catalog.ts"
import type { HarnessError } from "./errors.ts"
import type { SourceFilter, SourceFilterRun, SourceQuery } from "./propagate.ts"
import { planSubset, type SubsetPlan } from "./subset-plan.ts"
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

/** Count the roots each sampled table gets at the snapshot (one scan of each root table). */
export const countRoots = (prepared: PreparedSubset, query: SourceQuery): Effect.Effect<ReadonlyArray<RootCount>, HarnessError> =>
  Effect.forEach(
    prepared.plan.tables.filter((t) => t.rootCountSql !== undefined),
    (table) =>
      Effect.map(query(table.rootCountSql!), (rows) => {
        const total = Number(rows[0]?.["total"] ?? 0)
        const roots = Number(rows[0]?.["roots"] ?? 0)
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
      })
  )

/** `propagate --subset FILE`: every table read through its planned SELECT; evidence under `subset`. */
export const subsetSourceFilter = (file: SubsetRuleFile): SourceFilter => ({
  name: "subset",
  make: (catalog, query) =>
    Effect.gen(function* () {
      const prepared = yield* prepareSubset(file, catalog, query)
      const roots = yield* countRoots(prepared, query)
      const selects = new Map(prepared.plan.tables.map((t) => [t.label, t.select]))
      const evidence = (run: SourceFilterRun) => {
        const written = new Map(run.tables.map((t) => [t.table, t.rowsWritten]))
        return {
          rulesFile: prepared.rules.file,
          rulesDigest: prepared.rules.digest,
          seed: prepared.rules.seed,
          strategy: prepared.rules.strategy,
          tolerance: "sampled roots within fraction × rows ± (3·sqrt(rows·fraction·(1−fraction)) + 1); date ranges and WHERE roots exact",
          cycles: prepared.plan.cycles,
          tables: prepared.plan.tables.map((t) => {
            const count = roots.find((r) => r.table === t.label)
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
      return { selects, evidence }
    })
})

export { loadSubsetRules }
