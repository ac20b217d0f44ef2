// The masking toolkit: SipHash-2-4 against the reference vectors, the keyed PRF of the mask
// context, the Feistel permutations (bijective, in range, sign kept), strict option structs, and
// PostgreSQL array literals checked against the server's own array_in / array_out.
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { beforeAll, describe, expect, it } from "vitest"
import {
  base32,
  codePointLength,
  makeBytePermutation,
  makeIntegerPermutation,
  makeMaskContext,
  mapArrayLiteral,
  maskOptions,
  sipHash24
} from "../src/engine/mask-kit.ts"
import { freshDatabase, runSql } from "./support/database.ts"

// SipHash-2-4, key 00 01 .. 0f, message i = bytes 00 .. i-1: the 64 vectors of the reference
// implementation's vectors.h (little-endian output bytes).
const VECTORS = `
310e0edd47db6f72 fd67dc93c539f874 5a4fa9d909806c0d 2d7efbd796666785 b7877127e09427cf 8da699cd64557618
cee3fe586e46c9cb 37d1018bf50002ab 6224939a79f5f593 b0e4a90bdf82009e f3b9dd94c5bb5d7a a7ad6b22462fb3f4
fbe50e86bc8f1e75 903d84c02756ea14 eef27a8e90ca23f7 e545be4961ca29a1 db9bc2577fcc2a3f 9447be2cf5e99a69
9cd38d96f0b3c14b bd6179a71dc96dbb 98eea21af25cd6be c7673b2eb0cbf2d0 883ea3e395675393 c8ce5ccd8c030ca8
94af49f6c650adb8 eab8858ade92e1bc f315bb5bb835d817 adcf6b0763612e2f a5c91da7acaa4dde 716595876650a2a6
28ef495c53a387ad 42c341d8fa92d832 ce7cf2722f512771 e37859f94623f3a7 381205bb1ab0e012 ae97a10fd434e015
b4a31508beff4d31 81396229f0907902 4d0cf49ee5d4dcca 5c73336a76d8bf9a d0a704536ba93e0e 925958fcd6420cad
a915c29bc8067318 952b79f3bc0aa6d4 f21df2e41d4535f9 87577519048f53a9 10a56cf5dfcd9adb eb75095ccd986cd0
51a9cb9ecba312e6 96afadfc2ce666c7 72fe52975a4364ee 5a1645b276d592a1 b274cb8ebf87870a 6f9bb4203de7b381
eaecb2a30b22a87f 9924a43cc1315724 bd838d3aafbf8db7 0b1a2a3265d51aea 135079a3231ce660 932b2846e4d70666
e1915f5cb1eca46c f325965ca16d629f 575ff28e60381be5 724506eb4c328a95`
  .trim()
  .split(/\s+/)

const littleEndian = (hex: string) => BigInt(`0x${hex.match(/../g)!.reverse().join("")}`)

describe("sipHash24", () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i)
  it.each(VECTORS.map((hex, length) => ({ length, hex })))("reference vector for $length bytes", ({ length, hex }) => {
    expect(sipHash24(key, Uint8Array.from({ length }, (_, i) => i))).toBe(littleEndian(hex))
  })
})

