/**
 * Orphan rows: rows of TARGET whose foreign-key value has no parent row. Planned from the catalogs
 * (`planOrphanChecks`) and counted on TARGET's live rows (`runOrphanChecks`), never taken from
 * `convalidated`: a NOT VALID constraint, rows loaded with `session_replication_role = replica`,
 * disabled triggers or a dropped and re-added key all leave orphans PostgreSQL believes absent.
 *
 * Which keys are checked, each once:
 * - every foreign key TARGET declares (a partitioned table's key on the partitioned table, which
 *   scans every partition; the clones on its partitions are skipped);
 * - every foreign key SOURCE declares that TARGET lost, matched by what it constrains (child
 *   table, columns, referenced table and columns, pairwise), not by name: a dropped key is how
 *   orphans usually sneak in, and a renamed one is not lost;
 * - every logical foreign key of the config file.
 *
 * A key is checked by an anti-join, `NOT EXISTS (SELECT 1 FROM parent p WHERE p.x = c.a ...)`, which the
 * planner runs as a (parallel) hash, merge or index anti join over one scan of the child, so only
 * orphans leave the join: it counts them and, for a plain table, notes where the first and last
 * lie (ctid), so that the query for a few sample keys reads only that stretch. (Measured on a
 * 10,000,000-row child: a LEFT JOIN that also counted the child's rows in the same scan, to spare
 * the row-count check its count(*), cost more than the two: every row then goes through the
 * aggregate.)
 *
 * A key is checked against the parent's keys, fetched first at the same snapshot, when the child
 * is big enough to be worth it (`orphanCondition`):
 * - by key range, for integer columns referencing integer columns that are unique together: the
 *   parent's min, max and count tell whether every integer of min..max is a key (count = max −
 *   min + 1); if not, a bitmap of the parent's keys over min..max (at most `MAX_BITMAP_KEYS`
 *   bits) says which are. A child key is an orphan exactly when it is outside min..max or its bit
 *   is clear. A key of several columns is encoded as one integer first (its columns' offsets in
 *   mixed radix over their ranges), and the same tests apply to that; when the range is too wide
 *   for a bitmap, the parent's encoded keys can be a key list;
 * - else by key list, for a single column whose parent has at most `MAX_LIST_KEYS` keys of a
 *   hashable type (text, uuid, integers, ...) and a child of `LIST_MIN_ROWS_PER_KEY` rows per key
 *   or more: the keys as an array constant, which the server hashes once.
 * Either is a filter in the child's scan, with no probe of a parent-sized hash table per row (on
 * a 10,000,000-row child, by key range 0.53 s with the table's row count against 1.67 s for the
 * hash anti join without it; with a two-column key onto 99,000 keys, 0.76 s for the encoded
 * bitmap against 1.2 s (hash) to 3.2 s (merge) for the anti-join; bench/consistency.bench.ts). Being a filter, it shares the scan: a
 * child's checks by the parent's keys are one scan of it, or of each of its partitions
 * (`childScanQuery`), which counts the rows on the way for the row-count check (same snapshot),
 * so such a table is read once for all of it (on a 10,000,000-row table in 4 partitions, one key
 * with the partitions' counts 0.74 s, against 0.93 s for the key alone plus the four counts).
 * That scan notes no orphan positions (each would cost the condition once more per row, in the
 * run that finds nothing as in any other); the sample keys of a plain table are searched from
 * its end instead (`SAMPLE_SEARCH_PARTS`).
 *
 * Before the key range and the key list, a key of one or more columns of those types (MATCH
 * SIMPLE, for more than one) whose child (each of its partitions) has a btree index whose first
 * columns are the key's, and enough rows per parent key and partition (`GAPS_MIN_ROWS_PER_KEY`),
 * is checked by the index's gaps (`byIndexGaps`): one index probe per gap between neighbouring
 * parent keys asks whether a child key lies inside it, so the child's rows are not read at all,
 * and its row count is left to the row-count check's own `count(*)`.
 *
 * NULLs follow the key's MATCH type: MATCH SIMPLE skips a key with any NULL part;
 * MATCH FULL accepts an all-NULL key and counts a partly NULL one as a violation. Columns are
 * compared as PostgreSQL compares them (`comparableType`), two under different collations under
 * the parent's (`COLLATE`, as PostgreSQL's own check of the key does); only a pair it cannot
 * compare (a lost or logical key over an integer and a text column) is compared as text, and the
 * check says so. Text keys take the key list or the index gaps only under the database's default
 * collation (`collationOf`): they compare and order keys outside the equality of the two columns.
 * A temporal key (`PERIOD`) is checked by range containment, as PostgreSQL checks it, against
 * the union of each parent key's ranges (one aggregate of the parent, joined).
 */
import * as Effect from "effect/Effect"
import { domainsOf, findTable, isNotEnforcedForeignKey, isTemporalForeignKey, leavesOf, quoteIdent, quoteLiteral, tableKey, type Catalog, type Column, type ForeignKey, type Table } from "./catalog.ts"
import { didYouMean, matchesNamePattern, nameTokens } from "./column-names.ts"
import type { LogicalForeignKey } from "./consistency-config.ts"
import { badInput, HarnessError } from "./errors.ts"
import { matchesTableGlob } from "./glob.ts"
import type { GateQuery } from "./plugin.ts"
import { isStatementTimeout } from "./consistency-sessions.ts"

export type DeclaredIn = "target" | "source" | "config"

export interface OrphanCheck {
  /** The constraint's name (SOURCE's for a lost key), or the logical key's name. */
  readonly name: string
  /** Where the key is declared: on TARGET, only on SOURCE (TARGET lost it), or in the config file. */
  readonly declaredIn: DeclaredIn
  readonly schema: string
  readonly table: string
  readonly columns: ReadonlyArray<string>
  readonly references: { readonly schema: string; readonly table: string; readonly columns: ReadonlyArray<string> }
  readonly match: "simple" | "full"
  /** TARGET's `convalidated` for a declared key; null when TARGET does not declare it. */
  readonly validated: boolean | null
  /** TARGET declares the key `NOT ENFORCED` (PostgreSQL 18): never checked, so never validated. */
  readonly notEnforced: boolean
  /**
   * A temporal key (PostgreSQL 18, `FOREIGN KEY (a, PERIOD p) REFERENCES t (x, PERIOD q)`): the
   * last columns are ranges, and a row's range must lie within the union of the ranges of the
   * parent rows that match it on the other columns and overlap it, as PostgreSQL checks it.
   */
  readonly period: boolean
  /** `FOREIGN KEY (a) REFERENCES s.t(x)`, plus ` MATCH FULL` when it is. */
  readonly definition: string
  /** Where a logical key was written (`file:line:column`). */
  readonly origin?: string | undefined
  /** Why TARGET cannot be checked for it (its child table or columns are gone), or null. */
  readonly skipped: string | null
  /** The referenced table or one of its columns is missing on TARGET: every complete key is an orphan. */
  readonly parentMissing: boolean
  /** Key columns compared as text, because their types differ on TARGET. */
  readonly comparedAsText: boolean
  /** `ONLY child c` and the orphan condition on `c` (a `NOT EXISTS` anti-join), or null when skipped. */
  readonly from: string | null
  readonly condition: string | null
  /** The child is a plain table (not partitioned): a ctid locates a row in it. */
  readonly plainChild: boolean
  /** The tables holding the child's rows on TARGET: the child itself when plain, else its partitions at any depth. */
  readonly leaves: ReadonlyArray<{ readonly schema: string; readonly name: string }>
  /** The orphan rows themselves, for a person to look at (`SELECT c.* ...`), or null when skipped. */
  readonly listSql: string | null
  /** The child's row estimate on TARGET (a partitioned child's: its partitions'), to start the biggest checks first. */
  readonly rowEstimate: number
  /** Set when the key can be checked against the parent's keys fetched beforehand (`orphanCondition`). */
  readonly parentKeys: ParentKeys | null
}

/** A key whose orphans a filter can tell, given the parent's keys: how to fetch and test them. */
export interface ParentKeys {
  /** `ONLY parent` (or a partitioned parent, every partition), aliased `p`. */
  readonly parentFrom: string
  /** `p."id"`, the parent's key columns, in the key's order. */
  readonly parentColumns: ReadonlyArray<string>
  /** `c."parent_id"`, the child's key columns, paired with the parent's. */
  readonly childColumns: ReadonlyArray<string>
  /** The parent's row estimate on TARGET: a parent bigger than its child is not worth an aggregate. */
  readonly parentRowEstimate: number
  /** Every column on both sides is an integer and the parent's columns are unique together: its key range (and bitmap) apply. */
  readonly range: boolean
  /**
   * The type a single-column key is compared as in a key list (`text` for text and varchar,
   * `bigint` for any integers, else the columns' common type), or null when no list applies (a
   * composite key's list is of its encoded keys, by key range).
   */
  readonly listType: string | null
  /**
   * The type each column is compared as in the index's gaps (`byIndexGaps`): as in a key list,
   * column by column, for a key of one or more columns each of which has such a type on both
   * sides; else null.
   */
  readonly gapTypes: ReadonlyArray<string> | null
}

