/**
 * Waivers: a YAML file of known findings that must not block, each matched by its fingerprint,
 * with a reason and an expiry date, so accepting a finding is a reviewed, dated decision:
 *
 *   waivers:
 *     - fingerprint: 3f2a9c0d1e4b5a67
 *       rule: drift/column-dropped        # optional; when given it must be the finding's rule
 *       reason: legacy column, dropped in ticket DB-123
 *       expires: 2026-12-31               # valid through this day (UTC)
 *
 * Nothing here fails silently open: a malformed file (YAML error, unknown key, missing reason,
 * bad date or fingerprint, a duplicate) and an expired entry are errors, with file:line:column;
 * an entry that matches no finding is reported back as stale.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { readFile } from "node:fs/promises"
import { locateInYaml, parseYaml, yamlPathText } from "./yaml-locations.ts"
import { badInput, type HarnessError } from "./errors.ts"
import { findingJson, type Finding } from "./findings.ts"

const nonBlank = (what: string) =>
  Schema.String.check(Schema.makeFilter((value) => (value.trim() === "" ? `${what} must not be empty` : undefined)))

const isCalendarDate = (value: string): boolean => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false
  const date = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value)
}

const WaiverEntry = Schema.Struct({
  fingerprint: Schema.String.check(
    Schema.makeFilter((value) => (/^[0-9a-f]{16}$/.test(value) ? undefined : "a fingerprint is 16 lowercase hex digits, as printed in the report"))
  ),
  rule: Schema.optionalKey(nonBlank("rule")),
  reason: nonBlank("reason"),
  expires: Schema.String.check(
    Schema.makeFilter((value) => (isCalendarDate(value) ? undefined : `expires must be a date YYYY-MM-DD, got "${value}"`))
  )
})

const WaiverFile = Schema.Struct({ waivers: Schema.Array(WaiverEntry) })

export interface Waiver {
  readonly fingerprint: string
  readonly rule?: string
  readonly reason: string
  /** YYYY-MM-DD; the waiver holds through this day (UTC). */
  readonly expires: string
  /** Where the entry is, `file:line`, for every message about it. */
  readonly at: string
}

export interface WaiverSet {
  readonly path: string
  readonly waivers: ReadonlyArray<Waiver>
}

/** Parse and check a waiver file's text; `path` is only for messages. */
export const parseWaivers = (text: string, path: string): Effect.Effect<WaiverSet, HarnessError> =>
  Effect.gen(function* () {
    const { doc, lineCounter } = yield* parseYaml(text, path, " in the waiver file")
    const decoded = Schema.decodeUnknownResult(WaiverFile)(doc.toJS(), { errors: "all", onExcessProperty: "error" })
    if (decoded._tag === "Failure") {
      const lines = SchemaIssue.makeFormatterStandardSchemaV1()(decoded.failure.issue).issues.map((issue) => {
        const issuePath = (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
        const message = issue.message === "Expected no excess property" ? "unknown key" : issue.message
        const { line, column } = locateInYaml(doc, lineCounter, issuePath)
        return `${path}:${line}:${column}: ${issuePath.length === 0 ? "" : `${yamlPathText(issuePath)}: `}${message}`
      })
      return yield* badInput(`invalid waiver file (expected waivers: [{ fingerprint, reason, expires }]):\n${lines.join("\n")}`)
    }
    const waivers = decoded.success.waivers.map(
      (entry, index): Waiver => ({ ...entry, at: `${path}:${locateInYaml(doc, lineCounter, ["waivers", index]).line}` })
    )
    const firstAt = new Map<string, string>()
    const duplicates: Array<string> = []
    for (const waiver of waivers) {
      const first = firstAt.get(waiver.fingerprint)
      if (first === undefined) firstAt.set(waiver.fingerprint, waiver.at)
      else duplicates.push(`${waiver.at}: fingerprint ${waiver.fingerprint} is already waived at ${first}`)
    }
    if (duplicates.length > 0) return yield* badInput(`invalid waiver file:\n${duplicates.join("\n")}`)
    return { path, waivers }
  })

/** Read and check a waiver file. */
export const loadWaivers = (path: string): Effect.Effect<WaiverSet, HarnessError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => badInput(`cannot read the waiver file ${path}: ${(cause as Error).message ?? String(cause)}`, cause)
  }).pipe(Effect.flatMap((text) => parseWaivers(text, path)))

