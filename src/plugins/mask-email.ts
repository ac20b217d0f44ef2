/**
 * `email`: a valid address in place of each value. The local part is derived from the whole value
 * by keyed hash (so joins on e-mail columns keep working), the domain is `example.com`, reserved
 * for this by RFC 2606, unless `domain: keep` keeps the original one.
 *
 * On primary-key and unique columns (and columns referencing them), and everywhere with
 * `unique: true`, distinct inputs are guaranteed distinct addresses: the local part is then not a
 * hash but a keyed permutation of the input's UTF-8 bytes (the whole address, or its local part
 * when the domain is kept), written in base32: `u<code>@example.com`. Its length grows with the
 * input's (8 characters per 5 bytes), so a value whose code does not fit the column fails the run
 * with a message rather than being cut, which would break the guarantee. `unique: false` turns
 * this off (and the strategy is then refused on unique columns).
 */
import {
  base32,
  codePointLength,
  hashBase32,
  makeBytePermutation,
  maskOptions,
  requireFamily,
  requireLength,
  typeFamily,
  utf8Bytes
} from "../engine/mask-kit.ts"
import { type BinaryMask, definePlugin, Schema } from "../engine/plugin.ts"

const RESERVED_DOMAIN = "example.com"
/** Hash digits in the local part: 60 bits, no collision expected below a billion addresses. */
const HASH_DIGITS = 12
/** Fewest digits used when a tight column forces a shorter local part. */
const MIN_HASH_DIGITS = 6
const RESERVED_DOMAIN_BYTES = new TextEncoder().encode(RESERVED_DOMAIN)
const BASE32_CODES = new TextEncoder().encode("abcdefghijklmnopqrstuvwxyz234567")

export default definePlugin({
  name: "email",
  kind: "mask",
  description: "A valid e-mail address derived by keyed hash (or permutation, unique: true); reserved domain unless domain: keep.",
  options: maskOptions({
    domain: Schema.optional(Schema.Literals(["keep", "replace"])),
    unique: Schema.optional(Schema.Boolean)
  }),
  make: (options, context) => {
    const keepDomain = options.domain === "keep"
    const permutation = makeBytePermutation(context.prf, "email\u0000unique")
    const shortest = 1 + (options.unique === true ? 0 : MIN_HASH_DIGITS) + 1 + RESERVED_DOMAIN.length
    return {
      deterministic: true,
      unique: options.unique !== false,
      mayReturnNull: false,
      check: (column) =>
        requireFamily(column, ["text"], "e-mail addresses") ?? (keepDomain ? undefined : requireLength(column, shortest)),
      compile: (column) => {
        const unique = options.unique === true || (options.unique === undefined && column.unique)
        const maxLength = column.maxLength ?? Number.POSITIVE_INFINITY
        const tooLong = (address: string) =>
          new Error(`email: a masked address of ${codePointLength(address)} characters does not fit ${column.table}.${column.name} (${column.type})`)
        return (value) => {
          const at = value.lastIndexOf("@")
          const kept = keepDomain && at > 0 && at < value.length - 1
          const domain = kept ? value.slice(at + 1) : RESERVED_DOMAIN
          const source = kept ? value.slice(0, at) : value
          // Under domain: keep, a value with no domain to keep gets another prefix, so it cannot
          // meet the address of the same local part at example.com.
          const prefix = keepDomain && !kept ? "n" : "u"
          if (unique) {
            const address = `${prefix}${base32(permutation.forward(utf8Bytes(source)))}@${domain}`
            if (address.length > maxLength) throw tooLong(address)
            return address
          }
          const room = maxLength - 2 - codePointLength(domain)
          if (room < MIN_HASH_DIGITS) throw tooLong(`u${"x".repeat(MIN_HASH_DIGITS)}@${domain}`)
          return `${prefix}${hashBase32(context.prf("email", source), Math.min(HASH_DIGITS, room))}@${domain}`
        }
      },
      // The hashed form on text columns, over the value's UTF-8 bytes: the same address as above
      // without making a string. The permutation (unique) stays on the text path.
      compileBinary: (column) => {
        const unique = options.unique === true || (options.unique === undefined && column.unique)
        if (unique || typeFamily(column) !== "text" || column.isEnum === true) return undefined
        const maxLength = column.maxLength ?? Number.POSITIVE_INFINITY
        const words = new Uint32Array(2)
        const mask: BinaryMask = (bytes, start, length, out) => {
          const end = start + length
          let at = -1
          if (keepDomain) for (let i = end - 1; i >= start; i--) if (bytes[i] === 0x40) { at = i; break }
          const kept = at > start && at < end - 1
          let domainLength = RESERVED_DOMAIN.length
          if (kept) {
            domainLength = 0
            for (let i = at + 1; i < end; i++) if ((bytes[i]! & 0xc0) !== 0x80) domainLength++
          }
          const room = maxLength - 2 - domainLength
          if (room < MIN_HASH_DIGITS) {
            throw new Error(`email: a masked address of ${2 + MIN_HASH_DIGITS + domainLength} characters does not fit ${column.table}.${column.name} (${column.type})`)
          }
          context.prfBytesInto("email", bytes, start, kept ? at : end, words)
          const low = words[0]!
          const high = words[1]!
          out.u8(keepDomain && !kept ? 0x6e : 0x75)
          const digits = Math.min(HASH_DIGITS, room)
          for (let i = 0; i < digits; i++) {
            const shift = 5 * i
            out.u8(BASE32_CODES[shift < 30 ? (low >>> shift) & 31 : (high >>> (shift - 30)) & 31]!)
          }
          out.u8(0x40)
          if (kept) out.bytes(bytes, at + 1, end)
          else out.bytes(RESERVED_DOMAIN_BYTES, 0, RESERVED_DOMAIN_BYTES.length)
        }
        return mask
      }
    }
  }
})
