/**
 * `faker`: realistic replacements from @faker-js/faker, e.g. `faker_provider: person.fullName`
 * with `locale: de`. Any provider `module.method` of faker that returns text can be used
 * (`text` is short for `lorem.text`); unknown providers and locales are option errors.
 *
 * Deterministic (the default): the output is a function of the keyed hash of the value, so equal
 * inputs give equal names in every table. Reseeding faker's Mersenne Twister for every value
 * would cost more than the copy itself (its seed fills and tempers a 624-word state), so:
 *
 * - the common providers (names, cities, streets, addresses, countries, companies, words, ...)
 *   are compiled once from the locale's definitions (lists, weighted lists and `{{...}}`
 *   patterns) into a picker that draws directly by hash, without faker on the hot path;
 * - every other provider runs through a Faker instance whose `randomizer` is our small sfc32
 *   generator: per value we only overwrite its four state words with the hash (O(1)), which is
 *   not a reseed of a Mersenne Twister.
 *
 * `deterministic: false` makes surrogates that do not derive from the value at all (a generator
 * seeded once from the platform's random source and never reset), as HIPAA's re-identification
 * rule (§164.514(c)) requires; joins on such columns do not survive.
 *
 * Outputs longer than the column's `varchar(n)` are cut to n characters.
 */
import { allLocales, Faker, type LocaleDefinition } from "@faker-js/faker"
import { codePointLength, HashRandom, maskOptions, memoizeBinary, requireFamily, typeFamily } from "../engine/mask-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const LOCALES = allLocales as unknown as Readonly<Record<string, LocaleDefinition>>
const ALIASES: Readonly<Record<string, string>> = { text: "lorem.text" }
/** Members of a Faker instance that are not data providers. */
const NOT_PROVIDERS = new Set(["helpers", "rawDefinitions", "definitions", "fakerCore", "getMetadata", "seed", "setDefaultRefDate"])

/** `de-AT` and `de_AT` both name faker's `de_AT`. */
const localeKey = (name: string): string | undefined => {
  const key = name.replace(/-/g, "_")
  return Object.hasOwn(LOCALES, key) ? key : undefined
}

/** The locale and its fallbacks (language, English, base), as faker's own instances chain them. */
const localeChain = (key: string): Array<LocaleDefinition> => {
  const language = key.split("_")[0]!
  const keys = [...new Set([key, language, "en", "base"])].filter((k) => Object.hasOwn(LOCALES, k))
  return keys.map((k) => LOCALES[k]!)
}

type Provider = () => unknown

/** The provider function of `faker` named `path`, or undefined. */
const providerOf = (faker: Faker, path: string): Provider | undefined => {
  const [module, method, ...rest] = path.split(".")
  if (module === undefined || method === undefined || rest.length > 0 || NOT_PROVIDERS.has(module)) return undefined
  const target = (faker as unknown as Record<string, Record<string, unknown> | undefined>)[module]
  const fn = typeof target === "object" && target !== null ? target[method] : undefined
  return typeof fn === "function" ? () => (fn as () => unknown).call(target) : undefined
}

let validator: Faker | undefined
/** Why `provider` cannot be used (checked by calling it once with English data), or undefined. */
const providerProblem = (provider: string): string | undefined => {
  validator ??= new Faker({ locale: localeChain("en") })
  const path = ALIASES[provider] ?? provider
  const fn = providerOf(validator, path)
  if (fn === undefined) return `unknown faker provider "${provider}" (expected module.method, e.g. person.firstName, location.city, lorem.sentence)`
  try {
    const sample = fn()
    return typeof sample === "string" ? undefined : `faker provider "${provider}" gives ${typeof sample} values, not text`
  } catch (error) {
    return `faker provider "${provider}" cannot be called without arguments: ${(error as Error).message}`
  }
}

// ---------------------------------------------------------------------------------------------
// Direct pickers from locale definitions

type Pick = (random: HashRandom) => string

