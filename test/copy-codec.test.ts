// The row codec against a real PostgreSQL, in both COPY formats: a table with a column of every
// supported type (edge cases and NULLs included) is copied out, fed to the codec in chunks of
// every size down to one byte, read back through getText (which must print what the server
// prints), changed, partly dropped, and copied into a fresh table whose contents must be exactly
// what was intended.
import { Buffer } from "node:buffer"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import pg from "pg"
import { from as copyFrom, to as copyTo } from "pg-copy-streams"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasBinaryTextCodec } from "../src/engine/binary-values.ts"
import { type CopyCodec, type CopyFormat, makeCopyCodec } from "../src/engine/copy-codec.ts"
import { restrictColumns } from "../src/engine/row-batch.ts"
import type { BinaryMask } from "../src/engine/plugin.ts"
import { REWRITE_CHANGED, REWRITE_DROPPED, REWRITE_NULL, REWRITE_UNCHANGED, type RowBatch, type StageTable } from "../src/engine/stage.ts"
import { ALL_SAMPLES, canonicalText, connect, FIXTURE_SCHEMA, random, stageTable, TEXT_VALUES } from "./support/codec-fixtures.ts"
import { freshDatabase } from "./support/database.ts"

let client: pg.Client
let table: StageTable
/** Canonical text of every cell of `samples`, by row (ordered by id) and column. */
let expected: Array<Array<string | null>>
const FORMATS: ReadonlyArray<CopyFormat> = ["binary", "text"]

const copyOut = async (sql: string): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of client.query(copyTo(sql))) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const copyIn = (sql: string, pieces: ReadonlyArray<Uint8Array>) =>
  pipeline(Readable.from(pieces), client.query(copyFrom(sql)))

const contents = async (name: string): Promise<Array<Array<string | null>>> => {
  const columns = table.columns.map((c) => canonicalText(`"${c.name}"`)).join(", ")
  const { rows } = await client.query({ text: `SELECT ${columns} FROM ${name} ORDER BY id`, rowMode: "array" })
  return rows
}

/** Views of `bytes` cut into pieces whose sizes come from `size()`. */
const split = (bytes: Buffer, size: () => number): Array<Buffer> => {
  const pieces: Array<Buffer> = []
  for (let at = 0; at < bytes.length; ) {
    const n = Math.max(1, size())
    pieces.push(bytes.subarray(at, at + n))
    at += n
  }
  return pieces
}

const CHUNKINGS: ReadonlyArray<readonly [name: string, make: () => () => number]> = [
  ["whole", () => () => Number.MAX_SAFE_INTEGER],
  ["1-byte", () => () => 1],
  ["1..40 bytes", () => { const r = random(1); return () => 1 + Math.floor(r() * 40) }],
  ["1..3000 bytes", () => { const r = random(2); return () => 1 + Math.floor(r() * 3000) }],
  ["64 KiB", () => () => 65536]
]

/** Feed every chunk, run `process` on each batch, and collect the output. */
const run = (codec: CopyCodec, chunks: ReadonlyArray<Uint8Array>, process: (batch: RowBatch, firstRow: number) => void) => {
  const out: Array<Uint8Array> = []
  let rows = 0
  for (const chunk of chunks) {
    const batch = codec.push(chunk)
    if (batch === undefined) continue
    process(batch, rows)
    rows += batch.rowCount
    out.push(...batch.encode())
  }
  out.push(...codec.end())
  return out
}

const allColumns = () => new Set(table.columns.map((_, i) => i))
/** Columns a binary stream can decode and encode (not arrays of enums or extension types). */
const binaryColumns = () => new Set(table.columns.flatMap((c, i) => (hasBinaryTextCodec(c) ? [i] : [])))
const touchedFor = (format: CopyFormat) => (format === "binary" ? binaryColumns() : allColumns())

