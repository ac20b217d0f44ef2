/**
 * The catalog model: one typed, serialisable picture of a database's schema, as read by
 * catalog-reader.ts and printed by `inspect --json`. Planners, the copy engine and the gates work
 * on this model rather than querying pg_catalog themselves, and the drift gate decodes two saved
 * models with `decodeCatalog` to compare them.
 *
 * Conventions: absent values are `null` (never a missing key), so a model survives a JSON round
 * trip deep-equal; every list is sorted (names in code-point order, columns by attnum, enum values
 * by sort order) so two reads of the same database are deep-equal; names are kept exactly as
 * PostgreSQL stores them, unquoted. Expressions and definitions are PostgreSQL's own deparsed
 * text (pg_get_expr, pg_get_constraintdef, ...). 64-bit numbers (sequence bounds) are decimal
 * strings, since JSON numbers cannot hold them.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { HarnessError } from "./errors.ts"

/** A schema-qualified object name, e.g. a referenced table or a trigger's function. */
export const QualifiedName = Schema.Struct({ schema: Schema.String, name: Schema.String })
export type QualifiedName = typeof QualifiedName.Type

/** One privilege of one grantee on one object (a row of `aclexplode`); grantee `PUBLIC` for everyone. */
export const Grant = Schema.Struct({
  grantee: Schema.String,
  privilege: Schema.String,
  grantable: Schema.Boolean
})
export type Grant = typeof Grant.Type

export const Column = Schema.Struct({
  attnum: Schema.Number,
  name: Schema.String,
  /** `format_type` with modifiers, e.g. `character varying(80)`, `public.mpaa_rating`, `text[]`. */
  type: Schema.String,
  /** OID of the column's type in this database (differs between databases for user types). */
  typeOid: Schema.Number,
  /** The type's own schema and name in pg_type, e.g. `pg_catalog` / `_text` for `text[]`. */
  typeSchema: Schema.String,
  typeName: Schema.String,
  isArray: Schema.Boolean,
  /** For arrays, the element type, e.g. `pg_catalog` / `text`. */
  elementType: Schema.NullOr(QualifiedName),
  notNull: Schema.Boolean,
  /** Default expression; `null` for none and for generated columns (see `generated`). */
  default: Schema.NullOr(Schema.String),
  identity: Schema.NullOr(Schema.Literals(["always", "by default"])),
  generated: Schema.NullOr(
    Schema.Struct({ kind: Schema.Literals(["stored", "virtual"]), expression: Schema.String })
  ),
  /** Collation name when it differs from the type's default collation. */
  collation: Schema.NullOr(Schema.String),
  comment: Schema.NullOr(Schema.String),
  /** Column-level grants only (table-level grants are on the table). */
  privileges: Schema.Array(Grant)
})
export type Column = typeof Column.Type

const constraintFields = {
  name: Schema.String,
  /** Constrained columns in key order (for checks: the columns the expression uses). */
  columns: Schema.Array(Schema.String),
  /** `pg_get_constraintdef`, e.g. `FOREIGN KEY (a, b) REFERENCES public.t(x, y) ON DELETE CASCADE`. */
  definition: Schema.String,
  deferrable: Schema.Boolean,
  initiallyDeferred: Schema.Boolean,
  /** `false` for a constraint added `NOT VALID` and not validated since. */
  validated: Schema.Boolean,
  /** Cloned from a partitioned parent's constraint (pg_constraint.conparentid set). */
  inherited: Schema.Boolean,
  comment: Schema.NullOr(Schema.String)
}

/** A primary key, unique, check or exclusion constraint. */
export const Constraint = Schema.Struct(constraintFields)
export type Constraint = typeof Constraint.Type

export const ReferentialAction = Schema.Literals(["no action", "restrict", "cascade", "set null", "set default"])
export type ReferentialAction = typeof ReferentialAction.Type