/** Providers drawn directly from definitions: the definition key and whether `#`/`?` are symbols. */
const DIRECT: Readonly<Record<string, { readonly key: ReadonlyArray<string>; readonly symbols?: true }>> = {
  "person.firstName": { key: ["person.first_name"] },
  "person.lastName": { key: ["person.last_name_pattern", "person.last_name"] },
  "person.middleName": { key: ["person.middle_name"] },
  "person.fullName": { key: ["person.name"] },
  "person.prefix": { key: ["person.prefix"] },
  "person.suffix": { key: ["person.suffix"] },
  "person.jobTitle": { key: ["person.job_title_pattern"] },
  "person.jobDescriptor": { key: ["person.job_descriptor"] },
  "person.jobArea": { key: ["person.job_area"] },
  "person.jobType": { key: ["person.job_type"] },
  "location.city": { key: ["location.city_pattern"] },
  "location.street": { key: ["location.street_pattern"] },
  "location.streetAddress": { key: ["location.street_address.normal"] },
  "location.buildingNumber": { key: ["location.building_number"], symbols: true },
  "location.zipCode": { key: ["location.postcode"], symbols: true },
  "location.country": { key: ["location.country"] },
  "location.state": { key: ["location.state"] },
  "location.county": { key: ["location.county"] },
  "company.name": { key: ["company.name_pattern"] },
  "lorem.word": { key: ["lorem.word"] },
  "word.noun": { key: ["word.noun"] },
  "word.verb": { key: ["word.verb"] },
  "word.adjective": { key: ["word.adjective"] },
  "word.adverb": { key: ["word.adverb"] }
}

const DIGITS = "0123456789"
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/** faker's replaceSymbols: `#` a digit, `?` a letter, `*` either. */
const replaceSymbols = (text: string, random: HashRandom): string => {
  let out = ""
  for (const c of text) {
    out += c === "#" ? DIGITS[random.int(10)] : c === "?" ? LETTERS[random.int(26)] : c === "*" ? (random.int(2) === 0 ? DIGITS[random.int(10)] : LETTERS[random.int(26)]) : c
  }
  return out
}

/**
 * A picker for definition `path` (`person.first_name`, `person.last_name.generic`), or undefined
 * when the locale has no such list or a pattern in it refers to something we cannot draw.
 */
const compileDefinition = (definitions: unknown, path: string, depth: number): Pick | undefined => {
  let node: unknown = definitions
  for (const part of path.split(".")) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  if (node === undefined || node === null) return undefined
  // {generic, female, male}: generic when there is one, else both.
  if (!Array.isArray(node) && typeof node === "object") {
    const sexed = node as Record<string, unknown>
    const list = Array.isArray(sexed["generic"])
      ? sexed["generic"]
      : [...(Array.isArray(sexed["female"]) ? sexed["female"] : []), ...(Array.isArray(sexed["male"]) ? sexed["male"] : [])]
    node = list
  }
  if (typeof node === "string") node = [node]
  if (!Array.isArray(node) || node.length === 0) return undefined
  const entries = node as ReadonlyArray<unknown>
  const values: Array<Pick> = []
  const weights: Array<number> = []
  for (const entry of entries) {
    const weighted = typeof entry === "object" && entry !== null ? (entry as { value?: unknown; weight?: unknown }) : undefined
    const text = weighted !== undefined ? weighted.value : entry
    if (typeof text !== "string") return undefined
    const pick = text.includes("{{") ? compilePattern(definitions, text, depth + 1) : () => text
    if (pick === undefined) return undefined
    values.push(pick)
    weights.push(weighted !== undefined && typeof weighted.weight === "number" ? weighted.weight : 1)
  }
  // Plain lists: index directly; weighted: walk the cumulative weights.
  if (weights.every((w) => w === 1)) {
    const texts = entries.every((e) => typeof e === "string" && !e.includes("{{")) ? (entries as ReadonlyArray<string>) : undefined
    return texts !== undefined ? (random) => texts[random.int(texts.length)]! : (random) => values[random.int(values.length)]!(random)
  }
  const total = weights.reduce((a, b) => a + b, 0)
  return (random) => {
    let target = random.next() * total
    for (let i = 0; i < values.length; i++) {
      target -= weights[i]!
      if (target < 0) return values[i]!(random)
    }
    return values[values.length - 1]!(random)
  }
}

/** A picker for a faker provider name or a definition path, as `{{...}}` tokens use both. */
const compileToken = (definitions: unknown, token: string, depth: number): Pick | undefined => {
  if (depth > 8) return undefined
  const direct = DIRECT[token]
  if (direct !== undefined) {
    for (const key of direct.key) {
      const pick = compileDefinition(definitions, key, depth)
      if (pick !== undefined) return direct.symbols ? (random) => replaceSymbols(pick(random), random) : pick
    }
    return undefined
  }
  return compileDefinition(definitions, token, depth)
}

