/**
 * The subset planner: turns resolved subset rules into one `SELECT` per table, so the engine can
 * stream `COPY (SELECT ...) TO STDOUT` on the shared snapshot and nothing is ever held in this
 * process. Every query runs at the same snapshot, so their answers agree with one another.
 *
 * The model, over the foreign-key graph (real keys of leaf tables, partitions included, plus the
 * rules' virtual keys; a key to a partitioned table is an edge to each of its partitions):
 *
 * - Roots R(T): rows a table's rule picks: a keyed hash of the primary key under the sample
 *   fraction (`hashint8extended(key::bigint, seed)` for one integer column, else
 *   `hashtextextended(key::text, seed)`, so reruns pick the same rows), a date range, a
 *   WHERE clause, every row (critical tables) or none (excluded tables).
 * - Downward D(T): with cascade_selection, children of D rows follow, level by level, to
 *   max_cascade_depth: D_k(T) = R(T) ∪ children (via each key) of D_{k-1}(parent). Levels are
 *   separate CTEs, so cycles cannot loop and diamonds cost nothing extra. Fan-out caps keep at
 *   most N children per parent row (the lowest hashes). Critical tables do not cascade.
 * - Upward closure S(T): S(T) = D(T) ∪ the parents of S(child) over every key, so no foreign key
 *   of the copy can point at a missing row. Tables are visited children first over the
 *   condensation of the graph (Tarjan's strongly connected components); a component with a cycle
 *   (self reference, two-table cycle, several cycles) is one recursive CTE over all its tables,
 *   each row tagged with its table and carrying its key columns, expanding through index lookups
 *   of the parents.
 * - A nullable key whose rules allow it (per key or globally; always for keys into excluded
 *   tables) is not followed upward; instead the copied value becomes NULL when its parent is not
 *   selected.
 *
 * Fan-out caps and the row limit only shrink roots and cascaded children; parents a selected row
 * needs are always added, so limits never break a key.
 */
import { copyableColumns, domainsOf, findTable, isTemporalForeignKey, leavesOf, quoteIdent, quoteLiteral, tableKey, type Catalog, type Column, type Table } from "./catalog.ts"
import { foreignKeyId, whyNotNullable, type SubsetRules } from "./subset-rules.ts"

export interface SubsetEdge {
  readonly id: number
  readonly child: Table
  readonly parent: Table
  readonly childColumns: ReadonlyArray<string>
  readonly parentColumns: ReadonlyArray<string>
  /** Constraint name, or `virtual_foreign_keys[i]`. */
  readonly name: string
  readonly virtual: boolean
  readonly validated: boolean
  /** The child's columns become NULL when the parent row is not selected (the edge is not followed upward). */
  readonly nullify: boolean
  readonly maxChildrenPerParent: number | undefined
  /** The ids of this key's edges: one per partition of the table it references (just this one for a plain table). */
  readonly siblings: ReadonlyArray<number>
}

export type SubsetRole = "critical" | "excluded" | "root" | "related"

export interface SubsetTablePlan {
  readonly table: Table
  /** `schema.table`, unquoted. */
  readonly label: string
  readonly role: SubsetRole
  /** `[WITH RECURSIVE ...] SELECT <copyable columns> FROM ONLY <table> x WHERE ...`. */
  readonly select: string
  /** For root tables: `SELECT count(*) AS total, count(*) FILTER (WHERE root) AS roots ...`. */
  readonly rootCountSql: string | undefined
  /** For root tables: `SELECT count(*) AS total ...`, when the roots are counted otherwise. */
  readonly rowCountSql: string | undefined
  /**
   * The SELECT returns exactly the table's roots: no cascaded child or needed parent can join
   * them, so the rows a copy reads through it are the root count.
   */
  readonly selectsOnlyRoots: boolean
  /** The sample fraction of a table sampled by hash, for the tolerance check; undefined otherwise. */
  readonly sampleFraction: number | undefined
  /** Columns set to NULL when their parent is not selected. */
  readonly nulledColumns: ReadonlyArray<string>
}

export interface SubsetPlan {
  /** Every leaf table, parents before children (the members of a cycle together). */
  readonly tables: ReadonlyArray<SubsetTablePlan>
  readonly edges: ReadonlyArray<SubsetEdge>
  /** Strongly connected components with a cycle, as table labels. */
  readonly cycles: ReadonlyArray<ReadonlyArray<string>>
}

