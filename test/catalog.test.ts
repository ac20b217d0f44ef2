/**
 * The catalog reader against a real PostgreSQL: pagila (a real schema nobody here wrote) must come
 * out object for object as PostgreSQL's own views and catalogs list it, a hand-built schema covers
 * what pagila lacks, two reads are deep-equal, and a 1,000-table schema reads in one round.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  copyableColumns,
  decodeCatalog,
  findTable,
  foreignKeysOf,
  isGenerated,
  leafTables,
  quoteIdent,
  referencingForeignKeys,
  tableKey,
  type Catalog,
  type Table
} from "../src/engine/catalog.ts"
import pg from "pg"
import { readCatalog, readCatalogAt } from "../src/engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { adminUrl, freshDatabase, loadPagila, runSql } from "./support/database.ts"

const readAt = (url: string) =>
  Effect.gen(function* () {
    const endpoint = yield* resolveEndpoint(url, {})
    return yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness-test")))
  })

const sorted = (values: Iterable<string>) => [...values].sort()

const table = (catalog: Catalog, name: string, schema = "public"): Table => {
  const found = findTable(catalog, schema, name)
  if (found === undefined) throw new Error(`no table ${schema}.${name} in the catalog`)
  return found
}

describe("catalog of pagila", () => {
  let url = ""
  let catalog: Catalog
  beforeAll(async () => {
    url = await freshDatabase("catalog_pagila")
    await loadPagila(url)
    catalog = await Effect.runPromise(readAt(url))
  })

  it("lists the user schemas and extensions, nothing from pg_catalog or information_schema", async () => {
    const schemas = await runSql(url, `SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'`)
    expect(catalog.schemas.map((s) => s.name)).toEqual(sorted(schemas.map((r) => r.nspname)))
    const extensions = await runSql(url, `SELECT extname, extversion FROM pg_extension ORDER BY extname`)
    expect(catalog.extensions.map((e) => [e.name, e.version])).toEqual(extensions.map((r) => [r.extname, r.extversion]))
  })

  it("has every table and partitioned parent of pg_class, with the right relkind", async () => {
    const rows = await runSql(
      url,
      `SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')`
    )
    expect(rows).toHaveLength(70)
    expect(catalog.tables.map((t) => `${t.name}:${t.relkind}`)).toEqual(sorted(rows.map((r) => `${r.relname}:${r.relkind}`)))
  })

  it("has payment partitioned by range with its 55 partitions and their bounds", async () => {
    const payment = table(catalog, "payment")
    expect(payment.relkind).toBe("p")
    expect(payment.partitionKey).toBe("RANGE (payment_date)")
    const rows = await runSql(
      url,
      `SELECT c.relname AS partition, p.relname AS parent
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE c.relkind IN ('r', 'p')`
    )
    const partitions = catalog.tables.filter((t) => t.partitionOf !== null)
    expect(partitions.map((t) => `${t.name}<${t.partitionOf?.name}`)).toEqual(sorted(rows.map((r) => `${r.partition}<${r.parent}`)))
    expect(partitions).toHaveLength(55)
    expect(table(catalog, "payment_p2022_01").partitionOf).toEqual({
      schema: "public",
      name: "payment",
      bound: "FOR VALUES FROM ('2022-01-01 00:00:00+00') TO ('2022-02-01 00:00:00+00')"
    })
    // Rows live in the partitions, never in the partitioned parent.
    expect(leafTables(catalog).map((t) => t.name)).not.toContain("payment")
    expect(leafTables(catalog)).toHaveLength(69)
  })

  it("has every column of information_schema, in order, with nullability", async () => {
    const rows = await runSql(
      url,
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns
       WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`
    )
    const expected = new Map<string, Array<string>>()
    for (const row of rows) {
      expected.set(row.table_name, [...(expected.get(row.table_name) ?? []), `${row.column_name}${row.is_nullable === "NO" ? "!" : ""}`])
    }
    const relations = [...catalog.tables, ...catalog.views.filter((v) => !v.materialized)]
    const actual = new Map(relations.map((r) => [r.name, r.columns.map((c) => `${c.name}${c.notNull ? "!" : ""}`)]))
    expect(actual).toEqual(expected)
  })

  it("types columns: arrays, full-text, enums, domains, virtual generated", () => {
    const film = table(catalog, "film")
    const column = (name: string) => film.columns.find((c) => c.name === name)
    expect(column("special_features")).toMatchObject({
      type: "text[]",
      typeName: "_text",
      isArray: true,
      elementType: { schema: "pg_catalog", name: "text" }
    })
    expect(column("fulltext")).toMatchObject({ type: "tsvector", isArray: false, elementType: null, notNull: true })
    expect(column("rating")).toMatchObject({ type: "public.mpaa_rating", typeSchema: "public", typeName: "mpaa_rating", default: "'G'::public.mpaa_rating" })
    expect(column("release_year")).toMatchObject({ type: "public.year", typeSchema: "public", typeName: "year" })
    expect(column("film_id")?.default).toBe("nextval('public.film_film_id_seq'::regclass)")
    expect(column("length_hours")?.generated).toEqual({ kind: "virtual", expression: "round(((length)::numeric / 60.0), 2)" })
    expect(film.columns.filter(isGenerated).map((c) => c.name)).toEqual(["length_hours"])
    expect(copyableColumns(film).map((c) => c.name)).not.toContain("length_hours")
    expect(film.columns.map((c) => c.attnum)).toEqual(film.columns.map((_, i) => i + 1))
  })

  it("has every constraint of pg_constraint, composite keys in key order", async () => {
    const rows = await runSql(
      url,
      `SELECT conrelid::regclass::text AS rel, conname, contype FROM pg_constraint
       WHERE connamespace = 'public'::regnamespace AND conrelid <> 0 AND contype IN ('p', 'u', 'c', 'x', 'f')`
    )
    const actual = catalog.tables.flatMap((t) => [
      ...(t.primaryKey ? [`${t.name}.${t.primaryKey.name}:p`] : []),
      ...t.uniqueConstraints.map((c) => `${t.name}.${c.name}:u`),
      ...t.checkConstraints.map((c) => `${t.name}.${c.name}:c`),
      ...t.exclusionConstraints.map((c) => `${t.name}.${c.name}:x`),
      ...t.foreignKeys.map((c) => `${t.name}.${c.name}:f`)
    ])
    expect(sorted(actual)).toEqual(sorted(rows.map((r) => `${r.rel}.${r.conname}:${r.contype}`)))
    expect(table(catalog, "film_actor").primaryKey?.columns).toEqual(["actor_id", "film_id"])
    expect(table(catalog, "payment").primaryKey?.columns).toEqual(["payment_date", "payment_id"])
    expect(table(catalog, "payment_p2022_01").primaryKey?.inherited).toBe(true)
  })

  it("reads foreign keys with referenced columns and actions", () => {
    const address = table(catalog, "address")
    expect(foreignKeysOf(address)).toEqual([
      {
        name: "address_city_id_fkey",
        columns: ["city_id"],
        definition: "FOREIGN KEY (city_id) REFERENCES public.city(city_id) ON UPDATE CASCADE ON DELETE RESTRICT",
        deferrable: false,
        initiallyDeferred: false,
        validated: true,
        inherited: false,
        comment: null,
        references: { schema: "public", table: "city", columns: ["city_id"] },
        onDelete: "restrict",
        onUpdate: "cascade",
        match: "simple"
      }
    ])
    expect(referencingForeignKeys(catalog, { schema: "public", name: "city" }).map((r) => `${r.table.name}.${r.foreignKey.name}`)).toEqual([
      "address.address_city_id_fkey"
    ])
    // staff_store_id_fkey has no actions in the dump: PostgreSQL's default is NO ACTION.
    const staffStore = table(catalog, "staff").foreignKeys.find((fk) => fk.name === "staff_store_id_fkey")
    expect([staffStore?.onDelete, staffStore?.onUpdate]).toEqual(["no action", "no action"])
  })

  it("has every index of pg_indexes, on tables and the materialized view", async () => {
    const rows = await runSql(url, `SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'`)
    const actual = [...catalog.tables, ...catalog.views].flatMap((r) => r.indexes.map((i) => `${r.name}.${i.name}`))
    expect(sorted(actual)).toEqual(sorted(rows.map((r) => `${r.tablename}.${r.indexname}`)))
    const film = table(catalog, "film")
    expect(film.indexes.find((i) => i.name === "film_fulltext_idx")).toMatchObject({ method: "gist", keys: ["fulltext"], unique: false })
    expect(film.indexes.find((i) => i.name === "film_pkey")).toMatchObject({ primary: true, unique: true, constraint: "film_pkey", valid: true })
    expect(table(catalog, "rental").indexes.find((i) => i.name === "idx_unq_rental_rental_date_inventory_id_customer_id")?.keys).toEqual([
      "rental_date",
      "inventory_id",
      "customer_id"
    ])
  })

  it("has every trigger of information_schema with timing and events", async () => {
    const rows = await runSql(
      url,
      `SELECT event_object_table AS rel, trigger_name, action_timing, string_agg(event_manipulation, ',' ORDER BY event_manipulation) AS events
       FROM information_schema.triggers WHERE trigger_schema = 'public' GROUP BY 1, 2, 3`
    )
    const actual = catalog.tables.flatMap((t) => t.triggers.map((tr) => `${t.name}.${tr.name} ${tr.timing} ${sorted(tr.events).join(",")}`))
    expect(sorted(actual)).toEqual(sorted(rows.map((r) => `${r.rel}.${r.trigger_name} ${r.action_timing} ${r.events}`)))
    expect(table(catalog, "film").triggers.find((t) => t.name === "film_fulltext_trigger")).toMatchObject({
      timing: "BEFORE",
      events: ["INSERT", "UPDATE"],
      level: "ROW",
      function: { schema: "pg_catalog", name: "tsvector_update_trigger" },
      enabled: "origin",
      inherited: false
    })
  })

  it("has every view and materialized view, with their columns", async () => {
    const views = await runSql(url, `SELECT viewname FROM pg_views WHERE schemaname = 'public'`)
    const matviews = await runSql(url, `SELECT matviewname FROM pg_matviews WHERE schemaname = 'public'`)
    expect(catalog.views.filter((v) => !v.materialized).map((v) => v.name)).toEqual(sorted(views.map((r) => r.viewname)))
    expect(catalog.views.filter((v) => v.materialized).map((v) => v.name)).toEqual(sorted(matviews.map((r) => r.matviewname)))
    const customerList = catalog.views.find((v) => v.name === "customer_list")
    expect(customerList?.columns.map((c) => c.name)).toEqual(["id", "name", "address", "zip code", "phone", "city", "country", "notes", "sid"])
    expect(customerList?.definition).toContain("FROM public.customer cu")
    const rentalByCategory = catalog.views.find((v) => v.name === "rental_by_category")
    expect(rentalByCategory?.columns.map((c) => `${c.name} ${c.type}`)).toEqual(["category text", "total_sales numeric"])
    expect(rentalByCategory?.indexes.map((i) => i.name)).toEqual(["rental_category"])
  })

  it("has every sequence of pg_sequences with its parameters", async () => {
    const rows = await runSql(
      url,
      `SELECT sequencename, data_type::text, start_value::text, increment_by::text, min_value::text, max_value::text,
              cache_size::text, cycle FROM pg_sequences WHERE schemaname = 'public'`
    )
    expect(catalog.sequences.map((s) => [s.name, s.dataType, s.start, s.increment, s.min, s.max, s.cache, s.cycle])).toEqual(
      rows
        .map((r) => [r.sequencename, r.data_type, r.start_value, r.increment_by, r.min_value, r.max_value, r.cache_size, r.cycle])
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    )
    // pagila's dump declares its sequences without OWNED BY; the columns use them through defaults.
    const owned = await runSql(
      url,
      `SELECT count(*)::int AS n FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0`
    )
    expect(catalog.sequences.filter((s) => s.ownedBy !== null)).toHaveLength(owned[0].n)
  })

  it("has every function, procedure and aggregate of pg_proc", async () => {
    const rows = await runSql(url, `SELECT proname, prokind FROM pg_proc WHERE pronamespace = 'public'::regnamespace`)
    const kinds: Record<string, string> = { f: "function", p: "procedure", a: "aggregate", w: "window" }
    expect(catalog.routines.map((r) => `${r.name}:${r.kind}`)).toEqual(sorted(rows.map((r) => `${r.proname}:${kinds[r.prokind]}`)))
    expect(catalog.routines.find((r) => r.name === "rewards_report")).toMatchObject({
      identityArguments: "min_monthly_purchases integer, min_dollar_amount_purchased numeric",
      returnType: "SETOF public.customer",
      language: "plpgsql",
      volatility: "volatile",
      securityDefiner: true
    })
    expect(catalog.routines.find((r) => r.name === "last_day")).toMatchObject({ returnType: "date", volatility: "immutable", language: "sql" })
  })

  it("has the enum with its values in order and the domains, including bıgınt", async () => {
    const [range] = await runSql(url, `SELECT enum_range(NULL::public.mpaa_rating)::text[] AS labels`)
    expect(catalog.enums).toEqual([{ schema: "public", name: "mpaa_rating", values: range.labels, comment: null }])
    expect(range.labels).toEqual(["G", "PG", "PG-13", "R", "NC-17"])
    const domains = await runSql(url, `SELECT domain_name, data_type FROM information_schema.domains WHERE domain_schema = 'public'`)
    expect(catalog.domains.map((d) => `${d.name}:${d.baseType}`)).toEqual(sorted(domains.map((r) => `${r.domain_name}:${r.data_type}`)))
    expect(catalog.domains.find((d) => d.name === "bıgınt")).toMatchObject({
      baseType: "bigint",
      baseTypeName: { schema: "pg_catalog", name: "int8" },
      notNull: false,
      constraints: []
    })
    expect(catalog.domains.find((d) => d.name === "year")?.constraints).toEqual([
      { name: "year_check", definition: "CHECK (VALUE >= 1901 AND VALUE <= 2155)", validated: true }
    ])
    expect(catalog.compositeTypes).toEqual([])
  })

  it("has table privileges as information_schema reports them and no policies", async () => {
    const rows = await runSql(
      url,
      `SELECT grantee, privilege_type FROM information_schema.table_privileges WHERE table_schema = 'public' AND table_name = 'film'`
    )
    expect(table(catalog, "film").privileges.map((g) => `${g.grantee}:${g.privilege}`)).toEqual(
      expect.arrayContaining(rows.map((r) => `${r.grantee}:${r.privilege_type}`))
    )
    const [policies] = await runSql(url, `SELECT count(*)::int AS n FROM pg_policies`)
    expect(catalog.tables.flatMap((t) => t.policies)).toHaveLength(policies.n)
  })

  it.effect("reads the same model twice, and the model survives JSON and decoding", () =>
    Effect.gen(function* () {
      const again = yield* readAt(url)
      expect(again).toStrictEqual(catalog)
      const decoded = yield* decodeCatalog(JSON.parse(JSON.stringify(catalog)))
      expect(decoded).toStrictEqual(catalog)
    })
  )

  it.effect("decodeCatalog names what is wrong with a bad document", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeCatalog({ ...catalog, tables: [{ name: 1 }] }))
      expect(error.reason).toBe("BadInput")
      expect(error.message).toContain("tables")
    })
  )
})

describe("catalog of a hand-built schema", () => {
  const role = `catalog_test_${process.pid}`
  let url = ""
  let catalog: Catalog
  const schema = "Sales Ünïcode"
  beforeAll(async () => {
    url = await freshDatabase("catalog_hand")
    await runSql(adminUrl(), `CREATE ROLE ${role} NOLOGIN`)
    await runSql(
      url,
      `CREATE EXTENSION citext;
       CREATE SCHEMA "${schema}";
       COMMENT ON SCHEMA "${schema}" IS 'sales data';
       SET search_path = "${schema}", public;
       CREATE TYPE money_pair AS (amount numeric(12,2), currency char(3));
       CREATE DOMAIN positive_int AS integer NOT NULL DEFAULT 1 CONSTRAINT positive CHECK (VALUE > 0);
       CREATE TABLE account (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         region text NOT NULL,
         code integer NOT NULL,
         email citext,
         name text COLLATE "C",
         balance money_pair,
         total numeric GENERATED ALWAYS AS (code * 2) STORED,
         UNIQUE (region, code)
       );
       CREATE TABLE booking (
         id integer GENERATED BY DEFAULT AS IDENTITY (START WITH 100 INCREMENT BY 5) PRIMARY KEY,
         region text,
         account_code integer,
         room positive_int,
         during tstzrange NOT NULL,
         CONSTRAINT booking_account_fk FOREIGN KEY (region, account_code) REFERENCES account (region, code)
           MATCH FULL ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED,
         CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&),
         CONSTRAINT sane_room CHECK (room < 1000)
       );
       CREATE TABLE note (id serial PRIMARY KEY, booking_id integer, body text, "Written By" text);
       CREATE INDEX note_author ON note (lower(body), "Written By");
       ALTER TABLE note ADD CONSTRAINT note_booking_fk FOREIGN KEY (booking_id) REFERENCES booking (id) NOT VALID;
       CREATE INDEX note_body_partial ON note (body) WHERE body IS NOT NULL;
       CREATE INDEX account_lower_region ON account (lower(region)) INCLUDE (code);
       CREATE TABLE event (id integer, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
       CREATE TABLE event_2025 PARTITION OF event FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
       CREATE TABLE event_2026 PARTITION OF event FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
       CREATE TABLE event_ref (event_id integer, event_at date, FOREIGN KEY (event_id, event_at) REFERENCES event);
       CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
       CREATE TRIGGER event_touch BEFORE UPDATE ON event FOR EACH ROW EXECUTE FUNCTION touch();
       CREATE TRIGGER note_touch AFTER INSERT OR DELETE ON note FOR EACH STATEMENT EXECUTE FUNCTION touch();
       ALTER TABLE note DISABLE TRIGGER note_touch;
       CREATE PROCEDURE tidy(keep integer) LANGUAGE sql AS $$ SELECT 1 $$;
       CREATE SEQUENCE standalone_seq AS integer START 7 INCREMENT 3 MINVALUE 7 MAXVALUE 700 CACHE 10 CYCLE;
       ALTER TABLE account ENABLE ROW LEVEL SECURITY;
       ALTER TABLE account FORCE ROW LEVEL SECURITY;
       CREATE POLICY region_only ON account AS RESTRICTIVE FOR SELECT TO ${role} USING (region = current_user);
       GRANT SELECT (region, code) ON account TO ${role};
       GRANT USAGE ON SCHEMA "${schema}" TO ${role};
       COMMENT ON TABLE account IS 'customer accounts';
       COMMENT ON COLUMN account.email IS 'contact address';
       COMMENT ON CONSTRAINT sane_room ON booking IS 'no hotel is that big';
       COMMENT ON INDEX note_body_partial IS 'only notes with a body';
       COMMENT ON FUNCTION touch() IS 'keeps rows fresh';
       INSERT INTO note (body) VALUES ('same'), ('same');`
    )
    // A failed CREATE INDEX CONCURRENTLY leaves its index behind, marked invalid.
    await runSql(url, `CREATE UNIQUE INDEX CONCURRENTLY note_body_unique ON "${schema}".note (body)`).catch(() => {})
    catalog = await Effect.runPromise(readAt(url))
  })
  afterAll(async () => {
    await runSql(url, `DROP OWNED BY ${role}`)
    await runSql(adminUrl(), `DROP ROLE ${role}`)
  })

  it("keeps non-ASCII names exactly and quotes them for SQL", () => {
    expect(catalog.schemas.map((s) => s.name)).toEqual(["Sales Ünïcode", "public"])
    expect(catalog.schemas[0]?.comment).toBe("sales data")
    expect(tableKey(schema, "account")).toBe('"Sales Ünïcode"."account"')
    expect(quoteIdent('say "hi"')).toBe('"say ""hi"""')
    expect(findTable(catalog, schema, "account")?.name).toBe("account")
    expect(findTable(catalog, "public", "account")).toBeUndefined()
  })

  it("reads identity, generated, collated, extension-typed and composite-typed columns", () => {
    const account = table(catalog, "account", schema)
    const column = (name: string) => account.columns.find((c) => c.name === name)
    expect(column("id")).toMatchObject({ identity: "always", default: null, notNull: true })
    expect(table(catalog, "booking", schema).columns[0]).toMatchObject({ name: "id", identity: "by default" })
    expect(column("total")?.generated).toEqual({ kind: "stored", expression: "(code * 2)" })
    expect(column("name")?.collation).toBe("C")
    expect(column("region")?.collation).toBeNull()
    expect(column("email")).toMatchObject({ type: "public.citext", typeSchema: "public", typeName: "citext", comment: "contact address" })
    expect(column("balance")?.type).toBe('"Sales Ünïcode".money_pair')
    expect(catalog.compositeTypes).toEqual([
      expect.objectContaining({ schema, name: "money_pair" })
    ])
    expect(catalog.compositeTypes[0]?.attributes.map((a) => `${a.name} ${a.type}`)).toEqual(["amount numeric(12,2)", "currency character(3)"])
  })

  it("reads exclusion, check, deferrable and NOT VALID constraints", () => {
    const booking = table(catalog, "booking", schema)
    expect(booking.exclusionConstraints).toEqual([
      expect.objectContaining({ name: "no_overlap", columns: ["during"], definition: "EXCLUDE USING gist (during WITH &&)" })
    ])
    expect(booking.checkConstraints).toEqual([
      expect.objectContaining({ name: "sane_room", columns: ["room"], comment: "no hotel is that big" })
    ])
    expect(booking.foreignKeys).toEqual([
      expect.objectContaining({
        name: "booking_account_fk",
        columns: ["region", "account_code"],
        references: { schema, table: "account", columns: ["region", "code"] },
        onDelete: "cascade",
        onUpdate: "set null",
        match: "full",
        deferrable: true,
        initiallyDeferred: true,
        validated: true
      })
    ])
    expect(table(catalog, "note", schema).foreignKeys[0]).toMatchObject({ name: "note_booking_fk", validated: false })
    expect(table(catalog, "account", schema).uniqueConstraints[0]?.columns).toEqual(["region", "code"])
  })

  it("reads partial, expression, INCLUDE and invalid indexes", () => {
    const note = table(catalog, "note", schema)
    expect(note.indexes.find((i) => i.name === "note_body_partial")).toMatchObject({
      predicate: "body IS NOT NULL",
      valid: true,
      comment: "only notes with a body"
    })
    expect(note.indexes.find((i) => i.name === "note_body_unique")).toMatchObject({ unique: true, valid: false })
    expect(table(catalog, "account", schema).indexes.find((i) => i.name === "account_lower_region")).toMatchObject({
      keys: ["lower(region)"],
      include: ["code"],
      hasExpressions: true
    })
    // Plain key columns by their names, unquoted, also next to an expression.
    expect(note.indexes.find((i) => i.name === "note_author")?.keys).toEqual(["lower(body)", "Written By"])
  })

  it("keeps one foreign key to a partitioned table and marks what partitions inherit", () => {
    expect(table(catalog, "event_ref", schema).foreignKeys.map((fk) => fk.references.table)).toEqual(["event"])
    const partition = table(catalog, "event_2025", schema)
    expect(partition.partitionOf).toEqual({ schema, name: "event", bound: "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')" })
    expect(partition.primaryKey?.inherited).toBe(true)
    expect(partition.triggers).toEqual([expect.objectContaining({ name: "event_touch", inherited: true })])
    expect(table(catalog, "event", schema).partitionKey).toBe("RANGE (at)")
  })

  it("reads trigger levels and enabled state", () => {
    expect(table(catalog, "note", schema).triggers).toEqual([
      expect.objectContaining({
        name: "note_touch",
        timing: "AFTER",
        events: ["INSERT", "DELETE"],
        level: "STATEMENT",
        enabled: "disabled",
        function: { schema, name: "touch" }
      })
    ])
  })

  it("reads row-level security, policies, column grants and comments", () => {
    const account = table(catalog, "account", schema)
    expect([account.rowSecurity, account.forceRowSecurity, account.comment]).toEqual([true, true, "customer accounts"])
    expect(account.policies).toEqual([
      { name: "region_only", command: "SELECT", permissive: false, roles: [role], using: "region = CURRENT_USER", withCheck: null, comment: null }
    ])
    const granted = account.columns.filter((c) => c.privileges.length > 0)
    expect(granted.map((c) => [c.name, c.privileges])).toEqual([
      ["region", [{ grantee: role, privilege: "SELECT", grantable: false }]],
      ["code", [{ grantee: role, privilege: "SELECT", grantable: false }]]
    ])
    expect(catalog.schemas[0]?.privileges).toContainEqual({ grantee: role, privilege: "USAGE", grantable: false })
  })

  it("reads sequence ownership: serial, identity, and none", () => {
    const owner = (name: string) => catalog.sequences.find((s) => s.name === name)
    expect(owner("note_id_seq")).toMatchObject({ ownedBy: { schema, table: "note", column: "id" }, identity: false })
    expect(owner("account_id_seq")).toMatchObject({ ownedBy: { schema, table: "account", column: "id" }, identity: true, dataType: "bigint" })
    expect(owner("booking_id_seq")).toMatchObject({ start: "100", increment: "5", identity: true })
    expect(owner("standalone_seq")).toMatchObject({
      ownedBy: null,
      dataType: "integer",
      start: "7",
      increment: "3",
      min: "7",
      max: "700",
      cache: "10",
      cycle: true
    })
  })

  it("leaves out what the extension owns but lists the extension, domains and routines", async () => {
    expect(catalog.extensions.map((e) => e.name)).toEqual(["citext", "plpgsql"])
    const [citextFunctions] = await runSql(
      url,
      `SELECT count(*)::int AS n FROM pg_depend d WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass`
    )
    expect(citextFunctions.n).toBeGreaterThan(10)
    expect(catalog.routines.map((r) => `${r.schema}.${r.name}:${r.kind}`)).toEqual([`${schema}.tidy:procedure`, `${schema}.touch:function`])
    expect(catalog.routines.find((r) => r.name === "tidy")).toMatchObject({ returnType: null, identityArguments: "IN keep integer" })
    expect(catalog.routines.find((r) => r.name === "touch")?.comment).toBe("keeps rows fresh")
    expect(catalog.domains).toEqual([
      {
        schema,
        name: "positive_int",
        baseType: "integer",
        baseTypeName: { schema: "pg_catalog", name: "int4" },
        notNull: true,
        default: "1",
        collation: null,
        constraints: [{ name: "positive", definition: "CHECK (VALUE > 0)", validated: true }],
        comment: null
      }
    ])
  })
})

describe("catalog of 1,000 tables", () => {
  it.effect("is read in one round, every table and foreign key included", () =>
    Effect.gen(function* () {
      const url = yield* Effect.promise(() => freshDatabase("catalog_wide"))
      const statements = Array.from({ length: 1000 }, (_, i) => {
        const parent = i % 4 === 0 ? "" : `, parent_id integer REFERENCES t${String(i - (i % 4)).padStart(4, "0")} (id)`
        return `CREATE TABLE t${String(i).padStart(4, "0")} (id integer PRIMARY KEY, name text NOT NULL, at timestamptz DEFAULT now()${parent});`
      })
      yield* Effect.promise(() => runSql(url, `BEGIN; ${statements.join("\n")} COMMIT;`))
      const started = performance.now()
      const catalog = yield* readAt(url)
      console.log(`catalog of 1,000 tables read in ${Math.round(performance.now() - started)} ms (connect included)`)
      expect(catalog.tables).toHaveLength(1000)
      expect(catalog.tables.flatMap((t) => t.foreignKeys)).toHaveLength(750)
      expect(table(catalog, "t0005").foreignKeys[0]?.references).toEqual({ schema: "public", table: "t0004", columns: ["id"] })
      expect(referencingForeignKeys(catalog, { schema: "public", name: "t0004" })).toHaveLength(3)
    })
  )
})

describe("catalog: replica identity, publications, event triggers, snapshots", () => {
  it.effect("reads replica identity, publications with column lists and row filters, and event triggers", () =>
    Effect.gen(function* () {
      const url = yield* Effect.promise(() => freshDatabase("catalog_pub"))
      yield* Effect.promise(() =>
        runSql(
          url,
          `CREATE TABLE a (id integer PRIMARY KEY, code text NOT NULL, secret text);
           CREATE UNIQUE INDEX a_code_key ON a (code);
           ALTER TABLE a REPLICA IDENTITY USING INDEX a_code_key;
           CREATE TABLE b (id integer PRIMARY KEY); ALTER TABLE b REPLICA IDENTITY FULL;
           CREATE TABLE c (id integer); ALTER TABLE c REPLICA IDENTITY NOTHING;
           CREATE PUBLICATION everything FOR ALL TABLES;
           CREATE PUBLICATION warehouse FOR TABLE a (id, code) WHERE (id > 10), b WITH (publish = 'insert, delete', publish_via_partition_root = true);
           COMMENT ON PUBLICATION warehouse IS 'to the warehouse';
           CREATE FUNCTION guard() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
           CREATE EVENT TRIGGER no_drops ON sql_drop WHEN TAG IN ('DROP TABLE', 'ALTER TABLE') EXECUTE FUNCTION guard();
           ALTER EVENT TRIGGER no_drops ENABLE ALWAYS;`
        )
      )
      const catalog = yield* readAt(url)
      expect(table(catalog, "a").replicaIdentity).toEqual({ kind: "index", index: "a_code_key" })
      expect(table(catalog, "b").replicaIdentity).toEqual({ kind: "full", index: null })
      expect(table(catalog, "c").replicaIdentity).toEqual({ kind: "nothing", index: null })
      expect(catalog.publications).toEqual([
        { name: "everything", owner: expect.any(String), allTables: true, operations: ["insert", "update", "delete", "truncate"], viaRoot: false, tables: [], comment: null },
        {
          name: "warehouse",
          owner: expect.any(String),
          allTables: false,
          operations: ["insert", "delete"],
          viaRoot: true,
          tables: [
            { schema: "public", table: "a", columns: ["id", "code"], rowFilter: "(id > 10)" },
            { schema: "public", table: "b", columns: null, rowFilter: null }
          ],
          comment: "to the warehouse"
        }
      ])
      expect(catalog.eventTriggers).toEqual([
        {
          name: "no_drops",
          event: "sql_drop",
          function: { schema: "public", name: "guard" },
          enabled: "always",
          tags: ["ALTER TABLE", "DROP TABLE"],
          owner: expect.any(String),
          comment: null
        }
      ])
      // The model still round-trips through JSON.
      expect(yield* decodeCatalog(JSON.parse(JSON.stringify(catalog)))).toEqual(catalog)
    })
  )

  it.effect("readCatalogAt reads at an exported snapshot: a table created after it is not there", () =>
    Effect.gen(function* () {
      const url = yield* Effect.promise(() => freshDatabase("catalog_snap"))
      yield* Effect.promise(() => runSql(url, "CREATE TABLE before_snapshot (id integer)"))
      const holder = new pg.Client({ connectionString: url })
      yield* Effect.promise(() => holder.connect())
      try {
        yield* Effect.promise(() => holder.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        const snapshot = (yield* Effect.promise(() => holder.query("SELECT pg_export_snapshot() AS id"))).rows[0].id as string
        yield* Effect.promise(() => runSql(url, "CREATE TABLE after_snapshot (id integer)"))
        const endpoint = yield* resolveEndpoint(url, {})
        const atSnapshot = yield* readCatalogAt(snapshot).pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness-test")))
        const now = yield* readAt(url)
        expect(atSnapshot.tables.map((t) => t.name)).toEqual(["before_snapshot"])
        expect(now.tables.map((t) => t.name)).toEqual(["after_snapshot", "before_snapshot"])
      } finally {
        yield* Effect.promise(() => holder.end())
      }
    })
  )
})
