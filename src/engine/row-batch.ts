/**
 * The rows of one pushed COPY chunk as a `RowBatch`, kept as offsets into the original bytes.
 *
 * A batch never copies or decodes a row it is not asked about: the format's scanner records each
 * row's byte range and, for the columns some stage declared ("touched" columns, numbered by slot
 * in column order), each field's value offset and length in typed arrays reused from batch to
 * batch. `getText` decodes one field on demand (and caches it, since masking, detection and the
 * audit digest read the same fields); `setText` and `drop` only record intent. `encode` then
 * rebuilds just the changed rows: unchanged runs of rows and the raw bytes between replaced fields
 * are copied as they are, and only replaced fields go through the format's `writeField`.
 *
 * At most one row (the one that straddled the previous chunk's end) lives in a separate "head"
 * buffer; every other row is a view of the pushed chunk itself.
 */
import type { Buffer } from "node:buffer"
import { ByteWriter } from "./byte-writer.ts"
import { HarnessError } from "./errors.ts"
import type { BinaryMask } from "./plugin.ts"
import { REWRITE_CHANGED, REWRITE_DROPPED, REWRITE_NULL, REWRITE_UNCHANGED, type RowBatch, type StageTable } from "./stage.ts"

/** What a COPY format contributes to a batch: decoding and writing one field. */
export interface FieldFormat {
  /** Binary COPY (fields are length-prefixed binary values) rather than text. */
  readonly binary: boolean
  /** Bytes before a field's value (binary: the length word). */
  readonly valuePrefix: number
  /** Bytes a NULL field occupies after its prefix (text: `\N`). */
  readonly nullLength: number
  /** Text form of a touched field's value bytes. */
  readonly decode: (slot: number, bytes: Buffer, start: number, length: number) => string
  /** Write a replacement field, prefix included. */
  readonly writeField: (out: ByteWriter, slot: number, value: string | null) => void
}

/** Touched column indexes in ascending order: position = slot. */
export const touchedSlots = (table: StageTable, touched: ReadonlySet<number>): Int32Array => {
  for (const column of touched) {
    if (!Number.isInteger(column) || column < 0 || column >= table.columns.length) {
      throw new HarnessError({ reason: "Internal", message: `${table.schema}.${table.name} has no column ${column}` })
    }
  }
  return Int32Array.from([...touched].sort((a, b) => a - b))
}

const DECODED = 1
const SET = 2
/** Rewritten in binary: the new value bytes are `rewritten[rawStart, rawStart + rawLength)`. */
const RAW = 3
/** RAW, and its text decoded into `values` (still encoded from the raw bytes). */
const DECODED_RAW = 4
const CHANGED = 1
const DROPPED = 2

export class ChunkBatch implements RowBatch {
  rowCount = 0
  /** Rows `[0, headRows)` live in `head`, the rest in `body`. */
  headRows = 0
  head: Buffer | undefined
  body: Buffer | undefined
  /** Column index -> slot, or -1 when no stage touches the column. */
  readonly slotOf: Int32Array
  readonly slotCount: number
  rowStart: Int32Array
  rowEnd: Int32Array
  /** Per row and slot (`row * slotCount + slot`): value offset and length (-1 = NULL). */
  fieldStart: Int32Array
  fieldLength: Int32Array
  private capacity: number
  private state: Uint8Array
  /** Decoded or set values, same index as fieldStart; cleared per batch so no string outlives it. */
  private values: Array<string | null>
  /** Binary values written by `rewriteBinary` this batch, addressed by rawStart / rawLength. */
  private readonly rewritten = new ByteWriter(64 * 1024)
  private rawStart: Int32Array
  private rawLength: Int32Array
  private rowFlags: Uint8Array
  private changedRows = 0
  private droppedRows = 0
  private readonly table: StageTable
  private readonly format: FieldFormat
  private readonly slotColumns: Int32Array

  constructor(table: StageTable, touched: ReadonlySet<number>, format: FieldFormat) {
    this.table = table
    this.format = format
    this.slotColumns = touchedSlots(table, touched)
    this.slotCount = this.slotColumns.length
    this.slotOf = new Int32Array(table.columns.length).fill(-1)
    this.slotColumns.forEach((column, slot) => (this.slotOf[column] = slot))
    this.capacity = 1024
    this.rowStart = new Int32Array(this.capacity)
    this.rowEnd = new Int32Array(this.capacity)
    this.fieldStart = new Int32Array(this.capacity * this.slotCount)
    this.fieldLength = new Int32Array(this.capacity * this.slotCount)
    this.state = new Uint8Array(this.capacity * this.slotCount)
    this.values = new Array<string | null>(this.capacity * this.slotCount).fill(null)
    this.rawStart = new Int32Array(this.capacity * this.slotCount)
    this.rawLength = new Int32Array(this.capacity * this.slotCount)
    this.rowFlags = new Uint8Array(this.capacity)
  }

