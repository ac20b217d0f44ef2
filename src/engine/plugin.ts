/**
 * The public plugin API. A plugin is one `.ts` or `.js` file whose default export is made by
 * `definePlugin({ name, kind, options, make })`; built-in plugins (src/plugins) are written the
 * same way. The host decodes the plugin's options with its Effect Schema once, at load, and calls
 * `make` once; whatever `make` returns (the hooks of that kind) is what the engine calls later.
 *
 * This module is what plugin authors import (`db-harness/plugin`); it re-exports `Schema` so a
 * plugin file needs no other dependency.
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Catalog } from "./catalog.ts"
import type { HarnessError } from "./errors.ts"
import type { Finding } from "./findings.ts"
import type { StageColumn } from "./stage.ts"

export { Schema }

export type PluginKind = "mask" | "detect" | "subset" | "gate" | "sink"

/** A column as a masking strategy sees it when it is compiled for that column. */
export interface MaskColumn extends StageColumn {
  /** `schema.table`. */
  readonly table: string
  /** `n` of `varchar(n)` / `char(n)` (of the element type for arrays), or null when unbounded. */
  readonly maxLength: number | null
  /** Part of a primary key or unique constraint (directly or through a foreign key). */
  readonly unique: boolean
}

/** What the host gives a masking strategy's `make`. */
export interface MaskContext {
  /** Whether a masking key (DB_HARNESS_MASK_KEY) was given; without one, runs are random. */
  readonly keyed: boolean
  /**
   * A keyed 64-bit pseudo-random function of `value`, separated by `purpose` (use the strategy
   * name and anything else that should give unrelated outputs). Same key, purpose and value:
   * same result, in every table and run. Without a key, a random per-run key is used.
   */
  readonly prf: (purpose: string, value: string) => bigint
  /**
   * `prf` of the UTF-8 text in `bytes[start, end)`: the same result as `prf(purpose, text)`, for
   * binary masking functions that hash a value's bytes without making a string of them.
   */
  readonly prfBytes: (purpose: string, bytes: Uint8Array, start: number, end: number) => bigint
  /**
   * `prfBytes` without a bigint: the result's low and high 32-bit halves are written to
   * `into[0]` and `into[1]` (`(into[1] * 2 ** 21 + (into[0] >>> 11)) / 2 ** 53` is a float in [0, 1)).
   * For binary masking functions, where a bigint per value is an allocation per value.
   */
  readonly prfBytesInto: (purpose: string, bytes: Uint8Array, start: number, end: number, into: Uint32Array) => void
  /** Locale for generated data, e.g. `en`, `de`, `fr` (rule option or DB_HARNESS_MASK_LOCALE). */
  readonly locale: string
  /**
   * Another masking strategy, by name, made with `options` as a rule would give them (decoded
   * by that strategy's schema), in this same context: for strategies that delegate, such as
   * `json` masking values inside documents. Throws an Error naming the strategy and the bad
   * option. Optional: without it, delegating strategies refuse to start.
   */
  readonly strategy?: (name: string, options: unknown) => MaskStrategy
}

/** The hooks a `mask` plugin's `make` returns: one masking strategy. */
export interface MaskStrategy {
  /** Same input, same output (under the same key): joins on masked columns keep working. */
  readonly deterministic: boolean
  /**
   * The output is a code derived from the input value (a keyed hash, a fake chosen by the value),
   * so one person gets the same code everywhere. HIPAA Safe Harbor (§164.514(c)) forbids such
   * codes, so profiles that say `deterministic_allowed: false` refuse these strategies. Constants
   * (null, redact) and generalisations (a date's year) are not such codes. Absent: same as
   * `deterministic`.
   */
  readonly pseudonymous?: boolean
  /** Distinct inputs give distinct outputs, guaranteed: allowed on primary-key and unique columns. */
  readonly unique: boolean
  /** May return NULL for a non-NULL input (then it cannot mask a NOT NULL column). */
  readonly mayReturnNull: boolean
  /** Why this strategy cannot mask `column` (wrong type, too long for it, ...), or undefined. */
  readonly check?: (column: MaskColumn) => string | undefined
  /**
   * Compile the masking function for one column, once. The function is the per-row hot loop: it
   * gets a non-NULL value in PostgreSQL's text form (for arrays: one element at a time) and
   * returns the masked text, or null for NULL. NULL inputs stay NULL without calling it.
   */
  readonly compile: (column: MaskColumn) => (value: string) => string | null
  /**
   * Optional fast path: the masking function for one column over PostgreSQL's binary form of its
   * type, used when the table travels in binary COPY (no text conversion in JavaScript, so the
   * target's COPY parses binary, which is cheaper than text). Undefined, or returning undefined
   * for a column, means the text `compile` is used. It must give exactly the value `compile`
   * gives, so that a column masks alike in every table whatever format each table travels in.
   * Never called for NULL or for arrays; it cannot return NULL.
   */
  readonly compileBinary?: (column: MaskColumn) => BinaryMask | undefined
}

