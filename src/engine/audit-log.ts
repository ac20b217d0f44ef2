/**
 * The audit log: one canonical-JSON line per run in `<evidence dir>/audit.log.jsonl`, each
 * linked to the one before by hash, and after each append a checkpoint (`audit.log.checkpoint`,
 * see audit-checkpoint.ts) over the Merkle root of all entries (audit-merkle.ts), signed when a
 * key is given. What auditors ask (who copied what where, masked how, what the gates said) is in
 * the entry; never a data value, never a password (callers pass display forms and counts).
 *
 * Files next to the log (for a log `X.jsonl`): `X.checkpoint` the newest signed checkpoint,
 * `X.state.json` a cache of the tree's frontier so an append need not reread the log, `X.lock`
 * while someone appends. A checkpoint is written after every append (each one covers all entries,
 * so only the newest is kept here; keep copies outside, e.g. as CI artifacts, to catch truncation
 * and rewrites). A log whose older entries were archived (`audit archive`) starts with one base
 * line `{"base":{...}}` holding what the archived prefix contributes: its size, the hash the next
 * entry links to, and the Merkle frontier, so the rest still verifies against the same roots.
 *
 * Concurrency: appends and archiving hold `X.lock`, created with O_CREAT|O_EXCL (`wx`), which is
 * atomic on every runtime and local file system; waiters retry with jitter. Lines are written with
 * one `write` each and fsynced before the checkpoint is replaced (temp file + rename).
 */
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises"
import { basename, dirname, join, resolve } from "node:path"
import { canonicalJson } from "./audit-canonical.ts"
import { formatCheckpoint, parseCheckpoint, type Checkpoint, type ParsedCheckpoint, type SigningKey } from "./audit-checkpoint.ts"
import { leafHash, MerkleFrontier } from "./audit-merkle.ts"
import { HarnessError } from "./errors.ts"

export const AUDIT_LOG_FILE = "audit.log.jsonl"
export const AUDIT_FORMAT_VERSION = 1

/** Who ran it: the user, the CI job (GitLab or GitHub) and the git commit, when known. */
export interface AuditActor {
  readonly user: string | null
  readonly ci: {
    readonly provider: "gitlab" | "github"
    readonly project: string | null
    readonly pipelineId: string | null
    readonly jobId: string | null
    readonly url: string | null
  } | null
  readonly gitCommit: string | null
}

export type AuditStatus =
  /** Finished, exit 0. */
  | "ok"
  /** Finished, and a gate blocked (exit 2..): the findings are the result. */
  | "blocked"
  /** Refused, bad input or failed part way (exit 1). */
  | "failed"
  /** Stopped from outside (Ctrl-C, CI cancel). */
  | "interrupted"

export interface AuditCounts {
  readonly tables?: number
  readonly rows?: number
  readonly columnsMasked?: number
  readonly findings?: number
  readonly findingsByRule?: Readonly<Record<string, number>>
}

/** What a run contributes; `seq`, `prev` and `v` are added by `appendAuditEntry`. */
export interface AuditDraft {
  readonly time: string
  readonly kind: string
  readonly actor: AuditActor
  readonly tool: { readonly name: string; readonly version: string }
  /** Display forms only (Endpoint.display, a snapshot file name): never a password. */
  readonly source: string | null
  readonly target: string | null
  /** SHA-256 of the canonical JSON of the effective options, and of the rules files read. */
  readonly config: { readonly digest: string; readonly rulesDigest: string | null }
  readonly outcome: { readonly status: AuditStatus; readonly exitCode: number; readonly reason?: string }
  readonly counts: AuditCounts
  /** The run's evidence file, by name within the evidence directory, and its SHA-256. */
  readonly evidence: { readonly file: string; readonly digest: string } | null
  readonly durationMs: number
}

export interface AuditEntry extends AuditDraft {
  readonly v: number
  readonly seq: number
  /** Hex SHA-256 leaf hash (RFC 6962, 0x00-prefixed) of the previous entry; null for seq 1. */
  readonly prev: string | null
}

/** The first line of a log whose older entries were archived. */
export interface AuditBase {
  readonly logId: string
  /** Entries before this log's first: seq 1..size are in archives. */
  readonly size: number
  /** Leaf hash of entry seq `size`, which the first entry here links to. */
  readonly prev: string
  /** Merkle subtree roots of the archived prefix (hex), largest first. */
  readonly frontier: ReadonlyArray<string>
}

export interface AuditPaths {
  readonly log: string
  readonly checkpoint: string
  readonly state: string
  readonly lock: string
}

