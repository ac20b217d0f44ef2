/**
 * `db-harness propagate SOURCE TARGET`: the copy, as people and CI pipelines run it. Parses the
 * flags, shows progress (live on a TTY, a line per table in CI, nothing with --quiet), prints the
 * summary or `--json`, and leaves the work to the engine (src/engine/propagate.ts).
 */
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import { availableParallelism, homedir } from "node:os"
import type pg from "pg"
import { resolveEndpoint } from "../../engine/connection.ts"
import { badInput } from "../../engine/errors.ts"
import { DEFAULT_EVIDENCE_DIR } from "../../engine/evidence.ts"
import type { Catalog } from "../../engine/catalog.ts"
import { prepareMasking } from "../../engine/masking.ts"
import { inStreamDetection } from "./detect-pii.ts"
import { ensureProofTables, writeProof, type WrittenProof } from "../../engine/masking-proof.ts"
import { DEFAULT_SPLIT_ROWS, propagate, type PropagateOptions, type PropagateResult, type SourceQuery, type StageFactory } from "../../engine/propagate.ts"
import { hasBinaryConverter, rowTransformFor } from "../../engine/row-transform.ts"
import { loadSubsetRules, subsetSourceFilter } from "../../engine/subset-source.ts"
import { DEFAULT_PROTECTED_TARGETS } from "../../engine/target-safety.ts"
import { recordRun, withoutRecord } from "../audit-record.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { formatTable, logLine, printJson, printLine, style } from "../output.ts"
import { formatBytes, formatCount, startProgress, type ProgressReporter } from "../progress.ts"
import { TOOL_VERSION } from "../version.ts"

const source = Argument.String("source").pipe(
  Argument.withDescription("database to copy from: a postgres:// URL or an environment name (prod reads DB_PROD_CONN)")
)
const target = Argument.String("target").pipe(
  Argument.withDescription("database to copy into (emptied table by table): a URL or an environment name")
)

