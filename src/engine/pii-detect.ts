/**
 * Column decisions for PII detection, shared by `detect-pii` (sampled rows of a live database,
 * pii-scan.ts) and `propagate --mask-pii` (rows as they stream, pii-stream.ts).
 *
 * A column is never labelled by one value. Every `detect` plugin compiled for the column tests
 * each sampled non-NULL value (`ColumnScan.add`, the hot loop: plain counters, no allocation per
 * value beyond the distinct-value set); the decision (`ColumnScan.decide`) then needs a share of
 * validated hits that depends on how much one hit proves (checksum < format < shape) and on what
 * the column's name or type says (strong < weak < none). Look-alike columns are held to a strong
 * name signal: integer keys (primary, foreign, identity, serial), columns of UUIDs, hex digests or
 * epoch timestamps, and low-cardinality codes. Free text is searched inside (`find`): two or more
 * rows with a validated entity flag the column; a single one is reported but does not block.
 *
 * Reports never hold a value: the example is masked by the detector (`j***@e***.com`).
 */
import * as Effect from "effect/Effect"
import type { Catalog, Column, Table } from "./catalog.ts"
import { nameTokens } from "./column-names.ts"
import type { HarnessError } from "./errors.ts"
import { finding, type Finding } from "./findings.ts"
import { familyOf, isEpochLike, isHexDigest, isUuidLike, looksLikeText, maskExample } from "./pii-kit.ts"
import type { ColumnDetector, DetectColumn, DetectContext, Detector, NameSignal, Plugin } from "./plugin.ts"
import { instantiate } from "./plugin-host.ts"
import { stageColumn } from "./propagate-plan.ts"

/** Regions tried for national-format phone numbers and postal codes, most common first. */
export const DEFAULT_REGIONS: ReadonlyArray<string> = [
  "US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "IE", "SE", "DK", "NO", "FI", "PL", "PT", "BR", "MX", "AU", "IN", "JP", "GR", "RU"
]

export type Confidence = "high" | "medium" | "low"

export interface NamedDetector {
  /** The plugin's name, e.g. `detect-email`. */
  readonly plugin: string
  readonly detector: Detector
}

/** Every `detect` plugin among `plugins`, made with default options. */
export const makeDetectors = (
  plugins: ReadonlyArray<Plugin>,
  context: DetectContext = { regions: DEFAULT_REGIONS }
): Effect.Effect<ReadonlyArray<NamedDetector>, HarnessError> =>
  Effect.forEach(
    plugins.filter((plugin) => plugin.kind === "detect"),
    (plugin) => Effect.map(instantiate(plugin, "detect", {}, context, `detector ${plugin.name}`), (detector) => ({ plugin: plugin.name, detector }))
  )

/** The share of hits a column needs, by what one hit proves and by what the column's name says. */
export const THRESHOLDS: Readonly<Record<Detector["evidence"], Readonly<Record<NameSignal, number>>>> = {
  checksum: { none: 0.5, weak: 0.3, strong: 0.2 },
  format: { none: 0.6, weak: 0.4, strong: 0.2 },
  shape: { none: 0.8, weak: 0.6, strong: 0.4 }
}
/** A detector that found nothing in this many values of a column stops testing it. */
const GIVE_UP_AFTER = 200
/** At most this many distinct values are remembered per column (for the cardinality filter). */
const DISTINCT_CAP = 4096
/** With at least this many values, a column of at most max(3, 2%) distinct values is a code. */
const LOW_CARDINALITY_MIN_VALUES = 50

/** How a column that is a key is treated: integer keys are identifiers, never personal numbers by their look. */
export interface ColumnFacts {
  /** An integer (or numeric) column in a primary key or a foreign key, or an identity/serial column. */
  readonly integerKey: boolean
}

export interface ColumnDecision {
  readonly table: string
  readonly column: string
  readonly type: string
  readonly entity: string
  /** The detector plugin that decided. */
  readonly detector: string
  readonly confidence: Confidence
  /** Share of sampled non-NULL values that hold the entity. */
  readonly ratio: number
  readonly hits: number
  /** Non-NULL values looked at. */
  readonly sampled: number
  readonly signal: NameSignal
  readonly evidence: Detector["evidence"]
  /** Found inside free text or JSON rather than as whole values. */
  readonly inText: boolean
  /** One hit, masked. */
  readonly example: string
  /** Other entities the column's values also matched, weaker. */
  readonly alsoMatched: ReadonlyArray<string>
}

