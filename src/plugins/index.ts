/**
 * The built-in plugins: the registry starts from this list, and a user plugin may not take one
 * of their names. Each is written through the public plugin API only, as a user's would be.
 */
import type { Plugin } from "../engine/plugin.ts"
import gateConsistency from "./gate-consistency.ts"
import gateDrift from "./gate-drift.ts"
import maskDateShift from "./mask-date-shift.ts"
import maskEmail from "./mask-email.ts"
import maskFaker from "./mask-faker.ts"
import maskHash from "./mask-hash.ts"
import maskJson from "./mask-json.ts"
import maskKeep from "./mask-keep.ts"
import maskNoise from "./mask-noise.ts"
import maskNull from "./mask-null.ts"
import maskPartial from "./mask-partial.ts"
import maskRedact from "./mask-redact.ts"
import maskRegexReplace from "./mask-regex-replace.ts"

// Each plugin's `make` takes its own decoded options; the registry holds them as `Plugin` (options
// unknown until that plugin's schema decodes them), which TypeScript cannot see without a cast.
export const builtinPlugins: ReadonlyArray<Plugin> = [
  maskFaker,
  maskHash,
  maskEmail,
  maskPartial,
  maskRedact,
  maskNull,
  maskDateShift,
  maskNoise,
  maskRegexReplace,
  maskJson,
  maskKeep,
  gateDrift,
  gateConsistency
] as ReadonlyArray<Plugin>
