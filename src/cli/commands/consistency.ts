/**
 * `db-harness consistency SOURCE TARGET`: after a migration, TARGET's referential integrity
 * (orphan rows for every foreign key, lost or logical ones included) and its row counts against
 * SOURCE (the backup taken just before), within a tolerance, with waivers applied (`--waivers`,
 * the same file as drift's). Prints a report (or `--json`), writes `consistency_<timestamp>.json`
 * into the evidence directory, and exits 3 when anything unwaived breaks, 0 when clean, 1 when
 * it cannot check (bad flags, config or waiver file, unreachable database, a query that fails or
 * hits the statement timeout).
 *
 * It runs the engine behind the consistency gate plugin (src/engine/consistency.ts) directly,
 * because the report lists every check made, the clean ones too, and a gate returns only its
 * findings. Each side is read through read-only sessions at one snapshot, `--jobs` of them
 * (consistency-sessions.ts), with the statement timeout on every query.
 */
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Option from "effect/Option"
import { Argument, Command, Flag } from "effect/cli"
import { readCatalog } from "../../engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer, type Endpoint } from "../../engine/connection.ts"
import {
  CONSISTENCY_RULES,
  DEFAULT_JOBS,
  DEFAULT_SAMPLES,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  DEFAULT_TOLERANCE,
  DEFAULT_WORK_MEM_MB,
  ORPHAN_SESSION_SETTINGS,
  runConsistency,
  type ConsistencyResult,
  type ConsistencySettings
} from "../../engine/consistency.ts"
import { loadConsistencyConfig, type ConsistencyConfig } from "../../engine/consistency-config.ts"
import { openReadOnlySessions } from "../../engine/consistency-sessions.ts"
import { badInput } from "../../engine/errors.ts"
import { DEFAULT_EVIDENCE_DIR, writeEvidence } from "../../engine/evidence.ts"
import { findingJson, type Finding } from "../../engine/findings.ts"
import type { GateSide } from "../../engine/plugin.ts"
import { applyWaivers, loadCheckedWaivers, staleJson, waivedJson, type WaiverOutcome } from "../../engine/waivers.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { CommandExit, ExitCode } from "../exit-codes.ts"
import { recordRun } from "../audit-record.ts"
import { waivedLines, waiversFlag, warnStale } from "../gate-waivers.ts"
import { logLine, printJson, printLine, severityTag, style, type Style } from "../output.ts"
import { TOOL_VERSION } from "../version.ts"

const sideHelp = "a postgres:// URL or an environment name (dev reads DB_DEV_CONN)"

