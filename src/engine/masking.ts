/**
 * Masking for a propagate run, from rule file to stage: load the rules (a project file, or the
 * shipped baseline), build the plugin registry (built-ins handed in by the caller plus the plugin
 * files the rules name), resolve a rule for every column of the source, enforce privacy by default
 * (a column that looks personal and that no rule covers fails the run), and compile the stage.
 * Everything here happens before the first row moves.
 */
import * as Effect from "effect/Effect"
import { quoteIdent, tableKey, type Catalog, type Column, type Table } from "./catalog.ts"
import { badInput, type HarnessError } from "./errors.ts"
import { makeMaskContext } from "./mask-kit.ts"
import {
  loadMaskingRules,
  looksPersonal,
  originText,
  resolveColumnRules,
  resolveColumnRulesCollecting,
  type ColumnRule,
  type MaskingRules,
  type MaskStrategies
} from "./masking-rules.ts"
import { makeProofRecorder, type ProofRecorder } from "./masking-proof.ts"
import { planMasking, planMaskingCollecting, type MaskedColumnReport } from "./masking-stage.ts"
import type { MaskContext, Plugin } from "./plugin.ts"
import { instantiate, makeRegistry, type PluginRegistry } from "./plugin-host.ts"
import type { SourceQuery } from "./propagate.ts"
import type { Stage } from "./stage.ts"

export interface MaskingSetup {
  /** A rules file path or a shipped profile name (`baseline`, `gdpr_ccpa`, `hipaa`). */
  readonly rules: string
  /** Fail when a column looks personal and no rule covers it. */
  readonly privacyByDefault: boolean
  readonly builtins: ReadonlyArray<Plugin>
  /** DB_HARNESS_MASK_KEY's bytes; without it every run masks differently. */
  readonly key: Uint8Array | undefined
  readonly locale: string
  readonly home: string
  readonly cwd: string
}

export interface MaskingEvidence {
  readonly rulesFiles: ReadonlyArray<string>
  readonly rulesDigest: string
  readonly profile: string | null
  readonly keyed: boolean
  readonly columns: ReadonlyArray<MaskedColumnReport>
}

export interface PreparedMasking {
  readonly stage: Stage
  readonly evidence: MaskingEvidence
  readonly rules: ReadonlyArray<ColumnRule>
  /** The masking proof's samples, filled as rows are masked (masking-proof.ts). */
  readonly proof: ProofRecorder
}

const qualified = (schema: string, name: string) => `${schema}.${name}`

/** Is the column personal by its name (the rules' own patterns) or by its type? */
const personalSignal = (rules: MaskingRules, column: Column): string | undefined => {
  if (looksPersonal(rules, column.name)) return "its name"
  const type = column.type.replace(/\[\]$/, "")
  if (type === "inet" || type === "cidr") return "its type (IP address)"
  if (type === "macaddr" || type === "macaddr8") return "its type (MAC address)"
  return undefined
}

