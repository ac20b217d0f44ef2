/**
 * `person-name`: people's names, in any script. Names have no checksum, so three signals are
 * combined: the column's name (`first_name`, `lastName`, `fullName`, `name` in a person table; a
 * product, company or city name is not a person's), the value's shape (one to four words of
 * letters, no digits, no company suffixes), and dictionaries of given names and family names of
 * every locale in @faker-js/faker (built on first use). A value validates on its own only when
 * both a given name and a family name are in the dictionaries; a single known name or a name-like
 * shape counts only where the column's name says person.
 */
import { allLocales } from "@faker-js/faker"
import { familyOf, maskExample, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema, type DetectColumn, type DetectHit, type NameSignal } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: [
    "first name", "last name", "full name", "given name", "family name", "middle name", "maiden name", "surname", "forename",
    "firstname", "lastname", "fullname", "fname", "lname", "givenname", "familyname", "vorname", "nachname", "prenom", "prénom",
    "apellido", "apellidos", "nombre completo", "cognome", "voornaam", "achternaam", "imya", "familiya", "person name",
    "customer name", "patient name", "employee name", "contact name", "holder name", "cardholder", "account holder", "beneficiary",
    "recipient name", "billing name", "shipping name", "legal name", "display name", "author name", "signatory"
  ],
  weak: ["name", "author", "recipient", "contact", "owner", "nom", "nombre", "nome", "naam"],
  veto: [
    "product", "company", "brand", "file", "filename", "table", "column", "schema", "host", "hostname", "domain", "category", "city",
    "country", "street", "region", "state", "store", "shop", "item", "model", "tag", "role", "team", "group", "project", "event",
    "app", "device", "bank", "org", "organization", "organisation", "business", "vendor", "supplier", "merchant", "username",
    "user name", "login", "screen", "plan", "course", "title", "film", "movie", "book", "song", "album", "school", "university",
    "department", "job", "service", "server", "database", "queue", "job", "key", "type", "language", "currency", "tax", "feature",
    "package", "module", "class", "method", "function", "field", "variable", "env", "environment", "cluster", "bucket", "image",
    "campaign", "channel", "site", "page", "template", "color", "colour", "size", "unit", "status", "metric", "label", "venue", "hotel",
    "airport", "airline", "station", "route", "building", "room", "warehouse", "location", "place", "district", "county", "province"
  ]
})

/** Tables whose `name` column names a person. */
const PERSON_TABLES = new Set([
  "customer", "customers", "user", "users", "person", "persons", "people", "employee", "employees", "staff", "patient", "patients",
  "member", "members", "contact", "contacts", "author", "authors", "actor", "actors", "student", "students", "client", "clients",
  "applicant", "applicants", "driver", "drivers", "passenger", "passengers", "guest", "guests", "owner", "owners", "account", "accounts",
  "profile", "profiles", "teacher", "teachers", "doctor", "doctors", "physician", "nurse", "candidate", "candidates", "subscriber",
  "subscribers", "buyer", "buyers", "seller", "tenant", "tenants", "resident", "residents", "worker", "workers", "volunteer", "donor",
  "donors", "beneficiary", "beneficiaries", "kunde", "kunden", "mitarbeiter", "client", "cliente", "clientes", "utilisateur"
])

/** Words that make a value an organisation or a thing, never a person. */
const NOT_PERSON = new Set([
  "and", "und", "et", "y", "e", "&", "llc", "inc", "ltd", "gmbh", "ag", "sa", "co", "group", "sons", "corp", "corporation", "plc",
  "sarl", "spa", "bv", "nv", "holding", "holdings", "company", "partners", "services", "solutions", "systems", "technologies",
  "international", "the", "of", "for", "de", "del", "la", "le", "les", "der", "die", "das", "kg", "ohg", "ab", "oy", "as", "srl",
  "limited", "industries", "enterprises", "associates", "foundation", "bank", "university", "hospital", "school", "store", "shop"
])

