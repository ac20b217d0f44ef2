/**
 * The data plane for one table: `COPY ... TO STDOUT` on a source reader, through an Effect Stream
 * of byte chunks and the table's row transform (codec + stages), into `COPY ... FROM STDIN` on the
 * target, inside one target transaction that first empties the table. Backpressure runs end to
 * end: the target socket slows the Node writable, which stops pulling the Effect stream, which
 * stops reading the source socket. On any failure the target transaction is rolled back, so the
 * table keeps what it had; the error names the table.
 *
 * The target side is driven by `stream/promises.pipeline` into pg-copy-streams rather than by
 * `NodeSink.fromWritable`, which hangs when the COPY statement itself fails (effect4.md gotcha 2).
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import { pipeline } from "node:stream/promises"
import type pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import { copyToStream } from "./copy-to-stream.ts"
import { HarnessError } from "./errors.ts"

/** Bytes in, bytes out: the per-table codec with its stages. Runs synchronously per chunk. */
export interface RowTransform {
  /** Returns the bytes to send on, possibly several zero-copy pieces, or nothing yet. */
  readonly push: (chunk: Uint8Array) => ReadonlyArray<Uint8Array> | undefined
  readonly end: () => ReadonlyArray<Uint8Array> | undefined
  /** Rows seen and rows passed on so far (live, for progress). */
  readonly rowsIn: () => number
  readonly rowsOut: () => number
}

/** Live counters of one table, read by the progress display; written only by the copy. */
export interface TableProgress {
  rowsRead: number
  rowsWritten: number
  bytesRead: number
  bytesWritten: number
  startedAt: number | undefined
  finishedAt: number | undefined
  state: "waiting" | "copying" | "done" | "failed"
}

export const newTableProgress = (): TableProgress => ({
  rowsRead: 0,
  rowsWritten: 0,
  bytesRead: 0,
  bytesWritten: 0,
  startedAt: undefined,
  finishedAt: undefined,
  state: "waiting"
})

export interface TableCopySpec {
  /** Display name, e.g. `public.customer`. */
  readonly label: string
  readonly format: "binary" | "text"
  /**
   * One `COPY (SELECT ...) TO STDOUT` per range of the table, each read by its own snapshot
   * reader; one entry for a table that is not split.
   */
  readonly sourceCopySql: ReadonlyArray<string>
  /** Run in the target transaction before the COPY (e.g. `TRUNCATE ONLY tbl`). */
  readonly prepareSql: ReadonlyArray<string>
  /** `COPY tbl (cols) FROM STDIN (FORMAT ...)`. */
  readonly targetCopySql: string
  /** Run in the target transaction after the COPY, before COMMIT (e.g. re-enable triggers). */
  readonly finishSql: ReadonlyArray<string>
  readonly makeTransform: () => RowTransform
}

export interface TableCopyResult {
  readonly rowsRead: number
  readonly rowsWritten: number
  readonly bytesWritten: number
  /** SHA-256 of the COPY data sent to the target, in the order sent. */
  readonly digest: string
  readonly durationMs: number
}

const NOTHING: readonly [Uint8Array] = [new Uint8Array(0)]

/** Binary COPY's 19-byte header (signature, flags 0, no extension) and its trailer (field count -1). */
const BINARY_HEADER = Uint8Array.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])
const BINARY_TRAILER = Uint8Array.from([0xff, 0xff])

const describe = (cause: unknown): string => {
  const e = cause as { message?: string; code?: string }
  const text = e?.message ?? String(cause)
  return e?.code ? `${text} (SQLSTATE ${e.code})` : text
}

const failed = (label: string, side: string, cause: unknown) =>
  new HarnessError({
    reason: "CopyFailed",
    message: `table ${label} failed (${side}): ${describe(cause)}; the table was rolled back`,
    cause
  })

/** Drop the first `count` bytes of a sequence of pieces (a range's own binary header). */
const skipBytes = (pieces: ReadonlyArray<Uint8Array>, state: { remaining: number }): ReadonlyArray<Uint8Array> => {
  if (state.remaining === 0) return pieces
  const out: Array<Uint8Array> = []
  for (const piece of pieces) {
    if (state.remaining >= piece.byteLength) {
      state.remaining -= piece.byteLength
    } else {
      out.push(state.remaining > 0 ? piece.subarray(state.remaining) : piece)
      state.remaining = 0
    }
  }
  return out
}

/**
 * Copy one table. `sources` are snapshot readers, one per entry of `spec.sourceCopySql`; `target`
 * is a connection with no open transaction. A split table's ranges are read in parallel, each
 * through its own codec (so batches stay row-aligned), and merged into the one target COPY, so
 * the table is still loaded in a single transaction.
 */