const label = (table: { readonly schema: string; readonly name: string }) => `${table.schema}.${table.name}`
const nameOf = (table: Table) => tableKey(table.schema, table.name)
const columnsOf = (alias: string, columns: ReadonlyArray<string>) => columns.map((c) => `${alias}.${quoteIdent(c)}`).join(", ")
const tuple = (alias: string, columns: ReadonlyArray<string>) =>
  columns.length === 1 ? `${alias}.${quoteIdent(columns[0]!)}` : `(${columnsOf(alias, columns)})`
const allNotNull = (alias: string, columns: ReadonlyArray<string>) => columns.map((c) => `${alias}.${quoteIdent(c)} IS NOT NULL`).join(" AND ")
const isInteger = (column: Column | undefined) =>
  column !== undefined && column.typeSchema === "pg_catalog" && ["int2", "int4", "int8"].includes(column.typeName)
/** Built-in types whose equal values have one text form (bpchar drops its padding in the cast). */
const CANONICAL_TEXT_TYPES = new Set(["text", "varchar", "bpchar", "uuid", "date", "timestamp", "timestamptz", "bool", "bytea"])
/** Equal values of the column hash alike, by `hashOf`: as integers, or by a text form they share. */
const hashesAlike = (column: Column | undefined) =>
  isInteger(column) || (column !== undefined && column.typeSchema === "pg_catalog" && CANONICAL_TEXT_TYPES.has(column.typeName) && column.collation === null)

/** One disjunct of a table's row predicate, written for any alias of the table. */
interface Term {
  readonly sql: (alias: string) => string
  /** CTE names the term reads. */
  readonly ctes: ReadonlyArray<string>
  /** Set for a child reached by cascading through these edges (its parents over them are selected already). */
  readonly viaEdges?: ReadonlyArray<number>
  /** A pure keyed-hash sample of the table's primary key at this fraction (may be pushed into children). */
  readonly hashSample?: number
}

interface Cte {
  readonly name: string
  readonly sql: string
  readonly deps: ReadonlyArray<string>
  readonly order: number
}

const or = (terms: ReadonlyArray<Term>, alias: string) =>
  terms.length === 0 ? "false" : terms.length === 1 ? terms[0]!.sql(alias) : terms.map((t) => `(${t.sql(alias)})`).join(" OR ")

export interface SubsetPlanOptions {
  /**
   * For estimates only: each keyed-hash sample becomes `ctid < '<this TID>'`, a TID range over
   * the same fraction of the filtered table's blocks. PostgreSQL takes any hash test for a third
   * of the rows, but estimates a TID range from the table's size, so EXPLAIN of these SELECTs
   * (not the real ones) gives the rows a subset copies, through every join that follows a
   * sample. The SELECTs then pick other rows: never run them.
   */
  readonly sampleAsTidBelow?: (table: Table, fraction: number) => string
}