const flags = {
  source: Argument.String("source").pipe(Argument.withDescription(`the database before the migration (e.g. the backup): ${sideHelp}`)),
  target: Argument.String("target").pipe(Argument.withDescription(`the migrated database that is checked: ${sideHelp}`)),
  tolerance: Flag.String("tolerance").pipe(
    Flag.withDescription(`allowed change of a table's row count as a fraction, 0.05 = 5% (default ${DEFAULT_TOLERANCE}; config tolerances override it per table)`),
    Flag.optional
  ),
  config: Flag.String("config").pipe(
    Flag.withDescription("YAML config: logical_foreign_keys, tolerances, exclude, statement_timeout_ms, estimates (see rules/examples/consistency.yaml)"),
    Flag.optional
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print the report as JSON on stdout"), Flag.withDefault(false)),
  waivers: waiversFlag,
  evidenceDir: Flag.String("evidence-dir").pipe(
    Flag.withDescription(`where the evidence file goes (default ${DEFAULT_EVIDENCE_DIR})`),
    Flag.withDefault(DEFAULT_EVIDENCE_DIR)
  ),
  statementTimeout: Flag.Int("statement-timeout").pipe(
    Flag.withDescription(`milliseconds each query (a table's count, a key's orphan check) may run; 0 for no limit (default ${DEFAULT_STATEMENT_TIMEOUT_MS})`),
    Flag.optional
  ),
  estimates: Flag.Boolean("estimates").pipe(
    Flag.withDescription("when an exact count hits the statement timeout, use the catalog's estimate (labelled as such) instead of failing"),
    Flag.withDefault(false)
  ),
  jobs: Flag.Int("jobs").pipe(Flag.withDescription(`queries at once on each database (default ${DEFAULT_JOBS})`), Flag.optional),
  exclude: Flag.String("exclude").pipe(
    Flag.withDescription("leave out tables matching this glob (schema.table, or a table name in any schema; repeatable)"),
    Flag.atLeast(0)
  )
}

const APPLICATION_NAME = "db-harness consistency"

/** `--tolerance`: a plain non-negative number, `0.05` for 5%. */
const parseTolerance = (text: string) => {
  const trimmed = text.trim()
  const value = /^(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : Number.NaN
  return Number.isFinite(value)
    ? Effect.succeed(value)
    : Effect.fail(badInput(`--tolerance "${text}" is not a fraction: write a number ≥ 0, such as 0.05 for 5%`))
}

type Status = "pass" | "warn" | "fail"

const statusOf = (findings: ReadonlyArray<Finding>): Status =>
  findings.some((f) => f.severity === "breaking") ? "fail" : findings.some((f) => f.severity === "hazard") ? "warn" : "pass"

const checksJson = (result: ConsistencyResult) => ({
  foreignKeys: result.orphans.map(({ check, orphans, method, ms }) => ({
    name: check.name,
    declaredIn: check.declaredIn,
    table: `${check.schema}.${check.table}`,
    columns: check.columns,
    references: check.references,
    match: check.match,
    validated: check.validated,
    orphans,
    ...(method === null ? {} : { method }),
    ...(check.skipped === null ? {} : { skipped: check.skipped }),
    ms: Math.round(ms)
  })),
  rowCounts: result.rowCounts.comparisons.map((c) => ({
    table: `${c.schema}.${c.table}`,
    source: c.source.rows,
    target: c.target.rows,
    sourceMethod: c.source.method,
    targetMethod: c.target.method,
    difference: c.difference,
    fraction: c.fraction,
    tolerance: c.tolerance,
    status: c.status
  })),
  tablesOnOneSide: result.rowCounts.oneSided.map((t) => ({
    table: `${t.schema}.${t.table}`,
    presentIn: t.presentIn,
    partitionOf: t.partitionOf
  }))
})

const sampleText = (sample: Readonly<Record<string, string | null>>) =>
  Object.entries(sample)
    .map(([column, value]) => `${column}=${value === null ? "NULL" : value}`)
    .join(", ")

const SECTIONS: ReadonlyArray<readonly [string, string]> = [
  [CONSISTENCY_RULES.orphanRows, "orphan rows"],
  [CONSISTENCY_RULES.rowCount, "row counts out of tolerance"],
  [CONSISTENCY_RULES.rowCountUnchecked, "row counts not compared"],
  [CONSISTENCY_RULES.tableMissing, "tables missing in TARGET"],
  [CONSISTENCY_RULES.tableAdded, "tables new in TARGET"]
]

/** The readable report: open findings by rule (each with its fingerprint, for a waiver), the waived ones, the keys not checked. */
const reportLines = (result: ConsistencyResult, outcome: WaiverOutcome, s: Style): ReadonlyArray<string> => {
  const lines: Array<string> = []
  for (const [rule, title] of SECTIONS) {
    const findings = outcome.open.filter((f) => f.rule === rule)
    if (findings.length === 0) continue
    lines.push(s.bold(`${title} (${findings.length}):`))
    for (const f of findings) {
      lines.push(`  ${severityTag(f.severity, s)} ${f.message}`)
      if (rule === CONSISTENCY_RULES.orphanRows) {
        lines.push(`      ${f.object.kind} ${f.object.name}: ${f.before}`)
        const samples = (f.details?.["samples"] ?? []) as ReadonlyArray<Readonly<Record<string, string | null>>>
        if (samples.length > 0) lines.push(`      sample keys: ${samples.map((x) => `(${sampleText(x)})`).join(" ")}`)
        lines.push(s.dim(`      list them: ${String(f.details?.["query"])}`))
      }
      if (f.hint !== undefined && rule !== CONSISTENCY_RULES.tableAdded) lines.push(`      hint: ${f.hint}`)
      lines.push(s.dim(`      fingerprint ${f.fingerprint}`))
    }
  }
  lines.push(...waivedLines(outcome.waived, s))
  const skipped = result.orphans.filter((r) => r.check.skipped !== null)
  if (skipped.length > 0) {
    lines.push(s.bold(`foreign keys not checked (${skipped.length}):`))
    for (const { check } of skipped) lines.push(`  ${check.schema}.${check.table} ${check.name}: ${check.skipped}`)
  }
  return lines
}

/** Violations are counted among the open findings (a waived one does not block); the checks made count everything. */
const summaryOf = (result: ConsistencyResult, outcome: WaiverOutcome) => {
  const count = (rule: string) => outcome.open.filter((f) => f.rule === rule).length
  const checked = result.orphans.filter((r) => r.check.skipped === null)
  return {
    foreignKeysChecked: checked.length,
    foreignKeysLost: checked.filter((r) => r.check.declaredIn === "source").length,
    logicalForeignKeys: checked.filter((r) => r.check.declaredIn === "config").length,
    foreignKeysSkipped: result.orphans.length - checked.length,
    orphanViolations: count(CONSISTENCY_RULES.orphanRows),
    orphanRows: result.orphans.reduce((total, r) => total + (r.orphans ?? 0), 0),
    tablesCompared: result.rowCounts.comparisons.length,
    rowCountViolations: count(CONSISTENCY_RULES.rowCount),
    rowCountsUnchecked: count(CONSISTENCY_RULES.rowCountUnchecked),
    estimatedCounts: result.rowCounts.comparisons.filter((c) => c.source.method === "estimate" || c.target.method === "estimate").length,
    tablesMissing: count(CONSISTENCY_RULES.tableMissing),
    tablesAdded: count(CONSISTENCY_RULES.tableAdded),
    waived: outcome.waived.length,
    staleWaivers: outcome.stale.map(staleJson),
    blocking: outcome.open.filter((f) => f.severity === "breaking").length,
    orphanChecksMs: Math.round(result.orphansMs),
    rowCountsMs: Math.round(result.rowCountsMs)
  }
}

/** Open one side: its catalog, then `jobs` read-only sessions at one snapshot. */
const openLiveSide = (endpoint: Endpoint, jobs: number, statementTimeoutMs: number, workMemMb: number, settings: Readonly<Record<string, string>> = {}) =>
  Effect.gen(function* () {
    const catalog = yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, APPLICATION_NAME, 1)))
    const query = yield* openReadOnlySessions(endpoint, APPLICATION_NAME, { sessions: jobs, statementTimeoutMs, workMemMb, settings })
    return { label: endpoint.label, catalog, query } satisfies GateSide
  })