export const propagateFlags = {
  jobs: Flag.Int("jobs").pipe(
    Flag.withAlias("j"),
    Flag.withDescription("tables copied at the same time (default: the number of CPU cores)"),
    Flag.optional
  ),
  splitRows: Flag.Int("split-rows").pipe(
    Flag.withDescription(
      "read tables with at least this many (estimated) rows in --jobs ctid ranges in parallel (default: never; helps when reading the source is the bottleneck)"
    ),
    Flag.optional
  ),
  include: Flag.String("include").pipe(
    Flag.withDescription("copy only tables matching this glob (schema.table; repeatable), e.g. 'public.*'"),
    Flag.atLeast(0)
  ),
  exclude: Flag.String("exclude").pipe(
    Flag.withDescription("leave out tables matching this glob (schema.table; repeatable), e.g. '*.audit_*'"),
    Flag.atLeast(0)
  ),
  maskPii: Flag.Boolean("mask-pii").pipe(
    Flag.withDescription(
      "mask personal data (with --rules, or the shipped baseline) and fail if a column looks personal but no rule covers it"
    ),
    Flag.withDefault(false)
  ),
  rules: Flag.String("rules").pipe(
    Flag.withDescription("masking rules: a YAML file, or a shipped profile (baseline, gdpr_ccpa, hipaa); masks what they cover"),
    Flag.optional
  ),
  subset: Flag.String("subset").pipe(
    Flag.withDescription("subset rules (YAML): copy only the rows they select, with every foreign key still satisfied"),
    Flag.optional
  ),
  skipMaskingProof: Flag.Boolean("skip-masking-proof").pipe(
    Flag.withDescription(
      "do not keep the masking proof (schema db_harness) in the target, e.g. where this user may not create a schema; detect-pii then cannot prove the masking"
    ),
    Flag.withDefault(false)
  ),
  dryRun: Flag.Boolean("dry-run").pipe(
    Flag.withDescription("print the plan (tables, estimated rows, order, format) and write nothing"),
    Flag.withDefault(false)
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print the result as JSON on stdout"), Flag.withDefault(false)),
  quiet: Flag.Boolean("quiet").pipe(Flag.withAlias("q"), Flag.withDescription("no progress output"), Flag.withDefault(false)),
  evidenceDir: Flag.String("evidence-dir").pipe(
    Flag.withDescription(`where the evidence file goes (default ${DEFAULT_EVIDENCE_DIR})`),
    Flag.optional
  ),
  protect: Flag.String("protected").pipe(
    Flag.withDescription(
      "target names (environment or database) that must never be overwritten, as globs (repeatable; default 'prod*', or DB_HARNESS_PROTECTED_TARGETS, comma-separated)"
    ),
    Flag.atLeast(0)
  ),
  allowProtected: Flag.Boolean("allow-protected-target").pipe(
    Flag.withDescription("overwrite a target even though its name is protected"),
    Flag.withDefault(false)
  )
}

const printSummary = (result: PropagateResult) =>
  Effect.gen(function* () {
    const s = yield* style
    if (result.status === "dry-run") {
      yield* printLine(s.bold(`Plan (dry run, nothing written), snapshot ${result.snapshotId}:`))
      yield* printLine(
        formatTable(
          ["#", "table", "est. rows", "ranges", "format", "stages"],
          result.plan.tables.map((t, i) => [
            String(i + 1),
            t.label,
            formatCount(t.estimatedRows),
            (result.ranges.get(t.label) ?? [""]).map((r) => r.replace(/^ WHERE /, "") || "whole").join("; "),
            t.format + (t.formatReason ? ` (${t.formatReason})` : ""),
            t.stages.map((x) => `${x.name}(${x.table.columns.join(",")})`).join(" ") || "-"
          ])
        )
      )
      if (result.plan.skipped.length > 0) yield* printLine(`skipped by filters: ${result.plan.skipped.join(", ")}`)
      return
    }
    const rows = result.tables.map((t) => [
      t.table,
      String(t.rowsWritten),
      formatBytes(t.bytes),
      `${(t.durationMs / 1000).toFixed(2)}s`,
      t.format
    ])
    yield* printLine(formatTable(["table", "rows", "bytes", "time", "format"], rows))
    const totalRows = result.tables.reduce((sum, t) => sum + t.rowsWritten, 0)
    const totalBytes = result.tables.reduce((sum, t) => sum + t.bytes, 0)
    yield* printLine(
      s.green(
        `copied ${result.tables.length} tables, ${totalRows} rows, ${formatBytes(totalBytes)} in ${(result.durationMs / 1000).toFixed(2)}s` +
          ` (${formatCount((totalRows * 1000) / Math.max(1, result.durationMs))} rows/s); ` +
          `${result.foreignKeys.restored} foreign keys re-validated, ${result.sequences} sequences set`
      )
    )
    const masking = result.stageEvidence["masking"] as { columns: ReadonlyArray<{ strategy: string }>; keyed: boolean; rulesFiles: ReadonlyArray<string> } | undefined
    if (masking !== undefined) {
      const masked = masking.columns.filter((c) => c.strategy !== "keep").length
      yield* printLine(
        `masked ${masked} columns (${masking.columns.length - masked} kept by rule) with ${masking.rulesFiles.join(" <- ")}` +
          (masking.keyed ? "" : "; no DB_HARNESS_MASK_KEY, so this run's masking was random")
      )
      const proof = (masking as { proof?: WrittenProof }).proof
      if (proof !== undefined) {
        yield* printLine(
          proof.provable
            ? `masking proof ${proof.runId} kept in the target (schema db_harness): keyed digests of ${proof.sampledRows} sampled source values, no value`
            : `masking proof ${proof.runId} kept in the target, marked unprovable: without DB_HARNESS_MASK_KEY nothing can be checked later`
        )
      }
    }
    const subset = result.stageEvidence["subset"] as { seed: number; rulesDigest: string; allForeignKeysValid: boolean; foreignKeys: ReadonlyArray<unknown> } | undefined
    if (subset !== undefined) {
      yield* printLine(
        `subset by rules ${subset.rulesDigest.slice(0, 12)} (seed ${subset.seed}): ${subset.foreignKeys.length} foreign keys checked on the target, ${subset.allForeignKeysValid ? "all valid" : "NOT all valid"}`
      )
    }
    if (result.evidence) yield* printLine(`evidence: ${result.evidence.path}`)
  })

/** What the propagate command and the demo pass to `runPropagate`: the engine's options, less
 * what this module supplies, plus how to print. */
export type PropagateRun = Omit<
  PropagateOptions,
  "transformFor" | "hasBinaryConverter" | "toolVersion" | "onStart" | "onTableDone"
> & {
  readonly json: boolean
  readonly quiet: boolean
}

/**
 * The masking stage factory for `--rules` / `--mask-pii`: rules and plugins are loaded now, before
 * any connection, so a bad rules file fails first; the stage is compiled once the source's
 * catalog is read. The key comes from DB_HARNESS_MASK_KEY; without it the run says it is random.
 */
export const maskingFactory = (rules: string | undefined, maskPii: boolean, keepProof = true) =>
  Effect.gen(function* () {
    if (rules === undefined && !maskPii) return undefined
    const cli = yield* CliEnvironment
    const key = cli.env["DB_HARNESS_MASK_KEY"]
    if (key === undefined || key === "") {
      yield* logLine(
        "warning: DB_HARNESS_MASK_KEY is not set: masking uses a random key for this run, so masked values differ from run to run (joins within the run still hold)"
      )
    }
    // Loaded only when masking: faker's locale data costs ~0.3 s of start-up.
    const { builtinPlugins } = yield* Effect.promise(() => import("../../plugins/index.ts"))
    const keyBytes = key === undefined || key === "" ? undefined : new TextEncoder().encode(key)
    const compile = yield* prepareMasking({
      rules: rules ?? "baseline",
      privacyByDefault: maskPii,
      builtins: builtinPlugins,
      key: keyBytes,
      locale: cli.env["DB_HARNESS_MASK_LOCALE"] ?? "en",
      home: homedir(),
      cwd: cli.cwd
    })
    return {
      name: "masking",
      make: (catalog: Catalog, query: SourceQuery) =>
        Effect.map(compile(catalog, query), (prepared) => ({
          stage: prepared.stage,
          evidence: prepared.evidence,
          // The masking proof (masking-proof.ts): checked writable before the first write, written after the load.
          ...(keepProof
            ? {
                beforeLoad: ensureProofTables,
                afterLoad: (client: pg.Client) =>
                  Effect.map(writeProof(client, prepared.proof, prepared.evidence.columns, keyBytes, TOOL_VERSION), (proof) => ({ proof }))
              }
            : {})
        }))
    } satisfies StageFactory
  })

/** Run the engine with progress on stderr, then print the summary (or JSON) on stdout. */
export const runPropagate = (run: PropagateRun) =>
  Effect.gen(function* () {
    const cli = yield* CliEnvironment
    const mode = run.quiet || run.json ? "quiet" : cli.stderrIsTTY ? "live" : "lines"
    const s = yield* style
    let reporter: ProgressReporter | undefined
    const { json: _json, quiet: _quiet, ...engineOptions } = run
    const result = yield* propagate({
      ...engineOptions,
      transformFor: rowTransformFor,
      hasBinaryConverter,
      toolVersion: TOOL_VERSION,
      onStart: (tables) => {
        reporter = startProgress(
          mode,
          tables.map((t) => ({ label: t.plan.label, estimatedRows: t.plan.estimatedRows, progress: t.progress })),
          cli.writeStderr,
          cli.columns,
          s
        )
      },
      onTableDone: (t) => reporter?.tableDone({ label: t.plan.label, estimatedRows: t.plan.estimatedRows, progress: t.progress })
    }).pipe(Effect.ensuring(Effect.sync(() => reporter?.stop())))
    if (run.json) {
      yield* printJson({
        status: result.status,
        snapshotId: result.snapshotId,
        durationMs: result.durationMs,
        plan: result.plan.tables.map((t) => ({
          table: t.label,
          estimatedRows: t.estimatedRows,
          format: t.format,
          ranges: (result.ranges.get(t.label) ?? [""]).map((r) => r.replace(/^ WHERE /, "") || "whole"),
          stages: t.stages.map((x) => x.name)
        })),
        tables: result.tables,
        foreignKeys: result.foreignKeys,
        sequences: result.sequences,
        ...result.stageEvidence,
        evidence: result.evidence?.path ?? null
      })
    } else {
      yield* printSummary(result)
    }
    return result
  })

export const propagateCommand = Command.make(
  "propagate",
  { source, target, ...propagateFlags },
  (flags) => {
    const evidenceDir = flags.evidenceDir._tag === "Some" ? flags.evidenceDir.value : DEFAULT_EVIDENCE_DIR
    // A dry run writes nothing, not even an audit entry.
    return (flags.dryRun ? withoutRecord : recordRun)("propagate", evidenceDir, (audit) =>
      Effect.gen(function* () {
        const cli = yield* CliEnvironment
        const envProtected = (cli.env["DB_HARNESS_PROTECTED_TARGETS"] ?? "").split(",").map((x) => x.trim()).filter(Boolean)
        const masking = yield* maskingFactory(flags.rules._tag === "Some" ? flags.rules.value : undefined, flags.maskPii, !flags.skipMaskingProof)
        // Read and shape-checked before any connection, so a bad file fails first.
        const subsetRules = flags.subset._tag === "Some" ? yield* loadSubsetRules(flags.subset.value, cli.cwd) : undefined
        // A subset's rules say what becomes of every table; a table left out of the copy would
        // keep rows the subset's keys may not match (found only after writing).
        if (subsetRules !== undefined && flags.include.length + flags.exclude.length > 0)
          return yield* badInput(
            "--include/--exclude do not combine with --subset: the subset rules decide every table (excluded_tables: emptied; critical_tables: copied whole); nothing was written"
          )
        // Its rows are estimated where they are shown: in progress, in JSON, in a dry run's plan.
        const subset = subsetRules === undefined ? undefined : subsetSourceFilter(subsetRules, { estimateRows: flags.dryRun || flags.json || !flags.quiet })
        const sourceEndpoint = yield* resolveEndpoint(flags.source, cli.env)
        const targetEndpoint = yield* resolveEndpoint(flags.target, cli.env)
        audit.endpoints(sourceEndpoint.display, targetEndpoint.display)
        const run = {
          source: sourceEndpoint,
          target: targetEndpoint,
          jobs: flags.jobs._tag === "Some" ? Math.max(1, flags.jobs.value) : availableParallelism(),
          splitRows: flags.splitRows._tag === "Some" ? Math.max(1, flags.splitRows.value) : DEFAULT_SPLIT_ROWS,
          include: flags.include,
          exclude: flags.exclude,
          dryRun: flags.dryRun,
          json: flags.json,
          quiet: flags.quiet,
          evidenceDir,
          protectedTargets: flags.protect.length > 0 ? flags.protect : envProtected.length > 0 ? envProtected : DEFAULT_PROTECTED_TARGETS,
          allowProtectedTarget: flags.allowProtected,
          stages: [],
          // --mask-pii: the detectors then scan what masking left untouched, as rows stream (exit 4 on a leak).
          stageFactories: masking === undefined ? [] : flags.maskPii ? yield* inStreamDetection(masking) : [masking],
          ...(subset === undefined ? {} : { sourceFilter: subset })
        }
        const { source: _s, target: _t, json: _j, quiet: _q, stages: _st, stageFactories: _sf, sourceFilter: _f, ...shaping } = run as typeof run & { sourceFilter?: unknown }
        const options = {
          ...shaping,
          splitRows: Number.isFinite(shaping.splitRows) ? shaping.splitRows : null,
          rules: flags.rules._tag === "Some" ? flags.rules.value : null,
          maskPii: flags.maskPii,
          subset: flags.subset._tag === "Some" ? flags.subset.value : null
        }
        audit.config(options)
        const result = yield* runPropagate(run)
        const maskingEvidence = result.stageEvidence["masking"] as { rulesDigest?: string; columns?: ReadonlyArray<{ strategy: string }> } | undefined
        audit.config(options, maskingEvidence?.rulesDigest ?? null)
        audit.counts({
          tables: result.status === "ok" ? result.tables.length : result.plan.tables.length,
          rows: result.tables.reduce((sum, t) => sum + t.rowsWritten, 0),
          columnsMasked: (maskingEvidence?.columns ?? []).filter((c) => c.strategy !== "keep").length
        })
        audit.evidence(result.evidence)
      }),
      { quiet: flags.quiet || flags.json }
    )
  }
).pipe(Command.withDescription("Copy SOURCE into TARGET in one streaming COPY pass, table by table, at one consistent snapshot"))
