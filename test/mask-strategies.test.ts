// The built-in masking strategies, through the same path the host uses: options decoded by the
// plugin's schema (unknown keys and bad values refused, naming the option), `make` with a mask
// context, `check` per column, `compile` per column. Outputs are checked for determinism,
// uniqueness where claimed (1,000,000 values), Unicode, and validity in a real PostgreSQL table.
import { beforeAll, describe, expect, it } from "vitest"
import { makeMaskContext, mapArrayLiteral } from "../src/engine/mask-kit.ts"
import type { MaskColumn, MaskContext, MaskStrategy } from "../src/engine/plugin.ts"
import { builtinPlugins } from "../src/plugins/index.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const KEY = new TextEncoder().encode("test mask key")
const contextWith = (key: Uint8Array | null = KEY, locale = "en"): MaskContext =>
  makeMaskContext({ ...(key === null ? {} : { key }), locale, plugins: builtinPlugins })
const context = contextWith()

const strategy = (name: string, options: unknown, ctx: MaskContext = context): MaskStrategy => ctx.strategy!(name, options)

const column = (type: string, extra: Partial<MaskColumn> = {}): MaskColumn => {
  const maxLength = /\((\d+)\)/.exec(type)?.[1]
  return {
    name: "c",
    type,
    typeOid: 0,
    baseType: type.replace(/\(.*?\)/, "").replace(/\[\]$/, "").trim(),
    isArray: type.endsWith("[]"),
    notNull: false,
    table: "public.t",
    maxLength: maxLength === undefined || !/char/.test(type) ? null : Number(maxLength),
    unique: false,
    ...extra
  }
}
const TEXT = column("text")

/** Mask `values` with `name(options)` compiled for `col`. */
const mask = (name: string, options: unknown, values: ReadonlyArray<string>, col: MaskColumn = TEXT, ctx = context) => {
  const s = strategy(name, options, ctx)
  expect(s.check?.(col)).toBeUndefined()
  const f = s.compile(col)
  return values.map(f)
}

const UNICODE = ["Zoë", "東京都港区", "👩‍👩‍👧 family", "e\u0301te\u0301", "", "x".repeat(5000)]

describe("option errors name the option", () => {
  const INVALID: ReadonlyArray<{ name: string; options: unknown; message: RegExp }> = [
    { name: "hash", options: { lenght: 8 }, message: /option lenght: unknown option "lenght"/ },
    { name: "hash", options: { length: 0 }, message: /option length:/ },
    { name: "hash", options: { format: "hexx" }, message: /option format: Expected "hex" \| "base32" \| "numeric"/ },
    { name: "null", options: { value: "x" }, message: /option value: unknown option "value"; this strategy takes no options/ },
    { name: "keep", options: {}, message: /option reason: Missing key/ },
    { name: "keep", options: { reason: "  " }, message: /option reason: give a reason/ },
    { name: "partial", options: { keep_first: -1 }, message: /option keep_first:/ },
    { name: "partial", options: { mask_char: "ab" }, message: /option mask_char: mask_char must be one character/ },
    { name: "email", options: { domain: "other" }, message: /option domain:/ },
    { name: "email", options: { unique: "yes" }, message: /option unique: Expected boolean/ },
    { name: "date_shift", options: { max_days: 0 }, message: /option max_days:/ },
    { name: "date_shift", options: { keep_years: true }, message: /option keep_years: unknown option/ },
    { name: "noise", options: {}, message: /option percent: Missing key/ },
    { name: "noise", options: { percent: -5 }, message: /option percent:/ },
    { name: "noise", options: { percent: 5, min: 10, max: 1 }, message: /option min: min \(10\) is greater than max \(1\)/ },
    { name: "regex_replace", options: { pattern: "(", replacement: "" }, message: /option pattern: invalid regular expression/ },
    { name: "regex_replace", options: { pattern: "a", replacement: "", flags: "q" }, message: /option flags: unknown regular expression flags/ },
    { name: "regex_replace", options: { pattern: "a" }, message: /option replacement: Missing key/ },
    { name: "faker", options: { faker_provider: "person.nope" }, message: /option faker_provider: unknown faker provider "person.nope"/ },
    { name: "faker", options: { faker_provider: "helpers.arrayElement" }, message: /option faker_provider: unknown faker provider/ },
    { name: "faker", options: { faker_provider: "number.int" }, message: /option faker_provider: faker provider "number.int" gives number values/ },
    { name: "faker", options: { faker_provider: "person.firstName", locale: "xx_YY" }, message: /option locale: unknown faker locale "xx_YY"/ },
    { name: "faker", options: { faker_provider: "person.firstName", seed: 1 }, message: /option seed: unknown option "seed"/ },
    { name: "json", options: { paths: [] }, message: /option paths:/ },
    { name: "json", options: { paths: [{ path: "email", masking_strategy: "email" }] }, message: /option paths\.0\.path: path "email" must start with \$/ },
    { name: "json", options: { paths: [{ path: "$.a" }] }, message: /option paths\.0\.masking_strategy: masking_strategy .* is required/ },
    { name: "json", options: { paths: [{ path: "$.a", masking_strategy: "nope" }] }, message: /paths\[0\] \(\$\.a\): unknown masking strategy "nope"/ },
    { name: "json", options: { paths: [{ path: "$.a", masking_strategy: "hash", lenght: 4 }] }, message: /paths\[0\] \(\$\.a\): strategy "hash": option lenght: unknown option/ }
  ]
  it.each(INVALID)("$name $options", ({ name, options, message }) => {
    expect(() => strategy(name, options)).toThrow(message)
  })

  it("the unknown-key check does not depend on the host's parse options", () => {
    for (const plugin of builtinPlugins.filter((p) => p.kind === "mask")) {
      const raw = { surely_not_an_option: 1 }
      expect(() => strategy(plugin.name, raw), plugin.name).toThrow(/surely_not_an_option/)
    }
  })
})