interface Tally {
  readonly plugin: string
  readonly detector: Detector
  readonly compiled: ColumnDetector
  strong: number
  weak: number
  text: number
  textDistinct: Set<string>
  tested: number
  active: boolean
  example: string | undefined
  textExample: string | undefined
}

/** One column's running scan: feed values with `add`, then `decide`. */
export interface ColumnScan {
  readonly column: DetectColumn
  readonly add: (value: string) => void
  /** Values seen so far (non-NULL). */
  readonly seen: () => number
  readonly decide: () => ColumnDecision | undefined
}

/** A catalog column as detectors see it. */
export const detectColumn = (catalog: Catalog, table: Table, column: Column): DetectColumn => ({
  ...stageColumn(column, catalog),
  table: `${table.schema}.${table.name}`,
  words: nameTokens(column.name),
  tableWords: nameTokens(table.name)
})

/** Is the column an integer key (PK, FK, identity or serial)? */
export const isIntegerKey = (table: Table, column: Column, detect: DetectColumn): boolean => {
  const family = familyOf(detect)
  if (family !== "integer" && family !== "numeric") return false
  if (column.identity !== null || (column.default ?? "").startsWith("nextval(")) return true
  if (table.primaryKey?.columns.includes(column.name) === true) return true
  return table.foreignKeys.some((fk) => fk.columns.includes(column.name))
}

const rank = { strong: 2, weak: 1, none: 0 } as const
const evidenceRank = { checksum: 2, format: 1, shape: 0 } as const
const confidenceRank = { high: 2, medium: 1, low: 0 } as const

/**
 * Compile every detector for a column; undefined when none applies (a boolean, a bytea, ...).
 * The returned scan's `add` is the hot loop.
 */
export const columnScan = (
  detectors: ReadonlyArray<NamedDetector>,
  column: DetectColumn,
  facts: ColumnFacts
): ColumnScan | undefined => {
  const tallies: Array<Tally> = []
  for (const { plugin, detector } of detectors) {
    const compiled = detector.compile(column)
    if (compiled === undefined) continue
    // An integer key is an identifier: only a column whose name says otherwise is tested.
    if (facts.integerKey && compiled.signal !== "strong") continue
    tallies.push({
      plugin,
      detector,
      compiled,
      strong: 0,
      weak: 0,
      text: 0,
      textDistinct: new Set(),
      tested: 0,
      active: true,
      example: undefined,
      textExample: undefined
    })
  }
  if (tallies.length === 0) return undefined
  let seen = 0
  let uuids = 0
  let digests = 0
  let epochs = 0
  const distinct = new Set<string>()
  const numericFamily = familyOf(column) === "integer" || familyOf(column) === "numeric"

  const add = (raw: string) => {
    seen++
    if (distinct.size < DISTINCT_CAP) distinct.add(raw)
    const value = raw
    if (isUuidLike(value)) uuids++
    else if (isHexDigest(value)) digests++
    else if ((numericFamily || value.length === 10 || value.length === 13) && isEpochLike(value)) epochs++
    const text = looksLikeText(value)
    for (let i = 0; i < tallies.length; i++) {
      const t = tallies[i]!
      if (!t.active) continue
      t.tested++
      const hit = t.compiled.test(value)
      if (hit === 2) {
        t.strong++
        t.example ??= value
      } else if (hit === 1) {
        t.weak++
        if (t.compiled.signal !== "none") t.example ??= value
      } else if (text && t.compiled.find !== undefined) {
        const found = t.compiled.find(value)
        if (found !== undefined) {
          t.text++
          if (t.textDistinct.size < 16) t.textDistinct.add(found)
          t.textExample ??= found
        }
      }
      if (t.tested >= GIVE_UP_AFTER && t.strong + t.weak + t.text === 0) t.active = false
    }
  }

  const decide = (): ColumnDecision | undefined => {
    if (seen === 0) return undefined
    const lookAlike = uuids * 2 >= seen || digests * 2 >= seen || epochs * 2 >= seen
    const lowCardinality = seen >= LOW_CARDINALITY_MIN_VALUES && distinct.size <= Math.max(3, Math.floor(seen * 0.02))
    const candidates: Array<ColumnDecision> = []
    for (const t of tallies) {
      const signal = t.compiled.signal
      const evidence = t.detector.evidence
      const mask = t.detector.maskExample ?? maskExample
      const base = {
        table: column.table,
        column: column.name,
        type: column.type,
        entity: t.detector.entity,
        detector: t.plugin,
        sampled: seen,
        signal,
        evidence,
        alsoMatched: [] as ReadonlyArray<string>
      }
      const guarded = (lookAlike || lowCardinality) && signal !== "strong"
      const hits = t.strong + (signal !== "none" ? t.weak : 0)
      const ratio = hits / seen
      if (!guarded && hits >= Math.min(3, seen) && ratio >= THRESHOLDS[evidence][signal] && t.example !== undefined) {
        const high = (evidence !== "shape" && ratio >= 0.8) || (signal === "strong" && ratio >= 0.6)
        candidates.push({ ...base, confidence: high ? "high" : "medium", ratio, hits, inText: false, example: mask(t.example) })
        continue
      }
      // Inside free text: entities with a checksum or a strict format only (a name-like word in a
      // sentence proves nothing). Two distinct findings flag the column; one is reported, low.
      if (t.text > 0 && evidence !== "shape" && t.textExample !== undefined && !lowCardinality) {
        const confidence: Confidence = t.textDistinct.size >= 2 ? (t.text / seen >= 0.05 ? "high" : "medium") : "low"
        candidates.push({ ...base, confidence, ratio: t.text / seen, hits: t.text, inText: true, example: mask(t.textExample) })
      }
    }
    if (candidates.length === 0) return undefined
    candidates.sort(
      (a, b) =>
        confidenceRank[b.confidence] - confidenceRank[a.confidence] ||
        Number(a.inText) - Number(b.inText) ||
        rank[b.signal] - rank[a.signal] ||
        evidenceRank[b.evidence] - evidenceRank[a.evidence] ||
        b.ratio - a.ratio
    )
    const [best, ...rest] = candidates
    return { ...best!, alsoMatched: rest.map((c) => c.entity) }
  }

  return { column, add, seen: () => seen, decide }
}

