/**
 * Reads a live database into the catalog model (catalog.ts).
 *
 * A fixed set of queries, each over every object of its kind (never one query per table), so a
 * schema of thousands of tables reads in one short round; rows are grouped by relation OID in
 * memory. The queries run in one REPEATABLE READ READ ONLY transaction, so they all see the same
 * instant even while migrations run. A transaction holds one connection, so they run one after
 * another; spreading them over a pool without the transaction measured no faster (1,000 tables:
 * about 300 ms either way), so consistency costs nothing here.
 *
 * The SQL client decodes results in binary, and only for built-in types, so every value is cast
 * in SQL to one it knows (text, oid, int2/int4, float8, bool, their arrays, or json).
 */
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import type {
  Catalog,
  Column,
  Constraint,
  DomainType,
  ForeignKey,
  Grant,
  PublishedTable,
  Index,
  Policy,
  ReferentialAction,
  Routine,
  Sequence,
  Table,
  Trigger,
  View
} from "./catalog.ts"
import { quoteLiteral } from "./catalog.ts"
import { HarnessError } from "./errors.ts"

/** Schemas PostgreSQL owns: pg_catalog, pg_toast, pg_temp_N, ... (`pg_` is reserved) and information_schema. */
const userSchema = (alias: string) => `${alias}.nspname !~ '^pg_' AND ${alias}.nspname <> 'information_schema'`

/** Objects created by CREATE EXTENSION are the extension's business, not the schema's. */
const notExtensionMember = (catalogTable: string, oid: string) =>
  `NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = '${catalogTable}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`

/** An ACL as a sorted JSON list of `Grant`s, one per grantee and privilege. */
const grants = (acl: string) => `(
  SELECT coalesce(json_agg(json_build_object('grantee', g.grantee, 'privilege', g.privilege, 'grantable', g.grantable)
                           ORDER BY g.grantee COLLATE "C", g.privilege COLLATE "C"), '[]'::json)
  FROM (SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END AS grantee,
               x.privilege_type AS privilege, bool_or(x.is_grantable) AS grantable
        FROM aclexplode(${acl}) x GROUP BY 1, 2) g)`

/** The object's comment, as `ds.description`; a join, which is much cheaper than obj_description() per row. */
const describedBy = (catalogTable: string, oid: string) =>
  `LEFT JOIN pg_description ds ON ds.classoid = '${catalogTable}'::regclass AND ds.objoid = ${oid} AND ds.objsubid = 0`

const META = `SELECT current_database()::text AS database, current_setting('server_version_num')::int4 AS server_version`

const SCHEMAS = `
SELECT n.nspname::text AS name, pg_get_userbyid(n.nspowner)::text AS owner,
       ${grants("coalesce(n.nspacl, acldefault('n', n.nspowner))")} AS privileges,
       ds.description AS comment
FROM pg_namespace n
${describedBy("pg_namespace", "n.oid")}
WHERE ${userSchema("n")} AND ${notExtensionMember("pg_namespace", "n.oid")}
ORDER BY n.nspname COLLATE "C"`

const EXTENSIONS = `
SELECT e.extname::text AS name, e.extversion AS version, n.nspname::text AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
ORDER BY e.extname COLLATE "C"`

const RELATIONS = `
SELECT c.oid AS relid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
       pg_get_userbyid(c.relowner)::text AS owner,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       pn.nspname::text AS parent_schema, p.relname::text AS parent_name,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       c.reltuples::float8 AS row_estimate,
       c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
       c.relreplident::text AS replica_identity,
       (SELECT ic.relname::text FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
         WHERE ix.indrelid = c.oid AND ix.indisreplident) AS replica_index,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS view_definition,
       ${grants("coalesce(c.relacl, acldefault('r', c.relowner))")} AS privileges,
       ds.description AS comment
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
${describedBy("pg_class", "c.oid")}
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`

