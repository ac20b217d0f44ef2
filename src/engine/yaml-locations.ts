/**
 * Where in a YAML file a problem is: the line and column of the node at a path of map keys and
 * sequence indexes (as a Schema issue reports it), and the path written the way a YAML author
 * reads it (`project_overrides[0].column`). Shared by every file db-harness reads from YAML.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter } from "yaml"

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
