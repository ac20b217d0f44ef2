/**
 * Subsetting as the engine sees it: a source filter for `propagate` (each table read through the
 * planner's SELECT instead of whole) and the evidence that proves the subset: the rules' digest
 * and seed, per table the rows copied and, for sampled tables, the roots picked against the
 * fraction asked for (with the stated tolerance), and every foreign key of the target validated.
 * `plan` uses the same preparation, so what it shows is what `propagate --subset` runs. A copy
 * counts roots while it loads, on a session of its own, and where a table's SELECT returns only
 * its roots the rows the copy read are the count, so no hashing scan precedes the first row;
 * `plan --count` counts them before anything is copied. Both also estimate the rows each table's
 * SELECT returns (`estimateSubsetRows`), which PostgreSQL alone gets wrong for any hash sample.
 */
import * as Effect from "effect/Effect"
import { quoteLiteral, tableKey, type Catalog, type Table } from "./catalog.ts"
import { badInput, type HarnessError } from "./errors.ts"
import type { SourceFilter, SourceFilterRun, SourceQuery } from "./propagate.ts"
import { planSubset, type SubsetPlan, type SubsetTablePlan } from "./subset-plan.ts"
import { checkSubsetRulesOnSource, loadSubsetRules, refusalOf, resolveSubsetRules, type SubsetRuleFile, type SubsetRules } from "./subset-rules.ts"

/**
 * The stated tolerance of hash sampling: a table of N rows sampled at fraction p gets
 * p·N ± (3·√(N·p·(1−p)) + 1) roots. A keyed hash picks each row independently with probability
 * p, so the count is binomial and lands inside three standard deviations 99.7% of the time; the
 * seed makes any one run reproducible. Date ranges and WHERE roots are exact.
 */
export const sampleTolerance = (total: number, fraction: number) => 3 * Math.sqrt(total * fraction * (1 - fraction)) + 1

export interface PreparedSubset {
  readonly catalog: Catalog
  readonly rules: SubsetRules
  readonly plan: SubsetPlan
}

/**
 * Resolve the rules against the source's catalog, check them on the source, plan, and have
 * PostgreSQL plan every table's SELECT (EXPLAIN, nothing read), so that a rule PostgreSQL
 * refuses fails here, before the target is touched, and not halfway through the copy. A date
 * range without `until` gets this session's `now()` (the snapshot's transaction start): each
 * reader's own `now()` would be its own transaction's, and a parent cut off a moment earlier
 * than its child would break the child's key.
 */
export const prepareSubset = (file: SubsetRuleFile, catalog: Catalog, query: SourceQuery): Effect.Effect<PreparedSubset, HarnessError> =>
  Effect.gen(function* () {
    const resolved = yield* resolveSubsetRules(file, catalog)
    const explain = (sql: string) =>
      Effect.gen(function* () {
        // A failed statement would abort the snapshot transaction; a savepoint keeps it usable.
        yield* query("SAVEPOINT subset_check")
        yield* query(sql).pipe(Effect.tapError(() => query("ROLLBACK TO SAVEPOINT subset_check").pipe(Effect.ignore)))
        yield* query("RELEASE SAVEPOINT subset_check")
      })
    yield* checkSubsetRulesOnSource(resolved, explain)
    const range = resolved.dateRange
    const rules: SubsetRules =
      range === undefined || range.until !== undefined
        ? resolved
        : { ...resolved, dateRange: { ...range, until: String((yield* query("SELECT now()::text AS now"))[0]?.["now"]) } }
    const plan = planSubset(catalog, rules)
    const refused: Array<string> = []
    for (const table of plan.tables) {
      const failed = yield* refusalOf(explain, `EXPLAIN ${table.select}`)
      if (failed !== undefined) refused.push(`${table.label}: ${failed}`)
    }
    if (refused.length > 0)
      return yield* Effect.fail(badInput(`invalid subset rules ${rules.file}: PostgreSQL cannot plan the SELECT of ${refused.length === 1 ? "a table" : `${refused.length} tables`}, so nothing was copied:\n${refused.join("\n")}`))
    return { catalog, rules, plan }
  })

/**
 * The TID below which `fraction` of a table's rows lie by PostgreSQL's own estimate (selfuncs.c,
 * `scalarineqsel` on ctid): with P the table's blocks as the planner sees them (at least 10 if
 * it was never analyzed) and d its rows per block, `ctid < (b, o)` selects (b + o/d) / (P − 0.5)
 * of the rows, d halved on the last block. d is the last ANALYZE's; without one, whole blocks.
 */
