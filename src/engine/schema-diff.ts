/**
 * Schema drift: the difference between two catalog models, classified into findings by the
 * merged breaking-change table of shared/reference/drift-and-gates.md.
 *
 * Direction: every finding is the change TARGET would undergo to match SOURCE (SOURCE is what the
 * code expects, TARGET e.g. staging): an object only in TARGET is a drop, only in SOURCE an add;
 * `before` is TARGET's state and `after` SOURCE's. Comparison is structural or on PostgreSQL's own
 * deparsed text (the reader deparses with an empty search_path, so equal objects print equally);
 * OIDs, row estimates and other per-database facts are never compared, so two copies of one
 * schema give no findings. Owners, privileges and comments are compared only when asked.
 *
 * Renames: a table (column) only in TARGET and one only in SOURCE with the same shape are paired
 * and reported once as renamed when their confidence reaches RENAME_THRESHOLD (0.85):
 * - tables: 0.9 × Jaccard similarity of their `name type` column sets + 0.1 × name similarity, so
 *   identical columns always qualify (≥ 0.9) and a single differing column of ten does not;
 * - columns: the type must be equal; 0.4 for it + 0.2 same nullability + 0.2 same default
 *   + 0.2 position (1 for the same attnum or the same preceding column, 0.5 within two places),
 *   so a rename needs type, nullability, default and at least a nearby position to agree.
 * A renamed table's or column's contents are compared with the names mapped, so constraints,
 * indexes and foreign keys that follow the rename give no findings.
 *
 * Partitions: columns, inherited constraints and triggers, and indexes cloned from the parent's
 * are reported once, on the partitioned parent, not once per partition. Indexes that back a
 * constraint are reported through the constraint. An index or constraint renamed with nothing
 * else changed is matched by its definition and gives no finding.
 */
import type {
  Catalog,
  Column,
  CompositeType,
  Constraint,
  DatabaseSchema,
  DomainType,
  EnumType,
  EventTrigger,
  ForeignKey,
  Grant,
  Index,
  Policy,
  Publication,
  Routine,
  Sequence,
  Table,
  Trigger,
  View
} from "./catalog.ts"
import { finding, objectPath, SEVERITY_ORDER, type Finding, type FindingObject, type Severity } from "./findings.ts"
import { matchesGlob, matchesTableGlob } from "./glob.ts"
import { INTERNAL_SCHEMA } from "./catalog.ts"

export interface DriftOptions {
  /** Compare GRANTs (revoked: breaking, added: hazard). Off by default. */
  readonly includePrivileges: boolean
  /** Compare owners (hazard). Off by default. */
  readonly includeOwners: boolean
  /** Compare comments (info). Off by default. */
  readonly includeComments: boolean
  /**
   * Objects to leave out: `schema.table` globs (matchesTableGlob) or, without a dot, a glob for a
   * schema name or an object name in any schema. Objects outside tables (types, routines,
   * sequences) are matched by their own name in place of the table.
   */
  readonly exclude: ReadonlyArray<string>
}

export const DEFAULT_DRIFT_OPTIONS: DriftOptions = {
  includePrivileges: false,
  includeOwners: false,
  includeComments: false,
  exclude: []
}

/** Confidence (0..1) a table or column pair must reach to be reported as one rename. */
export const RENAME_THRESHOLD = 0.85

const EXPAND_CONTRACT = "expand/contract: add the new object, write both, move readers, then drop the old one in a later release"
const RELEASE_FIRST = "ship the code that no longer uses it first, then drop it in a later release"

