/**
 * `db-harness audit ...`: checking and keeping the audit log that every command appends to
 * (src/engine/audit-log.ts; entries are written by src/cli/audit-record.ts).
 *
 * - `verify PATH`: the whole check (audit-verify.ts); exit 5 on the first thing wrong, 0 when
 *   intact or merely unsigned (said plainly), 1 on bad input.
 * - `keygen --out FILE`: a new Ed25519 pair for CI: FILE holds the private seed (one base64
 *   line, fit for a masked CI variable `DB_HARNESS_AUDIT_KEY`), FILE.pub the public key to commit.
 * - `checkpoint PATH --out FILE`: the log's current checkpoint, to keep outside (a CI artifact, a
 *   commit), after checking the log verifies, so a tampered log is never signed.
 * - `archive PATH --before DATE`: retention; older entries move to an archive file with its own
 *   checkpoint and the rest stays verifiable.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Argument, Command, Flag } from "effect/cli"
import { readFile, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { generateSigningKey } from "../../engine/audit-checkpoint.ts"
import { archiveAuditLog, AUDIT_LOG_FILE, auditPaths, currentCheckpoint } from "../../engine/audit-log.ts"
import { verifyAuditLog, verifyAuditText, type AuditReport } from "../../engine/audit-verify.ts"
import { badInput } from "../../engine/errors.ts"
import { AUDIT_KEY_VARIABLE, signingKeyFrom } from "../audit-record.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { CommandExit, ExitCode } from "../exit-codes.ts"
import { logLine, printJson, printLine, style } from "../output.ts"

const pathArgument = Argument.String("path").pipe(
  Argument.withDescription(`the audit log: an evidence directory (holding ${AUDIT_LOG_FILE}) or a log file (also an archive file)`)
)

/** A directory means the log inside it. */
const logFileOf = (path: string) =>
  Effect.tryPromise({
    try: async () => ((await stat(path)).isDirectory() ? join(path, AUDIT_LOG_FILE) : path),
    catch: () => badInput(`no audit log at ${path}: no such file or directory`)
  })

const readText = (path: string, what: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => badInput(`cannot read ${what} ${path}: ${(cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (cause as Error).message}`)
  })

const printReport = (report: AuditReport) =>
  Effect.gen(function* () {
    const s = yield* style
    const range = report.firstSeq === null ? "no entries" : `${report.entries} entries, seq ${report.firstSeq}..${report.lastSeq}`
    yield* printLine(`audit log ${report.log}: ${range}${report.logId === null ? "" : ` (log ${report.logId})`}`)
    for (const c of report.checkpoints) {
      const root = c.rootMatches === null ? "root not compared" : c.rootMatches ? "root matches" : "ROOT DIFFERS"
      const signature =
        c.signature === "valid" ? "signature valid" : c.signature === "not-checked" ? `signed by ${c.keyIds.join(", ")} (not checked: no --public-key)` : c.signature === "unsigned" ? "unsigned" : `signature ${c.signature.toUpperCase()}`
      yield* printLine(`  checkpoint ${c.file}: size ${c.size}, ${root}, ${signature}`)
    }
    for (const warning of report.warnings) yield* printLine(s.yellow(`  warning: ${warning}`))
    const first = report.problems[0]
    if (first !== undefined) {
      yield* printLine(s.red(`INVALID: ${first.kind}: ${first.message}`))
      for (const more of report.problems.slice(1)) yield* printLine(s.dim(`  also: ${more.kind}: ${more.message}`))
    } else if (report.status === "intact") {
      yield* printLine(s.green(`INTACT: every entry is hash-linked and covered by a checkpoint signed with the given key (through seq ${report.signedThrough})`))
    } else if (report.status === "not-checked") {
      yield* printLine(s.yellow("OK, SIGNATURES NOT CHECKED: hash links and Merkle roots hold; pass --public-key to check the signatures"))
    } else {
      yield* printLine(s.yellow("OK, UNSIGNED: hash links hold, but nothing is signed, so a rewrite of the whole log would not show"))
    }
  })

const verifyCommand = Command.make(
  "verify",
  {
    path: pathArgument,
    publicKey: Flag.String("public-key").pipe(Flag.withDescription("the Ed25519 public key the log is signed with (PEM or base64), as committed to the repository"), Flag.optional),
    checkpoint: Flag.String("checkpoint").pipe(
      Flag.withDescription("a checkpoint kept outside the log (CI artifact, commit): catches truncation and rewriting after it (repeatable)"),
      Flag.atLeast(0)
    ),
    json: Flag.Boolean("json").pipe(Flag.withDescription("print the report as JSON on stdout"), Flag.withDefault(false))
  },
  (options) =>
    Effect.gen(function* () {
      const logFile = yield* logFileOf(options.path)
      const publicKey = Option.isSome(options.publicKey)
        ? { file: options.publicKey.value, text: yield* readText(options.publicKey.value, "the public key") }
        : undefined
      const report = yield* verifyAuditLog(logFile, { ...(publicKey ? { publicKey } : {}), checkpointFiles: options.checkpoint })
      if (options.json) yield* printJson({ ...report, valid: report.problems.length === 0, problem: report.problems[0] ?? null })
      else yield* printReport(report)
      const first = report.problems[0]
      if (first !== undefined) {
        return yield* new CommandExit({ code: ExitCode.AuditChainInvalid, message: `audit chain invalid${first.seq === null ? "" : ` at seq ${first.seq}`}: ${first.message}` })
      }
    })
).pipe(
  Command.withDescription(
    "Check an audit log: canonical form, sequence, hash links, every checkpoint's signature and Merkle root, truncation. Exit 5 on the first problem."
  ),
  Command.withExamples([
    { command: "db-harness audit verify .db-harness/evidence --public-key audit-key.pub", description: "the log in CI, against the committed key" },
    { command: "db-harness audit verify .db-harness/evidence --public-key audit-key.pub --checkpoint kept.checkpoint", description: "also against a checkpoint kept as a CI artifact" }
  ])
)

