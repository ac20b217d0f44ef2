/**
 * How fast is the row codec, the per-row hot loop of every propagate run? It builds in memory a
 * COPY stream of `--rows` rows (default 200,000) of ten mixed columns, in binary and in text
 * format, cuts it into 64 KiB chunks (what pg-copy-streams hands over per socket read), and
 * measures with tinybench:
 *
 *   - pass-through: parse, no column touched, encode (views of the chunks);
 *   - read 5: parse and getText of five columns (text, uuid, timestamptz, numeric, text);
 *   - mask 5: parse, setText of five text columns, encode (rebuilds every batch).
 *
 *   node bench/codec.bench.ts [--rows 200000] [--time 2000]
 *
 * It prints MB/s and rows/s per task, and the process's peak RSS. No database is needed.
 */
import { Buffer } from "node:buffer"
import { parseArgs } from "node:util"
import { Bench } from "tinybench"
import { columnCodec } from "../src/engine/binary-values.ts"
import { ByteWriter } from "../src/engine/byte-writer.ts"
import { BINARY_HEADER, BINARY_TRAILER } from "../src/engine/copy-binary.ts"
import { type CopyFormat, makeCopyCodec } from "../src/engine/copy-codec.ts"
import { TextFraming } from "../src/engine/copy-text.ts"
import type { StageColumn, StageTable } from "../src/engine/stage.ts"

const { values: flags } = parseArgs({
  options: { rows: { type: "string", default: "200000" }, time: { type: "string", default: "2000" } }
})
const rowCount = Number(flags.rows)
const CHUNK = 65536

const column = (name: string, type: string, baseType = type): StageColumn => ({
  name, type, typeOid: 0, baseType, isArray: false, notNull: false
})
const table: StageTable = {
  schema: "public",
  name: "customer",
  columns: [
    column("id", "bigint"),
    column("account", "uuid"),
    column("first_name", "text"),
    column("last_name", "text"),
    column("email", "character varying(120)", "character varying"),
    column("phone", "text"),
    column("created_at", "timestamp with time zone"),
    column("balance", "numeric(12,2)", "numeric"),
    column("active", "boolean"),
    column("note", "text")
  ]
}

const FIRST = ["Ada", "Grace", "Zoë", "Linus", "Margaret", "Ken", "Barbara", "José", "Søren", "Amélie"]
const LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "García", "Kierkegaard", "Poulain"]
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0").slice(-width)

/** Row r's values as canonical text (NULL now and then, an escape in some notes). */
const rowValues = (r: number): Array<string | null> => {
  const first = FIRST[r % FIRST.length]!
  const last = LAST[(r * 7) % LAST.length]!
  const day = new Date(Date.UTC(2015, 0, 1) + r * 7_919_000)
  return [
    String(r + 1),
    `${hex(r * 2654435761, 8)}-${hex(r, 4)}-4${hex(r * 31, 3)}-a${hex(r * 17, 3)}-${hex(r * 40503, 12)}`,
    first,
    last,
    `${first.toLowerCase()}.${last.toLowerCase()}${r}@example.com`,
    r % 10 === 0 ? null : `+1 555 ${String(r % 10_000_000).padStart(7, "0")}`,
    `${day.toISOString().slice(0, 19).replace("T", " ")}+00`,
    `${Math.floor((r * 7919) % 1_000_000)}.${String(r % 100).padStart(2, "0")}`,
    r % 3 === 0 ? "f" : "t",
    r % 4 === 0 ? null : `Customer since ${2015 + (r % 10)}; prefers ${r % 2 === 0 ? "email" : "phone\tcalls"}.`
  ]
}

const buildStreams = (): Record<CopyFormat, Buffer> => {
  const codecs = table.columns.map((c) => columnCodec(c)!)
  const binary = new ByteWriter(rowCount * 200)
  const text = new ByteWriter(rowCount * 200)
  const textFraming = new TextFraming(table, new Set())
  binary.bytes(BINARY_HEADER, 0, BINARY_HEADER.length)
  for (let r = 0; r < rowCount; r++) {
    const values = rowValues(r)
    binary.i16(values.length)
    values.forEach((value, i) => {
      if (value === null) return binary.i32(-1)
      const at = binary.pos
      binary.i32(0)
      codecs[i]!.encode(value, binary)
      binary.patchI32(at, binary.pos - at - 4)
    })
    values.forEach((value, i) => {
      if (i > 0) text.u8(0x09)
      textFraming.writeField(text, i, value)
    })
    text.u8(0x0a)
  }
  binary.bytes(BINARY_TRAILER, 0, BINARY_TRAILER.length)
  return { binary: Buffer.from(binary.result()), text: Buffer.from(text.result()) }
}

const chunksOf = (bytes: Buffer) => {
  const chunks: Array<Buffer> = []
  for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK))
  return chunks
}

const READ = [3, 1, 6, 7, 9] // last_name, account, created_at, balance, note
const MASK = [2, 3, 4, 5, 9] // first_name, last_name, email, phone, note
const MASKED = Array.from({ length: 1024 }, (_, i) => `masked-${i.toString(36)}-${"x".repeat(i % 17)}`)

let sink = 0
const runOnce = (format: CopyFormat, chunks: ReadonlyArray<Buffer>, touched: ReadonlyArray<number>, mode: "pass" | "read" | "mask") => {
  const codec = makeCopyCodec(format, table, new Set(touched))
  let row = 0
  for (const chunk of chunks) {
    const batch = codec.push(chunk)
    if (batch === undefined) continue
    if (mode === "read") {
      for (let r = 0; r < batch.rowCount; r++) for (const c of touched) sink += batch.getText(r, c)?.length ?? 0
    } else if (mode === "mask") {
      for (let r = 0; r < batch.rowCount; r++, row++) for (const c of touched) batch.setText(r, c, MASKED[(row + c) & 1023]!)
    }
    for (const piece of batch.encode()) sink += piece.length
  }
  for (const piece of codec.end()) sink += piece.length
  if (codec.counts.rowsOut !== rowCount) throw new Error(`expected ${rowCount} rows, got ${codec.counts.rowsOut}`)
}

const streams = buildStreams()
const bench = new Bench({ time: Number(flags.time), warmup: true })
for (const format of ["binary", "text"] as const) {
  const chunks = chunksOf(streams[format])
  bench.add(`${format} pass-through`, () => runOnce(format, chunks, [], "pass"))
  bench.add(`${format} parse + getText x5`, () => runOnce(format, chunks, READ, "read"))
  bench.add(`${format} parse + setText x5 + encode`, () => runOnce(format, chunks, MASK, "mask"))
}
await bench.run()

console.log(`${rowCount} rows; binary stream ${(streams.binary.length / 1e6).toFixed(1)} MB, text ${(streams.text.length / 1e6).toFixed(1)} MB, ${CHUNK / 1024} KiB chunks`)
console.table(
  bench.tasks.map((task) => {
    const result = task.result
    const seconds = result.state === "completed" ? result.latency.mean / 1000 : Number.NaN
    const bytes = task.name.startsWith("binary") ? streams.binary.length : streams.text.length
    return {
      task: task.name,
      "ms/run": (seconds * 1000).toFixed(1),
      "MB/s": (bytes / 1e6 / seconds).toFixed(0),
      "rows/s": `${(rowCount / seconds / 1e6).toFixed(2)} M`,
      runs: result.state === "completed" ? result.latency.samplesCount : 0
    }
  })
)
if (sink === 0) throw new Error("the codec produced nothing")
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (the two streams and their builders included)`)