/** The files of a log, from the log file or the directory holding `audit.log.jsonl`. */
export const auditPaths = (logFile: string): AuditPaths => {
  const stem = logFile.endsWith(".jsonl") ? logFile.slice(0, -".jsonl".length) : logFile
  return { log: logFile, checkpoint: `${stem}.checkpoint`, state: `${stem}.state.json`, lock: `${stem}.lock` }
}

export const auditLogIn = (evidenceDir: string) => join(resolve(evidenceDir), AUDIT_LOG_FILE)

export const originOf = (logId: string) => `db-harness.audit/${logId}`
/** A log's identity: the first 16 hex digits of its first entry's leaf hash. */
export const logIdOf = (firstLeafHex: string) => firstLeafHex.slice(0, 16)

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, "hex"))

// ---------------------------------------------------------------------------------------------
// The lock

const LOCK_TIMEOUT_MS = 60_000
/** A lock older than this was left by a crashed process (appends take milliseconds). */
const STALE_LOCK_MS = 5 * 60_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const withLock = async <A>(lockPath: string, body: () => Promise<A>): Promise<A> => {
  const started = Date.now()
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, "wx")
      try {
        await handle.writeFile(`${JSON.stringify({ at: new Date().toISOString() })}\n`)
      } finally {
        await handle.close()
      }
      break
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause
      const info = await stat(lockPath).catch(() => undefined)
      if (info !== undefined && Date.now() - info.mtimeMs > STALE_LOCK_MS) {
        await rm(lockPath, { force: true })
        continue
      }
      if (Date.now() - started > LOCK_TIMEOUT_MS) {
        throw new Error(`${lockPath} has been held for over ${LOCK_TIMEOUT_MS / 1000} s; if no db-harness run is writing, delete it`)
      }
      await sleep(5 + Math.random() * Math.min(100, 5 * 2 ** Math.min(attempt, 5)))
    }
  }
  try {
    return await body()
  } finally {
    await rm(lockPath, { force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface LogLines {
  /** The base line (archived prefix), if any. */
  readonly base: AuditBase | undefined
  readonly baseLine: string | undefined
  /** Entry lines, without their newline. */
  readonly lines: ReadonlyArray<string>
  /** 1-based line number in the file of `lines[0]`. */
  readonly firstLineNumber: number
  /** The file does not end in a newline: its last line is a torn write or the file was cut. */
  readonly torn: boolean
}

export const isBaseLine = (line: string) => line.startsWith('{"base":')

export const splitLog = (text: string): LogLines => {
  const torn = text.length > 0 && !text.endsWith("\n")
  const all = text.length === 0 ? [] : (torn ? text : text.slice(0, -1)).split("\n")
  let base: AuditBase | undefined
  let baseLine: string | undefined
  if (all.length > 0 && isBaseLine(all[0]!)) {
    baseLine = all.shift()!
    try {
      base = (JSON.parse(baseLine) as { base: AuditBase }).base
    } catch {
      base = undefined
    }
  }
  return { base, baseLine, lines: all, firstLineNumber: baseLine === undefined ? 1 : 2, torn }
}

const readText = async (path: string): Promise<string | undefined> => {
  try {
    return await readFile(path, "utf8")
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw cause
  }
}

// ---------------------------------------------------------------------------------------------
// Appending

/** What the appender needs to extend the log: cached in `X.state.json`, checked against the log. */
interface TreeState {
  readonly logId: string | null
  readonly size: number
  readonly lastLeaf: string | null
  readonly frontier: ReadonlyArray<string>
}

const stateFromLog = (log: LogLines, stopAt?: number): { state: TreeState; rootAt: Map<number, Uint8Array> } => {
  const frontier = log.base ? new MerkleFrontier(log.base.size, log.base.frontier.map(fromHex)) : new MerkleFrontier()
  let logId = log.base?.logId ?? null
  let lastLeaf = log.base?.prev ?? null
  const rootAt = new Map<number, Uint8Array>()
  for (const line of log.lines) {
    const leaf = leafHash(line)
    if (logId === null) logId = logIdOf(hex(leaf))
    frontier.push(leaf)
    lastLeaf = hex(leaf)
    if (frontier.size === stopAt) rootAt.set(stopAt, frontier.root())
  }
  return { state: { logId, size: frontier.size, lastLeaf, frontier: frontier.subtrees.map(hex) }, rootAt }
}

const writeAtomic = async (path: string, text: string, mode = 0o644) => {
  const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`
  const handle = await open(temp, "w", mode)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temp, path)
}

/** The last line of the log, read from its end (entries are small). */
const lastLineOf = async (path: string): Promise<string | undefined> => {
  const handle = await open(path, "r").catch(() => undefined)
  if (handle === undefined) return undefined
  try {
    const { size } = await handle.stat()
    if (size === 0) return undefined
    const length = Math.min(size, 256 * 1024)
    const buffer = Buffer.alloc(length)
    await handle.read(buffer, 0, length, size - length)
    const text = buffer.toString("utf8")
    if (!text.endsWith("\n")) return undefined
    const start = text.lastIndexOf("\n", text.length - 2)
    if (start < 0 && length < size) return undefined
    return text.slice(start + 1, -1)
  } finally {
    await handle.close()
  }
}

export interface AppendResult {
  readonly entry: AuditEntry
  readonly logPath: string
  /** The checkpoint was signed and written for this entry. */
  readonly signed: boolean
  /** Why the checkpoint was not signed although a key was given (the log does not match it). */
  readonly warning: string | undefined
}

/**
 * Append one entry under the lock, then (with a key) sign a checkpoint over the whole log. With
 * a key, the new checkpoint is signed only if the log still matches the previous checkpoint,
 * so a run never signs over someone's edit; the entry is still appended and the caller warns.
 */
export const appendAuditEntry = (
  logPath: string,
  draft: AuditDraft,
  signingKey: SigningKey | undefined
): Effect.Effect<AppendResult, HarnessError> =>
  Effect.tryPromise({
    try: async () => {
      const paths = auditPaths(logPath)
      await mkdir(dirname(paths.log), { recursive: true })
      return withLock(paths.lock, async () => {
        const cachedText = await readText(paths.state)
        const lastLine = await lastLineOf(paths.log)
        const previous = await readText(paths.checkpoint)
        let state: TreeState | undefined
        if (cachedText !== undefined && lastLine !== undefined) {
          try {
            const cached = JSON.parse(cachedText) as TreeState
            const last = isBaseLine(lastLine) ? (JSON.parse(lastLine) as { base: AuditBase }).base.prev : hex(leafHash(lastLine))
            if (cached.lastLeaf === last) state = cached
          } catch {
            state = undefined
          }
        }
        let checkpoint: ParsedCheckpoint | undefined
        let unreadable = false
        if (signingKey !== undefined && previous !== undefined) {
          try {
            checkpoint = parseCheckpoint(previous)
          } catch {
            unreadable = true
          }
        }
        let matches = !unreadable
        if (state !== undefined && checkpoint !== undefined && checkpoint.size === state.size) {
          matches = Buffer.from(checkpoint.root).equals(new MerkleFrontier(state.size, state.frontier.map(fromHex)).root())
        } else if (state === undefined || checkpoint !== undefined) {
          const text = (await readText(paths.log)) ?? ""
          const log = splitLog(text)
          if (log.torn) throw new Error(`${paths.log} ends in an incomplete line (a cut or torn write); run db-harness audit verify`)
          const rebuilt = stateFromLog(log, checkpoint?.size)
          state = rebuilt.state
          if (checkpoint !== undefined) {
            const root = rebuilt.rootAt.get(checkpoint.size)
            matches = root !== undefined && Buffer.from(root).equals(checkpoint.root)
          }
        }
        const lastSeq = state!.size
        const entry: AuditEntry = { v: AUDIT_FORMAT_VERSION, seq: lastSeq + 1, prev: state!.lastLeaf, ...draft }
        const line = canonicalJson(entry)
        const handle = await open(paths.log, "a", 0o644)
        try {
          await handle.write(`${line}\n`)
          await handle.sync()
        } finally {
          await handle.close()
        }
        const leaf = leafHash(line)
        const frontier = new MerkleFrontier(state!.size, state!.frontier.map(fromHex))
        frontier.push(leaf)
        const logId = state!.logId ?? logIdOf(hex(leaf))
        const next: TreeState = { logId, size: frontier.size, lastLeaf: hex(leaf), frontier: frontier.subtrees.map(hex) }
        await writeAtomic(paths.state, `${JSON.stringify(next)}\n`)
        let warning: string | undefined
        let signed = false
        if (signingKey !== undefined) {
          if (matches && (checkpoint === undefined || checkpoint.size < frontier.size)) {
            const note: Checkpoint = { origin: originOf(logId), size: frontier.size, root: frontier.root() }
            await writeAtomic(paths.checkpoint, formatCheckpoint(note, signingKey))
            signed = true
          } else {
            warning =
              `the audit log ${paths.log} does not match its checkpoint ${basename(paths.checkpoint)}` +
              `${checkpoint === undefined ? "" : ` (size ${checkpoint.size})`}, so this run's entry (seq ${entry.seq}) was appended but not signed; ` +
              "run db-harness audit verify"
          }
        }
        return { entry, logPath: paths.log, signed, warning }
      })
    },
    catch: (cause) =>
      new HarnessError({
        reason: "BadInput",
        message: `cannot append to the audit log ${logPath}: ${(cause as Error).message ?? String(cause)}`,
        cause
      })
  })

