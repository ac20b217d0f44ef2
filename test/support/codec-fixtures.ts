/**
 * Fixtures for the row-codec tests: sample values for every type the binary converters support
 * (edge cases first, then seeded random ones), and a `stageTable` that reads a table's columns
 * from the catalog the way the engine's introspection does, so tests use real StageColumns.
 */
import pg from "pg"
import { CANONICAL_SESSION_SETTINGS } from "../../src/engine/binary-values.ts"
import type { StageColumn, StageTable } from "../../src/engine/stage.ts"

/** A connected client whose session prints values canonically (the engine's source sessions do too). */
export const connect = async (url: string): Promise<pg.Client> => {
  const options = Object.entries(CANONICAL_SESSION_SETTINGS).map(([name, value]) => `-c ${name}=${value}`).join(" ")
  const client = new pg.Client({ connectionString: url, options })
  await client.connect()
  return client
}

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
export const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const rand = random(20_260_101)
const int = (n: number) => Math.floor(rand() * n)
const pick = <T>(items: ReadonlyArray<T>): T => items[int(items.length)]!
const times = <T>(n: number, make: (i: number) => T): Array<T> => Array.from({ length: n }, (_, i) => make(i))

/** Characters that stress escaping and decoding: COPY escapes, controls, quotes, non-BMP. */
const TRICKY = [
  "\t", "\n", "\r", "\b", "\f", "\v", "\\", "\\N", "\\.", "N", ".", "\"", "'", ",", "{", "}", " ", "\x01", "\x1b", "\x1f",
  "\x7f", "é", "ß", "日本", "\u0301", "\u200b", "\u2028", "\ufeff", "😀", "👩‍👩‍👧", "𝄞", "\u{10ffff}", "NULL", "null"
]

export const trickyText = (): string => times(1 + int(6), () => pick(TRICKY)).join(pick(["", "a", " ", "x y"]))

const randomUnicode = (): string =>
  times(int(12), () => {
    const range = pick([[0x20, 0x7e], [0x01, 0x1f], [0xa0, 0x2ff], [0x400, 0x4ff], [0x4e00, 0x9fff], [0x1f300, 0x1faff], [0x10000, 0x10ffff]] as const)
    const code = range[0] + int(range[1] - range[0] + 1)
    return String.fromCodePoint(code >= 0xd800 && code <= 0xdfff ? 0x41 : code)
  }).join("")

export const TEXT_VALUES: ReadonlyArray<string | null> = [
  "", " ", "a", "hello world", "\\", "\\\\", "\\N", "N", "\\.", ".", "\t", "\n", "\r\n", "\b\f\v", "NULL", "null",
  "\"quoted\"", "a,b", "{x}", "tab\there", "line\nbreak", "back\\slash", "\x01\x02\x1f\x7f", "😀", "𝄞 music", "日本語テキスト",
  "e\u0301", "x".repeat(5000), "é".repeat(3000), null, ...TRICKY, ...times(40, trickyText), ...times(40, randomUnicode)
]

const randomDigits = (n: number) => times(n, (i) => (i === 0 ? 1 + int(9) : int(10))).join("")
const randomNumeric = () => {
  const sign = pick(["", "-"])
  const whole = pick(["0", randomDigits(1 + int(30))])
  const scale = int(25)
  return scale === 0 ? sign + whole : `${sign}${whole}.${times(scale, () => int(10)).join("")}`
}

const float64FromBits = (high: number, low: number) => {
  const view = new DataView(new ArrayBuffer(8))
  view.setUint32(0, high)
  view.setUint32(4, low)
  return view.getFloat64(0)
}
const float32FromBits = (bits: number) => {
  const view = new DataView(new ArrayBuffer(4))
  view.setUint32(0, bits >>> 0)
  return view.getFloat32(0)
}
const finite = (values: Array<number>) => values.filter((v) => Number.isFinite(v))

const pad = (n: number, width = 2) => String(n).padStart(width, "0")
const randomDate = () => {
  const bc = rand() < 0.1
  const year = 1 + int(bc ? 4712 : 9999)
  return `${pad(year, 4)}-${pad(1 + int(12))}-${pad(1 + int(28))}${bc ? " BC" : ""}`
}
const randomTime = () =>
  `${pad(int(24))}:${pad(int(60))}:${pad(int(60))}${rand() < 0.7 ? `.${pad(int(1_000_000), 6)}` : ""}`