// Columns of tables, views and composite types; rows of relations not kept are dropped in memory.
const COLUMNS = `
SELECT a.attrelid AS relid, a.attnum::int4 AS attnum, a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.atttypid AS type_oid,
       tn.nspname::text AS type_schema, t.typname::text AS type_name,
       et.oid IS NOT NULL AS is_array, en.nspname::text AS element_schema, et.typname::text AS element_name,
       a.attnotnull AS not_null, pg_get_expr(ad.adbin, ad.adrelid) AS expression,
       a.attidentity::text AS identity, a.attgenerated::text AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END AS collation,
       d.description AS comment,
       CASE WHEN a.attacl IS NULL THEN '[]'::json ELSE ${grants("a.attacl")} END AS privileges
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_type et ON t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc AND et.oid = t.typelem
LEFT JOIN pg_namespace en ON en.oid = et.typnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = a.attrelid AND d.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'c') AND ${userSchema("n")}
ORDER BY a.attrelid, a.attnum`

// A foreign key that references a partitioned table gets one hidden clone per referenced partition
// on the same referencing table (same name, conparentid set); those are PostgreSQL's bookkeeping.
// Column numbers (conkey, confkey) are turned into names in memory, from the columns query.
const CONSTRAINTS = `
SELECT con.conrelid AS relid, con.conname::text AS name, con.contype::text AS type,
       coalesce(con.conkey, '{}') AS attnums,
       pg_get_constraintdef(con.oid, true) AS definition,
       con.condeferrable AS deferrable, con.condeferred AS initially_deferred, con.convalidated AS validated,
       con.conparentid <> 0 AS inherited,
       con.confrelid AS ref_relid, fn.nspname::text AS ref_schema, f.relname::text AS ref_table,
       coalesce(con.confkey, '{}') AS ref_attnums,
       con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update, con.confmatchtype::text AS match,
       ds.description AS comment
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
${describedBy("pg_constraint", "con.oid")}
LEFT JOIN pg_class f ON f.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
WHERE con.contype IN ('p', 'u', 'c', 'x', 'f') AND ${userSchema("n")}
  AND NOT EXISTS (SELECT FROM pg_constraint pc WHERE pc.oid = con.conparentid AND pc.conrelid = con.conrelid)
ORDER BY con.conrelid, con.conname COLLATE "C"`

// Index columns are named in memory from their numbers (indkey); only an index with expression
// keys (attnum 0) has its keys deparsed here, since pg_get_indexdef per key is the costly part.
const INDEXES = `
SELECT i.indrelid AS relid, ic.relname::text AS name, am.amname::text AS method,
       string_to_array(i.indkey::text, ' ')::int2[] AS attnums, i.indnkeyatts::int4 AS key_count,
       CASE WHEN i.indexprs IS NOT NULL THEN
         array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnatts) k ORDER BY k) END AS deparsed_keys,
       i.indisunique AS is_unique, i.indisprimary AS is_primary,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate, i.indisvalid AS valid,
       con.conname::text AS constraint_name, pg_get_indexdef(i.indexrelid) AS definition,
       ds.description AS comment
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
${describedBy("pg_class", "i.indexrelid")}
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE ${userSchema("n")}
ORDER BY i.indrelid, ic.relname COLLATE "C"`

const TRIGGERS = `
SELECT t.tgrelid AS relid, t.tgname::text AS name, t.tgtype::int4 AS type,
       pn.nspname::text AS function_schema, p.proname::text AS function_name,
       t.tgenabled::text AS enabled, t.tgparentid <> 0 AS inherited,
       pg_get_triggerdef(t.oid, true) AS definition, ds.description AS comment
FROM pg_trigger t
${describedBy("pg_trigger", "t.oid")}
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND ${userSchema("n")}
ORDER BY t.tgrelid, t.tgname COLLATE "C"`

const POLICIES = `
SELECT pol.polrelid AS relid, pol.polname::text AS name, pol.polcmd::text AS command, pol.polpermissive AS permissive,
       array(SELECT x.role FROM (SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END AS role
                                 FROM unnest(pol.polroles) r) x ORDER BY x.role COLLATE "C") AS roles,
       pg_get_expr(pol.polqual, pol.polrelid, true) AS using_expression,
       pg_get_expr(pol.polwithcheck, pol.polrelid, true) AS with_check,
       ds.description AS comment
FROM pg_policy pol
${describedBy("pg_policy", "pol.oid")}
ORDER BY pol.polrelid, pol.polname COLLATE "C"`

