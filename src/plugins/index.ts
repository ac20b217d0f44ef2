/**
 * The built-in plugins: the registry starts from this list, and a user plugin may not take one
 * of their names. Each is written through the public plugin API only, as a user's would be.
 */
import type { Plugin } from "../engine/plugin.ts"
import gateConsistency from "./gate-consistency.ts"
import gateDrift from "./gate-drift.ts"
import detectEmail from "./detect-email.ts"
import detectPhone from "./detect-phone.ts"
import detectPaymentCard from "./detect-payment-card.ts"
import detectIban from "./detect-iban.ts"
import detectUsSsn from "./detect-us-ssn.ts"
import detectUkNino from "./detect-uk-nino.ts"
import detectUkNhs from "./detect-uk-nhs.ts"
import detectDeTaxId from "./detect-de-tax-id.ts"
import detectFrInsee from "./detect-fr-insee.ts"
import detectEsDni from "./detect-es-dni.ts"
import detectNlBsn from "./detect-nl-bsn.ts"
import detectItCodiceFiscale from "./detect-it-codice-fiscale.ts"
import detectCaSin from "./detect-ca-sin.ts"
import detectBrCpf from "./detect-br-cpf.ts"
import detectIpAddress from "./detect-ip-address.ts"
import detectMacAddress from "./detect-mac-address.ts"
import detectDeviceId from "./detect-device-id.ts"
import detectPersonName from "./detect-person-name.ts"
import detectStreetAddress from "./detect-street-address.ts"
import detectPostalCode from "./detect-postal-code.ts"
import detectDateOfBirth from "./detect-date-of-birth.ts"
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
  gateConsistency,
  // PII detectors (kind `detect`)
  detectEmail,
  detectPhone,
  detectPaymentCard,
  detectIban,
  detectUsSsn,
  detectUkNino,
  detectUkNhs,
  detectDeTaxId,
  detectFrInsee,
  detectEsDni,
  detectNlBsn,
  detectItCodiceFiscale,
  detectCaSin,
  detectBrCpf,
  detectIpAddress,
  detectMacAddress,
  detectDeviceId,
  detectPersonName,
  detectStreetAddress,
  detectPostalCode,
  detectDateOfBirth
] as ReadonlyArray<Plugin>