type IntegerType = "smallint" | "integer" | "bigint"

const qualified = (schema: string, name: string) => `${schema}.${name}`

/** `a IS NOT NULL AND b IS NOT NULL ...`: every column of a key set. */
const allSet = (columns: ReadonlyArray<string>) => columns.map((column) => `${column} IS NOT NULL`).join(" AND ")

const keyDefinition = (columns: ReadonlyArray<string>, schema: string, table: string, refColumns: ReadonlyArray<string>, match: string, period = false) => {
  const list = (names: ReadonlyArray<string>) => names.map((name, i) => `${period && i === names.length - 1 ? "PERIOD " : ""}${quoteIdent(name)}`).join(", ")
  return `FOREIGN KEY (${list(columns)}) REFERENCES ${tableKey(schema, table)}(${list(refColumns)})${match === "full" ? " MATCH FULL" : ""}`
}

/** What a key constrains, independent of its name and of the order its columns are listed in. */
const constraintIdentity = (schema: string, table: string, columns: ReadonlyArray<string>, refSchema: string, refTable: string, refColumns: ReadonlyArray<string>) =>
  JSON.stringify([schema, table, refSchema, refTable, columns.map((column, i) => `${column}\u0000${refColumns[i] ?? ""}`).sort()])

const identityOf = (table: Table, fk: ForeignKey) =>
  constraintIdentity(table.schema, table.name, fk.columns, fk.references.schema, fk.references.table, fk.references.columns)

export const isExcluded = (exclude: ReadonlyArray<string>, schema: string, name: string) =>
  exclude.some((pattern) => matchesTableGlob(pattern, schema, name))

/** A column's type with a domain (of a domain ...) replaced by its base type and modifiers dropped. */
const baseType = (catalog: Catalog, column: Column): string => (domainsOf(catalog, column).at(-1)?.baseType ?? column.type).replace(/\(.*?\)/g, "").trim()

/**
 * The collation a column's values compare under, as the catalog names it: the column's own (the
 * catalog names one only when it differs from the type's), else its domain's (of a domain ...: a
 * domain declared `COLLATE x` is the type whose default is x), else null: the database's default
 * collation, or no collation at all (a type that has none, such as integer).
 */
const collationOf = (catalog: Catalog, column: Column): string | null => {
  const collation = column.collation ?? domainsOf(catalog, column).find((domain) => domain.collation !== null)?.collation ?? null
  return collation === "default" ? null : collation
}

/**
 * A column's type as comparison sees it: a domain by its base type, modifiers dropped, and the
 * families whose members PostgreSQL compares with one another (a foreign key may pair any two)
 * merged: numbers, strings, and date with timestamp with or without time zone.
 */
const comparableType = (catalog: Catalog, column: Column): string => {
  const bare = baseType(catalog, column)
  if (/^(smallint|integer|bigint|numeric|real|double precision)$/.test(bare)) return "number"
  if (/^(text|character varying|character|name|"char")$/.test(bare)) return "text"
  if (/^(date|timestamp without time zone|timestamp with time zone)$/.test(bare)) return "datetime"
  return bare
}

const columnOf = (table: Table, name: string) => table.columns.find((column) => column.name === name)

/**
 * A table's estimated rows: a partitioned table's are its partitions' (its own `reltuples` stays
 * -1 until someone runs ANALYZE on it by hand, as autovacuum never does), 0 for never analysed.
 */
const rowsEstimate = (catalog: Catalog, table: Table): number =>
  table.relkind === "r" ? Math.max(0, table.rowEstimate) : leavesOf(catalog, table).reduce((total, leaf) => total + Math.max(0, leaf.rowEstimate), 0)

const integerType = (catalog: Catalog, column: Column): IntegerType | null => {
  const type = baseType(catalog, column)
  return type === "smallint" || type === "integer" || type === "bigint" ? type : null
}

/**
 * The columns are unique together in the table: its primary key, a unique constraint or a full
 * unique index lies within them.
 */
const uniqueOver = (table: Table, columns: ReadonlyArray<string>) =>
  [table.primaryKey, ...table.uniqueConstraints].some((c) => c !== null && c.columns.length > 0 && c.columns.every((column) => columns.includes(column))) ||
  table.indexes.some(
    (index) => index.unique && index.valid && index.predicate === null && !index.hasExpressions && index.keys.length > 0 && index.keys.every((key) => columns.includes(key))
  )

/**
 * Types a key list compares by hashing (`= ANY` over a constant array is hashed from 9 elements):
 * built-in types whose equality has a hash function. Text and varchar are compared as text, only
 * when the column compares under the database's default collation (`collationOf`: not one of
 * its own, nor one its domain carries), which is deterministic and the one the list and the
 * index gaps' literals are compared and ordered by: another may make equal what the bytes are
 * not, or order the keys otherwise; integers of any width as bigint.
 */
const LIST_TYPES: ReadonlyMap<string, string> = new Map([
  ["uuid", "uuid"],
  ["numeric", "numeric"],
  ["date", "date"],
  ["timestamp without time zone", "timestamp"],
  ["timestamp with time zone", "timestamptz"],
  ["bytea", "bytea"]
])

const listTypeOf = (catalog: Catalog, column: Column): string | null => {
  const type = baseType(catalog, column)
  if (type === "text" || type === "character varying") return collationOf(catalog, column) === null ? "text" : null
  if (integerType(catalog, column) !== null) return "bigint"
  return LIST_TYPES.get(type) ?? null
}

const parentKeysOf = (
  catalog: Catalog,
  parent: Table,
  parentNames: ReadonlyArray<string>,
  childColumns: ReadonlyArray<Column>,
  parentColumns: ReadonlyArray<Column>,
  childKeys: ReadonlyArray<string>
): ParentKeys | null => {
  const integers = [...childColumns, ...parentColumns].every((column) => integerType(catalog, column) !== null)
  const range = integers && uniqueOver(parent, parentNames)
  const types = childColumns.map((column, i) => {
    const type = listTypeOf(catalog, column)
    return type !== null && type === listTypeOf(catalog, parentColumns[i] as Column) ? type : null
  })
  const gapTypes = types.every((type) => type !== null) ? (types as ReadonlyArray<string>) : null
  const listType = childColumns.length === 1 ? (types[0] ?? null) : null
  if (!range && gapTypes === null) return null
  return {
    parentFrom: `${parent.relkind === "r" ? "ONLY " : ""}${tableKey(parent.schema, parent.name)} p`,
    parentColumns: parentNames.map((name) => `p.${quoteIdent(name)}`),
    childColumns: childKeys,
    parentRowEstimate: rowsEstimate(catalog, parent),
    range,
    listType,
    gapTypes
  }
}

/** What a check is planned from: the key as declared, before its SQL is written. */
type KeySpec = Pick<OrphanCheck, "name" | "declaredIn" | "schema" | "table" | "columns" | "references" | "match" | "validated"> & {
  readonly origin?: string | undefined
  readonly notEnforced?: boolean
  readonly period?: boolean
}

