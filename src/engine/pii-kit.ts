/**
 * The detector plugins' kit, as mask-kit.ts is the masking strategies': column-name signals from
 * name words, column type families, the checksums national numbers carry (Luhn, ISO 7064 mod-97,
 * NHS mod-11, SSN area/group/serial rules, UK NINO prefixes, French INSEE key), look-alike
 * shapes that must never count (UUIDs, hex digests, epoch timestamps, repeated digits) and the
 * masking of a report's example value. Everything here is a plain synchronous function: detectors
 * call it in the scan's hot loop.
 */
import { matchesNamePattern, nameTokens } from "./column-names.ts"
import type { DetectColumn, NameSignal } from "./plugin.ts"

/** Words of a pattern written like a name (`date of birth`, `dateOfBirth`, `date_of_birth`). */
const words = (pattern: string) => nameTokens(pattern)

export interface NamePatterns {
  /** Any of these word runs in the column name: a strong signal (`email`, `e mail`). */
  readonly strong: ReadonlyArray<string>
  /** Any of these: a weak signal (`contact`, `login`). */
  readonly weak?: ReadonlyArray<string>
  /** Any of these words in the column name: the detector does not apply (`app_version` is no IP column). */
  readonly veto?: ReadonlyArray<string>
}

/**
 * A name-signal function from patterns, compiled once per detector. Patterns match whole words of
 * the column name, so `temp` is not in `template` and `mail` is not in `mailbox`. A veto word
 * means the name says the column is something else (`app_version`, `email_template`): then the
 * result is undefined and the detector does not apply to the column at all.
 */
export const nameSignal = (patterns: NamePatterns): ((column: DetectColumn) => NameSignal | undefined) => {
  const strong = patterns.strong.map(words)
  const weak = (patterns.weak ?? []).map(words)
  const veto = (patterns.veto ?? []).map(words)
  return (column) => {
    const tokens = column.words
    if (veto.some((p) => matchesNamePattern(tokens, p))) return undefined
    if (strong.some((p) => matchesNamePattern(tokens, p))) return "strong"
    if (weak.some((p) => matchesNamePattern(tokens, p))) return "weak"
    return "none"
  }
}

/** The stronger of two signals. */
export const strongerSignal = (a: NameSignal, b: NameSignal): NameSignal =>
  a === "strong" || b === "strong" ? "strong" : a === "weak" || b === "weak" ? "weak" : "none"

/** Type families a detector decides on (the base type, without modifiers; arrays by element). */
export type DetectFamily = "text" | "json" | "integer" | "numeric" | "date" | "timestamp" | "inet" | "mac" | "uuid" | "other"

export const familyOf = (column: DetectColumn): DetectFamily => {
  const type = column.baseType
  if (/^(text|character varying|character|varchar|char|bpchar|citext|name)$/.test(type)) return "text"
  if (type === "json" || type === "jsonb") return "json"
  if (/^(smallint|integer|bigint|int2|int4|int8)$/.test(type)) return "integer"
  if (type === "numeric" || type === "decimal") return "numeric"
  if (type === "date") return "date"
  if (type.startsWith("timestamp")) return "timestamp"
  if (type === "inet" || type === "cidr") return "inet"
  if (type === "macaddr" || type === "macaddr8") return "mac"
  if (type === "uuid") return "uuid"
  return "other"
}

/** Can a value of this column be free text or a document that hides entities inside it? */
export const holdsFreeText = (column: DetectColumn): boolean => {
  const family = familyOf(column)
  return family === "text" || family === "json"
}

// ---------------------------------------------------------------------------------------------
// Checksums and number rules

/** Luhn (mod 10) over a string of digits. */
export const luhnValid = (digits: string): boolean => {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (d < 0 || d > 9) return false
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return digits.length > 0 && sum % 10 === 0
}

/** ISO 7064 mod 97-10 remainder of a string of digits (long inputs in pieces). */
export const mod97 = (digits: string): number => {
  let remainder = 0
  for (let i = 0; i < digits.length; i += 7) remainder = Number(`${remainder}${digits.slice(i, i + 7)}`) % 97
  return remainder
}

