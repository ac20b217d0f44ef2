/**
 * The row codec of the data plane: turns the byte chunks of a source's `COPY ... TO STDOUT`
 * into batches of rows for the stages, and the batches back into bytes for the target's
 * `COPY ... FROM STDIN`, in the same format (binary or text).
 *
 * Drive it like this, one codec per table stream, all synchronous:
 *
 *   const codec = makeCopyCodec("binary", table, touched)   // touched: column indexes stages declared
 *   for (const chunk of sourceChunks) {
 *     const batch = codec.push(chunk)                         // undefined until a whole row is in
 *     if (batch === undefined) continue
 *     for (const stage of stages) stage.process(batch)        // getText / setText / drop
 *     send(batch.encode())                                    // call once per batch, before the next push
 *   }
 *   send(codec.end())                                         // binary: header if no row came, and the trailer
 *   codec.counts                                              // rows in / out, bytes in / out
 *
 * Each stage should see `restrictColumns(batch, table, itsColumns)` (row-batch.ts), so it can
 * touch only what it declared; push returns the same batch object every time, so one view per
 * stage, made on the first batch, serves the whole table. For text format the source session must run with
 * CANONICAL_SESSION_SETTINGS (binary-values.ts), so fields read as binary's converters print them.
 *
 * Chunks may split anywhere (inside the binary header, a length word, a UTF-8 character). Each
 * push makes one batch of the chunk's complete rows; a row that straddles two chunks is
 * assembled in a small buffer, every other row stays a view of its chunk. A batch nobody
 * changed or dropped a row of encodes to views of the original bytes; otherwise to one new
 * buffer. Chunks must not be mutated after being pushed: encoded output may be views of them.
 */
import { Buffer } from "node:buffer"
import { BinaryFraming } from "./copy-binary.ts"
import { TextFraming } from "./copy-text.ts"
import { HarnessError } from "./errors.ts"
import { ChunkBatch, type FieldFormat } from "./row-batch.ts"
import type { RowBatch, StageTable } from "./stage.ts"

export type CopyFormat = "binary" | "text"

/** One pushed chunk's rows. Valid until the next `push` or `end`. */
export interface CopyBatch extends RowBatch {
  /** The bytes for the target (views of the source chunks when nothing changed). Call exactly once. */
  readonly encode: () => ReadonlyArray<Uint8Array>
}

export interface CopyCounts {
  readonly rowsIn: number
  readonly rowsOut: number
  readonly bytesIn: number
  readonly bytesOut: number
}

export interface CopyCodec {
  readonly format: CopyFormat
  /** Feed the next chunk; returns its complete rows as a batch, or undefined when there is none. */
  readonly push: (chunk: Uint8Array) => CopyBatch | undefined
  /** The source ended: returns the last bytes for the target; throws if the data stopped mid-row. */
  readonly end: () => ReadonlyArray<Uint8Array>
  readonly counts: CopyCounts
}

/** How a COPY format frames rows in a stream; implemented by BinaryFraming and TextFraming. */
export interface CopyFraming extends FieldFormat {
  /** Bytes the target receives before the first row and after the last. */
  readonly header: Uint8Array
  readonly trailer: Uint8Array
  /** Whether the source's end-of-data marker has been scanned. */
  readonly ended: boolean
  /** Length of the source's preamble in `bytes[0, length)`, or undefined until it can be told. */
  readonly preambleLength: (bytes: Buffer, length: number) => number | undefined
  /** Length of the row (or end marker) that began in `carry` and goes on in `chunk` at `start`; -1 if it does not end there. */
  readonly unitLength: (carry: Buffer, carryLength: number, chunk: Buffer, start: number) => number
  /** Record the complete rows from `start` on; returns the offset just after the last one. */
  readonly scan: (batch: ChunkBatch, bytes: Buffer, start: number) => number
}

const EMPTY = new Uint8Array(0)

const asBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)

/**
 * A codec for one table stream. `touched` holds the indexes (in `table.columns`) of every column
 * any stage declared; only those can be read or written. For binary, each touched column must
 * satisfy `hasBinaryTextCodec` (binary-values.ts), else use text format for the table.
 */
