/**
 * `db-harness detect-pii TARGET`: which columns of a live database hold personal data, decided
 * per column from a random sample of rows (src/engine/pii-scan.ts) by the `detect` plugins.
 * Prints a report by table and column (or `--json` in the shared findings shape), writes
 * `pii_<timestamp>.json` into the evidence directory, and exits 4 when PII is found, 0 when clean.
 *
 * The report and the exit code come from the findings alone (`piiReport`, `piiExit`), so other
 * checks that append `pii/...` findings (the proof after masking) decide the same way.
 */
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import { availableParallelism } from "node:os"
import { badInput } from "../../engine/errors.ts"
import { resolveEndpoint } from "../../engine/connection.ts"
import { DEFAULT_EVIDENCE_DIR, writeEvidence } from "../../engine/evidence.ts"
import { findingJson, objectPath, type Finding } from "../../engine/findings.ts"
import { judgeWithProof, verifyMaskingProof, type ProofVerification } from "../../engine/masking-proof.ts"
import { makeDetectors, piiVerdict, type PiiVerdict } from "../../engine/pii-detect.ts"
import { withLeakDetection } from "../../engine/pii-stream.ts"
import type { StageFactory } from "../../engine/propagate.ts"
import { cleanSampleStatement, newSeed, scanDatabase, type PiiScanResult } from "../../engine/pii-scan.ts"
import { recordRun } from "../audit-record.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { CommandExit, ExitCode } from "../exit-codes.ts"
import { formatTable, logLine, printJson, printLine, style, type Style } from "../output.ts"
import { TOOL_VERSION } from "../version.ts"

export const DEFAULT_SAMPLE_SIZE = 1000

/**
 * For `propagate --mask-pii`: the masking stage factory followed by in-stream PII detection on the
 * columns masking leaves untouched (src/engine/pii-stream.ts).
 */
export const inStreamDetection = (masking: StageFactory) =>
  Effect.gen(function* () {
    const { builtinPlugins } = yield* Effect.promise(() => import("../../plugins/index.ts"))
    return withLeakDetection(masking, yield* makeDetectors(builtinPlugins))
  })