describe("makeMaskContext().prf", () => {
  const key = new TextEncoder().encode("a mask key")
  const a = makeMaskContext({ key, locale: "en" })
  const b = makeMaskContext({ key, locale: "en" })
  const other = makeMaskContext({ key: new TextEncoder().encode("another key"), locale: "en" })
  const values = ["", "a", "ada@example.com", "Zoë", "東京都", "👩‍👩‍👧", "e\u0301", "x".repeat(10_000)]

  it("is keyed and deterministic: same key same output, other key other output", () => {
    expect(a.keyed).toBe(true)
    for (const value of values) {
      expect(a.prf("p", value)).toBe(b.prf("p", value))
      expect(a.prf("p", value)).not.toBe(other.prf("p", value))
    }
  })

  it("separates purposes and gives 64-bit outputs", () => {
    for (const value of values) {
      expect(a.prf("p", value)).not.toBe(a.prf("q", value))
      expect(a.prf("p", value)).toBeLessThan(2n ** 64n)
      expect(a.prf("p", value)).toBeGreaterThanOrEqual(0n)
    }
    // A purpose is not a prefix of the value: ("ab", "c") and ("a", "bc") are unrelated.
    expect(a.prf("ab", "c")).not.toBe(a.prf("a", "bc"))
  })

  it("hashes the UTF-8 bytes: a lone surrogate hashes as U+FFFD", () => {
    expect(a.prf("p", "\ud800")).toBe(a.prf("p", "\ufffd"))
    expect(a.prf("p", "é")).not.toBe(a.prf("p", "e\u0301"))
  })

  it("without a key, is random per run (keyed: false)", () => {
    const one = makeMaskContext({ locale: "en" })
    const two = makeMaskContext({ locale: "en" })
    expect(one.keyed).toBe(false)
    expect(one.prf("p", "x")).toBe(one.prf("p", "x"))
    expect(one.prf("p", "x")).not.toBe(two.prf("p", "x"))
  })

  it("gives a nearly uniform spread of bits", () => {
    let ones = 0
    for (let i = 0; i < 10_000; i++) ones += a.prf("bits", String(i)).toString(2).split("1").length - 1
    expect(ones / (10_000 * 64)).toBeCloseTo(0.5, 2)
  })
})

describe("makeIntegerPermutation", () => {
  const { prf } = makeMaskContext({ key: new Uint8Array([1, 2, 3]), locale: "en" })

  it("permutes the whole smallint range, keeping the sign", () => {
    const permutation = makeIntegerPermutation(prf, "t", 16)
    const seen = new Set<bigint>()
    for (let v = -32768n; v <= 32767n; v++) {
      const out = permutation.forward(v)
      expect(out >= 0n).toBe(v >= 0n)
      expect(out >= -32768n && out <= 32767n).toBe(true)
      seen.add(out)
    }
    expect(seen.size).toBe(65536)
  })

  it.each([32, 64] as const)("inverts at the edges of int%s and moves values", (bits) => {
    const permutation = makeIntegerPermutation(prf, "t", bits)
    const max = 2n ** BigInt(bits - 1) - 1n
    for (const v of [0n, 1n, 2n, 1000n, max, max - 1n, -1n, -max, -max - 1n]) {
      const out = permutation.forward(v)
      expect(out <= max && out >= -max - 1n).toBe(true)
      expect(permutation.inverse(out)).toBe(v)
    }
    expect(permutation.forward(1n)).not.toBe(1n)
  })
})

describe("makeBytePermutation", () => {
  const { prf } = makeMaskContext({ key: new Uint8Array([9]), locale: "en" })
  const permutation = makeBytePermutation(prf, "t")

  it("keeps the length and inverts, for every length up to 40", () => {
    for (let n = 0; n <= 40; n++) {
      const input = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff)
      const out = permutation.forward(input)
      expect(out.length).toBe(n)
      expect(permutation.inverse(out)).toEqual(input)
    }
  })

  it("is a bijection on all 2-byte strings", () => {
    const seen = new Set<number>()
    for (let v = 0; v < 65536; v++) {
      const out = permutation.forward(Uint8Array.of(v >> 8, v & 0xff))
      seen.add((out[0]! << 8) | out[1]!)
    }
    expect(seen.size).toBe(65536)
  })
})

