/**
 * `db-harness inspect` as users run it (the real CLI in a child process) against pagila: the JSON
 * output decodes back into exactly the model the reader builds, the summary is readable, and
 * `--help` explains the command.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeCatalog } from "../src/engine/catalog.ts"
import { readCatalog } from "../src/engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { runCli } from "./support/cli.ts"
import { freshDatabase, loadPagila } from "./support/database.ts"

describe("db-harness inspect", () => {
  let url = ""
  beforeAll(async () => {
    url = await freshDatabase("inspect_pagila")
    await loadPagila(url)
  })

  it.effect("--json prints the whole model, which decodes to what readCatalog reads", () =>
    Effect.gen(function* () {
      const run = yield* Effect.promise(() => runCli(["inspect", url, "--json"]))
      expect(run.code).toBe(0)
      const decoded = yield* decodeCatalog(JSON.parse(run.stdout))
      const endpoint = yield* resolveEndpoint(url, {})
      const read = yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness-test")))
      expect(decoded).toStrictEqual(read)
      expect(decoded.tables.map((table) => table.name)).toContain("payment_p2022_01")
      // Logs go to stderr only, and never with the password.
      expect(run.stderr).toMatch(/^read the catalog of postgres:\/\/postgres:\*\*\*@.* in \d+ ms\n$/)
    })
  )

  it("prints a summary with counts and one line per table, partitions folded", async () => {
    const run = await runCli(["inspect", url])
    expect(run.code).toBe(0)
    const database = new URL(url).pathname.slice(1)
    expect(run.stdout).toContain(`${database} on postgres://postgres:***@`)
    expect(run.stdout).toContain("schemas 1, tables 70, partitioned tables 1, partitions 55, views 7, materialized views 1, sequences 13")
    expect(run.stdout).toContain("extensions: plpgsql")
    expect(run.stdout).toMatch(/^public\.payment \(55 partitions\)\s+\?\s+7\s+payment_date, payment_id\s+public\.customer, public\.rental, public\.staff$/m)
    expect(run.stdout).toMatch(/^public\.film_actor\s+\?\s+3\s+actor_id, film_id\s+public\.actor, public\.film$/m)
    expect(run.stdout).not.toContain("payment_p2022_01")
  })

  it("--help describes the command and its flag", async () => {
    const run = await runCli(["inspect", "--help"])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("Read a database's schema")
    expect(run.stdout).toContain("--json")
    expect(run.stdout).toContain("environment name")
  })
})