/** A picker for a `{{a.b}} text {{c.d}}` pattern, or undefined if a token cannot be drawn. */
const compilePattern = (definitions: unknown, pattern: string, depth: number): Pick | undefined => {
  const parts: Array<string | Pick> = []
  let last = 0
  for (const match of pattern.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)) {
    const pick = compileToken(definitions, match[1]!, depth)
    if (pick === undefined) return undefined
    if (match.index > last) parts.push(pattern.slice(last, match.index))
    parts.push(pick)
    last = match.index + match[0].length
  }
  if (last < pattern.length) parts.push(pattern.slice(last))
  return (random) => {
    let out = ""
    for (const part of parts) out += typeof part === "string" ? part : part(random)
    return out
  }
}

/** Cut to a `varchar(n)`'s n characters (code points, as PostgreSQL counts them). */
const fitTo = (maxLength: number | null) => (text: string) =>
  maxLength === null || codePointLength(text) <= maxLength ? text : Array.from(text).slice(0, maxLength).join("")

// ---------------------------------------------------------------------------------------------

export default definePlugin({
  name: "faker",
  kind: "mask",
  description: "Realistic fake values from @faker-js/faker (faker_provider, locale), by keyed hash or at random.",
  options: maskOptions({
    faker_provider: Schema.String.check(Schema.makeFilter(providerProblem)),
    locale: Schema.optional(
      Schema.String.check(
        Schema.makeFilter((locale) =>
          localeKey(locale) !== undefined
            ? undefined
            : `unknown faker locale "${locale}" (e.g. ${Object.keys(LOCALES).filter((k) => k.startsWith(locale.slice(0, 2))).join(", ") || "en, de, fr, es, it, ja"})`
        )
      )
    ),
    deterministic: Schema.optional(Schema.Boolean)
  }),
  make: (options, context) => {
    const locale = localeKey(options.locale ?? context.locale) ?? localeKey(context.locale.split(/[-_]/)[0]!) ?? "en"
    const deterministic = options.deterministic !== false
    const provider = ALIASES[options.faker_provider] ?? options.faker_provider
    const random = new HashRandom()
    const faker = new Faker({ locale: localeChain(locale), randomizer: { next: () => random.next(), seed: () => {} } })
    const direct = DIRECT[provider] !== undefined ? compileToken(faker.rawDefinitions, provider, 0) : undefined
    const generic = providerOf(faker, provider)!
    const generate: Pick = direct ?? (() => String(generic()))
    // Fails here, when the rule is read, if this locale lacks the provider's data.
    random.seedRandom()
    generate(random)
    const purpose = `faker\u0000${provider}\u0000${locale}`
    return {
      deterministic,
      unique: false,
      mayReturnNull: false,
      // IP and MAC providers write values that inet/cidr and macaddr columns accept too.
      check: (column) =>
        requireFamily(
          column,
          /^internet\.ip(v4|v6)?$/.test(provider) ? ["text", "inet"] : provider === "internet.mac" ? ["text", "mac"] : ["text"],
          "text"
        ),
      compile: (column) => {
        const fit = fitTo(column.maxLength)
        // Not deterministic: the generator was seeded from the platform's random source in make
        // and runs on; nothing about the value goes in.
        if (!deterministic) return () => fit(generate(random))
        return (value) => {
          random.seed(context.prf(purpose, value))
          return fit(generate(random))
        }
      },
      // On text columns the binary form is the UTF-8 text: hash its bytes, write the fake's.
      compileBinary: (column) => {
        if (typeFamily(column) !== "text" || column.isEnum === true) return undefined
        const fit = fitTo(column.maxLength)
        if (!deterministic) return (_bytes, _start, _length, out) => void out.utf8(fit(generate(random)))
        // Names, cities and the like repeat: a repeated value skips the PRF and the generation.
        return memoizeBinary((bytes, start, length, out) => {
          random.seed(context.prfBytes(purpose, bytes, start, start + length))
          out.utf8(fit(generate(random)))
        })
      }
    }
  }
})
