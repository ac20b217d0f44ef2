/**
 * `db-harness drift SOURCE TARGET`: schema drift between two databases or snapshot files, as the
 * drift gate plugin (src/plugins/gate-drift.ts) classifies it, with waivers applied. Prints a
 * report grouped by object (or `--json`), writes `drift_<timestamp>.json` into the evidence
 * directory, and exits 2 when unwaived drift blocks under the chosen flags.
 *
 * Direction: a finding describes what happens to TARGET when it is made to match SOURCE (a column
 * in TARGET but not in SOURCE is dropped), which is what a deployment from SOURCE does.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import { DEFAULT_EVIDENCE_DIR, writeEvidence } from "../../engine/evidence.ts"
import { findingJson, objectPath, SEVERITY_ORDER, type Finding, type Severity } from "../../engine/findings.ts"
import { instantiate } from "../../engine/plugin-host.ts"
import type { Plugin } from "../../engine/plugin.ts"
import { openSide, resolveSide, sideDisplay } from "../../engine/schema-source.ts"
import { applyWaivers, loadCheckedWaivers, staleJson, waivedJson, type WaivedFinding, type WaiverOutcome } from "../../engine/waivers.ts"
import gateDrift from "../../plugins/gate-drift.ts"
import { recordRun } from "../audit-record.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { CommandExit, ExitCode } from "../exit-codes.ts"
import { waivedLines, waiversFlag, warnStale } from "../gate-waivers.ts"
import { logLine, printJson, printLine, severityTag, style, type Style } from "../output.ts"
import { TOOL_VERSION } from "../version.ts"

const sideHelp = "a postgres:// URL, an environment name (dev reads DB_DEV_CONN) or a file from `db-harness inspect --json`"

const flags = {
  source: Argument.String("source").pipe(Argument.withDescription(`the schema TARGET should have: ${sideHelp}`)),
  target: Argument.String("target").pipe(
    Argument.withDescription(`the schema that is checked: ${sideHelp}; data-aware checks run only when it is live`)
  ),
  failOnBreaking: Flag.Boolean("fail-on-breaking").pipe(
    Flag.withDescription("exit 2 when a breaking finding is not waived"),
    Flag.withDefault(false)
  ),
  strict: Flag.Boolean("strict").pipe(
    Flag.withDescription("exit 2 when a breaking or hazard finding is not waived (implies --fail-on-breaking)"),
    Flag.withDefault(false)
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print the report as JSON on stdout"), Flag.withDefault(false)),
  waivers: waiversFlag,
  exclude: Flag.String("exclude").pipe(
    Flag.withDescription("leave out schemas or tables matching this glob (schema.table, or a table name in any schema; repeatable)"),
    Flag.atLeast(0)
  ),
  privileges: Flag.Boolean("privileges").pipe(Flag.withDescription("also compare grants"), Flag.withDefault(false)),
  owners: Flag.Boolean("owners").pipe(Flag.withDescription("also compare owners"), Flag.withDefault(false)),
  comments: Flag.Boolean("comments").pipe(Flag.withDescription("also compare comments"), Flag.withDefault(false)),
  evidenceDir: Flag.String("evidence-dir").pipe(
    Flag.withDescription(`where the evidence file goes (default ${DEFAULT_EVIDENCE_DIR})`),
    Flag.withDefault(DEFAULT_EVIDENCE_DIR)
  )
}

const APPLICATION_NAME = "db-harness drift"

const severityRank = (severity: Severity) => SEVERITY_ORDER.indexOf(severity)

const byImportance = (a: Finding, b: Finding) =>
  severityRank(a.severity) - severityRank(b.severity) ||
  objectPath(a.object).localeCompare(objectPath(b.object)) ||
  a.rule.localeCompare(b.rule) ||
  a.fingerprint.localeCompare(b.fingerprint)

type Status = "pass" | "fail" | "warn"

interface Verdict {
  readonly status: Status
  readonly blocking: ReadonlyArray<Finding>
  /** Which severities block under the flags given. */
  readonly blocks: ReadonlyArray<Severity>
}

const verdictOf = (outcome: WaiverOutcome, failOnBreaking: boolean, strict: boolean): Verdict => {
  const blocks: ReadonlyArray<Severity> = strict ? ["breaking", "hazard"] : failOnBreaking ? ["breaking"] : []
  const blocking = outcome.open.filter((finding) => blocks.includes(finding.severity))
  const status: Status = blocking.length > 0 ? "fail" : outcome.open.length > 0 || outcome.stale.length > 0 ? "warn" : "pass"
  return { status, blocking, blocks }
}

const stateText = (value: string | null) => (value === null ? "(none)" : value)

/** The readable report: findings grouped by object, worst first; then waived findings. */
const reportLines = (open: ReadonlyArray<Finding>, waived: ReadonlyArray<WaivedFinding>, s: Style): ReadonlyArray<string> => {
  const groups = new Map<string, Array<Finding>>()
  for (const finding of open) {
    const key = `${finding.object.kind} ${objectPath(finding.object)}`
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [finding])
    else group.push(finding)
  }
  const lines: Array<string> = []
  for (const [object, findings] of groups) {
    lines.push(s.bold(object))
    for (const finding of findings) {
      lines.push(`  ${severityTag(finding.severity, s)} ${finding.rule}: ${finding.message}`)
      lines.push(`      ${stateText(finding.before)} → ${stateText(finding.after)}`)
      if (finding.hint !== undefined) lines.push(`      hint: ${finding.hint}`)
      lines.push(s.dim(`      fingerprint ${finding.fingerprint}`))
    }
  }
  return [...lines, ...waivedLines(waived, s)]
}

