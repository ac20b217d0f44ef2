/**
 * `json`: mask values inside json / jsonb documents. Each entry of `paths` names a JSONPath
 * (`$.email`, `$.address.street`, `$.contacts[*].phone`, `$["odd key"]`, `$.items[0]`) and the
 * strategy for what it selects, with that strategy's own options beside it:
 *
 *   paths:
 *     - { path: $.email, masking_strategy: email }
 *     - { path: "$.contacts[*].phone", masking_strategy: partial, keep_last: 2 }
 *
 * The strategies come from the host (`MaskContext.strategy`), so user plugins work here too.
 * Strings are masked as text; numbers by the strategy as a numeric column when it takes one
 * (noise), otherwise as text; objects, arrays and booleans at a path are masked as their JSON
 * text. A strategy's NULL becomes JSON null. Paths that select nothing leave the document as is.
 * Numbers of more than 15 digits elsewhere in the document are kept digit for digit.
 */
import { maskOptions, requireFamily } from "../engine/mask-kit.ts"
import { definePlugin, Schema, type MaskColumn, type MaskStrategy } from "../engine/plugin.ts"

type Segment = { readonly key: string } | { readonly index: number } | "*"

/** The segments of a JSONPath, or a message saying what is wrong with it. */
const parsePath = (path: string): ReadonlyArray<Segment> | string => {
  if (!path.startsWith("$")) return `path ${JSON.stringify(path)} must start with $`
  const segments: Array<Segment> = []
  const token = /\.([A-Za-z_$][\w$-]*)|\.\*|\[\*\]|\[(\d+)\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]/y
  token.lastIndex = 1
  while (token.lastIndex < path.length) {
    const at = token.lastIndex
    const match = token.exec(path)
    if (match === null) return `path ${JSON.stringify(path)}: cannot read it from ${JSON.stringify(path.slice(at))}`
    if (match[1] !== undefined) segments.push({ key: match[1] })
    else if (match[2] !== undefined) segments.push({ index: Number(match[2]) })
    else if (match[3] !== undefined) segments.push({ key: match[3].replace(/\\(.)/g, "$1") })
    else if (match[4] !== undefined) segments.push({ key: match[4].replace(/\\(.)/g, "$1") })
    else segments.push("*")
  }
  if (segments.length === 0) return `path ${JSON.stringify(path)} selects the whole document; mask the column itself instead`
  return segments
}

const Entry = Schema.Record(Schema.String, Schema.Unknown).check(
  Schema.makeFilter((entry) => {
    const issues: Array<Schema.FilterIssue> = []
    if (typeof entry["path"] !== "string") issues.push({ path: ["path"], issue: "path (a JSONPath such as $.email) is required" })
    else {
      const parsed = parsePath(entry["path"])
      if (typeof parsed === "string") issues.push({ path: ["path"], issue: parsed })
    }
    if (typeof entry["masking_strategy"] !== "string" || entry["masking_strategy"] === "") {
      issues.push({ path: ["masking_strategy"], issue: "masking_strategy (the strategy for this path) is required" })
    }
    return issues
  })
)

/** json.parse / stringify with source text access (Node 21+), to keep long numbers exact. */
const JSONX = JSON as typeof JSON & {
  readonly rawJSON?: (text: string) => unknown
  readonly isRawJSON?: (value: unknown) => value is { readonly rawJSON: string }
}
const LONG_NUMBER = /\d{16}/
type SourceReviver = (key: string, value: unknown, context: { readonly source?: string }) => unknown
const keepLongNumbers: SourceReviver = (_key, value, context) =>
  typeof value === "number" && context.source !== undefined && String(value) !== context.source
    ? JSONX.rawJSON!(context.source)
    : value
const parseDocument = (text: string): unknown =>
  JSONX.rawJSON !== undefined && LONG_NUMBER.test(text)
    ? JSON.parse(text, keepLongNumbers as unknown as (key: string, value: unknown) => unknown)
    : JSON.parse(text)

interface CompiledPath {
  readonly segments: ReadonlyArray<Segment>
  readonly text: (value: string) => string | null
  readonly number: ((value: string) => string | null) | undefined
}

