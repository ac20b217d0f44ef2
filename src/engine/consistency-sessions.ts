/**
 * Read-only sessions for the consistency gate: `sessions` connections to one database, each in a
 * `REPEATABLE READ READ ONLY` transaction, all at the same snapshot (the first exports it, the
 * others import it), with a statement timeout on every query. Exposed as one `GateQuery` that
 * runs each query on the next free session, so a gate can run checks in parallel (bounded by the
 * number of sessions) and still see one instant of the database, and nothing can write.
 *
 * Each query runs inside a savepoint: a query that fails (a statement timeout above all) rolls
 * back to it, so the session's transaction, and with it the snapshot, stays usable for the next.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type pg from "pg"
import { quoteLiteral } from "./catalog.ts"
import { connectionError, pgClient, type Endpoint } from "./connection.ts"
import { HarnessError } from "./errors.ts"
import type { GateQuery } from "./plugin.ts"

/** SQLSTATE 57014 `query_canceled`: what a statement timeout raises. */
export const STATEMENT_TIMEOUT_SQLSTATE = "57014"

/** Did this failure come from a statement timeout (of these sessions or of any pg-based GateQuery)? */
export const isStatementTimeout = (error: HarnessError): boolean =>
  (error.cause as { code?: unknown } | undefined)?.code === STATEMENT_TIMEOUT_SQLSTATE

export interface ReadOnlySessionsOptions {
  /** How many connections (and so how many queries at once). */
  readonly sessions: number
  /** `statement_timeout` of every query, in milliseconds; 0 for none. */
  readonly statementTimeoutMs: number
  /** `work_mem` of every session in MB (the memory a hash join or sort may take); 0 or absent keeps the server's. */
  readonly workMemMb?: number
  /** Planner settings of every session (`SET LOCAL name = value`), e.g. `{ enable_sort: "off" }`. */
  readonly settings?: Readonly<Record<string, string>>
}

export const openReadOnlySessions = (
  endpoint: Endpoint,
  applicationName: string,
  options: ReadOnlySessionsOptions
): Effect.Effect<GateQuery, HarnessError, Scope.Scope> =>
  Effect.gen(function* () {
    const failed = (cause: unknown) =>
      (cause as { code?: string }).code === undefined
        ? connectionError(endpoint, cause)
        : new HarnessError({
            reason: "Internal",
            message: `query on ${endpoint.display} failed: ${(cause as Error).message}${(cause as { code?: string }).code === STATEMENT_TIMEOUT_SQLSTATE ? ` (statement timeout ${options.statementTimeoutMs} ms)` : ""}`,
            cause
          })
    const run = (client: pg.Client, sql: string) => Effect.tryPromise({ try: () => client.query(sql), catch: failed })
    const begin = (client: pg.Client, snapshot: string | null) =>
      Effect.gen(function* () {
        yield* run(client, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield* Effect.addFinalizer(() => Effect.promise(() => client.query("ROLLBACK").catch(() => {})))
        if (snapshot !== null) yield* run(client, `SET TRANSACTION SNAPSHOT '${snapshot}'`)
        yield* run(client, `SET LOCAL statement_timeout = ${Math.max(0, Math.floor(options.statementTimeoutMs))}`)
        if ((options.workMemMb ?? 0) > 0) yield* run(client, `SET LOCAL work_mem = '${Math.floor(options.workMemMb!)}MB'`)
        for (const [name, value] of Object.entries(options.settings ?? {})) yield* run(client, `SELECT set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`)
      })

    const first = yield* pgClient(endpoint, applicationName)
    yield* begin(first, null)
    const clients = [first]
    if (options.sessions > 1) {
      const exported = yield* run(first, "SELECT pg_export_snapshot() AS id")
      const snapshot = String((exported.rows[0] as { id: string }).id)
      const others = yield* Effect.forEach(
        Array.from({ length: options.sessions - 1 }),
        () =>
          Effect.gen(function* () {
            const client = yield* pgClient(endpoint, applicationName)
            yield* begin(client, snapshot)
            return client
          }),
        { concurrency: "unbounded" }
      )
      clients.push(...others)
    }

    // A tiny pool: free sessions, and callers waiting for one, first come first served.
    const free = [...clients]
    const waiting: Array<(client: pg.Client) => void> = []
    const acquire = () =>
      new Promise<pg.Client>((resolve) => {
        const client = free.pop()
        if (client === undefined) waiting.push(resolve)
        else resolve(client)
      })
    const release = (client: pg.Client) => {
      const next = waiting.shift()
      if (next === undefined) free.push(client)
      else next(client)
    }
    const once = async (sql: string) => {
      const client = await acquire()
      try {
        await client.query("SAVEPOINT db_harness_check")
        try {
          const result = await client.query(sql)
          await client.query("RELEASE SAVEPOINT db_harness_check")
          return result.rows as ReadonlyArray<Record<string, unknown>>
        } catch (error) {
          await client.query("ROLLBACK TO SAVEPOINT db_harness_check").catch(() => {})
          throw error
        }
      } finally {
        release(client)
      }
    }
    return (sql: string) => Effect.tryPromise({ try: () => once(sql), catch: failed })
  })