const countsOf = (findings: ReadonlyArray<Finding>) =>
  Object.fromEntries(SEVERITY_ORDER.map((severity) => [severity, findings.filter((finding) => finding.severity === severity).length])) as Record<
    Severity,
    number
  >

const ms = (duration: Duration.Duration) => `${Math.round(Duration.toMillis(duration))} ms`

export const driftCommand = Command.make("drift", flags, (options) =>
  recordRun("drift", options.evidenceDir, (audit) => Effect.gen(function* () {
    const cli = yield* CliEnvironment
    const now = new Date()
    // The waiver file and both arguments are checked before any connection is made.
    const waiverSet = yield* loadCheckedWaivers(options.waivers, now)
    const sourceSpec = yield* resolveSide(options.source, cli.env)
    const targetSpec = yield* resolveSide(options.target, cli.env)
    audit.endpoints(sideDisplay(sourceSpec), sideDisplay(targetSpec))
    const driftOptions = {
      includePrivileges: options.privileges,
      includeOwners: options.owners,
      includeComments: options.comments,
      exclude: options.exclude
    }
    audit.config({ ...driftOptions, failOnBreaking: options.failOnBreaking, strict: options.strict, waivers: waiverSet?.path ?? null })
    // The registry holds plugins with their options unknown until decoded; so does instantiate.
    const gate = yield* instantiate(gateDrift as unknown as Plugin, "gate", driftOptions, undefined, "drift")

    const { findings, dataChecks } = yield* Effect.scoped(
      Effect.gen(function* () {
        const [[sourceTime, source], [targetTime, target]] = yield* Effect.all(
          [Effect.timed(openSide(sourceSpec, APPLICATION_NAME, false)), Effect.timed(openSide(targetSpec, APPLICATION_NAME, true))],
          { concurrency: 2 }
        )
        const [compareTime, findings] = yield* Effect.timed(gate.run({ source, target }))
        yield* logLine(
          `read SOURCE ${sideDisplay(sourceSpec)} in ${ms(sourceTime)}, TARGET ${sideDisplay(targetSpec)} in ${ms(targetTime)}; compared in ${ms(compareTime)}`
        )
        return { findings, dataChecks: target.query === null ? ("skipped" as const) : ("ran" as const) }
      })
    )

    const outcome = yield* applyWaivers(findings, waiverSet, now)
    const open = [...outcome.open].sort(byImportance)
    const waived = [...outcome.waived].sort((a, b) => byImportance(a.finding, b.finding))
    const verdict = verdictOf(outcome, options.failOnBreaking, options.strict)

    const report = {
      gate: "drift",
      status: verdict.status,
      findings: open.map(findingJson),
      waived: waived.map(waivedJson),
      summary: {
        source: sideDisplay(sourceSpec),
        target: sideDisplay(targetSpec),
        ...countsOf(open),
        waived: waived.length,
        staleWaivers: outcome.stale.map(staleJson),
        blocking: verdict.blocking.length,
        blocks: verdict.blocks,
        dataChecks
      }
    }
    const evidence = yield* writeEvidence(
      options.evidenceDir,
      "drift",
      {
        tool: "db-harness",
        version: TOOL_VERSION,
        command: "drift",
        at: now.toISOString(),
        options: { ...driftOptions, failOnBreaking: options.failOnBreaking, strict: options.strict },
        waiverFile: waiverSet?.path ?? null,
        ...report
      },
      now
    )
    audit.evidence(evidence)
    audit.counts({ findings: open.length, findingsByRule: Object.fromEntries([...new Set(open.map((f) => f.rule))].map((rule) => [rule, open.filter((f) => f.rule === rule).length])) })

    yield* warnStale(outcome.stale)
    const skippedNote = "data-aware checks skipped: TARGET is a snapshot file, so findings that depend on its rows are classified from the schema alone"
    if (options.json) {
      yield* printJson(report)
      if (dataChecks === "skipped") yield* logLine(skippedNote)
      yield* logLine(`evidence: ${evidence.path}`)
    } else {
      const s = yield* style
      for (const line of reportLines(open, waived, s)) yield* printLine(line)
      if (dataChecks === "skipped") yield* printLine(s.dim(skippedNote))
      const counts = countsOf(open)
      const countText = SEVERITY_ORDER.map((severity) => `${counts[severity]} ${severity}`).join(", ")
      const statusText = verdict.status === "fail" ? s.red("FAIL") : verdict.status === "warn" ? s.yellow("WARN") : s.green("PASS")
      yield* printLine(`${statusText} drift ${sideDisplay(sourceSpec)} → ${sideDisplay(targetSpec)}: ${countText}, ${waived.length} waived`)
      yield* printLine(`evidence: ${evidence.path}`)
    }
    if (verdict.blocking.length > 0) {
      return yield* new CommandExit({
        code: ExitCode.BreakingDrift,
        message: `${verdict.blocking.length} unwaived ${verdict.blocks.join(" or ")} finding(s) block (${options.strict ? "--strict" : "--fail-on-breaking"})`
      })
    }
  }))
).pipe(
  Command.withDescription(
    "Schema drift between SOURCE and TARGET (live databases or inspect --json files), classified breaking / hazard / " +
      "performance / info; findings describe what making TARGET match SOURCE does. Exit 2 with --fail-on-breaking " +
      "(or --strict) when unwaived drift blocks."
  ),
  Command.withExamples([
    { command: "db-harness drift prod staging --fail-on-breaking", description: "block when staging would break prod's schema" },
    { command: "db-harness drift schema.json dev --json --waivers waivers.yaml", description: "a saved schema against dev, known findings waived" }
  ])
)
