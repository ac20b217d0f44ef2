/**
 * The toolkit of masking strategies: what every built-in strategy needs and a user's strategy
 * may import too.
 *
 * - `makeMaskContext`: the `MaskContext` the host gives strategies; its `prf` is SipHash-2-4
 *   (written here over 32-bit halves, no BigInt arithmetic on the hot path) keyed per purpose
 *   from SHA-256 of DB_HARNESS_MASK_KEY. A per-value HMAC would be ten times slower (Greenmask #8).
 * - Uniqueness without collisions: keyed Feistel permutations over integers (sign and width
 *   kept) and over byte strings (length kept), so distinct inputs can never give one output.
 * - Small pieces strategies share: strict option structs, picking from lists by hash, a cheap
 *   generator seeded from a hash, base32, code-point helpers, PostgreSQL array literals, and
 *   classification of column types.
 */
import { createHash, randomBytes } from "node:crypto"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ByteWriter } from "./byte-writer.ts"
import { decodePluginOptions } from "./plugin-host.ts"
import type { BinaryMask, MaskColumn, MaskContext, MaskStrategy, Plugin } from "./plugin.ts"

// ---------------------------------------------------------------------------------------------
// SipHash-2-4

/** Scratch buffer for the UTF-8 bytes of the value being hashed; grows, never shrinks. */
let scratch = new Uint8Array(256)
const out64 = new BigUint64Array(1)
const out32 = new Uint32Array(out64.buffer)

/** UTF-8 of `text` into `scratch` (ASCII by a loop: cheaper than TextEncoder for short strings). */
const utf8 = (text: string): number => {
  const n = text.length
  if (scratch.length < n * 3) scratch = new Uint8Array(Math.max(n * 3, scratch.length * 2))
  const bytes = scratch
  let at = 0
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i)
    if (c < 0x80) {
      bytes[at++] = c
    } else if (c < 0x800) {
      bytes[at++] = 0xc0 | (c >> 6)
      bytes[at++] = 0x80 | (c & 63)
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const low = text.charCodeAt(i + 1)
        if (low >= 0xdc00 && low < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00)
          i++
          bytes[at++] = 0xf0 | (c >> 18)
          bytes[at++] = 0x80 | ((c >> 12) & 63)
          bytes[at++] = 0x80 | ((c >> 6) & 63)
          bytes[at++] = 0x80 | (c & 63)
          continue
        }
      }
      // Lone surrogates become U+FFFD, as TextEncoder does.
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd
      bytes[at++] = 0xe0 | (c >> 12)
      bytes[at++] = 0x80 | ((c >> 6) & 63)
      bytes[at++] = 0x80 | (c & 63)
    }
  }
  return at
}

/**
 * SipHash-2-4 of `bytes[offset, offset + length)` under the key `k` = [k0 low, k0 high, k1 low,
 * k1 high] (32-bit words); the 64-bit result is left in `out32` (low, high). Each 64-bit lane is
 * a pair of 32-bit halves kept as signed int32 (`| 0`, carries by unsigned compares), so V8
 * keeps the whole loop in 32-bit integer registers: a PRF on a 24-byte value took 197 ns against
 * 235 ns with uint32 halves (`>>> 0`), which exceed the small-integer range and fall back to
 * doubles.
 */
