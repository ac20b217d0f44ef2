/**
 * Connection failures as a user meets them: the real CLI (`inspect`) run as a child process against
 * the real test server. Each failure must end with exit code 1 and one line on stderr that names
 * the problem, and the password must never be printed. Also how SOURCE arguments resolve.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { envVarFor, redactUrl, resolveEndpoint } from "../src/engine/connection.ts"
import { runCli, type CliRun } from "./support/cli.ts"
import { adminUrl, freshDatabase } from "./support/database.ts"

const PASSWORD = "Zebra-Quartz-7719"

/** The server's own URL with another user/password/database. */
const serverUrl = (changes: { readonly password?: string; readonly database?: string }) => {
  const url = new URL(adminUrl())
  if (changes.password !== undefined) url.password = changes.password
  if (changes.database !== undefined) url.pathname = `/${changes.database}`
  return url.toString()
}

const expectOneLineFailure = (run: CliRun, pattern: RegExp, secret = PASSWORD) => {
  expect(run.code).toBe(1)
  const lines = run.stderr.split("\n").filter((line) => line.trim() !== "")
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(run.stdout).toBe("")
  expect(run.stderr).not.toContain(secret)
}

describe("inspect with a bad SOURCE", () => {
  it("names an unknown environment and the variable to set", async () => {
    const run = await runCli(["inspect", "nosuchenv"])
    expectOneLineFailure(run, /unknown environment "nosuchenv": set DB_NOSUCHENV_CONN/)
  })

  it("rejects a malformed URL without printing its password", async () => {
    const run = await runCli(["inspect", `postgres://admin:${PASSWORD}@[not-a-host/app`])
    expectOneLineFailure(run, /malformed connection URL/)
  })

  it("reports an unreachable host", async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const run = await runCli(["inspect", `postgres://admin:${PASSWORD}@127.0.0.1:1/app`])
    expectOneLineFailure(run, /cannot connect to .*127\.0\.0\.1:1.*unreachable/)
  })

  it("reports a wrong password as an authentication failure", async () => {
    const run = await runCli(["inspect", serverUrl({ password: PASSWORD })])
    expectOneLineFailure(run, /authentication failed for user "postgres"/)
  })

  it("reports a missing database by name", async () => {
    const url = serverUrl({ database: "no_such_database_here" })
    const run = await runCli(["inspect", url])
    const realPassword = decodeURIComponent(new URL(url).password)
    expectOneLineFailure(run, /database "no_such_database_here" does not exist/, `:${realPassword}@`)
  })

  it("reads through an environment name, showing the name but not the password", async () => {
    const url = await freshDatabase("connection_env")
    const run = await runCli(["inspect", "myenv"], { DB_MYENV_CONN: url })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(new URL(url).pathname.slice(1))
    const realPassword = decodeURIComponent(new URL(url).password)
    expect(run.stdout + run.stderr).not.toContain(`:${realPassword}@`)
  })
})

describe("resolveEndpoint", () => {
  it.effect("parses a URL and keeps the password only inside the Redacted", () =>
    Effect.gen(function* () {
      const url = `postgresql://alice:${PASSWORD}@db.internal:6543/sales%20eu?sslmode=require`
      const endpoint = yield* resolveEndpoint(url, {})
      expect(endpoint).toMatchObject({ host: "db.internal", port: 6543, database: "sales eu", user: "alice" })
      expect(endpoint.display).toBe("postgresql://alice:***@db.internal:6543/sales%20eu?sslmode=require")
      expect(endpoint.label).not.toContain(PASSWORD)
      expect(Redacted.value(endpoint.url)).toBe(url)
      expect(String(endpoint.url)).not.toContain(PASSWORD)
    })
  )

  it.effect("hides a password with a raw @ or in a URL of another scheme", () =>
    Effect.gen(function* () {
      const endpoint = yield* resolveEndpoint(`postgres://u:${PASSWORD}@x@db.internal/app`, {})
      expect(endpoint).toMatchObject({ host: "db.internal", display: "postgres://u:***@db.internal/app" })
      expect(redactUrl(`tried postgress://u:${PASSWORD}@h/d and http://u:${PASSWORD}@h/?q=a@b`)).toBe(
        "tried postgress://u:***@h/d and http://u:***@h/?q=a@b"
      )
    })
  )

  it.effect("defaults the port to 5432", () =>
    Effect.gen(function* () {
      expect((yield* resolveEndpoint("postgres://bob@localhost/app", {})).port).toBe(5432)
    })
  )

  it.effect("reads an environment name from DB_<NAME>_CONN, dashes as underscores", () =>
    Effect.gen(function* () {
      expect(envVarFor("staging-eu")).toBe("DB_STAGING_EU_CONN")
      const endpoint = yield* resolveEndpoint("staging-eu", { DB_STAGING_EU_CONN: ` postgres://u:${PASSWORD}@h:5433/d ` })
      expect(endpoint).toMatchObject({ label: "staging-eu", host: "h", port: 5433, database: "d", display: "postgres://u:***@h:5433/d" })
    })
  )

  it.effect("fails with BadInput for unusable arguments, never echoing a password", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, Readonly<Record<string, string>>, RegExp]> = [
        ["dev", {}, /unknown environment "dev": set DB_DEV_CONN/],
        ["dev", { DB_DEV_CONN: "   " }, /unknown environment "dev"/],
        ["dev", { DB_DEV_CONN: `mysql://u:${PASSWORD}@h/d` }, /DB_DEV_CONN is not a postgres:\/\/ URL/],
        [`postgres://u:${PASSWORD}@h:99999/d`, {}, /malformed connection URL/],
        [`postgres://u:${PASSWORD}@h`, {}, /no database name/],
        [`postgres://u:${PASSWORD}@h/`, {}, /no database name/],
        ["not a url or name", {}, /neither a postgres:\/\/ URL nor an environment name/],
        [`http://u:${PASSWORD}@h/d`, {}, /neither a postgres:\/\/ URL nor an environment name/],
        [`postgress://u:${PASSWORD}@h/d`, {}, /neither a postgres:\/\/ URL nor an environment name/]
      ]
      for (const [argument, env, pattern] of cases) {
        const error = yield* Effect.flip(resolveEndpoint(argument, env))
        expect(error.reason, argument).toBe("BadInput")
        expect(error.message, argument).toMatch(pattern)
        expect(error.message, argument).not.toContain(PASSWORD)
      }
    })
  )
})
