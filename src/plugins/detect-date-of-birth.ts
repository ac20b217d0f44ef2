/**
 * `date-of-birth`: birth dates (HIPAA Safe Harbor (C)). A date is not personal by its look, so a
 * value counts only in a column whose name says birth, and only when it is a plausible birth
 * date: not in the future and at most 120 years ago. Date and timestamp columns and dates
 * written as text (ISO, `31.12.1980`, `12/31/1980`) are read.
 */
import { familyOf, maskExample, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["dob", "birth", "birthday", "birthdate", "date of birth", "born", "geburtsdatum", "geburtstag", "naissance", "date naissance", "nacimiento", "fecha nacimiento", "nascita", "data nascita", "geboortedatum", "fodelsedatum", "dateofbirth"],
  weak: ["bday"],
  veto: ["place", "city", "country", "name", "count"]
})

const ISO = /^(\d{4})-(\d{2})-(\d{2})/
const DAY_FIRST = /^(\d{1,2})[./](\d{1,2})[./](\d{4})$/

/** The year of a date written in one of the accepted forms, or undefined. */
const yearOf = (value: string): number | undefined => {
  const iso = ISO.exec(value)
  if (iso !== null) return Number(iso[2]) >= 1 && Number(iso[2]) <= 12 && Number(iso[3]) >= 1 && Number(iso[3]) <= 31 ? Number(iso[1]) : undefined
  const other = DAY_FIRST.exec(value)
  if (other !== null) return Number(other[1]) <= 31 && Number(other[2]) <= 31 ? Number(other[3]) : undefined
  return undefined
}

export default definePlugin({
  name: "detect-date-of-birth",
  kind: "detect",
  description: "dates of birth: plausible dates (age 0-120) in columns named for birth",
  options: Schema.Struct({}),
  make: () => ({
    entity: "date-of-birth",
    evidence: "shape" as const,
    maskExample,
    compile: (column) => {
      const family = familyOf(column)
      if (family !== "date" && family !== "timestamp" && family !== "text") return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined || columnSignal === "none") return undefined
      const now = new Date()
      const thisYear = now.getUTCFullYear()
      const today = now.toISOString().slice(0, 10)
      return {
        signal: columnSignal,
        test: (raw) => {
          const value = raw.trim()
          const year = yearOf(value)
          if (year === undefined || year < thisYear - 120 || year > thisYear) return 0
          if (ISO.test(value) && value.slice(0, 10) > today) return 0
          return 1
        }
      }
    }
  })
})