beforeAll(async () => {
  client = await connect(await freshDatabase("codec"))
  await client.query(FIXTURE_SCHEMA)
  const rowCount = Math.max(...ALL_SAMPLES.map((s) => s.values.length))
  const columns = ALL_SAMPLES.map((s, i) => `c${i} ${s.sql}`).join(", ")
  await client.query(`CREATE TABLE samples (id integer PRIMARY KEY, ${columns})`)
  await client.query(`INSERT INTO samples (id) SELECT generate_series(1, ${rowCount})`)
  for (const [i, sample] of ALL_SAMPLES.entries()) {
    // Row r gets value r mod n, so every value appears and the columns do not line up.
    const values = Array.from({ length: rowCount }, (_, r) => sample.values[(r * 7 + i) % sample.values.length]!)
    await client.query(
      `UPDATE samples SET c${i} = v.x::${sample.sql} FROM unnest($1::text[]) WITH ORDINALITY AS v(x, n) WHERE id = v.n`,
      [values]
    )
  }
  table = await stageTable(client, "samples")
  expected = await contents("samples")
}, 120_000)
afterAll(() => client.end())

describe.each(FORMATS)("%s format", (format) => {
  let source: Buffer
  beforeAll(async () => {
    source = await copyOut(`COPY (SELECT * FROM samples ORDER BY id) TO STDOUT (FORMAT ${format})`)
  })

  it.each(CHUNKINGS)("reads every value as the server prints it, and passes the bytes through unchanged (%s chunks)", (_, chunking) => {
    const touched = touchedFor(format)
    const codec = makeCopyCodec(format, table, touched)
    const seen: Array<Array<string | null>> = []
    const out = run(codec, split(source, chunking()), (batch) => {
      for (let row = 0; row < batch.rowCount; row++) {
        seen.push(table.columns.map((_, column) => {
          if (!touched.has(column)) return expected[seen.length]![column]!
          const text = batch.getText(row, column)
          expect(batch.isNull(row, column)).toBe(text === null)
          return text
        }))
      }
    })
    expect(seen).toEqual(expected)
    expect(Buffer.concat(out).equals(source)).toBe(true)
    expect(codec.counts).toEqual({ rowsIn: expected.length, rowsOut: expected.length, bytesIn: source.length, bytesOut: source.length })
  })

  it.each(CHUNKINGS)("writes set values and leaves dropped rows out (%s chunks)", async (name, chunking) => {
    const touched = touchedFor(format)
    const rows = expected.length
    const intended: Array<Array<string | null>> = []
    const codec = makeCopyCodec(format, table, touched)
    const out = run(codec, split(source, chunking()), (batch, firstRow) => {
      for (let row = 0; row < batch.rowCount; row++) {
        const r = firstRow + row
        if (r % 5 === 3) {
          batch.drop(row)
          expect(batch.isDropped(row)).toBe(true)
          continue
        }
        const result = [...expected[r]!]
        for (const column of touched) {
          if (column === 0) continue // id
          // Odd columns keep their value (set to itself), even ones take another row's value,
          // every eleventh cell becomes NULL.
          const value =
            (r + column) % 11 === 0 ? null : column % 2 === 1 ? batch.getText(row, column) : expected[(r + 13) % rows]![column]!
          batch.setText(row, column, value)
          expect(batch.getText(row, column)).toBe(value)
          result[column] = value
        }
        intended.push(result)
      }
    })
    const target = `changed_${format}_${name.replace(/\W/g, "_")}`
    await client.query(`CREATE TABLE ${target} (LIKE samples)`)
    await copyIn(`COPY ${target} FROM STDIN (FORMAT ${format})`, out)
    expect(await contents(target)).toEqual(intended)
    expect(codec.counts.rowsIn).toBe(rows)
    expect(codec.counts.rowsOut).toBe(intended.length)
    expect(codec.counts.bytesOut).toBe(out.reduce((n, piece) => n + piece.length, 0))
  })

  it("writes text values with every escape and any Unicode", async () => {
    await client.query(`CREATE TABLE texts_${format} (id integer, t text, u text)`)
    const values = TEXT_VALUES
    await client.query(
      `INSERT INTO texts_${format} SELECT n, '', NULL FROM generate_series(1, ${values.length}) n`
    )
    const textTable = await stageTable(client, `texts_${format}`)
    const bytes = await copyOut(`COPY (SELECT * FROM texts_${format} ORDER BY id) TO STDOUT (FORMAT ${format})`)
    const out = run(makeCopyCodec(format, textTable, new Set([1, 2])), split(bytes, () => 7), (batch, firstRow) => {
      for (let row = 0; row < batch.rowCount; row++) {
        const value = values[firstRow + row]!
        batch.setText(row, 1, value)
        batch.setText(row, 2, value === null ? "was NULL" : `${value}|${value}`)
      }
    })
    await copyIn(`COPY texts_${format} FROM STDIN (FORMAT ${format})`, out)
    const { rows } = await client.query(`SELECT t, u FROM texts_${format} WHERE t IS DISTINCT FROM '' OR u IS NOT NULL ORDER BY id`)
    expect(rows).toEqual(values.map((v) => ({ t: v, u: v === null ? "was NULL" : `${v}|${v}` })))
  })

  it("copies an empty table and a table whose every row is dropped", async () => {
    await client.query(`CREATE TABLE empty_${format} (LIKE samples)`)
    const empty = await copyOut(`COPY empty_${format} TO STDOUT (FORMAT ${format})`)
    for (const chunking of [() => 1, () => 1000]) {
      const codec = makeCopyCodec(format, table, touchedFor(format))
      const out = run(codec, split(empty, chunking), () => expect.unreachable())
      expect(Buffer.concat(out).equals(empty)).toBe(true)
    }
    const codec = makeCopyCodec(format, table, new Set())
    const out = run(codec, split(source, () => 4096), (batch) => {
      for (let row = 0; row < batch.rowCount; row++) batch.drop(row)
    })
    await copyIn(`COPY empty_${format} FROM STDIN (FORMAT ${format})`, out)
    expect((await client.query(`SELECT count(*)::int AS n FROM empty_${format}`)).rows[0].n).toBe(0)
    expect(codec.counts).toMatchObject({ rowsIn: expected.length, rowsOut: 0 })
  })

  it("streams a row far bigger than its chunks", async () => {
    await client.query(`CREATE TABLE big_${format} (id integer, doc text, tail text)`)
    const doc = "é\t\\😀".repeat(300_000)
    await client.query(`INSERT INTO big_${format} VALUES (1, $1, 'a'), (2, 'small', 'b'), (3, $1, 'c')`, [doc])
    const bigTable = await stageTable(client, `big_${format}`)
    const bytes = await copyOut(`COPY (SELECT * FROM big_${format} ORDER BY id) TO STDOUT (FORMAT ${format})`)
    const docs: Array<string | null> = []
    const out = run(makeCopyCodec(format, bigTable, new Set([1, 2])), split(bytes, () => 65536), (batch) => {
      for (let row = 0; row < batch.rowCount; row++) {
        docs.push(batch.getText(row, 1))
        batch.setText(row, 2, `${batch.getText(row, 2)}!`)
      }
    })
    expect(docs).toEqual([doc, "small", doc])
    await client.query(`TRUNCATE big_${format}`)
    await copyIn(`COPY big_${format} FROM STDIN (FORMAT ${format})`, out)
    const { rows } = await client.query(`SELECT doc = $1 AS same, tail FROM big_${format} ORDER BY id`, [doc])
    expect(rows).toEqual([{ same: true, tail: "a!" }, { same: false, tail: "b!" }, { same: true, tail: "c!" }])
  })

  it("hands out unchanged rows as views of the pushed chunk", () => {
    const codec = makeCopyCodec(format, table, new Set([0]))
    const chunk = Buffer.from(source)
    const batch = codec.push(chunk)!
    batch.getText(0, 0)
    const pieces = batch.encode()
    const body = pieces[pieces.length - 1]!
    expect(body.buffer).toBe(chunk.buffer)
    expect(codec.end()).toEqual(format === "binary" ? [Uint8Array.of(0xff, 0xff)] : [])
  })
})

