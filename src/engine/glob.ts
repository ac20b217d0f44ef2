/**
 * Shell-style globs for names: `*` matches any run of characters, `?` one character, everything
 * else literally. Used for `--include` / `--exclude` (schema-qualified `schema.table` patterns;
 * a pattern without a dot matches tables in any schema) and for the protected-target list.
 */

export const globToRegExp = (glob: string): RegExp => {
  let source = ""
  for (const ch of glob) {
    if (ch === "*") source += ".*"
    else if (ch === "?") source += "."
    else source += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  }
  return new RegExp(`^${source}$`)
}

export const matchesGlob = (glob: string, name: string) => globToRegExp(glob).test(name)

/** Does `schema.table` match a table pattern? `customer` and `*.customer` match in every schema. */
export const matchesTableGlob = (pattern: string, schema: string, table: string): boolean =>
  pattern.includes(".") ? matchesGlob(pattern, `${schema}.${table}`) : matchesGlob(pattern, table)
