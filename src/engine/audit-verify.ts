/**
 * `audit verify`: everything that can be checked about an audit log, and the first thing wrong
 * with it, named the way an auditor would say it (edited, missing, reordered, truncated,
 * rewritten, bad signature, unsigned tail). One pass over the lines: each is parsed and
 * re-canonicalized (a hand edit changes its bytes), its `seq` must follow, its `prev` must be the
 * leaf hash of the line before, and the Merkle frontier is extended so the root at every
 * checkpoint's size is known when the pass ends. Then each checkpoint (the log's own and any kept
 * outside) is checked: signature against the given public key, origin, size not beyond the log
 * (truncation), root (rewriting). With a public key every entry must be covered by a valid
 * signature; an entry after the last signed checkpoint was appended without the key.
 *
 * `verifyAuditText` is pure (text in, report out) so the benchmark and the runtime tests call it
 * directly; `verifyAuditLog` reads the files.
 */
import * as Effect from "effect/Effect"
import type { KeyObject } from "node:crypto"
import { readFile } from "node:fs/promises"
import { basename } from "node:path"
import { canonicalJson, isCanonicalLine } from "./audit-canonical.ts"
import { checkSignature, keyIdOf, parseCheckpoint, parsePublicKey, type ParsedCheckpoint, type SignatureStatus } from "./audit-checkpoint.ts"
import { auditPaths, logIdOf, originOf, splitLog, type AuditEntry } from "./audit-log.ts"
import { MerkleFrontier, leafHash } from "./audit-merkle.ts"
import { HarnessError, badInput } from "./errors.ts"

export type ProblemKind =
  | "malformed" // not JSON, or not an entry
  | "edited" // bytes not canonical, or a hash link broken
  | "missing" // a seq skipped
  | "reordered" // seq out of order (two entries swapped)
  | "duplicate" // a seq twice
  | "truncated" // a checkpoint covers more entries than the log holds
  | "rewritten" // a checkpoint's root or origin does not match the log
  | "bad-signature" // a checkpoint's signature fails, is by another key, or is missing
  | "unsigned-tail" // entries after the last signed checkpoint (appended without the key)
  | "bad-checkpoint" // the log's own checkpoint file is not a checkpoint

export interface AuditProblem {
  readonly kind: ProblemKind
  /** The first bad entry, when one can be named. */
  readonly seq: number | null
  readonly line: number | null
  readonly message: string
}

export interface CheckpointReport {
  readonly file: string
  readonly size: number
  readonly signature: SignatureStatus
  readonly keyIds: ReadonlyArray<string>
  /** null: not comparable (it covers archived entries only, or the log broke before its size). */
  readonly rootMatches: boolean | null
}

export interface AuditReport {
  readonly log: string
  /** intact: every entry is covered by a checkpoint signed with the given key. unsigned: no
   * signature anywhere. not-checked: signed, but no public key was given. invalid: see problems. */
  readonly status: "intact" | "unsigned" | "not-checked" | "invalid"
  readonly entries: number
  readonly firstSeq: number | null
  readonly lastSeq: number | null
  readonly logId: string | null
  /** Entries up to this seq are covered by a valid signature with the given key. */
  readonly signedThrough: number
  readonly checkpoints: ReadonlyArray<CheckpointReport>
  /** The first entry is `problems[0]`; later ones may be consequences of it. */
  readonly problems: ReadonlyArray<AuditProblem>
  readonly warnings: ReadonlyArray<string>
}

export interface CheckpointInput {
  readonly file: string
  readonly text: string
  /** Kept outside the log's directory by the user: an unsigned one is trusted for where it was kept. */
  readonly external: boolean
}

const hex = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).toString("hex")
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b)

const isEntry = (value: unknown): value is AuditEntry => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const e = value as Record<string, unknown>
  return (
    e["v"] === 1 &&
    Number.isSafeInteger(e["seq"]) &&
    (e["seq"] as number) >= 1 &&
    (e["prev"] === null || (typeof e["prev"] === "string" && /^[0-9a-f]{64}$/.test(e["prev"] as string))) &&
    typeof e["time"] === "string" &&
    typeof e["kind"] === "string"
  )
}

const seqOf = (line: string | undefined): number | undefined => {
  if (line === undefined) return undefined
  const match = /"seq":(\d+)/.exec(line)
  return match ? Number(match[1]) : undefined
}