export const ForeignKey = Schema.Struct({
  ...constraintFields,
  references: Schema.Struct({
    schema: Schema.String,
    table: Schema.String,
    /** Referenced columns, position by position with `columns`. */
    columns: Schema.Array(Schema.String)
  }),
  onDelete: ReferentialAction,
  onUpdate: ReferentialAction,
  match: Schema.Literals(["simple", "full", "partial"])
})
export type ForeignKey = typeof ForeignKey.Type

export const Index = Schema.Struct({
  name: Schema.String,
  /** Access method: btree, gist, gin, ... */
  method: Schema.String,
  /** Key columns in order: a plain column by its name, an expression as `pg_get_indexdef` prints it. */
  keys: Schema.Array(Schema.String),
  /** INCLUDE column names. */
  include: Schema.Array(Schema.String),
  unique: Schema.Boolean,
  primary: Schema.Boolean,
  /** Some key is an expression rather than a plain column. */
  hasExpressions: Schema.Boolean,
  /** WHERE clause of a partial index. */
  predicate: Schema.NullOr(Schema.String),
  /** `false` for an index left invalid (e.g. a failed CREATE INDEX CONCURRENTLY). */
  valid: Schema.Boolean,
  /** The constraint this index enforces, if any. */
  constraint: Schema.NullOr(Schema.String),
  definition: Schema.String,
  comment: Schema.NullOr(Schema.String)
})
export type Index = typeof Index.Type

export const TriggerEvent = Schema.Literals(["INSERT", "UPDATE", "DELETE", "TRUNCATE"])

export const Trigger = Schema.Struct({
  name: Schema.String,
  timing: Schema.Literals(["BEFORE", "AFTER", "INSTEAD OF"]),
  events: Schema.Array(TriggerEvent),
  level: Schema.Literals(["ROW", "STATEMENT"]),
  function: QualifiedName,
  /** `origin` fires normally; see ALTER TABLE ... ENABLE/DISABLE TRIGGER for the others. */
  enabled: Schema.Literals(["origin", "always", "replica", "disabled"]),
  /** Cloned onto a partition from its parent's trigger. */
  inherited: Schema.Boolean,
  definition: Schema.String,
  comment: Schema.NullOr(Schema.String)
})
export type Trigger = typeof Trigger.Type

export const Policy = Schema.Struct({
  name: Schema.String,
  command: Schema.Literals(["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]),
  permissive: Schema.Boolean,
  /** Role names, `public` for everyone. */
  roles: Schema.Array(Schema.String),
  using: Schema.NullOr(Schema.String),
  withCheck: Schema.NullOr(Schema.String),
  comment: Schema.NullOr(Schema.String)
})
export type Policy = typeof Policy.Type

/**
 * What logical replication and CDC tools get of a row's old version on UPDATE and DELETE
 * (ALTER TABLE ... REPLICA IDENTITY): the primary key (`default`), `nothing`, the whole row
 * (`full`), or the columns of a unique `index` (named).
 */
export const ReplicaIdentity = Schema.Struct({
  kind: Schema.Literals(["default", "nothing", "full", "index"]),
  index: Schema.NullOr(Schema.String)
})
export type ReplicaIdentity = typeof ReplicaIdentity.Type

export const Table = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  /** `r` an ordinary table or a partition (holds rows), `p` a partitioned parent (holds none). */
  relkind: Schema.Literals(["r", "p"]),
  owner: Schema.String,
  /** For a partitioned table, `pg_get_partkeydef`, e.g. `RANGE (payment_date)`. */
  partitionKey: Schema.NullOr(Schema.String),
  /** For a partition, its parent and bound, e.g. `FOR VALUES FROM (...) TO (...)`. */
  partitionOf: Schema.NullOr(Schema.Struct({ schema: Schema.String, name: Schema.String, bound: Schema.String })),
  /** pg_class.reltuples: the planner's row estimate, -1 when never vacuumed or analysed. */
  rowEstimate: Schema.Number,
  rowSecurity: Schema.Boolean,
  forceRowSecurity: Schema.Boolean,
  replicaIdentity: ReplicaIdentity,
  columns: Schema.Array(Column),
  primaryKey: Schema.NullOr(Constraint),
  uniqueConstraints: Schema.Array(Constraint),
  checkConstraints: Schema.Array(Constraint),
  exclusionConstraints: Schema.Array(Constraint),
  foreignKeys: Schema.Array(ForeignKey),
  indexes: Schema.Array(Index),
  triggers: Schema.Array(Trigger),
  policies: Schema.Array(Policy),
  privileges: Schema.Array(Grant),
  comment: Schema.NullOr(Schema.String)
})
export type Table = typeof Table.Type

