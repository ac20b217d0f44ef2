/**
 * Data-aware drift: some changes are breaking only if TARGET's rows disagree with them. For those
 * findings this module asks TARGET (read-only, one aggregate query per finding) and decides:
 *
 * | rule | query on TARGET | rows disagree → | rows agree → |
 * |---|---|---|---|
 * | not-null-added | NULLs in the column | breaking (`nulls`) | hazard: SET NOT NULL still scans under ACCESS EXCLUSIVE |
 * | unique-added/-changed, unique-index-added, primary-key-added/-changed | duplicate key groups (and NULLs for a key) | breaking (`duplicates`, `nulls`) | hazard: the index build locks writes |
 * | check-added/-changed | rows where `NOT (expr)` (NULL passes, as in a CHECK) | breaking (`violations`) | hazard: validation scans |
 * | foreign-key-added/-changed | orphans by anti-join, MATCH SIMPLE/FULL NULL rules | breaking (`orphans`) | hazard: use NOT VALID + VALIDATE |
 * | enum-value-removed/-renamed | rows of every column of the enum (or arrays of it) holding it | breaking (`rows`) | hazard: the type must still be recreated |
 * | column-type-narrowed | values that are not valid input of the new type (`pg_input_is_valid`, PostgreSQL 16+) | breaking (`values`) | hazard: the change rewrites the table |
 * | domain-constraint-added/-changed, domain-not-null-added | values in every column of the domain failing the check, or NULL (a column that is an array of the domain makes ALTER DOMAIN fail outright) | breaking (`values`, `arrayColumns`) | hazard: the check scans every such column |
 * | exclusion-added/-changed | pairs of rows that conflict (self-join on the constraint's plain-column elements; only with an `=` element or under 50,000 rows, as a pure overlap join is quadratic) | breaking (`conflicts`) | hazard: the index build locks writes |
 *
 * Agreeing data gives hazard rather than info: the data can change before the deployment, and the
 * change still takes locks. A finding whose table or column does not exist on TARGET (a renamed
 * table, a new column) keeps its severity, with `details.checked = false`.
 *
 * Besides refining, it adds `drift/sequence-behind-column` (breaking) for every TARGET sequence
 * that feeds a column (OWNED BY or `nextval` default) of a table SOURCE also has, when the next
 * value would be at or below the column's max: inserts would then fail with duplicate keys.
 */
import * as Effect from "effect/Effect"
import { quoteIdent, quoteLiteral, tableKey, type Catalog, type Column, type Table } from "./catalog.ts"
import type { HarnessError } from "./errors.ts"
import { finding, type Finding, type Severity } from "./findings.ts"
import { DRIFT_RULES, driftRule, driftRuleName, sortFindings, type DriftOptions } from "./schema-diff.ts"
import { matchesGlob, matchesTableGlob } from "./glob.ts"

type Query = (sql: string) => Effect.Effect<ReadonlyArray<Record<string, unknown>>, HarnessError>

interface Verdict {
  readonly breaking: boolean
  readonly details: Readonly<Record<string, unknown>>
  readonly message: string
}

const count = (value: unknown): number => Number(String(value ?? 0))

/** One row of counts: `SELECT (<sql a>)::text AS a, ...`. */
const counts = (query: Query, parts: Readonly<Record<string, string>>) =>
  query(`SELECT ${Object.entries(parts).map(([name, sql]) => `(${sql})::text AS ${quoteIdent(name)}`).join(", ")}`).pipe(
    Effect.map((rows) => Object.fromEntries(Object.keys(parts).map((name) => [name, count(rows[0]?.[name])])))
  )

/** A constraint's or index's key: a plain column of the table is quoted, anything else is an expression. */
const keySql = (table: Table, key: string) => (table.columns.some((c) => c.name === key) ? quoteIdent(key) : `(${key})`)

const columnList = (definition: string): Array<string> => {
  const match = /\(([^()]*)\)/.exec(definition.replace(/^.*?(UNIQUE|PRIMARY KEY)(\s+NULLS NOT DISTINCT)?\s*/, ""))
  return (match?.[1] ?? "").split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1").replaceAll('""', '"')).filter((c) => c !== "")
}

/** Rows a self-join for an exclusion constraint without an equality element may read before it is too slow. */
const EXCLUSION_JOIN_LIMIT = 50_000