const randomTimestamp = () => {
  const date = randomDate()
  return date.endsWith(" BC") ? `${date.slice(0, -3)} ${randomTime()} BC` : `${date} ${randomTime()}`
}
const randomHex = (bytes: number) => times(bytes, () => int(256).toString(16).padStart(2, "0")).join("")
const randomUuid = () => {
  const h = randomHex(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
const randomIpv6 = () => {
  const words = times(8, () => (rand() < 0.4 ? "0" : int(65536).toString(16)))
  return words.join(":")
}

export interface TypeSample {
  /** SQL type of the column, e.g. `numeric(12,3)`, `text[]`. */
  readonly sql: string
  /** Inputs as SQL text literals (cast to `sql` by the server); null = NULL. */
  readonly values: ReadonlyArray<string | null>
}

export const SCALAR_SAMPLES: ReadonlyArray<TypeSample> = [
  { sql: "text", values: TEXT_VALUES },
  { sql: "character varying", values: TEXT_VALUES.filter((v) => v === null || v.length < 100) },
  { sql: "character varying(12)", values: ["", "abc", "twelve chars", "é😀", null] },
  { sql: "character(5)", values: ["", "a", "ab   ", "abcde", "é😀", " x", null] },
  { sql: "name", values: ["", "pg_class", "a b", "Mixed Case", "é", null] },
  { sql: "citext", values: ["", "AbC", "tab\tcase", "😀", null] },
  { sql: "mood", values: ["sad", "ok", "happy", "very happy", "quote\"d", null] },
  { sql: "json", values: ["{}", "[]", "null", " {\"a\" : [1, 2.50, \"x\\ty\"]} ", "\"😀\"", "{\"k\":\"\\u0000x\"}", null] },
  { sql: "jsonb", values: ["{}", "[]", "null", "{\"b\": 1, \"a\": [1, 2.50, \"x\\ty\"]}", "\"😀\"", "{\"k\": {\"n\": -1.5e3}}", null] },
  { sql: "bytea", values: ["\\x", "\\x00", "\\xdeadbeef", "\\x5c090a0d", ...times(10, () => `\\x${randomHex(int(64))}`), null] },
  { sql: "boolean", values: ["t", "f", null] },
  { sql: "smallint", values: ["0", "1", "-1", "32767", "-32768", ...times(10, () => String(int(65536) - 32768)), null] },
  { sql: "integer", values: ["0", "-1", "2147483647", "-2147483648", ...times(20, () => String(int(2 ** 32) - 2 ** 31)), null] },
  {
    sql: "bigint",
    values: [
      "0", "-1", "9223372036854775807", "-9223372036854775808", "4503599627370495", "4503599627370496", "-4503599627370497",
      "9007199254740993", ...times(20, () => (BigInt(int(2 ** 32)) * BigInt(int(2 ** 31)) - BigInt(int(2 ** 52))).toString()),
      null
    ]
  },
  { sql: "oid", values: ["0", "1", "4294967295", "2147483648", null] },
  {
    sql: "real",
    values: [
      "0", "-0", "NaN", "Infinity", "-Infinity", "1", "-1", "0.1", "1e-45", "1.4e-45", "1.1754944e-38", "3.4028235e+38",
      "123456", "1e+06", "999999", "0.0001", "1e-05", "16777216", "16777217", "3.14159",
      ...times(30, (k) => String(2 ** (k * 9 - 140))), // powers of two: lopsided rounding intervals
      ...finite(times(300, () => float32FromBits(int(2 ** 32)))).map(String),
      null
    ]
  },
  {
    sql: "double precision",
    values: [
      "0", "-0", "NaN", "Infinity", "-Infinity", "1", "0.1", "1e-05", "0.0001", "1e+15", "999999999999999", "1e-310",
      "5e-324", "1.7976931348623157e+308", "123456789012345680", "0.30000000000000004", "1e23", "9007199254740993",
      "18014398509481986", "295147905179352825856", "8.5e37", ...times(40, (k) => String(2 ** (53 + k) + 2 ** (1 + k))),
      ...times(30, (k) => String(2 ** (k * 70 - 1070))),
      ...finite(times(300, () => float64FromBits(int(2 ** 32), int(2 ** 32)))).map(String),
      ...times(100, () => String((rand() - 0.5) * 10 ** int(30))),
      null
    ]
  },
  {
    sql: "numeric",
    values: [
      "0", "0.000", "-0.5", "1", "-1", "10000", "9999", "0.0001", "0.00001", "1e-20", "123456789.123456789", "NaN",
      "Infinity", "-Infinity", "1.50", "100.0000", `${"9".repeat(1000)}.${"1".repeat(300)}`, `0.${"0".repeat(500)}1`,
      `-${"1234".repeat(200)}`, ...times(60, randomNumeric), null
    ]
  },
  { sql: "numeric(12,3)", values: ["0", "1.5", "-123456789.123", "0.001", "NaN", null] },
  {
    sql: "date",
    values: [
      "2000-01-01", "1999-12-31", "2000-02-29", "1900-02-28", "1970-01-01", "0001-01-01", "0001-12-31 BC", "0001-01-01 BC",
      "4713-01-01 BC", "0044-03-15 BC", "9999-12-31", "10000-01-01", "5874897-12-31", "infinity", "-infinity",
      ...times(40, randomDate), null
    ]
  },
  {
    sql: "timestamp without time zone",
    values: [
      "2000-01-01 00:00:00", "1999-12-31 23:59:59.999999", "1970-01-01 00:00:00.5", "2262-04-11 23:47:16.854775",
      "1677-09-21 00:12:43.145225", "0001-01-01 00:00:00 BC", "4713-01-01 00:00:00 BC", "0044-03-15 12:30:00.25 BC",
      "294276-12-31 23:59:59.999999", "infinity", "-infinity", ...times(60, randomTimestamp), null
    ]
  },
  {
    sql: "timestamp with time zone",
    values: [
      "2000-01-01 00:00:00+00", "1999-12-31 23:59:59.999999+00", "2020-06-15 12:00:00+05:30", "0044-03-15 12:00:00+00 BC",
      "4713-01-01 00:00:00+00 BC", "294276-12-31 23:59:59.999999+00", "infinity", "-infinity",
      ...times(60, () => `${randomTimestamp()}`), null
    ]
  },
  { sql: "time without time zone", values: ["00:00:00", "23:59:59.999999", "24:00:00", "12:34:56.5", ...times(20, randomTime), null] },
  {
    sql: "time with time zone",
    values: ["00:00:00+00", "12:00:00+05:30", "12:00:00-00:00:15", "24:00:00-15:59", "23:59:59.999999+15:59", "08:00:00-08", null]
  },
  {
    sql: "interval",
    values: [
      "00:00:00", "1 day", "-1 days", "1 year 2 mons -3 days +04:05:06.5", "-1 days -00:00:01", "-00:00:00.5", "1 mon -1 days +02:00:00",
      "100:00:00", "-1 years -2 mons", "11 mons 00:00:05", "178956970 years 7 mons 2147483646 days 2562047788:00:54.775807",
      "infinity", "-infinity", "1 day -00:00:01", null
    ]
  },
  { sql: "uuid", values: ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", ...times(10, randomUuid), null] },
  {
    sql: "inet",
    values: [
      "0.0.0.0", "127.0.0.1", "10.1.2.3/8", "192.168.0.0/16", "255.255.255.255/32", "::", "::1", "::2", "1::", "::1.2.3.4",
      "::ffff:1.2.3.4", "::ffff:0:102:304", "::ffff:0.0.0.0", "::102", "1:0:0:2::3", "1:0:2:0:3:0:4:0", "fe80::1/64",
      "2001:db8::/32", "2001:db8:0:0:1:0:0:1", ...times(15, randomIpv6), null
    ]
  },
  { sql: "cidr", values: ["10.0.0.0/8", "192.168.1.0/24", "1.2.3.4/32", "0.0.0.0/0", "::/0", "2001:db8::/32", "::1/128", null] },
  { sql: "macaddr", values: ["08:00:2b:01:02:03", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", null] },
  { sql: "bit(4)", values: ["0101", "0000", "1111", null] },
  { sql: "bit varying", values: ["", "1", "101010101", "0".repeat(70), null] }
]

const arrayLiteral = (elements: ReadonlyArray<string | null>) =>
  `{${elements.map((e) => (e === null ? "NULL" : `"${e.replace(/["\\]/g, "\\$&")}"`)).join(",")}}`

const arrayOf = (sample: TypeSample, extra: ReadonlyArray<string> = []): TypeSample => {
  const elements = sample.values
  return {
    sql: `${sample.sql}[]`,
    values: [
      "{}", "{NULL}", ...extra,
      arrayLiteral(elements.slice(0, 5)), arrayLiteral([null, ...elements.slice(5, 9), null]),
      ...times(6, () => arrayLiteral(times(int(6), () => pick(elements)))),
      null
    ]
  }
}

const sample = (sql: string) => SCALAR_SAMPLES.find((s) => s.sql === sql)!

export const ARRAY_SAMPLES: ReadonlyArray<TypeSample> = [
  arrayOf(sample("text"), ["{\"\",\"NULL\",null,\" a \",\"a,b\",\"x\\\"y\",\"back\\\\slash\",\"{}\",é,😀}", "{{a,b},{c,NULL}}", "[0:1]={x,y}"]),
  arrayOf(sample("integer"), ["{1,2,3}", "[0:2]={1,2,3}", "[-5:-4]={7,8}", "{{1,2},{3,4}}", "{{{1},{2}},{{3},{4}}}"]),
  arrayOf(sample("bigint")),
  arrayOf(sample("numeric")),
  arrayOf(sample("double precision")),
  arrayOf(sample("real")),
  arrayOf(sample("boolean")),
  arrayOf(sample("date")),
  arrayOf(sample("timestamp with time zone")),
  arrayOf(sample("timestamp without time zone")),
  arrayOf(sample("jsonb")),
  arrayOf(sample("json")),
  arrayOf(sample("bytea")),
  arrayOf(sample("uuid")),
  arrayOf(sample("inet")),
  arrayOf(sample("character varying(12)")),
  arrayOf(sample("character(5)")),
  arrayOf(sample("mood")),
  arrayOf(sample("citext")),
  arrayOf(sample("interval")),
  arrayOf(sample("time with time zone"))
]

export const ALL_SAMPLES: ReadonlyArray<TypeSample> = [...SCALAR_SAMPLES, ...ARRAY_SAMPLES]

/** Types the fixtures need in a fresh database. */
export const FIXTURE_SCHEMA = `
  CREATE EXTENSION IF NOT EXISTS citext;
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'very happy', 'quote"d');
`

/** A value's canonical text (the type's output function): what getText must return. */
export const canonicalText = (column: string) => `CASE WHEN ${column} IS NULL THEN NULL ELSE format('%s', ${column}) END`

/** The StageTable of a table, built from the catalog as the engine's introspection builds it. */
export const stageTable = async (client: pg.Client, table: string, schema = "public"): Promise<StageTable> => {
  const { rows } = await client.query<{
    name: string
    type: string
    type_oid: number
    base_type: string
    is_array: boolean
    not_null: boolean
    is_enum: boolean
  }>(
    // Domains resolve to their base type, arrays to their element type (itself resolved).
    `WITH columns AS (
       SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull,
              coalesce(nullif(t.typbasetype, 0), t.oid) AS resolved
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0
         AND NOT a.attisdropped AND a.attgenerated = ''
     ), elements AS (
       SELECT c.*, r.typsubscript = 'array_subscript_handler'::regproc AS is_array,
              CASE WHEN r.typsubscript = 'array_subscript_handler'::regproc THEN r.typelem END AS element
       FROM columns c JOIN pg_type r ON r.oid = c.resolved
     )
     SELECT e.attname AS name, format_type(e.atttypid, e.atttypmod) AS type, e.atttypid::int AS type_oid,
            format_type(coalesce(nullif(b.typbasetype, 0), b.oid), NULL) AS base_type, e.is_array,
            e.attnotnull AS not_null, base.typtype = 'e' AS is_enum
     FROM elements e
     JOIN pg_type b ON b.oid = coalesce(e.element, e.resolved)
     JOIN pg_type base ON base.oid = coalesce(nullif(b.typbasetype, 0), b.oid)
     ORDER BY e.attnum`,
    [schema, table]
  )
  const columns = rows.map((row): StageColumn => ({
    name: row.name,
    type: row.type,
    typeOid: row.type_oid,
    baseType: row.base_type,
    isArray: row.is_array,
    notNull: row.not_null,
    isEnum: row.is_enum
  }))
  return { schema, name: table, columns }
}