describe("check() refuses columns a strategy cannot write", () => {
  const REFUSED: ReadonlyArray<{ name: string; options: unknown; column: MaskColumn; reason: RegExp }> = [
    { name: "email", options: {}, column: column("integer"), reason: /e-mail addresses, and the column is integer/ },
    { name: "email", options: {}, column: column("character varying(10)"), reason: /holds 10/ },
    { name: "noise", options: { percent: 5 }, column: TEXT, reason: /numbers, and the column is text/ },
    { name: "date_shift", options: {}, column: TEXT, reason: /dates, and the column is text/ },
    { name: "hash", options: {}, column: column("character varying(8)"), reason: /up to 16 characters, and the column holds 8/ },
    { name: "hash", options: { format: "hex" }, column: column("integer"), reason: /hex text, and the column is integer/ },
    { name: "hash", options: { format: "numeric" }, column: TEXT, reason: /permutes integers, and the column is text/ },
    { name: "hash", options: { format: "numeric", length: 10 }, column: column("integer"), reason: /more digits than integer holds/ },
    { name: "redact", options: {}, column: column("character varying(5)"), reason: /up to 8 characters, and the column holds 5/ },
    { name: "redact", options: {}, column: column("date"), reason: /give a `value` valid for that type/ },
    { name: "redact", options: { value: "soon" }, column: column("date"), reason: /not a valid date/ },
    { name: "redact", options: { value: "1.5" }, column: column("integer"), reason: /not a valid integer/ },
    { name: "partial", options: {}, column: column("uuid"), reason: /text, and the column is uuid/ },
    { name: "regex_replace", options: { pattern: "a", replacement: "b" }, column: column("bigint"), reason: /bigint/ },
    { name: "faker", options: { faker_provider: "person.firstName" }, column: column("date"), reason: /date/ },
    { name: "json", options: { paths: [{ path: "$.a", masking_strategy: "email" }] }, column: TEXT, reason: /json documents, and the column is text/ },
    { name: "json", options: { paths: [{ path: "$.a", masking_strategy: "date_shift" }] }, column: column("jsonb"), reason: /at \$\.a, strategy date_shift cannot mask/ }
  ]
  it.each(REFUSED)("$name on $column.type", ({ name, options, column, reason }) => {
    expect(strategy(name, options).check?.(column)).toMatch(reason)
  })
})