describe("contract and misuse", () => {
  const rowsOf = async (format: CopyFormat) =>
    copyOut(`COPY (SELECT * FROM samples ORDER BY id LIMIT 3) TO STDOUT (FORMAT ${format})`)

  it("refuses columns no stage declared, rows outside the batch and NULL in NOT NULL columns", async () => {
    const codec = makeCopyCodec("text", table, new Set([1, 2]))
    const batch = codec.push(await rowsOf("text"))!
    expect(batch.rowCount).toBe(3)
    expect(() => batch.getText(0, 3)).toThrow(/no stage declared it/)
    expect(() => batch.setText(0, 3, "x")).toThrow(/no stage declared it/)
    expect(() => batch.getText(3, 1)).toThrow(RangeError)
    expect(() => batch.drop(-1)).toThrow(RangeError)
    const notNull = makeCopyCodec("text", { ...table, columns: table.columns.map((c) => ({ ...c, notNull: true })) }, new Set([1]))
    const strict = notNull.push(await rowsOf("text"))!
    expect(() => strict.setText(0, 1, null)).toThrow(/NOT NULL/)
  })

  it("rewriteColumnBinary: the same bytes and codes as rewriteBinary row by row, dropped rows marked", async () => {
    const source = await copyOut("COPY (SELECT * FROM samples ORDER BY id) TO STDOUT (FORMAT binary)")
    const column = table.columns.findIndex((c) => c.type === "text")
    expect(column).toBeGreaterThan(0)
    // ASCII letters upper-cased: a value without lower-case letters comes out unchanged.
    const upper: BinaryMask = (bytes, start, length, out) => {
      for (let i = start; i < start + length; i++) {
        const b = bytes[i]!
        out.u8(b >= 0x61 && b <= 0x7a ? b - 32 : b)
      }
    }
    const perRow: Array<number> = []
    const bulk: Array<number> = []
    const byRow = run(makeCopyCodec("binary", table, new Set([column])), split(source, () => 500), (batch, firstRow) => {
      for (let row = 0; row < batch.rowCount; row++) {
        if ((firstRow + row) % 4 === 1) batch.drop(row)
        perRow.push(batch.isDropped(row) ? REWRITE_DROPPED : batch.rewriteBinary(row, column, upper))
      }
    })
    const byColumn = run(makeCopyCodec("binary", table, new Set([column])), split(source, () => 500), (batch, firstRow) => {
      for (let row = 0; row < batch.rowCount; row++) if ((firstRow + row) % 4 === 1) batch.drop(row)
      const results = new Uint8Array(batch.rowCount)
      restrictColumns(batch, table, new Set([column])).rewriteColumnBinary(column, upper, results)
      bulk.push(...results)
    })
    expect(Buffer.concat(byColumn).equals(Buffer.concat(byRow))).toBe(true)
    expect(bulk).toStrictEqual(perRow)
    for (const code of [REWRITE_NULL, REWRITE_CHANGED, REWRITE_UNCHANGED, REWRITE_DROPPED]) expect(bulk, `code ${code}`).toContain(code)
    const batch = makeCopyCodec("binary", table, new Set([column])).push(source)!
    expect(() => batch.rewriteColumnBinary(column, upper, new Uint8Array(1))).toThrow(RangeError)
    expect(() => restrictColumns(batch, table, new Set([column])).rewriteColumnBinary(column + 1, upper, new Uint8Array(batch.rowCount))).toThrow(/did not declare it/)
    const text = makeCopyCodec("text", table, new Set([column])).push(await rowsOf("text"))!
    expect(() => text.rewriteColumnBinary(column, upper, new Uint8Array(3))).toThrow(/text format/)
  })

  it("restricts a stage to the columns it declared", async () => {
    const codec = makeCopyCodec("binary", table, new Set([0, 1, 2]))
    const batch = codec.push(await rowsOf("binary"))!
    const view = restrictColumns(batch, table, new Set([1]))
    expect(view.rowCount).toBe(3)
    expect(view.getText(0, 1)).toBe(expected[0]![1])
    expect(() => view.getText(0, 2)).toThrow(/did not declare it/)
    view.drop(1)
    expect(batch.isDropped(1)).toBe(true)
  })

  it("enforces push, encode, end order", async () => {
    const bytes = await rowsOf("binary")
    const codec = makeCopyCodec("binary", table, new Set())
    const batch = codec.push(bytes.subarray(0, bytes.length - 2))!
    expect(() => codec.push(bytes.subarray(bytes.length - 2))).toThrow(/before the previous batch was encoded/)
    batch.encode()
    expect(() => batch.encode()).toThrow(/encode\(\) called twice/)
    expect(codec.push(bytes.subarray(bytes.length - 2))).toBeUndefined()
    codec.end()
    expect(() => codec.push(bytes)).toThrow(/after end/)
  })

  it("fails on truncated or foreign data", async () => {
    const bytes = await rowsOf("binary")
    const truncated = makeCopyCodec("binary", table, new Set())
    truncated.push(bytes.subarray(0, bytes.length - 10))?.encode()
    expect(() => truncated.end()).toThrow(/ended inside a row/)
    const noTrailer = makeCopyCodec("binary", table, new Set())
    noTrailer.push(bytes.subarray(0, bytes.length - 2))?.encode()
    expect(() => noTrailer.end()).toThrow(/without the end-of-data marker/)
    expect(() => makeCopyCodec("binary", table, new Set()).push(Buffer.from("id\tname\n"))).toThrow(/PGCOPY signature/)
    const afterEnd = makeCopyCodec("binary", table, new Set())
    expect(() => afterEnd.push(Buffer.concat([bytes, Buffer.of(0)]))).toThrow(/after the end-of-data marker/)
    const text = await rowsOf("text")
    const wrongWidth = makeCopyCodec("text", { ...table, columns: table.columns.slice(0, 5) }, new Set([4]))
    expect(() => wrongWidth.push(text)).toThrow(/more fields/)
    const inRow = makeCopyCodec("text", table, new Set())
    inRow.push(text.subarray(0, text.length - 1))?.encode()
    expect(() => inRow.end()).toThrow(/ended inside a row/)
  })

  it("reads the escapes PostgreSQL accepts but never writes (octal, hex, any escaped byte)", async () => {
    const two: StageTable = { schema: "public", name: "two", columns: table.columns.slice(0, 2) }
    const codec = makeCopyCodec("text", two, new Set([0, 1]))
    const batch = codec.push(Buffer.from("\\101\\x42\\q\\\\\\303\\251\\xe2\\x82\\xac\\7\\N\t\\N\n"))!
    expect(batch.getText(0, 0)).toBe("ABq\\é€\x07N")
    expect(batch.getText(0, 1)).toBeNull()
  })

  it("names the column when a set value does not fit its type in binary", async () => {
    const codec = makeCopyCodec("binary", table, new Set([0]))
    const batch = codec.push(await rowsOf("binary"))!
    batch.setText(0, 0, "not a number")
    expect(() => batch.encode()).toThrow(/public\.samples\.id \(integer\): invalid input syntax for type integer/)
  })

  it("refuses binary streams for touched columns without a converter", () => {
    const column = table.columns.findIndex((c) => !hasBinaryTextCodec(c))
    expect(column).toBeGreaterThan(0)
    expect(() => makeCopyCodec("binary", table, new Set([column]))).toThrow(/no binary converter/)
    expect(() => makeCopyCodec("text", table, new Set([column]))).not.toThrow()
  })
})