export const planSubset = (catalog: Catalog, rules: SubsetRules, options: SubsetPlanOptions = {}): SubsetPlan => {
  const leaves = catalog.tables.filter((t) => t.relkind === "r")
  const index = new Map(leaves.map((t, i) => [t, i]))
  const isCritical = (t: Table) => rules.critical.has(t)
  const isExcluded = (t: Table) => rules.excluded.has(t)

  // ---------------------------------------------------------------- edges
  const edges: Array<SubsetEdge> = []
  /** `declaredColumns`: the key's columns as the rules name it (a temporal key's with its PERIOD column, which `childColumns` leaves out). */
  const addEdge = (
    child: Table,
    parentTable: Table | undefined,
    childColumns: ReadonlyArray<string>,
    parentColumns: ReadonlyArray<string>,
    name: string,
    virtual: boolean,
    validated: boolean,
    declaredColumns = childColumns
  ) => {
    if (parentTable === undefined || isExcluded(child)) return
    const options = rules.foreignKeyOptions.get(foreignKeyId(child, declaredColumns))
    const parents = leavesOf(catalog, parentTable)
    // A temporal key is never NULLed: its value holds only where the copied periods cover its
    // range, so it is followed, every period of its parent with it.
    const temporal = declaredColumns.length !== childColumns.length
    const nullable = !temporal && childColumns.every((c) => child.columns.some((col) => col.name === c) && whyNotNullable(catalog, child, c) === undefined)
    const siblings = parents.map((_, i) => edges.length + i)
    // Decided for the key, not per partition: a key into a partitioned table is NULLed when its
    // parent row is selected in none of the partitions (rules refuse excluding only some of them).
    const wantsNull = (options?.nullUnselectedParent ?? rules.nullUnselectedParents) && nullable && !parents.every(isCritical)
    for (const parent of parents) {
      const nullify = isExcluded(parent) || wantsNull
      edges.push({
        id: edges.length,
        child,
        parent,
        childColumns,
        parentColumns,
        name,
        virtual,
        validated,
        nullify,
        maxChildrenPerParent: options?.maxChildrenPerParent ?? rules.maxChildrenPerParent,
        siblings
      })
    }
  }
  for (const child of leaves) {
    for (const fk of child.foreignKeys) {
      // A temporal key is followed by its other columns: every period of a parent that a row's
      // range may need comes along, so the copy's key holds wherever the source's did.
      const kept = isTemporalForeignKey(fk) ? fk.columns.length - 1 : fk.columns.length
      addEdge(child, findTable(catalog, fk.references.schema, fk.references.table), fk.columns.slice(0, kept), fk.references.columns.slice(0, kept), fk.name, false, fk.validated, fk.columns)
    }
  }
  for (const v of rules.virtualForeignKeys) {
    for (const child of leavesOf(catalog, v.table)) addEdge(child, v.references.table, v.columns, v.references.columns, v.name, true, false)
  }

  // ---------------------------------------------------------------- CTE registry
  const ctes = new Map<string, Cte>()
  const byContent = new Map<string, string>()
  const cte = (prefix: string, sql: string, deps: ReadonlyArray<string>): string => {
    const known = byContent.get(sql)
    if (known !== undefined) return known
    const name = `${prefix}${ctes.size}`
    ctes.set(name, { name, sql, deps, order: ctes.size })
    byContent.set(sql, name)
    return name
  }
  const depsOf = (terms: ReadonlyArray<Term>) => [...new Set(terms.flatMap((t) => t.ctes))]

  // ---------------------------------------------------------------- roots
  /**
   * The keyed hash a table is sampled (and its fan-out and row limit ordered) by: of its primary
   * key, or of `columns`, a child's key referencing that primary key, so a child tests exactly its
   * parent's expression. A single integer column goes through `hashint8extended` as bigint (both
   * sides cast, so smallint, integer and bigint keys hash alike): on 2M rows it took about half the
   * CPU of hashing the key's text, which every other key still is (a table without a primary key
   * by its whole row).
   */
  const hashOf = (table: Table, alias: string, columns?: ReadonlyArray<string>) => {
    const primary = table.primaryKey?.columns ?? []
    const key = columns ?? primary
    // `(x.*)`, not `x`: a column named like the alias would be taken for the whole row.
    if (key.length === 0) return `hashtextextended((${alias}.*)::text, ${rules.seed})`
    const integer = primary.length === 1 && isInteger(table.columns.find((c) => c.name === primary[0]))
    if (integer && key.length === 1) return `hashint8extended(${alias}.${quoteIdent(key[0]!)}::bigint, ${rules.seed})`
    const text = key.length === 1 ? `${alias}.${quoteIdent(key[0]!)}::text` : `ROW(${columnsOf(alias, key)})::text`
    return `hashtextextended(${text}, ${rules.seed})`
  }
  /** The rows of `rowsOf` (as `alias`) whose key (`columns`, else its primary key) falls in `hashed`'s sample. */
  const sampled = (hashed: Table, rowsOf: Table, alias: string, fraction: number, columns?: ReadonlyArray<string>) =>
    options.sampleAsTidBelow === undefined
      ? `(${hashOf(hashed, alias, columns)} & 4294967295) < ${Math.round(fraction * 4294967296)}`
      : `${alias}.ctid < '${options.sampleAsTidBelow(rowsOf, fraction)}'::tid`
  // One instant for every query: each reader's now() is its own transaction's start, not the
  // snapshot's, so `prepareSubset` fixes an unset `until` to the snapshot session's clock first.
  const until = rules.dateRange?.until === undefined ? "now()" : `${quoteLiteral(rules.dateRange.until)}::timestamptz`

  interface RootRule {
    readonly role: SubsetRole
    readonly terms: ReadonlyArray<Term>
    readonly sampleFraction: number | undefined
  }
  const rootRules = new Map<Table, RootRule>()
  const rootOf = (table: Table): RootRule => {
    const known = rootRules.get(table)
    if (known !== undefined) return known
    const made = ((): RootRule => {
      if (isExcluded(table)) return { role: "excluded", terms: [], sampleFraction: undefined }
      if (isCritical(table)) return { role: "critical", terms: [{ sql: () => "true", ctes: [] }], sampleFraction: undefined }
      const rule = rules.tableRules.get(table)
      const isRoot = rules.roots === undefined || rules.roots.has(table) || rule?.where !== undefined
      if (!isRoot) return { role: "related", terms: [], sampleFraction: undefined }
      let condition: ((alias: string) => string) | undefined
      let fraction: number | undefined
      const dateColumn = rule?.dateColumn ?? rules.dateRange?.column
      const hasDate = dateColumn !== undefined && rules.dateRange !== undefined && table.columns.some((c) => c.name === dateColumn)
      if (rule?.where !== undefined) {
        // Unqualified: the table is the only FROM item wherever a root predicate is placed.
        const where = rule.where
        condition = () => `(${where})`
      } else if (hasDate && rules.strategy !== "percentage") {
        const days = rules.dateRange!.days
        condition = (a) => `${a}.${quoteIdent(dateColumn)} > ${until} - interval '${days} days' AND ${a}.${quoteIdent(dateColumn)} <= ${until}`
      } else if (rules.strategy !== "date_range" || rule?.samplePercentage !== undefined) {
        fraction = rule?.samplePercentage ?? rules.samplePercentage
        if (fraction !== undefined) {
          const f = fraction
          condition = (a) => sampled(table, table, a, f)
        }
      }
      if (condition === undefined) return { role: "related", terms: [], sampleFraction: undefined }
      if (rules.rowLimit !== undefined) {
        const inner = condition
        const limit = rules.rowLimit
        return {
          role: "root",
          terms: [{ sql: (a) => `${a}.ctid IN (SELECT l.ctid FROM ONLY ${nameOf(table)} l WHERE ${inner("l")} ORDER BY ${hashOf(table, "l")}, l.ctid LIMIT ${limit})`, ctes: [] }],
          sampleFraction: fraction
        }
      }
      const term: Term = fraction !== undefined && table.primaryKey !== null ? { sql: condition, ctes: [], hashSample: fraction } : { sql: condition, ctes: [] }
      return { role: "root", terms: [term], sampleFraction: fraction }
    })()
    rootRules.set(table, made)
    return made
  }

  // ---------------------------------------------------------------- downward (cascade) levels
  /**
   * The type a cycle's slot of this column is NULL as in the other tables' rows: a domain's base
   * type, since a NOT NULL domain refuses the NULL (the UNION's column is the base type anyway).
   */
  const slotType = (column: Column): string => domainsOf(catalog, column).at(-1)?.baseType ?? column.type
  const typeOf = (table: Table, column: string): Column | undefined => table.columns.find((c) => c.name === column)
  /**
   * A child can test its key's hash itself when the parent is sampled by the hash of exactly that
   * key, of the same type, and equal keys hash alike: integers (hashed as bigint), or a type whose
   * equal values print the same text under the default collation (not numeric: 2 = 2.00).
   */
  const pushable = (edge: SubsetEdge) =>
    !edge.virtual &&
    edge.validated &&
    edge.parent.primaryKey !== null &&
    edge.parent.primaryKey.columns.join(",") === edge.parentColumns.join(",") &&
    edge.childColumns.every((c, i) => {
      const [child, parent] = [typeOf(edge.child, c), typeOf(edge.parent, edge.parentColumns[i]!)]
      return child?.type === parent?.type && hashesAlike(child) && hashesAlike(parent)
    })
  const cascades = (edge: SubsetEdge) =>
    rules.cascade && !isCritical(edge.child) && !isExcluded(edge.child) && !isCritical(edge.parent) && !isExcluded(edge.parent)
  const edgesByChild = new Map<Table, Array<SubsetEdge>>()
  const edgesByParent = new Map<Table, Array<SubsetEdge>>()
  for (const edge of edges) {
    edgesByChild.set(edge.child, [...(edgesByChild.get(edge.child) ?? []), edge])
    edgesByParent.set(edge.parent, [...(edgesByParent.get(edge.parent) ?? []), edge])
  }
  const levels = new Map<string, ReadonlyArray<Term>>()
  const down = (table: Table, level: number): ReadonlyArray<Term> => {
    const key = `${index.get(table)}:${level}`
    const known = levels.get(key)
    if (known !== undefined) return known
    const terms: Array<Term> = [...rootOf(table).terms]
    if (level > 0) {
      /** Keys (by their first edge) whose hash test this level already has. */
      const pushed = new Set<number>()
      for (const edge of edgesByChild.get(table) ?? []) {
        if (!cascades(edge)) continue
        const above = down(edge.parent, level - 1)
        if (above.length === 0) continue
        const only = above.length === 1 ? above[0]! : undefined
        const cap = edge.maxChildrenPerParent
        // The hash test picks the children of every partition's sampled rows: only when each
        // partition the key references is sampled alike, and the test is in once for the key.
        const f = only?.hashSample
        const alike = (id: number) => {
          const sibling = edges[id]!
          const siblingTerms = cascades(sibling) ? down(sibling.parent, level - 1) : []
          return siblingTerms.length === 1 && siblingTerms[0]!.hashSample === f
        }
        if (cap === undefined && f !== undefined && pushable(edge) && edge.siblings.every(alike)) {
          if (pushed.has(edge.siblings[0]!)) continue
          pushed.add(edge.siblings[0]!)
          // A key with a NULL part references nothing (MATCH SIMPLE); ROW(NULL, 1)::text hashes all the same.
          const complete = (a: string) => (edge.childColumns.length > 1 ? `${allNotNull(a, edge.childColumns)} AND ` : "")
          terms.push({ sql: (a) => `${complete(a)}${sampled(edge.parent, table, a, f, edge.childColumns)}`, ctes: [], viaEdges: edge.siblings })
          continue
        }
        const parentSet = cte(
          "d",
          `SELECT ${columnsOf("y", edge.parentColumns)} FROM ONLY ${nameOf(edge.parent)} y WHERE ${or(above, "y")}`,
          depsOf(above)
        )
        if (cap === undefined) {
          terms.push({ sql: (a) => `${tuple(a, edge.childColumns)} IN (SELECT * FROM ${parentSet})`, ctes: [parentSet], viaEdges: [edge.id] })
        } else {
          const capped = cte(
            "f",
            `SELECT r.ctid FROM (SELECT z.ctid, row_number() OVER (PARTITION BY ${columnsOf("z", edge.childColumns)} ORDER BY ${hashOf(table, "z")}, z.ctid) AS rn FROM ONLY ${nameOf(table)} z WHERE ${tuple("z", edge.childColumns)} IN (SELECT * FROM ${parentSet})) r WHERE r.rn <= ${cap}`,
            [parentSet]
          )
          terms.push({ sql: (a) => `${a}.ctid IN (SELECT * FROM ${capped})`, ctes: [capped], viaEdges: [edge.id] })
        }
      }
    }
    levels.set(key, terms)
    return terms
  }
  const downward = (table: Table) => down(table, rules.cascade ? rules.maxCascadeDepth : 0)

  // ---------------------------------------------------------------- upward closure
  const followsUp = (edge: SubsetEdge) => !edge.nullify && !isCritical(edge.parent) && !isExcluded(edge.parent)
  const upEdges = edges.filter(followsUp)
  const upByChild = new Map<Table, Array<SubsetEdge>>()
  for (const edge of upEdges) upByChild.set(edge.child, [...(upByChild.get(edge.child) ?? []), edge])

  // Tarjan over child -> parent: components come out parents first.
  const components: Array<Array<Table>> = []
  {
    const order = new Map<Table, number>()
    const low = new Map<Table, number>()
    const stack: Array<Table> = []
    const onStack = new Set<Table>()
    const visit = (table: Table) => {
      order.set(table, order.size)
      low.set(table, order.get(table)!)
      stack.push(table)
      onStack.add(table)
      for (const edge of upByChild.get(table) ?? []) {
        if (!order.has(edge.parent)) {
          visit(edge.parent)
          low.set(table, Math.min(low.get(table)!, low.get(edge.parent)!))
        } else if (onStack.has(edge.parent)) low.set(table, Math.min(low.get(table)!, order.get(edge.parent)!))
      }
      if (low.get(table) === order.get(table)) {
        const component: Array<Table> = []
        for (;;) {
          const member = stack.pop()!
          onStack.delete(member)
          component.push(member)
          if (member === table) break
        }
        components.push(component.sort((a, b) => index.get(a)! - index.get(b)!))
      }
    }
    for (const table of leaves) if (!order.has(table) && !isExcluded(table)) visit(table)
  }

  const selected = new Map<Table, ReadonlyArray<Term>>()
  /** The child's key values over this edge of its selected rows (less those cascaded through it). */
  const upSets = new Map<number, string | undefined>()
  const upSet = (edge: SubsetEdge): string | undefined => {
    if (upSets.has(edge.id)) return upSets.get(edge.id)
    const terms = (selected.get(edge.child) ?? []).filter((t) => !(t.viaEdges ?? []).includes(edge.id))
    const name = terms.length === 0
      ? undefined
      : cte("u", `SELECT ${columnsOf("z", edge.childColumns)} FROM ONLY ${nameOf(edge.child)} z WHERE (${or(terms, "z")}) AND ${allNotNull("z", edge.childColumns)}`, depsOf(terms))
    upSets.set(edge.id, name)
    return name
  }
  const incomingUp = (table: Table, from: (edge: SubsetEdge) => boolean): Array<Term> =>
    (edgesByParent.get(table) ?? []).filter((e) => followsUp(e) && from(e)).flatMap((edge) => {
      const set = upSet(edge)
      return set === undefined ? [] : [{ sql: (a: string) => `${tuple(a, edge.parentColumns)} IN (SELECT * FROM ${set})`, ctes: [set] }]
    })

  const cycles: Array<Array<string>> = []
  for (const component of [...components].reverse()) {
    const members = new Set(component)
    const intra = upEdges.filter((e) => members.has(e.child) && members.has(e.parent))
    if (intra.length === 0) {
      const table = component[0]!
      selected.set(table, isCritical(table) ? rootOf(table).terms : [...downward(table), ...incomingUp(table, () => true)])
      continue
    }
    cycles.push(component.map(label))
    // One recursive CTE for the whole component: (tag, rid, key columns of each intra edge).
    const slots = intra.flatMap((edge) => edge.childColumns.map((column, i) => ({ edge, column, name: `k${edge.id}_${i}`, type: slotType(typeOf(edge.child, column)!) })))
    const slotList = (table: Table, alias: string) =>
      slots.map((s) => (s.edge.child === table ? `${alias}.${quoteIdent(s.column)}` : `NULL::${s.type}`)).join(", ")
    const seeds: Array<string> = []
    const seedDeps: Array<string> = []
    for (const table of component) {
      const terms = [...downward(table), ...incomingUp(table, (e) => !members.has(e.child))]
      if (terms.length === 0) continue
      seedDeps.push(...depsOf(terms))
      seeds.push(`SELECT ${index.get(table)}::int AS tag, x.ctid AS rid, ${slotList(table, "x")} FROM ONLY ${nameOf(table)} x WHERE ${or(terms, "x")}`)
    }
    if (seeds.length === 0) {
      for (const table of component) selected.set(table, [])
      continue
    }
    const name = `c${ctes.size}`
    const steps = intra.map((edge) => {
      const keys = slots.filter((s) => s.edge === edge).map((s) => `r.${s.name}`)
      const parentKey = tuple("y", edge.parentColumns)
      return `SELECT ${index.get(edge.parent)}::int, y.ctid, ${slotList(edge.parent, "y")} FROM ONLY ${nameOf(edge.parent)} y WHERE r.tag = ${index.get(edge.child)} AND ${parentKey} = ${keys.length === 1 ? keys[0] : `(${keys.join(", ")})`}`
    })
    const sql = `${seeds.join("\nUNION ")}\nUNION SELECT n.* FROM ${name} r CROSS JOIN LATERAL (${steps.join("\n UNION ALL ")}) n`
    ctes.set(name, { name: `${name}(tag, rid${slots.map((s) => `, ${s.name}`).join("")})`, sql, deps: [...new Set(seedDeps)], order: ctes.size })
    for (const table of component) {
      const tag = index.get(table)!
      selected.set(table, [{ sql: (a) => `${a}.ctid IN (SELECT rid FROM ${name} WHERE tag = ${tag})`, ctes: [name] }])
    }
  }

  // ---------------------------------------------------------------- the SELECT of each table
  const withClause = (names: ReadonlyArray<string>) => {
    const all = new Set<string>()
    const add = (name: string) => {
      if (all.has(name)) return
      all.add(name)
      for (const dep of ctes.get(name)!.deps) add(dep)
    }
    names.forEach(add)
    if (all.size === 0) return ""
    const list = [...all].map((n) => ctes.get(n)!).sort((a, b) => a.order - b.order)
    return `WITH RECURSIVE ${list.map((c) => `${c.name} AS (\n${c.sql}\n)`).join(",\n")}\n`
  }
  const plans = new Map<Table, SubsetTablePlan>()
  for (const table of leaves) {
    const root = rootOf(table)
    const terms = isExcluded(table) ? [] : (selected.get(table) ?? [])
    const used = depsOf(terms)
    const nulled: Array<string> = []
    const columns = copyableColumns(table).map((column) => {
      const conditions: Array<string> = []
      let always = false
      // One condition per key: its value is kept when the parent row is selected in any of the
      // tables the key's edges reference (one, or each partition of a partitioned parent).
      const keys = new Map<number, Array<SubsetEdge>>()
      for (const edge of edgesByChild.get(table) ?? []) {
        if (!edge.nullify || !edge.childColumns.includes(column.name)) continue
        keys.set(edge.siblings[0]!, [...(keys.get(edge.siblings[0]!) ?? []), edge])
      }
      for (const keyEdges of keys.values()) {
        const { childColumns } = keyEdges[0]!
        // A key with a NULL part references nothing (MATCH SIMPLE), so it is kept as it is.
        const anyNull = childColumns.map((c) => `x.${quoteIdent(c)} IS NULL`).join(" OR ")
        const found = keyEdges.flatMap((edge) => {
          const parentTerms = isExcluded(edge.parent) ? [] : (selected.get(edge.parent) ?? [])
          if (parentTerms.length === 0) return []
          const set = cte("s", `SELECT ${columnsOf("y", edge.parentColumns)} FROM ONLY ${nameOf(edge.parent)} y WHERE ${or(parentTerms, "y")}`, depsOf(parentTerms))
          used.push(set)
          return [`${tuple("x", childColumns)} IN (SELECT * FROM ${set})`]
        })
        if (found.length === 0) {
          if (childColumns.length === 1) always = true
          else conditions.push(anyNull)
          continue
        }
        conditions.push([anyNull, ...found].join(" OR "))
      }
      const plain = `x.${quoteIdent(column.name)}`
      if (!always && conditions.length === 0) return plain
      nulled.push(column.name)
      if (always) return `NULL::${column.type} AS ${quoteIdent(column.name)}`
      return `CASE WHEN ${conditions.map((c) => `(${c})`).join(" AND ")} THEN ${plain} END AS ${quoteIdent(column.name)}`
    })
    const where = isCritical(table) ? "" : ` WHERE ${or(terms, "x")}`
    const select = `${withClause(used)}SELECT ${columns.join(", ")} FROM ONLY ${nameOf(table)} x${where}`
    const onlyRoots = root.role === "root" && terms.length === root.terms.length && terms.every((t, i) => t === root.terms[i])
    plans.set(table, {
      table,
      label: label(table),
      role: root.role,
      select,
      rootCountSql:
        root.role === "root"
          ? `SELECT count(*)::bigint AS total, count(*) FILTER (WHERE ${or(root.terms, "x")})::bigint AS roots FROM ONLY ${nameOf(table)} x`
          : undefined,
      rowCountSql: root.role === "root" ? `SELECT count(*)::bigint AS total FROM ONLY ${nameOf(table)}` : undefined,
      selectsOnlyRoots: onlyRoots,
      sampleFraction: root.role === "root" && rules.rowLimit === undefined ? root.sampleFraction : undefined,
      nulledColumns: nulled
    })
  }
  const ordered = [...components.flat(), ...leaves.filter((t) => isExcluded(t))]
  return { tables: ordered.map((t) => plans.get(t)!), edges, cycles }
}