/**
 * A gate command's waiver file, read and checked for expired entries before the command connects
 * anywhere (a refused file costs no database session); null when no file was given.
 */
export const loadCheckedWaivers = (path: string | undefined, today: Date): Effect.Effect<WaiverSet | null, HarnessError> =>
  path === undefined ? Effect.succeed(null) : loadWaivers(path).pipe(Effect.tap((set) => checkExpiry(set, today)))

/** `today` as YYYY-MM-DD in UTC, the calendar expiry dates are compared in. */
export const utcDay = (today: Date): string => today.toISOString().slice(0, 10)

/** Every expired entry is an error, matching or not: an expired acceptance must be renewed or removed, never ignored. */
export const checkExpiry = (set: WaiverSet, today: Date): Effect.Effect<void, HarnessError> => {
  const day = utcDay(today)
  const expired = set.waivers.filter((waiver) => waiver.expires < day)
  if (expired.length === 0) return Effect.void
  return badInput(
    `expired waivers (today is ${day}; renew the date with a reason, or fix the finding and remove the entry):\n` +
      expired.map((waiver) => `${waiver.at}: fingerprint ${waiver.fingerprint}${waiver.rule ? ` (${waiver.rule})` : ""} expired on ${waiver.expires}: ${waiver.reason}`).join("\n")
  )
}

export interface WaivedFinding {
  readonly finding: Finding
  readonly waiver: Waiver
}

export interface WaiverOutcome {
  /** Findings no waiver covers. */
  readonly open: ReadonlyArray<Finding>
  readonly waived: ReadonlyArray<WaivedFinding>
  /** Entries that matched no finding: the drift they excused is gone (or the fingerprint is wrong). */
  readonly stale: ReadonlyArray<Waiver>
}

/**
 * Split findings into open and waived. Fails on an expired entry, and on an entry whose `rule`
 * names another rule than the finding it matches (the file says something that is not so).
 * Without a waiver file (`null`) every finding is open.
 */
export const applyWaivers = (
  findings: ReadonlyArray<Finding>,
  set: WaiverSet | null,
  today: Date
): Effect.Effect<WaiverOutcome, HarnessError> =>
  Effect.gen(function* () {
    if (set === null) return { open: findings, waived: [], stale: [] }
    yield* checkExpiry(set, today)
    const byFingerprint = new Map(set.waivers.map((waiver) => [waiver.fingerprint, waiver]))
    const used = new Set<string>()
    const open: Array<Finding> = []
    const waived: Array<WaivedFinding> = []
    const mismatches: Array<string> = []
    for (const finding of findings) {
      const waiver = byFingerprint.get(finding.fingerprint)
      if (waiver === undefined) {
        open.push(finding)
        continue
      }
      if (waiver.rule !== undefined && waiver.rule !== finding.rule) {
        mismatches.push(`${waiver.at}: fingerprint ${waiver.fingerprint} is a ${finding.rule} finding, but the entry says rule ${waiver.rule}`)
      }
      used.add(waiver.fingerprint)
      waived.push({ finding, waiver })
    }
    if (mismatches.length > 0) return yield* badInput(`waiver file ${set.path} does not match the findings:\n${mismatches.join("\n")}`)
    return { open, waived, stale: set.waivers.filter((waiver) => !used.has(waiver.fingerprint)) }
  })

/** A waived finding as gates print it in `--json` and evidence files: the finding, and the waiver that covers it. */
export const waivedJson = ({ finding, waiver }: WaivedFinding) => ({
  ...findingJson(finding),
  waiver: {
    reason: waiver.reason,
    expires: waiver.expires,
    at: waiver.at,
    ...(waiver.rule === undefined ? {} : { rule: waiver.rule })
  }
})

/** A stale entry as `summary.staleWaivers` lists it. */
export const staleJson = (waiver: Waiver) => ({ fingerprint: waiver.fingerprint, at: waiver.at })

/** The warning for a stale entry, one line. */
export const staleWarning = (waiver: Waiver) =>
  `warning: stale waiver ${waiver.at}: fingerprint ${waiver.fingerprint}${waiver.rule ? ` (${waiver.rule})` : ""} matched no finding; remove it`
