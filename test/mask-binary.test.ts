// The binary fast paths of the masking strategies (`compileBinary`) against their text paths
// (`compile`): for every value, masking the binary form and decoding the result must give exactly
// what masking the text gives, or a column would mask differently in a table that travels in text
// format (joins on masked columns across tables would break). Values come from PostgreSQL itself
// (its binary and text output of the same rows), so the binary input is what COPY really sends.
import { Buffer } from "node:buffer"
import { beforeAll, describe, expect, it } from "vitest"
import { columnCodec } from "../src/engine/binary-values.ts"
import { ByteWriter } from "../src/engine/byte-writer.ts"
import { makeMaskContext, memoizeBinary } from "../src/engine/mask-kit.ts"
import type { BinaryMask, MaskColumn, MaskContext } from "../src/engine/plugin.ts"
import { builtinPlugins } from "../src/plugins/index.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const context: MaskContext = makeMaskContext({ key: new TextEncoder().encode("binary key"), locale: "en", plugins: builtinPlugins })

const column = (type: string, baseType: string, typeOid: number, extra: Partial<MaskColumn> = {}): MaskColumn => ({
  name: "c",
  type,
  typeOid,
  baseType,
  isArray: false,
  notNull: false,
  table: "public.t",
  maxLength: null,
  unique: false,
  ...extra
})

const sendOf: Record<string, string> = {
  date: "date_send",
  timestamptz: "timestamptz_send",
  timestamp: "timestamp_send",
  numeric: "numeric_send",
  text: "textsend",
  "character varying": "varcharsend"
}

let url: string
beforeAll(async () => {
  // Text as the engine's source sessions print it (binary-values.ts CANONICAL_SESSION_SETTINGS).
  url = `${await freshDatabase("mask_binary")}?options=${encodeURIComponent("-c TimeZone=UTC -c DateStyle=ISO")}`
})

const fetch = async (type: string, valuesSql: string) => {
  const rows = await runSql(
    url,
    `SELECT format('%s', v) AS text, encode(${sendOf[type]}(v), 'hex') AS hex FROM (${valuesSql}) AS s(v) WHERE v IS NOT NULL`
  )
  return rows.map((r) => ({ text: String(r["text"]), binary: Buffer.from(String(r["hex"]), "hex") }))
}

/** Mask every value both ways and compare; returns how many outputs differed from their inputs. */
const compare = (strategyName: string, options: unknown, col: MaskColumn, values: ReadonlyArray<{ text: string; binary: Buffer }>) => {
  const strategy = context.strategy!(strategyName, options)
  const text = strategy.compile(col)
  const binary = strategy.compileBinary?.(col)
  expect(binary, `${strategyName} has a binary path for ${col.type}`).toBeDefined()
  const codec = columnCodec(col)!
  let changed = 0
  const out = new ByteWriter(64)
  for (const value of values) {
    out.pos = 0
    // Offset the value inside a bigger buffer, as it sits inside a COPY chunk.
    const chunk = Buffer.concat([Buffer.from([1, 2, 3]), value.binary, Buffer.from([9])])
    binary!(chunk, 3, value.binary.length, out)
    const fromBinary = codec.decode(out.buf, 0, out.pos)
    const fromText = text(value.text)
    expect({ value: value.text, masked: fromBinary }).toEqual({ value: value.text, masked: fromText })
    if (fromBinary !== value.text) changed++
  }
  return changed
}

