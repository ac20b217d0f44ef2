/**
 * How a command records itself in the audit log: one call, wrapped around the command's body.
 *
 *     export const fooCommand = Command.make("foo", flags, (options) =>
 *       recordRun("foo", options.evidenceDir, (audit) =>
 *         Effect.gen(function* () {
 *           const source = yield* resolveEndpoint(options.source, cli.env)
 *           audit.endpoints(source.display, null)          // display forms only, never a URL with its password
 *           audit.config({ ...options that shaped the run }, rulesDigest)
 *           ...                                            // the command as before
 *           audit.counts({ tables, rows, findings, findingsByRule })
 *           audit.evidence(yield* writeEvidence(...))
 *         })))
 *
 * Whatever the body ends with is recorded: success (exit 0), a gate's `CommandExit` (its code,
 * status "blocked"), a `HarnessError` (exit 1, its reason, status "failed": refused and failed
 * runs are what auditors ask about first) or a defect. Notes given before the failure are kept,
 * so a run refused after its endpoints were resolved names them. Error messages are not
 * recorded: they can quote data values (a COPY error shows the row).
 *
 * The entry goes to `<evidence dir>/audit.log.jsonl`; with `DB_HARNESS_AUDIT_KEY` (Ed25519,
 * PKCS#8 PEM or base64 seed) a signed checkpoint follows, without it the command says the log is
 * unsigned. A key that cannot be read stops the command before it does anything. If the entry
 * cannot be written, a run that succeeded fails with exit 1 (an unrecorded production copy must
 * not pass silently); a run that already failed keeps its own exit code and warns.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { createHash } from "node:crypto"
import { readFileSync, statSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { canonicalJson } from "../engine/audit-canonical.ts"
import { parseSigningKey, type SigningKey } from "../engine/audit-checkpoint.ts"
import { appendAuditEntry, auditLogIn, type AuditActor, type AuditCounts, type AuditDraft, type AuditStatus } from "../engine/audit-log.ts"
import { badInput, type HarnessError } from "../engine/errors.ts"
import type { WrittenEvidence } from "../engine/evidence.ts"
import { CliEnvironment } from "./cli-environment.ts"
import { ExitCode } from "./exit-codes.ts"
import { logLine } from "./output.ts"
import { TOOL_VERSION } from "./version.ts"

/** What a command tells the audit record as it learns it; every method may be called any time. */
export interface AuditNotes {
  /** Display forms (Endpoint.display, a snapshot file's name), never a raw URL. */
  readonly endpoints: (source: string | null, target: string | null) => void
  /** The options that shaped the run (digested as canonical JSON) and the rules files' digest. */
  readonly config: (options: unknown, rulesDigest?: string | null) => void
  readonly counts: (counts: AuditCounts) => void
  readonly evidence: (written: WrittenEvidence | undefined) => void
}

export const AUDIT_KEY_VARIABLE = "DB_HARNESS_AUDIT_KEY"

/** The signing key from the environment, or undefined; a bad key is a bad input (exit 1). */
export const signingKeyFrom = (env: Readonly<Record<string, string | undefined>>): Effect.Effect<SigningKey | undefined, HarnessError> => {
  const text = env[AUDIT_KEY_VARIABLE]
  if (text === undefined || text.trim() === "") return Effect.succeed(undefined)
  try {
    return Effect.succeed(parseSigningKey(text))
  } catch (cause) {
    return Effect.fail(badInput(`${AUDIT_KEY_VARIABLE} ${(cause as Error).message}`))
  }
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === "" ? null : value.trim())

