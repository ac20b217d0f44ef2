/**
 * `regex_replace`: replace what a JavaScript regular expression (`pattern`, `flags`, default `g`)
 * matches with `replacement` (`$1`, `$<name>` and `$&` refer to the match, as in
 * String.prototype.replace). The pattern is compiled once, when the rule is read, and an invalid
 * one is an option error.
 */
import { maskOptions, requireFamily } from "../engine/mask-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const compileError = (pattern: string, flags: string): string | undefined => {
  try {
    new RegExp(pattern, flags)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

export default definePlugin({
  name: "regex_replace",
  kind: "mask",
  description: "Replace matches of a regular expression (pattern, flags) with replacement.",
  options: maskOptions({
    pattern: Schema.String.check(Schema.makeFilter((p) => (p === "" ? "pattern must not be empty" : undefined))),
    replacement: Schema.String,
    flags: Schema.optional(
      Schema.String.check(
        Schema.makeFilter((f) => (/^[dgimsuvy]*$/.test(f) ? undefined : `unknown regular expression flags ${JSON.stringify(f)} (use d, g, i, m, s, u, v, y)`))
      )
    )
  }).check(
    Schema.makeFilter((o) => {
      const error = compileError(o.pattern, o.flags ?? "g")
      return error === undefined ? undefined : { path: ["pattern"], issue: `invalid regular expression: ${error}` }
    })
  ),
  make: (options) => {
    const regex = new RegExp(options.pattern, options.flags ?? "g")
    const replacement = options.replacement
    return {
      deterministic: true,
      // A constant or a generalisation the rule spells out, not a code derived from the value.
      pseudonymous: false,
      unique: false,
      mayReturnNull: false,
      check: (column) => requireFamily(column, ["text"], "text"),
      compile: () => (value) => {
        // A sticky expression without `g` starts where the last match ended: start every value at 0.
        regex.lastIndex = 0
        return value.replace(regex, replacement)
      }
    }
  }
})
