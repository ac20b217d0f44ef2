/**
 * Masking rule files: loading a project's YAML rule file with its `extends` chain, merging the
 * chain into one `MaskingRules`, and resolving it against a database's catalog into one rule per
 * column (`resolveColumnRules`). The format is documented at the top of
 * rules/baseline_masking_rules.yaml; rules/examples/ holds a project file.
 *
 * Merge order, nearest file first: the file named on the command line, then the file it extends,
 * and so on. For a column, an explicit project override beats every pattern rule, and the
 * nearest file's override beats an ancestor's. Between pattern rules the first match wins, in
 * that same order (a file's `rules` are tried before those of the file it extends, each file's
 * in written order), so a profile overrides the baseline by listing its own rule for the same
 * names. A profile that forbids deterministic strategies cannot be re-allowed further down.
 *
 * Every input problem is reported with its file, line and column; resolution collects all
 * problems and fails once, so nothing is written when rules are bad.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import type { Document, LineCounter } from "yaml"
import { findTable, type Catalog, type Column, type Table } from "./catalog.ts"
import { didYouMean, matchesNamePattern, nameTokens } from "./column-names.ts"
import { badInput, type HarnessError } from "./errors.ts"
import { locateInYaml, parseYaml, yamlPathText } from "./yaml-locations.ts"

// ---------------------------------------------------------------------------------------------
// The file format

const Options = [Schema.Record(Schema.String, Schema.Unknown)] as const

const ProjectOverrideEntry = Schema.StructWithRest(
  Schema.Struct({ table: Schema.NonEmptyString, column: Schema.NonEmptyString, masking_strategy: Schema.NonEmptyString }),
  Options
)

const RuleEntry = Schema.StructWithRest(
  Schema.Struct({
    match: Schema.Struct({
      names: Schema.optional(Schema.Array(Schema.NonEmptyString)),
      types: Schema.optional(Schema.Array(Schema.NonEmptyString))
    }),
    masking_strategy: Schema.NonEmptyString
  }),
  Options
)

const RuleFile = Schema.Struct({
  version: Schema.Literal("1.0"),
  baseline_version: Schema.optional(Schema.NonEmptyString),
  profile: Schema.optional(Schema.NonEmptyString),
  deterministic_allowed: Schema.optional(Schema.Boolean),
  extends: Schema.optional(Schema.NonEmptyString),
  plugins: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  rules: Schema.optional(Schema.Array(RuleEntry)),
  project_overrides: Schema.optional(Schema.Array(ProjectOverrideEntry))
})
type RuleFile = typeof RuleFile.Type

// ---------------------------------------------------------------------------------------------
// The merged model

/** Where a rule was written: `baseline_masking_rules.yaml:40 rules[3]`. */
export interface RuleOrigin {
  readonly file: string
  readonly line: number
  readonly column: number
  /** Path of the entry inside the file, e.g. `project_overrides[0]`. */
  readonly entry: string
}

/** A rule that applies to every column whose name and type match (both, when both are given). */
export interface PatternRule {
  /** Name patterns, each as its words: `["date", "of", "birth"]`. */
  readonly names: ReadonlyArray<ReadonlyArray<string>>
  /** Type names, lower-case, without modifiers or schema: `inet`, `character varying`. */
  readonly types: ReadonlyArray<string>
  readonly strategy: string
  readonly options: Readonly<Record<string, unknown>>
  readonly origin: RuleOrigin
}

/** An explicit rule for one column of one table. */
export interface ProjectOverride {
  /** `null` when the table was written unqualified. */
  readonly schema: string | null
  readonly table: string
  readonly column: string
  readonly strategy: string
  readonly options: Readonly<Record<string, unknown>>
  readonly origin: RuleOrigin
}