const PRIORITY: Record<ProblemKind, number> = {
  malformed: 0,
  edited: 0,
  missing: 0,
  reordered: 0,
  duplicate: 0,
  "bad-checkpoint": 1,
  "bad-signature": 2,
  truncated: 3,
  rewritten: 4,
  "unsigned-tail": 5
}

export const verifyAuditText = (
  logName: string,
  text: string,
  checkpointInputs: ReadonlyArray<CheckpointInput>,
  publicKey: KeyObject | undefined
): AuditReport => {
  const log = splitLog(text)
  const problems: Array<AuditProblem> = []
  const warnings: Array<string> = []
  const checkpoints: Array<{ input: CheckpointInput; parsed: ParsedCheckpoint }> = []
  for (const input of checkpointInputs) {
    try {
      checkpoints.push({ input, parsed: parseCheckpoint(input.text) })
    } catch (cause) {
      problems.push({ kind: "bad-checkpoint", seq: null, line: null, message: `checkpoint ${input.file} is damaged: ${(cause as Error).message}` })
    }
  }
  const wanted = new Set(checkpoints.map((c) => c.parsed.size))
  const rootAt = new Map<number, Uint8Array>()

  // --- the base line (archived prefix)
  let frontier = new MerkleFrontier()
  let expectedSeq = 1
  let expectedPrev: string | null = null
  let logId: string | null = null
  if (log.baseLine !== undefined) {
    const base = log.base
    let ok = false
    try {
      if (base !== undefined && canonicalJson({ base }) === log.baseLine && Number.isSafeInteger(base.size) && base.size >= 1) {
        frontier = new MerkleFrontier(base.size, base.frontier.map((h) => new Uint8Array(Buffer.from(h, "hex"))))
        ok = /^[0-9a-f]{64}$/.test(base.prev) && /^[0-9a-f]{16}$/.test(base.logId)
      }
    } catch {
      ok = false
    }
    if (!ok || base === undefined) {
      problems.push({ kind: "edited", seq: null, line: 1, message: "line 1, the archive base (what the archived entries contribute), is damaged or was edited" })
    } else {
      expectedSeq = base.size + 1
      expectedPrev = base.prev
      logId = base.logId
      if (wanted.has(base.size)) rootAt.set(base.size, frontier.root())
    }
  }

  // --- the entries
  let entries = 0
  let firstSeq: number | null = null
  let lastSeq: number | null = null
  let lastTime = ""
  let brokenAt: number | null = null // seq before which roots are trustworthy
  const lineProblems = problems.length
  for (let i = 0; i < log.lines.length && problems.length === lineProblems; i++) {
    const line = log.lines[i]!
    const lineNo = log.firstLineNumber + i
    const where = `line ${lineNo}`
    if (log.torn && i === log.lines.length - 1) {
      problems.push({ kind: "truncated", seq: expectedSeq, line: lineNo, message: `${where} is incomplete (the file does not end in a newline): it was cut off, or a write was torn` })
      break
    }
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      problems.push({ kind: "malformed", seq: seqOf(line) ?? expectedSeq, line: lineNo, message: `${where} is not JSON: it was edited or damaged` })
      break
    }
    if (!isEntry(value)) {
      problems.push({ kind: "malformed", seq: seqOf(line) ?? expectedSeq, line: lineNo, message: `${where} is not an audit entry (v, seq, prev, time, kind): it was edited or damaged` })
      break
    }
    const seq = value.seq
    if (seq !== expectedSeq) {
      if (seq > expectedSeq) {
        // Swapped entries show the later one first; a deletion never brings the skipped seq back.
        const ahead = [seqOf(log.lines[i + 1]), seqOf(log.lines[i + 2])]
        if (ahead.includes(expectedSeq)) {
          problems.push({ kind: "reordered", seq: expectedSeq, line: lineNo, message: `entries are out of order: seq ${seq} is at ${where}, before seq ${expectedSeq} (entries swapped or moved)` })
        } else {
          const range = seq - 1 === expectedSeq ? `seq ${expectedSeq} is` : `seq ${expectedSeq}..${seq - 1} are`
          problems.push({ kind: "missing", seq: expectedSeq, line: lineNo, message: `entry ${range} missing: deleted before ${where} (seq ${seq})` })
        }
      } else if (lastSeq !== null && seq === lastSeq) {
        problems.push({ kind: "duplicate", seq, line: lineNo, message: `entry seq ${seq} appears twice (${where} repeats it)` })
      } else {
        problems.push({ kind: "reordered", seq, line: lineNo, message: `entries are out of order: seq ${seq} is at ${where}, after seq ${lastSeq ?? "none"} (entries swapped or moved)` })
      }
      break
    }
    if (!isCanonicalLine(line, value)) {
      problems.push({ kind: "edited", seq, line: lineNo, message: `entry seq ${seq} (${where}) was edited: its bytes are not the canonical JSON it was written in` })
      break
    }
    if (value.prev !== expectedPrev) {
      const message =
        expectedPrev === null
          ? `entry seq ${seq} (${where}) links to a previous entry, but none comes before it: entries before it were removed`
          : `entry seq ${seq - 1} was edited after it was written: its hash no longer matches the link in seq ${seq} (${where})`
      problems.push({ kind: "edited", seq: expectedPrev === null ? seq : seq - 1, line: expectedPrev === null ? lineNo : lineNo - 1, message })
      break
    }
    if (value.time < lastTime) warnings.push(`entry seq ${seq} has an earlier time (${value.time}) than the entry before it (${lastTime}): the writer's clock went back`)
    lastTime = value.time
    const leaf = leafHash(line)
    if (logId === null) logId = logIdOf(hex(leaf))
    frontier.push(leaf)
    if (wanted.has(frontier.size)) rootAt.set(frontier.size, frontier.root())
    expectedPrev = hex(leaf)
    expectedSeq = seq + 1
    firstSeq ??= seq
    lastSeq = seq
    entries++
  }
  if (problems.length > lineProblems) {
    brokenAt = problems[problems.length - 1]!.seq ?? expectedSeq
    // Count what the file holds, for truncation checks, even past the break.
    for (let i = log.lines.length - 1; i >= 0; i--) {
      const seq = seqOf(log.lines[i])
      if (seq !== undefined) {
        lastSeq = Math.max(lastSeq ?? 0, seq)
        break
      }
    }
  }
  const treeSize = log.base && lastSeq === null ? log.base.size : lastSeq ?? 0
  const archivedThrough = log.base?.size ?? 0

  // --- the checkpoints
  const reports: Array<CheckpointReport> = []
  let signedThrough = 0
  let anySignature = false
  const keyId = publicKey === undefined ? undefined : keyIdOf(publicKey)
  for (const { input, parsed } of checkpoints) {
    const signature = checkSignature(parsed, publicKey)
    if (parsed.signatures.length > 0) anySignature = true
    let rootMatches: boolean | null = null
    if (signature === "invalid") {
      problems.push({ kind: "bad-signature", seq: null, line: null, message: `checkpoint ${input.file} (size ${parsed.size}) has a bad signature: the checkpoint or its signature was changed` })
    } else if (signature === "unknown-key") {
      problems.push({
        kind: "bad-signature",
        seq: null,
        line: null,
        message: `checkpoint ${input.file} (size ${parsed.size}) is signed by key ${parsed.signatures.map((s) => s.keyId).join(", ")}, not by the given public key (${keyId}): forged, or the wrong key`
      })
    } else if (signature === "unsigned" && publicKey !== undefined && !input.external) {
      problems.push({ kind: "bad-signature", seq: null, line: null, message: `checkpoint ${input.file} (size ${parsed.size}) has no signature: it was replaced by an unsigned one` })
    }
    if (logId !== null && parsed.origin !== originOf(logId)) {
      problems.push({
        kind: "rewritten",
        seq: firstSeq,
        line: null,
        message: `checkpoint ${input.file} is for the log ${parsed.origin}, and this log is ${originOf(logId)}: its first entry is not the one the checkpoint was made over (the log was replaced or rewritten)`
      })
    } else if (parsed.size > treeSize) {
      problems.push({
        kind: "truncated",
        seq: treeSize + 1,
        line: null,
        message: `the log was truncated: checkpoint ${input.file} covers ${parsed.size} entries, the log ends at seq ${treeSize}, so seq ${treeSize + 1}..${parsed.size} were cut off`
      })
    } else if (parsed.size < archivedThrough) {
      warnings.push(`checkpoint ${input.file} (size ${parsed.size}) covers archived entries only: verify it against the archive file`)
    } else if (brokenAt === null || parsed.size < brokenAt) {
      const root = rootAt.get(parsed.size)
      rootMatches = root !== undefined && sameBytes(root, parsed.root)
      if (!rootMatches) {
        problems.push({
          kind: "rewritten",
          seq: parsed.size,
          line: null,
          message: `the log was rewritten: entries seq 1..${parsed.size} do not match checkpoint ${input.file} (the Merkle root differs), so they were edited and re-linked, or entry seq ${parsed.size} was edited`
        })
      }
    }
    if (signature === "valid" && rootMatches === true) signedThrough = Math.max(signedThrough, parsed.size)
    if (signature === "valid" && rootMatches === null && parsed.size <= archivedThrough) signedThrough = Math.max(signedThrough, parsed.size)
    reports.push({ file: input.file, size: parsed.size, signature, keyIds: parsed.signatures.map((s) => s.keyId), rootMatches })
  }

  // --- coverage by signatures
  const covered = Math.max(signedThrough, 0)
  if (publicKey !== undefined && problems.length === 0 && covered < treeSize) {
    const from = Math.max(covered + 1, firstSeq ?? covered + 1)
    problems.push(
      covered === 0 && !anySignature
        ? { kind: "unsigned-tail", seq: from, line: null, message: `the log is not signed: no checkpoint signed with the given key covers it (was DB_HARNESS_AUDIT_KEY set when it was written?)` }
        : {
            kind: "unsigned-tail",
            seq: from,
            line: null,
            message: `entries seq ${from}..${treeSize} are not covered by a signed checkpoint: appended without the signing key (forged, or written by a run without DB_HARNESS_AUDIT_KEY)`
          }
    )
  }
  if (publicKey === undefined) {
    if (!anySignature) warnings.push("the log is not signed: it is hash-linked only, so anyone able to write it can rewrite it undetected (set DB_HARNESS_AUDIT_KEY when writing; pass --public-key here)")
    else warnings.push("signatures were not checked: pass --public-key with the committed public key")
    const lastCheckpoint = Math.max(0, ...checkpoints.map((c) => c.parsed.size))
    if (anySignature && lastCheckpoint < treeSize) warnings.push(`entries seq ${lastCheckpoint + 1}..${treeSize} come after the last checkpoint (an unsigned tail)`)
  }
  problems.sort((a, b) => PRIORITY[a.kind] - PRIORITY[b.kind])
  const status: AuditReport["status"] =
    problems.length > 0 ? "invalid" : publicKey !== undefined ? "intact" : anySignature ? "not-checked" : "unsigned"
  return { log: logName, status, entries, firstSeq, lastSeq, logId, signedThrough, checkpoints: reports, problems, warnings }
}

