/**
 * The consistency check after a migration: TARGET (the migrated environment) against SOURCE (the
 * backup taken just before). Two checks, on read-only sessions (SOURCE's counts alongside TARGET's
 * orphan checks, then TARGET's counts):
 * referential integrity on TARGET's rows (consistency-orphans.ts) and row counts of every table
 * both sides have, within a tolerance (consistency-counts.ts). The result is findings in the
 * shared shape plus the list of everything checked, for reports and evidence:
 *
 * | rule | severity | when |
 * |---|---|---|
 * | `consistency/orphan-rows` | breaking | rows of TARGET whose key has no parent (per key: count, sample keys) |
 * | `consistency/row-count` | breaking | a table's count moved by more than its tolerance |
 * | `consistency/row-count-unchecked` | hazard | no exact count in time and no estimate either |
 * | `consistency/table-missing` | breaking | a table of SOURCE is not in TARGET (hazard for a partition whose partitioned table both have) |
 * | `consistency/table-added` | info | a table of TARGET is not in SOURCE |
 *
 * Findings come worst first, then by rule and object. Fingerprints hold no counts (counts change run to run): rule, object and the key's definition.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { withoutInternalSchema } from "./catalog.ts"
import type { LogicalForeignKey, ToleranceOverride } from "./consistency-config.ts"
import { compareRowCounts, type RowCountComparison, type RowCountResult, type TableCount } from "./consistency-counts.ts"
import { planOrphanChecks, runOrphanChecks, type OrphanResult } from "./consistency-orphans.ts"
import { nameTokens } from "./column-names.ts"
import { badInput, type HarnessError } from "./errors.ts"
import { finding, objectPath, SEVERITY_ORDER, type Finding } from "./findings.ts"
import { loadMaskingRules } from "./masking-rules.ts"
import type { GateQuery, GateSide } from "./plugin.ts"

/** 5%: a migrated environment that keeps taking writes drifts a little from its backup; a lost table or batch does not hide in it. */
export const DEFAULT_TOLERANCE = 0.05
/** Five minutes per query (each table's count, each key's orphan check). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 300_000
/** Queries at once per database (and connections per database). */
export const DEFAULT_JOBS = 4
/**
 * `work_mem` of TARGET's sessions, in MB; 0 keeps the server's own. Raise it (config
 * `work_mem_mb`) when EXPLAIN of an orphan query shows its parent's hash in batches: a hash may
 * take work_mem × hash_mem_multiplier per process of a parallel query. No gain measured here at
 * 64 MB for a 1,000,000-row parent (bench/consistency.bench.ts), so the default leaves it alone.
 */
export const DEFAULT_WORK_MEM_MB = 0
/**
 * Planner settings of TARGET's sessions. `enable_sort = off`: an orphan check reads the whole
 * child, and PostgreSQL, depending on the statistics of the moment, sometimes sorts it for a
 * merge anti join instead of hashing the parent. On 10,000,000 rows with a two-column key onto
 * 99,000 pairs (bench/consistency.bench.ts (f)), 2 of 8 ANALYZEs gave the sort: 4.2-4.5 s against
 * 1.9-2.1 s hashed on the same statistics with this setting. `enable_mergejoin = off`: without a
 * sort, a merge anti join can still read the child through an index on its key, in key order,
 * fetching its rows' pages at random (the check notes the orphans' positions, so it needs the
 * rows): on 10,000,000 rows with a (text, integer) key onto 100,000 pairs and an index on the
 * child's key, the count took 22-24 s that way (7.4 million page reads), 2.1-2.7 s hashed, by
 * hand on 2026-12-07 (the gate's whole check 45-52 s against 4.1-5.0 s). A query that has no
 * other plan still gets the sort or the merge join.
 */
export const ORPHAN_SESSION_SETTINGS: Readonly<Record<string, string>> = { enable_sort: "off", enable_mergejoin: "off" }
/** Sample orphan keys per key. */
export const DEFAULT_SAMPLES = 5

export interface ConsistencySettings {
  readonly tolerance: number
  readonly tolerances: ReadonlyArray<ToleranceOverride>
  readonly exclude: ReadonlyArray<string>
  readonly logicalForeignKeys: ReadonlyArray<LogicalForeignKey>
  /** Fall back to catalog estimates for a count that hits the statement timeout. */
  readonly estimates: boolean
  readonly jobs: number
  readonly samples: number
  /** Column-name patterns (besides the shipped baseline's) whose sample values are masked. */
  readonly personalNames: ReadonlyArray<string>
  /** Child tables estimated at fewer rows are not checked by the parent's keys, as key range or key list (consistency-orphans.ts). */
  readonly keyRangeMinRows?: number
}