export const copyTable = (
  sources: ReadonlyArray<pg.Client>,
  target: pg.Client,
  spec: TableCopySpec,
  progress: TableProgress
): Effect.Effect<TableCopyResult, HarnessError> =>
  Effect.gen(function* () {
    const started = Date.now()
    progress.state = "copying"
    progress.startedAt = started
    const digest = createHash("sha256")
    const split = spec.sourceCopySql.length > 1
    const transforms = spec.sourceCopySql.map(() => spec.makeTransform())
    const updateRows = () => {
      let rowsIn = 0
      let rowsOut = 0
      for (const t of transforms) {
        rowsIn += t.rowsIn()
        rowsOut += t.rowsOut()
      }
      progress.rowsRead = rowsIn
      progress.rowsWritten = rowsOut
    }
    const emit = (pieces: ReadonlyArray<Uint8Array> | undefined, out: Array<Uint8Array>) => {
      if (pieces === undefined) return
      for (const bytes of pieces) {
        if (bytes.byteLength === 0) continue
        digest.update(bytes)
        progress.bytesWritten += bytes.byteLength
        out.push(bytes)
      }
    }

    let sourceError: unknown
    const rangeStream = (index: number) => {
      const transform = transforms[index]!
      // A range of a split binary table drops its own header and trailer; the merged stream
      // gets one of each.
      const header = { remaining: split && spec.format === "binary" ? BINARY_HEADER.byteLength : 0 }
      return NodeStream.fromReadable<Uint8Array, HarnessError>({
        evaluate: () => {
          const stream = sources[index]!.query(copyToStream(spec.sourceCopySql[index]!))
          // After the stream is given up (the target failed first), closing the connection still
          // makes it emit 'error'; the cause that matters was already reported.
          stream.on("error", () => {})
          return stream
        },
        onError: (cause) => {
          sourceError = cause
          return failed(spec.label, "reading the source", cause)
        }
      }).pipe(
        Stream.mapArray((chunks) => {
          const out: Array<Uint8Array> = []
          for (const chunk of chunks) {
            progress.bytesRead += chunk.byteLength
            const pieces = transform.push(chunk)
            emit(pieces === undefined ? undefined : skipBytes(pieces, header), out)
          }
          updateRows()
          return out.length > 0 ? (out as unknown as readonly [Uint8Array, ...Array<Uint8Array>]) : NOTHING
        }),
        Stream.concat(
          Stream.suspend(() => {
            const out: Array<Uint8Array> = []
            const last = transform.end()
            // A range of a split binary table keeps its trailer to itself.
            if (!split || spec.format === "text") emit(last, out)
            updateRows()
            return Stream.fromIterable(out)
          })
        )
      )
    }
    // A split binary table: one header, the ranges' rows as they come, one trailer.
    const framed = (bytes: Uint8Array) =>
      Stream.suspend(() => {
        const out: Array<Uint8Array> = []
        if (spec.format === "binary") emit([bytes], out)
        return Stream.fromIterable(out)
      })
    const rows = (
      split
        ? framed(BINARY_HEADER).pipe(
            Stream.concat(Stream.mergeAll(spec.sourceCopySql.map((_, i) => rangeStream(i)), { concurrency: "unbounded", bufferSize: 2 })),
            Stream.concat(framed(BINARY_TRAILER))
          )
        : rangeStream(0)
    ).pipe(Stream.filter((bytes) => bytes.byteLength > 0))

    const runTarget = Effect.tryPromise({
      try: async (signal) => {
        await target.query("BEGIN")
        for (const sql of spec.prepareSql) await target.query(sql)
        const readable = Effect.runSync(NodeStream.toReadable(rows))
        await pipeline(readable, target.query(copyFrom(spec.targetCopySql)), { signal })
        for (const sql of spec.finishSql) await target.query(sql)
        await target.query("COMMIT")
      },
      catch: (cause) => cause
    })

    yield* runTarget.pipe(
      Effect.catch((cause) =>
        Effect.gen(function* () {
          yield* Effect.promise(() => target.query("ROLLBACK").catch(() => {}))
          progress.state = "failed"
          progress.finishedAt = Date.now()
          const error = sourceError ?? cause
          if (error instanceof HarnessError && error.reason === "CopyFailed") return yield* error
          const side = sourceError !== undefined ? "reading the source" : error instanceof HarnessError ? "in a stage" : "writing the target"
          return yield* failed(spec.label, side, error)
        })
      ),
      Effect.onInterrupt(() =>
        Effect.promise(() => target.query("ROLLBACK").catch(() => {})).pipe(
          Effect.andThen(Effect.sync(() => {
            progress.state = "failed"
          }))
        )
      )
    )
    const finished = Date.now()
    updateRows()
    progress.state = "done"
    progress.finishedAt = finished
    return {
      rowsRead: progress.rowsRead,
      rowsWritten: progress.rowsWritten,
      bytesWritten: progress.bytesWritten,
      digest: digest.digest("hex"),
      durationMs: finished - started
    }
  })