export interface VerifyOptions {
  /** Text of the public key file (PEM or base64) and its name, for messages. */
  readonly publicKey?: { readonly file: string; readonly text: string }
  /** Checkpoints kept outside the log's directory. */
  readonly checkpointFiles?: ReadonlyArray<string>
}

const readOr = (path: string, what: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => badInput(`cannot read ${what} ${path}: ${(cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (cause as Error).message}`)
  })

/** Read a log (the file, or `audit.log.jsonl` in a directory), its checkpoint and the given files, and verify. */
export const verifyAuditLog = (logPath: string, options: VerifyOptions = {}): Effect.Effect<AuditReport, HarnessError> =>
  Effect.gen(function* () {
    let publicKey: KeyObject | undefined
    if (options.publicKey !== undefined) {
      try {
        publicKey = parsePublicKey(options.publicKey.text)
      } catch (cause) {
        return yield* badInput(`the public key ${options.publicKey.file} ${(cause as Error).message}`)
      }
    }
    const text = yield* readOr(logPath, "the audit log")
    const own = auditPaths(logPath).checkpoint
    const ownText = yield* Effect.tryPromise({ try: () => readFile(own, "utf8"), catch: () => undefined }).pipe(
      Effect.catch(() => Effect.succeed(undefined))
    )
    const inputs: Array<CheckpointInput> = ownText === undefined ? [] : [{ file: basename(own), text: ownText, external: false }]
    for (const file of options.checkpointFiles ?? []) {
      const kept = yield* readOr(file, "the checkpoint")
      try {
        parseCheckpoint(kept)
      } catch (cause) {
        return yield* badInput(`${file} is not a checkpoint: ${(cause as Error).message}`)
      }
      inputs.push({ file, text: kept, external: true })
    }
    return verifyAuditText(logPath, text, inputs, publicKey)
  })


