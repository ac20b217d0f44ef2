/**
 * Drift rules against a real PostgreSQL, table-driven: pagila is loaded once into a template
 * database and cloned per case; SOURCE gets the case's `source` SQL, TARGET its `target` SQL
 * (both get `both` first), and `diffSchemas(SOURCE, TARGET)` must contain the rule with its
 * severity (`fires`) or must not (`misses`, a near miss). A side without SQL is the pristine
 * pagila catalog, read once. Data-aware cases also run `applyDataChecks` on TARGET.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Catalog } from "../src/engine/catalog.ts"
import { readCatalog } from "../src/engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { applyDataChecks } from "../src/engine/drift-data-checks.ts"
import { HarnessError } from "../src/engine/errors.ts"
import { objectPath, type Finding, type Severity } from "../src/engine/findings.ts"
import {
  classifyTypeChange,
  DEFAULT_DRIFT_OPTIONS,
  diffSchemas,
  DRIFT_RULES,
  type DriftOptions,
  type DriftRuleName
} from "../src/engine/schema-diff.ts"
import { adminUrl, loadPagila, runSql, urlFor } from "./support/database.ts"

const TEMPLATE = `drift_tpl_${process.pid}`
const ROLE = `drift_role_${process.pid}`
const clones: Array<string> = []
let pristine: Catalog

const readAt = (url: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const endpoint = yield* resolveEndpoint(url, {})
      return yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "drift-test", 1)))
    })
  )

/** A statement starting with `TRY ` may fail (e.g. a concurrent index build left invalid on purpose). */
const clone = async (statements: ReadonlyArray<string>): Promise<string> => {
  const name = `drift_${process.pid}_${clones.length}`
  clones.push(name)
  await runSql(adminUrl(), `CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE}"`)
  const url = urlFor(name)
  for (const sql of statements) {
    if (sql.startsWith("TRY ")) await runSql(url, sql.slice(4)).catch(() => {})
    else await runSql(url, sql)
  }
  return url
}

/** Run the data checks on TARGET in a READ ONLY transaction, as the CLI does. */
const dataChecked = (findings: ReadonlyArray<Finding>, source: Catalog, target: Catalog, url: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const endpoint = yield* resolveEndpoint(url, {})
      return yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const query = (text: string) =>
          sql.unsafe<Record<string, unknown>>(text).pipe(
            Effect.mapError((cause) => new HarnessError({ reason: "Internal", message: String(cause.reason.cause ?? cause), cause }))
          )
        return yield* sql.withTransaction(applyDataChecks(findings, source, target, query)).pipe(
          Effect.provideService(SqlClient.BeginTransaction, "BEGIN READ ONLY"),
          Effect.mapError((e) => (e instanceof HarnessError ? e : new HarnessError({ reason: "Internal", message: String(e) })))
        )
      }).pipe(Effect.provide(sqlClientLayer(endpoint, "drift-test", 1)))
    })
  )

beforeAll(async () => {
  await runSql(adminUrl(), `CREATE DATABASE "${TEMPLATE}"`)
  await runSql(adminUrl(), `DROP ROLE IF EXISTS ${ROLE}; CREATE ROLE ${ROLE} NOLOGIN`)
  await loadPagila(urlFor(TEMPLATE))
  pristine = await readAt(await clone([]))
})

