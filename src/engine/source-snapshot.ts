/**
 * One consistent instant of the source. A coordinator connection opens a
 * `REPEATABLE READ READ ONLY` transaction and exports its snapshot; every reader connection opens
 * the same kind of transaction and imports that snapshot, so all tables (and every range of a
 * split table, and the subset planner's queries) see the source at the same moment. The
 * coordinator's transaction stays open until the run ends, which keeps the snapshot importable.
 * Nothing here can write: read-only transactions refuse every write.
 */
import * as Effect from "effect/Effect"
import type pg from "pg"
import { connectionError, pgClient, type Endpoint } from "./connection.ts"
import { CANONICAL_SESSION_SETTINGS } from "./binary-values.ts"
import { HarnessError } from "./errors.ts"

export interface SourceSnapshot {
  readonly snapshotId: string
  /** A new connection reading at the snapshot; released (its transaction ended) with the scope. */
  readonly reader: (applicationName: string) => Effect.Effect<pg.Client, HarnessError, import("effect").Scope.Scope>
}

const query = (endpoint: Endpoint, client: pg.Client, sql: string) =>
  Effect.tryPromise({
    try: () => client.query(sql),
    catch: (cause) =>
      (cause as { code?: string }).code
        ? new HarnessError({
            reason: "Connection",
            message: `source ${endpoint.label}: ${(cause as Error).message}`,
            cause
          })
        : connectionError(endpoint, cause)
  })

const beginReadOnly = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

export const openSourceSnapshot = (endpoint: Endpoint) =>
  Effect.gen(function* () {
    const coordinator = yield* pgClient(endpoint, "db-harness snapshot")
    yield* query(endpoint, coordinator, beginReadOnly)
    yield* Effect.addFinalizer(() => Effect.promise(() => coordinator.query("ROLLBACK").catch(() => {})))
    const result = yield* query(endpoint, coordinator, "SELECT pg_export_snapshot() AS id")
    const snapshotId = String((result.rows[0] as { id: string }).id)
    const reader = (applicationName: string) =>
      Effect.gen(function* () {
        const client = yield* pgClient(endpoint, applicationName)
        yield* query(endpoint, client, beginReadOnly)
        yield* query(endpoint, client, `SET TRANSACTION SNAPSHOT '${snapshotId}'`)
        // Text-format COPY prints values under the session's settings; these make that text the
        // canonical form the codec also produces from binary (and that any target parses alike).
        for (const [name, value] of Object.entries(CANONICAL_SESSION_SETTINGS)) {
          yield* query(endpoint, client, `SET ${name} = '${value}'`)
        }
        return client
      })
    return { snapshotId, reader } satisfies SourceSnapshot
  })
