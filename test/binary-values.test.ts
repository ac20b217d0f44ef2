// The binary <-> text converters against a real PostgreSQL: every sample value is fetched in
// binary and as its output-function text; decoding must print exactly that text, and encoding
// that text must give back the server's own bytes. Other spellings are checked through the
// server's recv functions (binary parameters), and bad input must be refused.
import { Buffer } from "node:buffer"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { columnCodec, hasBinaryTextCodec, ValueError } from "../src/engine/binary-values.ts"
import { ByteWriter } from "../src/engine/byte-writer.ts"
import type { StageColumn } from "../src/engine/stage.ts"
import { ALL_SAMPLES, canonicalText, connect, FIXTURE_SCHEMA, stageTable } from "./support/codec-fixtures.ts"
import { freshDatabase } from "./support/database.ts"

let client: pg.Client
beforeAll(async () => {
  client = await connect(await freshDatabase("binval"))
  await client.query(FIXTURE_SCHEMA)
})
afterAll(() => client.end())

let tables = 0

/** A StageColumn for a SQL type, read from the catalog of a one-column table. */
const columnOf = async (sql: string): Promise<StageColumn> => {
  const name = `v${tables++}`
  await client.query(`CREATE TABLE ${name} (v ${sql})`)
  return (await stageTable(client, name)).columns[0]!
}

const encode = (column: StageColumn, text: string): Buffer => {
  const out = new ByteWriter(8)
  columnCodec(column)!.encode(text, out)
  return Buffer.from(out.result())
}

/** Arrays whose element type is not built in: binary values would carry a database-specific OID. */
const NO_BINARY_CODEC = new Set(["mood[]", "citext[]"])

/** The server's canonical text of `input::sql`, and of the value our bytes for `input` denote. */
const serverReads = async (sql: string, input: string, bytes: Buffer) => {
  const { rows } = await client.query<{ expected: string; actual: string }>(
    `SELECT format('%s', $1::${sql}) AS expected, format('%s', $2::${sql}) AS actual`,
    [input, bytes]
  )
  return rows[0]!
}