// Ownership: 'a' for OWNED BY (serial columns), 'i' for an identity column's sequence.
const SEQUENCES = `
SELECT n.nspname::text AS schema, c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
       s.seqcache::text AS cache, s.seqcycle AS cycle,
       tn.nspname::text AS owner_schema, t.relname::text AS owner_table, a.attname::text AS owner_column,
       coalesce(d.deptype = 'i', false) AS identity,
       ${grants("coalesce(c.relacl, acldefault('s', c.relowner))")} AS privileges,
       ds.description AS comment
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
${describedBy("pg_class", "c.oid")}
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                     AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`

const ROUTINES = `
SELECT n.nspname::text AS schema, p.proname::text AS name, p.prokind::text AS kind,
       pg_get_userbyid(p.proowner)::text AS owner,
       pg_get_function_identity_arguments(p.oid) AS identity_arguments,
       CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END AS return_type,
       l.lanname::text AS language, p.provolatile::text AS volatility, p.prosecdef AS security_definer,
       md5(p.prosrc) AS source_hash,
       ${grants("coalesce(p.proacl, acldefault('f', p.proowner))")} AS privileges,
       ds.description AS comment
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
${describedBy("pg_proc", "p.oid")}
JOIN pg_language l ON l.oid = p.prolang
WHERE ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")}
ORDER BY n.nspname COLLATE "C", p.proname COLLATE "C", pg_get_function_identity_arguments(p.oid) COLLATE "C"`

// Enums, domains and standalone composite types (not the row types every table has).
const TYPES = `
SELECT t.typtype::text AS typtype, t.typrelid AS relid, n.nspname::text AS schema, t.typname::text AS name,
       CASE WHEN t.typtype = 'e' THEN
         array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS enum_values,
       format_type(t.typbasetype, t.typtypmod) AS base_type,
       bn.nspname::text AS base_schema, bt.typname::text AS base_name,
       t.typnotnull AS not_null, pg_get_expr(t.typdefaultbin, 0) AS default_expression,
       CASE WHEN t.typcollation <> bt.typcollation THEN co.collname::text END AS collation,
       CASE WHEN t.typtype = 'd' THEN (
         SELECT coalesce(json_agg(json_build_object('name', con.conname, 'definition', pg_get_constraintdef(con.oid, true),
                                                    'validated', con.convalidated) ORDER BY con.conname COLLATE "C"), '[]'::json)
         FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c') END AS domain_constraints,
       ds.description AS comment
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
${describedBy("pg_type", "t.oid")}
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_namespace bn ON bn.oid = bt.typnamespace
LEFT JOIN pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND c.relkind = 'c'))
  AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}
ORDER BY n.nspname COLLATE "C", t.typname COLLATE "C"`

type Nullable<A> = A | null

interface MetaRow { readonly database: string; readonly server_version: number }
interface SchemaRow { readonly name: string; readonly owner: string; readonly privileges: ReadonlyArray<Grant>; readonly comment: Nullable<string> }
interface ExtensionRow { readonly name: string; readonly version: string; readonly schema: string }
// Publications: the tables come from pg_publication_tables (which also expands FOR TABLES IN
// SCHEMA); its row filter and the relation's column list exist from PostgreSQL 15 on, so they
// are read through to_jsonb and are simply null on older servers.
const PUBLICATIONS = `
SELECT p.pubname::text AS name, pg_get_userbyid(p.pubowner)::text AS owner, p.puballtables AS all_tables,
       p.pubinsert AS publish_insert, p.pubupdate AS publish_update, p.pubdelete AS publish_delete,
       p.pubtruncate AS publish_truncate, p.pubviaroot AS via_root, ds.description AS comment,
       CASE WHEN p.puballtables THEN '[]'::json ELSE (
         SELECT coalesce(json_agg(json_build_object(
                  'schema', t.j ->> 'schemaname', 'table', t.j ->> 'tablename',
                  'columns', CASE WHEN EXISTS (
                      SELECT FROM pg_publication_rel pr
                       WHERE pr.prpubid = p.oid AND pr.prrelid = format('%I.%I', t.j ->> 'schemaname', t.j ->> 'tablename')::regclass
                         AND to_jsonb(pr) ->> 'prattrs' IS NOT NULL)
                    THEN t.j -> 'attnames' END,
                  'rowFilter', t.j ->> 'rowfilter')
                ORDER BY t.j ->> 'schemaname' COLLATE "C", t.j ->> 'tablename' COLLATE "C"), '[]'::json)
           FROM (SELECT to_jsonb(pt) AS j FROM pg_publication_tables pt WHERE pt.pubname = p.pubname) t)
       END AS tables
FROM pg_publication p
${describedBy("pg_publication", "p.oid")}
ORDER BY p.pubname COLLATE "C"`

