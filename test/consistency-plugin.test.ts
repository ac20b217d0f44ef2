/**
 * The consistency gate as a plugin (src/plugins/gate-consistency.ts), run the way a `gate run`
 * pipeline would: listed among the built-ins, options decoded by its schema (bad ones refused by
 * name), run on sides given by schema-source.ts (one read-only session each), returning findings
 * only; and refusing a snapshot side, which has no rows.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readCatalog } from "../src/engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { instantiate } from "../src/engine/plugin-host.ts"
import type { GateSide } from "../src/engine/plugin.ts"
import { readOnlyQuery } from "../src/engine/schema-source.ts"
import { builtinPlugins } from "../src/plugins/index.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const plugin = () => {
  const found = builtinPlugins.find((p) => p.name === "consistency")
  if (found === undefined) throw new Error("consistency is not a built-in plugin")
  return found
}

const side = (url: string) =>
  Effect.gen(function* () {
    const endpoint = yield* resolveEndpoint(url, {})
    const catalog = yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "consistency-plugin-test", 1)))
    return { label: url, catalog, query: yield* readOnlyQuery(endpoint, "consistency-plugin-test") } satisfies GateSide
  })

describe("consistency gate plugin", () => {
  let before = ""
  let after = ""
  beforeAll(async () => {
    ;[before, after] = await Promise.all([freshDatabase("cons_plug_a"), freshDatabase("cons_plug_b")])
    const schema = `CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent SELECT generate_series(1, 20);
      CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent); INSERT INTO child SELECT i, i FROM generate_series(1, 20) i;`
    await runSql(before, schema)
    await runSql(after, `${schema} SET session_replication_role = replica; DELETE FROM parent WHERE id > 15;`)
  })

  it("is a built-in gate plugin", () => {
    expect(plugin().kind).toBe("gate")
  })

  it.effect("finds the orphans and the lost parent rows; a clean pair has no findings", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const gate = yield* instantiate(plugin(), "gate", { tolerance: 0.1, samples: 2 }, undefined, "test")
        const [source, target, same] = yield* Effect.all([side(before), side(after), side(before)])
        const findings = yield* gate.run({ source, target })
        expect(findings.map((f) => [f.rule, f.object.table, f.severity])).toStrictEqual([
          ["consistency/orphan-rows", "child", "breaking"],
          ["consistency/row-count", "parent", "breaking"]
        ])
        expect(findings[0]?.details).toMatchObject({ orphans: 5, samples: [{ parent_id: "16" }, { parent_id: "17" }] })
        expect(findings[1]?.details).toMatchObject({ source: 20, target: 15, difference: -5 })
        expect(yield* gate.run({ source, target: same })).toStrictEqual([])
        // keyRangeMinRows 0: the same orphans, told apart by the parent's key range (1..15).
        const byRange = yield* instantiate(plugin(), "gate", { tolerance: 0.1, samples: 2, keyRangeMinRows: 0 }, undefined, "test")
        const ranged = yield* byRange.run({ source, target })
        expect(ranged[0]?.details).toMatchObject({ orphans: 5, samples: [{ parent_id: "16" }, { parent_id: "17" }], method: { kind: "key range", low: "1", high: "15" } })
      })
    )
  )

  it.effect("refuses bad options by name, and a snapshot side", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const bad = yield* Effect.flip(instantiate(plugin(), "gate", { tolerance: -1, jobs: 0, colour: "red", keyRangeMinRows: -5 }, undefined, "gate run ci"))
        expect(bad.message).toContain('gate run ci: plugin "consistency"')
        expect(bad.message).toContain("option tolerance")
        expect(bad.message).toContain("option jobs")
        expect(bad.message).toContain("option colour")
        expect(bad.message).toContain("option keyRangeMinRows")
        const gate = yield* instantiate(plugin(), "gate", {}, undefined, "test")
        const live = yield* side(before)
        const refused = yield* Effect.flip(gate.run({ source: { ...live, query: null, label: "schema.json" }, target: live }))
        expect(refused.message).toContain("SOURCE schema.json is a snapshot file")
      })
    )
  )
})