/** All digits the same (`0000000000`, `4444 4444 4444 4444`): test data or a placeholder, never a person. */
export const repeatedDigits = (digits: string): boolean => /^(\d)\1*$/.test(digits)

/** UK NHS number: 10 digits, weights 10..2, check = 11 - (sum mod 11), 10 is invalid, 11 means 0. */
export const nhsValid = (digits: string): boolean => {
  if (!/^\d{10}$/.test(digits) || repeatedDigits(digits)) return false
  let sum = 0
  for (let i = 0; i < 9; i++) sum += (digits.charCodeAt(i) - 48) * (10 - i)
  let check = 11 - (sum % 11)
  if (check === 11) check = 0
  return check !== 10 && check === digits.charCodeAt(9) - 48
}

/** Numbers the SSA used in advertising or that are published as examples: never a person's. */
const SSN_DENY = new Set(["078051120", "219099999", "123456789", "111111111", "999999999"])

/**
 * US SSN rules (there is no checksum): area not 000, 666 or 900–999; group not 00; serial not
 * 0000; not a published example. `digits` is the 9 digits without separators.
 */
export const ssnValid = (digits: string): boolean => {
  if (!/^\d{9}$/.test(digits) || SSN_DENY.has(digits) || repeatedDigits(digits)) return false
  const area = Number(digits.slice(0, 3))
  return area !== 0 && area !== 666 && area < 900 && digits.slice(3, 5) !== "00" && digits.slice(5) !== "0000"
}

/**
 * UK National Insurance number: two letters (not D, F, I, Q, U, V; second not O; not the
 * prefixes BG, GB, KN, NK, NT, TN, ZZ), six digits, suffix A–D. Spaces allowed.
 */
export const ninoValid = (value: string): boolean => {
  const v = value.replace(/\s+/g, "").toUpperCase()
  if (!/^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/.test(v)) return false
  return !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].includes(v.slice(0, 2))
}

/**
 * French INSEE / NIR (numéro de sécurité sociale): sex 1/2 (3, 4, 7, 8 for special cases), year,
 * month 01–12 (or 20–42, 50+ for unknown), department (2A/2B for Corsica), commune, order, and a
 * key of 97 − (number mod 97).
 */
export const inseeValid = (value: string): boolean => {
  const v = value.replace(/[\s.-]+/g, "").toUpperCase()
  const match = /^([1-478])(\d{2})(\d{2})(\d{2}|2A|2B)(\d{3})(\d{3})(\d{2})$/.exec(v)
  if (match === null) return false
  const month = Number(match[3])
  if (!((month >= 1 && month <= 12) || (month >= 20 && month <= 42) || month >= 50)) return false
  // Corsica's 2A / 2B count as 19 / 18 for the key.
  const body = v.slice(0, 13).replace("2A", "19").replace("2B", "18")
  const key = 97 - mod97(body)
  return key === Number(match[7])
}

// ---------------------------------------------------------------------------------------------
// Look-alikes

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i
/** A UUID (with or without dashes): an identifier made by a machine, not a person's number. */
export const isUuidLike = (value: string): boolean => value.length >= 32 && value.length <= 36 && UUID.test(value)

/** A hex digest (MD5, SHA-1, SHA-256, SHA-512) or a hex token of those lengths. */
export const isHexDigest = (value: string): boolean =>
  (value.length === 32 || value.length === 40 || value.length === 64 || value.length === 128) && /^[0-9a-f]+$/i.test(value)

/** Unix time in seconds or milliseconds between 2000 and 2040: a timestamp, whatever checksum it passes. */
export const isEpochLike = (digits: string): boolean => {
  if (digits.length === 10) {
    const n = Number(digits)
    return n >= 946_684_800 && n <= 2_208_988_800
  }
  if (digits.length === 13) {
    const n = Number(digits)
    return n >= 946_684_800_000 && n <= 2_208_988_800_000
  }
  return false
}

/** Only digits, optionally separated by single spaces, dashes or dots: `4111 1111-1111.1111` → `4111111111111111`. */
export const separatedDigits = (value: string): string | undefined => {
  if (!/^\d[\d .-]*\d$/.test(value) || /[ .-]{2}/.test(value)) return undefined
  return value.replace(/[ .-]/g, "")
}

