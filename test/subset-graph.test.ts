/**
 * The subset planner on the hard graph cases (test/fixtures/subset/graph.sql): a self reference,
 * a two-table cycle, two cycles sharing a table, a diamond; cascade depth, critical tables,
 * NULLed keys, excluded tables, fan-out caps, the row limit and a virtual key. Every case copies
 * through the real CLI and checks the target itself: all constraints validated, no orphans.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, runSql } from "./support/database.ts"
import { runCli } from "./support/cli.ts"
import { count, foreignKeyChecks, orphans } from "./fixtures/subset/checks.ts"

const SCHEMA = readFileSync(new URL("./fixtures/subset/graph.sql", import.meta.url), "utf8")
const ROWS = readFileSync(new URL("./fixtures/subset/graph-rows.sql", import.meta.url), "utf8")
const dir = mkdtempSync(join(tmpdir(), "dbh-subset-graph-"))
let fileCount = 0
const rulesFile = (yaml: string) => {
  const path = join(dir, `rules-${fileCount++}.yaml`)
  writeFileSync(path, yaml)
  return path
}

let source = ""
beforeAll(async () => {
  source = await freshDatabase("sg_src")
  await runSql(source, SCHEMA)
  await runSql(source, ROWS)
})

const copy = async (yaml: string) => {
  const target = await freshDatabase("sg_dst")
  await runSql(target, SCHEMA)
  const evidence = mkdtempSync(join(tmpdir(), "dbh-ev-"))
  const run = await runCli(["propagate", source, target, "--subset", rulesFile(yaml), "--evidence-dir", evidence, "--json", "--quiet"])
  expect(run.code, run.stderr).toBe(0)
  return { target, result: JSON.parse(run.stdout) }
}

const expectIntact = async (target: string) => {
  const checks = await foreignKeyChecks(target)
  expect(checks.length).toBe(17)
  for (const check of checks) {
    expect(check.validated, check.key).toBe(true)
    expect(check.orphans, check.key).toBe(0)
  }
}

const ids = async (url: string, table: string) => (await runSql<{ id: number }>(url, `SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id)

describe("subset: cycles and diamonds", () => {
  it("samples roots inside a self reference, a two-table cycle and two cycles sharing a table, with every key holding", async () => {
    const { target, result } = await copy(`
version: "1.0"
strategy: percentage
seed: 11
percentage: { sample_percentage: 0.1 }
roots: [employee, member, ca, orders]
cascade_selection: false
`)
    await expectIntact(target)
    const cycles = result.subset.cycles.map((c: Array<string>) => [...c].sort().join(","))
    expect(cycles.sort()).toEqual(["public.ca,public.cb,public.hub", "public.employee", "public.member,public.team"])
    // The roots are a tenth; the closure adds every manager chain up to the top.
    const employees = await ids(target, "employee")
    expect(employees).toContain(1)
    expect(employees.length).toBeGreaterThan(40)
    expect(employees.length).toBeLessThan(400)
    // ca roots pull their hub, whose b_id pulls cb, whose hub pulls more hubs, ... until closed.
    expect(await count(target, "hub")).toBeGreaterThan(0)
    expect(await count(target, "cb")).toBeGreaterThan(0)
    // The diamond: each order's customer and shop and both their regions, once each.
    expect(await count(target, "orders")).toBeGreaterThan(150)
    expect(await count(target, "orders")).toBeLessThan(250)
    const regions = await ids(target, "region")
    const needed = await runSql<{ id: number }>(
      target,
      "SELECT DISTINCT region_id AS id FROM customer UNION SELECT DISTINCT region_id FROM shop ORDER BY 1"
    )
    expect(regions).toEqual(needed.map((r) => r.id))
    // Nothing cascaded: no order lines.
    expect(await count(target, "order_line")).toBe(0)
  })

  it("follows children to max_cascade_depth and no further", async () => {
    const rules = (depth: number) => `
version: "1.0"
strategy: percentage
seed: 3
percentage: { sample_percentage: 0.05 }
roots: [orders]
cascade_selection: true
max_cascade_depth: ${depth}
`
    const one = await copy(rules(1))
    await expectIntact(one.target)
    const orders = await ids(one.target, "orders")
    // Depth 1: exactly the lines of the selected orders, nothing below them.
    expect(await count(one.target, "order_line")).toBe(await count(source, "order_line", `order_id = ANY('{${orders.join(",")}}'::int[])`))
    expect(await count(one.target, "line_note")).toBe(0)
    const two = await copy(rules(2))
    await expectIntact(two.target)
    expect(await count(two.target, "line_note")).toBeGreaterThan(0)
    expect(await count(two.target, "note_tag")).toBe(0)
    const three = await copy(rules(3))
    await expectIntact(three.target)
    expect(await count(three.target, "note_tag")).toBeGreaterThan(0)
    // Deeper levels never change the roots.
    expect(await ids(three.target, "orders")).toEqual(orders)
  })

  it("copies critical tables whole, and cascades from roots in cycles", async () => {
    const { target } = await copy(`
version: "1.0"
strategy: percentage
seed: 5
percentage: { sample_percentage: 0.1 }
roots: [team]
critical_tables: [status, region]
cascade_selection: true
max_cascade_depth: 2
`)
    await expectIntact(target)
    expect(await count(target, "status")).toBe(4)
    expect(await count(target, "region")).toBe(6)
    // Every member of a selected team came along (cascade), and the members' employees as parents.
    const teams = await ids(target, "team")
    expect(teams.length).toBeGreaterThan(0)
    expect(await count(target, "member")).toBe(await count(source, "member", `team_id = ANY('{${teams.join(",")}}'::int[])`))
    expect(await count(target, "orders")).toBe(0)
  })

  it("is deterministic: the same rules pick the same rows; another seed picks others", async () => {
    const yaml = (seed: number) => `
version: "1.0"
strategy: percentage
seed: ${seed}
percentage: { sample_percentage: 0.2 }
roots: [orders, employee]
cascade_selection: true
max_cascade_depth: 1
`
    const a = await copy(yaml(42))
    const b = await copy(yaml(42))
    const c = await copy(yaml(43))
    for (const table of ["orders", "order_line", "employee", "customer"]) {
      expect(await ids(b.target, table), table).toEqual(await ids(a.target, table))
    }
    expect(await ids(c.target, "orders")).not.toEqual(await ids(a.target, "orders"))
  })

  it("samples an integer key by hashint8extended as bigint and a text key by its text, and cascades children by their parent's expression", async () => {
    const threshold = Math.round(0.3 * 4294967296)
    const byInteger = (key: string) => `(hashint8extended(${key}::bigint, 21) & 4294967295) < ${threshold}`
    const byText = (key: string) => `(hashtextextended(${key}::text, 21) & 4294967295) < ${threshold}`
    const head = `version: "1.0"\nstrategy: percentage\nseed: 21\npercentage: { sample_percentage: 0.3 }\n`
    const plan = await runCli(["plan", source, "--subset", rulesFile(`${head}roots: [orders, status]\ncascade_selection: false\n`), "--count", "--json"])
    expect(plan.code, plan.stderr).toBe(0)
    const tables = JSON.parse(plan.stdout).tables as Array<{ table: string; sql: string; roots: { roots: number } }>
    const orders = tables.find((t) => t.table === "public.orders")!
    const status = tables.find((t) => t.table === "public.status")!
    expect(orders.sql).toContain(byInteger('x."id"'))
    expect(status.sql).toContain(byText('x."code"'))
    expect(orders.roots.roots).toBe(await count(source, "orders", byInteger("id")))
    expect(status.roots.roots).toBe(await count(source, "status", byText("code")))
    // Cascading tests each line's order_id by the orders' own expression: exactly the lines of
    // the sampled orders come along, and no order is pulled in by a line.
    const { target } = await copy(`${head}roots: [orders]\ncascade_selection: true\nmax_cascade_depth: 1\n`)
    await expectIntact(target)
    const sampledOrders = (await runSql<{ id: number }>(source, `SELECT id FROM orders WHERE ${byInteger("id")} ORDER BY id`)).map((r) => r.id)
    expect(sampledOrders.length).toBeGreaterThan(100)
    expect(await ids(target, "orders")).toEqual(sampledOrders)
    const lines = (await runSql<{ id: number }>(source, `SELECT id FROM order_line WHERE order_id = ANY('{${sampledOrders.join(",")}}'::int[]) ORDER BY id`)).map((r) => r.id)
    expect(await ids(target, "order_line")).toEqual(lines)
  })

  it("sets a nullable key to NULL when its parent is not selected, only where the rules allow it", async () => {
    const { target, result } = await copy(`
version: "1.0"
strategy: percentage
seed: 9
percentage: { sample_percentage: 0.1 }
roots: [employee]
foreign_keys:
  - { table: employee, columns: [manager_id], null_unselected_parent: true }
`)
    await expectIntact(target)
    const employees = await count(target, "employee")
    // No managers pulled in: only the sampled tenth, with some managers NULLed.
    expect(employees).toBeLessThan(70)
    const nulled = await count(target, "employee", "manager_id IS NULL")
    expect(nulled).toBeGreaterThan(1)
    const kept = await runSql<{ n: number }>(target, "SELECT count(*)::int AS n FROM employee e WHERE manager_id IS NOT NULL")
    expect(kept[0]!.n + nulled).toBe(employees)
    const table = result.subset.tables.find((t: { table: string }) => t.table === "public.employee")
    expect(table.nulledWhenParentNotSelected).toEqual(["manager_id"])
  })

  it("leaves excluded tables empty and NULLs the nullable keys into them", async () => {
    const target = await freshDatabase("sg_dst")
    await runSql(target, SCHEMA)
    await runSql(target, "INSERT INTO coupon VALUES (999, 'stale')")
    const run = await runCli([
      "propagate", source, target, "--quiet", "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")),
      "--subset", rulesFile(`
version: "1.0"
strategy: percentage
percentage: { sample_percentage: 0.3 }
roots: [orders]
excluded_tables: [coupon, comment]
`)
    ])
    expect(run.code, run.stderr).toBe(0)
    await expectIntact(target)
    expect(await count(target, "coupon")).toBe(0)
    expect(await count(target, "comment")).toBe(0)
    expect(await count(target, "orders")).toBeGreaterThan(400)
    expect(await count(target, "orders", "coupon_id IS NOT NULL")).toBe(0)
  })

  it("caps children per parent and roots per table without breaking a key", async () => {
    const { target } = await copy(`
version: "1.0"
strategy: percentage
seed: 1
percentage: { sample_percentage: 0.5 }
roots: [orders]
row_limit: 50
cascade_selection: true
max_cascade_depth: 1
foreign_keys:
  - { table: order_line, columns: [order_id], max_children_per_parent: 2 }
`)
    await expectIntact(target)
    expect(await count(target, "orders")).toBe(50)
    const most = await runSql<{ n: number }>(target, "SELECT coalesce(max(n), 0)::int AS n FROM (SELECT count(*) AS n FROM order_line GROUP BY order_id) x")
    expect(most[0]!.n).toBe(2)
    expect(await count(target, "order_line")).toBe(100)
  })

  it("treats a declared virtual foreign key like a real one", async () => {
    const yaml = (virtual: boolean) => `
version: "1.0"
strategy: percentage
seed: 2
percentage: { sample_percentage: 0.2 }
roots: [comment]
${virtual ? "virtual_foreign_keys:\n  - { table: comment, columns: [subject_id], references: { table: orders, columns: [id] } }" : ""}
`
    const without = await copy(yaml(false))
    expect(await orphans(without.target, "comment", ["subject_id"], "orders", ["id"])).toBeGreaterThan(0)
    const { target } = await copy(yaml(true))
    await expectIntact(target)
    expect(await count(target, "comment")).toBeGreaterThan(100)
    expect(await orphans(target, "comment", ["subject_id"], "orders", ["id"])).toBe(0)
  })

  it("keeps a temporal key (PERIOD) holding, validates a key the target had NOT VALID, and lets a NOT ENFORCED key be", async () => {
    const schema = (target: boolean) => `
      CREATE EXTENSION btree_gist;
      CREATE TABLE plan_period (id int, valid daterange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));
      CREATE TABLE booking (id int PRIMARY KEY, plan_id int, valid daterange
        ${target ? "" : ", FOREIGN KEY (plan_id, PERIOD valid) REFERENCES plan_period (id, PERIOD valid)"});
      ${target ? "ALTER TABLE booking ADD FOREIGN KEY (plan_id, PERIOD valid) REFERENCES plan_period (id, PERIOD valid) NOT VALID;" : ""}
      CREATE TABLE vendor (id int PRIMARY KEY);
      CREATE TABLE remark (id int PRIMARY KEY, vendor_id int);
      ALTER TABLE remark ADD CONSTRAINT remark_vendor_fkey FOREIGN KEY (vendor_id) REFERENCES vendor NOT ENFORCED;`
    const db = await freshDatabase("sg_temporal_src")
    await runSql(db, schema(false))
    // Each plan has three adjacent periods; each booking spans the border of two of them.
    await runSql(db, `
      INSERT INTO plan_period SELECT i, daterange(d, d + 30) FROM generate_series(1, 200) i, (VALUES (date '2024-01-01'), (date '2024-01-31'), (date '2024-03-01')) v(d);
      INSERT INTO booking SELECT i, 1 + i % 200, daterange(date '2024-01-20', date '2024-02-10') FROM generate_series(1, 1000) i;
      INSERT INTO vendor VALUES (1);
      INSERT INTO remark VALUES (1, 1), (2, 99);
      ANALYZE;`)
    const target = await freshDatabase("sg_temporal_dst")
    await runSql(target, schema(true))
    const evidence = mkdtempSync(join(tmpdir(), "dbh-ev-"))
    const rules = rulesFile(`version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 0.2 }\nroots: [booking]\ncritical_tables: [vendor, remark]\n`)
    const run = await runCli(["propagate", db, target, "--subset", rules, "--evidence-dir", evidence, "--json", "--quiet"])
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.subset.allForeignKeysValid).toBe(true)
    const keys = await runSql<{ name: string; validated: boolean }>(target, "SELECT conname AS name, convalidated AS validated FROM pg_constraint WHERE contype = 'f' ORDER BY 1")
    expect(keys).toStrictEqual([
      { name: "booking_plan_id_valid_fkey", validated: true },
      { name: "remark_vendor_fkey", validated: false }
    ])
    expect(result.foreignKeys.validation).toContainEqual({ table: "public.remark", name: "remark_vendor_fkey", validated: false, notEnforced: true })
    const bookings = await count(target, "booking")
    expect(bookings).toBeGreaterThan(100)
    expect(bookings).toBeLessThan(400)
    // Every period of each booked plan came along (the key's other columns are followed).
    const periods = await runSql<{ n: number }>(target, "SELECT count(*)::int AS n FROM plan_period WHERE id IN (SELECT plan_id FROM booking)")
    expect(await count(target, "plan_period")).toBe(periods[0]!.n)
    expect(periods[0]!.n).toBe(3 * (await runSql<{ n: number }>(target, "SELECT count(DISTINCT plan_id)::int AS n FROM booking"))[0]!.n)
    expect(await count(target, "remark")).toBe(2)
  })

  it("takes a temporal key's options by its columns as declared, PERIOD column included, and refuses NULLing it", async () => {
    const schema = `
      CREATE EXTENSION btree_gist;
      CREATE TABLE plan_period (id int, valid daterange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));
      CREATE TABLE booking (id int PRIMARY KEY, plan_id int, valid daterange NOT NULL,
        FOREIGN KEY (plan_id, PERIOD valid) REFERENCES plan_period (id, PERIOD valid));`
    const db = await freshDatabase("sg_temporal_opt_src")
    await runSql(db, `${schema}
      INSERT INTO plan_period SELECT i, daterange('2024-01-01', '2024-03-01') FROM generate_series(1, 50) i;
      INSERT INTO booking SELECT i, 1 + i % 50, daterange('2024-01-10', '2024-01-20') FROM generate_series(1, 500) i;
      ANALYZE;`)
    const target = await freshDatabase("sg_temporal_opt_dst")
    await runSql(target, schema)
    const rules = rulesFile(
      `version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 0.2 }\nroots: [booking]\nforeign_keys:\n  - { table: booking, columns: [plan_id, valid], null_unselected_parent: true }\n`
    )
    // NULLing a temporal key is refused (its value holds only where the copied periods cover its
    // range); named by its columns as declared, the refusal says so, and nothing is written.
    await runSql(target, "INSERT INTO plan_period VALUES (1, daterange('2024-01-01', '2024-03-01')); INSERT INTO booking VALUES (1, 1, daterange('2024-01-10', '2024-01-20'))")
    const run = await runCli(["propagate", db, target, "--subset", rules, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--json", "--quiet"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${rules}:6:`)
    expect(run.stderr).toContain("foreign_keys[0].null_unselected_parent: public.booking's key booking_plan_id_valid_fkey is temporal: it is followed to every period of its parent, never set to NULL")
    expect(await count(target, "booking")).toBe(1)
    // Without the option, every booking copied brings its plan's periods.
    const followed = rulesFile(`version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 0.2 }\nroots: [booking]\nnull_unselected_parents: true\n`)
    const copy = await runCli(["propagate", db, target, "--subset", followed, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--json", "--quiet"])
    expect(copy.code, copy.stderr).toBe(0)
    expect(JSON.parse(copy.stdout).subset.allForeignKeysValid).toBe(true)
    const bookings = await runSql<{ n: number; plans: number }>(target, "SELECT count(*)::int AS n, count(plan_id)::int AS plans FROM booking")
    expect(bookings[0]!.n).toBeGreaterThan(50)
    expect(bookings[0]!.plans).toBe(bookings[0]!.n)
    expect(await count(target, "plan_period")).toBeGreaterThan(0)
    // Named without its PERIOD column, the key is refused with the names to use.
    const short = rulesFile(`version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 0.2 }\nroots: [booking]\nforeign_keys:\n  - { table: booking, columns: [plan_id], null_unselected_parent: true }\n`)
    const refused = await runCli(["plan", db, "--subset", short])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${short}:6:`)
    expect(refused.stderr).toContain("foreign_keys[0].columns: public.booking's key booking_plan_id_valid_fkey is temporal: name all its columns, PERIOD column last: [plan_id, valid]")
    // propagate refuses it the same way, before writing: the target keeps the earlier copy.
    await runSql(target, "DELETE FROM booking WHERE id % 2 = 0")
    const kept = await count(target, "booking")
    const refusedCopy = await runCli(["propagate", db, target, "--subset", short, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
    expect(refusedCopy.code).toBe(1)
    expect(refusedCopy.stderr).toContain("is temporal: name all its columns")
    expect(await count(target, "booking")).toBe(kept)
  })

  it("cascades through a numeric key whose children write its values at another scale (2.00 = 2), every key holding", async () => {
    const schema = "CREATE TABLE amount (id numeric PRIMARY KEY); CREATE TABLE part (id int PRIMARY KEY, amount_id numeric NOT NULL REFERENCES amount);"
    const db = await freshDatabase("sg_numeric_src")
    await runSql(db, `${schema}
      INSERT INTO amount SELECT g FROM generate_series(1, 200) g;
      INSERT INTO part SELECT g, (g % 200 + 1)::numeric(10,2) FROM generate_series(1, 1000) g;
      ANALYZE;`)
    const target = await freshDatabase("sg_numeric_dst")
    await runSql(target, schema)
    const rules = rulesFile(`version: "1.0"\nstrategy: percentage\nseed: 7\npercentage: { sample_percentage: 0.2 }\nroots: [amount]\ncascade_selection: true\nmax_cascade_depth: 1\n`)
    const run = await runCli(["propagate", db, target, "--subset", rules, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--json", "--quiet"])
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).subset.allForeignKeysValid).toBe(true)
    // The parts copied are exactly the parts of the amounts copied (the cascade), none missing.
    const amounts = (await runSql<{ id: string }>(target, "SELECT id::text AS id FROM amount")).map((r) => r.id)
    expect(amounts.length).toBeGreaterThan(10)
    const [wanted] = await runSql<{ n: number }>(db, `SELECT count(*)::int AS n FROM part WHERE amount_id = ANY('{${amounts.join(",")}}'::numeric[])`)
    expect(await count(target, "part")).toBe(wanted!.n)
    expect(await orphans(target, "part", ["amount_id"], "amount", ["id"])).toBe(0)
  })

  it("cascades through a two-column key only to children with the whole key (a NULL part references nothing)", async () => {
    const schema = "CREATE TABLE pair (a int, b int, PRIMARY KEY (a, b)); CREATE TABLE pair_ref (id int PRIMARY KEY, pa int, pb int, FOREIGN KEY (pa, pb) REFERENCES pair);"
    const db = await freshDatabase("sg_nullpart_src")
    await runSql(db, `${schema} INSERT INTO pair VALUES (1, 1), (2, 2); INSERT INTO pair_ref VALUES (1, 1, 1), (2, NULL, NULL), (3, 7, NULL), (4, NULL, 2);`)
    const target = await freshDatabase("sg_nullpart_dst")
    await runSql(target, schema)
    const rules = rulesFile(`version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 1 }\nroots: [pair]\ncascade_selection: true\n`)
    const run = await runCli(["propagate", db, target, "--subset", rules, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
    expect(run.code, run.stderr).toBe(0)
    expect(await ids(target, "pair_ref")).toStrictEqual([1])
  })

  it("cascades from one sampled partition only to its own children, not to those of a partition that is no root", async () => {
    const schema = `CREATE TABLE ledger (id int PRIMARY KEY) PARTITION BY RANGE (id);
      CREATE TABLE ledger_lo PARTITION OF ledger FOR VALUES FROM (1) TO (101);
      CREATE TABLE ledger_hi PARTITION OF ledger FOR VALUES FROM (101) TO (201);
      CREATE TABLE entry (id int PRIMARY KEY, ledger_id int NOT NULL REFERENCES ledger);`
    const db = await freshDatabase("sg_partroot_src")
    await runSql(db, `${schema} INSERT INTO ledger SELECT generate_series(1, 200); INSERT INTO entry SELECT g, g FROM generate_series(1, 200) g; ANALYZE;`)
    const rulesFor = (roots: string) => rulesFile(`version: "1.0"\nstrategy: percentage\nseed: 3\npercentage: { sample_percentage: 0.5 }\nroots: [${roots}]\ncascade_selection: true\n`)
    for (const [roots, hi] of [["ledger_lo", false], ["ledger_lo, ledger_hi", true]] as const) {
      const target = await freshDatabase("sg_partroot_dst")
      await runSql(target, schema)
      const run = await runCli(["propagate", db, target, "--subset", rulesFor(roots), "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
      expect(run.code, run.stderr).toBe(0)
      const sampled = await runSql<{ id: number }>(db, `SELECT id FROM ledger WHERE (hashint8extended(id::bigint, 3) & 4294967295) < ${Math.round(0.5 * 4294967296)} ${hi ? "" : "AND id <= 100"} ORDER BY id`)
      expect(await ids(target, "ledger"), roots).toStrictEqual(sampled.map((r) => r.id))
      // Each ledger row has one entry, with its id: the entries are exactly the copied ledgers'.
      expect(await ids(target, "entry"), roots).toStrictEqual(sampled.map((r) => r.id))
    }
  })

  it("NULLs a key into a partitioned table only when its parent is selected in none of the partitions", async () => {
    const schema = `CREATE TABLE account (id int PRIMARY KEY) PARTITION BY RANGE (id);
      CREATE TABLE account_lo PARTITION OF account FOR VALUES FROM (1) TO (101);
      CREATE TABLE account_hi PARTITION OF account FOR VALUES FROM (101) TO (201);
      CREATE TABLE payment (id int PRIMARY KEY, account_id int REFERENCES account);`
    const db = await freshDatabase("sg_partnull_src")
    // Each payment references an account of either partition; every tenth references none.
    await runSql(db, `${schema} INSERT INTO account SELECT generate_series(1, 200);
      INSERT INTO payment SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 1 + (g * 37) % 200 END FROM generate_series(1, 400) g; ANALYZE;`)
    const target = await freshDatabase("sg_partnull_dst")
    await runSql(target, schema)
    const rules = rulesFile(
      `version: "1.0"\nstrategy: percentage\nseed: 5\npercentage: { sample_percentage: 0.3 }\nroots: [account, payment]\nforeign_keys:\n  - { table: payment, columns: [account_id], null_unselected_parent: true }\n`
    )
    const run = await runCli(["propagate", db, target, "--subset", rules, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--json", "--quiet"])
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.subset.allForeignKeysValid).toBe(true)
    const sampled = `(hashint8extended(id::bigint, 5) & 4294967295) < ${Math.round(0.3 * 4294967296)}`
    // The accounts are exactly the sampled ones of both partitions: none pulled in by a payment.
    const accounts = await runSql<{ id: number }>(db, `SELECT id FROM account WHERE ${sampled} ORDER BY id`)
    expect(await ids(target, "account")).toStrictEqual(accounts.map((r) => r.id))
    expect(accounts.some((r) => r.id <= 100) && accounts.some((r) => r.id > 100)).toBe(true)
    // Each sampled payment keeps its account when that account was sampled, in either partition, else NULL.
    const expected = await runSql<{ id: number; account_id: number | null }>(
      db,
      `SELECT id, CASE WHEN account_id IN (SELECT id FROM account WHERE ${sampled}) THEN account_id END AS account_id FROM payment WHERE ${sampled} ORDER BY id`
    )
    const copied = await runSql<{ id: number; account_id: number | null }>(target, "SELECT id, account_id FROM payment ORDER BY id")
    expect(copied).toStrictEqual(expected)
    expect(copied.filter((r) => r.account_id !== null && r.account_id <= 100).length).toBeGreaterThan(0)
    expect(copied.filter((r) => r.account_id !== null && r.account_id > 100).length).toBeGreaterThan(0)
    expect(copied.filter((r) => r.account_id === null).length).toBeGreaterThan(copied.filter((r) => r.id % 10 === 0).length)
    expect(result.subset.tables.find((t: { table: string }) => t.table === "public.payment").nulledWhenParentNotSelected).toEqual(["account_id"])

    // One partition critical (copied whole): its accounts are always there, so only keys into the other can be NULLed.
    const mixed = await freshDatabase("sg_partnull_dst")
    await runSql(mixed, schema)
    const mixedRules = rulesFile(
      `version: "1.0"\nstrategy: percentage\nseed: 5\npercentage: { sample_percentage: 0.3 }\nroots: [account_lo, payment]\ncritical_tables: [account_hi]\nforeign_keys:\n  - { table: payment, columns: [account_id], null_unselected_parent: true }\n`
    )
    const mixedRun = await runCli(["propagate", db, mixed, "--subset", mixedRules, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--json", "--quiet"])
    expect(mixedRun.code, mixedRun.stderr).toBe(0)
    expect(JSON.parse(mixedRun.stdout).subset.allForeignKeysValid).toBe(true)
    const kept = `id > 100 OR ${sampled}`
    expect(await ids(mixed, "account")).toStrictEqual((await runSql<{ id: number }>(db, `SELECT id FROM account WHERE ${kept} ORDER BY id`)).map((r) => r.id))
    expect(await runSql(mixed, "SELECT id, account_id FROM payment ORDER BY id")).toStrictEqual(
      await runSql(db, `SELECT id, CASE WHEN account_id IN (SELECT id FROM account WHERE ${kept}) THEN account_id END AS account_id FROM payment WHERE ${sampled} ORDER BY id`)
    )
  })

  it("NULLs a two-column key whose parent is not copied, and keeps one with a NULL part (it references nothing)", async () => {
    const schema = "CREATE TABLE pair (a int, b int, PRIMARY KEY (a, b)); CREATE TABLE pair_ref (id int PRIMARY KEY, pa int, pb int, FOREIGN KEY (pa, pb) REFERENCES pair);"
    const db = await freshDatabase("sg_nullkeep_src")
    await runSql(db, `${schema} INSERT INTO pair VALUES (1, 1); INSERT INTO pair_ref VALUES (1, 1, 1), (2, 7, NULL), (3, NULL, 9), (4, NULL, NULL);`)
    for (const excluded of [false, true]) {
      const target = await freshDatabase("sg_nullkeep_dst")
      await runSql(target, schema)
      const rules = rulesFile(`version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 1 }\nroots: [pair_ref]\n${excluded ? "excluded_tables: [pair]" : "null_unselected_parents: true"}\n`)
      const run = await runCli(["propagate", db, target, "--subset", rules, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
      expect(run.code, run.stderr).toBe(0)
      expect(await runSql(target, "SELECT id, pa, pb FROM pair_ref ORDER BY id"), `excluded: ${excluded}`).toStrictEqual([
        { id: 1, pa: null, pb: null },
        { id: 2, pa: 7, pb: null },
        { id: 3, pa: null, pb: 9 },
        { id: 4, pa: null, pb: null }
      ])
    }
  })
})