export const consistencyCommand = Command.make("consistency", flags, (options) =>
  recordRun("consistency", options.evidenceDir, (audit) => Effect.gen(function* () {
    const cli = yield* CliEnvironment
    const now = new Date()
    // Flags, the config and waiver files and both arguments are checked before any connection is made.
    const flagTolerance = Option.isSome(options.tolerance) ? yield* parseTolerance(options.tolerance.value) : undefined
    if (Option.isSome(options.jobs) && (options.jobs.value < 1 || options.jobs.value > 64)) {
      return yield* badInput(`--jobs ${options.jobs.value}: write a number from 1 to 64`)
    }
    if (Option.isSome(options.statementTimeout) && options.statementTimeout.value < 0) {
      return yield* badInput(`--statement-timeout ${options.statementTimeout.value}: write milliseconds ≥ 0 (0 for no limit)`)
    }
    const config: ConsistencyConfig | null = Option.isSome(options.config) ? yield* loadConsistencyConfig(options.config.value) : null
    const waiverSet = yield* loadCheckedWaivers(options.waivers, now)
    const source = yield* resolveEndpoint(options.source, cli.env)
    const target = yield* resolveEndpoint(options.target, cli.env)
    audit.endpoints(source.display, target.display)

    const settings: ConsistencySettings = {
      tolerance: flagTolerance ?? config?.tolerance ?? DEFAULT_TOLERANCE,
      tolerances: config?.tolerances ?? [],
      exclude: [...(config?.exclude ?? []), ...options.exclude],
      logicalForeignKeys: config?.logicalForeignKeys ?? [],
      estimates: options.estimates || (config?.estimates ?? false),
      jobs: Option.getOrUndefined(options.jobs) ?? DEFAULT_JOBS,
      samples: DEFAULT_SAMPLES,
      personalNames: [],
      ...(config?.keyRangeMinRows === undefined ? {} : { keyRangeMinRows: config.keyRangeMinRows })
    }
    const statementTimeoutMs = Option.getOrUndefined(options.statementTimeout) ?? config?.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS
    // Only TARGET runs the orphan checks' joins; SOURCE only counts.
    const workMemMb = config?.workMemMb ?? DEFAULT_WORK_MEM_MB
    audit.config({ ...settings, statementTimeoutMs, workMemMb, waivers: waiverSet?.path ?? null }, config === null ? null : createHash("sha256").update(readFileSync(config.path)).digest("hex"))
    if (settings.tolerance > 1) yield* logLine(`note: a tolerance of ${settings.tolerance} lets a table's row count move by ${Math.round(settings.tolerance * 100)}%`)

    const started = performance.now()
    const result = yield* Effect.scoped(
      Effect.gen(function* () {
        const [sourceSide, targetSide] = yield* Effect.all(
          [openLiveSide(source, settings.jobs, statementTimeoutMs, 0), openLiveSide(target, settings.jobs, statementTimeoutMs, workMemMb, ORPHAN_SESSION_SETTINGS)],
          { concurrency: 2 }
        )
        return yield* runConsistency(sourceSide, targetSide, settings)
      })
    )
    const elapsedMs = Math.round(performance.now() - started)

    // The engine's order (worst first, then rule and object) carries over to both lists.
    const outcome = yield* applyWaivers(result.findings, waiverSet, now)
    const status = statusOf(outcome.open)
    const summary = { source: source.display, target: target.display, ...summaryOf(result, outcome), elapsedMs }
    const report = {
      gate: "consistency",
      status,
      findings: outcome.open.map(findingJson),
      waived: outcome.waived.map(waivedJson),
      checks: checksJson(result),
      summary
    }
    const evidence = yield* writeEvidence(
      options.evidenceDir,
      "consistency",
      {
        tool: "db-harness",
        version: TOOL_VERSION,
        command: "consistency",
        at: now.toISOString(),
        options: {
          tolerance: settings.tolerance,
          tolerances: settings.tolerances,
          exclude: settings.exclude,
          logicalForeignKeys: settings.logicalForeignKeys.length,
          estimates: settings.estimates,
          jobs: settings.jobs,
          statementTimeoutMs
        },
        configFile: config?.path ?? null,
        waiverFile: waiverSet?.path ?? null,
        ...report
      },
      now
    )
    audit.evidence(evidence)
    const blocking = outcome.open.filter((f) => f.severity === "breaking")
    audit.counts({
      tables: summary.tablesCompared,
      findings: blocking.length,
      findingsByRule: Object.fromEntries([...new Set(blocking.map((f) => f.rule))].map((rule) => [rule, blocking.filter((f) => f.rule === rule).length]))
    })

    yield* warnStale(outcome.stale)
    if (options.json) {
      yield* printJson(report)
      yield* logLine(`evidence: ${evidence.path}`)
    } else {
      const s = yield* style
      for (const line of reportLines(result, outcome, s)) yield* printLine(line)
      const statusText = status === "fail" ? s.red("FAIL") : status === "warn" ? s.yellow("WARN") : s.green("PASS")
      const estimated = summary.estimatedCounts > 0 ? `, ${summary.estimatedCounts} on catalog estimates` : ""
      yield* printLine(
        `${statusText} consistency ${source.display} → ${target.display}: ` +
          `${summary.foreignKeysChecked} foreign key(s) checked (${summary.foreignKeysLost} lost since SOURCE, ${summary.logicalForeignKeys} logical), ` +
          `${summary.orphanViolations} with orphans; ${summary.tablesCompared} table(s) counted${estimated}, ${summary.rowCountViolations} out of tolerance; ` +
          `${summary.tablesMissing} missing, ${summary.tablesAdded} new; ${summary.waived} waived (${elapsedMs} ms)`
      )
      yield* printLine(`evidence: ${evidence.path}`)
    }
    if (summary.blocking > 0) {
      return yield* new CommandExit({
        code: ExitCode.IntegrityViolation,
        message: `${summary.blocking} unwaived consistency violation(s): ${summary.orphanViolations} foreign key(s) with orphan rows, ${summary.rowCountViolations} row count(s) out of tolerance, ${blocking.filter((f) => f.rule === CONSISTENCY_RULES.tableMissing).length} table(s) missing`
      })
    }
  }), { quiet: options.json })
).pipe(
  Command.withDescription(
    "After a migration: orphan rows of every foreign key of TARGET (NOT VALID keys, keys TARGET lost since SOURCE and logical keys from " +
      "the config included) and row counts of TARGET against SOURCE within --tolerance. Exit 3 on any violation not waived (--waivers), " +
      "0 when clean, 1 on errors."
  ),
  Command.withExamples([
    { command: "db-harness consistency backup staging --tolerance 0.05", description: "block the deployment when staging lost integrity or rows" },
    { command: "db-harness consistency backup staging --config consistency.yaml --json", description: "with logical keys and per-table tolerances" },
    { command: "db-harness consistency backup staging --waivers consistency-waivers.yaml", description: "known violations waived by fingerprint, until their expiry" }
  ])
)