export interface MaskingRules {
  /** The chain of files, absolute, the named file first, then what it extends, and so on. */
  readonly files: ReadonlyArray<string>
  /** SHA-256 (hex) over the files' contents in chain order, each prefixed by its byte length. */
  readonly digest: string
  readonly profile: {
    /** The nearest file's `profile`, or null when no file declares one. */
    readonly name: string | null
    /** False when any file of the chain says `deterministic_allowed: false`. */
    readonly deterministicAllowed: boolean
    /** The file that forbade deterministic strategies, for messages. */
    readonly forbiddenBy: string | null
  }
  /** The `baseline_version` the chain's root declares. */
  readonly baselineVersion: string | null
  /** Plugin files (absolute), ancestors' first, each once. */
  readonly plugins: ReadonlyArray<string>
  /** Pattern rules in match order: the first that matches a column wins. */
  readonly rules: ReadonlyArray<PatternRule>
  /** Overrides, nearest file first. */
  readonly overrides: ReadonlyArray<ProjectOverride>
  /**
   * Name patterns that make a column no rule covers look personal (privacy by default): those of
   * the chain's pattern rules plus the shipped baseline's, also when the chain does not extend the
   * baseline, so a project file that only lists overrides does not switch the check off.
   */
  readonly personalNames: ReadonlyArray<ReadonlyArray<string>>
}

/** The decision for one column. */
export interface ColumnRule {
  readonly schema: string
  readonly table: string
  readonly column: string
  readonly strategy: string
  readonly options: Readonly<Record<string, unknown>>
  /** e.g. `masking_rules.yaml:12 project_overrides[0]` or `baseline_masking_rules.yaml:40 rules[3] (names: email)`. */
  readonly origin: string
  /** Named for this very column by a project override, rather than matched by a pattern. */
  readonly explicit: boolean
}

/** What resolution needs to know about the masking strategies the plugin host has loaded. */
export interface MaskStrategies {
  readonly has: (name: string) => boolean
  /** All strategy names, for "did you mean" suggestions. */
  readonly names: Iterable<string>
  /**
   * Whether the strategy with these options derives its output from the input value, so that
   * the same value always gives the same output (keyed hashes, deterministic fakes): a code
   * derived from the data, which HIPAA §164.514(c) forbids. Constant outputs (null, redact) and
   * generalisations the Safe Harbor method itself prescribes (the year of a date, a ZIP3) are
   * not such codes and should answer false.
   */
  readonly isDeterministic: (name: string, options: Readonly<Record<string, unknown>>) => boolean
}

/** The shipped profiles, by the names `extends` and `--rules` accept. */
export const SHIPPED_PROFILES = {
  baseline: "baseline_masking_rules.yaml",
  gdpr_ccpa: "gdpr_ccpa.yaml",
  hipaa: "hipaa.yaml"
} as const

const shippedRulesDirectory = fileURLToPath(new URL("../../rules/", import.meta.url))

const isShippedProfile = (name: string): name is keyof typeof SHIPPED_PROFILES => Object.hasOwn(SHIPPED_PROFILES, name)

/** A rule file reference as an absolute path: a shipped profile name, `~/...`, or relative to `directory`. */
const resolveReference = (reference: string, directory: string, home: string): string => {
  if (isShippedProfile(reference)) return NodePath.join(shippedRulesDirectory, SHIPPED_PROFILES[reference])
  if (reference === "~") return home
  if (reference.startsWith("~/")) return NodePath.join(home, reference.slice(2))
  return NodePath.resolve(directory, reference)
}

export const originText = (origin: RuleOrigin): string => `${NodePath.basename(origin.file)}:${origin.line} ${origin.entry}`

// ---------------------------------------------------------------------------------------------
// Reading one file

interface LoadedFile {
  readonly path: string
  readonly text: string
  readonly content: RuleFile
  /** Position of the node at a path of the file (`["rules", 3, "match"]`), for messages. */
  readonly locate: (path: ReadonlyArray<PropertyKey>) => { readonly line: number; readonly column: number }
}

/** The line and column of the node at a path of `doc`. */
const locator = (doc: Document, lineCounter: LineCounter) => (path: ReadonlyArray<PropertyKey>) =>
  locateInYaml(doc, lineCounter, path)