export interface ConsistencyResult {
  readonly findings: ReadonlyArray<Finding>
  readonly orphans: ReadonlyArray<OrphanResult>
  readonly rowCounts: RowCountResult
  readonly orphansMs: number
  readonly rowCountsMs: number
}

export const CONSISTENCY_RULES = {
  orphanRows: "consistency/orphan-rows",
  rowCount: "consistency/row-count",
  rowCountUnchecked: "consistency/row-count-unchecked",
  tableMissing: "consistency/table-missing",
  tableAdded: "consistency/table-added"
} as const

const percent = (fraction: number) => `${(fraction * 100).toFixed(fraction < 0.001 && fraction > 0 ? 3 : 1)}%`
const number = (n: number) => n.toLocaleString("en-US")
const countText = (count: TableCount) =>
  count.rows === null ? "unknown" : `${number(count.rows)}${count.method === "estimate" ? " (estimate)" : ""}`

const orphanFinding = (result: OrphanResult): Finding[] => {
  const { check, orphans } = result
  if (orphans === null || orphans === 0) return []
  const table = `${check.schema}.${check.table}`
  const parent = `${check.references.schema}.${check.references.table}`
  const why =
    check.declaredIn === "source"
      ? "TARGET lost this key (SOURCE declares it)"
      : check.declaredIn === "config"
        ? `logical key (${check.origin ?? "config"})`
        : check.notEnforced
          ? "the key is NOT ENFORCED on TARGET"
          : check.validated === false
            ? "the key is NOT VALID on TARGET"
            : "the key is validated on TARGET, so these rows bypassed it (session_replication_role = replica, disabled triggers)"
  const hint =
    check.declaredIn === "source"
      ? "fix or delete the orphan rows (details.query lists them), then restore the key: ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT"
      : check.declaredIn === "config"
        ? "fix or delete the orphan rows (details.query lists them), or declare the key"
        : check.notEnforced
          ? "fix or delete the orphan rows (details.query lists them), then ALTER TABLE ... ALTER CONSTRAINT ... ENFORCED"
          : "fix or delete the orphan rows (details.query lists them), then ALTER TABLE ... VALIDATE CONSTRAINT"
  return [
    finding({
      rule: CONSISTENCY_RULES.orphanRows,
      severity: "breaking",
      object: { kind: check.declaredIn === "config" ? "logical foreign key" : "foreign key", schema: check.schema, table: check.table, name: check.name },
      before: check.definition,
      after: null,
      message: `${number(orphans)} row(s) of ${table} reference no row of ${parent} (${check.columns.join(", ")} → ${check.references.columns.join(", ")}${check.match === "full" ? ", MATCH FULL" : ""}): ${why}${check.parentMissing ? `; ${parent} or its key column is not in TARGET` : ""}`,
      hint,
      details: {
        orphans,
        samples: result.samples,
        ...(result.maskedColumns.length > 0 ? { maskedColumns: result.maskedColumns } : {}),
        columns: check.columns,
        references: check.references,
        match: check.match,
        declaredIn: check.declaredIn,
        validated: check.validated,
        ...(check.comparedAsText ? { comparedAsText: true } : {}),
        ...(result.method === null ? {} : { method: result.method }),
        query: check.listSql
      }
    })
  ]
}

const rowCountFinding = (comparison: RowCountComparison): Finding[] => {
  const object = { kind: "table", schema: comparison.schema, table: comparison.table }
  const name = `${comparison.schema}.${comparison.table}`
  const details = {
    source: comparison.source.rows,
    target: comparison.target.rows,
    difference: comparison.difference,
    fraction: comparison.fraction,
    tolerance: comparison.tolerance,
    toleranceFrom: comparison.toleranceFrom,
    sourceMethod: comparison.source.method,
    targetMethod: comparison.target.method
  }
  if (comparison.status === "unchecked") {
    return [
      finding({
        rule: CONSISTENCY_RULES.rowCountUnchecked,
        severity: "hazard",
        object,
        before: null,
        after: null,
        message: `${name}: rows not compared: SOURCE ${countText(comparison.source)}, TARGET ${countText(comparison.target)} (no exact count in time and no catalog estimate: the table was never analysed)`,
        hint: "raise --statement-timeout, or ANALYZE the table so that an estimate exists",
        details
      })
    ]
  }
  if (comparison.status === "ok") return []
  const difference = comparison.difference ?? 0
  const estimated = comparison.source.method === "estimate" || comparison.target.method === "estimate"
  return [
    finding({
      rule: CONSISTENCY_RULES.rowCount,
      severity: "breaking",
      object,
      before: null,
      after: null,
      message: `${name}: SOURCE ${countText(comparison.source)} rows, TARGET ${countText(comparison.target)} (${difference > 0 ? "+" : "−"}${number(Math.abs(difference))}, ${percent(comparison.fraction ?? 0)}), over the tolerance of ${percent(comparison.tolerance)}${estimated ? "; compared on catalog estimates, which can be off" : ""}`,
      hint:
        difference < 0
          ? "rows were lost: find the migration step that deleted them, or raise this table's tolerance in the config if that is intended"
          : "rows were added: check the migration's inserts, or raise this table's tolerance in the config if that is intended",
      details
    })
  ]
}