const percent = (ratio: number) => (ratio >= 0.995 || ratio === 0 ? `${Math.round(ratio * 100)}%` : ratio < 0.01 ? `${(ratio * 100).toFixed(2)}%` : `${(ratio * 100).toFixed(1)}%`)

/** A column decision as a finding (`pii/<entity>`): blocking (`breaking`) unless its confidence is low. */
export const decisionFinding = (decision: ColumnDecision): Finding => {
  const dot = decision.table.indexOf(".")
  const schema = decision.table.slice(0, dot)
  const table = decision.table.slice(dot + 1)
  const where = decision.inText ? "inside" : "as"
  return finding({
    rule: `pii/${decision.entity}`,
    severity: decision.confidence === "low" ? "hazard" : "breaking",
    object: { kind: "column", schema, table, column: decision.column },
    before: null,
    after: null,
    message:
      `${decision.entity} ${where} ${percent(decision.ratio)} of ${decision.sampled} sampled values ` +
      `(${decision.hits} hit${decision.hits === 1 ? "" : "s"}; confidence ${decision.confidence}; name signal ${decision.signal}; e.g. ${decision.example})`,
    hint: decision.confidence === "low"
      ? "one value only: check the column; a single hit does not label a whole column"
      : "mask this column (a masking rule) or, if it is not personal data, record why",
    details: {
      entity: decision.entity,
      ratio: Number(decision.ratio.toFixed(4)),
      hits: decision.hits,
      sampled: decision.sampled,
      confidence: decision.confidence,
      signal: decision.signal,
      evidence: decision.evidence,
      inText: decision.inText,
      example: decision.example,
      detector: decision.detector,
      type: decision.type,
      ...(decision.alsoMatched.length > 0 ? { alsoMatched: decision.alsoMatched } : {})
    }
  })
}

export interface PiiVerdict {
  readonly status: "pii" | "clean"
  /** Findings that block: every `breaking` one. */
  readonly blocking: ReadonlyArray<Finding>
}

/**
 * The verdict over all findings, whatever produced them: the column scan here, and any other
 * check that appends its own `pii/...` findings (the proof after masking). PII is found when any
 * finding is `breaking`.
 */
export const piiVerdict = (findings: ReadonlyArray<Finding>): PiiVerdict => {
  const blocking = findings.filter((f) => f.severity === "breaking")
  return { status: blocking.length > 0 ? "pii" : "clean", blocking }
}
