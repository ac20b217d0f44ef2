/**
 * `keep`: the column is explicitly not personal and is copied as it is. A `reason` is required,
 * so that every unmasked column in the rules carries a human's explanation into the evidence.
 */
import { maskOptions } from "../engine/mask-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "keep",
  kind: "mask",
  description: "Leave the value as it is (not personal data); say why in `reason`.",
  options: maskOptions({
    reason: Schema.String.check(
      Schema.makeFilter((reason) => (reason.trim() === "" ? "give a reason why this column is not personal data" : undefined))
    )
  }),
  make: () => ({
    deterministic: true,
    // A constant or a generalisation the rule spells out, not a code derived from the value.
    pseudonymous: false,
    // The identity keeps distinct values distinct.
    unique: true,
    mayReturnNull: false,
    compile: () => (value) => value
  })
})