const maskLeaf = (leaf: unknown, path: CompiledPath): unknown => {
  if (leaf === null) return null
  if (typeof leaf === "string") return path.text(leaf)
  const raw = JSONX.isRawJSON?.(leaf) === true ? (leaf as { rawJSON: string }).rawJSON : undefined
  if (typeof leaf === "number" || raw !== undefined) {
    const source = raw ?? String(leaf)
    if (path.number === undefined) return path.text(source)
    const masked = path.number(source)
    if (masked === null) return null
    return JSONX.rawJSON !== undefined ? JSONX.rawJSON(masked) : Number(masked)
  }
  return path.text(JSON.stringify(leaf))
}

/** Mask what `segments[at..]` selects under `node`, in place; returns the (possibly new) node. */
const apply = (node: unknown, path: CompiledPath, at: number): unknown => {
  if (at === path.segments.length) return maskLeaf(node, path)
  if (typeof node !== "object" || node === null || JSONX.isRawJSON?.(node) === true) return node
  const segment = path.segments[at]!
  const container = node as Record<string, unknown>
  if (segment === "*") {
    if (Array.isArray(node)) for (let i = 0; i < node.length; i++) node[i] = apply(node[i], path, at + 1)
    else for (const key of Object.keys(container)) container[key] = apply(container[key], path, at + 1)
  } else if ("index" in segment) {
    if (Array.isArray(node) && segment.index < node.length) node[segment.index] = apply(node[segment.index], path, at + 1)
  } else if (!Array.isArray(node) && Object.hasOwn(container, segment.key)) {
    container[segment.key] = apply(container[segment.key], path, at + 1)
  }
  return node
}

const asColumn = (column: MaskColumn, type: string): MaskColumn => ({
  ...column,
  type,
  baseType: type,
  isArray: false,
  notNull: false,
  maxLength: null,
  unique: false
})

export default definePlugin({
  name: "json",
  kind: "mask",
  description: "Mask values at JSONPaths inside json/jsonb documents, each with its own strategy and options.",
  options: maskOptions({ paths: Schema.Array(Entry).check(Schema.isMinLength(1)) }),
  make: (options, context) => {
    const lookup = context.strategy
    if (lookup === undefined) throw new Error("the json strategy needs a host that provides MaskContext.strategy")
    const entries = options.paths.map((entry, i) => {
      const { path, masking_strategy: name, ...nested } = entry as { path: string; masking_strategy: string }
      let strategy: MaskStrategy
      try {
        strategy = lookup(name, nested)
      } catch (error) {
        throw new Error(`paths[${i}] (${path}): ${(error as Error).message}`)
      }
      return { path, name, segments: parsePath(path) as ReadonlyArray<Segment>, strategy }
    })
    return {
      deterministic: entries.every((e) => e.strategy.deterministic),
      unique: false,
      mayReturnNull: false,
      check: (column) => {
        const refusal = requireFamily(column, ["json"], "json documents")
        if (refusal !== undefined) return refusal
        for (const entry of entries) {
          const asText = entry.strategy.check?.(asColumn(column, "text"))
          const asNumber = entry.strategy.check?.(asColumn(column, "numeric"))
          if (asText !== undefined && asNumber !== undefined) return `at ${entry.path}, strategy ${entry.name} cannot mask: ${asText}`
        }
        return undefined
      },
      compile: (column) => {
        const paths: ReadonlyArray<CompiledPath> = entries.map((entry) => {
          const text = asColumn(column, "text")
          const numeric = asColumn(column, "numeric")
          const takesText = entry.strategy.check?.(text) === undefined
          const takesNumber = entry.strategy.check?.(numeric) === undefined
          const number = takesNumber ? entry.strategy.compile(numeric) : undefined
          const stringified = takesText ? entry.strategy.compile(text) : undefined
          return {
            segments: entry.segments,
            number,
            // A numbers-only strategy leaves strings alone.
            text: stringified ?? ((value: string) => value)
          }
        })
        return (value) => {
          let document = parseDocument(value)
          for (const path of paths) document = apply(document, path, 0)
          return JSON.stringify(document)
        }
      }
    }
  }
})
