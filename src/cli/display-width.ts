/**
 * How many terminal columns a string takes, so that tables of real data line up: CJK and other
 * East Asian wide or fullwidth characters and most emoji take two, combining marks, zero-width
 * joiners and variation selectors none, ANSI colour codes none. `String.length` counts UTF-16
 * units, which is wrong for all of these (a customer named `伟 王` pushed the demo's table out of
 * line).
 */

// The main East Asian Wide (W) and Fullwidth (F) ranges of Unicode's EastAsianWidth.txt, with
// the emoji blocks terminals draw two columns wide (a few symbols in them are narrow: close
// enough for a table); [first, last] code points, in order.
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f251],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd]
]

const isWide = (code: number): boolean => {
  let low = 0
  let high = WIDE.length - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    const [first, last] = WIDE[middle]!
    if (code < first) high = middle - 1
    else if (code > last) low = middle + 1
    else return true
  }
  return false
}

const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200b-\u200f\u2060\ufe00-\ufe0f\ufeff]/u
const ANSI = /\u001b\[[0-9;]*m/g

/** The columns `text` takes in a terminal. */
export const displayWidth = (text: string): number => {
  let width = 0
  for (const char of text.includes("\u001b") ? text.replace(ANSI, "") : text) {
    const code = char.codePointAt(0)!
    if (code < 0x7f) width += code >= 0x20 ? 1 : 0
    else if (ZERO_WIDTH.test(char)) continue
    else width += isWide(code) ? 2 : 1
  }
  return width
}

/** `text` padded with spaces to `width` terminal columns. */
export const padToWidth = (text: string, width: number): string => {
  const missing = width - displayWidth(text)
  return missing > 0 ? text + " ".repeat(missing) : text
}
