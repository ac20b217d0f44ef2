/**
 * One side of a schema comparison: a live database (URL or environment name) or a snapshot file
 * written by `db-harness inspect --json`. `resolveSide` decides which an argument means without
 * connecting or reading; `openSide` then reads its catalog and, for a live side that should be
 * queried, holds one read-only transaction open for data-aware checks until the scope closes.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { readFile } from "node:fs/promises"
import { existsSync } from "node:fs"
import { decodeCatalog } from "./catalog.ts"
import { readCatalog, readCatalogAt } from "./catalog-reader.ts"
import { envVarFor, pgClient, resolveEndpoint, sqlClientLayer, type Endpoint } from "./connection.ts"
import { HarnessError, badInput } from "./errors.ts"
import type { GateQuery, GateSide } from "./plugin.ts"

export type SideSpec =
  | { readonly kind: "live"; readonly endpoint: Endpoint }
  | { readonly kind: "snapshot"; readonly path: string }

/** How a side is named in output and evidence: never a password. */
export const sideDisplay = (side: SideSpec): string => (side.kind === "live" ? side.endpoint.display : side.path)

const URL_SCHEME = /^postgres(ql)?:\/\//i
const LOOKS_LIKE_PATH = /[/\\]|\.json$/i

/**
 * What an argument names. A `postgres://` URL is live; anything with a path separator or ending in
 * `.json` is a snapshot file; a bare word is an environment name when its variable is set, else a
 * file of that name if one exists, else the unknown-environment error (which says what to set).
 */
export const resolveSide = (
  argument: string,
  env: Readonly<Record<string, string | undefined>>,
  cwdExists: (path: string) => boolean = existsSync
): Effect.Effect<SideSpec, HarnessError> => {
  const live = Effect.map(resolveEndpoint(argument, env), (endpoint): SideSpec => ({ kind: "live", endpoint }))
  if (URL_SCHEME.test(argument)) return live
  if (LOOKS_LIKE_PATH.test(argument)) return Effect.succeed({ kind: "snapshot", path: argument })
  const variable = /^[A-Za-z][A-Za-z0-9_-]*$/.test(argument) ? env[envVarFor(argument)] : undefined
  if ((variable === undefined || variable.trim() === "") && cwdExists(argument)) {
    return Effect.succeed({ kind: "snapshot", path: argument })
  }
  return live
}

/** Read and decode a snapshot file; every failure names the file. */
export const readSnapshot = (path: string) =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (cause) => badInput(`cannot read snapshot file ${path}: ${(cause as Error).message ?? String(cause)}`, cause)
    })
    const parsed = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: (cause) =>
        badInput(`snapshot file ${path} is not JSON (${(cause as Error).message}); write one with: db-harness inspect SOURCE --json > ${path}`, cause)
    })
    return yield* decodeCatalog(parsed).pipe(
      Effect.mapError((error) => badInput(`snapshot file ${path}: ${error.message}`, error.cause))
    )
  })

/**
 * A read-only query function on `endpoint`: one `pg` connection in `BEGIN ISOLATION LEVEL
 * REPEATABLE READ READ ONLY`, so every check sees one instant and none can write; rolled back
 * and closed when the scope ends.
 */
export const readOnlyQuery = (endpoint: Endpoint, applicationName: string): Effect.Effect<GateQuery, HarnessError, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* pgClient(endpoint, applicationName)
    const run = (sql: string) =>
      Effect.tryPromise({
        try: () => client.query(sql),
        catch: (cause) =>
          new HarnessError({
            reason: "Internal",
            message: `query on ${endpoint.display} failed: ${(cause as Error).message ?? String(cause)}`,
            cause
          })
      })
    yield* Effect.acquireRelease(run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), () => Effect.ignore(run("ROLLBACK")))
    return (sql: string) => Effect.map(run(sql), (result) => result.rows as ReadonlyArray<Record<string, unknown>>)
  })

/**
 * Read a side's catalog. `queryable`: a live side also gets a read-only query function (for
 * TARGET's data-aware checks), and its catalog is read at that transaction's exported snapshot,
 * so the schema the diff sees and the rows the checks count are one instant even while
 * migrations run; a snapshot side never has one.
 */
export const openSide = (
  side: SideSpec,
  applicationName: string,
  queryable: boolean
): Effect.Effect<GateSide, HarnessError, Scope.Scope> =>
  Effect.gen(function* () {
    if (side.kind === "snapshot") return { label: side.path, catalog: yield* readSnapshot(side.path), query: null }
    const layer = sqlClientLayer(side.endpoint, applicationName, 1)
    if (!queryable) return { label: side.endpoint.label, catalog: yield* readCatalog.pipe(Effect.provide(layer)), query: null }
    const query = yield* readOnlyQuery(side.endpoint, applicationName)
    const exported = yield* query("SELECT pg_export_snapshot() AS id")
    const catalog = yield* readCatalogAt(String(exported[0]?.["id"])).pipe(Effect.provide(layer))
    return { label: side.endpoint.label, catalog, query }
  })