const EVENT_TRIGGERS = `
SELECT ev.evtname::text AS name, ev.evtevent::text AS event, fn.nspname::text AS function_schema,
       f.proname::text AS function_name, ev.evtenabled::text AS enabled,
       ARRAY(SELECT x FROM unnest(coalesce(ev.evttags, '{}'::text[])) x ORDER BY x COLLATE "C") AS tags,
       pg_get_userbyid(ev.evtowner)::text AS owner, ds.description AS comment
FROM pg_event_trigger ev
JOIN pg_proc f ON f.oid = ev.evtfoid
JOIN pg_namespace fn ON fn.oid = f.pronamespace
${describedBy("pg_event_trigger", "ev.oid")}
WHERE ${notExtensionMember("pg_event_trigger", "ev.oid")}
ORDER BY ev.evtname COLLATE "C"`

interface PublicationRow {
  readonly name: string
  readonly owner: string
  readonly all_tables: boolean
  readonly publish_insert: boolean
  readonly publish_update: boolean
  readonly publish_delete: boolean
  readonly publish_truncate: boolean
  readonly via_root: boolean
  readonly comment: Nullable<string>
  readonly tables: ReadonlyArray<PublishedTable>
}
interface EventTriggerRow {
  readonly name: string
  readonly event: string
  readonly function_schema: string
  readonly function_name: string
  readonly enabled: string
  readonly tags: ReadonlyArray<string>
  readonly owner: string
  readonly comment: Nullable<string>
}

interface RelationRow {
  readonly relid: number
  readonly schema: string
  readonly name: string
  readonly relkind: string
  readonly owner: string
  readonly partition_key: Nullable<string>
  readonly parent_schema: Nullable<string>
  readonly parent_name: Nullable<string>
  readonly partition_bound: Nullable<string>
  readonly row_estimate: number
  readonly row_security: boolean
  readonly force_row_security: boolean
  readonly replica_identity: string
  readonly replica_index: Nullable<string>
  readonly view_definition: Nullable<string>
  readonly privileges: ReadonlyArray<Grant>
  readonly comment: Nullable<string>
}
interface ColumnRow {
  readonly relid: number
  readonly attnum: number
  readonly name: string
  readonly type: string
  readonly type_oid: number
  readonly type_schema: string
  readonly type_name: string
  readonly is_array: boolean
  readonly element_schema: Nullable<string>
  readonly element_name: Nullable<string>
  readonly not_null: boolean
  readonly expression: Nullable<string>
  readonly identity: string
  readonly generated: string
  readonly collation: Nullable<string>
  readonly comment: Nullable<string>
  readonly privileges: ReadonlyArray<Grant>
}
interface ConstraintRow {
  readonly relid: number
  readonly name: string
  readonly type: string
  readonly attnums: ReadonlyArray<number>
  readonly definition: string
  readonly deferrable: boolean
  readonly initially_deferred: boolean
  readonly validated: boolean
  readonly inherited: boolean
  readonly ref_relid: number
  readonly ref_schema: Nullable<string>
  readonly ref_table: Nullable<string>
  readonly ref_attnums: ReadonlyArray<number>
  readonly on_delete: string
  readonly on_update: string
  readonly match: string
  readonly comment: Nullable<string>
}
interface IndexRow {
  readonly relid: number
  readonly name: string
  readonly method: string
  readonly attnums: ReadonlyArray<number>
  readonly key_count: number
  readonly deparsed_keys: Nullable<ReadonlyArray<string>>
  readonly is_unique: boolean
  readonly is_primary: boolean
  readonly predicate: Nullable<string>
  readonly valid: boolean
  readonly constraint_name: Nullable<string>
  readonly definition: string
  readonly comment: Nullable<string>
}
interface TriggerRow {
  readonly relid: number
  readonly name: string
  readonly type: number
  readonly function_schema: string
  readonly function_name: string
  readonly enabled: string
  readonly inherited: boolean
  readonly definition: string
  readonly comment: Nullable<string>
}
interface PolicyRow {
  readonly relid: number
  readonly name: string
  readonly command: string
  readonly permissive: boolean
  readonly roles: ReadonlyArray<string>
  readonly using_expression: Nullable<string>
  readonly with_check: Nullable<string>
  readonly comment: Nullable<string>
}
interface SequenceRow {
  readonly schema: string
  readonly name: string
  readonly owner: string
  readonly data_type: string
  readonly start: string
  readonly increment: string
  readonly min: string
  readonly max: string
  readonly cache: string
  readonly cycle: boolean
  readonly owner_schema: Nullable<string>
  readonly owner_table: Nullable<string>
  readonly owner_column: Nullable<string>
  readonly identity: boolean
  readonly privileges: ReadonlyArray<Grant>
  readonly comment: Nullable<string>
}
interface RoutineRow {
  readonly schema: string
  readonly name: string
  readonly kind: string
  readonly owner: string
  readonly identity_arguments: string
  readonly return_type: Nullable<string>
  readonly language: string
  readonly volatility: string
  readonly security_definer: boolean
  readonly source_hash: string
  readonly privileges: ReadonlyArray<Grant>
  readonly comment: Nullable<string>
}
interface TypeRow {
  readonly typtype: string
  readonly relid: number
  readonly schema: string
  readonly name: string
  readonly enum_values: Nullable<ReadonlyArray<string>>
  readonly base_type: string
  readonly base_schema: Nullable<string>
  readonly base_name: Nullable<string>
  readonly not_null: boolean
  readonly default_expression: Nullable<string>
  readonly collation: Nullable<string>
  readonly domain_constraints: Nullable<DomainType["constraints"]>
  readonly comment: Nullable<string>
}

