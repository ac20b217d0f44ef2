/**
 * The engine side of the stage interface, through the library API: a small test stage changes,
 * drops and observes rows in the one streaming pass; undeclared columns pass through untouched;
 * the COPY format follows what the stages touch (binary while they touch only text columns); a failing stage rolls its table back; split
 * tables (ctid ranges read in parallel) arrive exactly.
 */
import * as Effect from "effect/Effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { resolveEndpoint } from "../src/engine/connection.ts"
import { propagate, type PropagateOptions } from "../src/engine/propagate.ts"
import { hasBinaryConverter, rowTransformFor } from "../src/engine/row-transform.ts"
import type { Stage } from "../src/engine/stage.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const DDL = `
CREATE TYPE tier AS ENUM ('free', 'pro');
CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, email text, born date, balance money);
CREATE TABLE tagged (id bigint PRIMARY KEY, tiers tier[]);`
const ROWS = `INSERT INTO people SELECT i, 'person ' || i, 'p' || i || '@example.com', date '1990-01-01' + i, i * 1.25
  FROM generate_series(1, 5000) i;`

const options = async (source: string, target: string, stages: ReadonlyArray<Stage>, extra: Partial<PropagateOptions> = {}): Promise<PropagateOptions> => ({
  source: await Effect.runPromise(resolveEndpoint(source, {})),
  target: await Effect.runPromise(resolveEndpoint(target, {})),
  jobs: 2,
  splitRows: 1_000_000,
  include: [],
  exclude: [],
  stages,
  dryRun: false,
  protectedTargets: [],
  allowProtectedTarget: false,
  evidenceDir: mkdtempSync(join(tmpdir(), "dbh-stage-")),
  transformFor: rowTransformFor,
  hasBinaryConverter,
  toolVersion: "test",
  ...extra
})

/** Upper-cases `name`, moves `born` one day on, drops odd ids, and counts what it saw. */
const testStage = (touchMoney: boolean): Stage => ({
  name: "test-stage",
  forTable: (table) => {
    if (table.name !== "people") return undefined
    const at = (name: string) => table.columns.findIndex((c) => c.name === name)
    const [id, name, born, balance] = [at("id"), at("name"), at("born"), at("balance")]
    let seen = 0
    return {
      columns: ["id", "name", "born", ...(touchMoney ? ["balance"] : [])],
      process: (batch) => {
        for (let r = 0; r < batch.rowCount; r++) {
          seen++
          if (Number(batch.getText(r, id)) % 2 === 1) {
            batch.drop(r)
            continue
          }
          batch.setText(r, name, batch.getText(r, name)!.toUpperCase())
          const day = new Date(`${batch.getText(r, born)}T00:00:00Z`)
          day.setUTCDate(day.getUTCDate() + 1)
          batch.setText(r, born, day.toISOString().slice(0, 10))
          if (touchMoney) batch.setText(r, balance, "$0.00")
        }
      },
      finish: () => Effect.succeed({ seen })
    }
  }
})

const setup = async () => {
  const source = await freshDatabase("stage_src")
  const target = await freshDatabase("stage_dst")
  await runSql(source, DDL + ROWS + "ANALYZE people;")
  await runSql(target, DDL)
  return { source, target }
}

describe("propagate with stages", () => {
  it("changes, drops and observes rows; untouched columns pass through (dates and numbers touched: text format)", async () => {
    const { source, target } = await setup()
    const result = await Effect.runPromise(propagate(await options(source, target, [testStage(false)])))
    const [table] = result.tables
    expect(table).toMatchObject({ table: "public.people", format: "text", rowsRead: 5000, rowsWritten: 2500 })
    expect(table!.stages).toEqual([{ stage: "test-stage", columns: ["id", "name", "born"], summary: { seen: 5000 } }])
    const rows = await runSql(target, "SELECT id, name, email, born::text, balance::text FROM people ORDER BY id LIMIT 2")
    expect(rows).toEqual([
      { id: 2, name: "PERSON 2", email: "p2@example.com", born: "1990-01-04", balance: "$2.50" },
      { id: 4, name: "PERSON 4", email: "p4@example.com", born: "1990-01-06", balance: "$5.00" }
    ])
    const [{ n }] = await runSql(target, "SELECT count(*)::int AS n FROM people WHERE id % 2 = 1")
    expect(n).toBe(0)
    const evidence = JSON.parse(readFileSync(result.evidence!.path, "utf8"))
    expect(evidence.tables[0].stages[0].summary).toEqual({ seen: 5000 })
  })

  it("keeps binary format when a stage touches only text columns", async () => {
    const { source, target } = await setup()
    const textOnly: Stage = {
      name: "text-only",
      forTable: (table) => {
        if (table.name !== "people") return undefined
        const [name, email] = ["name", "email"].map((n) => table.columns.findIndex((c) => c.name === n)) as [number, number]
        return {
          columns: ["name", "email"],
          process: (batch) => {
            for (let r = 0; r < batch.rowCount; r++) {
              if (batch.getText(r, email)!.startsWith("p7")) batch.drop(r)
              else batch.setText(r, name, `«${batch.getText(r, name)}» ✓`)
            }
          }
        }
      }
    }
    const result = await Effect.runPromise(propagate(await options(source, target, [textOnly])))
    expect(result.tables[0]).toMatchObject({ table: "public.people", format: "binary", rowsRead: 5000, rowsWritten: 4889 }) // ids 7, 70-79, 700-799 dropped
    const rows = await runSql(target, "SELECT id, name, born::text, balance::text FROM people ORDER BY id LIMIT 2")
    expect(rows).toEqual([
      { id: 1, name: "«person 1» ✓", born: "1990-01-02", balance: "$1.25" },
      { id: 2, name: "«person 2» ✓", born: "1990-01-03", balance: "$2.50" }
    ])
  })

  it("uses text format when a stage touches a column binary cannot convert (money)", async () => {
    const { source, target } = await setup()
    const result = await Effect.runPromise(propagate(await options(source, target, [testStage(true)])))
    expect(result.tables[0]!.format).toBe("text")
    const rows = await runSql(target, "SELECT id, name, born::text, balance::text FROM people ORDER BY id LIMIT 1")
    expect(rows).toEqual([{ id: 2, name: "PERSON 2", born: "1990-01-04", balance: "$0.00" }])
  })

  it("a stage that throws fails the run naming the stage and the table, and the table is rolled back", async () => {
    const { source, target } = await setup()
    await runSql(target, "INSERT INTO people (id, name) VALUES (1, 'kept')")
    const broken: Stage = {
      name: "broken-stage",
      forTable: (table) => (table.name === "people" ? { columns: ["email"], process: () => { throw new Error("boom") } } : undefined)
    }
    const exit = await Effect.runPromiseExit(propagate(await options(source, target, [broken])))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("stage broken-stage failed on public.people: boom")
    expect(await runSql(target, "SELECT id, name FROM people")).toEqual([{ id: 1, name: "kept" }])
  })

  it("a stage that reads a column it did not declare is stopped", async () => {
    const { source, target } = await setup()
    const sneaky: Stage = {
      name: "sneaky",
      forTable: (table) => ({
        columns: ["id"],
        process: (batch) => void batch.getText(0, table.columns.findIndex((c) => c.name === "email"))
      })
    }
    const exit = await Effect.runPromiseExit(propagate(await options(source, target, [sneaky])))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("stage sneaky failed on public.people")
  })

  it("reads a big table in parallel ctid ranges into one transaction, exactly (binary and text)", async () => {
    const { source, target } = await setup()
    await runSql(source, `CREATE TABLE plain (id bigint PRIMARY KEY, v text); INSERT INTO plain SELECT i, md5(i::text) FROM generate_series(1, 30000) i;
      INSERT INTO tagged SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE '{free,pro}'::tier[] END FROM generate_series(1, 30000) i; ANALYZE;`)
    await runSql(target, "CREATE TABLE plain (id bigint PRIMARY KEY, v text);")
    const result = await Effect.runPromise(propagate(await options(source, target, [testStage(false)], { jobs: 3, splitRows: 1000 })))
    const byName = Object.fromEntries(result.tables.map((t) => [t.table, t]))
    expect(byName["public.plain"]).toMatchObject({ ranges: 3, format: "binary", rowsWritten: 30000 })
    expect(byName["public.people"]).toMatchObject({ ranges: 3, format: "text", rowsWritten: 2500 })
    expect(byName["public.tagged"]).toMatchObject({ ranges: 3, format: "text", rowsWritten: 30000 })
    const digest = (url: string, sql: string) => runSql(url, `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS d FROM (${sql}) t`)
    expect(await digest(target, "SELECT * FROM plain")).toEqual(await digest(source, "SELECT * FROM plain"))
    expect(await digest(target, "SELECT * FROM tagged")).toEqual(await digest(source, "SELECT * FROM tagged"))
    expect(await digest(target, "SELECT id, email FROM people")).toEqual(await digest(source, "SELECT id, email FROM people WHERE id % 2 = 0"))
  })
})