describe("pass-through of many rows per chunk", () => {
  // Regression: with no column touched, the text scanner records no field and once skipped
  // growing the row arrays, so rows past the initial capacity were cut wrongly.
  it.each(FORMATS)("%s: output equals input with no column touched, whole stream and 64 KiB chunks", async (format) => {
    const url = await freshDatabase("codec_many")
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      await c.query("CREATE TABLE many (id integer, v text); INSERT INTO many SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'v' || i END FROM generate_series(1, 20000) i")
      const chunks: Array<Buffer> = []
      for await (const chunk of c.query(copyTo(`COPY many TO STDOUT (FORMAT ${format})`))) chunks.push(chunk as Buffer)
      const source = Buffer.concat(chunks)
      const many: StageTable = {
        schema: "public",
        name: "many",
        columns: [
          { name: "id", type: "integer", typeOid: 23, baseType: "integer", isArray: false, notNull: false },
          { name: "v", type: "text", typeOid: 25, baseType: "text", isArray: false, notNull: false }
        ]
      }
      for (const pieces of [[source], split(source, () => 65536)]) {
        const codec = makeCopyCodec(format, many, new Set())
        const out = run(codec, pieces, () => {})
        expect(Buffer.concat(out).equals(source)).toBe(true)
        expect(codec.counts.rowsIn).toBe(20000)
      }
    } finally {
      await c.end()
    }
  })
})