// ---------------------------------------------------------------------------------------------
// Free text

/**
 * The first match of `candidate` in `text` that `validate` accepts: the way detectors look for an
 * entity inside notes or JSON. `candidate` must be a global regex; it is reset on every call.
 */
export const findValidated = (candidate: RegExp, text: string, validate: (match: string) => boolean): string | undefined => {
  candidate.lastIndex = 0
  for (let m = candidate.exec(text); m !== null; m = candidate.exec(text)) {
    const match = m[1] ?? m[0]
    if (validate(match)) return match
    if (m[0].length === 0) candidate.lastIndex++
  }
  return undefined
}

/** Free text worth scanning inside: long enough to hold an entity and something around it. */
export const looksLikeText = (value: string): boolean => value.length >= 12 && (value.includes(" ") || value.charCodeAt(0) === 123 || value.charCodeAt(0) === 91)

// ---------------------------------------------------------------------------------------------
// Examples in reports

/**
 * A value masked for a report: each run of letters or digits keeps its first character, the rest
 * becomes `*` (at most three), separators stay: `415-555-0132` → `4**-5**-0***`,
 * `Jane Doe` → `J*** D**`. Enough to recognise the kind of value, never the value.
 */
export const maskExample = (value: string): string => {
  const text = value.length > 60 ? `${value.slice(0, 60)}…` : value
  return text.replace(/[\p{L}\p{N}]+/gu, (run) => {
    const chars = [...run]
    return chars[0] + "*".repeat(Math.min(3, chars.length - 1))
  })
}

/** `jane.doe@example.org` → `j***@e***.org`. */
export const maskEmail = (value: string): string => {
  const at = value.lastIndexOf("@")
  if (at <= 0) return maskExample(value)
  const local = value.slice(0, at)
  const domain = value.slice(at + 1)
  const dot = domain.lastIndexOf(".")
  const host = dot > 0 ? domain.slice(0, dot) : domain
  const tld = dot > 0 ? domain.slice(dot) : ""
  return `${[...local][0]}***@${[...host][0] ?? ""}***${tld}`
}

// ---------------------------------------------------------------------------------------------
// National numbers

export interface IdentifierSpec {
  readonly entity: string
  readonly patterns: NamePatterns
  /** 2: validated by its checksum and format; 1: a look-alike that needs the column's name. */
  readonly test: (value: string, column: DetectColumn) => DetectHitValue
  /** Whether the number may be stored in integer or numeric columns (leading zeros then lost). */
  readonly numeric: boolean
  /** Candidates inside free text (a global regex), validated by `test` at level 2. */
  readonly candidate?: RegExp
  readonly evidence?: "checksum" | "format" | "shape"
}

type DetectHitValue = 0 | 1 | 2

/**
 * The hooks of a national-identifier detector (tax ids, social security numbers) from its spec:
 * the shape most of them share, so each country's plugin file holds only its rules.
 */
export const identifierDetector = (spec: IdentifierSpec) => {
  const signal = nameSignal(spec.patterns)
  return {
    entity: spec.entity,
    evidence: spec.evidence ?? "checksum",
    maskExample,
    compile: (column: DetectColumn) => {
      const family = familyOf(column)
      const textual = family === "text" || family === "json"
      if (!textual && !(spec.numeric && (family === "integer" || family === "numeric"))) return undefined
      const candidate = spec.candidate
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return {
        signal: columnSignal,
        test: (value: string) => spec.test(value.trim(), column),
        ...(textual && candidate !== undefined
          ? { find: (text: string) => findValidated(candidate, text, (match) => spec.test(match, column) === 2) }
          : {})
      }
    }
  }
}

/** Digits of a number stored in an integer column, padded back to `length` (leading zeros are lost there). */
export const padDigits = (value: string, column: DetectColumn, length: number): string => {
  const family = familyOf(column)
  return (family === "integer" || family === "numeric") && /^\d+$/.test(value) && value.length < length ? value.padStart(length, "0") : value
}