const keygenCommand = Command.make(
  "keygen",
  { out: Flag.String("out").pipe(Flag.withDescription("write the private key here (base64 seed, mode 600) and the public key to OUT.pub (PEM)")) },
  (options) =>
    Effect.gen(function* () {
      const pair = generateSigningKey()
      const publicFile = `${options.out}.pub`
      yield* Effect.tryPromise({
        try: async () => {
          await writeFile(options.out, `${pair.seedBase64}\n`, { mode: 0o600, flag: "wx" })
          await writeFile(publicFile, pair.publicPem, { mode: 0o644, flag: "wx" })
        },
        catch: (cause) =>
          badInput(
            (cause as NodeJS.ErrnoException).code === "EEXIST"
              ? `${(cause as NodeJS.ErrnoException).path ?? options.out} exists; nothing was overwritten (choose another --out)`
              : `cannot write the key files: ${(cause as Error).message}`
          )
      })
      yield* printLine(`private key (keep secret): ${options.out}  -> the CI variable ${AUDIT_KEY_VARIABLE} (masked, protected)`)
      yield* printLine(`public key (commit it):   ${publicFile}  -> db-harness audit verify ... --public-key ${publicFile}`)
      yield* printLine(`key id ${pair.keyId}`)
    })
).pipe(Command.withDescription("Make a new Ed25519 key pair for signing audit checkpoints"))

const checkpointCommand = Command.make(
  "checkpoint",
  {
    path: pathArgument,
    out: Flag.String("out").pipe(Flag.withDescription("where to write the checkpoint (keep it outside the log's directory)"))
  },
  (options) =>
    Effect.gen(function* () {
      const cli = yield* CliEnvironment
      const key = yield* signingKeyFrom(cli.env)
      const logFile = yield* logFileOf(options.path)
      const report = yield* verifyAuditLog(logFile, key === undefined ? {} : { publicKey: { file: AUDIT_KEY_VARIABLE, text: key.publicKey.export({ format: "pem", type: "spki" }).toString() } })
      const problem = report.problems.find((p) => p.kind !== "unsigned-tail")
      if (problem !== undefined) {
        return yield* new CommandExit({ code: ExitCode.AuditChainInvalid, message: `the log does not verify, so no checkpoint was written: ${problem.message}` })
      }
      const note = yield* currentCheckpoint(logFile, key)
      yield* Effect.tryPromise({ try: () => writeFile(options.out, note), catch: (cause) => badInput(`cannot write ${options.out}: ${(cause as Error).message}`) })
      yield* printLine(`checkpoint of ${logFile} (${report.lastSeq ?? 0} entries) written to ${options.out}`)
      if (key === undefined) yield* logLine(`warning: UNSIGNED checkpoint (${AUDIT_KEY_VARIABLE} is not set): it proves something only where it is kept safe`)
    })
).pipe(Command.withDescription("Write the log's current checkpoint (signed with DB_HARNESS_AUDIT_KEY if set) to a file to keep outside the log"))

const archiveCommand = Command.make(
  "archive",
  {
    path: pathArgument,
    before: Flag.String("before").pipe(Flag.withDescription("archive entries written before this date (YYYY-MM-DD or an ISO time)"))
  },
  (options) =>
    Effect.gen(function* () {
      const cli = yield* CliEnvironment
      const key = yield* signingKeyFrom(cli.env)
      const before = new Date(options.before)
      if (!/^\d{4}-\d{2}-\d{2}/.test(options.before) || Number.isNaN(before.getTime())) {
        return yield* badInput(`--before ${options.before} is not a date (YYYY-MM-DD or an ISO time)`)
      }
      const logFile = yield* logFileOf(options.path)
      const check = (text: string, checkpointText: string | undefined) => {
        const inputs = checkpointText === undefined ? [] : [{ file: auditPaths(logFile).checkpoint, text: checkpointText, external: false }]
        const problem = verifyAuditText(logFile, text, inputs, key?.publicKey).problems.find((p) => p.kind !== "unsigned-tail")
        return problem?.message
      }
      const result = yield* archiveAuditLog(logFile, before, key, check)
      if (result.archived === 0) {
        yield* printLine(`nothing to archive: no entry of ${logFile} was written before ${options.before}`)
        return
      }
      yield* printLine(`archived ${result.archived} entries to ${result.archiveFile} (checkpoint ${result.archiveCheckpoint}); ${result.remaining} remain in ${logFile}`)
      if (!result.signed) yield* logLine(`warning: the archive's checkpoint is UNSIGNED (${AUDIT_KEY_VARIABLE} is not set)`)
    })
).pipe(Command.withDescription("Move entries older than --before to an archive file with its own checkpoint; the rest stays verifiable"))

export const auditCommand = Command.make("audit").pipe(
  Command.withDescription("Check and keep the tamper-evident audit log every command appends to"),
  Command.withSubcommands([verifyCommand, keygenCommand, checkpointCommand, archiveCommand])
)
