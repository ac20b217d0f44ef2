/**
 * PostgreSQL's binary COPY format for the row codec: finding rows and fields in the bytes, and
 * writing replaced fields back in binary through the per-type converters of binary-values.ts.
 *
 * Layout: an 11-byte signature `PGCOPY\n\377\r\n\0`, int32 flags, int32 header-extension length
 * and the extension; then per tuple an int16 field count and per field an int32 length (-1 =
 * NULL) and that many bytes; then the trailer, an int16 -1. The target gets a fresh header
 * without extension, the rows, and the trailer.
 */
import type { Buffer } from "node:buffer"
import type { ByteWriter } from "./byte-writer.ts"
import { columnCodec, type ValueCodec } from "./binary-values.ts"
import type { CopyFraming } from "./copy-codec.ts"
import { HarnessError } from "./errors.ts"
import { type ChunkBatch, touchedSlots } from "./row-batch.ts"
import type { StageTable } from "./stage.ts"

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]
const HEADER_LENGTH = 19
export const BINARY_HEADER = Uint8Array.of(...SIGNATURE, 0, 0, 0, 0, 0, 0, 0, 0)
export const BINARY_TRAILER = Uint8Array.of(0xff, 0xff)

const int32 = (b: Uint8Array, p: number) => (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!

const malformed = (table: StageTable, detail: string) =>
  new HarnessError({ reason: "CopyFailed", message: `binary COPY data of ${table.schema}.${table.name} is malformed: ${detail}` })

export class BinaryFraming implements CopyFraming {
  readonly binary = true
  readonly valuePrefix = 4
  readonly nullLength = 0
  readonly header = BINARY_HEADER
  readonly trailer = BINARY_TRAILER
  ended = false
  private readonly table: StageTable
  private readonly codecs: Array<ValueCodec> = []

  constructor(table: StageTable, touched: ReadonlySet<number>) {
    this.table = table
    for (const column of touchedSlots(table, touched)) {
      const stageColumn = table.columns[column]!
      const codec = columnCodec(stageColumn)
      if (codec === undefined) {
        throw new HarnessError({
          reason: "Internal",
          message: `${table.schema}.${table.name}.${stageColumn.name}: no binary converter for type ${stageColumn.type}; stream this table in text format`
        })
      }
      this.codecs.push(codec)
    }
  }

  readonly preambleLength = (bytes: Buffer, length: number): number | undefined => {
    for (let i = 0; i < Math.min(length, SIGNATURE.length); i++) {
      if (bytes[i] !== SIGNATURE[i]) throw malformed(this.table, "missing PGCOPY signature")
    }
    if (length < HEADER_LENGTH) return undefined
    const flags = int32(bytes, 11)
    if ((flags & (1 << 16)) !== 0) throw malformed(this.table, "rows carry OIDs")
    if (flags >>> 16 !== 0) throw malformed(this.table, "unknown critical header flags")
    const extension = int32(bytes, 15)
    if (extension < 0) throw malformed(this.table, "negative header extension length")
    return HEADER_LENGTH + extension
  }

  readonly unitLength = (carry: Buffer, carryLength: number, chunk: Buffer, start: number): number => {
    const available = carryLength + chunk.length - start
    const at = (i: number) => (i < carryLength ? carry[i]! : chunk[start + i - carryLength]!)
    const word = (i: number) => (at(i) << 24) | (at(i + 1) << 16) | (at(i + 2) << 8) | at(i + 3)
    if (available < 2) return -1
    const count = ((at(0) << 24) | (at(1) << 16)) >> 16
    if (count === -1) return 2
    let q = 2
    for (let c = 0; c < count; c++) {
      if (q + 4 > available) return -1
      q += 4 + Math.max(word(q), 0)
    }
    return q <= available ? q : -1
  }

  readonly scan = (batch: ChunkBatch, b: Buffer, start: number): number => {
    const end = b.length
    const columns = this.table.columns.length
    const slotOf = batch.slotOf
    const slotCount = batch.slotCount
    let p = start
    while (p + 2 <= end) {
      const count = ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16
      if (count === -1) {
        this.ended = true
        return p + 2
      }
      if (count !== columns) throw malformed(this.table, `a row has ${count} fields, the table ${columns} columns`)
      batch.reserveRow()
      const base = batch.rowCount * slotCount
      const starts = batch.fieldStart
      const lengths = batch.fieldLength
      let q = p + 2
      for (let c = 0; c < columns; c++) {
        if (q + 4 > end) return p
        const length = int32(b, q)
        q += 4
        const slot = slotOf[c]!
        if (slot >= 0) {
          starts[base + slot] = q
          lengths[base + slot] = length
        }
        if (length > 0) q += length
        else if (length < -1) throw malformed(this.table, `field length ${length}`)
      }
      if (q > end) return p
      batch.commitRow(p, q)
      p = q
    }
    return p
  }

  readonly decode = (slot: number, bytes: Buffer, start: number, length: number): string =>
    this.codecs[slot]!.decode(bytes, start, length)

  readonly writeField = (out: ByteWriter, slot: number, value: string | null): void => {
    if (value === null) {
      out.i32(-1)
      return
    }
    const at = out.pos
    out.i32(0)
    this.codecs[slot]!.encode(value, out)
    out.patchI32(at, out.pos - at - 4)
  }
}
