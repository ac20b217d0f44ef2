/**
 * The README's first command: `db-harness demo` starts its own embedded PostgreSQL, builds the
 * shop, propagates it and says where the evidence is. Run small, through the real CLI.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { runCli } from "./support/cli.ts"

it("demo builds a shop, copies it into dev and writes evidence", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dbh-demo-"))
  const run = await runCli(["demo", "--rows", "2000", "--evidence-dir", dir])
  expect(run.code, run.stderr).toBe(0)
  expect(run.stderr).toMatch(/started PostgreSQL on 127\.0\.0\.1:\d+/)
  expect(run.stderr).toMatch(/built shop_prod .*orders 2000/)
  expect(run.stdout).toMatch(/copied 13 tables, \d+ rows/)
  const files = readdirSync(dir)
  expect(files).toHaveLength(1)
  expect(run.stdout).toContain(join(dir, files[0]!))
  const evidence = JSON.parse(readFileSync(join(dir, files[0]!), "utf8"))
  const orders = evidence.tables.find((t: { table: string }) => t.table === "public.orders")
  expect(orders.rowsWritten).toBe(2000)
  expect(evidence.foreignKeys.notValidated).toEqual([])
}, 120_000)