const sipHashInto = (k: Uint32Array, bytes: Uint8Array, length: number, offset = 0): void => {
  const k0l = k[0]! | 0, k0h = k[1]! | 0, k1l = k[2]! | 0, k1h = k[3]! | 0
  let v0l = k0l ^ 0x70736575, v0h = k0h ^ 0x736f6d65
  let v1l = k1l ^ 0x6e646f6d, v1h = k1h ^ 0x646f7261
  let v2l = k0l ^ 0x6e657261, v2h = k0h ^ 0x6c796765
  let v3l = k1l ^ 0x79746573, v3h = k1h ^ 0x74656462
  let t = 0, l = 0, h = 0
  const end = offset + length - (length & 7)
  let mh = 0, ml = 0
  for (let i = offset, blocks = end + 8; i < blocks; i += 8) {
    if (i < end) {
      ml = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)
      mh = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24)
    } else {
      // Last block: the tail bytes and the length in the top byte.
      ml = 0
      mh = (length & 0xff) << 24
      const tail = length & 7
      for (let j = 0; j < tail; j++) {
        const b = bytes[end + j]!
        if (j < 4) ml |= b << (8 * j)
        else mh |= b << (8 * (j - 4))
      }
    }
    v3l ^= ml; v3h ^= mh
    for (let r = 0; r < 2; r++) {
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      t = (v0l + v1l) | 0; v0h = (v0h + v1h + ((t >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = t
      l = (v1l << 13) | (v1h >>> 19); h = (v1h << 13) | (v1l >>> 19)
      v1l = l ^ v0l; v1h = h ^ v0h
      t = v0l; v0l = v0h; v0h = t
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      t = (v2l + v3l) | 0; v2h = (v2h + v3h + ((t >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = t
      l = (v3l << 16) | (v3h >>> 16); h = (v3h << 16) | (v3l >>> 16)
      v3l = l ^ v2l; v3h = h ^ v2h
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      t = (v0l + v3l) | 0; v0h = (v0h + v3h + ((t >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = t
      l = (v3l << 21) | (v3h >>> 11); h = (v3h << 21) | (v3l >>> 11)
      v3l = l ^ v0l; v3h = h ^ v0h
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      t = (v2l + v1l) | 0; v2h = (v2h + v1h + ((t >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = t
      l = (v1l << 17) | (v1h >>> 15); h = (v1h << 17) | (v1l >>> 15)
      v1l = l ^ v2l; v1h = h ^ v2h
      t = v2l; v2l = v2h; v2h = t
    }
    v0l ^= ml; v0h ^= mh
  }
  v2l ^= 0xff
  for (let r = 0; r < 4; r++) {
    t = (v0l + v1l) | 0; v0h = (v0h + v1h + ((t >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = t
    l = (v1l << 13) | (v1h >>> 19); h = (v1h << 13) | (v1l >>> 19)
    v1l = l ^ v0l; v1h = h ^ v0h
    t = v0l; v0l = v0h; v0h = t
    t = (v2l + v3l) | 0; v2h = (v2h + v3h + ((t >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = t
    l = (v3l << 16) | (v3h >>> 16); h = (v3h << 16) | (v3l >>> 16)
    v3l = l ^ v2l; v3h = h ^ v2h
    t = (v0l + v3l) | 0; v0h = (v0h + v3h + ((t >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0; v0l = t
    l = (v3l << 21) | (v3h >>> 11); h = (v3h << 21) | (v3l >>> 11)
    v3l = l ^ v0l; v3h = h ^ v0h
    t = (v2l + v1l) | 0; v2h = (v2h + v1h + ((t >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0; v2l = t
    l = (v1l << 17) | (v1h >>> 15); h = (v1h << 17) | (v1l >>> 15)
    v1l = l ^ v2l; v1h = h ^ v2h
    t = v2l; v2l = v2h; v2h = t
  }
  out32[0] = v0l ^ v1l ^ v2l ^ v3l
  out32[1] = v0h ^ v1h ^ v2h ^ v3h
}

const keyWords = (key: Uint8Array): Uint32Array => {
  if (key.length !== 16) throw new Error(`a SipHash key has 16 bytes, not ${key.length}`)
  const view = new DataView(key.buffer, key.byteOffset, 16)
  return Uint32Array.of(view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true))
}

/** SipHash-2-4 of `message` under a 16-byte `key`, as the reference defines it (little endian). */
export const sipHash24 = (key: Uint8Array, message: Uint8Array): bigint => {
  sipHashInto(keyWords(key), message, message.length)
  return out64[0]!
}

// ---------------------------------------------------------------------------------------------
// The mask context

export interface MaskContextOptions {
  /** Bytes of DB_HARNESS_MASK_KEY; absent: a random key for this run only (`keyed: false`). */
  readonly key?: Uint8Array
  readonly locale: string
  /** Strategies that `MaskContext.strategy` may hand out (the registry's mask plugins). */
  readonly plugins?: ReadonlyArray<Plugin>
}


/**
 * The `MaskContext` of a run. The 128-bit SipHash key is the first half of SHA-256 of the mask
 * key (computed once); each purpose gets its own subkey, SipHash of the purpose under that key,
 * so `prf(purpose, value)` hashes only the value's bytes per call.
 */
export const makeMaskContext = (options: MaskContextOptions): MaskContext => {
  const master = keyWords(
    options.key === undefined ? randomBytes(16) : createHash("sha256").update(options.key).digest().subarray(0, 16)
  )
  const subkeys = new Map<string, Uint32Array>()
  // Strategies call with one purpose string over and over: the last one is checked first.
  let lastPurpose = ""
  let lastSubkey: Uint32Array | undefined
  const subkey = (purpose: string): Uint32Array => {
    if (purpose === lastPurpose && lastSubkey !== undefined) return lastSubkey
    lastPurpose = purpose
    lastSubkey = subkeyOf(purpose)
    return lastSubkey
  }
  const subkeyOf = (purpose: string): Uint32Array => {
    const cached = subkeys.get(purpose)
    if (cached !== undefined) return cached
    const words = new Uint32Array(4)
    for (const half of [0, 1]) {
      const length = utf8(`${half}\u0000${purpose}`)
      sipHashInto(master, scratch, length)
      words[2 * half] = out32[0]!
      words[2 * half + 1] = out32[1]!
    }
    subkeys.set(purpose, words)
    return words
  }
  const prf = (purpose: string, value: string): bigint => {
    const k = subkey(purpose)
    // utf8 may replace `scratch` with a bigger buffer: read it only after.
    const length = utf8(value)
    sipHashInto(k, scratch, length)
    return out64[0]!
  }
  const prfBytes = (purpose: string, bytes: Uint8Array, start: number, end: number): bigint => {
    sipHashInto(subkey(purpose), bytes, end - start, start)
    return out64[0]!
  }
  const prfBytesInto = (purpose: string, bytes: Uint8Array, start: number, end: number, into: Uint32Array): void => {
    sipHashInto(subkey(purpose), bytes, end - start, start)
    into[0] = out32[0]!
    into[1] = out32[1]!
  }
  const plugins = new Map((options.plugins ?? []).filter((p) => p.kind === "mask").map((p) => [p.name, p]))
  const context: MaskContext = {
    keyed: options.key !== undefined,
    prf,
    prfBytes,
    prfBytesInto,
    locale: options.locale,
    strategy: (name, raw) => {
      const plugin = plugins.get(name)
      if (plugin === undefined) {
        throw new Error(`unknown masking strategy "${name}" (known: ${[...plugins.keys()].sort().join(", ")})`)
      }
      const decoded = decodePluginOptions(plugin, raw)
      if (Result.isFailure(decoded)) throw new Error(`strategy "${name}": ${decoded.failure}`)
      return (plugin.make as (options: unknown, context: MaskContext) => MaskStrategy)(decoded.success, context)
    }
  }
  return context
}

// ---------------------------------------------------------------------------------------------
// Options

/**
 * A struct of options that refuses keys it does not declare, naming them (a misspelt `lenght`
 * must not silently fall back to a default), whatever parse options the host uses.
 */
export const maskOptions = <const Fields extends Schema.Struct.Fields>(fields: Fields) => {
  const known = Object.keys(fields)
  const keys = Schema.Record(Schema.String, Schema.Unknown).check(
    Schema.makeFilter((input) =>
      Object.keys(input)
        .filter((key) => !known.includes(key))
        .map((key) => ({
          path: [key],
          issue: `unknown option "${key}"; ${known.length === 0 ? "this strategy takes no options" : `expected ${known.join(", ")}`}`
        }))
    )
  )
  return keys.pipe(Schema.decodeTo(Schema.Struct(fields)))
}

// ---------------------------------------------------------------------------------------------
// Hash-derived numbers

const h64 = new BigUint64Array(1)
const h32 = new Uint32Array(h64.buffer)

/** The low and high 32-bit halves of a 64-bit hash, without BigInt arithmetic. */
export const hashWords = (hash: bigint): readonly [low: number, high: number] => {
  h64[0] = hash
  return [h32[0]!, h32[1]!]
}

/** A uniform float in [0, 1) from the top 53 bits of a hash. */
export const hashUnit = (hash: bigint): number => {
  h64[0] = hash
  return unitOfWords(h32[0]!, h32[1]!)
}

/** `hashUnit` of a hash given as its low and high 32-bit halves (`prfBytesInto`). */
export const unitOfWords = (low: number, high: number): number => (high * 0x200000 + (low >>> 11)) / 2 ** 53

/** An index in [0, n) from a hash (bias below 2^-20 for lists of up to 2^32 items). */
export const hashIndex = (hash: bigint, n: number): number => Math.floor(hashUnit(hash) * n)

export const pickByHash = <A>(list: ReadonlyArray<A>, hash: bigint): A => list[hashIndex(hash, list.length)]!

/**
 * A small, fast generator (sfc32) whose whole state is set from a 64-bit hash: a strategy that
 * needs several random choices per value derives them all from one PRF call. Not a source of
 * secrets: its outputs are only as unpredictable as the keyed hash that seeds it.
 */
export class HashRandom {
  private a = 0
  private b = 0
  private c = 0
  private d = 1

  /** Set the state from `hash`; the next outputs are a function of it alone. */
  seed(hash: bigint): void {
    h64[0] = hash
    this.a = h32[0]!
    this.b = h32[1]!
    this.c = (h32[0]! ^ 0x9e3779b9) >>> 0
    this.d = 1
    // Three rounds spread the seed over all four words (the seed is already a PRF output).
    this.next32()
    this.next32()
    this.next32()
  }

  /** Seed from the platform's random source: for surrogates that must not derive from the value. */
  seedRandom(): void {
    const words = crypto.getRandomValues(new Uint32Array(4))
    this.a = words[0]!
    this.b = words[1]!
    this.c = words[2]!
    this.d = words[3]! | 1
  }

  next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** A float in [0, 1), as faker's `Randomizer.next` expects. */
  next(): number {
    return this.next32() / 0x100000000
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
}

// ---------------------------------------------------------------------------------------------
// Remembering outputs of values that repeat

/** Inputs longer than this are masked directly: long values rarely repeat. */
const MEMO_MAX_BYTES = 64
const MEMO_SLOTS = 4096
/** After this many lookups with fewer than a tenth of them hits, the memo turns itself off. */
const MEMO_PROBATION = 20_000

/**
 * A deterministic binary mask that remembers the outputs of recent inputs: for columns whose
 * values repeat (first names, cities, product names), a repeated value costs a cheap hash and a
 * comparison instead of the keyed PRF and the generation of its fake. A direct-mapped table of
 * MEMO_SLOTS entries (bounded memory); a column whose values do not repeat (e-mail addresses)
 * switches it off after MEMO_PROBATION values, so it costs them little. Only for deterministic
 * masks: the output must be a function of the input bytes alone.
 */
export const memoizeBinary = (mask: BinaryMask): BinaryMask => {
  const keys = new Array<Uint8Array | undefined>(MEMO_SLOTS)
  const values = new Array<Uint8Array | undefined>(MEMO_SLOTS)
  const scratch = new ByteWriter(256)
  let lookups = 0
  let hits = 0
  let enabled = true
  return (bytes, start, length, out) => {
    if (!enabled || length > MEMO_MAX_BYTES) return mask(bytes, start, length, out)
    const end = start + length
    let h = 0x811c9dc5 // FNV-1a
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
    const slot = (h >>> 0) & (MEMO_SLOTS - 1)
    const key = keys[slot]
    lookups++
    if (key !== undefined && key.length === length) {
      let same = true
      for (let i = 0; i < length; i++) {
        if (key[i] !== bytes[start + i]) {
          same = false
          break
        }
      }
      if (same) {
        hits++
        const value = values[slot]!
        out.bytes(value, 0, value.length)
        return
      }
    }
    if (lookups === MEMO_PROBATION && hits * 10 < lookups) {
      enabled = false
      keys.fill(undefined)
      values.fill(undefined)
      return mask(bytes, start, length, out)
    }
    scratch.pos = 0
    mask(bytes, start, length, scratch)
    // Copies: a Buffer's slice is a view, and both buffers are reused.
    const value = Uint8Array.prototype.slice.call(scratch.buf, 0, scratch.pos)
    keys[slot] = Uint8Array.prototype.slice.call(bytes, start, end)
    values[slot] = value
    out.bytes(value, 0, value.length)
  }
}

// ---------------------------------------------------------------------------------------------
// Keyed permutations (uniqueness by construction)

const ROUNDS = 6

/**
 * A keyed permutation of the integers of a `bits`-bit signed type (16, 32 or 64) that keeps the
 * sign: non-negative values map onto non-negative values, negative onto negative. Built as an
 * alternating Feistel network over the (bits - 1) magnitude bits, with `prf` as round function:
 * every round is invertible, so distinct inputs can never give equal outputs.
 */
export const makeIntegerPermutation = (prf: MaskContext["prf"], purpose: string, bits: 16 | 32 | 64) => {
  const total = bits - 1
  const leftBits = Math.floor(total / 2)
  const rightBits = total - leftBits
  const purposes = Array.from({ length: ROUNDS }, (_, round) => `${purpose}\u0000feistel${round}`)
  const roundValue = (round: number, half: number, width: number) => {
    const [low] = hashWords(prf(purposes[round]!, String(half)))
    return width === 32 ? low : low & ((1 << width) - 1)
  }
  const mod = (value: number, width: number) => (width === 32 ? value >>> 0 : value & ((1 << width) - 1))
  const permuteMagnitude = (value: bigint, inverse: boolean): bigint => {
    // State (a: aBits wide, b: bBits wide); a round maps (a, b) to (b, a + F(b) mod 2^aBits), and
    // the widths swap. After an even number of rounds they are back where they started.
    let a = Number(value >> BigInt(rightBits))
    let b = Number(value & ((1n << BigInt(rightBits)) - 1n))
    let aBits = leftBits
    let bBits = rightBits
    for (let i = 0; i < ROUNDS; i++) {
      if (!inverse) {
        const next = mod(a + roundValue(i, b, aBits), aBits)
        a = b
        b = next
      } else {
        const round = ROUNDS - 1 - i
        const previous = mod(b - roundValue(round, a, bBits) + 2 ** bBits, bBits)
        b = a
        a = previous
      }
      const width = aBits
      aBits = bBits
      bBits = width
    }
    return (BigInt(a) << BigInt(rightBits)) | BigInt(b)
  }
  const apply = (value: bigint, inverse: boolean) =>
    value >= 0n ? permuteMagnitude(value, inverse) : -1n - permuteMagnitude(-1n - value, inverse)
  return {
    forward: (value: bigint) => apply(value, false),
    inverse: (value: bigint) => apply(value, true)
  }
}

/**
 * A keyed permutation of byte strings of each length: a Feistel network over the two halves of
 * the string whose round function XORs one half with a keystream drawn from the other: one `prf`
 * call on that half seeds a HashRandom that yields the keystream. Length is kept, and distinct
 * inputs of one length give distinct outputs (each round is invertible), so distinct inputs of
 * any lengths do too.
 */
export const makeBytePermutation = (prf: MaskContext["prf"], purpose: string) => {
  const purposes = Array.from({ length: ROUNDS }, (_, round) => `${purpose}\u0000bytes${round}`)
  const keystream = new HashRandom()
  /** XOR into `bytes[from, from + count)` round `round`'s keystream of `bytes[sFrom, sFrom + sCount)`. */
  const mix = (bytes: Uint8Array, round: number, sFrom: number, sCount: number, from: number, count: number) => {
    const text = String.fromCharCode.apply(null, bytes.subarray(sFrom, sFrom + sCount) as unknown as Array<number>)
    keystream.seed(prf(purposes[round]!, text))
    for (let j = 0; j < count; j += 4) {
      const word = keystream.next32()
      for (let k = 0; k < 4 && j + k < count; k++) bytes[from + j + k] = bytes[from + j + k]! ^ ((word >>> (8 * k)) & 0xff)
    }
  }
  const run = (input: Uint8Array, inverse: boolean): Uint8Array => {
    const bytes = input.slice()
    const n = bytes.length
    const half = n >> 1
    // Rounds alternate: even rounds change the first half from the second, odd the reverse.
    for (let i = 0; i < ROUNDS; i++) {
      const round = inverse ? ROUNDS - 1 - i : i
      if (round % 2 === 0) mix(bytes, round, half, n - half, 0, half)
      else mix(bytes, round, 0, half, half, n - half)
    }
    return bytes
  }
  return {
    forward: (input: Uint8Array) => run(input, false),
    inverse: (input: Uint8Array) => run(input, true)
  }
}

// ---------------------------------------------------------------------------------------------
// Text helpers

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567"

/** RFC 4648 base32, lower case, no padding: safe in e-mail local parts and case-insensitive indexes. */
export const base32 = (bytes: Uint8Array): string => {
  let out = ""
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31]
  return out
}

/** Base32 digits of a 64-bit hash, as many as asked (at most 12, 60 bits). */
export const hashBase32 = (hash: bigint, digits: number): string => {
  const [low, high] = hashWords(hash)
  let out = ""
  for (let i = 0; i < digits; i++) {
    const shift = 5 * i
    const v = shift < 30 ? (low >>> shift) & 31 : (high >>> (shift - 30)) & 31
    out += BASE32[v]
  }
  return out
}

const encoder = new TextEncoder()
export const utf8Bytes = (text: string): Uint8Array => encoder.encode(text)

/** Characters as PostgreSQL counts them (`length()`, `varchar(n)`): code points, not UTF-16 units. */
export const codePointLength = (text: string): number => {
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1)
      if (low >= 0xdc00 && low < 0xe000) {
        n--
        i++
      }
    }
  }
  return n
}

// ---------------------------------------------------------------------------------------------
// Column types

export type TypeFamily =
  | "text"
  | "integer"
  | "numeric"
  | "float"
  | "date"
  | "timestamp"
  | "timestamptz"
  | "json"
  | "boolean"
  | "uuid"
  | "inet"
  | "mac"
  | "other"

const FAMILIES: ReadonlyMap<string, TypeFamily> = new Map<string, TypeFamily>([
  ["text", "text"],
  ["character varying", "text"],
  ["varchar", "text"],
  ["character", "text"],
  ["char", "text"],
  ["bpchar", "text"],
  ["citext", "text"],
  ["inet", "inet"],
  ["cidr", "inet"],
  ["macaddr", "mac"],
  ["macaddr8", "mac"],
  ["name", "text"],
  ["smallint", "integer"],
  ["integer", "integer"],
  ["bigint", "integer"],
  ["int2", "integer"],
  ["int4", "integer"],
  ["int8", "integer"],
  ["numeric", "numeric"],
  ["decimal", "numeric"],
  ["real", "float"],
  ["double precision", "float"],
  ["float4", "float"],
  ["float8", "float"],
  ["date", "date"],
  ["timestamp without time zone", "timestamp"],
  ["timestamp", "timestamp"],
  ["timestamp with time zone", "timestamptz"],
  ["timestamptz", "timestamptz"],
  ["json", "json"],
  ["jsonb", "json"],
  ["boolean", "boolean"],
  ["bool", "boolean"],
  ["uuid", "uuid"]
])

/** The base type without modifiers: `timestamp(3) with time zone` → `timestamp with time zone`. */
const plainType = (type: string) =>
  type
    .replace(/\(\s*\d+(\s*,\s*-?\d+)?\s*\)/g, "")
    .replace(/^(pg_catalog|public)\./, "")
    .replace(/"/g, "")
    .trim()
    .toLowerCase()

/** What kind of values a column holds (of its elements, for arrays); enums count as "other". */
export const typeFamily = (column: MaskColumn): TypeFamily =>
  column.isEnum === true ? "other" : (FAMILIES.get(plainType(column.baseType)) ?? "other")

/** Width of an integer column's type in bits. */
export const integerBits = (column: MaskColumn): 16 | 32 | 64 => {
  const type = plainType(column.baseType)
  return type === "smallint" || type === "int2" ? 16 : type === "integer" || type === "int4" ? 32 : 64
}

/** `numeric(p, s)` of the column's declared type, when it says so. */
export const numericTypmod = (column: MaskColumn): { readonly precision: number; readonly scale: number } | undefined => {
  const match = /^(?:numeric|decimal)\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)/.exec(column.type)
  return match ? { precision: Number(match[1]), scale: Number(match[2] ?? 0) } : undefined
}

/** A refusal for columns outside `families`, or undefined. */
export const requireFamily = (column: MaskColumn, families: ReadonlyArray<TypeFamily>, what: string): string | undefined =>
  families.includes(typeFamily(column)) ? undefined : `it writes ${what}, and the column is ${column.type}`

/** A refusal when outputs of up to `length` characters do not fit the column, or undefined. */
export const requireLength = (column: MaskColumn, length: number): string | undefined =>
  column.maxLength !== null && length > column.maxLength
    ? `its values have up to ${length} characters, and the column holds ${column.maxLength}`
    : undefined

// ---------------------------------------------------------------------------------------------
// PostgreSQL array literals

const isArraySpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f"

const needsQuotes = (value: string, delimiter: string): boolean => {
  if (value === "" || value.toUpperCase() === "NULL") return true
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (c === delimiter || c === '"' || c === "\\" || c === "{" || c === "}" || isArraySpace(c)) return true
  }
  return false
}

/**
 * `text` with every non-NULL element replaced by `map(element)` (null for NULL), keeping the
 * array's shape: any number of dimensions, and explicit bounds (`[0:1]={...}`) as they were.
 * This is what masks array columns, element by element, whatever their dimensions.
 */
export const mapArrayLiteral = (text: string, map: (element: string) => string | null, delimiter = ","): string => {
  const fail = (why: string): never => {
    throw new Error(`malformed array literal ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)}: ${why}`)
  }
  const n = text.length
  let i = 0
  let out = ""
  while (i < n && isArraySpace(text[i]!)) i++
  if (text[i] === "[") {
    const equals = text.indexOf("=", i)
    if (equals < 0) fail("bounds without =")
    out += text.slice(i, equals + 1)
    i = equals + 1
  }
  while (i < n && isArraySpace(text[i]!)) i++
  if (text[i] !== "{") fail("it does not start with {")
  let depth = 0
  let closed = false
  while (i < n) {
    const c = text[i]!
    if (closed && !isArraySpace(c)) fail("text after the closing }")
    if (isArraySpace(c)) {
      i++
      continue
    }
    if (c === "{") {
      depth++
      out += c
      i++
      continue
    }
    if (c === "}") {
      if (depth === 0) fail("unbalanced }")
      depth--
      closed = depth === 0
      out += c
      i++
      continue
    }
    if (c === delimiter) {
      out += c
      i++
      continue
    }
    if (depth === 0) fail("element outside braces")
    let value = ""
    let quoted = false
    if (c === '"') {
      quoted = true
      i++
      for (;;) {
        if (i >= n) fail("unterminated quoted element")
        const d = text[i]!
        if (d === "\\") {
          if (i + 1 >= n) fail("backslash at the end")
          value += text[i + 1]
          i += 2
        } else if (d === '"') {
          i++
          break
        } else {
          value += d
          i++
        }
      }
    } else {
      let kept = 0
      for (;;) {
        if (i >= n) fail("unterminated array")
        const d = text[i]!
        if (d === delimiter || d === "}") break
        if (d === '"' || d === "{") fail(`unexpected ${d} inside an unquoted element`)
        if (d === "\\") {
          if (i + 1 >= n) fail("backslash at the end")
          value += text[i + 1]
          i += 2
          kept = value.length
          quoted = true
        } else {
          value += d
          i++
          if (!isArraySpace(d)) kept = value.length
        }
      }
      value = value.slice(0, kept)
    }
    const masked = !quoted && value.toUpperCase() === "NULL" ? null : map(value)
    out += masked === null ? "NULL" : needsQuotes(masked, delimiter) ? `"${masked.replace(/["\\]/g, "\\$&")}"` : masked
  }
  if (depth !== 0) fail("unbalanced {")
  return out
}