const readRuleFile = (path: string, namedBy: string) =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (cause) =>
        badInput(`${namedBy}cannot read masking rules ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, cause)
    })
    const { doc, lineCounter } = yield* parseYaml(text, path)
    const locate = locator(doc, lineCounter)
    const decoded = Schema.decodeUnknownResult(RuleFile)(doc.toJS(), { errors: "all", onExcessProperty: "error" })
    if (decoded._tag === "Failure") {
      const issues = SchemaIssue.makeFormatterStandardSchemaV1()(decoded.failure.issue).issues
      const lines = issues.map((issue) => {
        const issuePath = (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
        const { line, column } = locate(issuePath)
        const where = issuePath.length === 0 ? "" : `${yamlPathText(issuePath)}: `
        // Optional fields are `T | undefined` to the Schema; a YAML author never writes undefined.
        const message = issue.message === "Expected no excess property" ? "unknown key" : issue.message.replace(/ \| undefined$/, "")
        // `masking_strategy: null` unquoted is YAML's null, not the strategy's name.
        const hint = issuePath[issuePath.length - 1] === "masking_strategy" && doc.getIn(issuePath) === null
          ? ` (to use the "null" strategy, quote it: masking_strategy: "null")`
          : ""
        return `${path}:${line}:${column}: ${where}${message}${hint}`
      })
      return yield* Effect.fail(badInput(`invalid masking rules:\n${lines.join("\n")}`, decoded.failure))
    }
    const emptyMatches = (decoded.success.rules ?? []).flatMap((rule, index) =>
      (rule.match.names?.length ?? 0) + (rule.match.types?.length ?? 0) === 0 ? [["rules", index, "match"]] : []
    )
    if (emptyMatches.length > 0) {
      const lines = emptyMatches.map((issuePath) => {
        const { line, column } = locate(issuePath)
        return `${path}:${line}:${column}: ${yamlPathText(issuePath)}: needs at least one of names, types`
      })
      return yield* Effect.fail(badInput(`invalid masking rules:\n${lines.join("\n")}`))
    }
    return { path, text, content: decoded.success, locate } satisfies LoadedFile
  })

// ---------------------------------------------------------------------------------------------
// Loading and merging a chain

/** Type names compare without schema, modifiers or array brackets: `character varying(80)[]` → `character varying`. */
const normalizeTypeName = (type: string): string =>
  type
    .toLowerCase()
    .replace(/\(\s*\d+(\s*,\s*\d+)?\s*\)/g, "")
    .replace(/(\[\])+$/, "")
    .replace(/^.*\./, "")
    .replace(/\s+/g, " ")
    .trim()

const optionsOf = (entry: Readonly<Record<string, unknown>>, structural: ReadonlyArray<string>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entry).filter(([key]) => !structural.includes(key)))

const splitTableName = (name: string): { readonly schema: string | null; readonly table: string } => {
  const dot = name.indexOf(".")
  return dot === -1 ? { schema: null, table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) }
}

/** Load a rule file (a path, `~/...`, or a shipped profile name) and everything it extends, merged. */
export const loadMaskingRules = (
  path: string,
  env: { readonly home: string; readonly cwd: string }
): Effect.Effect<MaskingRules, HarnessError> =>
  Effect.gen(function* () {
    const chain: Array<LoadedFile> = []
    let current = resolveReference(path, env.cwd, env.home)
    let namedBy = ""
    for (;;) {
      if (chain.some((file) => file.path === current)) {
        const cycle = [...chain.map((file) => file.path), current].map((file) => NodePath.basename(file)).join(" → ")
        return yield* Effect.fail(badInput(`${namedBy}extends cycle: ${cycle}`))
      }
      const file = yield* readRuleFile(current, namedBy)
      chain.push(file)
      const parent = file.content.extends
      if (parent === undefined) break
      const { line, column } = file.locate(["extends"])
      namedBy = `${file.path}:${line}:${column}: extends "${parent}": `
      current = resolveReference(parent, NodePath.dirname(file.path), env.home)
    }
    const baselinePath = resolveReference("baseline", env.cwd, env.home)
    const baseline = chain.find((file) => file.path === baselinePath) ?? (yield* readRuleFile(baselinePath, ""))
    const baselineNames = (baseline.content.rules ?? []).flatMap((rule) => (rule.match.names ?? []).map(nameTokens))
    return yield* mergeChain(chain, env.home, baselineNames)
  })

const mergeChain = (
  chain: ReadonlyArray<LoadedFile>,
  home: string,
  baselineNames: ReadonlyArray<ReadonlyArray<string>>
): Effect.Effect<MaskingRules, HarnessError> => {
  const problems: Array<string> = []
  const at = (file: LoadedFile, path: ReadonlyArray<PropertyKey>) => {
    const { line, column } = file.locate(path)
    return `${file.path}:${line}:${column}: ${yamlPathText(path)}`
  }

  // Root to nearest, so a nearer file's re-allowing of deterministic strategies can be refused.
  let forbiddenBy: string | null = null
  let baselineVersion: string | null = null
  for (const file of [...chain].reverse()) {
    const allowed = file.content.deterministic_allowed
    if (allowed === false && forbiddenBy === null) forbiddenBy = file.path
    if (allowed === true && forbiddenBy !== null)
      problems.push(`${at(file, ["deterministic_allowed"])}: cannot re-allow deterministic strategies that ${forbiddenBy} forbids`)
    const declared = file.content.baseline_version
    if (declared === undefined) continue
    if (baselineVersion === null) baselineVersion = declared
    else if (declared !== baselineVersion)
      problems.push(
        `${at(file, ["baseline_version"])}: this file was reviewed against baseline "${declared}" but extends baseline "${baselineVersion}"; review what changed, then update baseline_version`
      )
  }

  const rules = chain.flatMap((file) =>
    (file.content.rules ?? []).map((entry, index): PatternRule => {
      const { line, column } = file.locate(["rules", index])
      return {
        names: (entry.match.names ?? []).map(nameTokens),
        types: (entry.match.types ?? []).map(normalizeTypeName),
        strategy: entry.masking_strategy,
        options: optionsOf(entry, ["match", "masking_strategy"]),
        origin: { file: file.path, line, column, entry: `rules[${index}]` }
      }
    })
  )
  const overrides = chain.flatMap((file) =>
    (file.content.project_overrides ?? []).map((entry, index): ProjectOverride => {
      const { line, column } = file.locate(["project_overrides", index])
      return {
        ...splitTableName(entry.table),
        column: entry.column,
        strategy: entry.masking_strategy,
        options: optionsOf(entry, ["table", "column", "masking_strategy"]),
        origin: { file: file.path, line, column, entry: `project_overrides[${index}]` }
      }
    })
  )
  const plugins = [
    ...new Set(
      [...chain]
        .reverse()
        .flatMap((file) => (file.content.plugins ?? []).map((plugin) => resolveReference(plugin, NodePath.dirname(file.path), home)))
    )
  ]
  if (problems.length > 0) return Effect.fail(badInput(`invalid masking rules:\n${problems.join("\n")}`))

  const digest = createHash("sha256")
  for (const file of chain) digest.update(`${Buffer.byteLength(file.text)}:`).update(file.text)
  return Effect.succeed({
    files: chain.map((file) => file.path),
    digest: digest.digest("hex"),
    profile: {
      name: chain.find((file) => file.content.profile !== undefined)?.content.profile ?? null,
      deterministicAllowed: forbiddenBy === null,
      forbiddenBy
    },
    baselineVersion,
    plugins,
    rules,
    overrides,
    personalNames: [...rules.flatMap((rule) => rule.names), ...baselineNames]
  })
}

// ---------------------------------------------------------------------------------------------
// Matching columns

/** The type names a column answers to: its own, its array element's, and a domain's base types. */
const columnTypeNames = (column: Column, catalog: Catalog): ReadonlySet<string> => {
  const names = new Set([normalizeTypeName(column.typeName), normalizeTypeName(column.type)])
  let type = column.elementType ?? { schema: column.typeSchema, name: column.typeName }
  names.add(normalizeTypeName(type.name))
  for (let depth = 0; depth < 8; depth++) {
    const domain = catalog.domains.find((candidate) => candidate.schema === type.schema && candidate.name === type.name)
    if (domain === undefined) break
    names.add(normalizeTypeName(domain.baseType))
    names.add(normalizeTypeName(domain.baseTypeName.name))
    type = domain.baseTypeName
  }
  return names
}

/** The rule's description of why it matched, e.g. `names: email` or `types: inet`. */
const patternMatch = (rule: PatternRule, tokens: ReadonlyArray<string>, types: ReadonlySet<string>): string | undefined => {
  const name = rule.names.find((pattern) => matchesNamePattern(tokens, pattern))
  if (rule.names.length > 0 && name === undefined) return undefined
  const type = rule.types.find((candidate) => types.has(candidate))
  if (rule.types.length > 0 && type === undefined) return undefined
  return [name === undefined ? [] : [`names: ${name.join(" ")}`], type === undefined ? [] : [`types: ${type}`]].flat().join(", ")
}

/**
 * Does a column name look personal by the rules' and the baseline's name patterns (types are not
 * looked at, so `email_verified` looks personal too)? For privacy-by-default checks on columns no
 * rule covers.
 */
export const looksPersonal = (rules: MaskingRules, columnName: string): boolean => {
  const tokens = nameTokens(columnName)
  return rules.personalNames.some((pattern) => matchesNamePattern(tokens, pattern))
}

const qualified = (table: { readonly schema: string; readonly name: string }) => `${table.schema}.${table.name}`

/**
 * One rule per column of every table and partitioned parent (generated columns are skipped: the
 * target computes them from the masked columns). Columns no rule matches are left out. Fails with
 * every problem at once: overrides naming missing or ambiguous tables and columns, unknown
 * strategies, `keep` without a reason, deterministic strategies under a profile forbidding them.
 * A partition inherits the overrides of its parent (and the parent's parent); its own win.
 */
export const resolveColumnRules = (
  rules: MaskingRules,
  catalog: Catalog,
  strategies: MaskStrategies
): Effect.Effect<ReadonlyArray<ColumnRule>, HarnessError> => {
  const { resolved, problems } = resolveColumnRulesCollecting(rules, catalog, strategies)
  if (problems.length > 0) return Effect.fail(badInput(`masking rules cannot be applied (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.join("\n")}`))
  return Effect.succeed(resolved)
}

/** `resolveColumnRules` for `rules check`: the rules it could resolve and every problem, without failing. */
export const resolveColumnRulesCollecting = (
  rules: MaskingRules,
  catalog: Catalog,
  strategies: MaskStrategies
): { readonly resolved: ReadonlyArray<ColumnRule>; readonly problems: ReadonlyArray<string> } => {
  const problems: Array<string> = []
  for (const rule of [...rules.overrides, ...rules.rules]) {
    if (!strategies.has(rule.strategy))
      problems.push(
        `${originText(rule.origin)}: unknown masking strategy "${rule.strategy}"${didYouMean(rule.strategy, strategies.names)}`
      )
    const reason = rule.options["reason"]
    if (rule.strategy === "keep" && (typeof reason !== "string" || reason.trim() === ""))
      problems.push(`${originText(rule.origin)}: keep needs a reason (why this column may be copied unmasked; it goes into the audit log)`)
  }

  // Overrides by table and column; the nearest file's first.
  const overridesByColumn = new Map<Table, Map<string, ProjectOverride>>()
  for (const override of rules.overrides) {
    const table = findOverrideTable(catalog, override, problems)
    if (table === undefined) continue
    const column = table.columns.find((candidate) => candidate.name === override.column)
    if (column === undefined) {
      problems.push(
        `${originText(override.origin)}: column "${override.column}" does not exist in ${qualified(table)}${didYouMean(
          override.column,
          table.columns.map((candidate) => candidate.name)
        )}`
      )
      continue
    }
    if (column.generated !== null) {
      problems.push(`${originText(override.origin)}: ${qualified(table)}.${column.name} is generated; mask the columns it is computed from`)
      continue
    }
    const byColumn = overridesByColumn.get(table) ?? new Map<string, ProjectOverride>()
    overridesByColumn.set(table, byColumn)
    const earlier = byColumn.get(column.name)
    if (earlier === undefined) byColumn.set(column.name, override)
    else if (earlier.origin.file === override.origin.file)
      problems.push(`${originText(override.origin)}: ${qualified(table)}.${column.name} already has a rule at ${originText(earlier.origin)}`)
  }

  const overrideFor = (table: Table, columnName: string): ProjectOverride | undefined => {
    for (let current: Table | undefined = table, depth = 0; current !== undefined && depth < 32; depth++) {
      const own = overridesByColumn.get(current)?.get(columnName)
      if (own !== undefined) return own
      current = current.partitionOf === null ? undefined : findTable(catalog, current.partitionOf.schema, current.partitionOf.name)
    }
    return undefined
  }

  const resolved: Array<ColumnRule> = []
  // Deterministic rules a profile forbids, by origin, with the columns they would mask.
  const refused = new Map<string, { readonly strategy: string; readonly columns: Array<string> }>()
  for (const table of catalog.tables) {
    for (const column of table.columns) {
      if (column.generated !== null) continue
      const rule = decide(rules, catalog, table, column, overrideFor(table, column.name))
      if (rule === undefined) continue
      resolved.push(rule)
      const forbidden =
        !rules.profile.deterministicAllowed && strategies.has(rule.strategy) && strategies.isDeterministic(rule.strategy, rule.options)
      if (!forbidden) continue
      const entry = refused.get(rule.origin) ?? { strategy: rule.strategy, columns: [] }
      entry.columns.push(`${qualified(table)}.${column.name}`)
      refused.set(rule.origin, entry)
    }
  }
  for (const [origin, { strategy, columns }] of refused) {
    const shown = columns.length > 3 ? `${columns.slice(0, 3).join(", ")} and ${columns.length - 3} more` : columns.join(", ")
    problems.push(
      `${origin}: strategy "${strategy}" is deterministic (same input, same output), which profile ${
        rules.profile.name ?? "(unnamed)"
      } (${rules.profile.forbiddenBy}) forbids: under HIPAA §164.514(c) a re-identification code must not be derived from information about the individual, and a deterministic mask is derived from the value; use a random strategy or null (applies to ${shown})`
    )
  }
  return { resolved, problems }
}

const decide = (
  rules: MaskingRules,
  catalog: Catalog,
  table: Table,
  column: Column,
  override: ProjectOverride | undefined
): ColumnRule | undefined => {
  const base = { schema: table.schema, table: table.name, column: column.name }
  if (override !== undefined)
    return { ...base, strategy: override.strategy, options: override.options, origin: originText(override.origin), explicit: true }
  const tokens = nameTokens(column.name)
  const types = columnTypeNames(column, catalog)
  for (const rule of rules.rules) {
    const matched = patternMatch(rule, tokens, types)
    if (matched !== undefined)
      return { ...base, strategy: rule.strategy, options: rule.options, origin: `${originText(rule.origin)} (${matched})`, explicit: false }
  }
  return undefined
}

/** The one table an override names, or undefined after recording why not. */
const findOverrideTable = (catalog: Catalog, override: ProjectOverride, problems: Array<string>): Table | undefined => {
  const candidates = catalog.tables.filter(
    (table) => table.name === override.table && (override.schema === null || table.schema === override.schema)
  )
  const written = override.schema === null ? override.table : `${override.schema}.${override.table}`
  if (candidates.length === 1) return candidates[0]
  if (candidates.length === 0) {
    const names = override.schema === null ? catalog.tables.map((table) => table.name) : catalog.tables.map(qualified)
    problems.push(`${originText(override.origin)}: table "${written}" does not exist${didYouMean(written, names)}`)
  } else {
    const schemas = candidates.map((table) => table.schema).join(", ")
    problems.push(
      `${originText(override.origin)}: table "${written}" is in several schemas (${schemas}); write it schema-qualified, e.g. "${qualified(
        candidates[0] ?? { schema: "public", name: written }
      )}"`
    )
  }
  return undefined
}
