/**
 * What a SOURCE or TARGET argument means, and how to reach it without ever showing a password.
 *
 * An argument is either a `postgres://` / `postgresql://` URL or an environment name: `dev` reads
 * `DB_DEV_CONN`, `staging` `DB_STAGING_CONN`, and so on for any name (upper-cased, `-` → `_`).
 * The resolved endpoint keeps the URL inside a `Redacted` and carries a display form with the
 * password replaced, which is the only form that may reach output, logs, errors or evidence.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import pg from "pg"
import { HarnessError, badInput } from "./errors.ts"

export interface Endpoint {
  /** What the user typed: an environment name or the redacted URL. */
  readonly label: string
  /** The connection URL, password included; unwrap only to connect. */
  readonly url: Redacted.Redacted<string>
  /** The URL with any password replaced by `***`: safe for output and evidence. */
  readonly display: string
  readonly host: string
  readonly port: number
  readonly database: string
  readonly user: string
}

const ENV_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/

export const envVarFor = (name: string) => `DB_${name.toUpperCase().replaceAll("-", "_")}_CONN`

/**
 * Replace the password of a URL-looking string, also inside free text such as driver errors. Any
 * scheme, not only postgres://: a mistyped `postgress://` or an `http://` URL is echoed back in
 * the "neither a URL nor an environment name" error and must not leak its password either. The
 * password runs to the last `@` before the path, as URL parsers read it, so a raw `@` in it is
 * hidden too.
 */
export const redactUrl = (text: string): string =>
  text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^/?#\s]*@/gi, "$1***@")

/**
 * Resolve an argument to an endpoint. `env` is passed in (not read from `process`) so the engine
 * stays free of runtime globals; the CLI edge hands over its environment.
 */
export const resolveEndpoint = (
  argument: string,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<Endpoint, HarnessError> =>
  Effect.gen(function* () {
    let raw = argument
    let label: string
    if (/^postgres(ql)?:\/\//i.test(argument)) {
      label = redactUrl(argument)
    } else if (ENV_NAME.test(argument)) {
      const variable = envVarFor(argument)
      const value = env[variable]
      if (value === undefined || value.trim() === "") {
        return yield* badInput(
          `unknown environment "${argument}": set ${variable} to its connection URL, or pass a postgres:// URL`
        )
      }
      raw = value.trim()
      label = argument
      if (!/^postgres(ql)?:\/\//i.test(raw)) {
        return yield* badInput(`${variable} is not a postgres:// URL`)
      }
    } else {
      return yield* badInput(
        `"${redactUrl(argument)}" is neither a postgres:// URL nor an environment name (such as dev, which reads DB_DEV_CONN)`
      )
    }
    let parsed: URL
    try {
      parsed = new URL(raw)
    } catch {
      return yield* badInput(`malformed connection URL for ${label}: ${redactUrl(raw)}`)
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""))
    if (parsed.hostname === "" && !parsed.searchParams.has("host")) {
      return yield* badInput(`malformed connection URL for ${label}: no host in ${redactUrl(raw)}`)
    }
    if (database === "" || database.includes("/")) {
      return yield* badInput(`malformed connection URL for ${label}: no database name in ${redactUrl(raw)}`)
    }
    const port = parsed.port === "" ? 5432 : Number(parsed.port)
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return yield* badInput(`malformed connection URL for ${label}: bad port in ${redactUrl(raw)}`)
    }
    const display = redactUrl(parsed.password === "" ? raw : raw)
    return {
      label,
      url: Redacted.make(raw),
      display,
      host: parsed.hostname || (parsed.searchParams.get("host") ?? ""),
      port,
      database,
      user: decodeURIComponent(parsed.username)
    }
  })

/** `pg` client options for an endpoint; the only place the URL is unwrapped for `pg`. */
export const pgConfig = (endpoint: Endpoint, applicationName: string): pg.ClientConfig => ({
  connectionString: Redacted.value(endpoint.url),
  application_name: applicationName,
  connectionTimeoutMillis: 10_000
})

/**
 * Turn a driver error into one clear line that names the endpoint but never its password.
 * SQLSTATEs: 28P01/28000 authentication, 3D000 missing database; errno codes for the network.
 */
export const connectionError = (endpoint: Endpoint, cause: unknown): HarnessError => {
  const e = cause as { code?: string; message?: string } | undefined
  const where = `${endpoint.label === endpoint.display ? endpoint.display : `${endpoint.label} (${endpoint.display})`}`
  let message: string
  switch (e?.code) {
    case "28P01":
    case "28000":
      message = `cannot connect to ${where}: authentication failed for user "${endpoint.user}"`
      break
    case "3D000":
      message = `cannot connect to ${where}: database "${endpoint.database}" does not exist`
      break
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ETIMEDOUT":
      message = `cannot connect to ${where}: host ${endpoint.host}:${endpoint.port} is unreachable (${e.code})`
      break
    default: {
      const detail = redactUrl(String(e?.message ?? cause)).split("\n")[0]
      message = /timeout/i.test(detail ?? "")
        ? `cannot connect to ${where}: host ${endpoint.host}:${endpoint.port} did not answer in time`
        : `cannot connect to ${where}: ${detail}`
    }
  }
  return new HarnessError({ reason: "Connection", message, cause: redactUrl(String(e?.message ?? "")) })
}

/** Open a `pg` client as a scoped resource: connected on acquire, ended on release. */
export const pgClient = (endpoint: Endpoint, applicationName: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new pg.Client(pgConfig(endpoint, applicationName))
        // An idle client whose backend dies emits 'error'; the next query reports it instead.
        client.on("error", () => {})
        try {
          await client.connect()
        } catch (error) {
          await client.end().catch(() => {})
          throw error
        }
        return client
      },
      catch: (cause) => connectionError(endpoint, cause)
    }),
    (client) => Effect.promise(() => client.end().catch(() => {}))
  )

/**
 * The control plane (catalog reads, planning, gate queries) for an endpoint: Effect's SQL client,
 * probed once on build so that a wrong password or a missing database fails here, as one clear
 * `HarnessError`, before any work starts.
 */
export const sqlClientLayer = (endpoint: Endpoint, applicationName: string, maxConnections = 4) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const context = yield* Layer.build(
        PgClient.layer({ url: endpoint.url, applicationName, maxConnections, connectTimeout: "10 seconds" })
      )
      const sql = Context.get(context, SqlClient.SqlClient)
      yield* sql`select 1`
      return context
    }).pipe(
      Effect.mapError((error) => connectionError(endpoint, (error as { reason?: { cause?: unknown } }).reason?.cause ?? error))
    )
  )