describe("small helpers", () => {
  it("base32 follows RFC 4648 (lower case, no padding)", () => {
    const enc = (s: string) => base32(new TextEncoder().encode(s))
    expect(["", "f", "fo", "foo", "foob", "fooba", "foobar"].map(enc)).toEqual(["", "my", "mzxq", "mzxw6", "mzxw6yq", "mzxw6ytb", "mzxw6ytboi"])
  })

  it("codePointLength counts as PostgreSQL's length() does", () => {
    expect(["", "abc", "Zoë", "e\u0301", "👍", "👩‍👩‍👧", "東京"].map(codePointLength)).toEqual([0, 3, 3, 2, 1, 5, 2])
  })

  it("maskOptions refuses unknown keys, naming them, whatever the parse options", () => {
    const schema = maskOptions({ length: Schema.optional(Schema.Int) })
    for (const onExcessProperty of ["ignore", "error"] as const) {
      const result = Schema.decodeUnknownResult(schema)({ lenght: 3 }, { onExcessProperty, errors: "all" })
      expect(Result.isFailure(result) && result.failure.message).toContain('unknown option "lenght"; expected length')
    }
    expect(Schema.decodeUnknownSync(schema)({ length: 3 })).toEqual({ length: 3 })
  })
})

describe("array literals", () => {
  const CASES: ReadonlyArray<ReadonlyArray<string | null>> = [
    [],
    ["a"],
    ["a", "b", "c"],
    [null],
    ["NULL", "null", null, "Null"],
    [""],
    ["", ""],
    ["a b", " lead", "trail ", "\ttab", "new\nline"],
    ['quote"inside', "back\\slash", '\\"', "\\"],
    ["{braces}", "comma,inside", "semi;colon", "}", "{"],
    ["Zoë", "東京都", "👩‍👩‍👧", "e\u0301", "ﬁ"],
    ["x".repeat(5000)]
  ]

  let url: string
  beforeAll(async () => {
    url = await freshDatabase("maskkit")
  })

  /** The literal with every element through `map`, and the elements `map` saw. */
  const through = (literal: string, map: (e: string) => string = (e) => e, delimiter = ",") => {
    const seen: Array<string> = []
    const out = mapArrayLiteral(literal, (e) => (seen.push(e), map(e)), delimiter)
    return { out, seen }
  }

  it.each(CASES.map((elements) => ({ elements })))("reads and rewrites array_out's form exactly: $elements", async ({ elements }) => {
    const [row] = await runSql<{ canonical: string }>(url, "SELECT $1::text[]::text AS canonical", [elements])
    const { out, seen } = through(row!.canonical)
    expect(out).toBe(row!.canonical)
    expect(seen).toEqual(elements.filter((e) => e !== null))
  })

  it.each([
    "{ a , b }",
    '{ "a" ,  "b c" }',
    "{a\\,b,c}",
    "{ NULL , nUlL }",
    '{"",x}',
    "  {a}  ",
    "{a\\ }",
    "{\\NULL}",
    "{{a,b},{c,NULL}}",
    "[0:1]={a,b}",
    "[1:2][1:1]={{x},{NULL}}"
  ])("maps the elements of other spellings as array_in reads them, keeping the shape: %s", async (literal) => {
    const { out } = through(literal, (e) => `<${e}>`)
    const [row] = await runSql<{ same: boolean }>(
      url,
      `SELECT (SELECT array_agg(e ORDER BY n) FROM unnest($2::text[]) WITH ORDINALITY AS u(e, n))
                IS NOT DISTINCT FROM
              (SELECT array_agg(CASE WHEN e IS NULL THEN NULL ELSE '<' || e || '>' END ORDER BY n) FROM unnest($1::text[]) WITH ORDINALITY AS u(e, n))
              AND array_dims($2::text[]) IS NOT DISTINCT FROM array_dims($1::text[]) AS same`,
      [literal, out]
    )
    expect(row!.same).toBe(true)
  })

  it.each(["", "a", "{a", "{a}}", '{"a}', '{a"b}', "[0:1]", "{a}x"])("refuses %j", (literal) => {
    expect(() => mapArrayLiteral(literal, (e) => e)).toThrow(/array literal/)
  })

  it("uses another delimiter when asked (box uses ;)", () => {
    expect(through('{(1,1),(0,0);"x;y"}', (e) => e, ";")).toEqual({ out: '{(1,1),(0,0);"x;y"}', seen: ["(1,1),(0,0)", "x;y"] })
  })
})