  get binary(): boolean {
    return this.format.binary
  }

  /** Start a new batch over these buffers. */
  reset(head: Buffer | undefined, body: Buffer): void {
    this.state.fill(0, 0, this.rowCount * this.slotCount)
    this.values.fill(null, 0, this.rowCount * this.slotCount)
    this.rowFlags.fill(0, 0, this.rowCount)
    this.rowCount = 0
    this.headRows = 0
    this.head = head
    this.body = body
    this.changedRows = 0
    this.droppedRows = 0
    this.rewritten.pos = 0
  }

  /** Make room for one more row; scanners call it before writing the row's fields. */
  reserveRow(): void {
    if (this.rowCount < this.capacity) return
    const capacity = this.capacity * 2
    const grow = <T extends Int32Array | Uint8Array>(array: T, size: number): T => {
      const grown = new (array.constructor as new (n: number) => T)(size)
      grown.set(array)
      return grown
    }
    this.rowStart = grow(this.rowStart, capacity)
    this.rowEnd = grow(this.rowEnd, capacity)
    this.fieldStart = grow(this.fieldStart, capacity * this.slotCount)
    this.fieldLength = grow(this.fieldLength, capacity * this.slotCount)
    this.state = grow(this.state, capacity * this.slotCount)
    this.values.length = capacity * this.slotCount
    this.values.fill(null, this.capacity * this.slotCount)
    this.rawStart = grow(this.rawStart, capacity * this.slotCount)
    this.rawLength = grow(this.rawLength, capacity * this.slotCount)
    this.rowFlags = grow(this.rowFlags, capacity)
    this.capacity = capacity
  }

  /** The row whose fields were just recorded spans `[start, end)`. */
  commitRow(start: number, end: number): void {
    // A scanner that records no field (nothing touched) may not have reserved the row.
    if (this.rowCount >= this.capacity) this.reserveRow()
    this.rowStart[this.rowCount] = start
    this.rowEnd[this.rowCount] = end
    this.rowCount++
  }

  get keptRows(): number {
    return this.rowCount - this.droppedRows
  }

  get unchanged(): boolean {
    return this.changedRows === 0 && this.droppedRows === 0
  }

  // RowBatch ------------------------------------------------------------------------------------

  readonly isNull = (row: number, column: number): boolean => {
    const i = this.fieldIndex(row, column)
    const state = this.state[i]
    return state === SET ? this.values[i] === null : state === RAW || state === DECODED_RAW ? false : this.fieldLength[i]! < 0
  }

  readonly getText = (row: number, column: number): string | null => {
    const i = this.fieldIndex(row, column)
    const state = this.state[i]
    if (state === RAW) {
      // A later reader (the proof reading a masked key, a detector) sees the rewritten value.
      const value = this.format.decode(this.slotOf[column]!, this.rewritten.buf, this.rawStart[i]!, this.rawLength[i]!)
      this.values[i] = value
      this.state[i] = DECODED_RAW
      return value
    }
    if (state !== 0) return this.values[i]!
    const length = this.fieldLength[i]!
    const bytes = row < this.headRows ? this.head! : this.body!
    const value = length < 0 ? null : this.format.decode(this.slotOf[column]!, bytes, this.fieldStart[i]!, length)
    this.values[i] = value
    this.state[i] = DECODED
    return value
  }

  readonly setText = (row: number, column: number, value: string | null): void => {
    const i = this.fieldIndex(row, column)
    if (typeof value !== "string" && value !== null) {
      throw new TypeError(`setText(${row}, ${this.columnName(column)}): value must be a string or null`)
    }
    if (value === null && this.table.columns[column]!.notNull) {
      throw new HarnessError({
        reason: "SchemaMismatch",
        message: `${this.columnName(column)} is NOT NULL; a stage tried to set it to NULL`
      })
    }
    this.values[i] = value
    this.state[i] = SET
    if ((this.rowFlags[row]! & CHANGED) === 0) {
      this.rowFlags[row]! |= CHANGED
      this.changedRows++
    }
  }