export const makeCopyCodec = (format: CopyFormat, table: StageTable, touched: ReadonlySet<number>): CopyCodec => {
  const framing: CopyFraming = format === "binary" ? new BinaryFraming(table, touched) : new TextFraming(table, touched)
  const batch = new ChunkBatch(table, touched, framing)
  let carry = Buffer.allocUnsafe(1024)
  let carryLength = 0
  let preambleDone = false
  let headerSent = false
  let awaitingEncode = false
  let ended = false
  let rowsIn = 0
  let rowsOut = 0
  let bytesIn = 0
  let bytesOut = 0

  const fail = (message: string) =>
    new HarnessError({ reason: "CopyFailed", message: `COPY of ${table.schema}.${table.name}: ${message}` })

  const keep = (bytes: Buffer, start: number) => {
    const needed = carryLength + bytes.length - start
    if (needed > carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, carry.length * 2))
      carry.copy(grown, 0, 0, carryLength)
      carry = grown
    }
    bytes.copy(carry, carryLength, start)
    carryLength = needed
  }

  /** The target's header the first time, then nothing. */
  const takeHeader = (): Uint8Array => {
    if (headerSent) return EMPTY
    headerSent = true
    return framing.header
  }

  const encode = (): ReadonlyArray<Uint8Array> => {
    if (!awaitingEncode) throw fail("encode() called twice for one batch, or without a batch")
    awaitingEncode = false
    const pieces: Array<Uint8Array> = []
    const header = takeHeader()
    if (batch.unchanged) {
      if (header.length > 0) pieces.push(header)
      if (batch.headRows > 0) pieces.push(batch.head!)
      if (batch.rowCount > batch.headRows) {
        pieces.push(batch.body!.subarray(batch.rowStart[batch.headRows]!, batch.rowEnd[batch.rowCount - 1]!))
      }
    } else if (batch.keptRows > 0) {
      pieces.push(batch.encodeChanged(header))
    } else if (header.length > 0) {
      pieces.push(header)
    }
    rowsOut += batch.keptRows
    for (const piece of pieces) bytesOut += piece.length
    return pieces
  }
  const copyBatch: CopyBatch = Object.assign(batch, { encode })

  const push = (chunk: Uint8Array): CopyBatch | undefined => {
    if (awaitingEncode) throw fail("push() before the previous batch was encoded")
    if (ended) throw fail("push() after end()")
    bytesIn += chunk.length
    let bytes = asBuffer(chunk)
    let start = 0
    if (!preambleDone) {
      if (carryLength === 0) {
        const length = framing.preambleLength(bytes, bytes.length)
        if (length === undefined || length > bytes.length) {
          keep(bytes, 0)
          return undefined
        }
        start = length
      } else {
        keep(bytes, 0)
        const length = framing.preambleLength(carry, carryLength)
        if (length === undefined || length > carryLength) return undefined
        // The header arrived in pieces: what follows it continues as if it were a fresh chunk.
        bytes = Buffer.from(carry.subarray(length, carryLength))
        carryLength = 0
      }
      preambleDone = true
    }
    if (framing.ended) {
      if (start < bytes.length) throw fail("data after the end-of-data marker")
      return undefined
    }
    let head: Buffer | undefined
    if (carryLength > 0) {
      const length = framing.unitLength(carry, carryLength, bytes, start)
      if (length < 0) {
        keep(bytes, start)
        return undefined
      }
      head = Buffer.allocUnsafe(length)
      carry.copy(head, 0, 0, carryLength)
      bytes.copy(head, carryLength, start, start + length - carryLength)
      start += length - carryLength
      carryLength = 0
      if (carry.length > 1 << 20) carry = Buffer.allocUnsafe(1024)
    }
    batch.reset(head, bytes)
    if (head !== undefined) {
      framing.scan(batch, head, 0)
      batch.headRows = batch.rowCount
    }
    const scanned = framing.ended ? start : framing.scan(batch, bytes, start)
    if (framing.ended) {
      if (scanned < bytes.length) throw fail("data after the end-of-data marker")
    } else if (scanned < bytes.length) {
      keep(bytes, scanned)
    }
    if (batch.rowCount === 0) return undefined
    rowsIn += batch.rowCount
    awaitingEncode = true
    return copyBatch
  }

  const end = (): ReadonlyArray<Uint8Array> => {
    if (awaitingEncode) throw fail("end() before the last batch was encoded")
    if (ended) throw fail("end() called twice")
    ended = true
    if (carryLength > 0) throw fail(preambleDone ? "the data ended inside a row" : "the data ended inside the header")
    if (format === "binary" && !framing.ended) throw fail("the data ended without the end-of-data marker")
    const pieces: Array<Uint8Array> = []
    const header = takeHeader()
    if (header.length > 0) pieces.push(header)
    if (framing.trailer.length > 0) pieces.push(framing.trailer)
    for (const piece of pieces) bytesOut += piece.length
    return pieces
  }

  return {
    format,
    push,
    end,
    counts: {
      get rowsIn() {
        return rowsIn
      },
      get rowsOut() {
        return rowsOut
      },
      get bytesIn() {
        return bytesIn
      },
      get bytesOut() {
        return bytesOut
      }
    }
  }
}