/** Every drift rule: its severity (the data-aware ones may be refined by drift-data-checks.ts) and fix hint. */
export const DRIFT_RULES = {
  "schema-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "schema-added": { severity: "info", hint: "create it before the objects in it" },
  "table-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "table-added": { severity: "info", hint: "create it before code uses it" },
  "table-renamed": { severity: "breaking", hint: `${EXPAND_CONTRACT} (or a view with the old name during the switch)` },
  "partition-key-changed": { severity: "breaking", hint: "a partition key cannot be altered: create a new partitioned table and move rows" },
  "partition-detached": { severity: "breaking", hint: "rows of a detached partition vanish from the parent: DETACH ... CONCURRENTLY only once readers no longer need them" },
  "partition-dropped": { severity: "breaking", hint: "dropping a partition deletes its rows: detach and archive it first" },
  "partition-bound-changed": { severity: "breaking", hint: "a bound change is detach + attach: check no row falls outside the new bound" },
  "partition-attached": { severity: "hazard", hint: "add a CHECK constraint matching the bound first so ATTACH PARTITION skips its scan" },
  "rls-disabled": { severity: "breaking", hint: "disabling row-level security exposes every row: keep it enabled" },
  "rls-unforced": { severity: "breaking", hint: "without FORCE the table owner bypasses the policies: keep FORCE ROW LEVEL SECURITY" },
  "rls-enabled": { severity: "breaking", hint: "with RLS on and no permissive policy a role sees no rows: create the policies first" },
  "rls-forced": { severity: "breaking", hint: "FORCE makes the owner subject to the policies too: check the owner's jobs still see their rows" },
  "permissive-policy-dropped": { severity: "breaking", hint: "removing a permissive policy hides rows from its roles: replace it before dropping" },
  "restrictive-policy-dropped": { severity: "hazard", hint: "removing a restrictive policy widens access: confirm it is intended" },
  "policy-added": { severity: "hazard", hint: "test the policy with each role it names before enabling" },
  "policy-changed": { severity: "hazard", hint: "test the changed policy with each role it names" },
  "column-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "column-added": { severity: "info", hint: "nullable or with a constant default: cheap to add" },
  "not-null-column-added": { severity: "breaking", hint: "add it nullable (or with a default), backfill, then SET NOT NULL" },
  "volatile-default-added": { severity: "performance", hint: "a new column with a volatile default rewrites the table: add it without default, backfill in batches" },
  "column-renamed": { severity: "breaking", hint: EXPAND_CONTRACT },
  "column-type-narrowed": { severity: "breaking", hint: `${EXPAND_CONTRACT}; check every value fits the narrower type` },
  "column-type-changed": { severity: "breaking", hint: `${EXPAND_CONTRACT} with a new column of the new type` },
  "column-type-widened": { severity: "performance", hint: "may rewrite the table under ACCESS EXCLUSIVE: run it in a quiet window" },
  "not-null-added": { severity: "breaking", hint: "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE, then SET NOT NULL (no long lock)" },
  "not-null-dropped": { severity: "hazard", hint: "readers may now get NULLs: check the code handles them" },
  "not-null-default-removed": { severity: "breaking", hint: "inserts that omit the column now fail: remove the default only after every writer sets it" },
  "default-changed": { severity: "hazard", hint: "inserts that omit the column get a different value: check writers" },
  "default-added": { severity: "info", hint: "affects new rows only" },
  "generated-changed": { severity: "breaking", hint: "generation cannot be changed in place: add a new column and switch (expand/contract)" },
  "identity-added": { severity: "breaking", hint: "inserts that pass values may be refused: set the sequence past max(column) and use BY DEFAULT first" },
  "identity-removed": { severity: "breaking", hint: "inserts that omit the column now fail: give it a default before dropping identity" },
  "identity-changed": { severity: "hazard", hint: "ALWAYS refuses explicit values unless OVERRIDING SYSTEM VALUE: check writers" },
  "collation-changed": { severity: "hazard", hint: "ordering and uniqueness may change; indexes on the column are rebuilt" },
  "enum-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "enum-added": { severity: "info", hint: "create it before code uses it" },
  "enum-value-removed": { severity: "breaking", hint: "a value cannot be removed in place: migrate rows off it, recreate the type, swap columns" },
  "enum-value-renamed": { severity: "breaking", hint: "ALTER TYPE ... RENAME VALUE breaks code that writes the old label: add the new value first" },
  "enum-values-reordered": { severity: "hazard", hint: "ordering by the enum changes; a reorder needs the type recreated" },
  "enum-value-inserted": { severity: "hazard", hint: "ADD VALUE ... BEFORE changes ordering between existing values; it cannot be used in the same transaction" },
  "enum-value-appended": { severity: "info", hint: "ADD VALUE cannot be used in the same transaction that adds it" },
  "domain-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "domain-added": { severity: "info", hint: "create it before code uses it" },
  "domain-type-changed": { severity: "breaking", hint: "recreate the domain and migrate the columns that use it" },
  "domain-not-null-added": { severity: "breaking", hint: "check no column of the domain holds NULL first" },
  "domain-not-null-dropped": { severity: "hazard", hint: "readers may now get NULLs" },
  "domain-default-changed": { severity: "hazard", hint: "inserts that omit such columns get a different value" },
  "domain-constraint-added": { severity: "breaking", hint: "ADD CONSTRAINT ... NOT VALID, fix the data, then VALIDATE" },
  "domain-constraint-changed": { severity: "breaking", hint: "ADD the new constraint NOT VALID, VALIDATE, then drop the old" },
  "domain-constraint-dropped": { severity: "hazard", hint: "values the constraint refused are now accepted" },
  "domain-constraint-not-valid": { severity: "hazard", hint: "VALIDATE CONSTRAINT once the data conforms" },
  "composite-type-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "composite-type-added": { severity: "info", hint: "create it before code uses it" },
  "composite-attribute-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "composite-attribute-changed": { severity: "breaking", hint: "add a new attribute of the new type and switch readers (expand/contract)" },
  "composite-attribute-added": { severity: "info", hint: "code that builds the type positionally must add the attribute" },
  "primary-key-added": { severity: "breaking", hint: "CREATE UNIQUE INDEX CONCURRENTLY, then ADD PRIMARY KEY USING INDEX" },
  "primary-key-dropped": { severity: "breaking", hint: "foreign keys, replication and upserts rely on it: keep it" },
  "primary-key-changed": { severity: "breaking", hint: "build the new unique index concurrently, switch referencing foreign keys, then swap" },
  "foreign-key-added": { severity: "hazard", hint: "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT (no long lock, orphans found first)" },
  "foreign-key-dropped": { severity: "breaking", hint: "orphans can appear: keep it, or drop only once nothing relies on it" },
  "foreign-key-changed": { severity: "breaking", hint: "add the new foreign key NOT VALID, VALIDATE, then drop the old" },
  "foreign-key-action-changed": { severity: "breaking", hint: "ON DELETE/ON UPDATE decides what deletes do to children: check every caller" },
  "foreign-key-not-valid": { severity: "hazard", hint: "VALIDATE CONSTRAINT once orphans are fixed: unvalidated keys do not protect old rows" },
  "unique-added": { severity: "breaking", hint: "remove duplicates, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX" },
  "unique-changed": { severity: "breaking", hint: "build the new unique index concurrently, then swap the constraints" },
  "unique-dropped": { severity: "hazard", hint: "duplicates can appear and ON CONFLICT on it fails" },
  "check-added": { severity: "breaking", hint: "ADD CONSTRAINT ... NOT VALID, fix violating rows, then VALIDATE CONSTRAINT" },
  "check-changed": { severity: "breaking", hint: "add the new check NOT VALID, VALIDATE, then drop the old one" },
  "check-dropped": { severity: "hazard", hint: "values the check refused are now accepted" },
  "check-not-valid": { severity: "hazard", hint: "VALIDATE CONSTRAINT once violating rows are fixed" },
  "exclusion-added": { severity: "breaking", hint: "existing overlapping rows make it fail; it holds a long lock while building" },
  "exclusion-changed": { severity: "breaking", hint: "add the new constraint, then drop the old one" },
  "exclusion-dropped": { severity: "hazard", hint: "overlapping rows can appear" },
  "constraint-deferrability-changed": { severity: "hazard", hint: "transactions that relied on deferred checking may now fail (or the reverse)" },
  "constraint-validated": { severity: "hazard", hint: "VALIDATE scans the table and fails on violating rows: fix them first" },
  "index-dropped": { severity: "performance", hint: "queries using it slow down: DROP INDEX CONCURRENTLY once unused (pg_stat_user_indexes)" },
  "unique-index-dropped": { severity: "breaking", hint: "it enforces uniqueness and ON CONFLICT targets it: keep it" },
  "index-added": { severity: "performance", hint: "CREATE INDEX CONCURRENTLY to avoid blocking writes" },
  "unique-index-added": { severity: "breaking", hint: "remove duplicates, then CREATE UNIQUE INDEX CONCURRENTLY" },
  "index-changed": { severity: "performance", hint: "build the new index CONCURRENTLY under another name, then drop the old one" },
  "index-invalid": { severity: "hazard", hint: "an invalid index is maintained but never used: REINDEX INDEX CONCURRENTLY or drop and recreate" },
  "view-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "materialized-view-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "view-added": { severity: "info", hint: "create it after the tables it reads" },
  "view-column-removed": { severity: "breaking", hint: "CREATE OR REPLACE VIEW cannot remove columns: readers of it break" },
  "view-column-renamed": { severity: "breaking", hint: "keep the old column name as an alias until readers switch" },
  "view-column-retyped": { severity: "breaking", hint: "add a new column of the new type to the view and switch readers" },
  "view-column-added": { severity: "info", hint: "CREATE OR REPLACE VIEW may append columns" },
  "view-definition-changed": { severity: "hazard", hint: "the same columns now return other rows or values: check readers" },
  "routine-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "routine-added": { severity: "info", hint: "create it before code calls it" },
  "routine-signature-changed": { severity: "breaking", hint: "create the new signature as an overload, switch callers, then drop the old one" },
  "routine-return-changed": { severity: "breaking", hint: "create a new function with the new return type and switch callers" },
  "routine-body-changed": { severity: "hazard", hint: "same signature, different behaviour: test callers" },
  "routine-security-changed": { severity: "hazard", hint: "SECURITY DEFINER runs with the owner's rights: pin search_path and review" },
  "routine-volatility-changed": { severity: "hazard", hint: "wrong volatility gives wrong results from indexes or the planner" },
  "trigger-dropped": { severity: "breaking", hint: "what the trigger maintained stops being maintained" },
  "trigger-added": { severity: "hazard", hint: "writes to the table now run the trigger: test writers" },
  "trigger-changed": { severity: "hazard", hint: "writes to the table behave differently: test writers" },
  "sequence-dropped": { severity: "breaking", hint: RELEASE_FIRST },
  "sequence-added": { severity: "info", hint: "create it before code uses it" },
  "sequence-options-changed": { severity: "hazard", hint: "check bounds and increment against the column's values" },
  "sequence-behind-column": { severity: "breaking", hint: "setval() the sequence past max(column) or inserts fail with duplicate keys" },
  "extension-missing": { severity: "breaking", hint: "CREATE EXTENSION on the target first (it may need a superuser)" },
  "extension-dropped": { severity: "hazard", hint: "objects of the extension would go with it: leave it unless intended" },
  "extension-version-changed": { severity: "hazard", hint: "ALTER EXTENSION ... UPDATE, and check what changed between versions" },
  "extension-schema-changed": { severity: "hazard", hint: "qualified references to its objects change: ALTER EXTENSION ... SET SCHEMA" },
  "replica-identity-changed": { severity: "hazard", hint: "logical replication and CDC identify updated and deleted rows by it: change it together with subscribers (FULL logs whole old rows)" },
  "publication-dropped": { severity: "hazard", hint: "subscribers and CDC stop receiving changes: drop it only once they have moved" },
  "publication-added": { severity: "hazard", hint: "rows start leaving the database to subscribers: check each published table and column may leave" },
  "publication-changed": { severity: "hazard", hint: "subscribers receive other tables, columns, rows or operations: change them together" },
  "event-trigger-dropped": { severity: "hazard", hint: "what it enforced or logged on DDL (audit, guard rails) stops" },
  "event-trigger-added": { severity: "hazard", hint: "DDL now runs its function, migrations included: test migrations with it in place" },
  "event-trigger-changed": { severity: "hazard", hint: "DDL behaves differently: test migrations with it in place" },
  "privilege-revoked": { severity: "breaking", hint: "the role loses access: revoke only once it no longer needs it" },
  "privilege-granted": { severity: "hazard", hint: "the role gains access: check it needs it (least privilege)" },
  "owner-changed": { severity: "hazard", hint: "the owner bypasses RLS unless forced and holds every privilege" },
  "comment-changed": { severity: "info", hint: "COMMENT ON" }
} as const satisfies Record<string, { readonly severity: Severity; readonly hint: string }>

export type DriftRuleName = keyof typeof DRIFT_RULES

/** `drift/<name>`: the finding's rule id. */
export const driftRule = (name: DriftRuleName): string => `drift/${name}`

/** The name part of a drift rule id, or undefined for another gate's rule. */
export const driftRuleName = (rule: string): DriftRuleName | undefined => {
  const name = rule.startsWith("drift/") ? rule.slice("drift/".length) : ""
  return name in DRIFT_RULES ? (name as DriftRuleName) : undefined
}

/** An object description without undefined keys (exactOptionalPropertyTypes). */
const at = (kind: string, schema: string, table?: string, column?: string, name?: string): FindingObject => ({
  kind,
  schema,
  ...(table === undefined ? {} : { table }),
  ...(column === undefined ? {} : { column }),
  ...(name === undefined ? {} : { name })
})

/** Deterministic order: severity, object path, rule, then kind and change text. */
export const sortFindings = (findings: ReadonlyArray<Finding>): ReadonlyArray<Finding> => {
  const rank = (severity: Severity) => SEVERITY_ORDER.indexOf(severity)
  const text = (f: Finding) => [objectPath(f.object), f.rule, f.object.kind, f.before ?? "", f.after ?? ""]
  return [...findings].sort((a, b) => {
    if (a.severity !== b.severity) return rank(a.severity) - rank(b.severity)
    const [x, y] = [text(a), text(b)]
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] ?? "") < (y[i] ?? "") ? -1 : 1
    return 0
  })
}

// ---------------------------------------------------------------------------------------------
// Small comparison helpers

const keyOf = (schema: string, name: string) => `${schema}.${name}`

interface Pairing<A> {
  readonly dropped: ReadonlyArray<A>
  readonly added: ReadonlyArray<A>
  readonly both: ReadonlyArray<readonly [target: A, source: A]>
}