/**
 * Appends bytes: what a binary masking function writes its output value to (integers big-endian,
 * as PostgreSQL's binary formats have them). The engine's own writer implements it.
 */
export interface BinaryWriter {
  u8(value: number): void
  i16(value: number): void
  i32(value: number): void
  /** A 64-bit integer given as a safe JS integer. */
  i64n(value: number): void
  i64(value: bigint): void
  f64(value: number): void
  bytes(source: Uint8Array, start: number, end: number): void
  /** `text` as UTF-8; returns the bytes written. */
  utf8(text: string): number
  /** `text` known to be ASCII, one byte per character. */
  ascii(text: string): void
}

/**
 * A compiled binary masking function: the value's binary form is `bytes[start, start + length)`
 * (without its length word); append the masked value's binary form to `out`.
 */
export type BinaryMask = (bytes: Uint8Array, start: number, length: number, out: BinaryWriter) => void

/** A read-only query on a live database, rows as plain objects; gates use it for data-aware checks. */
export type GateQuery = (sql: string) => Effect.Effect<ReadonlyArray<Record<string, unknown>>, HarnessError>

/** One database a gate looks at: its schema, and a query function when it is live (null for a snapshot file). */
export interface GateSide {
  /** How the user named it (environment name, redacted URL or file path): for messages only. */
  readonly label: string
  readonly catalog: Catalog
  readonly query: GateQuery | null
}

/** What a gate is run on: TARGET always, SOURCE for gates that compare two databases. */
export interface GateInput {
  readonly source: GateSide | null
  readonly target: GateSide
}

/**
 * The hooks a `gate` plugin's `make` returns. A gate returns findings (data), never fails for
 * what it finds; it fails only when it cannot check (bad input, a query error).
 */
export interface GateHooks {
  readonly run: (input: GateInput) => Effect.Effect<ReadonlyArray<Finding>, HarnessError>
}

/** A column as a PII detector sees it when it is compiled for that column. */
export interface DetectColumn extends StageColumn {
  /** `schema.table`. */
  readonly table: string
  /** The column's name as lower-case words: `homePhoneNumber` → `home phone number`, `cc_num` → `cc num`. */
  readonly words: ReadonlyArray<string>
  /** The table's name as lower-case words (`customer_account` → `customer account`). */
  readonly tableWords: ReadonlyArray<string>
}

/**
 * How a column's name or type speaks for an entity: `strong` (`email`, `ssn`, an `inet` column),
 * `weak` (`contact`, `name` in a person table), `none`. A signal never flags a column by itself;
 * it lowers how many validated values are needed, and lets look-alike values count (`weak` hits).
 */
export type NameSignal = "strong" | "weak" | "none"

/**
 * What one value says, from the per-value test:
 * - `0`: not the entity;
 * - `1`: a look-alike that counts only when the column's name or type also says so (nine bare
 *   digits for an SSN, a five-digit postal code, a word that could be a first name);
 * - `2`: validated on its own (an address with a real domain, a number passing its checksum and
 *   issuer rules, a phone number valid for its region).
 */
export type DetectHit = 0 | 1 | 2

/** A detector compiled for one column: plain synchronous functions for the scan's hot loop. */
export interface ColumnDetector {
  readonly signal: NameSignal
  /** The whole value (PostgreSQL text form, never NULL) is the entity. */
  readonly test: (value: string) => DetectHit
  /**
   * For entities that hide inside free text or JSON (`notes`, `payload`): the first validated
   * occurrence in `text`, or undefined. Present only when the column can hold free text.
   */
  readonly find?: (text: string) => string | undefined
}