/** Turn a key into a check on TARGET: find its tables there, and write its queries. */
const checkOn = (target: Catalog, key: KeySpec): OrphanCheck => {
  const period = key.period ?? false
  const definition = keyDefinition(key.columns, key.references.schema, key.references.table, key.references.columns, key.match, period)
  const child = findTable(target, key.schema, key.table)
  const base = { ...key, notEnforced: key.notEnforced ?? false, period, definition, parentMissing: false, comparedAsText: false, from: null, condition: null, plainChild: false, leaves: [], listSql: null, rowEstimate: child === undefined ? 0 : rowsEstimate(target, child), parentKeys: null }
  if (child === undefined) return { ...base, skipped: `table ${qualified(key.schema, key.table)} is not in TARGET` }
  const childColumns = key.columns.map((name) => columnOf(child, name))
  const goneColumns = key.columns.filter((_, i) => childColumns[i] === undefined)
  if (goneColumns.length > 0) {
    return { ...base, skipped: `column(s) ${goneColumns.join(", ")} of ${qualified(key.schema, key.table)} are not in TARGET` }
  }
  const parent = findTable(target, key.references.schema, key.references.table)
  const parentColumns = parent === undefined ? [] : key.references.columns.map((name) => columnOf(parent, name))
  const parentMissing = parent === undefined || parentColumns.some((column) => column === undefined)
  // Only a pair of columns PostgreSQL cannot compare directly (a lost or logical key over an
  // integer and a text column) is compared as text.
  const asText = childColumns.map(
    (column, i) => !parentMissing && comparableType(target, column as Column) !== comparableType(target, parentColumns[i] as Column)
  )
  const comparedAsText = asText.some(Boolean)

  const c = key.columns.map((name) => `c.${quoteIdent(name)}`)
  // Two columns under different collations are compared under the parent's, as PostgreSQL's own
  // check of the key does (ri_triggers.c); left implicit, the equality has no collation to hash
  // or compare by, and fails.
  const collated = childColumns.map((column, i) => {
    if (parentMissing || asText[i]) return ""
    const parentCollation = collationOf(target, parentColumns[i] as Column)
    return parentCollation === collationOf(target, column as Column) ? "" : ` COLLATE ${quoteIdent(parentCollation ?? "default")}`
  })
  const equal = (name: string, i: number) =>
    asText[i] ? `p.${quoteIdent(name)}::text = ${c[i]}::text` : `p.${quoteIdent(name)} = ${c[i]}${collated[i]}`
  const parentName = parent === undefined ? "" : `${parent.relkind === "r" ? "ONLY " : ""}${tableKey(parent.schema, parent.name)} p`
  const last = key.references.columns.length - 1
  const childFrom = `${child.relkind === "r" ? "ONLY " : ""}${tableKey(child.schema, child.name)} c`
  // A temporal key joins each row to the union of its parent rows' ranges, grouped by the other
  // columns (one aggregate of the parent, then a hash join): a row holds when its range is not
  // empty and lies within that union, which is PostgreSQL's own test (ri_triggers.c: the union of
  // the matching parents that overlap it contains it) without a subquery per row (10,000,000
  // rows onto 200,000 periods: 3.7 s joined, bench/consistency.bench.ts (g); 104 s correlated).
  const periodJoin =
    period && parent !== undefined && !parentMissing
      ? ` LEFT JOIN (SELECT ${key.references.columns
          .slice(0, last)
          .map((name, i) => `p.${quoteIdent(name)}${asText[i] ? "::text" : ""} AS k${i}`)
          .concat(`range_agg(p.${quoteIdent(key.references.columns[last]!)}) AS periods`)
          .join(", ")} FROM ${parentName}${last === 0 ? "" : ` GROUP BY ${Array.from({ length: last }, (_, i) => i + 1).join(", ")}`}) p ON ${
          last === 0
            ? "true"
            : c
                .slice(0, last)
                .map((column, i) => `p.k${i} = ${column}${asText[i] ? "::text" : collated[i]}`)
                .join(" AND ")
        }`
      : ""
  const notExists =
    parent === undefined || parentMissing
      ? "true"
      : period
        ? `NOT coalesce(NOT isempty(${c[last]}) AND ${c[last]} <@ p.periods, false)`
        : `NOT EXISTS (SELECT 1 FROM ${parentName} WHERE ${key.references.columns.map(equal).join(" AND ")})`
  const condition =
    key.match === "full" && c.length > 1
      ? `(${c.map((column) => `${column} IS NOT NULL`).join(" OR ")}) AND (${c.map((column) => `${column} IS NULL`).join(" OR ")} OR ${notExists})`
      : `${allSet(c)} AND ${notExists}`
  const from = `${childFrom}${periodJoin}`
  const parentKeys: ParentKeys | null =
    parent !== undefined && !parentMissing && !comparedAsText && !period
      ? parentKeysOf(target, parent, key.references.columns, childColumns as ReadonlyArray<Column>, parentColumns as ReadonlyArray<Column>, c)
      : null
  return {
    ...base,
    parentKeys,
    skipped: null,
    parentMissing,
    comparedAsText,
    from,
    condition,
    plainChild: child.relkind === "r",
    leaves: leavesOf(target, child).map((leaf) => ({ schema: leaf.schema, name: leaf.name })),
    listSql: `SELECT c.* FROM ${from} WHERE ${condition}`
  }
}

/** Resolve a config table name (`schema.table` or a bare name) on TARGET, or explain why not. */
const resolveTable = (target: Catalog, name: string, where: string): Effect.Effect<Table, HarnessError> => {
  const dot = name.indexOf(".")
  const candidates =
    dot === -1 ? target.tables.filter((table) => table.name === name) : target.tables.filter((table) => qualified(table.schema, table.name) === name)
  if (candidates.length === 1) return Effect.succeed(candidates[0] as Table)
  if (candidates.length > 1) {
    return Effect.fail(
      badInput(`${where}: table "${name}" is ambiguous on TARGET (${candidates.map((t) => qualified(t.schema, t.name)).join(", ")}); qualify it with its schema`)
    )
  }
  return Effect.fail(
    badInput(`${where}: no table "${name}" on TARGET${didYouMean(name, target.tables.map((t) => (dot === -1 ? t.name : qualified(t.schema, t.name))))}`)
  )
}

const logicalKey = (target: Catalog, key: LogicalForeignKey, index: number): Effect.Effect<KeySpec, HarnessError> =>
  Effect.gen(function* () {
    const where = key.origin ?? `logical_foreign_keys[${index}]`
    const child = yield* resolveTable(target, key.table, `${where}: table`)
    const parent = yield* resolveTable(target, key.references.table, `${where}: references.table`)
    for (const [table, columns, field] of [
      [child, key.columns, "columns"],
      [parent, key.references.columns, "references.columns"]
    ] as const) {
      for (const column of columns) {
        if (columnOf(table, column) === undefined) {
          return yield* badInput(
            `${where}: ${field}: no column "${column}" in ${qualified(table.schema, table.name)} on TARGET${didYouMean(column, table.columns.map((c) => c.name))}`
          )
        }
      }
    }
    if (key.columns.length !== key.references.columns.length) {
      return yield* badInput(`${where}: ${key.columns.length} column(s) reference ${key.references.columns.length} column(s); they pair up by position`)
    }
    return {
      name: key.name ?? `logical: ${qualified(child.schema, child.name)}(${key.columns.join(", ")}) → ${qualified(parent.schema, parent.name)}(${key.references.columns.join(", ")})`,
      declaredIn: "config",
      schema: child.schema,
      table: child.name,
      columns: key.columns,
      references: { schema: parent.schema, table: parent.name, columns: key.references.columns },
      match: key.match ?? "simple",
      validated: null,
      origin: where
    } satisfies KeySpec
  })

const declaredKey = (table: Table, fk: ForeignKey, declaredIn: DeclaredIn, validated: boolean | null): KeySpec => ({
  name: fk.name,
  declaredIn,
  schema: table.schema,
  table: table.name,
  columns: fk.columns,
  references: { schema: fk.references.schema, table: fk.references.table, columns: fk.references.columns },
  // PostgreSQL has never implemented MATCH PARTIAL; it cannot be declared, so simple covers the rest.
  match: fk.match === "full" ? "full" : "simple",
  validated,
  notEnforced: declaredIn === "target" && isNotEnforcedForeignKey(fk),
  period: isTemporalForeignKey(fk)
})

/**
 * Every check to run on TARGET, each key once. A config key naming a table or column TARGET does
 * not have fails with its file position.
 */
