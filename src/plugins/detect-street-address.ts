/**
 * `street-address`: street addresses (HIPAA Safe Harbor (B)). A value validates when it has a
 * house number next to a street word of one of many languages (`742 Evergreen Terrace`,
 * `Hauptstraße 5`, `12 rue de la Paix`, `Calle Mayor 3`); a number next to words counts where the
 * column's name says address.
 */
import { familyOf, maskExample, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema, type DetectHit } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["address", "street", "street address", "address line", "addr", "address1", "address2", "line1", "strasse", "straße", "adresse", "direccion", "dirección", "indirizzo", "straat", "ulica", "endereco", "endereço", "home address", "billing address", "shipping address", "mailing address"],
  weak: ["residence", "home", "location"],
  veto: ["email", "e mail", "mail", "ip", "mac", "wallet", "url", "web", "hw", "remote", "server", "host", "hardware", "contract", "count", "type", "verified"]
})

const STREET_WORDS = new Set([
  "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "lane", "ln", "drive", "dr", "court", "ct", "place", "pl", "square",
  "sq", "terrace", "way", "parkway", "pkwy", "highway", "hwy", "circle", "cir", "trail", "close", "crescent", "gardens", "grove", "row", "mews",
  "strasse", "straße", "str", "weg", "gasse", "platz", "allee", "ring", "damm", "ufer",
  "rue", "chemin", "impasse", "allée", "quai", "cours", "route",
  "calle", "avenida", "plaza", "paseo", "camino", "carrera", "carretera", "calzada",
  "via", "viale", "piazza", "corso", "vicolo", "largo",
  "straat", "laan", "gracht", "plein", "kade", "singel",
  "ulica", "ul", "aleja", "al", "rua", "travessa", "praça", "estrada", "vej", "gatan", "gata", "vägen", "katu", "tie"
])

const HOUSE_NUMBER = /^\d{1,5}[a-z]?$/i
const normalizeWord = (word: string) => word.toLowerCase().replace(/[.,]+$/, "")

export const streetAddressHit = (raw: string, named: boolean): DetectHit => {
  const value = raw.trim()
  if (value.length < 5 || value.length > 200) return 0
  const words = value.split(/[\s,]+/).filter((w) => w.length > 0)
  if (words.length < 2 || words.length > 16) return 0
  const hasNumber = words.some((w) => HOUSE_NUMBER.test(w) || /^\d{1,5}[a-z]?[-/]\d{1,4}$/i.test(w))
  if (!hasNumber) return 0
  const hasWord = words.some((w) => /\p{L}{2,}/u.test(w))
  if (!hasWord) return 0
  // Compound German/Dutch street names: `Hauptstraße`, `Bahnhofstr.`, `Kerkstraat`.
  const street = words.some((w) => {
    const word = normalizeWord(w)
    return STREET_WORDS.has(word) || /(straße|strasse|str|weg|gasse|platz|allee|straat|laan|gracht|vej|gatan|vägen|katu)$/.test(word)
  })
  if (street) return 2
  return named ? 1 : 0
}

export default definePlugin({
  name: "detect-street-address",
  kind: "detect",
  description: "street addresses: house number and a street word (many languages), or a column named address",
  options: Schema.Struct({}),
  make: () => ({
    entity: "street-address",
    evidence: "shape" as const,
    maskExample,
    compile: (column) => {
      if (familyOf(column) !== "text") return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return { signal: columnSignal, test: (value) => streetAddressHit(value, columnSignal !== "none") }
    }
  })
})