/**
 * The hooks a `detect` plugin's `make` returns: one kind of personal data. Like a masking
 * strategy, it is compiled once per column into plain functions; the scanner then calls `test` on
 * sampled values and decides per column from the share of hits (pii-detect.ts).
 */
export interface Detector {
  /** The entity, e.g. `email`; findings are reported under the rule `pii/<entity>`. */
  readonly entity: string
  /**
   * How much one validated value proves: `checksum` (random look-alikes pass rarely: Luhn about
   * 1 in 10, IBAN 1 in 97, so a high share of hits is not chance), `format` (a strict structure
   * checked by a parser: e-mail, phone, IP), `shape` (plausible but common: names, postal codes).
   * The share of hits a column needs rises from checksum to shape.
   */
  readonly evidence: "checksum" | "format" | "shape"
  /** Masks a value for the report's example (`j***@e***.com`); the raw value is never shown. */
  readonly maskExample?: (value: string) => string
  /** Compile for one column, once; undefined when the entity cannot be in this column (its type). */
  readonly compile: (column: DetectColumn) => ColumnDetector | undefined
}

/** What the host gives a detector's `make`. */
export interface DetectContext {
  /**
   * Countries (ISO 3166 alpha-2) whose national formats are tried for numbers written without a
   * country code (phone numbers, postal codes), most likely first.
   */
  readonly regions: ReadonlyArray<string>
}

export interface HooksByKind {
  readonly mask: MaskStrategy
  readonly detect: Detector
  readonly subset: unknown
  readonly gate: GateHooks
  readonly sink: unknown
}

export interface ContextByKind {
  readonly mask: MaskContext
  readonly detect: DetectContext
  readonly subset: unknown
  readonly gate: unknown
  readonly sink: unknown
}

const PLUGIN = Symbol.for("db-harness/plugin")

export interface Plugin<K extends PluginKind = PluginKind, Options = unknown> {
  readonly [PLUGIN]: true
  /** Unique name, as rules refer to it (e.g. `email`, `my-company-mask`). */
  readonly name: string
  readonly kind: K
  readonly description?: string
  /**
   * Decodes the plugin's options (for a mask: the rule's keys besides table/column/strategy).
   * A plain-object plugin file written without imports has no Schema at hand and may leave it
   * out: the host then treats it as taking no options (`optionsSchemaOf`).
   */
  readonly options: Schema.Decoder<Options>
  readonly make: (options: Options, context: ContextByKind[K]) => HooksByKind[K]
}

export const definePlugin = <K extends PluginKind, Options>(definition: {
  readonly name: string
  readonly kind: K
  readonly description?: string
  readonly options: Schema.Decoder<Options>
  readonly make: (options: Options, context: ContextByKind[K]) => HooksByKind[K]
}): Plugin<K, Options> => ({ [PLUGIN]: true, ...definition })

/** The options of a plugin that declares no schema: none at all, any key is refused by name. */
const NO_OPTIONS: Schema.Decoder<Readonly<Record<string, unknown>>> = Schema.Record(Schema.String, Schema.Unknown).check(
  Schema.makeFilter((input) =>
    Object.keys(input).map((key) => ({ path: [key], issue: `unknown option "${key}"; this plugin takes no options` }))
  )
)

/** The schema the host decodes a plugin's options with: its own, or "no options" when it has none. */
export const optionsSchemaOf = (plugin: Plugin): Schema.Decoder<unknown> =>
  (plugin.options as Schema.Decoder<unknown> | undefined) ?? NO_OPTIONS

/**
 * Is `value` a plugin? Made by `definePlugin` (any copy of this module), or a plain object of the
 * same shape, so a plugin file may also be written without importing anything.
 */
export const isPlugin = (value: unknown): value is Plugin => {
  if (typeof value !== "object" || value === null) return false
  const candidate = value as Record<PropertyKey, unknown>
  if (candidate[PLUGIN] === true) return true
  return typeof candidate["name"] === "string" && typeof candidate["kind"] === "string" && typeof candidate["make"] === "function"
}