const TEXT_TYPES = /^(text|character varying|character|citext|json|jsonb)\b/
const SAMPLE_ROWS = 200
/** Value shapes that are personal whatever the column is called; validated, not just matched. */
const VALUE_SIGNALS: ReadonlyArray<readonly [string, (value: string) => boolean]> = [
  ["e-mail addresses in its values", (v) => /^[^\s@"]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/i.test(v.trim())],
  ["IP addresses in its values", (v) => /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(v.trim())]
]

/**
 * Columns whose sampled values look personal: at least half of the non-NULL values of a sample
 * have one shape. A first line of defence; the PII detectors go further.
 */
const sampleSignals = (query: SourceQuery, table: Table, columns: ReadonlyArray<Column>) =>
  Effect.gen(function* () {
    const list = columns.map((c) => `${quoteIdent(c.name)}::text AS ${quoteIdent(c.name)}`).join(", ")
    const rows = yield* query(`SELECT ${list} FROM ONLY ${tableKey(table.schema, table.name)} LIMIT ${SAMPLE_ROWS}`)
    const found = new Map<string, string>()
    for (const column of columns) {
      const values = rows.map((r) => r[column.name]).filter((v): v is string => typeof v === "string" && v !== "")
      if (values.length === 0) continue
      for (const [signal, test] of VALUE_SIGNALS) {
        if (values.filter(test).length * 2 >= values.length) {
          found.set(column.name, signal)
          break
        }
      }
    }
    return found
  })

/** A rule a user can paste into project_overrides for an uncovered column, fitting the signal. */
const suggestion = (table: Table, column: Column, signal: string) => {
  const strategy = /e-mail/.test(signal)
    ? `masking_strategy: "email"`
    : /IP|MAC/.test(signal)
      ? `masking_strategy: "null"`
      : `masking_strategy: "redact", value: "redacted"`
  const where = `table: "${qualified(table.schema, table.name)}", column: "${column.name}"`
  return `{ ${where}, ${strategy} } (or, if it is not personal, { ${where}, masking_strategy: "keep", reason: "..." })`
}

/** A column that looks personal and that no rule covers. */
export interface UncoveredColumn {
  readonly table: string
  readonly column: string
  /** Why it looks personal: `its name`, `e-mail addresses in its values`. */
  readonly signal: string
  /** A rule a user can paste into project_overrides. */
  readonly suggestion: string
}

/** What `rules check` reports: every decision, and every problem that would stop a masked run. */
export interface MaskingCheck {
  readonly rulesFiles: ReadonlyArray<string>
  readonly profile: string | null
  /** The rule of every column that has one (keep included), as the evidence would list it. */
  readonly columns: ReadonlyArray<MaskedColumnReport>
  /** The resolved rules, for their options (a keep's reason). */
  readonly rules: ReadonlyArray<ColumnRule>
  readonly uncovered: ReadonlyArray<UncoveredColumn>
  /** Empty when a propagate with these rules would pass every masking check. */
  readonly problems: ReadonlyArray<string>
}

const loadMasking = (setup: MaskingSetup) =>
  Effect.gen(function* () {
    const rules = yield* loadMaskingRules(setup.rules, { home: setup.home, cwd: setup.cwd })
    const registry = yield* makeRegistry(setup.builtins, rules.plugins)
    const masks = registry.names().flatMap((name) => (registry.get(name)?.kind === "mask" ? [name] : []))
    const plugins = masks.map((name) => registry.get(name)!)
    const context = makeMaskContext({ ...(setup.key ? { key: setup.key } : {}), locale: setup.locale, plugins })
    return { rules, registry, context, masks }
  })

/**
 * Load, resolve and compile. `strategiesOf` answers the rules loader's questions about a strategy
 * by making it in a throwaway context: the engine knows no strategy by name.
 */
export const prepareMasking = (setup: MaskingSetup) =>
  loadMasking(setup).pipe(
    Effect.map(({ rules, registry, context, masks }) => (catalog: Catalog, query?: SourceQuery) =>
      compileMasking(rules, registry, context, masks, catalog, setup.privacyByDefault, query, setup.key)
    )
  )

/**
 * For `rules check`: load, then per catalog run every check compile runs, collecting all problems
 * instead of failing at the first group, plus one: every rule's options are decoded, also those
 * of rules no column of this database matches. Rules that cannot be loaded still fail.
 */
export const prepareMaskingCheck = (setup: MaskingSetup) =>
  loadMasking(setup).pipe(
    Effect.map(({ rules, registry, context, masks }) => (catalog: Catalog, query?: SourceQuery) =>
      Effect.gen(function* () {
        const problems: Array<string> = []
        // Once per rule, so a bad option shows once however many columns the rule matches; planning
        // then leaves those rules out instead of repeating the error per column.
        const refused = new Set<string>()
        for (const rule of [...rules.overrides, ...rules.rules]) {
          const plugin = registry.get(rule.strategy)
          if (plugin === undefined || rule.strategy === "keep") continue // resolution reports unknown names and keep's reason
          const made = yield* Effect.result(instantiate(plugin, "mask", rule.options, context, originText(rule.origin)))
          if (made._tag === "Failure") {
            problems.push(made.failure.message)
            refused.add(`${rule.strategy}\u0000${JSON.stringify(rule.options)}`)
          }
        }
        const resolution = resolveColumnRulesCollecting(rules, catalog, strategiesOf(registry, context, masks))
        problems.push(...resolution.problems)
        const uncovered = yield* uncoveredColumns(rules, catalog, resolution.resolved, query)
        if (setup.privacyByDefault) problems.push(...uncovered.map((column) => `privacy by default: ${uncoveredText(column)}`))
        const plannable = resolution.resolved.filter(
          (rule) => masks.includes(rule.strategy) && !refused.has(`${rule.strategy}\u0000${JSON.stringify(rule.options)}`)
        )
        const plan = yield* planMaskingCollecting(catalog, plannable, registry, context)
        problems.push(...plan.problems)
        return {
          rulesFiles: rules.files,
          profile: rules.profile.name,
          columns: plan.columns,
          rules: resolution.resolved,
          uncovered,
          problems
        } satisfies MaskingCheck
      })
    )
  )

const strategiesOf = (registry: PluginRegistry, context: MaskContext, masks: ReadonlyArray<string>): MaskStrategies => ({
  has: (name) => masks.includes(name),
  names: masks,
  isDeterministic: (name, options) => {
    const plugin = registry.get(name)
    if (plugin === undefined) return false
    const made = Effect.runSync(Effect.result(instantiate(plugin, "mask", options, context, name)))
    return made._tag === "Success" && (made.success.pseudonymous ?? made.success.deterministic)
  }
})

/**
 * The columns the rules cover, plus every column that references a masked one through a foreign
 * key, down chains of keys: the masking stage gives those the key's mapping (a kept key's
 * references get nothing, so they are not covered by it).
 */
const coveredColumns = (catalog: Catalog, columnRules: ReadonlyArray<ColumnRule>): ReadonlySet<string> => {
  const covered = new Set(columnRules.map((r) => `${qualified(r.schema, r.table)}\u0000${r.column}`))
  const masked = new Set(columnRules.filter((r) => r.strategy !== "keep").map((r) => `${qualified(r.schema, r.table)}\u0000${r.column}`))
  for (let changed = true; changed; ) {
    changed = false
    for (const table of catalog.tables) {
      for (const fk of table.foreignKeys) {
        fk.columns.forEach((column, i) => {
          const child = `${qualified(table.schema, table.name)}\u0000${column}`
          const parent = `${qualified(fk.references.schema, fk.references.table)}\u0000${fk.references.columns[i]!}`
          if (!masked.has(parent) || masked.has(child)) return
          masked.add(child)
          covered.add(child)
          changed = true
        })
      }
    }
  }
  return covered
}

/** Columns of tables and partitioned parents that look personal (by name, type or sampled values) and that no rule covers. */
const uncoveredColumns = (rules: MaskingRules, catalog: Catalog, columnRules: ReadonlyArray<ColumnRule>, query: SourceQuery | undefined) =>
  Effect.gen(function* () {
    const covered = coveredColumns(catalog, columnRules)
    const uncovered: Array<UncoveredColumn> = []
    for (const table of catalog.tables) {
      if (table.partitionOf !== null) continue // partitions follow their parent's rules
      const open = table.columns.filter(
        (c) => c.generated === null && !covered.has(`${qualified(table.schema, table.name)}\u0000${c.name}`)
      )
      const signals = new Map<string, string>()
      for (const column of open) {
        const signal = personalSignal(rules, column)
        if (signal !== undefined) signals.set(column.name, signal)
      }
      const textual = open.filter((c) => !signals.has(c.name) && TEXT_TYPES.test(c.type))
      if (query !== undefined && textual.length > 0) {
        for (const [name, signal] of yield* sampleSignals(query, table, textual)) signals.set(name, signal)
      }
      for (const [name, signal] of signals) {
        const column = table.columns.find((c) => c.name === name)!
        uncovered.push({ table: qualified(table.schema, table.name), column: name, signal, suggestion: suggestion(table, column, signal) })
      }
    }
    return uncovered
  })

const uncoveredText = (column: UncoveredColumn) =>
  `${column.table}.${column.column} (personal by ${column.signal}); add a rule, e.g. ${column.suggestion}`

const compileMasking = (
  rules: MaskingRules,
  registry: PluginRegistry,
  context: MaskContext,
  masks: ReadonlyArray<string>,
  catalog: Catalog,
  privacyByDefault: boolean,
  query: SourceQuery | undefined,
  key: Uint8Array | undefined
): Effect.Effect<PreparedMasking, HarnessError> =>
  Effect.gen(function* () {
    const columnRules = yield* resolveColumnRules(rules, catalog, strategiesOf(registry, context, masks))
    if (privacyByDefault) {
      const uncovered = (yield* uncoveredColumns(rules, catalog, columnRules, query)).map(uncoveredText)
      if (uncovered.length > 0) {
        return yield* badInput(
          `privacy by default: ${uncovered.length} column(s) look personal and no masking rule covers them; nothing was written:\n  - ${uncovered.join("\n  - ")}`
        )
      }
    }
    const proof = makeProofRecorder(catalog, key)
    const plan = yield* planMasking(catalog, columnRules, registry, context, proof)
    return {
      stage: plan.stage,
      rules: columnRules,
      proof,
      evidence: {
        rulesFiles: rules.files,
        rulesDigest: rules.digest,
        profile: rules.profile.name,
        keyed: context.keyed,
        columns: plan.columns
      }
    }
  })
