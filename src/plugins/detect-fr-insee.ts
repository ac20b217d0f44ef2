/**
 * `fr-insee`: the French social security number (NIR / numéro INSEE): sex, year, month,
 * department (2A/2B for Corsica), commune, order and the 97 − (n mod 97) key.
 */
import { identifierDetector, inseeValid } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-fr-insee",
  kind: "detect",
  description: "French social security numbers (NIR/INSEE, mod-97 key)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "fr-insee",
      numeric: true,
      patterns: { strong: ["insee", "nir", "securite sociale", "sécurité sociale", "numero securite sociale", "num secu", "secu"], weak: ["social number"] },
      candidate: /\b[1-478][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2A|2B)[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}\b/g,
      test: (value) => (inseeValid(value) ? 2 : 0)
    })
})