export const planOrphanChecks = (
  source: Catalog | null,
  target: Catalog,
  logical: ReadonlyArray<LogicalForeignKey>,
  exclude: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<OrphanCheck>, HarnessError> =>
  Effect.gen(function* () {
    const seen = new Set<string>()
    const keys: Array<KeySpec> = []
    const add = (identity: string, key: KeySpec) => {
      if (seen.has(identity)) return
      seen.add(identity)
      keys.push(key)
    }
    // A clone of a partitioned table's key on one partition is checked through the partitioned table.
    const declared = (catalog: Catalog) =>
      catalog.tables.flatMap((table) =>
        isExcluded(exclude, table.schema, table.name) ? [] : table.foreignKeys.filter((fk) => !fk.inherited).map((fk) => ({ table, fk }))
      )
    for (const { table, fk } of declared(target)) add(identityOf(table, fk), declaredKey(table, fk, "target", fk.validated))
    if (source !== null) {
      for (const { table, fk } of declared(source)) add(identityOf(table, fk), declaredKey(table, fk, "source", null))
    }
    for (const [index, key] of logical.entries()) {
      const spec = yield* logicalKey(target, key, index)
      if (isExcluded(exclude, spec.schema, spec.table)) continue
      add(constraintIdentity(spec.schema, spec.table, spec.columns, spec.references.schema, spec.references.table, spec.references.columns), spec)
    }
    return keys.map((key) => checkOn(target, key))
  })

/**
 * The check itself, one scan of the child: its orphans and, for a plain table, the first and
 * last orphan's physical position (ctid), so that the sample query reads only that stretch.
 */
export const orphanQuery = (check: OrphanCheck, condition: string | null = check.condition, withPositions = check.plainChild): string => {
  if (check.from === null || condition === null) throw new Error(`orphanQuery: ${check.name} was skipped`)
  const positions = withPositions && check.plainChild ? `, min(c.ctid)::text AS first, max(c.ctid)::text AS last` : ""
  return `SELECT count(*)::text AS orphans${positions} FROM ${check.from} WHERE ${condition}`
}

/** How a check told orphans from the rest: by the anti-join, the parent's key range, or a list of the parent's keys. */
export type OrphanMethod =
  | { readonly kind: "anti-join" }
  | { readonly kind: "key range"; readonly low: string; readonly high: string; readonly missingKeys: number }
  | { readonly kind: "key list"; readonly keys: number }
  | { readonly kind: "index gaps"; readonly index: string; readonly orphanGaps: number }

/** Methods whose condition is a filter of the child's own columns, evaluated in one scan the child's checks share. */
export const sharesScan = (method: OrphanMethod) => method.kind === "key range" || method.kind === "key list"

/**
 * Child tables with fewer estimated rows are checked by the anti-join alone: on a small table
 * fetching the parent's keys would cost a round trip and a scan for nothing measurable.
 */
export const DEFAULT_KEY_RANGE_MIN_ROWS = 100_000

/**
 * The widest key range checked with a bitmap of the parent's keys (one bit per integer of
 * min..max): 2^23 keys, a bitmap of at most 1 MiB, sent as 2 MiB of hex in the statement. Wider
 * ranges with gaps use a key list or the anti-join.
 */
export const MAX_BITMAP_KEYS = 2 ** 23

/**
 * The most parent keys checked as a key list (an array constant in the statement, about 1 MB of
 * text at 100,000 short keys), to keep the statement and the list's cost up front bounded; not
 * measured beyond it. At it, on a 10,000,000-row child with 100,000 text keys (by hand, 5 runs):
 * 0.76 s against 0.99 s for the anti-join, 0.79 s with the table's count shared.
 */
export const MAX_LIST_KEYS = 100_000

/**
 * A key list is used only for a child of at least this many estimated rows per parent key: the
 * list costs about 1.2 µs a key up front (fetching it, and hashing it in every process of the
 * parallel scan) and saves about 50 ns a child row against the anti-join with its own count
 * (estimated from bench/consistency.bench.ts (d), 100,000 text keys: 2,000,000 rows 0.29 s by
 * list against 0.19 s + 0.06 s for the anti-join and the count, one run; 10,000,000 rows 0.98 s
 * against 1.06 s + 0.26 s, medians of five).
 */
export const LIST_MIN_ROWS_PER_KEY = 25

const INTEGER = /^-?\d+$/
const HEX = /^[0-9a-f]*$/
/** The dollar quote around a key list; a list that holds it is not sent (the anti-join decides). */
const LIST_QUOTE = "$db_harness_keys$"

/** Set bits of a hex string: the keys a bitmap holds. */
const bitsSet = (hex: string) => {
  let count = 0
  for (let i = 0; i < hex.length; i++) {
    let nibble = parseInt(hex[i] as string, 16)
    while (nibble > 0) {
      count += nibble & 1
      nibble >>= 1
    }
  }
  return count
}

type Decision = { readonly condition: string | null; readonly method: OrphanMethod }

/**
 * The key's match type around a condition `orphan` that holds for an orphan whose columns are all
 * set. A single column needs nothing: every condition by the parent's keys is NULL (no orphan) for
 * a NULL key. Over several columns, MATCH SIMPLE skips a key with any NULL part; MATCH FULL
 * accepts an all-NULL key and counts a partly NULL one. `orphan` comes first, as it is false for
 * nearly every row and AND stops there (by hand, a two-column key's bitmap test over 10,000,000
 * rows with their count, medians of 7: 0.68 s against 0.73 s with the NULL tests first).
 */
const matching = (columns: ReadonlyArray<string>, match: "simple" | "full", orphan: string): string => {
  if (columns.length === 1) return `(${orphan})`
  if (match === "simple") return `(${orphan}) AND ${allSet(columns)}`
  return `((${orphan}) OR ${columns.map((column) => `${column} IS NULL`).join(" OR ")}) AND (${columns.map((column) => `${column} IS NOT NULL`).join(" OR ")})`
}

/** The widest encoded key (product of the columns' ranges) a composite key list holds: bigint arithmetic with room to spare. */
const MAX_ENCODED_KEYS = 2n ** 62n

/**
 * By the parent's key range: one aggregate over the parent's key columns (each one's min and max,
 * and the count of complete keys). A key of several columns is encoded as one number, its columns'
 * offsets from their minimums in mixed radix (the first column most significant), so the same
 * tests apply to it: when every code of the range is a key (count = product of the ranges), a
 * child key is an orphan exactly when a column is outside its range; when some are missing and
 * the range is at most `MAX_BITMAP_KEYS` wide, the parent's keys come as a bitmap (one bit per
 * code, built on the server) and a key inside the range is an orphan when its bit is clear; else,
 * for a composite key when `listAllowed` and the parent has at most `MAX_LIST_KEYS` keys, the
 * parent's codes as a key list. Null when none applies.
 */
const byKeyRange = (keys: ParentKeys, match: "simple" | "full", listAllowed: boolean, query: GateQuery): Effect.Effect<Decision | null, HarnessError> =>
  Effect.gen(function* () {
    const parent = keys.parentColumns
    const complete = allSet(parent)
    const [row] = yield* query(
      `SELECT ${parent.map((column, i) => `min(${column})::text AS low_${i}, max(${column})::text AS high_${i}`).join(", ")}, count(*)::text AS keys FROM ${keys.parentFrom} WHERE ${complete}`
    )
    const bound = (name: string) => {
      const value = row?.[name]
      return typeof value === "string" && INTEGER.test(value) ? BigInt(value) : null
    }
    const lows = parent.map((_, i) => bound(`low_${i}`))
    const highs = parent.map((_, i) => bound(`high_${i}`))
    const count = bound("keys")
    if (count === null || count === 0n || lows.some((v) => v === null) || highs.some((v) => v === null)) return null
    const low = lows as ReadonlyArray<bigint>
    const high = highs as ReadonlyArray<bigint>
    const spans = low.map((l, i) => (high[i] as bigint) - l + 1n)
    const span = spans.reduce((product, s) => product * s, 1n)
    const missing = span - count
    if (missing < 0n || span > MAX_ENCODED_KEYS) return null
    // Column i's stride: the product of the later columns' ranges (the last column's is 1).
    const strides = spans.map((_, i) => spans.slice(i + 1).reduce((product, s) => product * s, 1n))
    // A bound as an integer literal: int4 when it fits (so an integer column is compared and offset in its own type), else bigint.
    const literal = (value: bigint) => (value >= -(2n ** 31n) && value < 2n ** 31n ? `(${value})` : `'${value}'::bigint`)
    // In the columns' own integer type for a bitmap (inside the range every term is below its
    // 2^23 codes; for int4 columns, as by hand in `matching`'s test: 0.63 s against 0.68 s in
    // bigint), in bigint for a list of wider codes.
    const code = (columns: ReadonlyArray<string>, wide: boolean) =>
      columns
        .map((column, i) => {
          const offset = wide ? `(${column}::bigint - '${low[i]}'::bigint)` : `(${column} - ${literal(low[i] as bigint)})`
          return strides[i] === 1n ? offset : `${offset} * ${wide ? `'${strides[i]}'::bigint` : String(strides[i])}`
        })
        .join(" + ")
    const child = keys.childColumns
    const outside = child.map((column, i) => `${column} < ${literal(low[i] as bigint)} OR ${column} > ${literal(high[i] as bigint)}`).join(" OR ")
    const tuple = (values: ReadonlyArray<bigint>) => (values.length === 1 ? String(values[0]) : `(${values.join(",")})`)
    const method = { kind: "key range", low: tuple(low), high: tuple(high), missingKeys: Number(missing) } as const
    if (missing === 0n) return { condition: matching(child, match, outside), method }
    if (span <= BigInt(MAX_BITMAP_KEYS)) {
      // Bit k of the bitmap (byte k >> 3, bit k & 7 from the lowest, as get_bit reads it) is set
      // when the key of code k is a parent's. Built 64 bits a group, each group's 8 bytes in the
      // order to_hex writes a bigint (its most significant first): on 990,000 keys over
      // 1..1,000,000, by hand, 0.20 s against 0.36-0.39 s a byte a group (eight times the groups).
      const offset = `(${code(parent, false)})`
      const [bitmap] = yield* query(
        `SELECT string_agg(lpad(to_hex(coalesce(b.v, 0)), 16, '0'), '' ORDER BY n.i) AS hex FROM generate_series(0, ${(span + 63n) / 64n - 1n}) n(i) ` +
          `LEFT JOIN (SELECT (${offset} >> 6)::int AS i, bit_or(1::bigint << ((7 - ((${offset} & 63) >> 3)) * 8 + (${offset} & 7))::int) AS v ` +
          `FROM ${keys.parentFrom} WHERE ${complete} GROUP BY 1) b ON b.i = n.i`
      )
      const hex = String(bitmap?.["hex"] ?? "")
      // The bitmap must hold exactly the keys counted: anything else, and the next way decides.
      if (!HEX.test(hex) || BigInt(bitsSet(hex)) !== count) return null
      // CASE, not OR: get_bit must only see keys inside the range.
      return { condition: matching(child, match, `CASE WHEN ${outside} THEN true ELSE get_bit(decode('${hex}', 'hex'), (${code(child, false)})::int4) = 0 END`), method }
    }
    // A single column's list is byKeyList's, of the keys themselves.
    if (child.length === 1 || !listAllowed || count > BigInt(MAX_LIST_KEYS)) return null
    // Hashed only by PostgreSQL 15 and later, as byKeyList's.
    const [listed] = yield* query(
      `SELECT current_setting('server_version_num')::int >= 150000 AS hashed, count(*)::text AS keys, array_agg(s.k)::text AS list ` +
        `FROM (SELECT ${code(parent, true)} AS k FROM ${keys.parentFrom} WHERE ${complete} LIMIT ${MAX_LIST_KEYS + 1}) s`
    )
    const list = listed?.["list"]
    if (listed?.["hashed"] !== true || String(listed?.["keys"]) !== String(count) || typeof list !== "string" || !/^\{[-\d,]*\}$/.test(list)) return null
    return {
      condition: matching(child, match, `CASE WHEN ${outside} THEN true ELSE NOT ((${code(child, true)}) = ANY ('${list}'::bigint[])) END`),
      method: { kind: "key list", keys: Number(count) }
    }
  })

/**
 * By a list of the parent's keys (at most `MAX_LIST_KEYS`), fetched at the snapshot as an array
 * constant: a child key is an orphan when it is not in it, `NOT (key = ANY (array))`, which the
 * server hashes (PostgreSQL 15 and later; on older servers it would compare with every element,
 * so they keep the anti-join). Null when it does not apply.
 */
const byKeyList = (keys: ParentKeys, type: string, query: GateQuery): Effect.Effect<Decision | null, HarnessError> =>
  Effect.gen(function* () {
    const [parentKey, childKey] = [keys.parentColumns[0] as string, keys.childColumns[0] as string]
    const [row] = yield* query(
      `SELECT current_setting('server_version_num')::int >= 150000 AS hashed, count(*)::text AS keys, coalesce(array_agg(s.k), '{}')::text AS list ` +
        `FROM (SELECT ${parentKey}::${type} AS k FROM ${keys.parentFrom} WHERE ${parentKey} IS NOT NULL LIMIT ${MAX_LIST_KEYS + 1}) s`
    )
    const count = Number(String(row?.["keys"] ?? ""))
    const list = row?.["list"]
    if (row?.["hashed"] !== true || !Number.isInteger(count) || count > MAX_LIST_KEYS || typeof list !== "string" || list.includes(LIST_QUOTE)) return null
    return {
      // IS NOT NULL: against an empty list, NOT (NULL = ANY ('{}')) is true.
      condition: `${childKey} IS NOT NULL AND NOT (${childKey}::${type} = ANY (${LIST_QUOTE}${list}${LIST_QUOTE}::${type}[]))`,
      method: { kind: "key list", keys: count }
    }
  })

/**
 * The most gaps between neighbouring parent keys that may hold orphans for `byIndexGaps` to
 * name them in its condition; more, and the scan's methods decide (a child whose keys are that
 * far off is better read once).
 */
export const MAX_ORPHAN_GAPS = 1_000

/**
 * `byIndexGaps` is used for a child of at least this many estimated rows per parent key (one
 * index probe a key, against a filter per child row): 50 where the alternative is a key list or
 * the anti-join (about 150 ns a row against 3.6 µs a key: on 10,000,000 rows onto 100,000 text
 * keys, bench/consistency.bench.ts (d4) against (d2), each less the table's `count(*)`, about
 * 0.36 s against 1.47 s), 200 where it is the key range (about 30 ns a row).
 */
export const GAPS_MIN_ROWS_PER_KEY = 50
export const GAPS_MIN_ROWS_PER_KEY_AGAINST_RANGE = 200

/** Scan nodes that read a table only through an index's range, never the whole table. */
const INDEX_SCANS: ReadonlySet<string> = new Set(["Index Only Scan", "Index Scan"])

/** The child's alias `c` in a plan, or `c_1`, `c_2`, ... for each of its partitions and each time it is read. */
const CHILD_ALIAS = /^c(_\d+)?$/

/** The node types of every read of the child (`CHILD_ALIAS`) in an `EXPLAIN (FORMAT JSON)` plan. */
const nodesOf = (plan: unknown): Array<string> => {
  if (plan === null || typeof plan !== "object") return []
  const node = plan as Record<string, unknown>
  const alias = node["Alias"]
  const own = typeof alias === "string" && CHILD_ALIAS.test(alias) && typeof node["Node Type"] === "string" ? [node["Node Type"]] : []
  const children = [node["Plan"], ...(Array.isArray(node["Plans"]) ? node["Plans"] : [])]
  return [...own, ...children.flatMap(nodesOf)]
}

/**
 * The most key columns `byIndexGaps` walks: a gap between two keys of n columns is up to 2n − 1
 * index ranges, and its walk holds n² probes.
 */
const MAX_GAP_COLUMNS = 4

/**
 * The child keys strictly between `lower` and `upper` in the index's order (column by column),
 * as ranges that each fix the columns before one column and bound that one: from (1, 5) to
 * (3, 2), `a = 1 AND b > 5`, `a > 1 AND a < 3` and `a = 3 AND b < 2`. A btree index on the
 * columns reads each as one stretch of its entries; a row comparison such as `(a, b) > (1, 5)`
 * it would not (PostgreSQL's btree ends such a scan by the first column alone, so a probe would
 * read every entry of `a = 1`). `lower` null: below `upper`; `upper` null: above `lower`;
 * `differs`, the first column where they differ. Columns after the bounded one must not be NULL
 * (MATCH SIMPLE: a key with a NULL part is no orphan). The values are SQL expressions.
 */
const gapRanges = (columns: ReadonlyArray<string>, lower: ReadonlyArray<string> | null, upper: ReadonlyArray<string> | null, differs: number): Array<string> => {
  const range = (j: number, prefix: ReadonlyArray<string>, bound: string) =>
    [...columns.slice(0, j).map((column, i) => `${column} = ${prefix[i]}`), bound, ...columns.slice(j + 1).map((column) => `${column} IS NOT NULL`)].join(" AND ")
  const ranges: Array<string> = []
  if (lower !== null) for (let j = columns.length - 1; j > (upper === null ? -1 : differs); j--) ranges.push(range(j, lower, `${columns[j]} > ${lower[j]}`))
  if (lower !== null && upper !== null) ranges.push(range(differs, lower, `${columns[differs]} > ${lower[differs]} AND ${columns[differs]} < ${upper[differs]}`))
  if (upper !== null) for (let j = lower === null ? 0 : differs + 1; j < columns.length; j++) ranges.push(range(j, upper, `${columns[j]} < ${upper[j]}`))
  return ranges
}

/**
 * By the gaps between the parent's keys, read through a btree index of the child whose first
 * columns are the key's: a child key is an orphan exactly when it lies below the parent's
 * smallest key, above its largest, or strictly between two neighbouring keys (in the order the
 * index sorts them, column by column, which is the order their equality agrees with: each
 * column's default operator class and collation on both sides, and a type whose equality is that
 * order's). So the parent's keys are walked in that order, and for each gap the index is asked
 * whether the child has a key inside it: one probe per parent key (three where a key of two
 * columns moves to the next value of its first, `gapRanges`), and the child's rows are never read
 * (on the 10,000,000-row children of bench/consistency.bench.ts, onto 100,000 keys: about 0.39 s
 * for text keys, (d4), and 0.38 s for (text, integer) keys, (h), where a `count(*)` takes 0.34
 * and 0.37 s). The gaps that hold orphans, at most
 * `MAX_ORPHAN_GAPS`, become the condition (ranges the index reads), so counting and sampling the
 * orphans reads them alone. A partitioned child is probed in every partition's index (the gaps
 * are the parent's, so the orphan ranges found in any partition hold for the whole). Null when
 * no such index exists (on every partition, with the columns in the same order), when the
 * planner would not probe it (its plan is checked first: a scan of the child per gap would cost
 * one scan per parent key), or when there are more orphan gaps than that.
 */
const byIndexGaps = (check: OrphanCheck, keys: ParentKeys, types: ReadonlyArray<string>, query: GateQuery): Effect.Effect<Decision | null, HarnessError> =>
  Effect.gen(function* () {
    const n = check.columns.length
    if (n > MAX_GAP_COLUMNS) return null
    const child = tableKey(check.schema, check.table)
    // Every table holding the child's rows (the child, or each leaf partition, a foreign table too) needs such an index.
    const holders = check.plainChild
      ? `SELECT ${quoteLiteral(child)}::regclass AS relid`
      : `SELECT relid FROM pg_partition_tree(${quoteLiteral(child)}::regclass) WHERE isleaf`
    const names = `ARRAY[${check.columns.map(quoteLiteral).join(", ")}]::text[]`
    const [usable] = yield* query(
      // The index named in the report: a partitioned child's partitioned index when every partition's is one of its.
      `SELECT count(*)::int AS tables, count(ix.index)::int AS indexed, count(DISTINCT ix.columns)::int AS orders, ` +
        `CASE WHEN count(DISTINCT ix.root) = 1 THEN min(ix.root) ELSE min(ix.index) END AS index, min(ix.columns) AS columns ` +
        `FROM (${holders}) t LEFT JOIN LATERAL (` +
        `SELECT ic.relname::text AS index, (SELECT r.relname::text FROM pg_class r WHERE r.oid = coalesce(pg_partition_root(i.indexrelid), i.indexrelid)) AS root, ` +
        `array_to_json(k.columns)::text AS columns FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam ` +
        // The index's first n columns, each the key's, with its type's default operator class and its collation.
        `CROSS JOIN LATERAL (SELECT array_agg(a.attname::text ORDER BY j.j) AS columns, count(DISTINCT a.attname)::int AS distinct_columns FROM generate_series(0, ${n - 1}) j(j) ` +
        `JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[j.j] JOIN pg_opclass oc ON oc.oid = i.indclass[j.j] ` +
        `WHERE a.attname::text = ANY (${names}) AND oc.opcdefault AND i.indcollation[j.j] = a.attcollation) k ` +
        `WHERE i.indrelid = t.relid AND am.amname = 'btree' AND i.indnkeyatts >= ${n} AND k.distinct_columns = ${n} ` +
        `AND i.indisvalid AND i.indisready AND i.indislive AND i.indpred IS NULL ` +
        `ORDER BY i.indnatts, ic.relname LIMIT 1) ix ON true`
    )
    const index = usable?.["index"]
    const indexColumns: unknown = typeof usable?.["columns"] === "string" ? JSON.parse(usable["columns"]) : null
    if (typeof index !== "string" || Number(usable?.["tables"]) === 0 || usable?.["indexed"] !== usable?.["tables"] || usable?.["orders"] !== 1) return null
    // The key's columns in the index's order, on both sides.
    const order = Array.isArray(indexColumns) ? indexColumns.map((name) => check.columns.indexOf(String(name))) : []
    if (order.length !== n || order.some((i) => i < 0)) return null
    const [childKeys, parentKeys, keyTypes] = [order.map((i) => keys.childColumns[i] as string), order.map((i) => keys.parentColumns[i] as string), order.map((i) => types[i] as string)]
    const childFrom = `${check.plainChild ? "ONLY " : ""}${child} c`
    const lower = childKeys.map((_, i) => `g.l${i}`)
    const key = childKeys.map((_, i) => `g.k${i}`)
    const row = (values: ReadonlyArray<string>) => (n === 1 ? (values[0] as string) : `ROW(${values.join(", ")})`)
    // A probe is a subquery in order of the index, not EXISTS: an EXISTS in an expression is
    // planned for its first row, and on a small child a scan of it looked cheaper than the index.
    const anyIn = (ranges: ReadonlyArray<string>) =>
      ranges.map((range) => `coalesce((SELECT true FROM ${childFrom} WHERE ${range} ORDER BY ${childKeys.join(", ")} LIMIT 1), false)`).join(" OR ")
    // The child's smallest and largest keys, from the index's ends.
    const end = (direction: string) =>
      `(SELECT ${childKeys.join(", ")} FROM ${childFrom} WHERE ${allSet(childKeys)} ORDER BY ${childKeys.map((column) => `${column}${direction}`).join(", ")} LIMIT 1)`
    // Where a parent key and the one before it first differ: 0 for the smallest (no key before it), i + 1 at column i, -1 equal.
    const differs = `CASE WHEN g.l0 IS NULL THEN 0 ${childKeys.map((_, i) => `WHEN g.l${i} <> g.k${i} THEN ${i + 1}`).join(" ")} ELSE -1 END`
    const before = `CASE WHEN g.l0 IS NULL THEN ${row(key)} > ${end("")} ${childKeys.map((_, i) => `WHEN g.l${i} <> g.k${i} THEN ${anyIn(gapRanges(childKeys, lower, key, i))}`).join(" ")} ELSE false END`
    const after = `g.last AND ${row(key)} < ${end(" DESC")}`
    const text = (values: ReadonlyArray<string>) => values.map((value) => `${value}::text AS ${value.slice(2)}`).join(", ")
    const walk =
      `SELECT y.differs, ${lower.map((_, i) => `y.l${i}, y.k${i}`).join(", ")}, y.before, y.after FROM (` +
      `SELECT ${differs} AS differs, ${text(lower)}, ${text(key)}, ${before} AS before, ${after} AS after FROM (` +
      `SELECT ${parentKeys.map((column, i) => `lag(${column}) OVER w AS l${i}, ${column} AS k${i}`).join(", ")}, lead(${parentKeys[0]}) OVER w IS NULL AS last ` +
      `FROM ${keys.parentFrom} WHERE ${allSet(parentKeys)} WINDOW w AS (ORDER BY ${parentKeys.join(", ")})) g OFFSET 0) y WHERE y.before OR y.after ` +
      // No parent key at all: every child key is an orphan.
      `UNION ALL SELECT -2, ${lower.map(() => "NULL, NULL").join(", ")}, true, false ` +
      `WHERE NOT EXISTS (SELECT 1 FROM ${keys.parentFrom} WHERE ${allSet(parentKeys)}) AND EXISTS (SELECT 1 FROM ${end("")} e) ` +
      `LIMIT ${MAX_ORPHAN_GAPS + 1}`
    const [planRow] = yield* query(`EXPLAIN (FORMAT JSON) ${walk}`)
    const raw = planRow?.["QUERY PLAN"]
    const plan: unknown = typeof raw === "string" ? JSON.parse(raw) : raw
    const scans = nodesOf(Array.isArray(plan) ? plan[0] : plan)
    if (scans.length === 0 || !scans.every((scan) => INDEX_SCANS.has(scan))) return null
    const rows = yield* query(walk)
    const literals = (row: Record<string, unknown>, prefix: string) => keyTypes.map((type, i) => `${quoteLiteral(String(row[`${prefix}${i}`]))}::${type}`)
    const gaps: Array<Array<string>> = []
    for (const row of rows) {
      const at = Number(row["differs"])
      if (at === -2) gaps.push([allSet(childKeys)])
      else if (row["before"] === true) gaps.push(gapRanges(childKeys, at === 0 ? null : literals(row, "l"), literals(row, "k"), at - 1))
      if (row["after"] === true) gaps.push(gapRanges(childKeys, literals(row, "k"), null, 0))
    }
    if (rows.length > MAX_ORPHAN_GAPS || gaps.length > MAX_ORPHAN_GAPS) return null
    const ranges = gaps.flat()
    return { condition: ranges.length === 0 ? "false" : `(${ranges.map((range) => `(${range})`).join(" OR ")})`, method: { kind: "index gaps", index, orphanGaps: gaps.length } }
  })

/**
 * The condition that picks a check's orphan rows, and how. A key whose child is big enough (see
 * the module comment) is tested against the parent's keys: by the index's gaps (a child index
 * on the key), by key range (integer keys onto unique integer columns) or else by a key list (a
 * single column, a parent of at most `MAX_LIST_KEYS` keys of a hashable type). Otherwise, and
 * for every other key, the condition is the anti-join. All of it runs at the gate's one
 * snapshot, so the parent's keys are those the child is read against.
 */
export const orphanCondition = (
  check: OrphanCheck,
  query: GateQuery,
  keyRangeMinRows: number = DEFAULT_KEY_RANGE_MIN_ROWS
): Effect.Effect<Decision, HarnessError> =>
  Effect.gen(function* () {
    const antiJoin: Decision = { condition: check.condition, method: { kind: "anti-join" } }
    const keys = check.parentKeys
    if (keys === null || check.condition === null) return antiJoin
    // 0 asks for the parent's keys wherever they apply, whatever the sizes (tests use it on small tables).
    const anySize = keyRangeMinRows === 0
    if (!anySize && (check.rowEstimate < keyRangeMinRows || check.rowEstimate < keys.parentRowEstimate)) return antiJoin
    // A partitioned child's gaps are probed in each partition's index.
    const perKey = check.rowEstimate / (Math.max(1, keys.parentRowEstimate) * Math.max(1, check.leaves.length))
    const gapsPay = perKey >= (keys.range ? GAPS_MIN_ROWS_PER_KEY_AGAINST_RANGE : GAPS_MIN_ROWS_PER_KEY)
    // A composite key's gaps hold MATCH SIMPLE only (a MATCH FULL key with a NULL part is a violation no range holds).
    const gapTypes = check.match === "simple" || check.columns.length === 1 ? keys.gapTypes : null
    const byGaps = gapTypes !== null && (anySize || gapsPay) ? yield* byIndexGaps(check, keys, gapTypes, query) : null
    if (byGaps !== null) return byGaps
    const listPays = keys.parentRowEstimate <= MAX_LIST_KEYS && check.rowEstimate >= LIST_MIN_ROWS_PER_KEY * Math.max(1, keys.parentRowEstimate)
    const byRange = keys.range ? yield* byKeyRange(keys, check.match, anySize || listPays, query) : null
    if (byRange !== null) return byRange
    const byList = keys.listType !== null && (anySize || listPays) ? yield* byKeyList(keys, keys.listType, query) : null
    return byList ?? antiJoin
  })

/**
 * Where in a plain child table to look for orphans: between the first and the last orphan's
 * ctid, or a range of pages (`belowPage` null: to the end of the table).
 */
export type OrphanStretch =
  | { readonly first: string; readonly last: string }
  | { readonly fromPage: number; readonly belowPage: number | null }

const TID = /^\(\d+,\d+\)$/

const stretchCondition = (stretch: OrphanStretch | undefined): string => {
  if (stretch === undefined) return ""
  if ("first" in stretch) return TID.test(stretch.first) && TID.test(stretch.last) ? `c.ctid BETWEEN '${stretch.first}'::tid AND '${stretch.last}'::tid AND ` : ""
  const from = `c.ctid >= '(${Math.floor(stretch.fromPage)},0)'::tid AND `
  return stretch.belowPage === null ? from : `${from}c.ctid < '(${Math.floor(stretch.belowPage)},0)'::tid AND `
}

/**
 * Orphan rows read for each sample key wanted: the samples are the distinct keys among the first
 * `samples × SAMPLE_ROWS_PER_KEY` orphan rows found, so that a few rows of one key ahead of the
 * others' do not make it the only sample, while the query still stops after that many rows (a
 * `DISTINCT` would hash every orphan row of the stretch before returning any).
 */
export const SAMPLE_ROWS_PER_KEY = 20

/**
 * Orphan rows (`limit` at most) whose keys are the samples, run only when there are orphans: an
 * anti-join with `LIMIT`, which stops at the first it finds, over the stretch of the table the
 * orphans lie in when it is known (a TID range scan: a few pages when the orphans are together,
 * as rows loaded or changed at one time are).
 */
export const sampleQuery = (check: OrphanCheck, limit: number, stretch?: OrphanStretch, condition: string | null = check.condition): string => {
  if (check.from === null || condition === null) throw new Error(`sampleQuery: ${check.name} was skipped`)
  return `SELECT json_build_array(${check.columns.map((column) => `c.${quoteIdent(column)}::text`).join(", ")})::text AS key FROM ${check.from} WHERE ${stretchCondition(stretch)}${condition} LIMIT ${Math.floor(limit)}`
}

/**
 * Parts of a plain child table searched one by one, the last first, for sample orphans whose
 * positions a shared scan did not note: rows written lately (where orphans usually come from)
 * are at the table's end, so the search mostly stops within the last part; at worst it reads
 * the table once. Each part is a TID range scan, which runs in one process: on a 10,000,000-row
 * table with a key list's condition an eighth took 0.16 s, so the parts are smaller.
 */
export const SAMPLE_SEARCH_PARTS = 32

export interface OrphanResult {
  readonly check: OrphanCheck
  /** null when the check was skipped. */
  readonly orphans: number | null
  /** Up to `samples` orphan keys, column → text value (`***` for a column that looks personal, null for NULL). */
  readonly samples: ReadonlyArray<Readonly<Record<string, string | null>>>
  /** Key columns whose sample values were masked. */
  readonly maskedColumns: ReadonlyArray<string>
  /** How orphans were told apart; null when the check was skipped. */
  readonly method: OrphanMethod | null
  readonly ms: number
}

export interface OrphanRunOptions {
  readonly jobs: number
  readonly samples: number
  /** Name patterns (as words) of columns that hold personal data: their sample values are masked. */
  readonly personalNames: ReadonlyArray<ReadonlyArray<string>>
  /** Child tables estimated at fewer rows are never checked by the parent's keys (key range or list; default `DEFAULT_KEY_RANGE_MIN_ROWS`). */
  readonly keyRangeMinRows?: number
}

const MASK = "***"

const NUMBER = /^-?\d+(\.\d+)?$/

/** Sample keys in order: column by column, numbers as numbers, NULL last. */
const compareKeys = (a: ReadonlyArray<string | null>, b: ReadonlyArray<string | null>): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? null
    const y = b[i] ?? null
    if (x === y) continue
    if (x === null) return 1
    if (y === null) return -1
    const order = NUMBER.test(x) && NUMBER.test(y) && Number(x) !== Number(y) ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0
    if (order !== 0) return order
  }
  return 0
}