describe.each(ALL_SAMPLES.filter((sample) => !NO_BINARY_CODEC.has(sample.sql)))("$sql", (sample) => {
  it("decodes to the output function's text and encodes that text back to the same bytes", async () => {
    const column = await columnOf(sample.sql)
    expect(hasBinaryTextCodec(column)).toBe(true)
    const codec = columnCodec(column)!
    // pg reads binary result columns as strings, so the bytes come from the type's send function.
    const send = (await client.query(`SELECT typsend::text AS send FROM pg_type WHERE oid = '${sample.sql}'::regtype`)).rows[0].send
    const { rows } = await client.query<{ b: Buffer | null; t: string | null }>(
      `SELECT ${send}(v::${sample.sql}) AS b, ${canonicalText(`v::${sample.sql}`)} AS t
       FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
      [sample.values]
    )
    const mismatches: Array<unknown> = []
    for (const { b, t } of rows) {
      if (b === null) continue
      const expected = t!
      const decoded = codec.decode(b, 0, b.length)
      if (decoded !== expected) mismatches.push({ expected, decoded })
      const encoded = encode(column, expected)
      if (!encoded.equals(b)) mismatches.push({ expected, bytes: b.toString("hex"), encoded: encoded.toString("hex") })
    }
    expect(mismatches).toEqual([])
    expect(rows.filter((row) => row.b !== null).length).toBeGreaterThan(0)
  })
})

/** Spellings PostgreSQL accepts besides the canonical one: same value through the recv function. */
const OTHER_SPELLINGS: ReadonlyArray<readonly [sql: string, inputs: ReadonlyArray<string>]> = [
  ["boolean", ["true", "FALSE", " yes ", "no", "on", "off", "of", "1", "0", "T", "y"]],
  ["smallint", [" 42 ", "+7", "-0", "1_000", "0x7fff", "-0x8000", "0o17", "0b101"]],
  ["integer", ["  -17", "+2147483647", "2_147_483_647", "0x7FFFFFFF", "-0b1", "007"]],
  ["bigint", ["9_223_372_036_854_775_807", "-0x8000000000000000", " +12 ", "9007199254740993"]],
  ["oid", ["-1", "42"]],
  ["real", ["1.5E3", " .5 ", "-.25e-2", "inf", "-INF", "+Infinity", "nan", "3.4028234e38", "1e-45"]],
  ["double precision", ["1E300", "-1.e-5", "  2.5  ", "infinity", "-Infinity", "NaN", "4.9e-324"]],
  ["numeric", ["1.50e3", "1e-3", "-0.0", "00012.3400", "1_000.000_5", "0x1F", "-0b101", " nan ", "inf", "-inf", ".5", "5.", "+3"]],
  ["numeric(6,2)", ["1.005", "-1234.567", "0.001"]],
  ["date", ["2020-1-2", " 2020-01-02 ", "0044-03-15 bc", "2020-01-02 AD", "+infinity", "epoch"]],
  [
    "timestamp without time zone",
    ["2020-01-02T03:04:05", "2020-01-02 03:04", "2020-01-02", "2020-01-02 03:04:05.1234567", "2020-01-02 03:04:05.0000005",
      "2020-01-02 03:04:05+05", "2020-01-02 24:00:00", "epoch", "0001-01-01 00:00:00 bc"]
  ],
  [
    "timestamp with time zone",
    ["2020-01-02T03:04:05Z", "2020-01-02 03:04:05+05:30", "2020-01-02 03:04:05 -0800", "2020-01-02 03:04:05.5-08:00:30",
      "2020-01-02 03:04:05 UTC", "2020-01-02", "2020-01-02 03:04:05+5", "epoch", "1999-12-31 23:00:00-01"]
  ],
  ["time without time zone", ["3:04", "03:04:05.1234567", " 23:59:59 "]],
  ["time with time zone", ["03:04:05Z", "03:04:05 +0530", "03:04-08"]],
  ["interval", ["1 day 2 hours", "@ 1 day ago", "2 weeks", "1.5 hours", "-1 year +1 mon", "90 minutes 30 seconds", "1 y 2 mons 3 d", "10 ms", "+infinity"]],
  ["uuid", ["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11"]],
  ["inet", ["192.168.001.001", "10.0.0.1/8", "::FFFF:1.2.3.4", "0:0:0:0:0:0:0:1", "2001:DB8::1/64"]],
  ["cidr", ["10.0.0.0/8", "2001:db8::/32"]],
  ["bytea", ["\\x DE AD", "\\xDEADBEEF", "abc", "a\\\\b", "\\000\\377", "é"]],
  ["macaddr", ["08-00-2b-01-02-03", "08002b010203", "0800.2b01.0203", "08002b:010203", "08:00:2B:01:02:03"]],
  ["bit varying", ["x1F", "B101", ""]],
  ["jsonb", [" { \"b\" : 1 , \"a\" : 2 } "]],
  ["text[]", [" { a , \"b\" , NULL } ", "{\\\"x,y\\\\}", "{{ a },{ b }}", "[1:2]={x,y}", "{\"\"}", "{ a\\ }"]],
  ["integer[]", ["{ 1, +2 ,0x10}", "[-1:0]={1,2}", "{}", "  {}  "]]
]

describe("other spellings PostgreSQL accepts", () => {
  it.each(OTHER_SPELLINGS)("%s", async (sql, inputs) => {
    const column = await columnOf(sql)
    const mismatches: Array<unknown> = []
    for (const input of inputs) {
      const { expected, actual } = await serverReads(sql, input, encode(column, input))
      if (actual !== expected) mismatches.push({ input, expected, actual })
    }
    expect(mismatches).toEqual([])
  })
})

/** Input PostgreSQL refuses must be refused here too, before it reaches the target. */
const REFUSED: ReadonlyArray<readonly [sql: string, inputs: ReadonlyArray<string>]> = [
  ["boolean", ["", "maybe", "o", "2"]],
  ["smallint", ["32768", "-32769", "1.5", "", "1__0", "_1", "abc", "0x"]],
  ["integer", ["2147483648", "1e3", "12abc"]],
  ["bigint", ["9223372036854775808"]],
  ["real", ["1e39", "1e-50", "abc", ""]],
  ["double precision", ["1e309", "1e-400", "1.2.3"]],
  ["numeric", ["abc", "1e", "--1", ""]],
  ["date", ["2020-02-30", "2021-02-29", "2020-13-01", "0000-01-01"]],
  ["timestamp without time zone", ["2020-01-01 25:00:00", "2020-01-01 12:60:00", "2020-01-01 24:00:01"]],
  ["time without time zone", ["25:00", "12:00:61"]],
  ["uuid", ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]],
  ["inet", ["256.0.0.1", "1.2.3.4/33", "1:2:3:4:5:6:7:8:9", "::/129", "1::2::3"]],
  ["bytea", ["\\xabc", "\\xzz", "a\\b"]],
  ["interval", ["1 fortnight", "abc"]],
  ["integer[]", ["{1,2", "{1,{2}}", "{{1},{2,3}}", "{1,,2}", "[1:3]={1,2}", "{1} x"]]
]

describe("input PostgreSQL refuses", () => {
  it.each(REFUSED)("%s", async (sql, inputs) => {
    const column = await columnOf(sql)
    for (const input of inputs) {
      const server = await client.query(`SELECT $1::${sql}`, [input]).then(
        () => "accepted",
        () => "refused"
      )
      expect({ input, server }).toEqual({ input, server: "refused" })
      expect(() => encode(column, input), input).toThrow(ValueError)
    }
  })
})

describe("hasBinaryTextCodec", () => {
  it("knows which types it can convert", async () => {
    await client.query("CREATE DOMAIN positive AS integer CHECK (VALUE > 0)")
    await client.query("CREATE DOMAIN int_list AS integer[]")
    const refused = ["money", "xml", "tsvector", "int4range", "point", "\"char\"", "circle[]", ...NO_BINARY_CODEC, "positive[]"]
    for (const sql of refused) expect(hasBinaryTextCodec(await columnOf(sql)), sql).toBe(false)
    const accepted = ["positive", "int_list", "mood", "citext", "numeric(5,1)[]", "timestamp(3) with time zone", "character varying(20)[]"]
    for (const sql of accepted) expect(hasBinaryTextCodec(await columnOf(sql)), sql).toBe(true)
  })

  it("writes arrays of domains over arrays with the element's OID", async () => {
    const column = await columnOf("int_list")
    const bytes = encode(column, "{1,NULL,3}")
    expect((await client.query(`SELECT format('%s', $1::int_list) AS v`, [bytes])).rows[0].v).toBe("{1,NULL,3}")
  })
})
