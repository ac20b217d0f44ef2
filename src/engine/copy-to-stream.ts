/**
 * `COPY ... TO STDOUT` as a Node readable of the COPY data, without a Buffer per row.
 *
 * pg-copy-streams' `to()` takes over the connection's socket and strips the protocol framing
 * (a `CopyData` message, `d` + int32 length, per row); its parser cuts each row out as a Buffer
 * slice and then concatenates the slices of a socket chunk into a new Buffer: two allocations
 * and two copies per row. This subclass keeps everything else of it (taking over and handing
 * back the socket, errors, the row count) and replaces only that parser: each socket chunk is
 * compacted in place (every row's bytes moved left over the headers before it, by
 * `copyWithin`) and passed on as one view. No allocation per row, one move per row.
 *
 * Relies on pg-copy-streams 7's internals (`_parse` is called with each socket chunk; `_buffer`
 * holds what is handed back to pg on `_detach`); the tests of every COPY path run through it.
 */
import { to as copyTo } from "pg-copy-streams"

const COPY_DATA = 0x64
const ERROR_RESPONSE = 0x45
/** Messages that may come between CopyData messages; anything else ends copy-out mode. */
const INTERSPERSED = new Set([0x48 /* CopyOutResponse */, 0x53 /* ParameterStatus */, 0x4e /* NoticeResponse */, 0x41 /* NotificationResponse */])

const CODE = 0
const LENGTH = 1
const BODY = 2

type CopyToStream = ReturnType<typeof copyTo>

interface Internals {
  _buffer: { push: (chunk: Buffer) => void }
  _detach: () => void
  _cleanup: () => void
  push: (chunk: Buffer | null) => boolean
}

const Base = Object.getPrototypeOf(copyTo("")).constructor as new (text: string) => CopyToStream

class CompactingCopyToStream extends Base {
  private state = CODE
  private code = 0
  private lengthBytes = 0
  private length = 0
  private remaining = 0

  /** One socket chunk: rows moved to its front, passed on as one view. Returns whether to keep reading. */
  _parse(chunk: Buffer): boolean {
    const self = this as unknown as Internals
    const end = chunk.length
    let i = 0
    let out = 0
    let done = false
    while (i < end) {
      if (this.state === CODE) {
        const code = chunk[i]!
        if (code === ERROR_RESPONSE) {
          // pg parses the error (and what follows) itself; the stream then fails with it.
          if (out > 0) self.push(chunk.subarray(0, out))
          self._buffer.push(chunk.subarray(i))
          self._detach()
          return false
        }
        this.code = code
        this.state = LENGTH
        this.lengthBytes = 0
        this.length = 0
        i++
      } else if (this.state === LENGTH) {
        while (this.lengthBytes < 4 && i < end) {
          this.length = this.length * 256 + chunk[i++]!
          this.lengthBytes++
        }
        if (this.lengthBytes === 4) {
          this.remaining = this.length - 4
          this.state = BODY
        }
      } else {
        const n = Math.min(this.remaining, end - i)
        if (this.code === COPY_DATA && n > 0) {
          if (out !== i) chunk.copyWithin(out, i, i + n)
          out += n
        }
        i += n
        this.remaining -= n
      }
      if (this.state === BODY && this.remaining === 0) {
        this.state = CODE
        if (this.code !== COPY_DATA && !INTERSPERSED.has(this.code)) {
          // CopyDone (or anything else): the rest belongs to pg (CommandComplete, ReadyForQuery).
          done = true
          break
        }
      }
    }
    const drained = out > 0 ? self.push(chunk.subarray(0, out)) : true
    if (done) {
      if (i < end) self._buffer.push(chunk.subarray(i))
      self._detach()
      self.push(null)
      self._cleanup()
    }
    return drained
  }
}

/** A `COPY ... TO STDOUT` query for `client.query`, readable as the COPY data. */
export const copyToStream = (sql: string): CopyToStream => new CompactingCopyToStream(sql)