const flags = {
  target: Argument.String("target").pipe(
    Argument.withDescription("database to scan: a postgres:// URL or an environment name (dev reads DB_DEV_CONN)")
  ),
  sampleSize: Flag.Int("sample-size").pipe(
    Flag.withDescription(`random rows read per table (default ${DEFAULT_SAMPLE_SIZE}); tables this small are read whole`),
    Flag.withDefault(DEFAULT_SAMPLE_SIZE)
  ),
  seed: Flag.Int("seed").pipe(
    Flag.withDescription("seed of the random sample (reported by every run; the same seed on unchanged data reads the same rows)"),
    Flag.optional
  ),
  full: Flag.Boolean("full").pipe(Flag.withDescription("read every row of every table instead of a sample"), Flag.withDefault(false)),
  include: Flag.String("include").pipe(
    Flag.withDescription("scan only tables matching this glob (schema.table; repeatable)"),
    Flag.atLeast(0)
  ),
  exclude: Flag.String("exclude").pipe(
    Flag.withDescription("leave out tables matching this glob (schema.table; repeatable)"),
    Flag.atLeast(0)
  ),
  jobs: Flag.Int("jobs").pipe(
    Flag.withAlias("j"),
    Flag.withDescription("tables read at the same time, one connection each (default: 2 × CPU cores, at most 8)"),
    Flag.optional
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print the report as JSON on stdout"), Flag.withDefault(false)),
  evidenceDir: Flag.String("evidence-dir").pipe(
    Flag.withDescription(`where the evidence file goes (default ${DEFAULT_EVIDENCE_DIR})`),
    Flag.withDefault(DEFAULT_EVIDENCE_DIR)
  )
}

/** The machine-readable report: the shared findings shape plus what was sampled and what it proves. */
export const piiReport = (scan: PiiScanResult, findings: ReadonlyArray<Finding>, target: string, proof?: ProofVerification) => {
  const verdict = piiVerdict(findings)
  return {
    gate: "pii",
    status: verdict.status === "pii" ? "fail" : "pass",
    findings: findings.map(findingJson),
    summary: {
      target,
      seed: scan.seed,
      sampleSize: scan.sampleSize,
      full: scan.full,
      tables: scan.tables.length,
      columnsScanned: scan.tables.reduce((sum, t) => sum + t.columnsScanned.length, 0),
      blocking: verdict.blocking.length,
      durationMs: scan.durationMs,
      proof: cleanSampleStatement(scan)
    },
    maskingProof:
      proof === undefined
        ? null
        : { present: proof.present, runs: proof.runs, columns: proof.columns, notes: proof.notes },
    tables: scan.tables.map((t) => ({
      table: t.table,
      method: t.method,
      percent: t.percent,
      estimatedRows: t.estimatedRows,
      rowsSampled: t.rowsSampled,
      columnsScanned: t.columnsScanned,
      durationMs: t.durationMs
    })),
    tablesWithoutCandidates: scan.tablesWithoutCandidates
  }
}

/** Exit 4 with a one-line reason when the findings block; nothing when clean. */
export const piiExit = (verdict: PiiVerdict) =>
  verdict.status === "pii"
    ? Effect.fail(
        new CommandExit({
          code: ExitCode.PiiDetected,
          message: `PII found in ${verdict.blocking.length} column(s): ${verdict.blocking.map((f) => `${objectPath(f.object)} (${f.rule})`).join(", ")}`
        })
      )
    : Effect.void

const reportLines = (scan: PiiScanResult, findings: ReadonlyArray<Finding>, s: Style): Array<string> => {
  const lines: Array<string> = []
  const byTable = new Map<string, Array<Finding>>()
  // The masking proof's findings (pii/source-value-survived, ...) are sentences, not detector hits.
  const isDetectorHit = (f: Finding) => typeof (f.details as { entity?: unknown } | undefined)?.entity === "string"
  for (const f of findings.filter((f) => !isDetectorHit(f))) {
    const where = f.object.table === undefined ? "" : `${f.object.schema}.${f.object.table}${f.object.column === undefined ? "" : `.${f.object.column}`}: `
    lines.push(`${f.severity === "breaking" ? s.red(f.rule) : s.dim(f.rule)} ${where}${f.message} ${s.dim(f.fingerprint)}`)
  }
  for (const f of findings.filter(isDetectorHit)) {
    const key = `${f.object.schema}.${f.object.table}`
    byTable.set(key, [...(byTable.get(key) ?? []), f])
  }
  for (const [table, list] of [...byTable].sort(([a], [b]) => a.localeCompare(b))) {
    const info = scan.tables.find((t) => t.table === table)
    const how = info === undefined ? "" : ` (${info.rowsSampled} rows, ${info.method}${info.percent === null ? "" : ` ${info.percent}%`})`
    lines.push(s.bold(`${table}${how}`))
    lines.push(
      formatTable(
        ["column", "entity", "hit ratio", "confidence", "example", ""],
        list.map((f) => {
          const d = f.details as { entity: string; ratio: number; confidence: string; example: string; inText: boolean; hits: number; sampled: number }
          return [
            `  ${f.object.column}`,
            d.entity + (d.inText ? " (in text)" : ""),
            `${(d.ratio * 100).toFixed(1)}% (${d.hits}/${d.sampled})`,
            f.severity === "breaking" ? d.confidence : s.dim(`${d.confidence}, not blocking`),
            d.example,
            s.dim(f.fingerprint)
          ]
        })
      )
        .split("\n")
        .map((line) => `  ${line}`)
        .join("\n")
    )
  }
  return lines
}

export const detectPiiCommand = Command.make("detect-pii", flags, (options) =>
  recordRun("detect-pii", options.evidenceDir, (audit) => Effect.gen(function* () {
    const cli = yield* CliEnvironment
    const now = new Date()
    if (options.sampleSize < 1) return yield* badInput(`--sample-size must be at least 1 (got ${options.sampleSize})`)
    if (options.seed._tag === "Some" && options.seed.value < 1) return yield* badInput(`--seed must be a positive integer (got ${options.seed.value})`)
    if (options.jobs._tag === "Some" && options.jobs.value < 1) return yield* badInput(`--jobs must be at least 1 (got ${options.jobs.value})`)
    const endpoint = yield* resolveEndpoint(options.target, cli.env)
    audit.endpoints(null, endpoint.display)
    audit.config({ sampleSize: options.sampleSize, seed: options.seed._tag === "Some" ? options.seed.value : null, full: options.full, include: options.include, exclude: options.exclude })
    const seed = options.seed._tag === "Some" ? options.seed.value : newSeed()
    const { builtinPlugins } = yield* Effect.promise(() => import("../../plugins/index.ts"))
    const detectors = yield* makeDetectors(builtinPlugins)
    const scan = yield* scanDatabase({
      endpoint,
      sampleSize: options.sampleSize,
      seed,
      full: options.full,
      include: options.include,
      exclude: options.exclude,
      detectors,
      concurrency: options.jobs._tag === "Some" ? options.jobs.value : Math.min(8, availableParallelism() * 2)
    })
    // A database written by `propagate --mask-pii` holds fakes that look like personal data: its
    // masking proof (masking-proof.ts) tells masked columns from source values that survived.
    const maskKey = cli.env["DB_HARNESS_MASK_KEY"]
    const proof = yield* verifyMaskingProof(endpoint, {
      key: maskKey === undefined || maskKey === "" ? undefined : new TextEncoder().encode(maskKey),
      sampleSize: options.sampleSize,
      seed,
      full: options.full
    })
    const findings = judgeWithProof(scan.findings, proof)
    const report = piiReport(scan, findings, endpoint.display, proof)
    const evidence = yield* writeEvidence(
      options.evidenceDir,
      "pii",
      {
        tool: "db-harness",
        version: TOOL_VERSION,
        command: "detect-pii",
        at: now.toISOString(),
        options: { sampleSize: options.sampleSize, seed, full: options.full, include: options.include, exclude: options.exclude },
        detectors: detectors.map((d) => d.plugin),
        ...report
      },
      now
    )
    const verdict = piiVerdict(findings)
    audit.evidence(evidence)
    audit.counts({
      tables: scan.tables.length,
      findings: verdict.blocking.length,
      findingsByRule: Object.fromEntries([...new Set(verdict.blocking.map((f) => f.rule))].map((rule) => [rule, verdict.blocking.filter((f) => f.rule === rule).length]))
    })
    if (options.json) {
      yield* printJson(report)
      yield* logLine(`evidence: ${evidence.path}`)
    } else {
      const s = yield* style
      for (const line of reportLines(scan, findings, s)) yield* printLine(line)
      const columns = report.summary.columnsScanned
      const sampled = options.full ? "every row" : `up to ${options.sampleSize} random rows per table, seed ${seed}`
      const head = verdict.status === "pii" ? s.red("FAIL") : s.green("PASS")
      yield* printLine(
        `${head} detect-pii ${endpoint.display}: ${verdict.blocking.length} column(s) with PII, ` +
          `${findings.length - verdict.blocking.length} single hit(s) not blocking; ${scan.tables.length} tables, ${columns} columns scanned (${sampled}) in ${(scan.durationMs / 1000).toFixed(2)}s`
      )
      if (verdict.status === "clean") yield* printLine(s.dim(report.summary.proof))
      if (proof.present) {
        const proven = proof.columns.filter((c) => (c.kind === "row" || c.kind === "value") && c.checked > 0).length
        yield* printLine(`masking proof (run ${proof.runs[0]?.runId ?? "?"}): ${proven} masked column(s) checked against the source's digests`)
      }
      for (const note of proof.notes) yield* printLine(s.dim(`note: ${note}`))
      yield* printLine(`evidence: ${evidence.path}`)
    }
    return yield* piiExit(verdict)
  }), { quiet: options.json })
).pipe(
  Command.withDescription(
    "Find personal data in a live database: a random sample of rows per table (or --full), judged per column by the PII " +
      "detectors (validated values, column names and types, look-alike filters). Exit 4 when PII is found, 0 when clean."
  ),
  Command.withExamples([
    { command: "db-harness detect-pii dev", description: "scan dev (DB_DEV_CONN), 1000 random rows per table" },
    { command: "db-harness detect-pii staging --sample-size 5000 --seed 42 --json", description: "a bigger, repeatable sample as JSON" },
    { command: "db-harness detect-pii dev --full --include 'public.*'", description: "every row of the public schema" }
  ])
)
