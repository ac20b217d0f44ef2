/**
 * PostgreSQL's text COPY format for the row codec: finding rows and fields in the bytes, and
 * unescaping / escaping the fields stages read and write.
 *
 * Rows end with `\n` and fields are separated by `\t`; neither byte occurs unescaped inside a
 * field (and UTF-8 never uses them inside a multi-byte character), so boundaries are found by
 * scanning bytes, without decoding. `\N` is NULL. PostgreSQL writes `\\`, `\b`, `\f`, `\n`, `\r`,
 * `\t` and `\v`, and reads those plus octal `\NNN`, hex `\xNN` and `\` before any other character.
 * Field values are the type output functions' text, so the source session must use
 * CANONICAL_SESSION_SETTINGS for them to match what the binary format's converters print.
 */
import { Buffer } from "node:buffer"
import { type ByteWriter, decodeUtf8 } from "./byte-writer.ts"
import type { CopyFraming } from "./copy-codec.ts"
import { HarnessError } from "./errors.ts"
import type { ChunkBatch } from "./row-batch.ts"
import type { StageTable } from "./stage.ts"

const TAB = 0x09
const NEWLINE = 0x0a
const BACKSLASH = 0x5c
const EMPTY = new Uint8Array(0)

const NEEDS_ESCAPE = /[\\\b\f\n\r\t\v]/
const ESCAPABLE = /[\\\b\f\n\r\t\v]/g
const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"
}

const hexValue = (c: number) =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1

export class TextFraming implements CopyFraming {
  readonly binary = false
  readonly valuePrefix = 0
  readonly nullLength = 2
  readonly header = EMPTY
  readonly trailer = EMPTY
  readonly ended = false
  private readonly table: StageTable
  /** Highest touched column: fields after it need not be split, only the row's end found. */
  private readonly lastTouched: number
  private scratch = Buffer.allocUnsafe(256)

  constructor(table: StageTable, touched: ReadonlySet<number>) {
    this.table = table
    this.lastTouched = Math.max(-1, ...touched)
  }

  readonly preambleLength = (): number => 0

  readonly unitLength = (_carry: Buffer, carryLength: number, chunk: Buffer, start: number): number => {
    const newline = chunk.indexOf(NEWLINE, start)
    return newline < 0 ? -1 : carryLength + newline - start + 1
  }

  readonly scan = (batch: ChunkBatch, b: Buffer, start: number): number => {
    const end = b.length
    const last = this.lastTouched
    const lastColumn = this.table.columns.length - 1
    const slotOf = batch.slotOf
    const slotCount = batch.slotCount
    let p = start
    while (p < end) {
      let q = p
      if (last >= 0) {
        batch.reserveRow()
        const base = batch.rowCount * slotCount
        const starts = batch.fieldStart
        const lengths = batch.fieldLength
        for (let column = 0; ; column++) {
          const fieldStart = q
          let c = 0
          while (q < end && (c = b[q]!) !== TAB && c !== NEWLINE) q++
          if (q === end) return p
          const slot = slotOf[column]!
          if (slot >= 0) {
            const length = q - fieldStart
            starts[base + slot] = fieldStart
            lengths[base + slot] = length === 2 && b[fieldStart] === BACKSLASH && b[fieldStart + 1] === 0x4e ? -1 : length
          }
          if (c === NEWLINE) {
            if (column !== lastColumn) throw this.malformed(`a row has ${column + 1} fields, the table ${lastColumn + 1} columns`)
            break
          }
          if (column === lastColumn) throw this.malformed(`a row has more fields than the table's ${lastColumn + 1} columns`)
          q++
          if (column === last) {
            q = b.indexOf(NEWLINE, q)
            if (q < 0) return p
            break
          }
        }
      } else {
        q = b.indexOf(NEWLINE, p)
        if (q < 0) return p
      }
      batch.commitRow(p, q + 1)
      p = q + 1
    }
    return p
  }

  readonly decode = (_slot: number, bytes: Buffer, start: number, length: number): string => {
    const text = decodeUtf8(bytes, start, start + length)
    return text.includes("\\") ? this.unescape(bytes, start, length) : text
  }

  readonly writeField = (out: ByteWriter, _slot: number, value: string | null): void => {
    if (value === null) {
      out.u8(BACKSLASH)
      out.u8(0x4e)
    } else if (NEEDS_ESCAPE.test(value)) {
      out.utf8(value.replace(ESCAPABLE, (c) => ESCAPES[c]!))
    } else {
      out.utf8(value)
    }
  }

  /** PostgreSQL's CopyReadAttributesText, on bytes (octal and hex escapes make raw bytes). */
  private unescape(b: Buffer, start: number, length: number): string {
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(length * 2)
    const out = this.scratch
    const end = start + length
    let n = 0
    for (let p = start; p < end; ) {
      const c = b[p++]!
      if (c !== BACKSLASH || p === end) {
        out[n++] = c
        continue
      }
      const e = b[p++]!
      if (e >= 0x30 && e <= 0x37) {
        let value = e - 0x30
        for (let k = 0; k < 2 && p < end && b[p]! >= 0x30 && b[p]! <= 0x37; k++) value = (value << 3) + b[p++]! - 0x30
        out[n++] = value & 0xff
      } else if (e === 0x78 && p < end && hexValue(b[p]!) >= 0) {
        let value = hexValue(b[p++]!)
        if (p < end && hexValue(b[p]!) >= 0) value = (value << 4) + hexValue(b[p++]!)
        out[n++] = value
      } else {
        out[n++] = e === 0x62 ? 0x08 : e === 0x66 ? 0x0c : e === 0x6e ? 0x0a : e === 0x72 ? 0x0d : e === 0x74 ? 0x09 : e === 0x76 ? 0x0b : e
      }
    }
    return decodeUtf8(out, 0, n)
  }

  private malformed(detail: string) {
    return new HarnessError({
      reason: "CopyFailed",
      message: `text COPY data of ${this.table.schema}.${this.table.name} is malformed: ${detail}`
    })
  }
}