describe("binary masking gives exactly the text path's values", () => {
  it("date_shift on dates: AD, BC, infinity, far past and future, keep_year", async () => {
    const values = await fetch(
      "date",
      `SELECT d FROM (SELECT date '1800-01-01' + (g * 37) AS d FROM generate_series(0, 3000) g
         UNION ALL SELECT date '2000-02-29' UNION ALL SELECT date '1999-12-31' UNION ALL SELECT date '0044-03-15 BC'
         UNION ALL SELECT date '4713-01-01 BC' + 400 UNION ALL SELECT date '5874897-12-31' - 40000 UNION ALL SELECT date '0001-01-01'
         UNION ALL SELECT 'infinity'::date UNION ALL SELECT '-infinity'::date UNION ALL SELECT date '1700-06-01') AS t`
    )
    const col = column("date", "date", 1082)
    expect(compare("date_shift", { max_days: 180 }, col, values)).toBe(values.length - 2)
    compare("date_shift", { max_days: 365, keep_year: true }, col, values)
    compare("date_shift", {}, col, values)
  })

  it("date_shift on timestamptz and timestamp, fractions kept, outside the fast range too", async () => {
    const sql = `SELECT t FROM (SELECT timestamptz '1990-01-01 00:00:00+00' + g * interval '1 day 3 hours 17 minutes 0.123457 seconds' AS t FROM generate_series(0, 3000) g
        UNION ALL SELECT timestamptz '1999-12-31 23:59:59.999999+00' UNION ALL SELECT timestamptz '2000-01-01 00:00:00+00'
        UNION ALL SELECT timestamptz '1600-05-05 12:00:00+00' UNION ALL SELECT timestamptz '2300-05-05 23:59:59.5+00'
        UNION ALL SELECT timestamptz '0044-03-15 10:00:00+00 BC' UNION ALL SELECT 'infinity'::timestamptz UNION ALL SELECT '-infinity'::timestamptz) AS s`
    const tz = await fetch("timestamptz", sql)
    compare("date_shift", { max_days: 30 }, column("timestamp with time zone", "timestamp with time zone", 1184), tz)
    compare("date_shift", { max_days: 30, keep_year: true }, column("timestamp with time zone", "timestamp with time zone", 1184), tz)
    const plain = await fetch("timestamp", sql.replaceAll("timestamptz", "timestamp").replaceAll("+00", ""))
    compare("date_shift", { max_days: 90 }, column("timestamp without time zone", "timestamp without time zone", 1114), plain)
  })

  it("noise on numeric: scales, signs, zero, NaN, infinities, huge values, bounds and declared precision", async () => {
    const values = await fetch(
      "numeric",
      `SELECT v FROM (SELECT ((g * 104729) % 10000000 - 5000000) / 100.0 AS v FROM generate_series(0, 4000) g
         UNION ALL SELECT 0::numeric UNION ALL SELECT 0.00 UNION ALL SELECT -0.01 UNION ALL SELECT 0.0005 UNION ALL SELECT 12345678.9
         UNION ALL SELECT 10000 UNION ALL SELECT 99999999.99 UNION ALL SELECT 'NaN'::numeric UNION ALL SELECT 'Infinity'::numeric
         UNION ALL SELECT '-Infinity'::numeric UNION ALL SELECT 123456789012345678901234567890.123456789
         UNION ALL SELECT 0.000000000000123 UNION ALL SELECT 4503599627370495 UNION ALL SELECT 1e20) AS t`
    )
    const plain = column("numeric", "numeric", 1700)
    expect(compare("noise", { percent: 10 }, plain, values)).toBeGreaterThan(values.length * 0.9)
    compare("noise", { percent: 1000 }, plain, values)
    compare("noise", { percent: 5, min: -100.5, max: 1000 }, plain, values)
    const declared = await fetch("numeric", `SELECT round(((g * 7919) % 1000000000 - 3) / 100.0, 2) FROM generate_series(0, 3000) g UNION ALL SELECT 9999999999.99`)
    compare("noise", { percent: 50 }, column("numeric(12,2)", "numeric", 1700), declared)
  })

  it("email (hashed, replace or keep the domain) and faker on text: ASCII and Unicode", async () => {
    const values = await fetch(
      "text",
      `SELECT v FROM (SELECT 'user' || g || '@example.org' AS v FROM generate_series(1, 2000) g
         UNION ALL SELECT 'Zoë.Łukasz@bücher.de' UNION ALL SELECT 'no-at-sign' UNION ALL SELECT '@' UNION ALL SELECT 'a@'
         UNION ALL SELECT '' UNION ALL SELECT '東京@例え.jp' UNION ALL SELECT repeat('x', 3000) || '@big.example') AS t`
    )
    const text = column("text", "text", 25)
    compare("email", { domain: "replace", unique: false }, text, values)
    compare("email", { domain: "keep", unique: false }, text, values)
    compare("email", { domain: "replace", unique: false }, column("character varying(20)", "character varying", 1043, { maxLength: 20 }), values.filter((v) => v.text.length < 40))
    compare("faker", { faker_provider: "person.fullName" }, text, values)
    compare("faker", { faker_provider: "location.city", locale: "de" }, text, values)
    compare("faker", { faker_provider: "person.firstName" }, column("character varying(4)", "character varying", 1043, { maxLength: 4 }), values)
  })

  it("strategies offer no binary path where they cannot keep the text path's values", () => {
    const text = column("text", "text", 25)
    expect(context.strategy!("email", {}).compileBinary?.({ ...text, unique: true })).toBeUndefined()
    expect(context.strategy!("noise", { percent: 5 }).compileBinary?.(column("integer", "integer", 23))).toBeUndefined()
    expect(context.strategy!("faker", { faker_provider: "internet.ip" }).compileBinary?.(column("inet", "inet", 869))).toBeUndefined()
  })

  it("a column too narrow for a masked address fails as the text path does", async () => {
    const narrow = column("character varying(10)", "character varying", 1043, { maxLength: 10 })
    const strategy = context.strategy!("email", { unique: false })
    expect(() => strategy.compile(narrow)("someone@example.org")).toThrow(/does not fit public\.t\.c/)
    expect(() => strategy.compileBinary!(narrow)!(Buffer.from("someone@example.org"), 0, 19, new ByteWriter(8))).toThrow(/does not fit public\.t\.c/)
  })

  it("faker's remembered outputs of repeated values are the text path's, and a column of distinct values turns the memo off", () => {
    const text = column("text", "text", 25)
    const strategy = context.strategy!("faker", { faker_provider: "person.fullName" })
    const textMask = strategy.compile(text)
    const binary = strategy.compileBinary!(text)!
    const out = new ByteWriter(64)
    for (let i = 0; i < 30_000; i++) {
      const value = `person ${i % 300}`
      const bytes = Buffer.from(value)
      out.pos = 0
      binary(bytes, 0, bytes.length, out)
      expect(out.buf.toString("utf8", 0, out.pos)).toBe(textMask(value))
    }
  })

  it("memoizeBinary calls the mask once per repeated value, and for every value once values do not repeat", () => {
    let calls = 0
    const reverse: BinaryMask = (bytes, start, length, out) => {
      calls++
      for (let i = start + length - 1; i >= start; i--) out.u8(bytes[i]!)
    }
    const memo = memoizeBinary(reverse)
    const out = new ByteWriter(64)
    const run = (value: string) => {
      const bytes = Buffer.from(`xx${value}`)
      out.pos = 0
      memo(bytes, 2, bytes.length - 2, out)
      return out.buf.toString("utf8", 0, out.pos)
    }
    for (let i = 0; i < 10_000; i++) expect(run(`v${i % 100}`)).toBe(`v${i % 100}`.split("").reverse().join(""))
    expect(calls).toBe(100)
    const distinct = memoizeBinary(reverse)
    calls = 0
    const mask = (value: string) => {
      const bytes = Buffer.from(value)
      out.pos = 0
      distinct(bytes, 0, bytes.length, out)
      return out.buf.toString("utf8", 0, out.pos)
    }
    for (let i = 0; i < 50_000; i++) expect(mask(`u${i}`)).toBe(`u${i}`.split("").reverse().join(""))
    expect(calls).toBe(50_000)
    // Off for good: a value seen before is masked again rather than looked up.
    calls = 0
    mask("u1")
    expect(calls).toBe(1)
  })
})