/** Split `a, f(b, c), d` at top-level commas. */
const splitTopLevel = (text: string): Array<string> => {
  const parts: Array<string> = []
  let depth = 0
  let quote: string | null = null
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quote !== null) {
      if (ch === quote) quote = null
    } else if (ch === "'" || ch === '"') quote = ch
    else if (ch === "(") depth++
    else if (ch === ")") depth--
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i).trim())
      start = i + 1
    }
  }
  parts.push(text.slice(start).trim())
  return parts.filter((p) => p !== "")
}

/** `EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (x)` → elements and predicate. */
const parseExclusion = (definition: string) => {
  const open = definition.indexOf("(")
  if (!definition.startsWith("EXCLUDE") || open < 0) return undefined
  let depth = 0
  let close = -1
  for (let i = open; i < definition.length; i++) {
    if (definition[i] === "(") depth++
    else if (definition[i] === ")" && --depth === 0) {
      close = i
      break
    }
  }
  if (close < 0) return undefined
  const elements = splitTopLevel(definition.slice(open + 1, close)).map((part) => {
    const match = /^(.*)\s+WITH\s+(\S+)$/.exec(part)
    return match === null ? undefined : { expression: (match[1] ?? "").trim(), operator: match[2] ?? "" }
  })
  const predicate = /\bWHERE\s+(.*)$/.exec(definition.slice(close + 1).replace(/\s+(DEFERRABLE|INITIALLY|NOT VALID).*$/, ""))?.[1]
  return elements.every((e) => e !== undefined) ? { elements: elements as Array<{ expression: string; operator: string }>, predicate } : undefined
}

/** A deparsed identifier (bare or double-quoted) as a column name, or undefined for an expression. */
const plainColumn = (table: Table, text: string): string | undefined => {
  const name = /^"(.*)"$/.test(text) ? text.slice(1, -1).replaceAll('""', '"') : text
  return table.columns.some((c) => c.name === name) ? name : undefined
}

/** Replace the domain check's `VALUE` keyword (outside literals and quoted names) with `replacement`. */
const substituteValue = (expression: string, replacement: string): string => {
  let out = ""
  let i = 0
  while (i < expression.length) {
    const ch = expression[i] as string
    if (ch === "'" || ch === '"') {
      const end = expression.indexOf(ch, i + 1)
      const stop = end < 0 ? expression.length : end + 1
      out += expression.slice(i, stop)
      i = stop
      continue
    }
    if (expression.startsWith("VALUE", i) && !/[\w$]/.test(expression[i - 1] ?? "") && !/[\w$]/.test(expression[i + 5] ?? "")) {
      out += replacement
      i += 5
      continue
    }
    out += ch
    i++
  }
  return out
}

const checkExpression = (definition: string) => definition.replace(/^CHECK\s*/, "").replace(/\s+NO INHERIT/, "").replace(/\s+NOT VALID$/, "")