export const View = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  materialized: Schema.Boolean,
  owner: Schema.String,
  /** `pg_get_viewdef`, pretty-printed. */
  definition: Schema.String,
  columns: Schema.Array(Column),
  /** Only materialized views have indexes. */
  indexes: Schema.Array(Index),
  triggers: Schema.Array(Trigger),
  privileges: Schema.Array(Grant),
  comment: Schema.NullOr(Schema.String)
})
export type View = typeof View.Type

export const Sequence = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  owner: Schema.String,
  /** `smallint`, `integer` or `bigint`. */
  dataType: Schema.String,
  start: Schema.String,
  increment: Schema.String,
  min: Schema.String,
  max: Schema.String,
  cache: Schema.String,
  cycle: Schema.Boolean,
  /** The column the sequence belongs to (`OWNED BY`, serial or identity), if any. */
  ownedBy: Schema.NullOr(Schema.Struct({ schema: Schema.String, table: Schema.String, column: Schema.String })),
  /** The sequence behind an identity column. */
  identity: Schema.Boolean,
  privileges: Schema.Array(Grant),
  comment: Schema.NullOr(Schema.String)
})
export type Sequence = typeof Sequence.Type

export const Routine = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  kind: Schema.Literals(["function", "procedure", "aggregate", "window"]),
  owner: Schema.String,
  /** `pg_get_function_identity_arguments`: what tells overloads apart, e.g. `p_film_id integer`. */
  identityArguments: Schema.String,
  /** `pg_get_function_result`, e.g. `SETOF integer`; `null` for procedures. */
  returnType: Schema.NullOr(Schema.String),
  language: Schema.String,
  volatility: Schema.Literals(["immutable", "stable", "volatile"]),
  securityDefiner: Schema.Boolean,
  /** md5 of the body (prosrc), so a changed body shows without storing every body. */
  sourceHash: Schema.String,
  privileges: Schema.Array(Grant),
  comment: Schema.NullOr(Schema.String)
})
export type Routine = typeof Routine.Type

export const EnumType = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  /** In sort order. */
  values: Schema.Array(Schema.String),
  comment: Schema.NullOr(Schema.String)
})
export type EnumType = typeof EnumType.Type

export const DomainType = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  /** `format_type` of the base type with modifiers, e.g. `bigint`, `numeric(5,2)`. */
  baseType: Schema.String,
  baseTypeName: QualifiedName,
  notNull: Schema.Boolean,
  default: Schema.NullOr(Schema.String),
  collation: Schema.NullOr(Schema.String),
  constraints: Schema.Array(
    Schema.Struct({ name: Schema.String, definition: Schema.String, validated: Schema.Boolean })
  ),
  comment: Schema.NullOr(Schema.String)
})
export type DomainType = typeof DomainType.Type

export const CompositeType = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  attributes: Schema.Array(Column),
  comment: Schema.NullOr(Schema.String)
})
export type CompositeType = typeof CompositeType.Type

export const Extension = Schema.Struct({ name: Schema.String, version: Schema.String, schema: Schema.String })
export type Extension = typeof Extension.Type

/** A table as a publication publishes it: all columns (`columns` null) or a list, and an optional row filter. */
export const PublishedTable = Schema.Struct({
  schema: Schema.String,
  table: Schema.String,
  columns: Schema.NullOr(Schema.Array(Schema.String)),
  rowFilter: Schema.NullOr(Schema.String)
})
export type PublishedTable = typeof PublishedTable.Type

