// The demo "prod" dataset: its size, its integrity, its schema-only twin and its determinism,
// checked against a real PostgreSQL.
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import {
  DEMO_SHOP_PERSONAL_DATA,
  DEMO_SHOP_TABLES,
  createDemoShopSchema,
  loadDemoShop,
  type DemoShopCounts
} from "../src/engine/demo-shop.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const ROWS = 2_000

const countRows = async (url: string) => {
  const counts: Record<string, number> = {}
  for (const table of DEMO_SHOP_TABLES) {
    const [row] = await runSql<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table}`)
    counts[table] = row?.n ?? -1
  }
  return counts
}

/** One md5 per table over every row in key order (generated columns included). */
const digest = async (url: string) => {
  const digests: Record<string, string> = {}
  for (const table of DEMO_SHOP_TABLES) {
    const key = table === "order_items" ? "order_id, line_no" : "id"
    const [row] = await runSql<{ md5: string }>(
      url,
      `SELECT md5(string_agg(t::text, E'\\n' ORDER BY ${key})) AS md5 FROM ${table} AS t`
    )
    digests[table] = row?.md5 ?? ""
  }
  return digests
}

/** Every foreign key of the database, checked by an anti-join built from the catalog. */
const orphansPerForeignKey = async (url: string) => {
  const keys = await runSql<{ name: string; child: string; parent: string; child_cols: Array<string>; parent_cols: Array<string>; validated: boolean }>(
    url,
    `SELECT c.conname AS name, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
            array(SELECT quote_ident(attname) FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i)
                  JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i) AS child_cols,
            array(SELECT quote_ident(attname) FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i)
                  JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i) AS parent_cols,
            c.convalidated AS validated
     FROM pg_constraint AS c
     WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND c.conparentid = 0
     ORDER BY 1`
  )
  const result: Record<string, { orphans: number; validated: boolean }> = {}
  for (const key of keys) {
    const notNull = key.child_cols.map((column) => `c.${column} IS NOT NULL`).join(" AND ")
    const matches = key.child_cols.map((column, i) => `p.${key.parent_cols[i]} = c.${column}`).join(" AND ")
    const [row] = await runSql<{ n: number }>(
      url,
      `SELECT count(*)::int AS n FROM ${key.child} AS c
       WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${key.parent} AS p WHERE ${matches})`
    )
    result[key.name] = { orphans: row?.n ?? -1, validated: key.validated }
  }
  return result
}

/** What a schema is made of: relations and columns, constraints, indexes, partition bounds, types. */
const schemaOf = async (url: string) => ({
  columns: await runSql(
    url,
    `SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
            a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid) AS default_value
     FROM pg_class AS c
     JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN pg_attrdef AS d ON d.adrelid = c.oid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     ORDER BY c.relname, a.attnum`
  ),
  constraints: await runSql(
    url,
    `SELECT coalesce(conrelid::regclass::text, '') AS relation, contypid::regtype::text AS domain, conname,
            pg_get_constraintdef(oid) AS definition, convalidated
     FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2, 3`
  ),
  indexes: await runSql(
    url,
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`
  ),
  partitions: await runSql(
    url,
    `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_class AS c WHERE c.relispartition AND c.relnamespace = 'public'::regnamespace ORDER BY 1`
  ),
  types: await runSql(
    url,
    `SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod) AS base,
            array(SELECT enumlabel::text FROM pg_enum WHERE enumtypid = t.oid ORDER BY enumsortorder) AS labels
     FROM pg_type AS t
     WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
     ORDER BY 1`
  ),
  sequences: await runSql(url, `SELECT sequencename, data_type::text FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1`)
})