/** The current checkpoint of a log (signed with the key if given), computed from the log itself. */
export const currentCheckpoint = (logPath: string, signingKey: SigningKey | undefined): Effect.Effect<string, HarnessError> =>
  Effect.tryPromise({
    try: async () => {
      const text = await readText(logPath)
      if (text === undefined) throw new Error("no such file")
      const log = splitLog(text)
      if (log.torn) throw new Error("it ends in an incomplete line; run db-harness audit verify")
      const { state } = stateFromLog(log)
      if (state.logId === null) throw new Error("the log is empty")
      const root = new MerkleFrontier(state.size, state.frontier.map(fromHex)).root()
      return formatCheckpoint({ origin: originOf(state.logId), size: state.size, root }, signingKey)
    },
    catch: (cause) =>
      new HarnessError({ reason: "BadInput", message: `cannot make a checkpoint of ${logPath}: ${(cause as Error).message ?? String(cause)}`, cause })
  })

// ---------------------------------------------------------------------------------------------
// Archiving

export interface ArchiveResult {
  readonly archived: number
  readonly archiveFile: string | null
  readonly archiveCheckpoint: string | null
  readonly signed: boolean
  readonly remaining: number
}

/**
 * Move the entries written before `before` (the longest such prefix) into
 * `audit.archive.<first>-<last>.jsonl` with its own checkpoint, and leave the log starting with a
 * base line, so both files verify on their own against the same Merkle roots. The caller checks
 * the log verifies first (an archive must not launder an edit).
 */