/** A logical-replication publication (CREATE PUBLICATION): what subscribers and CDC receive. */
export const Publication = Schema.Struct({
  name: Schema.String,
  owner: Schema.String,
  /** FOR ALL TABLES: then `tables` is empty. */
  allTables: Schema.Boolean,
  /** Published operations, in the order insert, update, delete, truncate. */
  operations: Schema.Array(Schema.Literals(["insert", "update", "delete", "truncate"])),
  /** publish_via_partition_root. */
  viaRoot: Schema.Boolean,
  /** The tables it publishes (explicitly or through FOR TABLES IN SCHEMA), sorted. */
  tables: Schema.Array(PublishedTable),
  comment: Schema.NullOr(Schema.String)
})
export type Publication = typeof Publication.Type

/** A database-wide event trigger (CREATE EVENT TRIGGER): runs a function on DDL events. */
export const EventTrigger = Schema.Struct({
  name: Schema.String,
  /** `ddl_command_start`, `ddl_command_end`, `sql_drop`, `table_rewrite` or `login`. */
  event: Schema.String,
  function: QualifiedName,
  enabled: Schema.Literals(["origin", "always", "replica", "disabled"]),
  /** WHEN TAG IN (...), sorted; empty for every command. */
  tags: Schema.Array(Schema.String),
  owner: Schema.String,
  comment: Schema.NullOr(Schema.String)
})
export type EventTrigger = typeof EventTrigger.Type

export const DatabaseSchema = Schema.Struct({
  name: Schema.String,
  owner: Schema.String,
  privileges: Schema.Array(Grant),
  comment: Schema.NullOr(Schema.String)
})
export type DatabaseSchema = typeof DatabaseSchema.Type

/**
 * A database's schema. System schemas (pg_catalog, information_schema, pg_toast, pg_temp_*) and
 * objects that belong to an extension are left out; the extensions themselves are listed.
 */
export const Catalog = Schema.Struct({
  database: Schema.String,
  /** `server_version_num`, e.g. 180004. */
  serverVersion: Schema.Number,
  schemas: Schema.Array(DatabaseSchema),
  extensions: Schema.Array(Extension),
  tables: Schema.Array(Table),
  views: Schema.Array(View),
  sequences: Schema.Array(Sequence),
  routines: Schema.Array(Routine),
  enums: Schema.Array(EnumType),
  domains: Schema.Array(DomainType),
  compositeTypes: Schema.Array(CompositeType),
  publications: Schema.Array(Publication),
  eventTriggers: Schema.Array(EventTrigger)
})
export type Catalog = typeof Catalog.Type

/**
 * The schema db-harness keeps its own records in, in a target (the masking proof,
 * masking-proof.ts). Never copied, masked, scanned for PII or compared by the gates.
 */
export const INTERNAL_SCHEMA = "db_harness"

/** A catalog without db-harness's own schema: what propagate, the gates and the scanners see. */
export const withoutInternalSchema = (catalog: Catalog): Catalog => ({
  ...catalog,
  schemas: catalog.schemas.filter((s) => s.name !== INTERNAL_SCHEMA),
  tables: catalog.tables.filter((t) => t.schema !== INTERNAL_SCHEMA),
  views: catalog.views.filter((v) => v.schema !== INTERNAL_SCHEMA),
  sequences: catalog.sequences.filter((s) => s.schema !== INTERNAL_SCHEMA)
})

/** Decode a model from parsed JSON (e.g. a saved `inspect --json`), with every issue named. */
export const decodeCatalog = (input: unknown): Effect.Effect<Catalog, HarnessError> =>
  Schema.decodeUnknownEffect(Catalog)(input, { errors: "all" }).pipe(
    Effect.mapError(
      (error) => new HarnessError({ reason: "BadInput", message: `not a db-harness catalog: ${error.message}`, cause: error })
    )
  )