const groupByRelation = <R extends { readonly relid: number }, A>(
  rows: ReadonlyArray<R>,
  toModel: (row: R) => A
): ReadonlyMap<number, ReadonlyArray<A>> => {
  const groups = new Map<number, Array<A>>()
  for (const row of rows) {
    const group = groups.get(row.relid)
    if (group === undefined) groups.set(row.relid, [toModel(row)])
    else group.push(toModel(row))
  }
  return groups
}

const toColumn = (row: ColumnRow): Column => ({
  attnum: row.attnum,
  name: row.name,
  type: row.type,
  typeOid: row.type_oid,
  typeSchema: row.type_schema,
  typeName: row.type_name,
  isArray: row.is_array,
  elementType:
    row.element_schema !== null && row.element_name !== null ? { schema: row.element_schema, name: row.element_name } : null,
  notNull: row.not_null,
  default: row.generated === "" ? row.expression : null,
  identity: row.identity === "a" ? "always" : row.identity === "d" ? "by default" : null,
  generated:
    row.generated === "" || row.expression === null
      ? null
      : { kind: row.generated === "v" ? "virtual" : "stored", expression: row.expression },
  collation: row.collation,
  comment: row.comment,
  privileges: row.privileges
})

const REFERENTIAL_ACTIONS: Readonly<Record<string, ReferentialAction>> = {
  a: "no action",
  r: "restrict",
  c: "cascade",
  n: "set null",
  d: "set default"
}

const MATCH_TYPES = { s: "simple", f: "full", p: "partial" } as const

/** The name of column `attnum` of relation `relid`, from the columns already read. */
type ColumnName = (relid: number, attnum: number) => string

const columnNamesOf = (columns: ReadonlyMap<number, ReadonlyArray<Column>>): ColumnName => {
  const names = new Map<number, ReadonlyMap<number, string>>()
  for (const [relid, relationColumns] of columns) names.set(relid, new Map(relationColumns.map((c) => [c.attnum, c.name])))
  // Constraints and indexes only name live columns of user relations, all of which were read.
  return (relid, attnum) => names.get(relid)?.get(attnum) ?? `#${attnum}`
}

