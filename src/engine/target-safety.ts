/**
 * The refusals that come before anything is written: a target that is the source database itself
 * (same cluster system identifier and same database), and a target whose name is on the protected
 * list (`prod*` by default) unless the user explicitly overrides. A run that gets past these may
 * still be refused later by the schema checks in the planner.
 */
import * as Effect from "effect/Effect"
import type pg from "pg"
import type { Endpoint } from "./connection.ts"
import { HarnessError } from "./errors.ts"
import { matchesGlob } from "./glob.ts"

export const DEFAULT_PROTECTED_TARGETS: ReadonlyArray<string> = ["prod*"]

export interface DatabaseIdentity {
  /** Cluster identity: `pg_control_system().system_identifier`, or a fallback where not permitted. */
  readonly cluster: string
  readonly databaseOid: string
  readonly databaseName: string
  readonly serverVersion: number
}

export const databaseIdentity = (client: pg.Client): Effect.Effect<DatabaseIdentity, HarnessError> =>
  Effect.tryPromise({
    try: async () => {
      const base = await client.query<{ oid: string; name: string; version: string }>(
        `SELECT d.oid::text AS oid, current_database() AS name, current_setting('server_version_num') AS version
           FROM pg_database d WHERE d.datname = current_database()`
      )
      let cluster: string
      try {
        const sys = await client.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()")
        cluster = String(sys.rows[0]?.id)
      } catch {
        // Roles without access to pg_control_system: the postmaster's start time and data
        // directory's port identify the running cluster well enough to catch a self-copy.
        const fallback = await client.query<{ id: string }>(
          "SELECT pg_postmaster_start_time()::text || '/' || current_setting('port') AS id"
        )
        cluster = String(fallback.rows[0]?.id)
      }
      const row = base.rows[0]!
      return { cluster, databaseOid: row.oid, databaseName: row.name, serverVersion: Number(row.version) }
    },
    catch: (cause) =>
      new HarnessError({ reason: "Connection", message: `cannot identify a database: ${(cause as Error).message}`, cause })
  })

export const refuseSelfCopy = (source: DatabaseIdentity, target: DatabaseIdentity, targetEndpoint: Endpoint) =>
  source.cluster === target.cluster && source.databaseOid === target.databaseOid
    ? Effect.fail(
        new HarnessError({
          reason: "Refused",
          message: `refusing to write: the target ${targetEndpoint.label} is the source database itself ("${target.databaseName}" on the same server)`
        })
      )
    : Effect.void

/** Refuse a protected target (by environment name or database name) unless `allow` is set. */
export const refuseProtectedTarget = (
  target: Endpoint,
  protectedGlobs: ReadonlyArray<string>,
  allow: boolean
) => {
  const names = [target.label, target.database].filter((n) => !n.includes("://"))
  const hit = protectedGlobs.find((glob) => names.some((name) => matchesGlob(glob, name)))
  if (hit === undefined || allow) return Effect.void
  return Effect.fail(
    new HarnessError({
      reason: "Refused",
      message: `refusing to write to ${target.label} (database "${target.database}"): it matches the protected pattern "${hit}"; pass --allow-protected-target if you really mean to overwrite it`
    })
  )
}