/**
 * One scan of a child table for all its checks that have a condition without a join (by the
 * parent's keys): per leaf table (the table itself, or each partition), a row with `leaf` (its
 * index in `leaves`), its rows and each check's orphans, `count(*) FILTER (WHERE ...)`, so the
 * condition is evaluated once per row and check. The leaves' counts are the row-count check's
 * too (same snapshot), so TARGET's count of them is not a scan of its own.
 */
export const childScanQuery = (leaves: ReadonlyArray<{ readonly schema: string; readonly name: string }>, conditions: ReadonlyArray<string>): string =>
  leaves
    .map(
      (leaf, index) =>
        `SELECT ${index} AS leaf, count(*)::text AS rows${conditions.map((condition, i) => `, count(*) FILTER (WHERE ${condition})::text AS orphans_${i}`).join("")} FROM ONLY ${tableKey(leaf.schema, leaf.name)} c`
    )
    .join(" UNION ALL ")

/**
 * How many leaf partitions of a partitioned child are not among `leaves` (a foreign table as a
 * partition is not in the catalog): when any, the child is checked as a whole instead.
 */
export const unknownLeavesQuery = (check: OrphanCheck): string =>
  `SELECT count(*)::int AS unknown FROM pg_partition_tree(${quoteLiteral(tableKey(check.schema, check.table))}::regclass) t ` +
  `JOIN pg_class r ON r.oid = t.relid JOIN pg_namespace n ON n.oid = r.relnamespace WHERE t.isleaf` +
  (check.leaves.length === 0 ? "" : ` AND (n.nspname::text, r.relname::text) NOT IN (${check.leaves.map((leaf) => `(${quoteLiteral(leaf.schema)}, ${quoteLiteral(leaf.name)})`).join(", ")})`)

