/**
 * Readable tables line up in a terminal whatever the data: wide (CJK, emoji) and zero-width
 * characters and colour codes are measured as a terminal draws them.
 */
import { describe, expect, it } from "@effect/vitest"
import { displayWidth } from "../src/cli/display-width.ts"
import { formatTable, styleFor } from "../src/cli/output.ts"

describe("displayWidth", () => {
  it("counts wide characters twice and combining marks, joiners, variation selectors and colour codes not at all", () => {
    expect(displayWidth("Emma Wilson")).toBe(11)
    expect(displayWidth("伟 王")).toBe(5)
    expect(displayWidth("山田太郎")).toBe(8)
    expect(displayWidth("김민준")).toBe(6)
    expect(displayWidth("ＡＢ")).toBe(4)
    expect(displayWidth("👍")).toBe(2)
    expect(displayWidth("𠀋")).toBe(2)
    expect(displayWidth("e\u0301")).toBe(1)
    expect(displayWidth("Zoë Ørsted")).toBe(10)
    expect(displayWidth("Ελένη Παπαδοπούλου")).toBe(18)
    expect(displayWidth("a\u200db\ufe0f")).toBe(2)
    expect(displayWidth(styleFor(true).red("fail"))).toBe(4)
  })
})

describe("formatTable", () => {
  it("lines up columns holding wide characters", () => {
    const table = formatTable(
      ["name", "city"],
      [
        ["伟 王", "Barcelona"],
        ["Emma Wilson", "København"],
        ["山田太郎", "東京"]
      ]
    )
    const lines = table.split("\n")
    expect(lines).toStrictEqual(["name         city", "-----------  ---------", "伟 王        Barcelona", "Emma Wilson  København", "山田太郎     東京"])
    // Every second column starts at the same terminal column.
    expect(new Set(lines.map((line) => displayWidth(line.slice(0, line.lastIndexOf("  ") + 2))))).toStrictEqual(new Set([13]))
  })
})