describe("properties the host relies on", () => {
  const PROPERTIES: ReadonlyArray<[string, unknown, { deterministic: boolean; unique: boolean; mayReturnNull: boolean }]> = [
    ["null", {}, { deterministic: true, unique: false, mayReturnNull: true }],
    ["keep", { reason: "a product code" }, { deterministic: true, unique: true, mayReturnNull: false }],
    ["hash", {}, { deterministic: true, unique: false, mayReturnNull: false }],
    ["hash", { format: "numeric" }, { deterministic: true, unique: true, mayReturnNull: false }],
    ["hash", { format: "numeric", length: 6 }, { deterministic: true, unique: false, mayReturnNull: false }],
    ["email", {}, { deterministic: true, unique: true, mayReturnNull: false }],
    ["email", { unique: false }, { deterministic: true, unique: false, mayReturnNull: false }],
    ["email", { unique: true }, { deterministic: true, unique: true, mayReturnNull: false }],
    ["faker", { faker_provider: "person.firstName" }, { deterministic: true, unique: false, mayReturnNull: false }],
    ["faker", { faker_provider: "person.firstName", deterministic: false }, { deterministic: false, unique: false, mayReturnNull: false }],
    ["json", { paths: [{ path: "$.a", masking_strategy: "faker", faker_provider: "person.firstName", deterministic: false }] }, { deterministic: false, unique: false, mayReturnNull: false }]
  ]
  it.each(PROPERTIES)("%s %j", (name, options, expected) => {
    const s = strategy(name, options)
    expect({ deterministic: s.deterministic, unique: s.unique, mayReturnNull: s.mayReturnNull }).toEqual(expected)
  })
})

