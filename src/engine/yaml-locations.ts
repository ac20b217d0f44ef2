/**
 * Where in a YAML file a problem is: the line and column of the node at a path of map keys and
 * sequence indexes (as a Schema issue reports it), and the path written the way a YAML author
 * reads it (`project_overrides[0].column`). Shared by every file db-harness reads from YAML.
 */
import * as Effect from "effect/Effect"
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from "yaml"
import { badInput, type HarnessError } from "./errors.ts"

/**
 * Parse YAML text, keeping positions; a syntax error fails as `file:line:column: YAML syntax error
 * <context>: reason` (`context` e.g. " in the waiver file", or empty).
 */
export const parseYaml = (
  text: string,
  path: string,
  context = ""
): Effect.Effect<{ readonly doc: Document; readonly lineCounter: LineCounter }, HarnessError> => {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: true })
  const syntaxError = doc.errors[0]
  if (syntaxError === undefined) return Effect.succeed({ doc, lineCounter })
  const at = syntaxError.linePos?.[0] ?? { line: 1, col: 1 }
  const reason = syntaxError.message.replace(/ at line \d+, column \d+:[\s\S]*$/, "")
  return Effect.fail(badInput(`${path}:${at.line}:${at.col}: YAML syntax error${context}: ${reason}`))
}

/** The node of `doc` at `path`, or the deepest one that exists, as 1-based line and column. */
export const locateInYaml = (
  doc: Document,
  lineCounter: LineCounter,
  path: ReadonlyArray<PropertyKey>
): { readonly line: number; readonly column: number } => {
  let node: unknown = doc.contents
  let offset = doc.contents?.range?.[0] ?? 0
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === segment)
      if (pair === undefined || !isScalar(pair.key)) break
      offset = pair.key.range?.[0] ?? offset
      node = pair.value
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment]
      if (!isMap(item) && !isSeq(item) && !isScalar(item)) break
      offset = item.range?.[0] ?? offset
      node = item
    } else break
  }
  const { line, col } = lineCounter.linePos(offset)
  return { line, column: col }
}

/** `["project_overrides", 0, "column"]` → `project_overrides[0].column`. */
export const yamlPathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((segment, i) => (typeof segment === "number" ? `[${segment}]` : i === 0 ? String(segment) : `.${String(segment)}`)).join("")