export const applyDataChecks = (
  findings: ReadonlyArray<Finding>,
  source: Catalog,
  target: Catalog,
  query: Query,
  options?: Pick<DriftOptions, "exclude">
): Effect.Effect<ReadonlyArray<Finding>, HarnessError> =>
  Effect.gen(function* () {
    const targetTable = (schema: string | undefined, name: string | undefined) =>
      target.tables.find((t) => t.schema === schema && t.name === name)
    const sourceTable = (schema: string | undefined, name: string | undefined) =>
      source.tables.find((t) => t.schema === schema && t.name === name)
    const hasColumns = (table: Table, columns: ReadonlyArray<string>) => columns.every((c) => table.columns.some((x) => x.name === c))

    const decide = (f: Finding): Effect.Effect<Verdict | undefined, HarnessError> => {
      const rule = driftRuleName(f.rule)
      const t = targetTable(f.object.schema, f.object.table)
      const s = sourceTable(f.object.schema, f.object.table)
      switch (rule) {
        case "not-null-added": {
          if (t === undefined || f.object.column === undefined || !hasColumns(t, [f.object.column])) return Effect.succeed(undefined)
          const column = quoteIdent(f.object.column)
          return counts(query, { nulls: `SELECT count(*) FROM ${tableKey(t.schema, t.name)} WHERE ${column} IS NULL` }).pipe(
            Effect.map(({ nulls = 0 }) => ({ breaking: nulls > 0, details: { nulls }, message: `${nulls} row(s) hold NULL` }))
          )
        }
        case "unique-added":
        case "unique-changed":
        case "primary-key-added":
        case "primary-key-changed":
        case "unique-index-added": {
          if (t === undefined || s === undefined || f.after === null) return Effect.succeed(undefined)
          const index = rule === "unique-index-added" ? s.indexes.find((i) => i.name === f.object.name) : undefined
          const keys = index !== undefined ? [...index.keys] : columnList(f.after)
          const plainKeys = keys.filter((k) => s.columns.some((c) => c.name === k))
          if (keys.length === 0 || !hasColumns(t, plainKeys)) return Effect.succeed(undefined)
          const isKey = rule.startsWith("primary-key")
          const nullsDistinct = !/NULLS NOT DISTINCT/.test(f.after)
          const keyList = keys.map((k) => keySql(t, k)).join(", ")
          const conditions = [
            ...(nullsDistinct ? keys.map((k) => `${keySql(t, k)} IS NOT NULL`) : []),
            ...(index?.predicate ? [`(${index.predicate})`] : [])
          ]
          const where = conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`
          const from = tableKey(t.schema, t.name)
          const parts: Record<string, string> = {
            duplicates: `SELECT count(*) FROM (SELECT 1 FROM ${from}${where} GROUP BY ${keyList} HAVING count(*) > 1) d`
          }
          if (isKey) parts["nulls"] = `SELECT count(*) FROM ${from} WHERE ${keys.map((k) => `${keySql(t, k)} IS NULL`).join(" OR ")}`
          return counts(query, parts).pipe(
            Effect.map(({ duplicates = 0, nulls = 0 }) => ({
              breaking: duplicates > 0 || nulls > 0,
              details: isKey ? { duplicates, nulls } : { duplicates },
              message: `${duplicates} duplicate key group(s)${isKey ? `, ${nulls} row(s) with a NULL key` : ""}`
            }))
          )
        }
        case "check-added":
        case "check-changed": {
          if (t === undefined || s === undefined || f.after === null) return Effect.succeed(undefined)
          const constraint = s.checkConstraints.find((c) => c.name === f.object.name)
          if (constraint === undefined || !hasColumns(t, constraint.columns)) return Effect.succeed(undefined)
          return counts(query, {
            violations: `SELECT count(*) FROM ${tableKey(t.schema, t.name)} WHERE NOT (${checkExpression(constraint.definition)})`
          }).pipe(Effect.map(({ violations = 0 }) => ({ breaking: violations > 0, details: { violations }, message: `${violations} row(s) violate it` })))
        }
        case "foreign-key-added":
        case "foreign-key-changed": {
          const fk = s?.foreignKeys.find((k) => k.name === f.object.name)
          if (t === undefined || fk === undefined || !hasColumns(t, fk.columns)) return Effect.succeed(undefined)
          const child = fk.columns.map((c) => `c.${quoteIdent(c)}`)
          const allSet = child.map((c) => `${c} IS NOT NULL`).join(" AND ")
          // MATCH SIMPLE: a row with any NULL key column is not checked. MATCH FULL: all NULL is fine, some NULL is a violation.
          const anySet = child.map((c) => `${c} IS NOT NULL`).join(" OR ")
          const parent = targetTable(fk.references.schema, fk.references.table)
          const missing =
            parent !== undefined && hasColumns(parent, fk.references.columns)
              ? `NOT EXISTS (SELECT 1 FROM ${tableKey(parent.schema, parent.name)} p WHERE ${fk.references.columns
                  .map((r, i) => `p.${quoteIdent(r)} = ${child[i]}`)
                  .join(" AND ")})`
              : "true" // the parent is new on TARGET, so empty when the key is added
          const where = fk.match === "full" ? `(${anySet}) AND (NOT (${allSet}) OR ${missing})` : `${allSet} AND ${missing}`
          return counts(query, { orphans: `SELECT count(*) FROM ${tableKey(t.schema, t.name)} c WHERE ${where}` }).pipe(
            Effect.map(({ orphans = 0 }) => ({ breaking: orphans > 0, details: { orphans }, message: `${orphans} orphan row(s)` }))
          )
        }
        case "enum-value-removed":
        case "enum-value-renamed": {
          const [schema, name, value] = [f.object.schema ?? "", f.before === null ? "" : (f.object.name ?? "").slice(0, -(f.before.length + 1)), f.before]
          if (value === null) return Effect.succeed(undefined)
          const uses = (c: Column) =>
            (c.typeSchema === schema && c.typeName === name) || (c.elementType?.schema === schema && c.elementType.name === name)
          const literal = quoteLiteral(value)
          const columns = target.tables
            .filter((table) => table.relkind === "r")
            .flatMap((table) => table.columns.filter(uses).map((c) => ({ table, column: c })))
          if (columns.length === 0) return Effect.succeed({ breaking: false, details: { rows: 0 }, message: "no column uses the enum" })
          const sql = columns
            .map(({ table, column }) =>
              `SELECT count(*) FROM ${tableKey(table.schema, table.name)} WHERE ${column.isArray ? `${literal}::text = ANY (${quoteIdent(column.name)}::text[])` : `${quoteIdent(column.name)}::text = ${literal}`}`
            )
            .map((part) => `(${part})`)
            .join(" + ")
          return counts(query, { rows: sql }).pipe(
            Effect.map(({ rows = 0 }) => ({ breaking: rows > 0, details: { rows }, message: `${rows} row(s) hold '${value}'` }))
          )
        }
        case "column-type-narrowed": {
          const column = f.object.column
          if (t === undefined || column === undefined || f.after === null || !hasColumns(t, [column]) || target.serverVersion < 160000) {
            return Effect.succeed(undefined)
          }
          const type = quoteLiteral(f.after)
          return counts(query, {
            values: `SELECT count(*) FROM ${tableKey(t.schema, t.name)} WHERE ${quoteIdent(column)} IS NOT NULL AND NOT pg_input_is_valid(${quoteIdent(column)}::text, ${type})`
          }).pipe(Effect.map(({ values = 0 }) => ({ breaking: values > 0, details: { values }, message: `${values} value(s) do not fit ${f.after}` })))
        }
        case "domain-constraint-added":
        case "domain-constraint-changed":
        case "domain-not-null-added": {
          const schema = f.object.schema ?? ""
          const domain = source.domains.find(
            (d) => d.schema === schema && (f.object.name === d.name || (f.object.name ?? "").startsWith(`${d.name}.`))
          )
          if (domain === undefined) return Effect.succeed(undefined)
          const constraint =
            rule === "domain-not-null-added" ? undefined : domain.constraints.find((c) => f.object.name === `${domain.name}.${c.name}`)
          if (rule !== "domain-not-null-added" && constraint === undefined) return Effect.succeed(undefined)
          const fails = (value: string) =>
            constraint === undefined ? `${value} IS NULL` : `NOT (${substituteValue(checkExpression(constraint.definition), value)})`
          const uses = target.tables
            .filter((table) => table.relkind === "r")
            .flatMap((table) =>
              table.columns
                .filter((c) => (c.typeSchema === schema && c.typeName === domain.name) || (c.elementType?.schema === schema && c.elementType.name === domain.name))
                .map((c) => ({ table, column: c }))
            )
          if (uses.length === 0) return Effect.succeed({ breaking: false, details: { values: 0 }, message: "no column uses the domain" })
          // PostgreSQL cannot check arrays of a domain: ALTER DOMAIN then fails whatever the data.
          const arrays = uses.filter(({ column }) => column.isArray).map(({ table, column }) => `${table.schema}.${table.name}.${column.name}`)
          if (arrays.length > 0) {
            return Effect.succeed({
              breaking: true,
              details: { arrayColumns: arrays },
              message: `ALTER DOMAIN fails while ${arrays.join(", ")} is an array of the domain`
            })
          }
          const sql = uses.map(({ table, column }) => `(SELECT count(*) FROM ${tableKey(table.schema, table.name)} WHERE ${fails(quoteIdent(column.name))})`).join(" + ")
          return counts(query, { values: sql }).pipe(
            Effect.map(({ values = 0 }) => ({
              breaking: values > 0,
              details: { values },
              message: `${values} value(s) in ${uses.length} column(s) of the domain ${constraint === undefined ? "are NULL" : "fail the check"}`
            }))
          )
        }
        case "exclusion-added":
        case "exclusion-changed": {
          const constraint = s?.exclusionConstraints.find((c) => c.name === f.object.name)
          const parsed = constraint === undefined ? undefined : parseExclusion(constraint.definition)
          if (t === undefined || parsed === undefined) return Effect.succeed(undefined)
          const columns = parsed.elements.map((e) => plainColumn(t, e.expression))
          const hasEquality = parsed.elements.some((e) => e.operator === "=")
          if (columns.some((c) => c === undefined) || (!hasEquality && t.rowEstimate > EXCLUSION_JOIN_LIMIT)) return Effect.succeed(undefined)
          const side = `(SELECT ctid AS row_id, ${columns.map((c) => quoteIdent(c as string)).join(", ")} FROM ${tableKey(t.schema, t.name)}${parsed.predicate === undefined ? "" : ` WHERE ${parsed.predicate}`})`
          const on = parsed.elements.map((e, i) => `a.${quoteIdent(columns[i] as string)} ${e.operator} b.${quoteIdent(columns[i] as string)}`).join(" AND ")
          return counts(query, { conflicts: `SELECT count(*) FROM ${side} a JOIN ${side} b ON a.row_id < b.row_id AND ${on}` }).pipe(
            Effect.map(({ conflicts = 0 }) => ({ breaking: conflicts > 0, details: { conflicts }, message: `${conflicts} pair(s) of rows conflict` }))
          )
        }
        default:
          return Effect.succeed(undefined)
      }
    }

    const refined = yield* Effect.forEach(findings, (f) =>
      decide(f).pipe(
        Effect.map((verdict): Finding => {
          if (verdict === undefined) return isDataAware(f.rule) ? { ...f, details: { ...f.details, checked: false } } : f
          const severity: Severity = verdict.breaking ? "breaking" : "hazard"
          return {
            ...f,
            severity,
            message: `${f.message}: ${verdict.message} on the target`,
            details: { ...f.details, checked: true, ...verdict.details }
          }
        })
      )
    )
    const behind = yield* sequencesBehind(source, target, query, options?.exclude ?? [])
    return sortFindings([...refined, ...behind])
  })

const DATA_AWARE = new Set<string>([
  "not-null-added",
  "unique-added",
  "unique-changed",
  "unique-index-added",
  "primary-key-added",
  "primary-key-changed",
  "check-added",
  "check-changed",
  "foreign-key-added",
  "foreign-key-changed",
  "enum-value-removed",
  "enum-value-renamed",
  "column-type-narrowed",
  "domain-constraint-added",
  "domain-constraint-changed",
  "domain-not-null-added",
  "exclusion-added",
  "exclusion-changed"
])

/** Does the data decide this rule id's severity? */
export const isDataAware = (rule: string): boolean => DATA_AWARE.has(driftRuleName(rule) ?? "")

const NEXTVAL = /^nextval\('(.+)'::regclass\)$/

/** `drift/sequence-behind-column` for every TARGET sequence whose next value is not above max(column). */
const sequencesBehind = (source: Catalog, target: Catalog, query: Query, exclude: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const excluded = (schema: string, name: string) =>
      exclude.some((p) => (!p.includes(".") && matchesGlob(p, schema)) || matchesTableGlob(p, schema, name))
    const sequenceByText = new Map(target.sequences.map((s) => [`${pgName(s.schema)}.${pgName(s.name)}`, s]))
    const uses = target.tables
      .filter((t) => t.partitionOf === null && !excluded(t.schema, t.name) && source.tables.some((s) => s.schema === t.schema && s.name === t.name))
      .flatMap((t) =>
        t.columns.flatMap((c) => {
          const fromDefault = c.default === null ? undefined : sequenceByText.get(NEXTVAL.exec(c.default)?.[1] ?? "")
          const owned = target.sequences.find(
            (s) => s.ownedBy !== null && s.ownedBy.schema === t.schema && s.ownedBy.table === t.name && s.ownedBy.column === c.name
          )
          const sequence = fromDefault ?? owned
          return sequence === undefined || BigInt(sequence.increment) <= 0n || !/^(smallint|integer|bigint)$/.test(c.type)
            ? []
            : [{ table: t, column: c, sequence }]
        })
      )
    if (uses.length === 0) return []
    const rows = yield* query(
      uses
        .map(
          ({ table, column, sequence }, i) =>
            `SELECT ${i} AS i, (SELECT CASE WHEN is_called THEN last_value + ${sequence.increment} ELSE last_value END FROM ${tableKey(sequence.schema, sequence.name)})::text AS next, (SELECT max(${quoteIdent(column.name)}) FROM ${tableKey(table.schema, table.name)})::text AS max`
        )
        .join(" UNION ALL ")
    )
    return rows.flatMap((row) => {
      const use = uses[Number(row["i"])]
      const [next, max] = [row["next"], row["max"]]
      if (use === undefined || typeof next !== "string" || typeof max !== "string" || BigInt(next) > BigInt(max)) return []
      const { table, column, sequence } = use
      const columnPath = `${table.schema}.${table.name}.${column.name}`
      return [
        finding({
          rule: driftRule("sequence-behind-column"),
          severity: DRIFT_RULES["sequence-behind-column"].severity,
          object: { kind: "sequence", schema: sequence.schema, name: sequence.name },
          before: `feeds ${columnPath}`,
          after: null,
          message: `sequence ${sequence.schema}.${sequence.name} would hand out ${next}, but max(${columnPath}) is ${max}: inserts collide`,
          hint: DRIFT_RULES["sequence-behind-column"].hint,
          details: { next, max, column: columnPath }
        })
      ]
    })
  })

/** An identifier as `regclass` output prints it: bare when plain lower case, quoted otherwise. */
const pgName = (name: string) => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name))