describe("each strategy on normal, Unicode, empty and long values", () => {
  it("null and keep", () => {
    expect(mask("null", {}, ["a", ""])).toEqual([null, null])
    expect(mask("keep", { reason: "public catalogue data" }, UNICODE)).toEqual(UNICODE)
  })

  it("redact: the constant, default REDACTED", () => {
    expect(mask("redact", {}, ["secret", ...UNICODE])).toEqual(Array(7).fill("REDACTED"))
    expect(mask("redact", { value: "0" }, ["42"], column("integer"))).toEqual(["0"])
    expect(mask("redact", { value: "" }, ["x"])).toEqual([""])
  })

  it("partial: keeps the ends, masks the middle, keeps the length in code points", () => {
    const options = { keep_first: 2, keep_last: 2 }
    expect(mask("partial", options, ["4111111111111111", "abcd", "abc", "", "Zoë Åström"])).toEqual([
      "41************11",
      "abcd".replace(/./g, "*"),
      "***",
      "",
      "Zo******öm"
    ])
    expect(mask("partial", { keep_first: 1, keep_last: 1, mask_char: "•" }, ["👩‍👩‍👧x", "東京都港区"])).toEqual(["👩••••x", "東•••区"])
    const long = mask("partial", { keep_last: 4 }, ["x".repeat(5000)])[0]!
    expect(long).toBe("*".repeat(4996) + "xxxx")
  })

  it("regex_replace: JavaScript replace semantics, every match by default", () => {
    expect(mask("regex_replace", { pattern: "\\d", replacement: "#" }, ["a1b22", "", "東京1"])).toEqual(["a#b##", "", "東京#"])
    expect(mask("regex_replace", { pattern: "^(\\w)\\w*", replacement: "$1.", flags: "u" }, ["Ada Lovelace"])).toEqual(["A. Lovelace"])
    expect(mask("regex_replace", { pattern: "\\p{L}", replacement: "x", flags: "gu" }, ["Zoë 東"])).toEqual(["xxx x"])
    // A sticky expression starts again at 0 for every value.
    expect(mask("regex_replace", { pattern: "a", replacement: "b", flags: "y" }, ["aa", "aa"])).toEqual(["ba", "ba"])
  })

  it("hash: hex, base32 and numeric text of the asked length", () => {
    const values = ["a", "b", ...UNICODE]
    for (const [options, pattern] of [
      [{}, /^[0-9a-f]{16}$/],
      [{ length: 40 }, /^[0-9a-f]{40}$/],
      [{ format: "base32", length: 7 }, /^[a-z2-7]{7}$/],
      [{ format: "base32", length: 100 }, /^[a-z2-7]{100}$/],
      [{ format: "numeric", length: 33 }, /^\d{33}$/]
    ] as const) {
      const out = mask("hash", options, values)
      for (const o of out) expect(o).toMatch(pattern)
      expect(new Set(out).size).toBe(values.length)
    }
  })

  it("hash numeric permutes integer keys within their type", () => {
    expect(mask("hash", { format: "numeric" }, ["1", "2", "-2147483648", "2147483647"], column("integer")).map(Number).every(
      (n) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647
    )).toBe(true)
    const [big] = mask("hash", { format: "numeric" }, ["9223372036854775807"], column("bigint"))
    expect(BigInt(big!) <= 9223372036854775807n && BigInt(big!) >= 0n).toBe(true)
  })

  it("email: a valid address at example.com, or at the kept domain", () => {
    const out = mask("email", {}, ["ada@acme.com", "not an address", ...UNICODE])
    for (const o of out) expect(o).toMatch(/^u[a-z2-7]{12}@example\.com$/)
    const kept = mask("email", { domain: "keep" }, ["ada@acme.com", "bob@münchen.de", "nodomain", "@x"])
    expect(kept[0]).toMatch(/^u[a-z2-7]{12}@acme\.com$/)
    expect(kept[1]).toMatch(/^u[a-z2-7]{12}@münchen\.de$/)
    expect(kept[2]).toMatch(/^n[a-z2-7]{12}@example\.com$/)
    expect(kept[3]).toMatch(/^n[a-z2-7]{12}@example\.com$/)
  })

  it("email fits a tight column with a shorter code, and unique refuses to cut", () => {
    const [short] = mask("email", {}, ["ada@acme.com"], column("character varying(20)"))
    expect(short).toMatch(/^u[a-z2-7]{7}@example\.com$/)
    const f = strategy("email", { unique: true }).compile(column("character varying(30)"))
    expect(() => f("a.very.long.address.indeed@example.org")).toThrow(/does not fit public\.t\.c/)
  })

  it("date_shift: date, timestamp and timestamptz text, infinity, BC, time part kept", () => {
    const options = { max_days: 30 }
    const values = ["2024-01-31", "2024-01-31 12:34:56", "2024-01-31 12:34:56.789+00", "2024-01-31 23:59:59+05:30", "infinity", "-infinity", "0044-03-15 BC", "10000-01-01"]
    const out = mask("date_shift", options, values, column("timestamp with time zone"))
    expect(out[1]).toBe(`${out[0]} 12:34:56`)
    expect(out[2]).toBe(`${out[0]} 12:34:56.789+00`)
    expect(out[3]).toBe(`${out[0]} 23:59:59+05:30`)
    expect(out.slice(4, 6)).toEqual(["infinity", "-infinity"])
    expect(out[6]).toMatch(/^00(43|44|45)-\d\d-\d\d BC$/)
    expect(out[7]).toMatch(/^(9999-12|10000-0[12])-\d\d$/)
    const days = (a: string, b: string) => (Date.parse(a.slice(0, 10)) - Date.parse(b.slice(0, 10))) / 86_400_000
    expect(Math.abs(days(out[0]!, values[0]!))).toBeGreaterThanOrEqual(1)
    expect(Math.abs(days(out[0]!, values[0]!))).toBeLessThanOrEqual(30)
  })

  it("date_shift crosses the era boundary both ways, for dates and timestamps, again from its cache", () => {
    // Astronomical day number of `YYYY-MM-DD[ time][ BC]` (1 BC is year 0).
    const dayOf = (text: string) => {
      const [, y, m, d] = /^(\d{4,})-(\d\d)-(\d\d)/.exec(text)!
      const year = text.endsWith(" BC") ? 1 - Number(y) : Number(y)
      const date = new Date(0)
      date.setUTCFullYear(year, Number(m) - 1, Number(d))
      return Math.round(date.getTime() / 86_400_000)
    }
    const inputs = [
      ...Array.from({ length: 20 }, (_, i) => `0001-01-${String(i + 1).padStart(2, "0")}`),
      ...Array.from({ length: 20 }, (_, i) => `0001-12-${String(i + 10).padStart(2, "0")} BC`),
      ...Array.from({ length: 20 }, (_, i) => `0001-01-${String(i + 1).padStart(2, "0")} 10:00:00`)
    ]
    for (const round of [1, 2]) {
      const out = mask("date_shift", { max_days: 30 }, inputs, column("timestamp without time zone"))
      out.forEach((value, i) => {
        const shift = dayOf(value!) - dayOf(inputs[i]!)
        expect(Math.abs(shift), `${inputs[i]} -> ${value} (round ${round})`).toBeGreaterThanOrEqual(1)
        expect(Math.abs(shift), `${inputs[i]} -> ${value} (round ${round})`).toBeLessThanOrEqual(30)
      })
      expect(out.some((value) => value!.endsWith(" BC"))).toBe(true)
      expect(out.slice(40).map((value) => value!.replace(/ 10:00:00( BC)?$/, "$1"))).toEqual(out.slice(0, 20))
    }
  })

  it("date_shift keeps offsets within max_days and, with keep_year, the year", () => {
    const values = Array.from({ length: 2000 }, (_, i) => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10))
    const plain = mask("date_shift", { max_days: 45 }, values, column("date"))
    const kept = mask("date_shift", { max_days: 45, keep_year: true }, values, column("date"))
    values.forEach((v, i) => {
      const shift = (Date.parse(plain[i]!) - Date.parse(v)) / 86_400_000
      expect(shift !== 0 && Math.abs(shift) <= 45).toBe(true)
      expect(kept[i]!.slice(0, 4)).toBe(v.slice(0, 4))
      expect(kept[i]).not.toBe(v)
    })
  })

  it("noise: within percent, integer-ness, scale and type range kept, clamps applied", () => {
    const numeric = column("numeric(8,2)")
    const out = mask("noise", { percent: 10 }, ["12.50", "100.00", "-3.10", "0.00", "NaN", "999999.99"], numeric)
    expect(out[0]).toMatch(/^1[1-3]\.\d\d$/)
    expect(Number(out[1])).toBeGreaterThanOrEqual(90)
    expect(Number(out[1])).toBeLessThanOrEqual(110)
    expect(out[2]).toMatch(/^-\d\.\d\d$/)
    expect(out.slice(3, 5)).toEqual(["0.00", "NaN"])
    expect(Number(out[5])).toBeLessThanOrEqual(999999.99)
    const ints = mask("noise", { percent: 50 }, ["1000", "32767", "-32768"], column("smallint"))
    for (const i of ints) expect(Number.isInteger(Number(i)) && Math.abs(Number(i)) <= 32768).toBe(true)
    const clamped = mask("noise", { percent: 90, min: 0, max: 100 }, Array.from({ length: 200 }, (_, i) => String(i)), column("integer"))
    for (const c of clamped) expect(Number(c) >= 0 && Number(c) <= 100).toBe(true)
    const huge = "123456789012345678901234567890.123456789"
    const [noisy] = mask("noise", { percent: 1 }, [huge], column("numeric"))
    expect(noisy).toMatch(/^12\d{28}\.\d{9}$/)
    const floats = mask("noise", { percent: 10 }, ["1.5", "Infinity", "-1e+300"], column("double precision"))
    expect(Number(floats[0])).toBeGreaterThan(1.35)
    expect(floats[1]).toBe("Infinity")
    expect(Number.isFinite(Number(floats[2]))).toBe(true)
  })

  it("json: paths with nested strategies, other values and long numbers untouched", () => {
    const options = {
      paths: [
        { path: "$.email", masking_strategy: "email" },
        { path: "$.contacts[*].phone", masking_strategy: "partial", keep_last: 2 },
        { path: "$.address.street", masking_strategy: "redact", value: "x" },
        { path: "$['odd key']", masking_strategy: "null" },
        { path: "$.salary", masking_strategy: "noise", percent: 10 }
      ]
    }
    const doc = {
      email: "ada@acme.com",
      contacts: [{ phone: "+44 20 7946 0958" }, { phone: "555", note: "东京" }],
      address: { street: "1 Main St", city: "Oslo" },
      "odd key": "secret",
      salary: 5000,
      id: 123456789012345678901234567890
    }
    const text = JSON.stringify(doc).replace("1.2345678901234568e+29", "123456789012345678901234567890")
    const [out] = mask("json", options, [text], column("jsonb"))
    const parsed = JSON.parse(out!)
    expect(parsed.email).toMatch(/^u[a-z2-7]{12}@example\.com$/)
    expect(parsed.contacts).toEqual([{ phone: "**************58" }, { phone: "*55", note: "东京" }])
    expect(parsed.address).toEqual({ street: "x", city: "Oslo" })
    expect(parsed["odd key"]).toBeNull()
    expect(typeof parsed.salary).toBe("number")
    expect(Math.abs(parsed.salary - 5000)).toBeLessThanOrEqual(500)
    expect(out).toContain('"id":123456789012345678901234567890')
    // Paths that select nothing leave the document as it was.
    expect(mask("json", options, ['{"other": [1, 2]}', "[]", '"just a string"'], column("json"))).toEqual(['{"other":[1,2]}', "[]", '"just a string"'])
  })

  it.each([
    ["person.firstName", "en"],
    ["person.lastName", "de"],
    ["person.fullName", "ja"],
    ["location.city", "fr"],
    ["location.streetAddress", "es"],
    ["location.country", "it"],
    ["location.zipCode", "en"],
    ["company.name", "de"],
    ["lorem.word", "en"],
    ["lorem.sentence", "en"],
    ["phone.number", "de"],
    ["internet.username", "en"],
    ["text", "en"]
  ])("faker %s (%s): text, deterministic, varied, fits the column", (provider, locale) => {
    const values = Array.from({ length: 200 }, (_, i) => `input ${i}`).concat(UNICODE)
    const a = mask("faker", { faker_provider: provider, locale }, values, column("character varying(60)"))
    const b = mask("faker", { faker_provider: provider, locale }, values, column("character varying(60)"), contextWith())
    expect(a).toEqual(b)
    for (const out of a) {
      expect(typeof out).toBe("string")
      expect(out!.length).toBeGreaterThan(0)
      expect([...out!].length).toBeLessThanOrEqual(60)
      expect(out).not.toMatch(/\{\{|#/)
    }
    expect(new Set(a).size).toBeGreaterThan(20)
  })

  it("faker uses the context's locale when the rule gives none, its language when faker lacks the region", () => {
    const de = mask("faker", { faker_provider: "location.city" }, ["x", "y", "z"], TEXT, contextWith(KEY, "de"))
    const deDE = mask("faker", { faker_provider: "location.city" }, ["x", "y", "z"], TEXT, contextWith(KEY, "de-DE"))
    expect(deDE).toEqual(de)
    const ja = mask("faker", { faker_provider: "person.lastName" }, ["x"], TEXT, contextWith(KEY, "ja"))[0]!
    expect(ja).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/)
  })

  it("faker deterministic: false gives values unrelated to the input", () => {
    const out = mask("faker", { faker_provider: "person.fullName", deterministic: false }, Array(200).fill("same input"))
    expect(new Set(out).size).toBeGreaterThan(100)
  })
})

describe("determinism and keys", () => {
  const CASES: ReadonlyArray<[string, unknown, MaskColumn, ReadonlyArray<string>]> = [
    ["hash", {}, TEXT, ["a", "b", ...UNICODE]],
    ["hash", { format: "numeric" }, column("bigint"), ["1", "2", "3", "-4"]],
    ["email", {}, TEXT, ["ada@acme.com", ...UNICODE]],
    ["email", { unique: true }, TEXT, ["ada@acme.com", "bob@acme.com", "Zoë@b.c"]],
    ["faker", { faker_provider: "person.fullName" }, TEXT, ["a", "b", "c", "d"]],
    ["faker", { faker_provider: "lorem.sentence" }, TEXT, ["a", "b", "c", "d"]],
    ["date_shift", { max_days: 365 }, column("date"), ["2024-01-31", "1999-12-31", "1970-01-01", "2000-02-29"]],
    ["noise", { percent: 20 }, column("numeric"), ["12.50", "1000", "3.14159", "77"]]
  ]
  it.each(CASES)("%s %j: same key, same output; other key, other output; no key, random per run", (name, options, col, values) => {
    const one = mask(name, options, values, col, contextWith())
    const two = mask(name, options, values, col, contextWith())
    const other = mask(name, options, values, col, contextWith(new TextEncoder().encode("other key")))
    const unkeyed = mask(name, options, values, col, contextWith(null))
    expect(two).toEqual(one)
    expect(other).not.toEqual(one)
    expect(unkeyed).not.toEqual(one)
  })

  it("strategies on one value are unrelated (purposes differ)", () => {
    const hex = mask("hash", {}, ["ada@acme.com"])[0]!
    const email = mask("email", {}, ["ada@acme.com"])[0]!
    expect(email.slice(1, 13)).not.toBe(hex.slice(0, 12))
  })

  it("the same rule maps a value the same way in every column, so joins survive", () => {
    const s = strategy("email", { unique: true })
    const a = s.compile(column("text", { table: "public.customer", name: "email" }))
    const b = s.compile(column("character varying(200)", { table: "public.orders", name: "customer_email" }))
    expect(a("ada@acme.com")).toBe(b("ada@acme.com"))
  })
})

describe("uniqueness where claimed, at 1,000,000 values", () => {
  const N = 1_000_000

  it("hash numeric on bigint and integer keys: no collision", () => {
    for (const type of ["bigint", "integer"]) {
      const f = strategy("hash", { format: "numeric" }).compile(column(type))
      const seen = new Set<string>()
      for (let i = 1; i <= N; i++) seen.add(f(String(i))!)
      expect(seen.size).toBe(N)
    }
  }, 120_000)

  it("email unique: no collision over 1,000,000 addresses, nor with domain: keep", () => {
    for (const domain of ["replace", "keep"] as const) {
      const f = strategy("email", { unique: true, domain }).compile(TEXT)
      const seen = new Set<string>()
      for (let i = 0; i < N; i++) seen.add(f(`user${i}@${i % 3 === 0 ? "acme.com" : "example.org"}`)!)
      expect(seen.size).toBe(N)
    }
  }, 120_000)
})

describe("arrays through the helpers, as the host masks them", () => {
  it("masks element by element and formats the literal again (NULL and empty kept)", () => {
    const f = strategy("partial", { keep_first: 1 }).compile(column("text[]"))
    const literal = '{"Ada Lovelace",NULL,"",Zoë,"with \\"quote\\""}'
    const masked = mapArrayLiteral(literal, f)
    expect(masked).toBe(`{A***********,NULL,"",Z**,w${"*".repeat(11)}}`)
  })
})

describe("outputs are valid for PostgreSQL", () => {
  let url: string
  beforeAll(async () => {
    url = await freshDatabase("maskstrat")
  })

  const TYPED: ReadonlyArray<[string, unknown, string, ReadonlyArray<string>]> = [
    ["date_shift", { max_days: 400 }, "date", ["2024-01-31", "2024-02-29", "0001-01-01", "0044-03-15 BC", "infinity", "9999-12-31"]],
    ["date_shift", { max_days: 400, keep_year: true }, "timestamp", ["2024-01-01 00:00:00", "2024-12-31 23:59:59.999999", "0010-06-01 12:00:00 BC"]],
    ["date_shift", { max_days: 10 }, "timestamp with time zone", ["2024-01-31 12:00:00+00", "2024-03-31 01:30:00.5+00", "-infinity"]],
    ["noise", { percent: 25 }, "numeric(6,2)", ["12.50", "9999.99", "-9999.99", "0.01"]],
    ["noise", { percent: 25 }, "smallint", ["32767", "-32768", "100"]],
    ["noise", { percent: 25 }, "real", ["3.4e+38", "1.5", "-0"]],
    ["hash", { format: "numeric" }, "bigint", ["1", "9223372036854775807", "-9223372036854775808"]],
    ["hash", { format: "numeric" }, "integer", ["1", "2147483647", "-2147483648"]],
    ["hash", { format: "numeric" }, "smallint", ["1", "32767", "-32768"]],
    ["hash", { format: "numeric", length: 4 }, "smallint", ["7"]],
    ["redact", { value: "1970-01-01" }, "date", ["2024-01-31"]],
    ["email", { unique: true }, "character varying(60)", ["ada@acme.com", "Zoë@münchen.de"]],
    ["faker", { faker_provider: "person.fullName", locale: "ja" }, "character varying(10)", ["a", "b", "c"]],
    ["partial", { keep_first: 1 }, "character(8)", ["ab      "]],
    ["json", { paths: [{ path: "$.a[*]", masking_strategy: "hash", length: 6 }] }, "jsonb", ['{"a": ["x", 1, null, true, {"b": 2}]}']]
  ]

  it.each(TYPED)("%s %j into %s", async (name, options, type, values) => {
    const table = `t_${Math.random().toString(36).slice(2, 10)}`
    const col = column(type, type === "smallint" || type === "bigint" || type === "integer" ? {} : {})
    const masked = mask(name, options, values, col)
    await runSql(url, `CREATE TABLE ${table} (i int, v ${type})`)
    await runSql(url, `INSERT INTO ${table} SELECT i, v::${type} FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i)`, [masked])
    const rows = await runSql<{ v: string }>(url, `SELECT format('%s', v) AS v FROM ${table} ORDER BY i`)
    // What went in is what PostgreSQL prints (except float and numeric spellings it normalises).
    if (!["real", "jsonb"].includes(type)) expect(rows.map((r) => r.v)).toEqual(masked)
    else expect(rows).toHaveLength(masked.length)
  })
})
