/**
 * The one byte form of an audit entry, so that its hash means one thing: canonical JSON in the
 * manner of RFC 8785 (JCS). Object keys sorted by UTF-16 code units (JavaScript's default string
 * order, as JCS says), no whitespace, strings escaped as `JSON.stringify` does, numbers in
 * ECMAScript form (`JSON.stringify` again, which is JCS's number rule), UTF-8 bytes. Not allowed,
 * because they have no single form: NaN, ±Infinity, `undefined` inside arrays, lone surrogates,
 * and anything that is not a plain JSON value. `undefined` object members are left out (as
 * `JSON.stringify` does), so optional fields need no special care.
 */

const ANY_SURROGATE = /[\uD800-\uDFFF]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const write = (value: unknown, out: Array<string>, path: string): void => {
  switch (typeof value) {
    case "string":
      if (ANY_SURROGATE.test(value) && LONE_SURROGATE.test(value)) throw new TypeError(`${path}: a string with a lone surrogate has no canonical form`)
      out.push(JSON.stringify(value))
      return
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no JSON form`)
      out.push(JSON.stringify(value))
      return
    case "boolean":
      out.push(value ? "true" : "false")
      return
    case "object": {
      if (value === null) {
        out.push("null")
        return
      }
      if (Array.isArray(value)) {
        out.push("[")
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",")
          if (value[i] === undefined) throw new TypeError(`${path}[${i}]: undefined has no JSON form`)
          write(value[i], out, `${path}[${i}]`)
        }
        out.push("]")
        return
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`${path}: only plain objects have a canonical form`)
      const record = value as Record<string, unknown>
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort()
      out.push("{")
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!
        if (i > 0) out.push(",")
        write(key, out, path)
        out.push(":")
        write(record[key], out, `${path}.${key}`)
      }
      out.push("}")
      return
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} has no JSON form`)
  }
}

/** The canonical JSON text of `value`; throws a TypeError naming the path of a value it cannot take. */
export const canonicalJson = (value: unknown): string => {
  const out: Array<string> = []
  write(value, out, "$")
  return out.join("")
}

/** Are the keys of every object in `value` in canonical (sorted) order? */
const keysSorted = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return true
  if (Array.isArray(value)) {
    for (const item of value) if (!keysSorted(item)) return false
    return true
  }
  let previous: string | undefined
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false
    previous = key
    if (!keysSorted((value as Record<string, unknown>)[key])) return false
  }
  return true
}

/**
 * Is `line` the canonical JSON of `value` (which `JSON.parse(line)` gave)? The verifier's hot
 * path: the native `JSON.stringify` plus a walk over the key order is several times faster than
 * `canonicalJson`, and equivalent for what it accepts; anything it does not accept (integer-like
 * keys, which JavaScript reorders, or escaped surrogates) is decided by `canonicalJson` itself.
 */
export const isCanonicalLine = (line: string, value: unknown): boolean => {
  if (!line.includes("\\u") && JSON.stringify(value) === line && keysSorted(value)) return true
  try {
    return canonicalJson(value) === line
  } catch {
    return false
  }
}
