/**
 * How fast are the masking strategies, the per-value hot loop of a masked propagate? Each task
 * masks one batch of `--values` distinct realistic values (default 10,000) with a strategy
 * compiled for its column, as the masking stage does; tinybench reports values/s per strategy,
 * and `prf alone` is the keyed hash every deterministic strategy pays at least once per value.
 *
 *   node bench/mask-strategies.bench.ts [--values 10000] [--time 1000]
 *
 * No database is needed.
 */
import { parseArgs } from "node:util"
import { Bench } from "tinybench"
import { makeMaskContext } from "../src/engine/mask-kit.ts"
import type { MaskColumn } from "../src/engine/plugin.ts"
import { builtinPlugins } from "../src/plugins/index.ts"

const { values: flags } = parseArgs({
  options: { values: { type: "string", default: "10000" }, time: { type: "string", default: "1000" } }
})
const count = Number(flags.values)

const context = makeMaskContext({ key: new TextEncoder().encode("bench key"), locale: "en", plugins: builtinPlugins })
const column = (type: string, baseType = type): MaskColumn => ({
  name: "c", type, typeOid: 0, baseType, isArray: false, notNull: false, table: "public.bench", maxLength: null, unique: false
})

const FIRST = ["Ada", "Grace", "Zoë", "Linus", "Margaret", "Ken", "Barbara", "José", "Søren", "Amélie"]
const LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "García", "Kierkegaard"]
const inputs = (make: (i: number) => string) => Array.from({ length: count }, (_, i) => make(i))
const names = inputs((i) => `${FIRST[i % FIRST.length]} ${LAST[(i * 7) % LAST.length]} ${i}`)
const emails = inputs((i) => `${FIRST[i % FIRST.length]!.toLowerCase()}.${LAST[(i * 7) % LAST.length]!.toLowerCase()}${i}@mail.example.org`)
const ids = inputs((i) => String(1_000_000 + i))
const dates = inputs((i) => `${new Date(Date.UTC(2015, 0, 1) + i * 7_919_000).toISOString().slice(0, 19).replace("T", " ")}+00`)
const amounts = inputs((i) => `${(i * 37) % 100000}.${String(i % 100).padStart(2, "0")}`)
const cards = inputs((i) => `4111${String(i).padStart(12, "0")}`)
const documents = inputs((i) => JSON.stringify({ email: emails[i], phone: `+44 20 7946 ${String(i % 10000).padStart(4, "0")}`, plan: "pro", seats: i % 50 }))

const tasks: ReadonlyArray<[string, string, unknown, MaskColumn, ReadonlyArray<string>]> = [
  ["faker first name", "faker", { faker_provider: "person.firstName" }, column("text"), names],
  ["faker full name", "faker", { faker_provider: "person.fullName" }, column("text"), names],
  ["faker sentence", "faker", { faker_provider: "lorem.sentence" }, column("text"), names],
  ["hash hex", "hash", {}, column("text"), emails],
  ["hash numeric unique (bigint)", "hash", { format: "numeric" }, column("bigint"), ids],
  ["email", "email", {}, column("text"), emails],
  ["email unique", "email", { unique: true }, column("text"), emails],
  ["partial", "partial", { keep_first: 4, keep_last: 4 }, column("text"), cards],
  ["date_shift (timestamptz)", "date_shift", { max_days: 30 }, column("timestamp with time zone"), dates],
  ["noise (numeric(12,2))", "noise", { percent: 10 }, column("numeric(12,2)", "numeric"), amounts],
  ["regex_replace", "regex_replace", { pattern: "\\d", replacement: "#" }, column("text"), cards],
  [
    "json, 2 paths",
    "json",
    { paths: [{ path: "$.email", masking_strategy: "email" }, { path: "$.phone", masking_strategy: "partial", keep_last: 2 }] },
    column("jsonb"),
    documents
  ]
]

let sink = 0
const bench = new Bench({ time: Number(flags.time), warmup: true })
bench.add("prf alone, 7-digit ids", () => {
  for (const value of ids) sink ^= Number(context.prf("bench", value) & 1n)
})
bench.add("prf alone, 35-byte e-mails", () => {
  for (const value of emails) sink ^= Number(context.prf("bench", value) & 1n)
})
for (const [name, strategy, options, col, values] of tasks) {
  const mask = context.strategy!(strategy, options).compile(col)
  bench.add(name, () => {
    for (const value of values) sink += mask(value)?.length ?? 0
  })
}
await bench.run()

console.log(`${count} values per run; node ${process.version}`)
console.table(
  bench.tasks.map((task) => {
    const result = task.result
    const seconds = result.state === "completed" ? result.latency.mean / 1000 : Number.NaN
    return {
      task: task.name,
      "values/s": `${(count / seconds / 1e6).toFixed(2)} M`,
      "ns/value": ((seconds * 1e9) / count).toFixed(0),
      runs: result.state === "completed" ? result.latency.samplesCount : 0
    }
  })
)
if (sink === 0) throw new Error("the strategies produced nothing")
