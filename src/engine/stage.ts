/**
 * The stage interface: how subsetting filters, masking strategies and PII detectors plug into the
 * one streaming pass of `propagate`.
 *
 * A `Stage` is asked once per table whether it wants that table; if so it returns a `TableStage`
 * that declares the columns it reads or writes and a synchronous `process` function that sees
 * rows in batches (thousands at a time, never one Effect per row). Only the declared columns are
 * decoded; every other field passes through to the target as the original bytes.
 */
import type * as Effect from "effect/Effect"
import type { HarnessError } from "./errors.ts"
import type { BinaryMask } from "./plugin.ts"

/** A column as a stage sees it. `type` is PostgreSQL's `format_type` text, e.g. `character varying(80)`. */
export interface StageColumn {
  readonly name: string
  readonly type: string
  /** OID of the column's type in the source database. */
  readonly typeOid: number
  /** Base type's name when `type` is a domain or an array's element type, e.g. `text` for `text[]`. */
  readonly baseType: string
  readonly isArray: boolean
  readonly notNull: boolean
  /**
   * The base type is an enum (`pg_type.typtype = 'e'`). The binary row codec needs it because an
   * enum's binary form is its label, which no type name reveals; absent means not an enum.
   */
  readonly isEnum?: boolean
}

export interface StageTable {
  readonly schema: string
  readonly name: string
  /** The columns that are copied, in COPY order (generated columns are not copied). */
  readonly columns: ReadonlyArray<StageColumn>
}

/**
 * A batch of rows of one table. Row and column indexes are positions in the batch and in
 * `StageTable.columns`. Values are PostgreSQL's text output of the type (what `format('%s', col)`
 * prints with DateStyle ISO and TimeZone UTC; the same as `col::text` except that `::text` trims
 * `character(n)` padding and always adds `/32` to an `inet`), or `null` for SQL NULL. Reading or
 * writing a column the stage did not declare throws.
 */
export interface RowBatch {
  readonly rowCount: number
  readonly isNull: (row: number, column: number) => boolean
  readonly getText: (row: number, column: number) => string | null
  readonly setText: (row: number, column: number, value: string | null) => void
  /**
   * Whether the rows travel in binary COPY format. Only then does `rewriteBinary` work; a table
   * is kept in binary when every column a stage writes is in that stage's `binaryWrites` or is
   * text-like (its binary form is its UTF-8 text).
   */
  readonly binary: boolean
  /**
   * Binary format only: replace a field by what `mask` appends, given the field's current binary
   * value, without any text conversion. Returns `REWRITE_NULL` (the field is NULL; `mask` was not
   * called), `REWRITE_CHANGED`, or `REWRITE_UNCHANGED` (the output bytes equal the input's).
   */
  readonly rewriteBinary: (row: number, column: number, mask: BinaryMask) => number
  /**
   * `rewriteBinary` of `column` in every row of the batch, in order, with the checks made once
   * per call instead of once per row: `results[row]` gets each row's `REWRITE_*` code, or
   * `REWRITE_DROPPED` for a dropped row (not rewritten). `results` must hold `rowCount` entries.
   */
  readonly rewriteColumnBinary: (column: number, mask: BinaryMask, results: Uint8Array) => void
  /** The field's text as the source sent it, even after a stage set or rewrote it; null for NULL. */
  readonly originalText: (row: number, column: number) => string | null
  /** Leave the row out of the target. */
  readonly drop: (row: number) => void
  readonly isDropped: (row: number) => boolean
}

/** What `RowBatch.rewriteBinary` returns. */
export const REWRITE_NULL = 0
export const REWRITE_CHANGED = 1
export const REWRITE_UNCHANGED = 2
/** What `RowBatch.rewriteColumnBinary` puts in `results` for a dropped row. */
export const REWRITE_DROPPED = 3

export interface TableStage {
  /** Names of the columns this stage reads or writes; only these are decoded. */
  readonly columns: ReadonlyArray<string>
  /**
   * Of `columns`, those this stage only reads, never sets: such a column keeps the table in binary
   * format whenever it can be decoded from binary (decoding alone is cheap; re-encoding is not).
   */
  readonly readOnly?: ReadonlyArray<string>
  /**
   * Of `columns`, those this stage writes through `RowBatch.rewriteBinary` when the table travels
   * in binary format, so that they do not force the table into text format.
   */
  readonly binaryWrites?: ReadonlyArray<string>
  /** Called for each batch, in stream order; may change, drop or only look at rows. */
  readonly process: (batch: RowBatch) => void
  /** Called once after the table's last batch; what it returns is added to the evidence file. */
  readonly finish?: () => Effect.Effect<Readonly<Record<string, unknown>> | undefined, HarnessError>
}

export interface Stage {
  readonly name: string
  /** `undefined` when the stage has nothing to do for this table. */
  readonly forTable: (table: StageTable) => TableStage | undefined
}