const toConstraint = (columnName: ColumnName) => (row: ConstraintRow): Constraint => ({
  name: row.name,
  columns: row.attnums.map((attnum) => columnName(row.relid, attnum)),
  definition: row.definition,
  deferrable: row.deferrable,
  initiallyDeferred: row.initially_deferred,
  validated: row.validated,
  inherited: row.inherited,
  comment: row.comment
})

const toForeignKey = (columnName: ColumnName) => (row: ConstraintRow): ForeignKey => ({
  ...toConstraint(columnName)(row),
  references: {
    schema: row.ref_schema ?? "",
    table: row.ref_table ?? "",
    columns: row.ref_attnums.map((attnum) => columnName(row.ref_relid, attnum))
  },
  onDelete: REFERENTIAL_ACTIONS[row.on_delete] ?? "no action",
  onUpdate: REFERENTIAL_ACTIONS[row.on_update] ?? "no action",
  match: MATCH_TYPES[row.match as keyof typeof MATCH_TYPES] ?? "simple"
})

const toIndex = (columnName: ColumnName) => (row: IndexRow): Index => {
  const keys = row.attnums.map((attnum, k) => (attnum === 0 ? row.deparsed_keys?.[k] ?? "" : columnName(row.relid, attnum)))
  return {
    name: row.name,
    method: row.method,
    keys: keys.slice(0, row.key_count),
    include: keys.slice(row.key_count),
    unique: row.is_unique,
    primary: row.is_primary,
    hasExpressions: row.deparsed_keys !== null,
    predicate: row.predicate,
    valid: row.valid,
    constraint: row.constraint_name,
    definition: row.definition,
    comment: row.comment
  }
}

// pg_trigger.tgtype bits, from PostgreSQL's catalog/pg_trigger.h.
const TRIGGER_ROW = 1 << 0
const TRIGGER_BEFORE = 1 << 1
const TRIGGER_INSERT = 1 << 2
const TRIGGER_DELETE = 1 << 3
const TRIGGER_UPDATE = 1 << 4
const TRIGGER_TRUNCATE = 1 << 5
const TRIGGER_INSTEAD = 1 << 6

const TRIGGER_ENABLED = { O: "origin", A: "always", R: "replica", D: "disabled" } as const

/** pg_class.relreplident. */
const REPLICA_IDENTITY = { d: "default", n: "nothing", f: "full", i: "index" } as const

const toTrigger = (row: TriggerRow): Trigger => {
  const events: Array<Trigger["events"][number]> = []
  if (row.type & TRIGGER_INSERT) events.push("INSERT")
  if (row.type & TRIGGER_UPDATE) events.push("UPDATE")
  if (row.type & TRIGGER_DELETE) events.push("DELETE")
  if (row.type & TRIGGER_TRUNCATE) events.push("TRUNCATE")
  return {
    name: row.name,
    timing: row.type & TRIGGER_INSTEAD ? "INSTEAD OF" : row.type & TRIGGER_BEFORE ? "BEFORE" : "AFTER",
    events,
    level: row.type & TRIGGER_ROW ? "ROW" : "STATEMENT",
    function: { schema: row.function_schema, name: row.function_name },
    enabled: TRIGGER_ENABLED[row.enabled as keyof typeof TRIGGER_ENABLED] ?? "origin",
    inherited: row.inherited,
    definition: row.definition,
    comment: row.comment
  }
}