/** Check TARGET against SOURCE. Both sides must be live (a snapshot file has no rows). */
export const runConsistency = (
  source: GateSide,
  target: GateSide,
  settings: ConsistencySettings
): Effect.Effect<ConsistencyResult, HarnessError> =>
  Effect.gen(function* () {
    if (source.query === null || target.query === null) {
      return yield* badInput(
        `the consistency gate reads rows: ${source.query === null ? `SOURCE ${source.label}` : `TARGET ${target.label}`} is a snapshot file; pass a live database (URL or environment name)`
      )
    }
    // db-harness's own records (schema db_harness: the masking proof) are no part of either database's data.
    const sourceQuery: GateQuery = source.query
    const targetQuery: GateQuery = target.query
    source = { ...source, catalog: withoutInternalSchema(source.catalog) }
    target = { ...target, catalog: withoutInternalSchema(target.catalog) }
    const checks = yield* planOrphanChecks(source.catalog, target.catalog, settings.logicalForeignKeys, settings.exclude)
    const baseline = yield* loadMaskingRules("baseline", { home: "", cwd: "" })
    const personalNames = [...baseline.personalNames, ...settings.personalNames.map(nameTokens)]
    // SOURCE is counted while TARGET is checked for orphans; TARGET's counts follow its checks.
    // The orphan checks' scans count some of TARGET's tables on the way; those are not counted again.
    const checked = yield* Deferred.make<ReadonlyMap<string, number>>()
    const [[orphansTime, { results: orphans }], [countsTime, rowCounts]] = yield* Effect.all(
      [
        Effect.timed(
          runOrphanChecks(checks, targetQuery, {
            jobs: settings.jobs,
            samples: settings.samples,
            personalNames,
            ...(settings.keyRangeMinRows === undefined ? {} : { keyRangeMinRows: settings.keyRangeMinRows })
          }).pipe(
            Effect.tap((run) => Deferred.succeed(checked, run.tableRows)),
            Effect.ensuring(Deferred.succeed(checked, new Map()))
          )
        ),
        Effect.timed(
          compareRowCounts(
            { catalog: source.catalog, query: sourceQuery },
            { catalog: target.catalog, query: targetQuery },
            {
              jobs: settings.jobs,
              estimates: settings.estimates,
              exclude: settings.exclude,
              tolerance: settings.tolerance,
              tolerances: settings.tolerances
            },
            Deferred.await(checked)
          )
        )
      ],
      { concurrency: 2 }
    )
    const findings: Array<Finding> = [...orphans.flatMap(orphanFinding), ...rowCounts.comparisons.flatMap(rowCountFinding)]
    for (const table of rowCounts.oneSided) {
      const name = `${table.schema}.${table.table}`
      const object = { kind: "table", schema: table.schema, table: table.table }
      findings.push(
        table.presentIn === "source"
          ? finding({
              rule: CONSISTENCY_RULES.tableMissing,
              severity: table.partitionOf === null ? "breaking" : "hazard",
              object,
              before: "present",
              after: null,
              message:
                table.partitionOf === null
                  ? `${name} is in SOURCE but not in TARGET: its rows are gone`
                  : `partition ${name} is in SOURCE but not in TARGET; its rows are compared through ${table.partitionOf}`,
              hint: "restore the table from the backup, or exclude it in the config if the migration dropped it on purpose"
            })
          : finding({
              rule: CONSISTENCY_RULES.tableAdded,
              severity: "info",
              object,
              before: null,
              after: "present",
              message: `${name} is in TARGET but not in SOURCE (a new table)${table.partitionOf === null ? "" : `, a partition of ${table.partitionOf}`}`
            })
      )
    }
    const rank = (f: Finding) => SEVERITY_ORDER.indexOf(f.severity)
    findings.sort((a, b) => rank(a) - rank(b) || a.rule.localeCompare(b.rule) || objectPath(a.object).localeCompare(objectPath(b.object)))
    return {
      findings,
      orphans,
      rowCounts,
      orphansMs: Duration.toMillis(orphansTime),
      rowCountsMs: Duration.toMillis(countsTime)
    }
  })
