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
import { from as copyFrom, to as copyTo } from "pg-copy-streams"
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
  /** `COPY (SELECT ...) TO STDOUT (FORMAT ...)` or `COPY tbl (cols) TO STDOUT ...`. */
  readonly sourceCopySql: string
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

/** Copy one table; `source` must be a snapshot reader, `target` a connection with no open transaction. */
export const copyTable = (
  source: pg.Client,
  target: pg.Client,
  spec: TableCopySpec,
  progress: TableProgress
): Effect.Effect<TableCopyResult, HarnessError> =>
  Effect.gen(function* () {
    const started = Date.now()
    progress.state = "copying"
    progress.startedAt = started
    const transform = spec.makeTransform()
    const digest = createHash("sha256")

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
    const rows = NodeStream.fromReadable<Uint8Array, HarnessError>({
      evaluate: () => {
        const stream = source.query(copyTo(spec.sourceCopySql))
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
          emit(transform.push(chunk), out)
        }
        progress.rowsRead = transform.rowsIn()
        progress.rowsWritten = transform.rowsOut()
        return out.length > 0 ? (out as unknown as readonly [Uint8Array, ...Array<Uint8Array>]) : NOTHING
      }),
      Stream.filter((bytes) => bytes.byteLength > 0),
      Stream.concat(
        Stream.suspend(() => {
          const out: Array<Uint8Array> = []
          emit(transform.end(), out)
          progress.rowsRead = transform.rowsIn()
          progress.rowsWritten = transform.rowsOut()
          return Stream.fromIterable(out)
        })
      )
    )

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
          const side = sourceError !== undefined ? "reading the source" : "writing the target"
          return yield* (error instanceof HarnessError ? error : failed(spec.label, side, error))
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
    progress.state = "done"
    progress.finishedAt = finished
    return {
      rowsRead: transform.rowsIn(),
      rowsWritten: transform.rowsOut(),
      bytesWritten: progress.bytesWritten,
      digest: digest.digest("hex"),
      durationMs: finished - started
    }
  })