const POLICY_COMMANDS = { "*": "ALL", r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE" } as const

const toPolicy = (row: PolicyRow): Policy => ({
  name: row.name,
  command: POLICY_COMMANDS[row.command as keyof typeof POLICY_COMMANDS] ?? "ALL",
  permissive: row.permissive,
  roles: row.roles,
  using: row.using_expression,
  withCheck: row.with_check,
  comment: row.comment
})

const ROUTINE_KINDS = { f: "function", p: "procedure", a: "aggregate", w: "window" } as const
const VOLATILITIES = { i: "immutable", s: "stable", v: "volatile" } as const

const toRoutine = (row: RoutineRow): Routine => ({
  schema: row.schema,
  name: row.name,
  kind: ROUTINE_KINDS[row.kind as keyof typeof ROUTINE_KINDS] ?? "function",
  owner: row.owner,
  identityArguments: row.identity_arguments,
  returnType: row.return_type,
  language: row.language,
  volatility: VOLATILITIES[row.volatility as keyof typeof VOLATILITIES] ?? "volatile",
  securityDefiner: row.security_definer,
  sourceHash: row.source_hash,
  privileges: row.privileges,
  comment: row.comment
})

const toSequence = (row: SequenceRow): Sequence => ({
  schema: row.schema,
  name: row.name,
  owner: row.owner,
  dataType: row.data_type,
  start: row.start,
  increment: row.increment,
  min: row.min,
  max: row.max,
  cache: row.cache,
  cycle: row.cycle,
  ownedBy:
    row.owner_schema !== null && row.owner_table !== null && row.owner_column !== null
      ? { schema: row.owner_schema, table: row.owner_table, column: row.owner_column }
      : null,
  identity: row.identity,
  privileges: row.privileges,
  comment: row.comment
})

const toDomain = (row: TypeRow): DomainType => ({
  schema: row.schema,
  name: row.name,
  baseType: row.base_type,
  baseTypeName: { schema: row.base_schema ?? "", name: row.base_name ?? "" },
  notNull: row.not_null,
  default: row.default_expression,
  collation: row.collation,
  constraints: row.domain_constraints ?? [],
  comment: row.comment
})

// The SqlError's own message is generic ("Query failed"); the server's words are in its cause.
const catalogReadFailed = (error: SqlError.SqlError) =>
  new HarnessError({
    reason: error.reason._tag === "ConnectionError" || error.reason._tag === "AuthenticationError" ? "Connection" : "Internal",
    message: `reading the database catalog failed: ${
      error.reason.cause instanceof Error ? error.reason.cause.message : error.message
    }`,
    cause: error
  })

/** Read the whole schema of the database behind the `SqlClient`, at one instant. */
export const readCatalog: Effect.Effect<Catalog, HarnessError, SqlClient.SqlClient> = Effect.suspend(() => readCatalogAt(undefined))

/**
 * Read the schema at an exported snapshot (`pg_export_snapshot()` of a transaction still open),
 * so the catalog and that transaction's queries see the same instant; a fresh one without it.
 */
export const readCatalogAt = (snapshotId: string | undefined): Effect.Effect<Catalog, HarnessError, SqlClient.SqlClient> => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const query = <A extends object>(text: string) => sql.unsafe<A>(text)
  const atSnapshot: Effect.Effect<unknown, SqlError.SqlError> =
    snapshotId === undefined ? Effect.void : sql.unsafe(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotId)}`)
  // Deparsed text must not depend on the session: with an empty search_path every name outside
  // pg_catalog is schema-qualified (as pg_dump does), and constants such as timestamptz partition
  // bounds print the same in UTC whatever the server's TimeZone.
  const queries = Effect.andThen(
    Effect.andThen(atSnapshot, sql`SELECT set_config('search_path', '', true), set_config('TimeZone', 'UTC', true),
               set_config('DateStyle', 'ISO, MDY', true), set_config('IntervalStyle', 'postgres', true)`),
    Effect.all(
      {
        meta: query<MetaRow>(META),
        schemas: query<SchemaRow>(SCHEMAS),
        extensions: query<ExtensionRow>(EXTENSIONS),
        relations: query<RelationRow>(RELATIONS),
        columns: query<ColumnRow>(COLUMNS),
        constraints: query<ConstraintRow>(CONSTRAINTS),
        indexes: query<IndexRow>(INDEXES),
        triggers: query<TriggerRow>(TRIGGERS),
        policies: query<PolicyRow>(POLICIES),
        sequences: query<SequenceRow>(SEQUENCES),
        routines: query<RoutineRow>(ROUTINES),
        types: query<TypeRow>(TYPES),
        publications: query<PublicationRow>(PUBLICATIONS),
        eventTriggers: query<EventTriggerRow>(EVENT_TRIGGERS)
      }
    )
  )
  const rows = yield* sql.withTransaction(queries).pipe(
    Effect.provideService(SqlClient.BeginTransaction, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
  )

  const columns = groupByRelation(rows.columns, toColumn)
  const columnName = columnNamesOf(columns)
  const constraints = groupByRelation(rows.constraints, (row) => row)
  const indexes = groupByRelation(rows.indexes, toIndex(columnName))
  const triggers = groupByRelation(rows.triggers, toTrigger)
  const policies = groupByRelation(rows.policies, toPolicy)
  const constraintsOf = (relid: number, type: string) => (constraints.get(relid) ?? []).filter((row) => row.type === type)

  const toTable = (row: RelationRow): Table => {
    const primaryKey = constraintsOf(row.relid, "p")[0]
    return {
      schema: row.schema,
      name: row.name,
      relkind: row.relkind === "p" ? "p" : "r",
      owner: row.owner,
      partitionKey: row.partition_key,
      partitionOf:
        row.parent_schema !== null && row.parent_name !== null
          ? { schema: row.parent_schema, name: row.parent_name, bound: row.partition_bound ?? "" }
          : null,
      rowEstimate: row.row_estimate,
      rowSecurity: row.row_security,
      forceRowSecurity: row.force_row_security,
      replicaIdentity: {
        kind: REPLICA_IDENTITY[row.replica_identity as keyof typeof REPLICA_IDENTITY] ?? "default",
        index: row.replica_identity === "i" ? row.replica_index : null
      },
      columns: columns.get(row.relid) ?? [],
      primaryKey: primaryKey === undefined ? null : toConstraint(columnName)(primaryKey),
      uniqueConstraints: constraintsOf(row.relid, "u").map(toConstraint(columnName)),
      checkConstraints: constraintsOf(row.relid, "c").map(toConstraint(columnName)),
      exclusionConstraints: constraintsOf(row.relid, "x").map(toConstraint(columnName)),
      foreignKeys: constraintsOf(row.relid, "f").map(toForeignKey(columnName)),
      indexes: indexes.get(row.relid) ?? [],
      triggers: triggers.get(row.relid) ?? [],
      policies: policies.get(row.relid) ?? [],
      privileges: row.privileges,
      comment: row.comment
    }
  }

  const toView = (row: RelationRow): View => ({
    schema: row.schema,
    name: row.name,
    materialized: row.relkind === "m",
    owner: row.owner,
    definition: row.view_definition ?? "",
    columns: columns.get(row.relid) ?? [],
    indexes: indexes.get(row.relid) ?? [],
    triggers: triggers.get(row.relid) ?? [],
    privileges: row.privileges,
    comment: row.comment
  })

  const isView = (row: RelationRow) => row.relkind === "v" || row.relkind === "m"
  return {
    database: rows.meta[0]?.database ?? "",
    serverVersion: rows.meta[0]?.server_version ?? 0,
    schemas: rows.schemas.map(({ name, owner, privileges, comment }) => ({ name, owner, privileges, comment })),
    extensions: rows.extensions.map(({ name, version, schema }) => ({ name, version, schema })),
    tables: rows.relations.filter((row) => !isView(row)).map(toTable),
    views: rows.relations.filter(isView).map(toView),
    sequences: rows.sequences.map(toSequence),
    routines: rows.routines.map(toRoutine),
    enums: rows.types
      .filter((row) => row.typtype === "e")
      .map((row) => ({ schema: row.schema, name: row.name, values: row.enum_values ?? [], comment: row.comment })),
    domains: rows.types.filter((row) => row.typtype === "d").map(toDomain),
    compositeTypes: rows.types
      .filter((row) => row.typtype === "c")
      .map((row) => ({ schema: row.schema, name: row.name, attributes: columns.get(row.relid) ?? [], comment: row.comment })),
    publications: rows.publications.map((row) => ({
      name: row.name,
      owner: row.owner,
      allTables: row.all_tables,
      operations: (["insert", "update", "delete", "truncate"] as const).filter((op) => row[`publish_${op}`]),
      viaRoot: row.via_root,
      tables: row.tables,
      comment: row.comment
    })),
    eventTriggers: rows.eventTriggers.map((row) => ({
      name: row.name,
      event: row.event,
      function: { schema: row.function_schema, name: row.function_name },
      enabled: TRIGGER_ENABLED[row.enabled as keyof typeof TRIGGER_ENABLED] ?? "origin",
      tags: row.tags,
      owner: row.owner,
      comment: row.comment
    }))
  }
}).pipe(Effect.mapError(catalogReadFailed), Effect.withSpan("readCatalog"))