describe("demo-shop", () => {
  let shop: string
  let counts: DemoShopCounts

  beforeAll(async () => {
    shop = await freshDatabase("shop")
    counts = await Effect.runPromise(loadDemoShop(shop, { rows: ROWS }))
  })

  it("scales every table from rows (the number of orders)", async () => {
    expect(counts.orders).toBe(ROWS)
    expect(counts.customers).toBe(ROWS / 4)
    expect(counts.products).toBe(ROWS / 100)
    expect(counts.order_items / ROWS).toBeGreaterThan(2.3)
    expect(counts.order_items / ROWS).toBeLessThan(2.7)
    expect(counts.payments / ROWS).toBeGreaterThan(0.85)
    expect(counts.payments / ROWS).toBeLessThan(1.05)
    expect(await countRows(shop)).toEqual(counts)
  })

  it("satisfies every foreign key, including the self-reference and the partitioned table's", async () => {
    const foreignKeys = await orphansPerForeignKey(shop)
    expect(Object.keys(foreignKeys).sort()).toEqual([
      "customers_referred_by_fkey",
      "order_items_order_id_fkey",
      "order_items_product_id_fkey",
      "orders_customer_id_fkey",
      "payments_order_id_fkey"
    ])
    for (const [name, check] of Object.entries(foreignKeys)) {
      expect({ name, ...check }).toEqual({ name, orphans: 0, validated: true })
    }
    const [referred] = await runSql<{ n: number }>(shop, `SELECT count(*)::int AS n FROM customers WHERE referred_by IS NOT NULL`)
    expect(referred?.n).toBeGreaterThan(0)
  })

  it("holds what a copier must carry: partitions, generated values, sequences, arrays, jsonb, bytea", async () => {
    const partitions = await runSql<{ partition: string; n: number }>(
      shop,
      `SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM payments GROUP BY 1 ORDER BY 1`
    )
    expect(partitions.map((p) => p.partition)).toEqual([
      "payments_2023", "payments_2024", "payments_2025_01", "payments_2025_02", "payments_2025_03",
      "payments_2025_04", "payments_2025_05", "payments_2025_06", "payments_default"
    ])
    const [facts] = await runSql(
      shop,
      `SELECT (SELECT bool_and(line_total = quantity * unit_price) FROM order_items) AS generated_ok,
              (SELECT bool_and(o.total = (SELECT sum(line_total) FROM order_items WHERE order_id = o.id)) FROM orders AS o) AS totals_ok,
              (SELECT last_value FROM orders_id_seq) AS orders_seq,
              (SELECT count(*)::int FROM customers WHERE cardinality(tags) > 0) AS tagged,
              (SELECT count(*)::int FROM customers WHERE preferences ? 'language') AS with_language,
              (SELECT min(octet_length(card_fingerprint)) FROM payments) AS fingerprint_bytes,
              (SELECT count(*)::int FROM customers WHERE first_name || last_name ~ '[^[:ascii:]]') AS non_ascii_names,
              (SELECT count(*)::int FROM customers WHERE family(signup_ip) = 6) AS ipv6`
    )
    expect(facts).toMatchObject({ generated_ok: true, totals_ok: true, orders_seq: String(ROWS), fingerprint_bytes: 32 })
    expect(facts?.tagged).toBeGreaterThan(0)
    expect(facts?.with_language).toBe(counts.customers)
    expect(facts?.non_ascii_names).toBeGreaterThan(0)
    expect(facts?.ipv6).toBeGreaterThan(0)
  })

  it("lists personal-data columns that exist", async () => {
    const columns = await runSql<{ table_name: string; column_name: string }>(
      shop,
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`
    )
    const existing = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`))
    for (const { table, column } of DEMO_SHOP_PERSONAL_DATA) expect(existing).toContain(`${table}.${column}`)
  })

  it("creates the same schema, with no rows, for an empty dev database", async () => {
    const dev = await freshDatabase("dev")
    await Effect.runPromise(createDemoShopSchema(dev))
    expect(await schemaOf(dev)).toEqual(await schemaOf(shop))
    expect(await countRows(dev)).toEqual(Object.fromEntries(DEMO_SHOP_TABLES.map((table) => [table, 0])))
  })

  it("gives the same content for the same rows and seed, and other content for another seed", async () => {
    const again = await freshDatabase("shop_again")
    await Effect.runPromise(loadDemoShop(again, { rows: ROWS }))
    expect(await digest(again)).toEqual(await digest(shop))
    const reseeded = await freshDatabase("shop_seed")
    await Effect.runPromise(loadDemoShop(reseeded, { rows: ROWS, seed: 7 }))
    expect((await digest(reseeded))["customers"]).not.toBe((await digest(shop))["customers"])
  })

  it("refuses a database that already has the schema, and leaves it as it was", async () => {
    const before = await digest(shop)
    const exit = await Effect.runPromiseExit(loadDemoShop(shop, { rows: 10 }))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("Refused")
    expect(await digest(shop)).toEqual(before)
  })

  it("rejects a row count that is not a positive integer", async () => {
    const exit = await Effect.runPromiseExit(loadDemoShop(shop, { rows: 0 }))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("BadInput")
  })
})