  readonly rewriteBinary = (row: number, column: number, mask: BinaryMask): number => {
    const i = this.fieldIndex(row, column)
    if (!this.format.binary) {
      throw new HarnessError({ reason: "Internal", message: `${this.columnName(column)}: rewriteBinary on a table in text format` })
    }
    return this.rewriteField(row, i, column, mask)
  }

  readonly rewriteColumnBinary = (column: number, mask: BinaryMask, results: Uint8Array): void => {
    const slot = this.slotFor(column)
    if (!this.format.binary) {
      throw new HarnessError({ reason: "Internal", message: `${this.columnName(column)}: rewriteColumnBinary on a table in text format` })
    }
    if (results.length < this.rowCount) throw new RangeError(`results holds ${results.length} entries for a batch of ${this.rowCount} rows`)
    const rows = this.rowCount
    const slots = this.slotCount
    const flags = this.rowFlags
    for (let row = 0; row < rows; row++) {
      results[row] = (flags[row]! & DROPPED) !== 0 ? REWRITE_DROPPED : this.rewriteField(row, row * slots + slot, column, mask)
    }
  }

  /** The field at index `i` (of `row`) replaced by what `mask` appends; a `REWRITE_*` code. */
  private rewriteField(row: number, i: number, column: number, mask: BinaryMask): number {
    const state = this.state[i]
    if (state === SET) {
      throw new HarnessError({ reason: "Internal", message: `${this.columnName(column)}: rewriteBinary after setText` })
    }
    const out = this.rewritten
    let bytes: Uint8Array
    let start: number
    let length: number
    if (state === RAW || state === DECODED_RAW) {
      bytes = out.buf
      start = this.rawStart[i]!
      length = this.rawLength[i]!
    } else {
      length = this.fieldLength[i]!
      if (length < 0) return REWRITE_NULL
      bytes = row < this.headRows ? this.head! : this.body!
      start = this.fieldStart[i]!
    }
    const at = out.pos
    mask(bytes, start, length, out)
    // `out` may have grown into a new buffer: a RAW input is read from the one mask was given.
    const written = out.pos - at
    let same = written === length
    if (same) {
      const result = out.buf
      for (let k = 0; k < length; k++) {
        if (result[at + k] !== bytes[start + k]) {
          same = false
          break
        }
      }
    }
    this.rawStart[i] = at
    this.rawLength[i] = written
    this.state[i] = RAW
    this.values[i] = null
    if ((this.rowFlags[row]! & CHANGED) === 0) {
      this.rowFlags[row]! |= CHANGED
      this.changedRows++
    }
    return same ? REWRITE_UNCHANGED : REWRITE_CHANGED
  }

  readonly originalText = (row: number, column: number): string | null => {
    const i = this.fieldIndex(row, column)
    const state = this.state[i]
    if (state === DECODED) return this.values[i]!
    const length = this.fieldLength[i]!
    if (length < 0) return null
    return this.format.decode(this.slotOf[column]!, row < this.headRows ? this.head! : this.body!, this.fieldStart[i]!, length)
  }

  readonly drop = (row: number): void => {
    this.checkRow(row)
    if ((this.rowFlags[row]! & DROPPED) === 0) {
      this.rowFlags[row]! |= DROPPED
      this.droppedRows++
    }
  }

  readonly isDropped = (row: number): boolean => {
    this.checkRow(row)
    return (this.rowFlags[row]! & DROPPED) !== 0
  }

  // Encoding --------------------------------------------------------------------------------------