/**
 * A temporal foreign key (PostgreSQL 18, `FOREIGN KEY (a, PERIOD p) REFERENCES t (x, PERIOD q)`):
 * its last columns are ranges, and a row needs parent rows that match it on the other columns and
 * whose ranges together cover its own. Only `pg_get_constraintdef` shows it.
 */
export const isTemporalForeignKey = (fk: ForeignKey): boolean => /^FOREIGN KEY \([^)]*\bPERIOD /.test(fk.definition)

/** A foreign key declared `NOT ENFORCED` (PostgreSQL 18): never checked, so never validated. */
export const isNotEnforcedForeignKey = (fk: ForeignKey): boolean => /\bNOT ENFORCED\b/.test(fk.definition)

/** An SQL identifier, always double-quoted, so any name (keywords, capitals, `bıgınt`) is safe. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** An SQL string literal, single-quoted with quotes doubled (standard_conforming_strings, on since PostgreSQL 9.1). */
export const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`

/** The qualified, quoted name to put in SQL: `"public"."payment"`. */
export const tableKey = (schema: string, name: string): string => `${quoteIdent(schema)}.${quoteIdent(name)}`

const tablesByKey = new WeakMap<Catalog, ReadonlyMap<string, Table>>()

/** The domains a column's type goes through to its base type, outermost first (empty for a plain type). */
export const domainsOf = (catalog: Catalog, column: Column): ReadonlyArray<DomainType> => {
  const chain: Array<DomainType> = []
  let name = { schema: column.typeSchema, name: column.typeName }
  for (let depth = 0; depth < 8; depth++) {
    const domain = catalog.domains.find((d) => d.schema === name.schema && d.name === name.name)
    if (domain === undefined) break
    chain.push(domain)
    name = domain.baseTypeName
  }
  return chain
}

/** The table `schema.name`, or `undefined`; indexed once per catalog, so repeated lookups are cheap. */
export const findTable = (catalog: Catalog, schema: string, name: string): Table | undefined => {
  let byKey = tablesByKey.get(catalog)
  if (byKey === undefined) {
    byKey = new Map(catalog.tables.map((table) => [tableKey(table.schema, table.name), table]))
    tablesByKey.set(catalog, byKey)
  }
  return byKey.get(tableKey(schema, name))
}

/** The foreign keys a table declares (its references to parents). */
export const foreignKeysOf = (table: Table): ReadonlyArray<ForeignKey> => table.foreignKeys

/** Every foreign key, in any table, that references `table` (its children). */
export const referencingForeignKeys = (
  catalog: Catalog,
  table: QualifiedName
): ReadonlyArray<{ readonly table: Table; readonly foreignKey: ForeignKey }> =>
  catalog.tables.flatMap((child) =>
    child.foreignKeys
      .filter((fk) => fk.references.schema === table.schema && fk.references.table === table.name)
      .map((foreignKey) => ({ table: child, foreignKey }))
  )

/** The leaf tables (those that hold rows) under a table: itself, or its partitions at any depth. */
export const leavesOf = (catalog: Catalog, table: Table): ReadonlyArray<Table> =>
  table.relkind === "r"
    ? [table]
    : catalog.tables
        .filter((t) => t.partitionOf !== null && t.partitionOf.schema === table.schema && t.partitionOf.name === table.name)
        .flatMap((t) => leavesOf(catalog, t))

/** The tables that hold rows: ordinary tables and partitions, not partitioned parents. */
export const leafTables = (catalog: Catalog): ReadonlyArray<Table> => catalog.tables.filter((table) => table.relkind === "r")

/** Generated columns are computed by the server and cannot be written (COPY or INSERT). */
export const isGenerated = (column: Column): boolean => column.generated !== null

/** The columns a COPY reads from one table and writes into another, in table order. */
export const copyableColumns = (table: Table): ReadonlyArray<Column> => table.columns.filter((column) => !isGenerated(column))