/** What the checks found, and the rows of the child tables their scans counted on the way. */
export interface OrphanRun {
  readonly results: ReadonlyArray<OrphanResult>
  /** Exact row counts (`tableKey` of a plain table → rows) read at the checks' snapshot by `childScanQuery`. */
  readonly tableRows: ReadonlyMap<string, number>
}

/** A check with its condition decided, and its place in the list of checks. */
interface Decided {
  readonly check: OrphanCheck
  readonly index: number
  readonly condition: string
  readonly method: OrphanMethod
  /** When deciding started (fetching the parent's keys is part of the check's time). */
  readonly started: number
}

/**
 * Run every check on TARGET, `jobs` queries at a time. First each check's condition (the parents' keys
 * where they apply); then the scans, the biggest child tables first: one per child table for its
 * checks by the parent's keys (`childScanQuery`, which counts its rows too), one anti-join per other check
 * (`orphanQuery`, with the orphans' first and last position); then, where there are orphans, a
 * few sample keys.
 */
export const runOrphanChecks = (
  checks: ReadonlyArray<OrphanCheck>,
  query: GateQuery,
  options: OrphanRunOptions
): Effect.Effect<OrphanRun, HarnessError> => {
  const personal = (column: string) => {
    const tokens = nameTokens(column)
    return options.personalNames.some((pattern) => matchesNamePattern(tokens, pattern))
  }
  const concurrency = Math.max(1, options.jobs)
  const where = (group: ReadonlyArray<OrphanCheck>) => {
    const first = group[0] as OrphanCheck
    return group.length === 1
      ? `checking ${first.definition} of ${qualified(first.schema, first.table)} (${first.name}) for orphans on TARGET`
      : `checking the foreign keys ${group.map((check) => check.name).join(", ")} of ${qualified(first.schema, first.table)} for orphans on TARGET`
  }
  const explained = (group: ReadonlyArray<OrphanCheck>) => (error: HarnessError) =>
    new HarnessError({
      reason: error.reason,
      message: `${where(group)}: ${error.message}${isStatementTimeout(error) ? "; raise --statement-timeout (statement_timeout_ms in the config)" : ""}`,
      cause: error.cause
    })
  /**
   * Sample orphans of a plain table's check, searched part by part from the table's end
   * (`SAMPLE_SEARCH_PARTS`), until `limit` rows or `options.samples` distinct keys are found.
   */
  const searchFromEnd = (check: OrphanCheck, limit: number, condition: string) =>
    Effect.gen(function* () {
      const [size] = yield* query(
        `SELECT (pg_relation_size(${quoteLiteral(tableKey(check.schema, check.table))}::regclass) / current_setting('block_size')::int)::text AS pages`
      )
      const pages = Number(String(size?.["pages"] ?? 0))
      const found: Array<Record<string, unknown>> = []
      const keys = new Set<string>()
      for (let part = SAMPLE_SEARCH_PARTS - 1; part >= 0 && found.length < limit && keys.size < options.samples; part--) {
        const fromPage = Math.floor((pages * part) / SAMPLE_SEARCH_PARTS)
        const belowPage = part === SAMPLE_SEARCH_PARTS - 1 ? null : Math.floor((pages * (part + 1)) / SAMPLE_SEARCH_PARTS)
        if (belowPage !== null && belowPage <= fromPage) continue
        const rows = yield* query(sampleQuery(check, limit - found.length, { fromPage, belowPage }, condition))
        for (const row of rows) keys.add(String(row["key"]))
        found.push(...rows)
      }
      return found
    })
  /**
   * Up to `samples` keys of a check's orphans, distinct, the smallest first, personal columns
   * masked, from the first `samples × SAMPLE_ROWS_PER_KEY` orphan rows found: in the orphans'
   * stretch when it is known, else searched from the end of a plain table, else the first found.
   */
  const finish = (decided: Decided, orphans: number, stretch: OrphanStretch | undefined): Effect.Effect<OrphanResult, HarnessError> =>
    Effect.gen(function* () {
      const { check, condition, method } = decided
      const masked = check.columns.filter((column, i) => personal(column) || personal(check.references.columns[i] ?? ""))
      const limit = options.samples <= 0 ? 0 : Math.min(options.samples * SAMPLE_ROWS_PER_KEY, orphans)
      const found =
        limit <= 0
          ? []
          : stretch === undefined && check.plainChild && method.kind !== "index gaps"
            ? yield* searchFromEnd(check, limit, condition)
            : yield* query(sampleQuery(check, limit, stretch, condition))
      const candidates = found.map((sample) => JSON.parse(String(sample["key"])) as ReadonlyArray<string | null>)
      const samples: Array<Record<string, string | null>> = []
      const seen = new Set<string>()
      for (const key of [...candidates].sort(compareKeys)) {
        if (samples.length >= options.samples) break
        const text = JSON.stringify(key)
        if (seen.has(text)) continue
        seen.add(text)
        const sample: Record<string, string | null> = {}
        check.columns.forEach((column, i) => {
          const value = key[i] ?? null
          sample[column] = value === null ? null : masked.includes(column) ? MASK : value
        })
        samples.push(sample)
      }
      return { check, orphans, samples, maskedColumns: masked, method, ms: performance.now() - decided.started }
    }).pipe(Effect.mapError(explained([decided.check])))

  return Effect.gen(function* () {
    const skipped: Array<{ index: number; result: OrphanResult }> = []
    const runnable: Array<{ check: OrphanCheck; index: number }> = []
    checks.forEach((check, index) => {
      if (check.from === null || check.condition === null) skipped.push({ index, result: { check, orphans: null, samples: [], maskedColumns: [], method: null, ms: 0 } })
      else runnable.push({ check, index })
    })
    const decided = yield* Effect.forEach(
      runnable,
      ({ check, index }) => {
        const started = performance.now()
        return orphanCondition(check, query, options.keyRangeMinRows).pipe(
          Effect.map(({ condition, method }): Decided => ({ check, index, condition: condition as string, method, started })),
          Effect.mapError(explained([check]))
        )
      },
      { concurrency }
    )
    // A child's checks by the parent's keys share one scan; every other check is a scan of its own.
    const scans = new Map<string, Array<Decided>>()
    for (const d of decided) {
      const shared = sharesScan(d.method)
      const key = shared ? `table ${tableKey(d.check.schema, d.check.table)}` : `check ${d.index}`
      const group = scans.get(key)
      if (group === undefined) scans.set(key, [d])
      else group.push(d)
    }
    const tableRows = new Map<string, number>()
    const order = [...scans.values()].sort((a, b) => (b[0] as Decided).check.rowEstimate - (a[0] as Decided).check.rowEstimate)
    const done = yield* Effect.forEach(
      order,
      (group) =>
        Effect.gen(function* () {
          const first = group[0] as Decided
          const shared = sharesScan(first.method)
          // A partitioned child with a partition the catalog does not show (a foreign table) is checked as a whole.
          const unknown = shared && !first.check.plainChild ? yield* query(unknownLeavesQuery(first.check)).pipe(Effect.mapError(explained([first.check]))) : []
          const whole = Number(unknown[0]?.["unknown"] ?? 0) !== 0
          if (shared && !whole) {
            const leaves = first.check.leaves
            const rows = leaves.length === 0 ? [] : yield* query(childScanQuery(leaves, group.map((d) => d.condition))).pipe(Effect.mapError(explained(group.map((d) => d.check))))
            for (const row of rows) {
              const leaf = leaves[Number(row["leaf"])]
              if (leaf !== undefined) tableRows.set(tableKey(leaf.schema, leaf.name), Number(String(row["rows"] ?? 0)))
            }
            const orphansOf = (i: number) => rows.reduce((total, row) => total + Number(String(row[`orphans_${i}`] ?? 0)), 0)
            return yield* Effect.forEach(group, (d, i) => finish(d, orphansOf(i), undefined).pipe(Effect.map((result) => ({ index: d.index, result }))))
          }
          // The anti-join, the index gaps, or a partitioned child with partitions the catalog does not show: each check on its own.
          return yield* Effect.forEach(group, (d) =>
            Effect.gen(function* () {
              // The index gaps' ranges are read through the index: no positions to note (they would need the rows).
              const byIndex = d.method.kind === "index gaps"
              const [row] = yield* query(orphanQuery(d.check, d.condition, !byIndex)).pipe(Effect.mapError(explained([d.check])))
              const stretch = row?.["first"] == null || row?.["last"] == null ? undefined : { first: String(row["first"]), last: String(row["last"]) }
              return { index: d.index, result: yield* finish(d, Number(String(row?.["orphans"] ?? 0)), stretch) }
            })
          )
        }),
      { concurrency }
    )
    const results = [...skipped, ...done.flat()].sort((a, b) => a.index - b.index).map(({ result }) => result)
    return { results, tableRows }
  })
}