export const archiveAuditLog = (
  logPath: string,
  before: Date,
  signingKey: SigningKey | undefined,
  check: (text: string, checkpointText: string | undefined) => string | undefined
): Effect.Effect<ArchiveResult, HarnessError> =>
  Effect.tryPromise({
    try: async () => {
      const paths = auditPaths(logPath)
      return withLock(paths.lock, async () => {
        const text = await readText(paths.log)
        if (text === undefined) throw new Error("no such file")
        const problem = check(text, await readText(paths.checkpoint))
        if (problem !== undefined) throw new Error(`it does not verify, so nothing was archived: ${problem}`)
        const log = splitLog(text)
        let count = 0
        for (const line of log.lines) {
          const time = (JSON.parse(line) as AuditEntry).time
          if (!(Date.parse(time) < before.getTime())) break
          count++
        }
        if (count === 0) return { archived: 0, archiveFile: null, archiveCheckpoint: null, signed: false, remaining: log.lines.length }
        const moved = log.lines.slice(0, count)
        const kept = log.lines.slice(count)
        const frontier = log.base ? new MerkleFrontier(log.base.size, log.base.frontier.map(fromHex)) : new MerkleFrontier()
        let logId = log.base?.logId ?? null
        let lastLeaf = ""
        for (const line of moved) {
          const leaf = leafHash(line)
          logId ??= logIdOf(hex(leaf))
          frontier.push(leaf)
          lastLeaf = hex(leaf)
        }
        const first = (JSON.parse(moved[0]!) as AuditEntry).seq
        const last = (JSON.parse(moved[moved.length - 1]!) as AuditEntry).seq
        const archiveFile = join(dirname(paths.log), `audit.archive.${first}-${last}.jsonl`)
        const archivePaths = auditPaths(archiveFile)
        const base: AuditBase = { logId: logId!, size: frontier.size, prev: lastLeaf, frontier: frontier.subtrees.map(hex) }
        await writeAtomic(archiveFile, [...(log.baseLine ? [log.baseLine] : []), ...moved].map((l) => `${l}\n`).join(""))
        const note = { origin: originOf(logId!), size: frontier.size, root: frontier.root() }
        await writeAtomic(archivePaths.checkpoint, formatCheckpoint(note, signingKey))
        await writeAtomic(paths.log, [canonicalJson({ base }), ...kept].map((l) => `${l}\n`).join(""))
        // The cache's size and frontier are unchanged, but its last line may now be the base line.
        await rm(paths.state, { force: true })
        return { archived: count, archiveFile, archiveCheckpoint: archivePaths.checkpoint, signed: signingKey !== undefined, remaining: kept.length }
      })
    },
    catch: (cause) =>
      new HarnessError({ reason: "BadInput", message: `cannot archive the audit log ${logPath}: ${(cause as Error).message ?? String(cause)}`, cause })
  })