  /**
   * The batch's rows without the dropped ones and with set fields replaced, into a fresh buffer
   * (the caller still holds views of earlier output, so nothing is reused).
   */
  encodeChanged(prefix: Uint8Array): Uint8Array {
    const bodyBytes = this.rowCount > this.headRows ? this.rowEnd[this.rowCount - 1]! - this.rowStart[this.headRows]! : 0
    const size = prefix.length + (this.headRows > 0 ? this.head!.length : 0) + bodyBytes
    const out = new ByteWriter(size + (size >> 3) + 64)
    out.bytes(prefix, 0, prefix.length)
    const { valuePrefix, nullLength } = this.format
    let runBuffer: Buffer | undefined
    let runStart = 0
    let runEnd = 0
    let slot = -1
    try {
      for (let row = 0; row < this.rowCount; row++) {
        const buffer = row < this.headRows ? this.head! : this.body!
        const start = this.rowStart[row]!
        const end = this.rowEnd[row]!
        const flags = this.rowFlags[row]!
        if (flags === 0) {
          if (runBuffer === buffer && runEnd === start) {
            runEnd = end
          } else {
            if (runBuffer !== undefined) out.bytes(runBuffer, runStart, runEnd)
            runBuffer = buffer
            runStart = start
            runEnd = end
          }
          continue
        }
        if (runBuffer !== undefined) out.bytes(runBuffer, runStart, runEnd)
        runBuffer = undefined
        if ((flags & DROPPED) !== 0) continue
        let copied = start
        for (slot = 0; slot < this.slotCount; slot++) {
          const i = row * this.slotCount + slot
          const state = this.state[i]
          if (state !== SET && state !== RAW && state !== DECODED_RAW) continue
          const valueStart = this.fieldStart[i]!
          const length = this.fieldLength[i]!
          out.bytes(buffer, copied, valueStart - valuePrefix)
          if (state === SET) {
            this.format.writeField(out, slot, this.values[i]!)
          } else {
            const rawLength = this.rawLength[i]!
            out.i32(rawLength)
            out.bytes(this.rewritten.buf, this.rawStart[i]!, this.rawStart[i]! + rawLength)
          }
          copied = valueStart + (length < 0 ? nullLength : length)
        }
        slot = -1
        out.bytes(buffer, copied, end)
      }
    } catch (cause) {
      if (slot < 0) throw cause
      const column = this.table.columns[this.slotColumns[slot]!]!
      throw new HarnessError({
        reason: "CopyFailed",
        message: `${this.columnName(this.slotColumns[slot]!)} (${column.type}): ${(cause as Error).message}`,
        cause
      })
    }
    if (runBuffer !== undefined) out.bytes(runBuffer, runStart, runEnd)
    return out.result()
  }

  // ---------------------------------------------------------------------------------------------

  private fieldIndex(row: number, column: number): number {
    this.checkRow(row)
    return row * this.slotCount + this.slotFor(column)
  }

  private slotFor(column: number): number {
    const slot = this.slotOf[column] ?? -1
    if (slot < 0) {
      throw new HarnessError({
        reason: "Internal",
        message: `${this.columnName(column)} was read or written but no stage declared it`
      })
    }
    return slot
  }

  private checkRow(row: number): void {
    if (!(row >= 0 && row < this.rowCount && Number.isInteger(row))) {
      throw new RangeError(`row ${row} is outside this batch of ${this.rowCount} rows`)
    }
  }

  private columnName(column: number): string {
    const name = this.table.columns[column]?.name ?? `#${column}`
    return `${this.table.schema}.${this.table.name}.${name}`
  }
}

/**
 * A view of `batch` that lets a stage read and write only the columns it declared, as the
 * `RowBatch` contract promises. One view per stage and table is enough: the codec's `push`
 * returns the same (refilled) batch object for every chunk, and the view reads through to it.
 */
export const restrictColumns = (batch: RowBatch, table: StageTable, columns: ReadonlySet<number>): RowBatch => {
  const allowed = new Uint8Array(table.columns.length)
  for (const column of columns) allowed[column] = 1
  const check = (column: number) => {
    if (allowed[column] !== 1) {
      const name = table.columns[column]?.name ?? `#${column}`
      throw new HarnessError({
        reason: "Internal",
        message: `${table.schema}.${table.name}.${name} was read or written by a stage that did not declare it`
      })
    }
  }
  return {
    get rowCount() {
      return batch.rowCount
    },
    isNull: (row, column) => {
      check(column)
      return batch.isNull(row, column)
    },
    getText: (row, column) => {
      check(column)
      return batch.getText(row, column)
    },
    get binary() {
      return batch.binary
    },
    rewriteBinary: (row, column, mask) => {
      check(column)
      return batch.rewriteBinary(row, column, mask)
    },
    rewriteColumnBinary: (column, mask, results) => {
      check(column)
      batch.rewriteColumnBinary(column, mask, results)
    },
    originalText: (row, column) => {
      check(column)
      return batch.originalText(row, column)
    },
    setText: (row, column, value) => {
      check(column)
      batch.setText(row, column, value)
    },
    drop: (row) => batch.drop(row),
    isDropped: (row) => batch.isDropped(row)
  }
}