export const tidBelowFraction = (blocks: number, relpages: number, reltuples: number, fraction: number): string => {
  const pages = blocks < 10 && reltuples < 0 ? 10 : blocks
  const y = fraction * Math.max(0, pages - 0.5)
  if (!(reltuples >= 0 && relpages > 0)) return `(${Math.round(y)},0)`
  const block = Math.floor(y)
  const density = ((reltuples / relpages) * pages) / (pages - 0.5) * (block >= pages - 1 ? 0.5 : 1)
  return `(${block},${Math.min(65535, Math.round((y - block) * density))})`
}

/**
 * The rows each table's SELECT is expected to return, by label: PostgreSQL's estimate (EXPLAIN)
 * of the table's SELECT planned with every keyed-hash sample as the TID range of its fraction
 * (`SubsetPlanOptions.sampleAsTidBelow`), since it takes a hash test for a third of any table.
 * One query for the tables' sizes, then one EXPLAIN per table; nothing is read.
 */
export const estimateSubsetRows = (prepared: PreparedSubset, query: SourceQuery): Effect.Effect<ReadonlyMap<string, number>, HarnessError> =>
  Effect.gen(function* () {
    const sizes = new Map<string, { blocks: number; relpages: number; reltuples: number }>()
    if (prepared.plan.tables.some((t) => t.sampleFraction !== undefined)) {
      const rows = yield* query(
        `SELECT n.nspname || '.' || c.relname AS label, pg_relation_size(c.oid) / current_setting('block_size')::int AS blocks, c.relpages, c.reltuples ` +
          `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ` +
          `WHERE c.oid IN (${prepared.plan.tables.map((t) => `${quoteLiteral(tableKey(t.table.schema, t.table.name))}::regclass`).join(", ")})`
      )
      for (const row of rows)
        sizes.set(String(row["label"]), { blocks: Number(row["blocks"]), relpages: Number(row["relpages"]), reltuples: Number(row["reltuples"]) })
    }
    const label = (t: Table) => `${t.schema}.${t.name}`
    const estimating = planSubset(prepared.catalog, prepared.rules, {
      sampleAsTidBelow: (table, fraction) => {
        const size = sizes.get(label(table))
        return size === undefined ? "(0,0)" : tidBelowFraction(size.blocks, size.relpages, size.reltuples, fraction)
      }
    })
    // A sampled table copies at least its roots; PostgreSQL guesses a cycle's recursive closure low.
    const rootsOf = (t: SubsetTablePlan) =>
      t.sampleFraction === undefined ? 0 : Math.min(prepared.rules.rowLimit ?? Infinity, t.sampleFraction * Math.max(0, t.table.rowEstimate))
    const estimates = new Map<string, number>()
    for (const table of estimating.tables) {
      const explained = yield* query(`EXPLAIN (FORMAT JSON) ${table.select}`)
      const plan = explained[0]?.["QUERY PLAN"] as ReadonlyArray<{ Plan: { "Plan Rows": number } }> | undefined
      estimates.set(table.label, Math.round(Math.max(plan?.[0]?.Plan["Plan Rows"] ?? 0, rootsOf(table))))
    }
    return estimates
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

/**
 * `propagate --subset FILE`: every table read through its planned SELECT; evidence under `subset`.
 * `estimateRows`: also estimate the rows of each SELECT, for a run whose progress or plan is shown
 * (one EXPLAIN per table: about 0.4 s on a 500-table schema).
 */
export const subsetSourceFilter = (file: SubsetRuleFile, options: { readonly estimateRows: boolean }): SourceFilter => ({
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
          // A NOT ENFORCED key is never validated: the copy follows it, but it proves nothing.
          allForeignKeysValid: run.foreignKeys.every((k) => k.validated || k.notEnforced === true)
        }
      }
      return {
        selects,
        ...(options.estimateRows ? { estimatedRows: yield* estimateSubsetRows(prepared, query) } : {}),
        evidence: (queryBeside, loading) => Effect.map(countRootsOfCopy(prepared, queryBeside, loading), (counts) => (run) => evidence(counts(run), run))
      }
    })
})

export { loadSubsetRules }