/** Pair TARGET's and SOURCE's objects by key; then pair leftovers whose `same` key matches (a harmless rename). */
const pair = <A>(
  target: ReadonlyArray<A>,
  source: ReadonlyArray<A>,
  key: (a: A) => string,
  same?: (a: A) => string
): Pairing<A> => {
  const sourceByKey = new Map(source.map((a) => [key(a), a]))
  const targetKeys = new Set(target.map(key))
  const both: Array<readonly [A, A]> = []
  let dropped: Array<A> = []
  for (const t of target) {
    const s = sourceByKey.get(key(t))
    if (s === undefined) dropped.push(t)
    else both.push([t, s])
  }
  let added = source.filter((s) => !targetKeys.has(key(s)))
  if (same !== undefined) {
    const stillAdded = [...added]
    dropped = dropped.filter((t) => {
      const index = stillAdded.findIndex((s) => same(s) === same(t))
      if (index < 0) return true
      stillAdded.splice(index, 1)
      return false
    })
    added = stillAdded
  }
  return { dropped, added, both }
}

/** PostgreSQL's rendering of an identifier: bare when it is a plain lower-case name, quoted otherwise. */
const pgIdent = (name: string) => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`)

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Replace whole identifiers in deparsed text (column renames inside a check, index or trigger). */
const substitute = (text: string, renames: ReadonlyMap<string, string>): string => {
  let out = text
  for (const [from, to] of renames) {
    out = out.replace(new RegExp(`(?<![\\w$"])${escapeRegExp(pgIdent(from))}(?![\\w$"])`, "g"), pgIdent(to))
  }
  return out
}

const withoutNotValid = (definition: string) => definition.replace(/\s+NOT VALID$/, "")

const grantText = (grants: ReadonlyArray<Grant>) =>
  grants.map((g) => `${g.privilege}${g.grantable ? " WITH GRANT OPTION" : ""}`).join(", ")

/** Bigram Dice similarity of two names (0..1). */
const nameSimilarity = (a: string, b: string): number => {
  const grams = (s: string) => Array.from({ length: Math.max(s.length - 1, 0) }, (_, i) => s.slice(i, i + 2))
  const [x, y] = [grams(a), grams(b)]
  if (x.length + y.length === 0) return a === b ? 1 : 0
  const pool = [...y]
  let common = 0
  for (const g of x) {
    const i = pool.indexOf(g)
    if (i >= 0) {
      common++
      pool.splice(i, 1)
    }
  }
  return (2 * common) / (x.length + y.length)
}

const round2 = (n: number) => Math.round(n * 100) / 100

/** Greedy best-first matching of dropped × added candidates at or above the threshold. */
const matchRenames = <A>(
  dropped: ReadonlyArray<A>,
  added: ReadonlyArray<A>,
  confidence: (target: A, source: A) => number
): ReadonlyArray<{ readonly target: A; readonly source: A; readonly confidence: number }> => {
  const candidates = dropped.flatMap((t, i) =>
    added.map((s, j) => ({ i, j, target: t, source: s, confidence: round2(confidence(t, s)) }))
  )
  candidates.sort((a, b) => b.confidence - a.confidence || a.i - b.i || a.j - b.j)
  const [usedT, usedS] = [new Set<number>(), new Set<number>()]
  const matches: Array<{ target: A; source: A; confidence: number }> = []
  for (const c of candidates) {
    if (c.confidence < RENAME_THRESHOLD || usedT.has(c.i) || usedS.has(c.j)) continue
    usedT.add(c.i)
    usedS.add(c.j)
    matches.push({ target: c.target, source: c.source, confidence: c.confidence })
  }
  return matches
}

// ---------------------------------------------------------------------------------------------
// Types: narrowed, widened or another family

type TypeChange = "narrowed" | "widened" | "changed"

const INTEGER_RANK: Readonly<Record<string, number>> = { smallint: 1, integer: 2, bigint: 3 }
const FLOAT_RANK: Readonly<Record<string, number>> = { real: 1, "double precision": 2 }

/** `numeric(10,2)` → base `numeric`, modifiers [10, 2]; `timestamp(3) with time zone` → base `timestamp with time zone`, [3]. */
const parseType = (type: string) => {
  const match = /^(.*?)\(([\d,\s]+)\)(.*)$/.exec(type)
  if (match === null) return { base: type, mods: [] as Array<number> }
  return { base: `${match[1] ?? ""}${match[3] ?? ""}`.trim(), mods: (match[2] ?? "").split(",").map((m) => Number(m.trim())) }
}

const compareRank = (before: number, after: number): TypeChange => (after > before ? "widened" : "narrowed")

/** How a column's type changes from TARGET's `before` to SOURCE's `after` (which differ). */
export const classifyTypeChange = (before: string, after: string): TypeChange => {
  const arrayB = before.endsWith("[]")
  const arrayA = after.endsWith("[]")
  if (arrayB !== arrayA) return "changed"
  if (arrayB) return classifyTypeChange(before.slice(0, -2), after.slice(0, -2))
  const b = parseType(before)
  const a = parseType(after)
  const intB = INTEGER_RANK[b.base]
  const intA = INTEGER_RANK[a.base]
  if (intB !== undefined && intA !== undefined) return compareRank(intB, intA)
  if (intB !== undefined && a.base === "numeric") return a.mods.length === 0 ? "widened" : "changed"
  const floatB = FLOAT_RANK[b.base]
  const floatA = FLOAT_RANK[a.base]
  if (floatB !== undefined && floatA !== undefined) return compareRank(floatB, floatA)
  const isVarchar = (base: string) => base === "character varying"
  if ((isVarchar(b.base) && a.base === "text") || (isVarchar(b.base) && isVarchar(a.base) && a.mods.length === 0)) return "widened"
  if (b.base === "text" && isVarchar(a.base)) return a.mods.length === 0 ? "widened" : "narrowed"
  if (b.base === "timestamp with time zone" && a.base === "timestamp without time zone") return "narrowed"
  if (b.base === "timestamp without time zone" && a.base === "timestamp with time zone") return "widened"
  if (b.base !== a.base) return "changed"
  // Same base, different modifiers: no modifier is unbounded.
  if (a.mods.length === 0) return "widened"
  if (b.mods.length === 0) return "narrowed"
  if (b.base === "numeric") {
    const [pB = 0, sB = 0] = b.mods
    const [pA = 0, sA = 0] = a.mods
    return sA >= sB && pA - sA >= pB - sB ? "widened" : "narrowed"
  }
  return compareRank(b.mods[0] ?? 0, a.mods[0] ?? 0)
}

// Built-in functions whose result changes per row: a new column defaulting to one rewrites the table.
const VOLATILE_FUNCTIONS = /\b(nextval|random|random_normal|clock_timestamp|timeofday|gen_random_uuid|uuidv4|uuidv7|uuid_generate_v1|uuid_generate_v1mc|uuid_generate_v4|txid_current)\s*\(/

const isVolatileDefault = (expression: string, routines: ReadonlyArray<Routine>): boolean =>
  VOLATILE_FUNCTIONS.test(expression) ||
  routines.some((r) => r.volatility === "volatile" && expression.includes(`${pgIdent(r.schema)}.${pgIdent(r.name)}(`))

// ---------------------------------------------------------------------------------------------
// The diff

interface TablePair {
  readonly target: Table
  readonly source: Table
  /** TARGET column name → SOURCE column name, for columns detected as renamed. */
  readonly columnRenames: ReadonlyMap<string, string>
  readonly columns: Pairing<Column>
  readonly renamedColumns: ReadonlyArray<{ readonly target: Column; readonly source: Column; readonly confidence: number }>
}

const tableConfidence = (t: Table, s: Table): number => {
  if (t.relkind !== s.relkind) return 0
  const shape = (table: Table) => new Set(table.columns.map((c) => `${c.name} ${c.type}`))
  const [a, b] = [shape(t), shape(s)]
  const common = [...a].filter((x) => b.has(x)).length
  const union = a.size + b.size - common
  return 0.9 * (union === 0 ? 0 : common / union) + 0.1 * nameSimilarity(t.name, s.name)
}

const columnConfidence = (t: Column, s: Column, targetTable: Table, sourceTable: Table): number => {
  if (t.type !== s.type) return 0
  const previous = (table: Table, column: Column) => table.columns[table.columns.indexOf(column) - 1]?.name ?? ""
  const position =
    t.attnum === s.attnum || previous(targetTable, t) === previous(sourceTable, s) ? 1 : Math.abs(t.attnum - s.attnum) <= 2 ? 0.5 : 0
  return 0.4 + (t.notNull === s.notNull ? 0.2 : 0) + (t.default === s.default ? 0.2 : 0) + 0.2 * position
}

const pairTable = (t: Table, s: Table): TablePair => {
  const columns = pair(t.columns, s.columns, (c) => c.name)
  const renamedColumns = matchRenames(columns.dropped, columns.added, (a, b) => columnConfidence(a, b, t, s))
  const columnRenames = new Map(renamedColumns.map((r) => [r.target.name, r.source.name]))
  return {
    target: t,
    source: s,
    columnRenames,
    renamedColumns,
    columns: {
      dropped: columns.dropped.filter((c) => !columnRenames.has(c.name)),
      added: columns.added.filter((c) => !renamedColumns.some((r) => r.source === c)),
      both: [...columns.both, ...renamedColumns.map((r) => [r.target, r.source] as const)]
    }
  }
}

class SchemaDiff {
  readonly findings: Array<Finding> = []
  /** TARGET table key → SOURCE table key, for tables detected as renamed. */
  readonly tableRenames = new Map<string, string>()
  readonly pairs = new Map<string, TablePair>()

  readonly source: Catalog
  readonly target: Catalog
  readonly options: DriftOptions

  constructor(source: Catalog, target: Catalog, options: DriftOptions) {
    this.source = source
    this.target = target
    this.options = options
  }

  emit(
    rule: DriftRuleName,
    object: FindingObject,
    before: string | null,
    after: string | null,
    message: string,
    details?: Readonly<Record<string, unknown>>
  ) {
    const spec = DRIFT_RULES[rule]
    this.findings.push(
      finding({
        rule: driftRule(rule),
        severity: spec.severity,
        object,
        before,
        after,
        message,
        hint: spec.hint,
        ...(details === undefined ? {} : { details })
      })
    )
  }

  excluded(schema: string, name: string): boolean {
    return this.options.exclude.some(
      (pattern) => (!pattern.includes(".") && matchesGlob(pattern, schema)) || matchesTableGlob(pattern, schema, name)
    )
  }

  schemaExcluded(schema: string): boolean {
    return this.options.exclude.some((pattern) => matchesGlob(pattern, schema) || matchesGlob(pattern, `${schema}.*`))
  }

  keep<A extends { readonly schema: string; readonly name: string }>(list: ReadonlyArray<A>): ReadonlyArray<A> {
    return list.filter((a) => !this.excluded(a.schema, a.name))
  }

  // -- owners, privileges, comments (opt-in) ---------------------------------------------------

  owner(object: FindingObject, before: string, after: string) {
    if (this.options.includeOwners && before !== after) {
      this.emit("owner-changed", object, before, after, `${object.kind} ${objectPath(object)}: owner ${before} → ${after}`)
    }
  }

  comment(object: FindingObject, before: string | null, after: string | null) {
    if (this.options.includeComments && before !== after) {
      this.emit("comment-changed", object, before, after, `${object.kind} ${objectPath(object)}: comment changed`)
    }
  }

  privileges(object: FindingObject, before: ReadonlyArray<Grant>, after: ReadonlyArray<Grant>) {
    if (!this.options.includePrivileges) return
    const text = (g: Grant) => `${g.grantee} ${g.privilege}${g.grantable ? " WITH GRANT OPTION" : ""}`
    const [b, a] = [new Set(before.map(text)), new Set(after.map(text))]
    const grantees = [...new Set([...before, ...after].map((g) => g.grantee))].sort()
    for (const grantee of grantees) {
      const revoked = before.filter((g) => g.grantee === grantee && !a.has(text(g)))
      const granted = after.filter((g) => g.grantee === grantee && !b.has(text(g)))
      const path = `${object.kind} ${objectPath(object)}`
      if (revoked.length > 0) {
        this.emit("privilege-revoked", { ...object, name: grantee }, grantText(revoked), null, `${path}: ${grantText(revoked)} revoked from ${grantee}`)
      }
      if (granted.length > 0) {
        this.emit("privilege-granted", { ...object, name: grantee }, null, grantText(granted), `${path}: ${grantText(granted)} granted to ${grantee}`)
      }
    }
  }

  // -- schemas and extensions -------------------------------------------------------------------

  schemas() {
    const keep = (list: ReadonlyArray<DatabaseSchema>) => list.filter((s) => !this.schemaExcluded(s.name))
    const { dropped, added, both } = pair(keep(this.target.schemas), keep(this.source.schemas), (s) => s.name)
    for (const s of dropped) this.emit("schema-dropped", at("schema", s.name), s.name, null, `schema ${s.name} would be dropped`)
    for (const s of added) this.emit("schema-added", at("schema", s.name), null, s.name, `schema ${s.name} would be created`)
    for (const [t, s] of both) {
      const object = at("schema", s.name)
      this.owner(object, t.owner, s.owner)
      this.privileges(object, t.privileges, s.privileges)
      this.comment(object, t.comment, s.comment)
    }
  }

  extensions() {
    const keep = (list: Catalog["extensions"]) => list.filter((e) => !this.excluded(e.schema, e.name))
    const { dropped, added, both } = pair(keep(this.target.extensions), keep(this.source.extensions), (e) => e.name)
    for (const e of added) {
      this.emit("extension-missing", at("extension", e.schema, undefined, undefined, e.name), null, `${e.name} ${e.version}`, `extension ${e.name} is required but not installed`)
    }
    for (const e of dropped) {
      this.emit("extension-dropped", at("extension", e.schema, undefined, undefined, e.name), `${e.name} ${e.version}`, null, `extension ${e.name} is installed but not expected`)
    }
    for (const [t, s] of both) {
      const object = at("extension", s.schema, undefined, undefined, s.name)
      if (t.version !== s.version) this.emit("extension-version-changed", object, t.version, s.version, `extension ${s.name}: version ${t.version} → ${s.version}`)
      if (t.schema !== s.schema) this.emit("extension-schema-changed", object, t.schema, s.schema, `extension ${s.name}: schema ${t.schema} → ${s.schema}`)
    }
  }

  // -- tables ----------------------------------------------------------------------------------

  tables() {
    const key = (t: Table) => keyOf(t.schema, t.name)
    const { dropped, added, both } = pair(this.keep(this.target.tables), this.keep(this.source.tables), key)
    const renames = matchRenames(
      dropped.filter((t) => t.partitionOf === null),
      added.filter((t) => t.partitionOf === null),
      tableConfidence
    )
    for (const r of renames) this.tableRenames.set(key(r.target), key(r.source))
    for (const [t, s] of both) this.pairs.set(key(s), pairTable(t, s))
    for (const r of renames) this.pairs.set(key(r.source), pairTable(r.target, r.source))
    const renamedSource = new Set(renames.map((r) => r.source))
    const targetKeys = new Set(this.target.tables.map(key))

    for (const r of renames) {
      const before = keyOf(r.target.schema, r.target.name)
      const after = keyOf(r.source.schema, r.source.name)
      this.emit("table-renamed", at("table", r.source.schema, r.source.name), before, after, `table ${before} renamed to ${after} (confidence ${r.confidence})`, {
        confidence: r.confidence,
        from: before,
        to: after
      })
    }
    for (const t of dropped) {
      if (this.tableRenames.has(key(t))) continue
      const object = at("table", t.schema, t.name)
      if (t.partitionOf !== null) {
        this.emit("partition-dropped", object, `partition of ${keyOf(t.partitionOf.schema, t.partitionOf.name)} ${t.partitionOf.bound}`, null, `partition ${key(t)} would be dropped with its rows`)
      } else {
        this.emit("table-dropped", object, key(t), null, `table ${key(t)} would be dropped with its rows`)
      }
    }
    for (const s of added) {
      if (renamedSource.has(s)) continue
      const object = at("table", s.schema, s.name)
      if (s.partitionOf !== null && targetKeys.has(keyOf(s.partitionOf.schema, s.partitionOf.name))) {
        this.emit("partition-attached", object, null, `partition of ${keyOf(s.partitionOf.schema, s.partitionOf.name)} ${s.partitionOf.bound}`, `partition ${key(s)} would be attached`)
      } else {
        this.emit("table-added", object, null, key(s), `table ${key(s)} would be created`)
      }
    }
    for (const p of this.pairs.values()) this.table(p)
  }

  table(p: TablePair) {
    const { target: t, source: s } = p
    const object = at("table", s.schema, s.name)
    const name = keyOf(s.schema, s.name)
    if (t.partitionKey !== s.partitionKey) {
      this.emit("partition-key-changed", object, t.partitionKey, s.partitionKey, `table ${name}: partition key ${t.partitionKey ?? "none"} → ${s.partitionKey ?? "none"}`)
    }
    const parentOf = (table: Table) => (table.partitionOf === null ? null : `partition of ${keyOf(table.partitionOf.schema, table.partitionOf.name)} ${table.partitionOf.bound}`)
    const [parentT, parentS] = [parentOf(t), parentOf(s)]
    if (parentT !== null && parentS === null) this.emit("partition-detached", object, parentT, null, `partition ${name} would be detached`)
    else if (parentT === null && parentS !== null) this.emit("partition-attached", object, null, parentS, `table ${name} would be attached as a partition`)
    else if (t.partitionOf !== null && s.partitionOf !== null && (this.mapTable(t.partitionOf) !== keyOf(s.partitionOf.schema, s.partitionOf.name) || t.partitionOf.bound !== s.partitionOf.bound)) {
      this.emit("partition-bound-changed", object, parentT, parentS, `partition ${name}: ${parentT} → ${parentS}`)
    }
    if (t.rowSecurity && !s.rowSecurity) this.emit("rls-disabled", object, "row security enabled", "row security disabled", `table ${name}: row-level security would be disabled`)
    if (!t.rowSecurity && s.rowSecurity) this.emit("rls-enabled", object, "row security disabled", "row security enabled", `table ${name}: row-level security would be enabled`)
    if (t.forceRowSecurity && !s.forceRowSecurity) this.emit("rls-unforced", object, "row security forced", "row security not forced", `table ${name}: FORCE ROW LEVEL SECURITY would be removed`)
    if (!t.forceRowSecurity && s.forceRowSecurity) this.emit("rls-forced", object, "row security not forced", "row security forced", `table ${name}: FORCE ROW LEVEL SECURITY would be added`)
    // An identity index is compared by its keys, so renaming the index alone is no change.
    const identity = (table: Table, renames: ReadonlyMap<string, string>, named: boolean) => {
      const { kind, index } = table.replicaIdentity
      if (kind !== "index") return kind.toUpperCase()
      const keys = table.indexes.find((i) => i.name === index)?.keys.map((k) => renames.get(k) ?? k) ?? []
      return `USING INDEX ${named ? `${index} ` : ""}(${keys.join(", ")})`
    }
    if (identity(t, p.columnRenames, false) !== identity(s, new Map(), false)) {
      const [before, after] = [identity(t, new Map(), true), identity(s, new Map(), true)]
      this.emit("replica-identity-changed", object, before, after, `table ${name}: replica identity ${before} → ${after}`)
    }
    // A partition's columns are its parent's: report them once, on the parent.
    if (t.partitionOf === null || s.partitionOf === null) this.columns(p)
    this.constraints(p)
    this.indexes(object, t, s, p.columnRenames)
    this.triggers(object, t.triggers, s.triggers, keyOf(t.schema, t.name), name)
    this.policies(p)
    this.owner(object, t.owner, s.owner)
    this.privileges(object, t.privileges, s.privileges)
    this.comment(object, t.comment, s.comment)
  }

  /** A TARGET table's key as SOURCE names it (following table renames). */
  mapTable(table: { readonly schema: string; readonly name: string } | null): string {
    if (table === null) return ""
    const key = keyOf(table.schema, table.name)
    return this.tableRenames.get(key) ?? key
  }

  /**
   * TARGET's deparsed text with renamed tables under their SOURCE names: qualified references
   * (`public.actor`) and unaliased column qualifiers (`actor.first_name`), as a view prints them.
   */
  followTableRenames(text: string): string {
    let out = text
    for (const to of this.tableRenames.values()) {
      const [fromPair, toPair] = [this.pairs.get(to)?.target, this.pairs.get(to)?.source]
      if (fromPair === undefined || toPair === undefined) continue
      const boundary = (pattern: string) => new RegExp(`(?<![\\w$".])${pattern}(?![\\w$"])`, "g")
      out = out
        .replace(boundary(escapeRegExp(`${pgIdent(fromPair.schema)}.${pgIdent(fromPair.name)}`)), `${pgIdent(toPair.schema)}.${pgIdent(toPair.name)}`)
        .replace(boundary(`${escapeRegExp(pgIdent(fromPair.name))}(?=\\.)`), pgIdent(toPair.name))
    }
    return out
  }

  columns(p: TablePair) {
    const s = p.source
    for (const r of p.renamedColumns) {
      this.emit("column-renamed", at("column", s.schema, s.name, r.source.name), r.target.name, r.source.name, `column ${keyOf(s.schema, s.name)}.${r.target.name} renamed to ${r.source.name} (confidence ${r.confidence})`, {
        confidence: r.confidence,
        from: r.target.name,
        to: r.source.name
      })
    }
    for (const c of p.columns.dropped) {
      this.emit("column-dropped", at("column", s.schema, s.name, c.name), c.type, null, `column ${keyOf(s.schema, s.name)}.${c.name} (${c.type}) would be dropped`)
    }
    for (const c of p.columns.added) {
      const object = at("column", s.schema, s.name, c.name)
      const path = `${keyOf(s.schema, s.name)}.${c.name}`
      const after = `${c.type}${c.notNull ? " NOT NULL" : ""}${c.default === null ? "" : ` DEFAULT ${c.default}`}`
      if (c.notNull && c.default === null && c.identity === null && c.generated === null) {
        this.emit("not-null-column-added", object, null, after, `column ${path} is added NOT NULL without a default: fails on a table with rows`)
      } else if (c.identity !== null || (c.default !== null && isVolatileDefault(c.default, this.source.routines))) {
        this.emit("volatile-default-added", object, null, after, `column ${path} is added with a volatile default: rewrites the table`)
      } else {
        this.emit("column-added", object, null, after, `column ${path} (${c.type}) would be added`)
      }
    }
    for (const [tc, sc] of p.columns.both) this.column(at("column", s.schema, s.name, sc.name), tc, sc)
  }

  column(object: FindingObject, t: Column, s: Column) {
    const path = objectPath(object)
    if (t.type !== s.type) {
      const change = classifyTypeChange(t.type, s.type)
      const rule = change === "narrowed" ? "column-type-narrowed" : change === "widened" ? "column-type-widened" : "column-type-changed"
      this.emit(rule, object, t.type, s.type, `column ${path}: type ${t.type} → ${s.type} (${change === "changed" ? "another type" : change})`)
    }
    if (!t.notNull && s.notNull) this.emit("not-null-added", object, "NULL", "NOT NULL", `column ${path} becomes NOT NULL`)
    if (t.notNull && !s.notNull) this.emit("not-null-dropped", object, "NOT NULL", "NULL", `column ${path} becomes nullable`)
    if (t.default !== s.default) {
      if (s.default === null && s.notNull) this.emit("not-null-default-removed", object, t.default, null, `column ${path}: default removed from a NOT NULL column`)
      else if (t.default === null) this.emit("default-added", object, null, s.default, `column ${path}: default ${s.default} added`)
      else this.emit("default-changed", object, t.default, s.default, `column ${path}: default ${t.default} → ${s.default ?? "none"}`)
    }
    const generated = (c: Column) => (c.generated === null ? null : `GENERATED ALWAYS AS (${c.generated.expression}) ${c.generated.kind.toUpperCase()}`)
    if (generated(t) !== generated(s)) this.emit("generated-changed", object, generated(t), generated(s), `column ${path}: generation ${generated(t) ?? "none"} → ${generated(s) ?? "none"}`)
    if (t.identity === null && s.identity !== null) this.emit("identity-added", object, null, `GENERATED ${s.identity.toUpperCase()} AS IDENTITY`, `column ${path} becomes an identity column`)
    else if (t.identity !== null && s.identity === null) this.emit("identity-removed", object, `GENERATED ${t.identity.toUpperCase()} AS IDENTITY`, null, `column ${path} stops being an identity column`)
    else if (t.identity !== s.identity) this.emit("identity-changed", object, `GENERATED ${t.identity?.toUpperCase()} AS IDENTITY`, `GENERATED ${s.identity?.toUpperCase()} AS IDENTITY`, `column ${path}: identity ${t.identity} → ${s.identity}`)
    if (t.collation !== s.collation) this.emit("collation-changed", object, t.collation, s.collation, `column ${path}: collation ${t.collation ?? "default"} → ${s.collation ?? "default"}`)
    this.privileges(object, t.privileges, s.privileges)
    this.comment(object, t.comment, s.comment)
  }

  // -- constraints -----------------------------------------------------------------------------

  constraints(p: TablePair) {
    const { target: t, source: s, columnRenames } = p
    const table = keyOf(s.schema, s.name)
    const local = <C extends Constraint>(list: ReadonlyArray<C>) => list.filter((c) => !c.inherited)
    const mapped = (c: Constraint) => withoutNotValid(substitute(c.definition, columnRenames))
    const object = (kind: string, c: Constraint) => at(kind, s.schema, s.name, undefined, c.name)
    const none = new Map<string, string>()

    // Primary key: compared by its columns, whatever its name.
    const pkT = t.primaryKey === null || t.primaryKey.inherited ? null : t.primaryKey
    const pkS = s.primaryKey === null || s.primaryKey.inherited ? null : s.primaryKey
    if (pkT === null && pkS !== null) this.emit("primary-key-added", object("primary key", pkS), null, pkS.definition, `table ${table}: primary key ${pkS.definition} added`)
    else if (pkT !== null && pkS === null) this.emit("primary-key-dropped", object("primary key", pkT), pkT.definition, null, `table ${table}: primary key ${pkT.definition} dropped`)
    else if (pkT !== null && pkS !== null && mapped(pkT) !== pkS.definition) {
      this.emit("primary-key-changed", object("primary key", pkS), pkT.definition, pkS.definition, `table ${table}: primary key ${pkT.definition} → ${pkS.definition}`)
    }

    const kinds = [
      { kind: "unique constraint", list: (x: Table) => x.uniqueConstraints, added: "unique-added", changed: "unique-changed", dropped: "unique-dropped", notValid: null },
      { kind: "check constraint", list: (x: Table) => x.checkConstraints, added: "check-added", changed: "check-changed", dropped: "check-dropped", notValid: "check-not-valid" },
      { kind: "exclusion constraint", list: (x: Table) => x.exclusionConstraints, added: "exclusion-added", changed: "exclusion-changed", dropped: "exclusion-dropped", notValid: null }
    ] as const
    for (const k of kinds) {
      const { dropped, added, both } = pair(local(k.list(t)), local(k.list(s)), (c) => c.name, (c) => c.definition)
      for (const c of dropped) this.emit(k.dropped, object(k.kind, c), c.definition, null, `table ${table}: ${k.kind} ${c.name} dropped`)
      for (const c of added) {
        if (!c.validated && k.notValid !== null) this.emit(k.notValid, object(k.kind, c), null, c.definition, `table ${table}: ${k.kind} ${c.name} added NOT VALID: existing rows are not checked`)
        else this.emit(k.added, object(k.kind, c), null, c.definition, `table ${table}: ${k.kind} ${c.name} ${c.definition} added`)
      }
      for (const [tc, sc] of both) {
        if (mapped(tc) !== withoutNotValid(sc.definition)) {
          this.emit(k.changed, object(k.kind, sc), tc.definition, sc.definition, `table ${table}: ${k.kind} ${sc.name} ${tc.definition} → ${sc.definition}`)
        } else {
          this.validity(object(k.kind, sc), tc, sc, k.notValid)
        }
        this.deferrability(object(k.kind, sc), tc, sc)
      }
    }

    const fkShape = (fk: ForeignKey, renames: ReadonlyMap<string, string>, side: "target" | "source") => {
      const refKey = keyOf(fk.references.schema, fk.references.table)
      const refTable = side === "target" ? this.mapTable({ schema: fk.references.schema, name: fk.references.table }) : refKey
      const refRenames = side === "target" ? this.pairs.get(refTable)?.columnRenames ?? new Map<string, string>() : new Map<string, string>()
      return JSON.stringify([
        fk.columns.map((c) => renames.get(c) ?? c),
        refTable,
        fk.references.columns.map((c) => refRenames.get(c) ?? c),
        fk.match
      ])
    }
    const fks = pair(local(t.foreignKeys), local(s.foreignKeys), (c) => c.name, (c) => `${fkShape(c, none, "target")} ${c.onDelete} ${c.onUpdate}`)
    for (const c of fks.dropped) this.emit("foreign-key-dropped", object("foreign key", c), c.definition, null, `table ${table}: foreign key ${c.name} dropped`)
    for (const c of fks.added) {
      if (!c.validated) this.emit("foreign-key-not-valid", object("foreign key", c), null, c.definition, `table ${table}: foreign key ${c.name} added NOT VALID: existing rows are not checked`)
      else this.emit("foreign-key-added", object("foreign key", c), null, c.definition, `table ${table}: foreign key ${c.name} ${c.definition} added`)
    }
    for (const [tc, sc] of fks.both) {
      const o = object("foreign key", sc)
      if (fkShape(tc, columnRenames, "target") !== fkShape(sc, none, "source")) {
        this.emit("foreign-key-changed", o, tc.definition, sc.definition, `table ${table}: foreign key ${sc.name} ${tc.definition} → ${sc.definition}`)
      } else {
        if (tc.onDelete !== sc.onDelete || tc.onUpdate !== sc.onUpdate) {
          const actions = (fk: ForeignKey) => `ON DELETE ${fk.onDelete.toUpperCase()} ON UPDATE ${fk.onUpdate.toUpperCase()}`
          this.emit("foreign-key-action-changed", o, actions(tc), actions(sc), `table ${table}: foreign key ${sc.name} ${actions(tc)} → ${actions(sc)}`)
        }
        this.validity(o, tc, sc, "foreign-key-not-valid")
      }
      this.deferrability(o, tc, sc)
    }
  }

  validity(object: FindingObject, t: Constraint, s: Constraint, notValid: DriftRuleName | null) {
    const path = objectPath(object)
    if (t.validated && !s.validated && notValid !== null) this.emit(notValid, object, "VALID", "NOT VALID", `${object.kind} ${path} is left NOT VALID`)
    if (!t.validated && s.validated) this.emit("constraint-validated", object, "NOT VALID", "VALID", `${object.kind} ${path} would be validated against existing rows`)
  }

  deferrability(object: FindingObject, t: Constraint, s: Constraint) {
    const text = (c: Constraint) => (c.deferrable ? `DEFERRABLE INITIALLY ${c.initiallyDeferred ? "DEFERRED" : "IMMEDIATE"}` : "NOT DEFERRABLE")
    if (text(t) !== text(s)) this.emit("constraint-deferrability-changed", object, text(t), text(s), `${object.kind} ${objectPath(object)}: ${text(t)} → ${text(s)}`)
  }

  // -- indexes, triggers, policies -------------------------------------------------------------

  indexes(owner: FindingObject, t: Table | View, s: Table | View, columnRenames: ReadonlyMap<string, string>) {
    const shape = (i: Index, renames: ReadonlyMap<string, string>) =>
      JSON.stringify([
        i.method,
        i.keys.map((k) => (renames.has(k) ? renames.get(k) : substitute(k, renames))),
        i.include.map((k) => renames.get(k) ?? k),
        i.unique,
        i.predicate === null ? null : substitute(i.predicate, renames),
        /NULLS NOT DISTINCT/.test(i.definition)
      ])
    const none = new Map<string, string>()
    // A partition's copies of its parent's indexes are reported once, on the parent.
    const parentShapes = (table: Table | View, catalog: Catalog) => {
      const parent = "partitionOf" in table && table.partitionOf !== null ? catalog.tables.find((x) => x.schema === table.partitionOf?.schema && x.name === table.partitionOf.name) : undefined
      return new Set((parent?.indexes ?? []).map((i) => shape(i, none)))
    }
    const [inheritedT, inheritedS] = [parentShapes(t, this.target), parentShapes(s, this.source)]
    const own = (list: ReadonlyArray<Index>, inherited: ReadonlySet<string>) => list.filter((i) => i.constraint === null && !inherited.has(shape(i, none)))
    const { dropped, added, both } = pair(own(t.indexes, inheritedT), own(s.indexes, inheritedS), (i) => i.name, (i) => shape(i, none))
    const object = (i: Index) => at("index", s.schema, s.name, undefined, i.name)
    const table = objectPath(owner)
    for (const i of dropped) {
      if (i.unique) this.emit("unique-index-dropped", object(i), i.definition, null, `unique index ${i.name} on ${table} dropped: uniqueness no longer enforced`)
      else this.emit("index-dropped", object(i), i.definition, null, `index ${i.name} on ${table} dropped`)
    }
    for (const i of added) {
      if (i.unique) this.emit("unique-index-added", object(i), null, i.definition, `unique index ${i.name} on ${table} added`)
      else this.emit("index-added", object(i), null, i.definition, `index ${i.name} on ${table} added`)
    }
    for (const [ti, si] of both) {
      if (shape(ti, columnRenames) !== shape(si, none)) {
        if (si.unique && !ti.unique) this.emit("unique-index-added", object(si), ti.definition, si.definition, `index ${si.name} on ${table} becomes unique`)
        else this.emit("index-changed", object(si), ti.definition, si.definition, `index ${si.name} on ${table} changed`)
      }
      if (ti.valid !== si.valid) {
        const state = (i: Index) => (i.valid ? "valid" : "invalid")
        this.emit("index-invalid", object(si), state(ti), state(si), `index ${si.name} on ${table} is invalid on the ${ti.valid ? "source" : "target"}`)
      }
      this.comment(object(si), ti.comment, si.comment)
    }
    // Constraint-backing indexes: only validity (a failed concurrent build) is theirs to report.
    const backing = pair(t.indexes.filter((i) => i.constraint !== null), s.indexes.filter((i) => i.constraint !== null), (i) => i.name)
    for (const [ti, si] of backing.both) {
      if (!ti.valid && si.valid) this.emit("index-invalid", object(si), "invalid", "valid", `index ${si.name} on ${table} is invalid on the target`)
    }
  }

  triggers(owner: FindingObject, target: ReadonlyArray<Trigger>, source: ReadonlyArray<Trigger>, targetTable: string, sourceTable: string) {
    const own = (list: ReadonlyArray<Trigger>) => list.filter((x) => !x.inherited)
    const qualified = (key: string) => key.split(".").map(pgIdent).join(".")
    const normal = (tr: Trigger, table: string) => JSON.stringify([tr.definition.replace(` ON ${qualified(table)} `, " ON "), tr.enabled])
    const { dropped, added, both } = pair(own(target), own(source), (x) => x.name)
    const object = (tr: Trigger) => at("trigger", owner.schema ?? "", owner.table, undefined, tr.name)
    const on = objectPath(owner)
    for (const tr of dropped) this.emit("trigger-dropped", object(tr), tr.definition, null, `trigger ${tr.name} on ${on} dropped`)
    for (const tr of added) this.emit("trigger-added", object(tr), null, tr.definition, `trigger ${tr.name} on ${on} added`)
    for (const [tt, st] of both) {
      if (normal(tt, targetTable) !== normal(st, sourceTable)) {
        this.emit("trigger-changed", object(st), `${tt.definition} (${tt.enabled})`, `${st.definition} (${st.enabled})`, `trigger ${st.name} on ${on} changed`)
      }
      this.comment(object(st), tt.comment, st.comment)
    }
  }

  policies(p: TablePair) {
    const { target: t, source: s, columnRenames } = p
    const shape = (x: Policy, renames: ReadonlyMap<string, string>) =>
      JSON.stringify([x.command, x.permissive, x.roles, x.using === null ? null : substitute(x.using, renames), x.withCheck === null ? null : substitute(x.withCheck, renames)])
    const text = (x: Policy) =>
      `${x.permissive ? "PERMISSIVE" : "RESTRICTIVE"} FOR ${x.command} TO ${x.roles.join(", ")}${x.using === null ? "" : ` USING (${x.using})`}${x.withCheck === null ? "" : ` WITH CHECK (${x.withCheck})`}`
    const { dropped, added, both } = pair(t.policies, s.policies, (x) => x.name)
    const object = (x: Policy) => at("policy", s.schema, s.name, undefined, x.name)
    const table = keyOf(s.schema, s.name)
    for (const x of dropped) {
      if (x.permissive) this.emit("permissive-policy-dropped", object(x), text(x), null, `permissive policy ${x.name} on ${table} dropped: its roles lose access to rows`)
      else this.emit("restrictive-policy-dropped", object(x), text(x), null, `restrictive policy ${x.name} on ${table} dropped: access widens`)
    }
    for (const x of added) this.emit("policy-added", object(x), null, text(x), `policy ${x.name} on ${table} added`)
    for (const [tx, sx] of both) {
      if (shape(tx, columnRenames) !== shape(sx, new Map())) this.emit("policy-changed", object(sx), text(tx), text(sx), `policy ${sx.name} on ${table} changed`)
      this.comment(object(sx), tx.comment, sx.comment)
    }
  }

  // -- publications and event triggers (database-wide) ------------------------------------------

  publications() {
    const keep = (list: ReadonlyArray<Publication>) =>
      list.filter((p) => !this.options.exclude.some((pattern) => !pattern.includes(".") && matchesGlob(pattern, p.name)))
    const tables = (p: Publication, mapNames: boolean) =>
      p.allTables
        ? "ALL TABLES"
        : p.tables
            .filter((x) => !this.excluded(x.schema, x.table))
            .map((x) => {
              const name = mapNames ? this.mapTable({ schema: x.schema, name: x.table }) : keyOf(x.schema, x.table)
              return `${name}${x.columns === null ? "" : ` (${x.columns.join(", ")})`}${x.rowFilter === null ? "" : ` WHERE ${x.rowFilter}`}`
            })
            .join(", ")
    const text = (p: Publication, mapNames: boolean) =>
      `FOR ${tables(p, mapNames) || "no tables"} WITH (publish = '${p.operations.join(", ")}', publish_via_partition_root = ${p.viaRoot})`
    const { dropped, added, both } = pair(keep(this.target.publications), keep(this.source.publications), (p) => p.name)
    const object = (p: Publication) => ({ kind: "publication", name: p.name })
    for (const p of dropped) this.emit("publication-dropped", object(p), text(p, false), null, `publication ${p.name} dropped: its subscribers stop receiving changes`)
    for (const p of added) this.emit("publication-added", object(p), null, text(p, false), `publication ${p.name} created: ${tables(p, false) || "no tables"} published`)
    for (const [t, s] of both) {
      if (text(t, true) !== text(s, false)) this.emit("publication-changed", object(s), text(t, false), text(s, false), `publication ${s.name} changed`)
      this.owner(object(s), t.owner, s.owner)
      this.comment(object(s), t.comment, s.comment)
    }
  }

  eventTriggers() {
    const keep = (list: ReadonlyArray<EventTrigger>) =>
      list.filter((e) => !this.options.exclude.some((pattern) => !pattern.includes(".") && matchesGlob(pattern, e.name)))
    const text = (e: EventTrigger) =>
      `ON ${e.event}${e.tags.length > 0 ? ` WHEN TAG IN (${e.tags.map((x) => `'${x}'`).join(", ")})` : ""} EXECUTE FUNCTION ${keyOf(e.function.schema, e.function.name)}()${e.enabled === "origin" ? "" : ` (${e.enabled})`}`
    const { dropped, added, both } = pair(keep(this.target.eventTriggers), keep(this.source.eventTriggers), (e) => e.name)
    const object = (e: EventTrigger) => ({ kind: "event trigger", name: e.name })
    for (const e of dropped) this.emit("event-trigger-dropped", object(e), text(e), null, `event trigger ${e.name} dropped`)
    for (const e of added) this.emit("event-trigger-added", object(e), null, text(e), `event trigger ${e.name} created`)
    for (const [t, s] of both) {
      if (text(t) !== text(s)) this.emit("event-trigger-changed", object(s), text(t), text(s), `event trigger ${s.name} changed`)
      this.owner(object(s), t.owner, s.owner)
      this.comment(object(s), t.comment, s.comment)
    }
  }

  // -- views -----------------------------------------------------------------------------------

  views() {
    const { dropped, added, both } = pair(this.keep(this.target.views), this.keep(this.source.views), (v) => keyOf(v.schema, v.name))
    const kind = (v: View) => (v.materialized ? "materialized view" : "view")
    for (const v of dropped) {
      this.emit(v.materialized ? "materialized-view-dropped" : "view-dropped", at(kind(v), v.schema, v.name), v.definition, null, `${kind(v)} ${keyOf(v.schema, v.name)} dropped`)
    }
    for (const v of added) this.emit("view-added", at(kind(v), v.schema, v.name), null, v.definition, `${kind(v)} ${keyOf(v.schema, v.name)} created`)
    for (const [t, s] of both) this.view(t, s)
  }

  view(t: View, s: View) {
    const object = at(s.materialized ? "materialized view" : "view", s.schema, s.name)
    const name = `${object.kind} ${keyOf(s.schema, s.name)}`
    const { dropped, added, both } = pair(t.columns, s.columns, (c) => c.name)
    const column = (c: Column) => at(`${object.kind} column`, s.schema, s.name, c.name)
    let columnChanges = dropped.length + added.length
    const stillAdded = [...added]
    for (const c of dropped) {
      // A view column renamed keeps its position and type.
      const renamed = stillAdded.findIndex((a) => a.attnum === c.attnum && a.type === c.type)
      if (renamed >= 0) {
        const to = stillAdded.splice(renamed, 1)[0] as Column
        this.emit("view-column-renamed", column(to), c.name, to.name, `${name}: column ${c.name} renamed to ${to.name}`)
      } else {
        this.emit("view-column-removed", column(c), c.type, null, `${name}: column ${c.name} removed`)
      }
    }
    for (const c of stillAdded) this.emit("view-column-added", column(c), null, c.type, `${name}: column ${c.name} (${c.type}) added`)
    for (const [tc, sc] of both) {
      if (tc.type !== sc.type) {
        columnChanges++
        this.emit("view-column-retyped", column(sc), tc.type, sc.type, `${name}: column ${sc.name} type ${tc.type} → ${sc.type}`)
      }
      this.comment(column(sc), tc.comment, sc.comment)
    }
    const definitionT = this.followTableRenames(t.definition)
    if (columnChanges === 0 && (definitionT !== s.definition || t.materialized !== s.materialized)) {
      this.emit("view-definition-changed", object, t.definition, s.definition, `${name}: definition changed`)
    }
    this.indexes(object, t, s, new Map())
    this.triggers(object, t.triggers, s.triggers, keyOf(t.schema, t.name), keyOf(s.schema, s.name))
    this.owner(object, t.owner, s.owner)
    this.privileges(object, t.privileges, s.privileges)
    this.comment(object, t.comment, s.comment)
  }

  // -- sequences and routines ------------------------------------------------------------------

  sequences() {
    const { dropped, added, both } = pair(this.keep(this.target.sequences), this.keep(this.source.sequences), (x) => keyOf(x.schema, x.name))
    const options = (x: Sequence) => {
      const owned = x.ownedBy === null ? "" : ` OWNED BY ${this.mapTable({ schema: x.ownedBy.schema, name: x.ownedBy.table })}.${x.ownedBy.column}`
      return `AS ${x.dataType} START ${x.start} INCREMENT ${x.increment} MINVALUE ${x.min} MAXVALUE ${x.max} CACHE ${x.cache}${x.cycle ? " CYCLE" : ""}${owned}`
    }
    const object = (x: Sequence) => at("sequence", x.schema, undefined, undefined, x.name)
    // An identity column's sequence comes and goes with it (identity-added / identity-removed).
    for (const x of dropped.filter((x) => !x.identity)) this.emit("sequence-dropped", object(x), options(x), null, `sequence ${keyOf(x.schema, x.name)} dropped`)
    for (const x of added.filter((x) => !x.identity)) this.emit("sequence-added", object(x), null, options(x), `sequence ${keyOf(x.schema, x.name)} created`)
    for (const [t, s] of both) {
      if (options(t) !== options(s)) this.emit("sequence-options-changed", object(s), options(t), options(s), `sequence ${keyOf(s.schema, s.name)}: options changed`)
      this.owner(object(s), t.owner, s.owner)
      this.privileges(object(s), t.privileges, s.privileges)
      this.comment(object(s), t.comment, s.comment)
    }
  }

  routines() {
    const signature = (r: Routine) => `${r.name}(${r.identityArguments})`
    const { dropped, added, both } = pair(this.keep(this.target.routines), this.keep(this.source.routines), (r) => `${r.schema}.${signature(r)}`)
    const object = (r: Routine) => at(r.kind, r.schema, undefined, undefined, signature(r))
    const stillAdded = [...added]
    for (const r of dropped) {
      // Same name, other arguments: the signature changed (rather than a drop and an unrelated add).
      const index = stillAdded.findIndex((a) => a.schema === r.schema && a.name === r.name)
      if (index >= 0) {
        const to = stillAdded.splice(index, 1)[0] as Routine
        this.emit("routine-signature-changed", object(to), signature(r), signature(to), `${r.kind} ${r.schema}.${r.name}: signature ${signature(r)} → ${signature(to)}`)
      } else {
        this.emit("routine-dropped", object(r), signature(r), null, `${r.kind} ${r.schema}.${signature(r)} dropped`)
      }
    }
    for (const r of stillAdded) this.emit("routine-added", object(r), null, signature(r), `${r.kind} ${r.schema}.${signature(r)} created`)
    for (const [t, s] of both) {
      const o = object(s)
      const path = `${s.kind} ${s.schema}.${signature(s)}`
      if (t.kind !== s.kind) this.emit("routine-signature-changed", o, t.kind, s.kind, `${path}: ${t.kind} → ${s.kind}`)
      if (t.returnType !== s.returnType) this.emit("routine-return-changed", o, t.returnType, s.returnType, `${path}: returns ${t.returnType ?? "nothing"} → ${s.returnType ?? "nothing"}`)
      if (t.sourceHash !== s.sourceHash || t.language !== s.language) {
        this.emit("routine-body-changed", o, `${t.language} body md5 ${t.sourceHash}`, `${s.language} body md5 ${s.sourceHash}`, `${path}: body changed`)
      }
      const security = (r: Routine) => (r.securityDefiner ? "SECURITY DEFINER" : "SECURITY INVOKER")
      if (t.securityDefiner !== s.securityDefiner) this.emit("routine-security-changed", o, security(t), security(s), `${path}: ${security(t)} → ${security(s)}`)
      if (t.volatility !== s.volatility) this.emit("routine-volatility-changed", o, t.volatility, s.volatility, `${path}: ${t.volatility} → ${s.volatility}`)
      this.owner(o, t.owner, s.owner)
      this.privileges(o, t.privileges, s.privileges)
      this.comment(o, t.comment, s.comment)
    }
  }

  // -- types -----------------------------------------------------------------------------------

  enums() {
    const { dropped, added, both } = pair(this.keep(this.target.enums), this.keep(this.source.enums), (e) => keyOf(e.schema, e.name))
    const object = (e: EnumType) => at("enum", e.schema, undefined, undefined, e.name)
    const list = (e: EnumType) => e.values.join(", ")
    for (const e of dropped) this.emit("enum-dropped", object(e), list(e), null, `enum ${keyOf(e.schema, e.name)} dropped`)
    for (const e of added) this.emit("enum-added", object(e), null, list(e), `enum ${keyOf(e.schema, e.name)} created`)
    for (const [t, s] of both) {
      this.enumValues(t, s)
      this.comment(object(s), t.comment, s.comment)
    }
  }

  enumValues(t: EnumType, s: EnumType) {
    const name = keyOf(s.schema, s.name)
    const value = (v: string) => at("enum value", s.schema, undefined, undefined, `${s.name}.${v}`)
    const removed = t.values.filter((v) => !s.values.includes(v))
    const added = s.values.filter((v) => !t.values.includes(v))
    // Removed and added labels at the same positions are renames (ALTER TYPE ... RENAME VALUE).
    const renamed =
      removed.length > 0 &&
      removed.length === added.length &&
      removed.every((v, i) => t.values.indexOf(v) === s.values.indexOf(added[i] ?? ""))
    if (renamed) {
      removed.forEach((v, i) => this.emit("enum-value-renamed", value(v), v, added[i] ?? "", `enum ${name}: value '${v}' renamed to '${added[i]}'`, { enum: name, value: v }))
    } else {
      for (const v of removed) this.emit("enum-value-removed", value(v), v, null, `enum ${name}: value '${v}' removed`, { enum: name, value: v })
      const lastKept = Math.max(-1, ...s.values.map((v, i) => (t.values.includes(v) ? i : -1)))
      for (const v of added) {
        const position = s.values.indexOf(v)
        if (position > lastKept) this.emit("enum-value-appended", value(v), null, v, `enum ${name}: value '${v}' appended`)
        else this.emit("enum-value-inserted", value(v), null, v, `enum ${name}: value '${v}' inserted before existing values`)
      }
    }
    const keptT = t.values.filter((v) => s.values.includes(v))
    const keptS = s.values.filter((v) => t.values.includes(v))
    if (keptT.join("\u0000") !== keptS.join("\u0000")) {
      this.emit("enum-values-reordered", at("enum", s.schema, undefined, undefined, s.name), keptT.join(", "), keptS.join(", "), `enum ${name}: values reordered`)
    }
  }

  domains() {
    const { dropped, added, both } = pair(this.keep(this.target.domains), this.keep(this.source.domains), (d) => keyOf(d.schema, d.name))
    const object = (d: DomainType) => at("domain", d.schema, undefined, undefined, d.name)
    for (const d of dropped) this.emit("domain-dropped", object(d), d.baseType, null, `domain ${keyOf(d.schema, d.name)} dropped`)
    for (const d of added) this.emit("domain-added", object(d), null, d.baseType, `domain ${keyOf(d.schema, d.name)} created`)
    for (const [t, s] of both) {
      const o = object(s)
      const name = `domain ${keyOf(s.schema, s.name)}`
      if (t.baseType !== s.baseType) this.emit("domain-type-changed", o, t.baseType, s.baseType, `${name}: type ${t.baseType} → ${s.baseType}`)
      if (!t.notNull && s.notNull) this.emit("domain-not-null-added", o, "NULL", "NOT NULL", `${name} becomes NOT NULL`)
      if (t.notNull && !s.notNull) this.emit("domain-not-null-dropped", o, "NOT NULL", "NULL", `${name} becomes nullable`)
      if (t.default !== s.default) this.emit("domain-default-changed", o, t.default, s.default, `${name}: default ${t.default ?? "none"} → ${s.default ?? "none"}`)
      if (t.collation !== s.collation) this.emit("collation-changed", o, t.collation, s.collation, `${name}: collation ${t.collation ?? "default"} → ${s.collation ?? "default"}`)
      const definition = (c: DomainType["constraints"][number]) => withoutNotValid(c.definition)
      const constraints = pair(t.constraints, s.constraints, (c) => c.name, definition)
      const co = (c: { readonly name: string }) => at("domain constraint", s.schema, undefined, undefined, `${s.name}.${c.name}`)
      for (const c of constraints.dropped) this.emit("domain-constraint-dropped", co(c), c.definition, null, `${name}: constraint ${c.name} dropped`)
      for (const c of constraints.added) {
        if (c.validated) this.emit("domain-constraint-added", co(c), null, c.definition, `${name}: constraint ${c.definition} added`)
        else this.emit("domain-constraint-not-valid", co(c), null, c.definition, `${name}: constraint ${c.name} added NOT VALID`)
      }
      for (const [tc, sc] of constraints.both) {
        if (definition(tc) !== definition(sc)) this.emit("domain-constraint-changed", co(sc), tc.definition, sc.definition, `${name}: constraint ${sc.name} ${tc.definition} → ${sc.definition}`)
        else if (tc.validated && !sc.validated) this.emit("domain-constraint-not-valid", co(sc), "VALID", "NOT VALID", `${name}: constraint ${sc.name} is left NOT VALID`)
      }
      this.comment(o, t.comment, s.comment)
    }
  }

  compositeTypes() {
    const { dropped, added, both } = pair(this.keep(this.target.compositeTypes), this.keep(this.source.compositeTypes), (c) => keyOf(c.schema, c.name))
    const object = (c: CompositeType) => at("composite type", c.schema, undefined, undefined, c.name)
    const shape = (c: CompositeType) => c.attributes.map((a) => `${a.name} ${a.type}`).join(", ")
    for (const c of dropped) this.emit("composite-type-dropped", object(c), shape(c), null, `composite type ${keyOf(c.schema, c.name)} dropped`)
    for (const c of added) this.emit("composite-type-added", object(c), null, shape(c), `composite type ${keyOf(c.schema, c.name)} created`)
    for (const [t, s] of both) {
      const name = `composite type ${keyOf(s.schema, s.name)}`
      const attributes = pair(t.attributes, s.attributes, (a) => a.name)
      const ao = (a: Column) => at("composite attribute", s.schema, s.name, a.name)
      for (const a of attributes.dropped) this.emit("composite-attribute-dropped", ao(a), a.type, null, `${name}: attribute ${a.name} dropped`)
      for (const a of attributes.added) this.emit("composite-attribute-added", ao(a), null, a.type, `${name}: attribute ${a.name} (${a.type}) added`)
      for (const [ta, sa] of attributes.both) {
        if (ta.type !== sa.type || ta.collation !== sa.collation) {
          this.emit("composite-attribute-changed", ao(sa), ta.type, sa.type, `${name}: attribute ${sa.name} ${ta.type} → ${sa.type}`)
        }
      }
      this.comment(object(s), t.comment, s.comment)
    }
  }
}

/** The drift between SOURCE (what the code expects) and TARGET, as TARGET's changes to match SOURCE; sorted. */
export const diffSchemas = (source: Catalog, target: Catalog, options: DriftOptions): ReadonlyArray<Finding> => {
  // db-harness's own records in a target (masking-proof.ts) are not part of anyone's schema.
  const diff = new SchemaDiff(source, target, { ...options, exclude: [...options.exclude, `${INTERNAL_SCHEMA}.*`] })
  diff.schemas()
  diff.extensions()
  diff.tables() // first: views and sequences follow its table renames
  diff.views()
  diff.sequences()
  diff.routines()
  diff.enums()
  diff.domains()
  diff.compositeTypes()
  diff.publications()
  diff.eventTriggers()
  return sortFindings(diff.findings)
}