const normalize = (word: string) => word.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase()

interface Dictionary {
  readonly given: ReadonlySet<string>
  readonly family: ReadonlySet<string>
}

let dictionary: Dictionary | undefined
/** Given and family names of every faker locale, normalised; built once, on first use (~25k + ~20k names). */
const names = (): Dictionary => {
  if (dictionary !== undefined) return dictionary
  const given = new Set<string>()
  const family = new Set<string>()
  const add = (set: Set<string>, source: unknown) => {
    if (Array.isArray(source)) {
      for (const name of source) if (typeof name === "string") for (const part of name.split(/[\s-]+/)) if (part.length > 1 || /[^\p{Script=Latin}]/u.test(part)) set.add(normalize(part))
    } else if (typeof source === "object" && source !== null) {
      for (const list of Object.values(source)) add(set, list)
    }
  }
  for (const locale of Object.values(allLocales)) {
    const person = (locale as { person?: { first_name?: unknown; last_name?: unknown; middle_name?: unknown } }).person
    if (person === undefined) continue
    add(given, person.first_name)
    add(given, person.middle_name)
    add(family, person.last_name)
  }
  dictionary = { given, family }
  return dictionary
}

/** Han, Hiragana/Katakana or Hangul: scripts that write names without spaces. */
const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]{2,4}$/u
const WORD = /^\p{L}[\p{L}\p{M}'’.-]*$/u

const columnSignalOf = (column: DetectColumn): NameSignal | undefined => {
  const fromName = signal(column)
  if (fromName !== "weak") return fromName
  // `name` alone is a person's name only in a person table.
  const onlyName = column.words.every((word) => ["name", "nom", "nombre", "nome", "naam"].includes(word))
  if (!onlyName) return "weak"
  return column.tableWords.some((word) => PERSON_TABLES.has(word)) ? "strong" : "none"
}

export const personNameHit = (raw: string, columnSignal: NameSignal, dict: Dictionary): DetectHit => {
  const value = raw.trim()
  if (value.length < 2 || value.length > 80) return 0
  if (CJK.test(value)) {
    const chars = [...value]
    const surname = dict.family.has(chars[0]!) || (chars.length >= 3 && dict.family.has(chars[0]! + chars[1]!))
    return surname ? 2 : columnSignal === "none" ? 0 : 1
  }
  const parts = value.replace(/,/g, " ").split(/\s+/)
  if (parts.length > 4) return 0
  let known = 0
  for (const part of parts) {
    if (!WORD.test(part)) return 0
    const word = normalize(part.replace(/\.$/, ""))
    if (NOT_PERSON.has(word)) return 0
    if (dict.given.has(word) || dict.family.has(word)) known++
  }
  if (parts.length >= 2) {
    const first = normalize(parts[0]!)
    const last = normalize(parts[parts.length - 1]!)
    const comma = value.includes(",")
    const full = comma
      ? dict.family.has(first) && dict.given.has(last)
      : (dict.given.has(first) && dict.family.has(last)) || (dict.family.has(first) && dict.given.has(last))
    if (full) return 2
  }
  if (columnSignal === "none") return 0
  // A name-like value where the column says name: known or not (dictionaries are never complete).
  return known > 0 || parts.length <= 3 ? 1 : 0
}

export default definePlugin({
  name: "detect-person-name",
  kind: "detect",
  description: "people's names in any script: column name, value shape and given/family-name dictionaries",
  options: Schema.Struct({}),
  make: () => ({
    entity: "person-name",
    evidence: "shape" as const,
    maskExample,
    compile: (column) => {
      if (familyOf(column) !== "text") return undefined
      const columnSignal = columnSignalOf(column)
      if (columnSignal === undefined) return undefined
      const dict = names()
      return { signal: columnSignal, test: (value) => personNameHit(value, columnSignal, dict) }
    }
  })
})
