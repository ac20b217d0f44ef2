/**
 * `null`: every value becomes SQL NULL. The simplest destruction; the host refuses it on NOT NULL
 * columns because it says it may return NULL.
 */
import { maskOptions } from "../engine/mask-kit.ts"
import { definePlugin } from "../engine/plugin.ts"

export default definePlugin({
  name: "null",
  kind: "mask",
  description: "Replace every value with NULL.",
  options: maskOptions({}),
  make: () => ({
    deterministic: true,
    // A constant or a generalisation the rule spells out, not a code derived from the value.
    pseudonymous: false,
    unique: false,
    mayReturnNull: true,
    compile: () => () => null
  })
})