afterAll(async () => {
  for (const name of [...clones, TEMPLATE]) await runSql(adminUrl(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {})
  await runSql(adminUrl(), `DROP ROLE IF EXISTS ${ROLE}`).catch(() => {})
})

type Sql = string | ReadonlyArray<string>
interface Sides {
  readonly both?: Sql
  readonly source?: Sql
  readonly target?: Sql
  readonly options?: Partial<DriftOptions>
}
interface Case extends Sides {
  readonly name: string
  readonly rule: DriftRuleName
  readonly fires: boolean
  /** The finding's object path, when it matters which object fires. */
  readonly path?: string
  /** Run applyDataChecks; `severity` and `details` are then checked after refinement. */
  readonly data?: boolean
  readonly severity?: Severity
  readonly details?: Readonly<Record<string, unknown>>
}

const list = (sql: Sql | undefined): Array<string> => (sql === undefined ? [] : typeof sql === "string" ? [sql] : [...sql])

/** One clone per distinct list of statements: many cases share a side (pristine pagila plus NOTE, ...). */
const sides = new Map<string, Promise<{ readonly url: string; readonly catalog: Catalog }>>()
const side = (statements: ReadonlyArray<string>) => {
  const key = JSON.stringify(statements)
  let found = sides.get(key)
  if (found === undefined) {
    found = clone(statements).then(async (url) => ({ url, catalog: await readAt(url) }))
    sides.set(key, found)
  }
  return found
}

const run = async (sides: Sides, data = false) => {
  const both = list(sides.both)
  const sourceSql = [...both, ...list(sides.source)]
  const targetSql = [...both, ...list(sides.target)]
  const [source, target] = await Promise.all([
    sourceSql.length > 0 ? side(sourceSql) : undefined,
    targetSql.length > 0 ? side(targetSql) : undefined
  ])
  const findings = diffSchemas(source?.catalog ?? pristine, target?.catalog ?? pristine, { ...DEFAULT_DRIFT_OPTIONS, ...sides.options })
  return data && target !== undefined ? dataChecked(findings, source?.catalog ?? pristine, target.catalog, target.url) : findings
}

const fires = (name: string, rule: DriftRuleName, sides: Sides & Partial<Case> = {}): Case => ({ name, rule, fires: true, ...sides })
const misses = (name: string, rule: DriftRuleName, sides: Sides & Partial<Case> = {}): Case => ({ name, rule, fires: false, ...sides })

const NOTE = `CREATE TABLE public.note (id integer PRIMARY KEY, body varchar(100), qty bigint, price numeric(10,2), at timestamptz, tag text, language_id integer)`
const NOPK = `CREATE TABLE public.nopk (id integer, v text)`
const V1 = `CREATE VIEW public.v AS SELECT actor_id, first_name FROM public.actor`
const FN = (returns: string, body: string) => `CREATE FUNCTION public.f(x integer) RETURNS ${returns} LANGUAGE sql AS $$ ${body} $$`
const PUB = `CREATE PUBLICATION pub FOR TABLE public.actor`
const EVT = [
  `CREATE FUNCTION public.evt() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$`,
  `CREATE EVENT TRIGGER evt_guard ON ddl_command_end WHEN TAG IN ('DROP TABLE') EXECUTE FUNCTION public.evt()`
]
const DOMAIN = (constraint = "") => `CREATE DOMAIN public.pos AS integer ${constraint}; CREATE TABLE public.dm (id integer, p public.pos, q public.pos)`
const DOMAIN_WITH_ARRAY = (constraint = "") => `CREATE DOMAIN public.pos AS integer ${constraint}; CREATE TABLE public.dm (id integer, p public.pos, ps public.pos[])`
const BOOKING = `CREATE TABLE public.booking (id integer, during tstzrange)`
const PARENT = `CREATE TABLE public.ev (id integer, at date) PARTITION BY RANGE (id)`

const CASES: ReadonlyArray<Case> = [
  // schemas and tables
  fires("schema only on TARGET is dropped", "schema-dropped", { target: "CREATE SCHEMA extra", path: "extra" }),
  misses("schema only on SOURCE is no drop", "schema-dropped", { source: "CREATE SCHEMA extra" }),
  fires("schema only on SOURCE is added", "schema-added", { source: "CREATE SCHEMA extra" }),
  misses("schema on both is not added", "schema-added", { both: "CREATE SCHEMA extra" }),
  fires("table only on TARGET is dropped", "table-dropped", { target: "CREATE TABLE extra (id int)", path: "public.extra" }),
  misses("table only on SOURCE is no drop", "table-dropped", { source: "CREATE TABLE extra (id int)" }),
  fires("table renamed", "table-renamed", { both: NOTE, source: "ALTER TABLE note RENAME TO memo", path: "public.memo" }),
  misses("different table instead is no rename", "table-renamed", { both: NOTE, source: "DROP TABLE note; CREATE TABLE memo (id integer PRIMARY KEY, title varchar(20), amount numeric)" }),
  fires("column renamed", "column-renamed", { both: NOTE, source: "ALTER TABLE note RENAME COLUMN tag TO label", path: "public.note.label" }),
  misses("column dropped and another added is no rename", "column-renamed", { both: NOTE, source: "ALTER TABLE note DROP COLUMN tag; ALTER TABLE note ADD COLUMN label integer" }),
  fires("table only on SOURCE is added", "table-added", { source: "CREATE TABLE extra (id int)" }),
  misses("table on both is not added", "table-added", { both: "CREATE TABLE extra (id int)" }),
  // partitions
  fires("partition key changed", "partition-key-changed", { source: "CREATE TABLE ev (id int, at date) PARTITION BY RANGE (id)", target: "CREATE TABLE ev (id int, at date) PARTITION BY RANGE (at)" }),
  misses("same partition key", "partition-key-changed", { both: PARENT }),
  fires("partition detached", "partition-detached", { source: "ALTER TABLE payment DETACH PARTITION payment_p2022_01", path: "public.payment_p2022_01" }),
  misses("partition detached on TARGET is an attach, not a detach", "partition-detached", { target: "ALTER TABLE payment DETACH PARTITION payment_p2022_01" }),
  fires("partition attached (TARGET detached it)", "partition-attached", { target: "ALTER TABLE payment DETACH PARTITION payment_p2022_01", path: "public.payment_p2022_01" }),
  fires("new partition is attached", "partition-attached", { source: "CREATE TABLE payment_p2030_01 PARTITION OF payment FOR VALUES FROM ('2030-01-01') TO ('2030-02-01')" }),
  misses("new partition of a new table is no attach", "partition-attached", { source: [PARENT, "CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM (1) TO (10)"] }),
  fires("partition dropped", "partition-dropped", { source: "DROP TABLE payment_p2022_01", path: "public.payment_p2022_01" }),
  misses("partition dropped is not a table drop", "table-dropped", { source: "DROP TABLE payment_p2022_01" }),
  misses("partition detached is not dropped", "partition-dropped", { source: "ALTER TABLE payment DETACH PARTITION payment_p2022_01" }),
  fires("partition bound changed", "partition-bound-changed", { both: PARENT, source: "CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM (1) TO (10)", target: "CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM (1) TO (20)" }),
  misses("same partition bound", "partition-bound-changed", { both: [PARENT, "CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM (1) TO (10)"] }),
  misses("index on a partitioned parent is reported once, not per partition", "index-added", { source: "CREATE INDEX payment_amount_idx ON payment (amount)", path: "public.payment_p2022_01.payment_p2022_01_amount_idx" }),
  // RLS and policies
  fires("RLS enabled", "rls-enabled", { source: "ALTER TABLE actor ENABLE ROW LEVEL SECURITY" }),
  misses("RLS enabled on both", "rls-enabled", { both: "ALTER TABLE actor ENABLE ROW LEVEL SECURITY" }),
  fires("RLS disabled", "rls-disabled", { target: "ALTER TABLE actor ENABLE ROW LEVEL SECURITY" }),
  misses("RLS enabled on SOURCE is no disable", "rls-disabled", { source: "ALTER TABLE actor ENABLE ROW LEVEL SECURITY" }),
  fires("RLS forced", "rls-forced", { source: "ALTER TABLE actor FORCE ROW LEVEL SECURITY" }),
  misses("RLS forced on both", "rls-forced", { both: "ALTER TABLE actor FORCE ROW LEVEL SECURITY" }),
  fires("RLS unforced", "rls-unforced", { target: "ALTER TABLE actor FORCE ROW LEVEL SECURITY" }),
  misses("RLS forced on SOURCE is no unforce", "rls-unforced", { source: "ALTER TABLE actor FORCE ROW LEVEL SECURITY" }),
  fires("permissive policy dropped", "permissive-policy-dropped", { target: "CREATE POLICY p ON actor USING (true)" }),
  misses("restrictive policy dropped is not permissive", "permissive-policy-dropped", { target: "CREATE POLICY p ON actor AS RESTRICTIVE USING (true)" }),
  fires("restrictive policy dropped", "restrictive-policy-dropped", { target: "CREATE POLICY p ON actor AS RESTRICTIVE USING (true)" }),
  misses("permissive policy dropped is not restrictive", "restrictive-policy-dropped", { target: "CREATE POLICY p ON actor USING (true)" }),
  fires("policy added", "policy-added", { source: "CREATE POLICY p ON actor USING (true)" }),
  misses("policy on both", "policy-added", { both: "CREATE POLICY p ON actor USING (true)" }),
  fires("policy changed", "policy-changed", { source: "CREATE POLICY p ON actor USING (actor_id > 0)", target: "CREATE POLICY p ON actor USING (true)" }),
  misses("same policy", "policy-changed", { both: "CREATE POLICY p ON actor USING (actor_id > 0)" }),
  // columns
  fires("column dropped", "column-dropped", { source: "ALTER TABLE actor DROP COLUMN last_update", path: "public.actor.last_update" }),
  misses("column added is no drop", "column-dropped", { source: "ALTER TABLE actor ADD COLUMN nick text" }),
  fires("nullable column added", "column-added", { source: "ALTER TABLE actor ADD COLUMN nick text", path: "public.actor.nick" }),
  misses("NOT NULL column without default is not a plain add", "column-added", { source: "ALTER TABLE actor ADD COLUMN nick text NOT NULL" }),
  fires("NOT NULL column without default", "not-null-column-added", { source: "ALTER TABLE actor ADD COLUMN nick text NOT NULL" }),
  misses("NOT NULL column with a default", "not-null-column-added", { source: "ALTER TABLE actor ADD COLUMN nick text NOT NULL DEFAULT ''" }),
  fires("column added with a volatile default", "volatile-default-added", { source: "ALTER TABLE actor ADD COLUMN token uuid DEFAULT gen_random_uuid()" }),
  misses("column added with a stable default", "volatile-default-added", { source: "ALTER TABLE actor ADD COLUMN seen timestamptz DEFAULT now()" }),
  fires("column type narrowed: varchar shrinks", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER body TYPE varchar(50)" }),
  fires("column type narrowed: bigint to integer", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER qty TYPE integer" }),
  fires("column type narrowed: numeric precision", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER price TYPE numeric(8,2)" }),
  fires("column type narrowed: timestamptz to timestamp", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER at TYPE timestamp" }),
  misses("varchar grows is not narrowed", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER body TYPE varchar(200)" }),
  fires("column type widened: varchar grows", "column-type-widened", { both: NOTE, source: "ALTER TABLE note ALTER body TYPE varchar(200)" }),
  fires("column type widened: integer to bigint", "column-type-widened", { both: NOTE, source: "ALTER TABLE note ALTER id TYPE bigint" }),
  fires("column type widened: varchar to text", "column-type-widened", { both: NOTE, source: "ALTER TABLE note ALTER body TYPE text" }),
  misses("bigint to integer is not widened", "column-type-widened", { both: NOTE, source: "ALTER TABLE note ALTER qty TYPE integer" }),
  fires("column type changed family", "column-type-changed", { both: NOTE, source: "ALTER TABLE note ALTER at TYPE date" }),
  misses("same type", "column-type-changed", { both: NOTE }),
  fires("nullable to NOT NULL", "not-null-added", { both: NOTE, source: "ALTER TABLE note ALTER body SET NOT NULL", path: "public.note.body" }),
  misses("NOT NULL to nullable is not not-null-added", "not-null-added", { both: NOTE, target: "ALTER TABLE note ALTER body SET NOT NULL" }),
  fires("NOT NULL to nullable", "not-null-dropped", { both: NOTE, target: "ALTER TABLE note ALTER body SET NOT NULL" }),
  misses("nullable to NOT NULL is no drop", "not-null-dropped", { both: NOTE, source: "ALTER TABLE note ALTER body SET NOT NULL" }),
  fires("default removed from a NOT NULL column", "not-null-default-removed", { source: "ALTER TABLE actor ALTER last_update DROP DEFAULT" }),
  misses("default removed from a nullable column", "not-null-default-removed", { source: "ALTER TABLE customer ALTER last_update DROP DEFAULT" }),
  fires("default removed from a nullable column", "default-changed", { source: "ALTER TABLE customer ALTER last_update DROP DEFAULT" }),
  fires("default changed", "default-changed", { source: "ALTER TABLE actor ALTER last_update SET DEFAULT clock_timestamp()" }),
  misses("default set to the same", "default-changed", { source: "ALTER TABLE actor ALTER last_update SET DEFAULT now()" }),
  fires("default added", "default-added", { both: NOTE, source: "ALTER TABLE note ALTER tag SET DEFAULT 'x'" }),
  misses("default on both", "default-added", { both: [NOTE, "ALTER TABLE note ALTER tag SET DEFAULT 'x'"] }),
  fires("generated expression changed", "generated-changed", { both: NOTE, source: "ALTER TABLE note ADD COLUMN total numeric GENERATED ALWAYS AS (price * 2) STORED", target: "ALTER TABLE note ADD COLUMN total numeric GENERATED ALWAYS AS (price * 3) STORED" }),
  misses("same generated expression", "generated-changed", { both: [NOTE, "ALTER TABLE note ADD COLUMN total numeric GENERATED ALWAYS AS (price * 2) STORED"] }),
  fires("identity added", "identity-added", { both: NOTE, source: "ALTER TABLE note ALTER id ADD GENERATED BY DEFAULT AS IDENTITY" }),
  misses("identity on both", "identity-added", { both: [NOTE, "ALTER TABLE note ALTER id ADD GENERATED BY DEFAULT AS IDENTITY"] }),
  fires("identity removed", "identity-removed", { both: NOTE, target: "ALTER TABLE note ALTER id ADD GENERATED BY DEFAULT AS IDENTITY" }),
  misses("identity added is no removal", "identity-removed", { both: NOTE, source: "ALTER TABLE note ALTER id ADD GENERATED BY DEFAULT AS IDENTITY" }),
  fires("identity BY DEFAULT to ALWAYS", "identity-changed", { both: [NOTE, "ALTER TABLE note ALTER id ADD GENERATED BY DEFAULT AS IDENTITY"], source: "ALTER TABLE note ALTER id SET GENERATED ALWAYS" }),
  misses("identity unchanged", "identity-changed", { both: [NOTE, "ALTER TABLE note ALTER id ADD GENERATED ALWAYS AS IDENTITY"] }),
  fires("collation changed", "collation-changed", { both: NOTE, source: `ALTER TABLE note ALTER tag TYPE text COLLATE "C"` }),
  misses("retyped to the same collation", "collation-changed", { both: NOTE, source: "ALTER TABLE note ALTER tag TYPE text" }),
  // enums
  fires("enum dropped", "enum-dropped", { target: "CREATE TYPE mood AS ENUM ('a')" }),
  misses("enum on both", "enum-dropped", { both: "CREATE TYPE mood AS ENUM ('a')" }),
  fires("enum added", "enum-added", { source: "CREATE TYPE mood AS ENUM ('a')" }),
  misses("enum only on TARGET is no add", "enum-added", { target: "CREATE TYPE mood AS ENUM ('a')" }),
  fires("enum value removed", "enum-value-removed", { target: "ALTER TYPE mpaa_rating ADD VALUE 'X'", path: "public.mpaa_rating.X" }),
  misses("enum value appended is no removal", "enum-value-removed", { source: "ALTER TYPE mpaa_rating ADD VALUE 'X'" }),
  fires("enum value renamed", "enum-value-renamed", { source: "ALTER TYPE mpaa_rating RENAME VALUE 'NC-17' TO 'NC17'" }),
  misses("enum value replaced elsewhere is no rename", "enum-value-renamed", { source: "CREATE TYPE mood AS ENUM ('a', 'b')", target: "CREATE TYPE mood AS ENUM ('c', 'a')" }),
  fires("enum values reordered", "enum-values-reordered", { source: "CREATE TYPE mood AS ENUM ('a', 'b', 'c')", target: "CREATE TYPE mood AS ENUM ('b', 'a', 'c')" }),
  misses("enum in the same order", "enum-values-reordered", { both: "CREATE TYPE mood AS ENUM ('a', 'b', 'c')" }),
  fires("enum value inserted mid-list", "enum-value-inserted", { source: "ALTER TYPE mpaa_rating ADD VALUE 'PG-15' BEFORE 'R'" }),
  misses("enum value appended is not inserted", "enum-value-inserted", { source: "ALTER TYPE mpaa_rating ADD VALUE 'X'" }),
  fires("enum value appended", "enum-value-appended", { source: "ALTER TYPE mpaa_rating ADD VALUE 'X'" }),
  misses("enum value inserted is not appended", "enum-value-appended", { source: "ALTER TYPE mpaa_rating ADD VALUE 'PG-15' BEFORE 'R'" }),
  // domains
  fires("domain dropped", "domain-dropped", { target: "CREATE DOMAIN posint AS integer" }),
  misses("domain on both", "domain-dropped", { both: "CREATE DOMAIN posint AS integer" }),
  fires("domain added", "domain-added", { source: "CREATE DOMAIN posint AS integer" }),
  misses("domain only on TARGET is no add", "domain-added", { target: "CREATE DOMAIN posint AS integer" }),
  fires("domain base type changed", "domain-type-changed", { source: "CREATE DOMAIN code AS varchar(10)", target: "CREATE DOMAIN code AS varchar(20)" }),
  misses("domain base type equal", "domain-type-changed", { both: "CREATE DOMAIN code AS varchar(10)" }),
  fires("domain NOT NULL added", "domain-not-null-added", { source: "ALTER DOMAIN year SET NOT NULL" }),
  misses("domain NOT NULL dropped is no add", "domain-not-null-added", { target: "ALTER DOMAIN year SET NOT NULL" }),
  fires("domain NOT NULL dropped", "domain-not-null-dropped", { target: "ALTER DOMAIN year SET NOT NULL" }),
  misses("domain NOT NULL added is no drop", "domain-not-null-dropped", { source: "ALTER DOMAIN year SET NOT NULL" }),
  fires("domain default changed", "domain-default-changed", { source: "ALTER DOMAIN year SET DEFAULT 2000" }),
  misses("domain default equal", "domain-default-changed", { both: "ALTER DOMAIN year SET DEFAULT 2000" }),
  fires("domain constraint added (tightened)", "domain-constraint-added", { source: "ALTER DOMAIN year ADD CONSTRAINT year_past CHECK (VALUE < 3000)" }),
  misses("domain constraint added NOT VALID", "domain-constraint-added", { source: "ALTER DOMAIN year ADD CONSTRAINT year_past CHECK (VALUE < 3000) NOT VALID" }),
  fires("domain constraint NOT VALID", "domain-constraint-not-valid", { source: "ALTER DOMAIN year ADD CONSTRAINT year_past CHECK (VALUE < 3000) NOT VALID" }),
  misses("domain constraint validated", "domain-constraint-not-valid", { source: "ALTER DOMAIN year ADD CONSTRAINT year_past CHECK (VALUE < 3000)" }),
  fires("domain constraint changed", "domain-constraint-changed", { source: "CREATE DOMAIN code AS text CONSTRAINT code_len CHECK (length(VALUE) < 5)", target: "CREATE DOMAIN code AS text CONSTRAINT code_len CHECK (length(VALUE) < 9)" }),
  misses("domain constraint renamed only", "domain-constraint-changed", { source: "ALTER DOMAIN year RENAME CONSTRAINT year_check TO year_range" }),
  fires("domain constraint dropped", "domain-constraint-dropped", { source: "ALTER DOMAIN year DROP CONSTRAINT year_check" }),
  misses("domain constraint renamed is no drop", "domain-constraint-dropped", { source: "ALTER DOMAIN year RENAME CONSTRAINT year_check TO year_range" }),
  // composite types
  fires("composite type dropped", "composite-type-dropped", { target: "CREATE TYPE pair AS (a int, b text)" }),
  misses("composite type on both", "composite-type-dropped", { both: "CREATE TYPE pair AS (a int, b text)" }),
  fires("composite type added", "composite-type-added", { source: "CREATE TYPE pair AS (a int, b text)" }),
  misses("composite type only on TARGET is no add", "composite-type-added", { target: "CREATE TYPE pair AS (a int, b text)" }),
  fires("composite attribute dropped", "composite-attribute-dropped", { source: "CREATE TYPE pair AS (a int)", target: "CREATE TYPE pair AS (a int, b text)" }),
  misses("composite attribute added is no drop", "composite-attribute-dropped", { source: "CREATE TYPE pair AS (a int, b text)", target: "CREATE TYPE pair AS (a int)" }),
  fires("composite attribute changed", "composite-attribute-changed", { source: "CREATE TYPE pair AS (a bigint, b text)", target: "CREATE TYPE pair AS (a int, b text)" }),
  misses("composite attribute same type", "composite-attribute-changed", { both: "CREATE TYPE pair AS (a int, b text)" }),
  fires("composite attribute added", "composite-attribute-added", { source: "CREATE TYPE pair AS (a int, b text)", target: "CREATE TYPE pair AS (a int)" }),
  misses("composite attribute dropped is no add", "composite-attribute-added", { source: "CREATE TYPE pair AS (a int)", target: "CREATE TYPE pair AS (a int, b text)" }),
  // keys and constraints
  fires("primary key added", "primary-key-added", { both: NOPK, source: "ALTER TABLE nopk ADD PRIMARY KEY (id)" }),
  misses("primary key on both", "primary-key-added", { both: [NOPK, "ALTER TABLE nopk ADD PRIMARY KEY (id)"] }),
  fires("primary key dropped", "primary-key-dropped", { both: NOPK, target: "ALTER TABLE nopk ADD PRIMARY KEY (id)" }),
  misses("primary key added is no drop", "primary-key-dropped", { both: NOPK, source: "ALTER TABLE nopk ADD PRIMARY KEY (id)" }),
  fires("primary key changed", "primary-key-changed", { both: NOTE, source: "ALTER TABLE note DROP CONSTRAINT note_pkey, ADD PRIMARY KEY (id, qty)" }),
  misses("primary key renamed only", "primary-key-changed", { both: NOTE, source: "ALTER TABLE note RENAME CONSTRAINT note_pkey TO note_pk" }),
  fires("foreign key dropped", "foreign-key-dropped", { source: "ALTER TABLE address DROP CONSTRAINT address_city_id_fkey", path: "public.address.address_city_id_fkey" }),
  misses("foreign key renamed only", "foreign-key-dropped", { source: "ALTER TABLE address RENAME CONSTRAINT address_city_id_fkey TO address_city_fk" }),
  fires("foreign key ON DELETE changed", "foreign-key-action-changed", { source: "ALTER TABLE address DROP CONSTRAINT address_city_id_fkey, ADD CONSTRAINT address_city_id_fkey FOREIGN KEY (city_id) REFERENCES city ON UPDATE CASCADE ON DELETE CASCADE" }),
  misses("foreign key recreated with the same actions", "foreign-key-action-changed", { source: "ALTER TABLE address DROP CONSTRAINT address_city_id_fkey, ADD CONSTRAINT address_city_id_fkey FOREIGN KEY (city_id) REFERENCES city ON UPDATE CASCADE ON DELETE RESTRICT" }),
  fires("foreign key changed (MATCH FULL)", "foreign-key-changed", { source: "ALTER TABLE address DROP CONSTRAINT address_city_id_fkey, ADD CONSTRAINT address_city_id_fkey FOREIGN KEY (city_id) REFERENCES city MATCH FULL ON UPDATE CASCADE ON DELETE RESTRICT" }),
  misses("foreign key unchanged", "foreign-key-changed", { source: "ALTER TABLE address DROP CONSTRAINT address_city_id_fkey, ADD CONSTRAINT address_city_id_fkey FOREIGN KEY (city_id) REFERENCES city ON UPDATE CASCADE ON DELETE RESTRICT" }),
  fires("foreign key added", "foreign-key-added", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_language_fk FOREIGN KEY (language_id) REFERENCES language" }),
  misses("foreign key added NOT VALID is not a validated add", "foreign-key-added", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_language_fk FOREIGN KEY (language_id) REFERENCES language NOT VALID" }),
  fires("foreign key left NOT VALID", "foreign-key-not-valid", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_language_fk FOREIGN KEY (language_id) REFERENCES language NOT VALID" }),
  misses("foreign key NOT VALID on both", "foreign-key-not-valid", { both: [NOTE, "ALTER TABLE note ADD CONSTRAINT note_language_fk FOREIGN KEY (language_id) REFERENCES language NOT VALID"] }),
  fires("unique added", "unique-added", { source: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (first_name, last_name)" }),
  misses("unique on both", "unique-added", { both: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (first_name, last_name)" }),
  fires("unique changed", "unique-changed", { source: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (first_name, last_name)", target: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (last_name)" }),
  misses("unique renamed only", "unique-changed", { source: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (last_name)", target: "ALTER TABLE actor ADD CONSTRAINT actor_names UNIQUE (last_name)" }),
  fires("unique dropped", "unique-dropped", { target: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (first_name, last_name)" }),
  misses("unique added is no drop", "unique-dropped", { source: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (first_name, last_name)" }),
  fires("check added", "check-added", { source: "ALTER TABLE actor ADD CONSTRAINT actor_first_name_check CHECK (first_name <> '')" }),
  misses("check added NOT VALID is not a validated add", "check-added", { source: "ALTER TABLE actor ADD CONSTRAINT actor_first_name_check CHECK (first_name <> '') NOT VALID" }),
  fires("check left NOT VALID", "check-not-valid", { source: "ALTER TABLE actor ADD CONSTRAINT actor_first_name_check CHECK (first_name <> '') NOT VALID" }),
  misses("check validated on both", "check-not-valid", { both: "ALTER TABLE actor ADD CONSTRAINT actor_first_name_check CHECK (first_name <> '')" }),
  fires("check changed", "check-changed", { source: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 0)", target: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 10)" }),
  misses("check unchanged", "check-changed", { both: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 0)" }),
  fires("check dropped", "check-dropped", { target: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 0)" }),
  misses("check added is no drop", "check-dropped", { source: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 0)" }),
  fires("NOT VALID check validated", "constraint-validated", { source: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 0)", target: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 0) NOT VALID" }),
  misses("check NOT VALID on both", "constraint-validated", { both: "ALTER TABLE actor ADD CONSTRAINT c CHECK (actor_id > 0) NOT VALID" }),
  fires("exclusion added", "exclusion-added", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)" }),
  misses("exclusion on both", "exclusion-added", { both: [NOTE, "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)"] }),
  fires("exclusion changed", "exclusion-changed", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)", target: "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (tag WITH =)" }),
  misses("exclusion unchanged", "exclusion-changed", { both: [NOTE, "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)"] }),
  fires("exclusion dropped", "exclusion-dropped", { both: NOTE, target: "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)" }),
  misses("exclusion added is no drop", "exclusion-dropped", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)" }),
  fires("constraint made deferrable", "constraint-deferrability-changed", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_body_key UNIQUE (body) DEFERRABLE", target: "ALTER TABLE note ADD CONSTRAINT note_body_key UNIQUE (body)" }),
  misses("constraint deferrability equal", "constraint-deferrability-changed", { both: [NOTE, "ALTER TABLE note ADD CONSTRAINT note_body_key UNIQUE (body) DEFERRABLE"] }),
  // indexes
  fires("index dropped", "index-dropped", { source: "DROP INDEX idx_actor_last_name", path: "public.actor.idx_actor_last_name" }),
  misses("index renamed only", "index-dropped", { source: "ALTER INDEX idx_actor_last_name RENAME TO actor_last_name_idx" }),
  fires("unique index dropped", "unique-index-dropped", { both: NOTE, target: "CREATE UNIQUE INDEX note_body_uidx ON note (body)" }),
  misses("plain index dropped is not unique", "unique-index-dropped", { both: NOTE, target: "CREATE INDEX note_body_idx ON note (body)" }),
  fires("index added", "index-added", { source: "CREATE INDEX actor_first_name_idx ON actor (first_name)" }),
  misses("unique index added is not a plain add", "index-added", { source: "CREATE UNIQUE INDEX actor_first_uidx ON actor (lower(first_name))" }),
  fires("unique index added", "unique-index-added", { source: "CREATE UNIQUE INDEX actor_first_uidx ON actor (lower(first_name))" }),
  misses("unique index on both", "unique-index-added", { both: "CREATE UNIQUE INDEX actor_first_uidx ON actor (lower(first_name))" }),
  fires("index changed", "index-changed", { source: "DROP INDEX idx_actor_last_name; CREATE INDEX idx_actor_last_name ON actor (last_name, first_name)" }),
  misses("index recreated the same", "index-changed", { source: "DROP INDEX idx_actor_last_name; CREATE INDEX idx_actor_last_name ON actor (last_name)" }),
  fires("index invalid on TARGET", "index-invalid", {
    both: NOTE,
    source: "CREATE UNIQUE INDEX note_tag_uidx ON note (tag)",
    target: ["INSERT INTO note (id, tag) VALUES (1, 'x'), (2, 'x')", "TRY CREATE UNIQUE INDEX CONCURRENTLY note_tag_uidx ON note (tag)"]
  }),
  misses("index valid on both", "index-invalid", { both: [NOTE, "CREATE UNIQUE INDEX note_tag_uidx ON note (tag)"] }),
  // views
  fires("view dropped", "view-dropped", { source: "DROP VIEW actor_info", path: "public.actor_info" }),
  misses("materialized view dropped is not a view drop", "view-dropped", { source: "DROP MATERIALIZED VIEW rental_by_category" }),
  fires("materialized view dropped", "materialized-view-dropped", { source: "DROP MATERIALIZED VIEW rental_by_category" }),
  misses("view dropped is not a materialized view drop", "materialized-view-dropped", { source: "DROP VIEW actor_info" }),
  fires("view added", "view-added", { source: V1 }),
  misses("view on both", "view-added", { both: V1 }),
  fires("view column removed", "view-column-removed", { source: "CREATE VIEW v AS SELECT actor_id FROM actor", target: V1 }),
  misses("view column renamed is not removed", "view-column-removed", { source: "CREATE VIEW v AS SELECT actor_id, first_name AS given FROM actor", target: V1 }),
  fires("view column renamed", "view-column-renamed", { source: "CREATE VIEW v AS SELECT actor_id, first_name AS given FROM actor", target: V1 }),
  misses("view column removed is not renamed", "view-column-renamed", { source: "CREATE VIEW v AS SELECT actor_id FROM actor", target: V1 }),
  fires("view column retyped", "view-column-retyped", { source: "CREATE VIEW v AS SELECT actor_id::bigint AS actor_id, first_name FROM actor", target: V1 }),
  misses("view column same type", "view-column-retyped", { source: "CREATE VIEW v AS SELECT actor_id, first_name FROM actor WHERE actor_id > 0", target: V1 }),
  fires("view column added", "view-column-added", { source: "CREATE VIEW v AS SELECT actor_id, first_name, last_name FROM actor", target: V1 }),
  misses("view column removed is no add", "view-column-added", { source: "CREATE VIEW v AS SELECT actor_id FROM actor", target: V1 }),
  fires("view definition changed", "view-definition-changed", { source: "CREATE VIEW v AS SELECT actor_id, first_name FROM actor WHERE actor_id > 0", target: V1 }),
  misses("view with the same definition", "view-definition-changed", { both: V1 }),
  // routines
  fires("function dropped", "routine-dropped", { source: "DROP FUNCTION last_day(timestamptz)" }),
  misses("function signature changed is no drop", "routine-dropped", { source: "DROP FUNCTION last_day(timestamptz); CREATE FUNCTION last_day(date) RETURNS date LANGUAGE sql AS $$ SELECT $1 $$" }),
  fires("function signature changed", "routine-signature-changed", { source: "DROP FUNCTION last_day(timestamptz); CREATE FUNCTION last_day(date) RETURNS date LANGUAGE sql AS $$ SELECT $1 $$" }),
  misses("overload added is no signature change", "routine-signature-changed", { source: "CREATE FUNCTION last_day(date) RETURNS date LANGUAGE sql AS $$ SELECT $1 $$" }),
  fires("function added", "routine-added", { source: FN("integer", "SELECT x") }),
  misses("function on both", "routine-added", { both: FN("integer", "SELECT x") }),
  fires("function return type changed", "routine-return-changed", { source: FN("bigint", "SELECT x::bigint"), target: FN("integer", "SELECT x") }),
  misses("function same return type", "routine-return-changed", { source: FN("integer", "SELECT x + 1"), target: FN("integer", "SELECT x") }),
  fires("function body changed", "routine-body-changed", { source: FN("integer", "SELECT x + 1"), target: FN("integer", "SELECT x") }),
  misses("function same body", "routine-body-changed", { both: FN("integer", "SELECT x") }),
  fires("function made SECURITY DEFINER", "routine-security-changed", { source: "ALTER FUNCTION last_day(timestamptz) SECURITY DEFINER" }),
  misses("function security unchanged", "routine-security-changed", { source: "ALTER FUNCTION last_day(timestamptz) SECURITY INVOKER" }),
  fires("function volatility changed", "routine-volatility-changed", { source: "ALTER FUNCTION last_day(timestamptz) VOLATILE" }),
  misses("function volatility unchanged", "routine-volatility-changed", { source: "ALTER FUNCTION last_day(timestamptz) IMMUTABLE" }),
  // triggers
  fires("trigger dropped", "trigger-dropped", { source: "DROP TRIGGER last_updated ON actor", path: "public.actor.last_updated" }),
  misses("trigger added is no drop", "trigger-dropped", { source: "CREATE TRIGGER actor_touch BEFORE INSERT ON actor FOR EACH ROW EXECUTE FUNCTION last_updated()" }),
  fires("trigger added", "trigger-added", { source: "CREATE TRIGGER actor_touch BEFORE INSERT ON actor FOR EACH ROW EXECUTE FUNCTION last_updated()" }),
  misses("trigger on both", "trigger-added", { both: "CREATE TRIGGER actor_touch BEFORE INSERT ON actor FOR EACH ROW EXECUTE FUNCTION last_updated()" }),
  fires("trigger disabled", "trigger-changed", { source: "ALTER TABLE actor DISABLE TRIGGER last_updated" }),
  misses("trigger unchanged", "trigger-changed", { source: "ALTER TABLE actor ENABLE TRIGGER last_updated" }),
  // sequences
  fires("sequence dropped", "sequence-dropped", { target: "CREATE SEQUENCE extra_seq" }),
  misses("identity sequence goes with its column", "sequence-dropped", { both: NOTE, target: "ALTER TABLE note ALTER id ADD GENERATED BY DEFAULT AS IDENTITY" }),
  fires("sequence added", "sequence-added", { source: "CREATE SEQUENCE extra_seq" }),
  misses("sequence only on TARGET is no add", "sequence-added", { target: "CREATE SEQUENCE extra_seq" }),
  fires("sequence increment changed", "sequence-options-changed", { source: "ALTER SEQUENCE actor_actor_id_seq INCREMENT 5" }),
  misses("sequence restarted (a value, not an option)", "sequence-options-changed", { source: "ALTER SEQUENCE actor_actor_id_seq RESTART 100" }),
  // extensions
  fires("extension missing on TARGET", "extension-missing", { source: "CREATE EXTENSION citext" }),
  misses("extension on both", "extension-missing", { both: "CREATE EXTENSION citext" }),
  fires("extension only on TARGET", "extension-dropped", { target: "CREATE EXTENSION citext" }),
  misses("extension only on SOURCE is not dropped", "extension-dropped", { source: "CREATE EXTENSION citext" }),
  fires("extension in another schema", "extension-schema-changed", { source: "CREATE SCHEMA ext; CREATE EXTENSION citext SCHEMA ext", target: "CREATE EXTENSION citext" }),
  misses("extension in the same schema", "extension-schema-changed", { both: "CREATE EXTENSION citext" }),
  // opt-in: privileges, owners, comments
  fires("GRANT added", "privilege-granted", { source: "GRANT SELECT ON actor TO PUBLIC", options: { includePrivileges: true }, path: "public.actor.PUBLIC" }),
  misses("GRANT added, privileges not compared", "privilege-granted", { source: "GRANT SELECT ON actor TO PUBLIC" }),
  fires("GRANT revoked", "privilege-revoked", { target: "GRANT SELECT ON actor TO PUBLIC", options: { includePrivileges: true } }),
  fires("column GRANT revoked", "privilege-revoked", { target: `GRANT SELECT (first_name) ON actor TO PUBLIC`, options: { includePrivileges: true }, path: "public.actor.first_name.PUBLIC" }),
  misses("GRANT revoked, privileges not compared", "privilege-revoked", { target: "GRANT SELECT ON actor TO PUBLIC" }),
  fires("owner changed", "owner-changed", { source: `ALTER TABLE actor OWNER TO ${ROLE}`, options: { includeOwners: true } }),
  misses("owner changed, owners not compared", "owner-changed", { source: `ALTER TABLE actor OWNER TO ${ROLE}` }),
  fires("comment changed", "comment-changed", { source: "COMMENT ON TABLE actor IS 'people on screen'", options: { includeComments: true } }),
  fires("column comment changed", "comment-changed", { source: "COMMENT ON COLUMN actor.first_name IS 'given name'", options: { includeComments: true }, path: "public.actor.first_name" }),
  misses("comment changed, comments not compared", "comment-changed", { source: "COMMENT ON TABLE actor IS 'people on screen'" }),
  // replica identity, publications, event triggers
  fires("replica identity made FULL", "replica-identity-changed", { source: "ALTER TABLE actor REPLICA IDENTITY FULL", path: "public.actor" }),
  misses("replica identity index renamed only", "replica-identity-changed", {
    both: "CREATE UNIQUE INDEX actor_ri ON actor (actor_id); ALTER TABLE actor REPLICA IDENTITY USING INDEX actor_ri",
    source: "ALTER INDEX actor_ri RENAME TO actor_ri2"
  }),
  fires("replica identity moved to another index", "replica-identity-changed", {
    both: "CREATE UNIQUE INDEX actor_ri ON actor (actor_id); CREATE UNIQUE INDEX actor_ri_names ON actor (actor_id, last_update)",
    source: "ALTER TABLE actor REPLICA IDENTITY USING INDEX actor_ri_names",
    target: "ALTER TABLE actor REPLICA IDENTITY USING INDEX actor_ri"
  }),
  fires("publication added", "publication-added", { source: PUB, path: "pub" }),
  misses("publication on both", "publication-added", { both: PUB }),
  fires("publication dropped", "publication-dropped", { target: PUB }),
  misses("publication only on SOURCE is no drop", "publication-dropped", { source: PUB }),
  fires("publication gains a table", "publication-changed", { both: PUB, source: "ALTER PUBLICATION pub ADD TABLE public.film" }),
  fires("publication gains a row filter", "publication-changed", { both: PUB, source: "ALTER PUBLICATION pub SET TABLE public.actor WHERE (actor_id > 10)" }),
  fires("publication stops publishing deletes", "publication-changed", { both: PUB, source: "ALTER PUBLICATION pub SET (publish = 'insert, update')" }),
  misses("publication unchanged", "publication-changed", { both: PUB, source: "COMMENT ON PUBLICATION pub IS 'cdc'" }),
  fires("event trigger added", "event-trigger-added", { source: EVT, path: "evt_guard" }),
  misses("event trigger on both", "event-trigger-added", { both: EVT }),
  fires("event trigger dropped", "event-trigger-dropped", { target: EVT }),
  misses("event trigger only on SOURCE is no drop", "event-trigger-dropped", { source: EVT }),
  fires("event trigger disabled", "event-trigger-changed", { both: EVT, source: "ALTER EVENT TRIGGER evt_guard DISABLE" }),
  misses("event trigger unchanged", "event-trigger-changed", { both: EVT, source: "COMMENT ON EVENT TRIGGER evt_guard IS 'guard'" }),
  fires("publication owner changed (opt-in)", "owner-changed", { both: PUB, source: `ALTER PUBLICATION pub OWNER TO ${ROLE}`, options: { includeOwners: true }, path: "pub" }),
  fires("schema GRANT revoked (opt-in)", "privilege-revoked", { both: "CREATE SCHEMA extra", target: "GRANT USAGE ON SCHEMA extra TO PUBLIC", options: { includePrivileges: true }, path: "extra.PUBLIC" }),
  fires("sequence owner changed (opt-in)", "owner-changed", { source: `ALTER SEQUENCE actor_actor_id_seq OWNER TO ${ROLE}`, options: { includeOwners: true }, path: "public.actor_actor_id_seq" }),
  fires("function GRANT revoked (opt-in)", "privilege-revoked", { target: "GRANT EXECUTE ON FUNCTION last_day(timestamptz) TO " + ROLE, options: { includePrivileges: true } }),
  fires("view comment changed (opt-in)", "comment-changed", { source: "COMMENT ON VIEW actor_info IS 'who played what'", options: { includeComments: true }, path: "public.actor_info" }),
  fires("enum comment changed (opt-in)", "comment-changed", { source: "COMMENT ON TYPE mpaa_rating IS 'ratings'", options: { includeComments: true }, path: "public.mpaa_rating" }),
  // exclusion
  misses("excluded table", "column-dropped", { source: "ALTER TABLE actor DROP COLUMN last_update", options: { exclude: ["actor"] } }),
  misses("excluded schema", "table-dropped", { target: "CREATE SCHEMA scratch; CREATE TABLE scratch.t (id int)", options: { exclude: ["scratch"] } }),
  fires("exclusion of another table keeps this one", "column-dropped", { source: "ALTER TABLE actor DROP COLUMN last_update", options: { exclude: ["public.film*"] } })
]

/** Data-aware: the same change, with TARGET's rows agreeing (not breaking) or disagreeing (breaking, with the count). */
const DATA_CASES: ReadonlyArray<Case> = [
  fires("nullable to NOT NULL, TARGET has NULLs", "not-null-added", { both: NOTE, source: "ALTER TABLE note ALTER body SET NOT NULL", target: "INSERT INTO note (id, body) VALUES (1, NULL), (2, NULL)", data: true, severity: "breaking", details: { nulls: 2 } }),
  fires("nullable to NOT NULL, TARGET has none", "not-null-added", { both: NOTE, source: "ALTER TABLE note ALTER body SET NOT NULL", target: "INSERT INTO note (id, body) VALUES (1, 'x')", data: true, severity: "hazard", details: { nulls: 0 } }),
  fires("unique added, TARGET has duplicates", "unique-added", { source: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (first_name, last_name)", target: "INSERT INTO actor (first_name, last_name) VALUES ('a', 'b'), ('a', 'b'), ('a', 'c')", data: true, severity: "breaking", details: { duplicates: 1 } }),
  fires("unique added, TARGET has none", "unique-added", { source: "ALTER TABLE actor ADD CONSTRAINT actor_names_key UNIQUE (first_name, last_name)", target: "INSERT INTO actor (first_name, last_name) VALUES ('a', 'b'), ('a', 'c')", data: true, severity: "hazard", details: { duplicates: 0 } }),
  fires("unique expression index added, TARGET has duplicates", "unique-index-added", { source: "CREATE UNIQUE INDEX actor_first_uidx ON actor (lower(first_name))", target: "INSERT INTO actor (first_name, last_name) VALUES ('Ann', 'b'), ('ann', 'c')", data: true, severity: "breaking", details: { duplicates: 1 } }),
  fires("unique expression index added, TARGET has none", "unique-index-added", { source: "CREATE UNIQUE INDEX actor_first_uidx ON actor (lower(first_name))", target: "INSERT INTO actor (first_name, last_name) VALUES ('Ann', 'b'), ('Bob', 'c')", data: true, severity: "hazard", details: { duplicates: 0 } }),
  fires("primary key added, TARGET has duplicate keys", "primary-key-added", { both: NOPK, source: "ALTER TABLE nopk ADD PRIMARY KEY (id)", target: "INSERT INTO nopk VALUES (1, 'a'), (1, 'b'), (NULL, 'c')", data: true, severity: "breaking", details: { duplicates: 1, nulls: 1 } }),
  fires("primary key added, TARGET keys unique", "primary-key-added", { both: NOPK, source: "ALTER TABLE nopk ADD PRIMARY KEY (id)", target: "INSERT INTO nopk VALUES (1, 'a'), (2, 'b')", data: true, severity: "hazard", details: { duplicates: 0, nulls: 0 } }),
  fires("check added, TARGET violates it", "check-added", { source: "ALTER TABLE actor ADD CONSTRAINT actor_first_name_check CHECK (first_name <> '')", target: "INSERT INTO actor (first_name, last_name) VALUES ('', 'b'), ('a', 'b')", data: true, severity: "breaking", details: { violations: 1 } }),
  fires("check added, TARGET conforms", "check-added", { source: "ALTER TABLE actor ADD CONSTRAINT actor_first_name_check CHECK (first_name <> '')", target: "INSERT INTO actor (first_name, last_name) VALUES ('a', 'b')", data: true, severity: "hazard", details: { violations: 0 } }),
  fires("foreign key added, TARGET has orphans", "foreign-key-added", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_language_fk FOREIGN KEY (language_id) REFERENCES language", target: "INSERT INTO note (id, language_id) VALUES (1, 42), (2, NULL)", data: true, severity: "breaking", details: { orphans: 1 } }),
  fires("foreign key added, TARGET has no orphans (NULL keys are not checked)", "foreign-key-added", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_language_fk FOREIGN KEY (language_id) REFERENCES language", target: "INSERT INTO language (name) VALUES ('English'); INSERT INTO note (id, language_id) VALUES (1, NULL), (2, 1)", data: true, severity: "hazard", details: { orphans: 0 } }),
  fires("enum value removed, TARGET uses it", "enum-value-removed", { source: "CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE feeling (id int, m mood, ms mood[])", target: "CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh'); CREATE TABLE feeling (id int, m mood, ms mood[]); INSERT INTO feeling VALUES (1, 'meh', NULL), (2, 'happy', '{meh}')", data: true, severity: "breaking", details: { rows: 2 } }),
  fires("enum value removed, TARGET does not use it", "enum-value-removed", { source: "CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE feeling (id int, m mood, ms mood[])", target: "CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh'); CREATE TABLE feeling (id int, m mood, ms mood[]); INSERT INTO feeling VALUES (1, 'happy', '{sad}')", data: true, severity: "hazard", details: { rows: 0 } }),
  fires("sequence behind max(column) on TARGET", "sequence-behind-column", { target: "INSERT INTO actor (actor_id, first_name, last_name) VALUES (500, 'a', 'b')", data: true, path: "public.actor_actor_id_seq", details: { max: "500" } }),
  misses("sequence ahead of max(column) on TARGET", "sequence-behind-column", { target: "INSERT INTO actor (first_name, last_name) VALUES ('a', 'b')", data: true }),
  fires("varchar narrowed, TARGET has a longer value", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER body TYPE varchar(5)", target: "INSERT INTO note (id, body) VALUES (1, 'abcdefgh'), (2, 'abc'), (3, NULL)", data: true, severity: "breaking", details: { values: 1 } }),
  fires("varchar narrowed, TARGET values fit", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER body TYPE varchar(5)", target: "INSERT INTO note (id, body) VALUES (1, 'abc'), (2, NULL)", data: true, severity: "hazard", details: { values: 0 } }),
  fires("bigint narrowed to integer, TARGET has a big value", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER qty TYPE integer", target: "INSERT INTO note (id, qty) VALUES (1, 3000000000), (2, 7)", data: true, severity: "breaking", details: { values: 1 } }),
  fires("numeric narrowed, TARGET values fit", "column-type-narrowed", { both: NOTE, source: "ALTER TABLE note ALTER price TYPE numeric(8,2)", target: "INSERT INTO note (id, price) VALUES (1, 123456.78)", data: true, severity: "hazard", details: { values: 0 } }),
  fires("domain check added, TARGET values fail it (in two columns)", "domain-constraint-added", { source: DOMAIN("CONSTRAINT pos_check CHECK (VALUE > 0)"), target: [DOMAIN(), "INSERT INTO dm VALUES (1, -1, 2), (2, 5, -3), (3, NULL, 1)"], data: true, severity: "breaking", details: { values: 2 } }),
  fires("domain check added, TARGET values pass it (NULL passes)", "domain-constraint-added", { source: DOMAIN("CONSTRAINT pos_check CHECK (VALUE > 0)"), target: [DOMAIN(), "INSERT INTO dm VALUES (1, 1, 2), (2, NULL, NULL)"], data: true, severity: "hazard", details: { values: 0 } }),
  fires("domain check added while an array of the domain exists: fails whatever the data", "domain-constraint-added", { source: DOMAIN_WITH_ARRAY("CONSTRAINT pos_check CHECK (VALUE > 0)"), target: [DOMAIN_WITH_ARRAY(), "INSERT INTO dm VALUES (1, 1, '{1}')"], data: true, severity: "breaking", details: { arrayColumns: ["public.dm.ps"] } }),
  fires("domain made NOT NULL, TARGET holds NULL", "domain-not-null-added", { source: DOMAIN("NOT NULL"), target: [DOMAIN(), "INSERT INTO dm VALUES (1, NULL, 1), (2, 3, 4)"], data: true, severity: "breaking", details: { values: 1 } }),
  fires("domain made NOT NULL, TARGET holds none", "domain-not-null-added", { source: DOMAIN("NOT NULL"), target: [DOMAIN(), "INSERT INTO dm VALUES (2, 3, 4)"], data: true, severity: "hazard", details: { values: 0 } }),
  fires("equality exclusion added, TARGET has a conflicting pair", "exclusion-added", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)", target: "INSERT INTO note (id, qty) VALUES (1, 5), (2, 5), (3, 6), (4, NULL), (5, NULL)", data: true, severity: "breaking", details: { conflicts: 1 } }),
  fires("equality exclusion added, TARGET has none", "exclusion-added", { both: NOTE, source: "ALTER TABLE note ADD CONSTRAINT note_excl EXCLUDE USING btree (qty WITH =)", target: "INSERT INTO note (id, qty) VALUES (1, 5), (2, 6)", data: true, severity: "hazard", details: { conflicts: 0 } }),
  fires("overlap exclusion added, TARGET has overlapping ranges", "exclusion-added", { both: BOOKING, source: "ALTER TABLE booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist (during WITH &&)", target: "INSERT INTO booking VALUES (1, '[2026-01-01,2026-01-05)'), (2, '[2026-01-04,2026-01-06)'), (3, '[2026-01-06,2026-01-07)')", data: true, severity: "breaking", details: { conflicts: 1 } }),
  fires("overlap exclusion added, TARGET ranges only touch", "exclusion-added", { both: BOOKING, source: "ALTER TABLE booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist (during WITH &&)", target: "INSERT INTO booking VALUES (1, '[2026-01-01,2026-01-05)'), (2, '[2026-01-05,2026-01-06)')", data: true, severity: "hazard", details: { conflicts: 0 } })
]

const check = async (c: Case) => {
  const findings = await run(c, c.data)
  const matching = findings.filter((f) => f.rule === `drift/${c.rule}` && (c.path === undefined || objectPath(f.object) === c.path))
  if (!c.fires) {
    expect(matching, JSON.stringify(findings.map((f) => f.message))).toEqual([])
    return
  }
  expect(matching.length, JSON.stringify(findings.map((f) => `${f.rule} ${objectPath(f.object)}`))).toBeGreaterThan(0)
  const first = matching[0] as Finding
  expect(first.severity).toBe(c.severity ?? DRIFT_RULES[c.rule].severity)
  expect(first.hint).toBeTruthy()
  if (c.details !== undefined) expect(first.details).toMatchObject(c.details)
}

describe("drift rules on pagila", () => {
  it.concurrent.each(CASES.map((c) => [c.name, c] as const))("%s", async (_, c) => check(c))

  it("covers every rule with a case that fires and a near miss", () => {
    const all = [...CASES, ...DATA_CASES]
    const uncovered = (Object.keys(DRIFT_RULES) as Array<DriftRuleName>).filter(
      (rule) => !all.some((c) => c.rule === rule && c.fires) || !all.some((c) => c.rule === rule && !c.fires)
    )
    // An extension's version needs two installed versions: covered on a hand-edited catalog below.
    expect(uncovered).toEqual(["extension-version-changed"])
  })
})

describe("data-aware drift rules", () => {
  it.concurrent.each(DATA_CASES.map((c) => [c.name, c] as const))("%s", async (_, c) => check(c))
})

describe("drift without changes, renames, order", () => {
  it("identical pagila databases give no findings, with every option on", async () => {
    const other = await readAt(await clone([]))
    expect(diffSchemas(other, pristine, { includeComments: true, includeOwners: true, includePrivileges: true, exclude: [] })).toEqual([])
  })

  it("extension version differs (hand-edited catalog)", () => {
    const source: Catalog = { ...pristine, extensions: [...pristine.extensions.map((e) => ({ ...e, version: "9.9" }))] }
    const findings = diffSchemas(source, pristine, DEFAULT_DRIFT_OPTIONS)
    expect(findings.map((f) => [f.rule, f.severity, f.after])).toEqual([["drift/extension-version-changed", "hazard", "9.9"]])
    expect(diffSchemas(pristine, pristine, DEFAULT_DRIFT_OPTIONS)).toEqual([])
  })

  it("a renamed pagila table is one finding with its confidence, and what references it does not drift", async () => {
    const findings = await run({ source: "ALTER TABLE actor RENAME TO performer" })
    const renamed = findings.filter((f) => f.rule === "drift/table-renamed")
    expect(renamed).toHaveLength(1)
    expect(renamed[0]).toMatchObject({ severity: "breaking", before: "public.actor", after: "public.performer", details: { from: "public.actor", to: "public.performer" } })
    expect(renamed[0]?.details?.["confidence"]).toBeGreaterThanOrEqual(0.85)
    const rules = new Set(findings.map((f) => f.rule))
    for (const rule of ["table-dropped", "table-added", "foreign-key-changed", "index-changed", "trigger-changed", "primary-key-changed", "view-definition-changed"]) {
      expect(rules.has(`drift/${rule}`), rule).toBe(false)
    }
  })

  it("a renamed column is one finding with its confidence; its index follows it", async () => {
    const findings = await run({ both: [NOTE, "CREATE INDEX note_body_idx ON note (body)"], source: "ALTER TABLE note RENAME COLUMN body TO content" })
    expect(findings.map((f) => f.rule)).toEqual(["drift/column-renamed"])
    expect(findings[0]).toMatchObject({ before: "body", after: "content", object: { table: "note", column: "content" } })
    expect(findings[0]?.details?.["confidence"]).toBe(1)
  })

  it("a genuinely different table or column is a drop and an add", async () => {
    const tables = await run({ both: NOTE, source: "DROP TABLE note; CREATE TABLE memo (id integer PRIMARY KEY, title varchar(20), amount numeric)" })
    expect(tables.map((f) => f.rule).sort()).toEqual(["drift/table-added", "drift/table-dropped"])
    const columns = await run({ both: NOTE, source: "ALTER TABLE note DROP COLUMN body; ALTER TABLE note ADD COLUMN content integer" })
    expect(columns.map((f) => f.rule).sort()).toEqual(["drift/column-added", "drift/column-dropped"])
  })

  it("findings are sorted by severity, then object path, then rule, and deterministic", async () => {
    const findings = await run({ source: ["ALTER TABLE actor DROP COLUMN last_update", "CREATE INDEX a_idx ON film (title)", "ALTER TYPE mpaa_rating ADD VALUE 'X'", "ALTER TABLE customer ALTER last_update DROP DEFAULT"] })
    const order = ["breaking", "hazard", "performance", "info"]
    const keys = findings.map((f) => [order.indexOf(f.severity), objectPath(f.object), f.rule] as const)
    expect(keys).toEqual([...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0)))
    expect(findings.map((f) => f.severity)).toEqual(["breaking", "hazard", "performance", "info"])
  })

  it("classifies type changes", () => {
    expect(classifyTypeChange("character varying(100)", "character varying(50)")).toBe("narrowed")
    expect(classifyTypeChange("character varying(50)", "text")).toBe("widened")
    expect(classifyTypeChange("numeric(10,2)", "numeric(12,2)")).toBe("widened")
    expect(classifyTypeChange("numeric(10,2)", "numeric(10,4)")).toBe("narrowed")
    expect(classifyTypeChange("integer[]", "bigint[]")).toBe("widened")
    expect(classifyTypeChange("integer", "text")).toBe("changed")
    expect(classifyTypeChange("timestamp(6) with time zone", "timestamp(3) with time zone")).toBe("narrowed")
  })
})