/** The commit checked out in `cwd`, read from .git without running git (worktrees included). */
export const gitCommitIn = (cwd: string): string | null => {
  try {
    let dir = resolve(cwd)
    for (;;) {
      const dotGit = join(dir, ".git")
      const info = statSync(dotGit, { throwIfNoEntry: false })
      if (info !== undefined) {
        const gitDir = info.isDirectory() ? dotGit : resolve(dir, readFileSync(dotGit, "utf8").replace(/^gitdir:\s*/, "").trim())
        const head = readFileSync(join(gitDir, "HEAD"), "utf8").trim()
        if (/^[0-9a-f]{40,64}$/.test(head)) return head
        const ref = /^ref:\s*(\S+)$/.exec(head)?.[1]
        if (ref === undefined) return null
        let common = gitDir
        try {
          common = resolve(gitDir, readFileSync(join(gitDir, "commondir"), "utf8").trim())
        } catch {}
        for (const base of [gitDir, common]) {
          try {
            return readFileSync(join(base, ref), "utf8").trim()
          } catch {}
        }
        const packed = readFileSync(join(common, "packed-refs"), "utf8")
        return new RegExp(`^([0-9a-f]{40,64}) ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m").exec(packed)?.[1] ?? null
      }
      const parent = dirname(dir)
      if (parent === dir) return null
      dir = parent
    }
  } catch {
    return null
  }
}

/** Who runs this: CI variables of GitLab and GitHub first, then the OS user and git. */
export const auditActor = (env: Readonly<Record<string, string | undefined>>, cwd: string): AuditActor => {
  if (env["GITLAB_CI"] === "true") {
    return {
      user: nonEmpty(env["GITLAB_USER_LOGIN"]) ?? nonEmpty(env["USER"]),
      ci: {
        provider: "gitlab",
        project: nonEmpty(env["CI_PROJECT_PATH"]),
        pipelineId: nonEmpty(env["CI_PIPELINE_ID"]),
        jobId: nonEmpty(env["CI_JOB_ID"]),
        url: nonEmpty(env["CI_JOB_URL"]) ?? nonEmpty(env["CI_PIPELINE_URL"])
      },
      gitCommit: nonEmpty(env["CI_COMMIT_SHA"]) ?? gitCommitIn(cwd)
    }
  }
  if (env["GITHUB_ACTIONS"] === "true") {
    const server = nonEmpty(env["GITHUB_SERVER_URL"])
    const repository = nonEmpty(env["GITHUB_REPOSITORY"])
    const runId = nonEmpty(env["GITHUB_RUN_ID"])
    const attempt = nonEmpty(env["GITHUB_RUN_ATTEMPT"])
    return {
      user: nonEmpty(env["GITHUB_ACTOR"]) ?? nonEmpty(env["USER"]),
      ci: {
        provider: "github",
        project: repository,
        pipelineId: runId === null ? null : attempt === null ? runId : `${runId}/${attempt}`,
        jobId: nonEmpty(env["GITHUB_JOB"]),
        url: server && repository && runId ? `${server}/${repository}/actions/runs/${runId}${attempt ? `/attempts/${attempt}` : ""}` : null
      },
      gitCommit: nonEmpty(env["GITHUB_SHA"]) ?? gitCommitIn(cwd)
    }
  }
  return { user: nonEmpty(env["USER"]) ?? nonEmpty(env["USERNAME"]) ?? nonEmpty(env["LOGNAME"]), ci: null, gitCommit: gitCommitIn(cwd) }
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): AuditDraft["outcome"] => {
  if (Exit.isSuccess(exit)) return { status: "ok", exitCode: ExitCode.Success }
  if (Cause.hasInterruptsOnly(exit.cause)) return { status: "interrupted", exitCode: ExitCode.Error }
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "Some") {
    const error = failure.value as { _tag?: string; code?: number; reason?: string }
    if (error._tag === "CommandExit") {
      const code = error.code ?? ExitCode.Error
      const status: AuditStatus = code === ExitCode.Success ? "ok" : code === ExitCode.Error ? "failed" : "blocked"
      return { status, exitCode: code }
    }
    if (error._tag === "HarnessError") return { status: "failed", exitCode: ExitCode.Error, reason: error.reason ?? "Internal" }
  }
  return { status: "failed", exitCode: ExitCode.Error, reason: "Internal" }
}

/** Run `body` and append one audit entry for it, whatever its outcome. See the module comment. */
export const recordRun = <A, E, R>(
  kind: string,
  evidenceDir: string,
  body: (audit: AuditNotes) => Effect.Effect<A, E, R>,
  /** quiet: no "audit: entry seq N" line (warnings still show), for --quiet / --json runs. */
  options: { readonly quiet?: boolean } = {}
): Effect.Effect<A, E | HarnessError, R | CliEnvironment> =>
  Effect.gen(function* () {
    const cli = yield* CliEnvironment
    const key = yield* signingKeyFrom(cli.env)
    const started = Date.now()
    let source: string | null = null
    let target: string | null = null
    let configDigest = sha256(canonicalJson({}))
    let rulesDigest: string | null = null
    let counts: AuditCounts = {}
    let evidence: AuditDraft["evidence"] = null
    const notes: AuditNotes = {
      endpoints: (s, t) => {
        source = s
        target = t
      },
      config: (options, rules) => {
        configDigest = sha256(canonicalJson(JSON.parse(JSON.stringify(options ?? {}))))
        if (rules !== undefined) rulesDigest = rules
      },
      counts: (c) => {
        counts = { ...counts, ...c }
      },
      evidence: (written) => {
        evidence = written === undefined ? null : { file: basename(written.path), digest: written.digest }
      }
    }
    const exit = yield* Effect.exit(body(notes))
    const draft: AuditDraft = {
      time: new Date().toISOString(),
      kind,
      actor: auditActor(cli.env, cli.cwd),
      tool: { name: "db-harness", version: TOOL_VERSION },
      source,
      target,
      config: { digest: configDigest, rulesDigest },
      outcome: outcomeOf(exit),
      counts,
      evidence,
      durationMs: Date.now() - started
    }
    const appended = yield* Effect.result(appendAuditEntry(auditLogIn(evidenceDir), draft, key))
    if (appended._tag === "Failure") {
      if (Exit.isSuccess(exit)) return yield* appended.failure
      yield* logLine(`warning: ${appended.failure.message}`)
      return yield* exit
    }
    const { entry, logPath, signed, warning } = appended.success
    if (warning !== undefined) yield* logLine(`warning: ${warning}`)
    if (options.quiet !== true) yield* logLine(
      `audit: entry seq ${entry.seq} in ${logPath}` +
        (signed ? " (checkpoint signed)" : key === undefined ? ` (UNSIGNED: ${AUDIT_KEY_VARIABLE} is not set, the log is only hash-linked)` : "")
    )
    return yield* exit
  })

/** `recordRun`'s stand-in for runs that must write nothing at all (`propagate --dry-run`). */
export const withoutRecord = <A, E, R>(
  _kind: string,
  _evidenceDir: string,
  body: (audit: AuditNotes) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | HarnessError, R | CliEnvironment> =>
  body({ endpoints: () => {}, config: () => {}, counts: () => {}, evidence: () => {} })
