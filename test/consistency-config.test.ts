/**
 * The consistency config file (consistency-config.ts): the shipped example loads; every mistake
 * is reported with file:line:column and the path of the key, all at once, and unknown keys are
 * refused rather than ignored.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { loadConsistencyConfig } from "../src/engine/consistency-config.ts"

const dir = mkdtempSync(join(tmpdir(), "db-harness-consistency-config-"))
let counter = 0
const write = (text: string) => {
  const path = join(dir, `config-${counter++}.yaml`)
  writeFileSync(path, text)
  return path
}
const failure = (path: string) =>
  loadConsistencyConfig(path).pipe(
    Effect.flip,
    Effect.map((error) => error.message)
  )

describe("consistency config", () => {
  it.effect("the shipped example loads, with positions on its entries", () =>
    Effect.gen(function* () {
      const path = fileURLToPath(new URL("../rules/examples/consistency.yaml", import.meta.url))
      const config = yield* loadConsistencyConfig(path)
      expect(config.tolerance).toBe(0.05)
      expect(config.statementTimeoutMs).toBe(300000)
      expect(config.workMemMb).toBe(0)
      expect(config.keyRangeMinRows).toBe(100000)
      expect(config.exclude).toStrictEqual(["audit.*"])
      expect(config.tolerances.map((t) => [t.table, t.tolerance])).toStrictEqual([
        ["public.orders", 0.2],
        ["public.payments", 0.1]
      ])
      expect(config.logicalForeignKeys).toHaveLength(1)
      expect(config.logicalForeignKeys[0]).toMatchObject({
        name: "order_items_product",
        table: "public.order_items",
        columns: ["product_id"],
        references: { table: "public.products", columns: ["id"] }
      })
      expect(config.logicalForeignKeys[0]?.origin).toMatch(/consistency\.yaml:\d+:5$/)
    })
  )

  it.effect("an empty file is an empty config", () =>
    Effect.gen(function* () {
      const config = yield* loadConsistencyConfig(write(""))
      expect(config).toMatchObject({ exclude: [], tolerances: [], logicalForeignKeys: [] })
      expect(config.tolerance).toBeUndefined()
    })
  )

  it.effect("unknown keys, wrong types and bad values: every one with its line", () =>
    Effect.gen(function* () {
      const path = write(
        [
          "tolerence: 0.1", // 1
          "tolerance: -0.5", // 2
          "statement_timeout_ms: 1.5", // 3
          "estimates: yes please", // 4
          "tolerances:", // 5
          "  - table: public.orders", // 6
          "    tolerance: lots", // 7
          "logical_foreign_keys:", // 8
          "  - table: orders", // 9
          "    columns: []", // 10
          "    references: { table: customers, columns: [id] }", // 11
          "    match: partial", // 12
          "work_mem_mb: -1", // 13
          "key_range_min_rows: 0.5", // 14
          ""
        ].join("\n")
      )
      const message = yield* failure(path)
      expect(message).toMatch(/^invalid consistency config:\n/)
      expect(message).toContain(`${path}:1:1: tolerence: unknown key`)
      expect(message).toContain(`${path}:2:1: tolerance: Expected a value greater than or equal to 0`)
      expect(message).toContain(`${path}:3:1: statement_timeout_ms: Expected an integer`)
      expect(message).toContain(`${path}:4:1: estimates: Expected boolean`)
      expect(message).toContain(`${path}:7:5: tolerances[0].tolerance: Expected number`)
      expect(message).toContain(`${path}:10:5: logical_foreign_keys[0].columns:`)
      expect(message).toContain(`${path}:12:5: logical_foreign_keys[0].match: Expected "simple" | "full"`)
      expect(message).toContain(`${path}:13:1: work_mem_mb: Expected a value greater than or equal to 0`)
      expect(message).toContain(`${path}:14:1: key_range_min_rows: Expected an integer`)
      const tooBig = yield* failure(write("work_mem_mb: 4096\n"))
      expect(tooBig).toContain("work_mem_mb: Expected a value less than or equal to 2047")
    })
  )

  it.effect("a logical key whose column lists differ in length, and a name used twice", () =>
    Effect.gen(function* () {
      const path = write(
        [
          "logical_foreign_keys:",
          "  - name: k",
          "    table: order_items",
          "    columns: [order_id, line_no]",
          "    references: { table: orders, columns: [id] }",
          "  - name: k",
          "    table: orders",
          "    columns: [customer_id]",
          "    references: { table: customers, columns: [id] }",
          ""
        ].join("\n")
      )
      const message = yield* failure(path)
      expect(message).toContain(`${path}:5:34: logical_foreign_keys[0].references.columns: 1 column(s) referenced for 2 column(s)`)
      expect(message).toContain(`${path}:6:5: logical_foreign_keys[1].name: "k" is already the name of logical_foreign_keys[0]`)
    })
  )

  it.effect("a YAML syntax error and a missing file", () =>
    Effect.gen(function* () {
      const broken = write("tolerances:\n  - table: [unclosed\n")
      expect(yield* failure(broken)).toMatch(new RegExp(`^${broken.replaceAll(".", "\\.")}:\\d+:\\d+: YAML syntax error in the consistency config`))
      const missing = join(dir, "nope.yaml")
      expect(yield* failure(missing)).toContain(`cannot read the consistency config ${missing}`)
    })
  )
})
