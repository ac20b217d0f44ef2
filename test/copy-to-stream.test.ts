/**
 * copy-to-stream.ts against a real server: the same bytes as pg-copy-streams' own `to()` (text and
 * binary, rows split across socket chunks, notices between rows), an error in the middle of the
 * COPY, and the connection usable after each.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { to as copyTo } from "pg-copy-streams"
import { copyToStream } from "../src/engine/copy-to-stream.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const collect = async (client: pg.Client, stream: NodeJS.ReadableStream): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks)
}

describe("copyToStream", () => {
  let url = ""
  let client: pg.Client
  beforeAll(async () => {
    url = await freshDatabase("cts")
    await runSql(
      url,
      `CREATE TABLE t (id int, name text, at timestamptz, payload text);
       INSERT INTO t SELECT i, 'name ' || i, timestamptz '2026-01-01' + i * interval '1 minute', repeat(md5(i::text), 1 + i % 7) FROM generate_series(1, 50000) i;
       CREATE FUNCTION noisy(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF i % 1000 = 0 THEN RAISE NOTICE 'row %', i; END IF; RETURN i; END $$;`
    )
    client = new pg.Client({ connectionString: url })
    await client.connect()
  })
  afterAll(async () => {
    await client?.end()
  })

  for (const format of ["text", "binary"] as const) {
    it(`${format}: the same bytes as pg-copy-streams, 50,000 rows over many socket chunks`, async () => {
      const sql = `COPY (SELECT * FROM t ORDER BY id) TO STDOUT (FORMAT ${format})`
      const expected = await collect(client, client.query(copyTo(sql)))
      const stream = client.query(copyToStream(sql))
      const got = await collect(client, stream)
      expect(got.length).toBeGreaterThan(1_000_000)
      expect(got.equals(expected)).toBe(true)
      expect(stream.rowCount).toBe(50000)
      expect((await client.query("SELECT 1 AS one")).rows).toStrictEqual([{ one: 1 }])
    })
  }

  it("the parser carries a message across chunks cut anywhere, down to 1 byte", () => {
    // CopyOutResponse, then CopyData messages with a NoticeResponse among them (no CopyDone: that
    // would hand the socket back to a connection this stream does not have).
    const message = (code: string, body: Buffer) => {
      const header = Buffer.alloc(5)
      header[0] = code.charCodeAt(0)
      header.writeUInt32BE(body.length + 4, 1)
      return Buffer.concat([header, body])
    }
    const rows = Array.from({ length: 40 }, (_, i) => Buffer.from(`row ${i} ${"x".repeat(i * 3)}\n`))
    const wire = Buffer.concat([
      message("H", Buffer.from([0, 0, 1, 0, 0])),
      ...rows.slice(0, 20).map((row) => message("d", row)),
      message("N", Buffer.from("SNOTICE\0Mhello\0\0")),
      ...rows.slice(20).map((row) => message("d", row))
    ])
    for (const size of [1, 2, 3, 5, 7, 64, wire.length]) {
      const stream = copyToStream("COPY t TO STDOUT") as unknown as { _parse: (chunk: Buffer) => boolean; read: () => Buffer | null }
      const got: Array<Buffer> = []
      for (let at = 0; at < wire.length; at += size) {
        // Each chunk is a copy: the parser moves rows within the chunk it is given.
        stream._parse(Buffer.from(wire.subarray(at, at + size)))
        for (let piece = stream.read(); piece !== null; piece = stream.read()) got.push(piece)
      }
      expect(Buffer.concat(got).equals(Buffer.concat(rows)), `chunks of ${size} bytes`).toBe(true)
    }
  })

  it("notices between rows are skipped, not taken for data", async () => {
    const sql = "COPY (SELECT noisy(id), name FROM t ORDER BY id) TO STDOUT"
    // Each thousandth row raises a NOTICE, which the server sends between the CopyData messages.
    const got = await collect(client, client.query(copyToStream(sql)))
    const expected = await collect(client, client.query(copyTo(sql)))
    expect(got.equals(expected)).toBe(true)
    expect(got.toString("utf8").split("\n")[999]).toBe("1000\tname 1000")
  })

  it("an error in the middle of the COPY fails the stream with the server's message; the connection is usable after", async () => {
    const stream = client.query(copyToStream("COPY (SELECT id, 1 / (id - 30000) FROM t ORDER BY id) TO STDOUT"))
    const error = await collect(client, stream).then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(error?.message).toMatch(/division by zero/)
    expect((await client.query("SELECT 2 AS two")).rows).toStrictEqual([{ two: 2 }])
  })

  it("a COPY that fails at once (no such table)", async () => {
    const stream = client.query(copyToStream("COPY nowhere TO STDOUT"))
    const error = await collect(client, stream).then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(error?.message).toMatch(/relation "nowhere" does not exist/)
    expect((await client.query("SELECT 3 AS three")).rows).toStrictEqual([{ three: 3 }])
  })
})
