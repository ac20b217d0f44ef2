/**
 * Every built-in PII detector, table-driven: values that must validate (positives, in the column
 * types and under the names they come with) and near misses that must not (a wrong check digit,
 * a reserved prefix, a look-alike shape). Then the column decisions' negative filters: integer
 * keys, UUID, digest and epoch columns, low-cardinality codes, product names, and one hit never
 * labelling a whole column. Pure functions: no database.
 */
import * as Effect from "effect/Effect"
import { beforeAll, describe, expect, it } from "vitest"
import { nameTokens } from "../src/engine/column-names.ts"
import { columnScan, makeDetectors, type NamedDetector } from "../src/engine/pii-detect.ts"
import { maskEmail, maskExample } from "../src/engine/pii-kit.ts"
import type { DetectColumn, DetectHit } from "../src/engine/plugin.ts"
import { builtinPlugins } from "../src/plugins/index.ts"

let detectors: ReadonlyArray<NamedDetector>
beforeAll(async () => {
  detectors = await Effect.runPromise(makeDetectors(builtinPlugins))
})

const column = (name: string, baseType = "text", table = "public.records"): DetectColumn => ({
  name,
  type: baseType,
  typeOid: 25,
  baseType,
  isArray: false,
  notNull: false,
  table,
  words: nameTokens(name),
  tableWords: nameTokens(table.split(".")[1]!)
})

const detector = (entity: string) => {
  const found = detectors.find((d) => d.detector.entity === entity)
  if (found === undefined) throw new Error(`no detector for ${entity}`)
  return found.detector
}

/** The hit of `value` for `entity` in column `name` of `type` (undefined: the detector does not apply). */
const hit = (entity: string, name: string, value: string, type = "text"): DetectHit | undefined => detector(entity).compile(column(name, type))?.test(value)

interface Case {
  readonly entity: string
  /** [column name, type, value] that must validate at level 2 (or 1 where the name is needed). */
  readonly positive: ReadonlyArray<readonly [string, string, string, DetectHit]>
  /** [column name, type, value] that must give 0 (or not apply). */
  readonly negative: ReadonlyArray<readonly [string, string, string]>
}

const CASES: ReadonlyArray<Case> = [
  {
    entity: "email",
    positive: [["email", "text", "jane.doe@gmail.com", 2], ["c1", "text", "J.Müller@web.de", 2], ["contactEmail", "citext", "x@company.co.uk", 2]],
    negative: [["email", "text", "jane@example.com"], ["email", "text", "user@mail.test"], ["email", "text", "not an email"], ["email", "text", "a@b"], ["email", "text", "@gmail.com"], ["email", "integer", "5"]]
  },
  {
    entity: "phone",
    positive: [["phone", "text", "+44 20 7946 0958", 2], ["c1", "text", "(415) 555-2671", 2], ["telefon", "text", "030 12345678", 2], ["mobile", "text", "06 12 34 56 78", 2], ["phone", "bigint", "4155552671", 1]],
    negative: [["c1", "text", "123e4567-e89b"], ["c1", "text", "4155552671"], ["phone", "text", "1712345678"], ["c1", "text", "7.14.22.199"], ["phone", "text", "+1 000 000 0000"], ["phone", "text", "555"], ["phone_type", "text", "+44 20 7946 0958"]]
  },
  {
    entity: "payment-card",
    positive: [["card_number", "text", "4111 1111 1111 1111", 2], ["c1", "text", "5555555555554444", 2], ["ccNum", "bigint", "378282246310005", 2]],
    negative: [["card", "text", "4111 1111 1111 1112"], ["card", "text", "4444444444444444"], ["c1", "bigint", "1712345678901"], ["card", "text", "1234567812345670"], ["card", "text", "4111-1111--1111-1111"]]
  },
  {
    entity: "iban",
    positive: [["iban", "text", "DE89370400440532013000", 2], ["c1", "text", "GB82 WEST 1234 5698 7654 32", 2], ["account", "text", "NL91ABNA0417164300", 2]],
    negative: [["iban", "text", "DE89370400440532013001"], ["iban", "text", "XX89370400440532013000"], ["iban", "text", "DE8937040044"]]
  },
  {
    entity: "us-ssn",
    positive: [["ssn", "text", "536-22-1234", 2], ["c1", "text", "536-22-1234", 2], ["ssn", "text", "536221234", 1], ["socialSecurityNumber", "bigint", "78221234", 1]],
    negative: [["ssn", "text", "000-12-3456"], ["ssn", "text", "666-12-3456"], ["ssn", "text", "912-34-5678"], ["ssn", "text", "536-00-1234"], ["ssn", "text", "536-22-0000"], ["ssn", "text", "078-05-1120"], ["ssn", "text", "123-45-6789"]]
  },
  {
    entity: "uk-nino",
    positive: [["ni_number", "text", "AB123456C", 2], ["c1", "text", "AB 12 34 56 C", 2]],
    negative: [["nino", "text", "BG123456A"], ["nino", "text", "DA123456A"], ["nino", "text", "AB123456E"], ["nino", "text", "AO123456A"]]
  },
  {
    entity: "uk-nhs",
    positive: [["nhsNumber", "text", "943 476 5919", 2], ["c1", "text", "9434765919", 2]],
    negative: [["nhs", "text", "943 476 5918"], ["nhs", "text", "0000000000"], ["nhs", "text", "943-476-591"]]
  },
  {
    entity: "de-tax-id",
    positive: [["steuerId", "text", "86095742719", 2]],
    negative: [["steuerId", "text", "86095742718"], ["steuerId", "text", "06095742719"], ["steuerId", "text", "11111111111"]]
  },
  {
    entity: "fr-insee",
    positive: [["numero_secu", "text", "1 84 12 76 451 089 46", 2], ["c1", "text", "255081416802538", 2]],
    negative: [["insee", "text", "1 84 12 76 451 089 47"], ["insee", "text", "5 84 12 76 451 089 46"], ["insee", "text", "1 84 13 76 451 089 46"]]
  },
  {
    entity: "es-dni",
    positive: [["dni", "text", "12345678Z", 2], ["c1", "text", "X1234567L", 2]],
    negative: [["dni", "text", "12345678A"], ["dni", "text", "1234567Z"], ["dni", "text", "X1234567A"]]
  },
  {
    entity: "nl-bsn",
    positive: [["bsn", "text", "111222333", 2], ["bsn", "integer", "111222333", 2]],
    negative: [["bsn", "text", "111222334"], ["bsn", "text", "111111111"], ["bsn", "text", "11122233"]]
  },
  {
    entity: "it-codice-fiscale",
    positive: [["codice_fiscale", "text", "RSSMRA85T10A562S", 2], ["c1", "text", "rssmra85t10a562s", 2]],
    negative: [["codice_fiscale", "text", "RSSMRA85T10A562T"], ["codice_fiscale", "text", "RSSMRA85T10A562"]]
  },
  {
    entity: "ca-sin",
    positive: [["sin", "text", "130 692 544", 2], ["sin", "integer", "193456787", 2]],
    negative: [["sin", "text", "130 692 545"], ["sin", "text", "046 454 286"], ["sin", "text", "830 692 544"], ["sin", "text", "000 000 000"]]
  },
  {
    entity: "br-cpf",
    positive: [["cpf", "text", "529.982.247-25", 2], ["c1", "text", "52998224725", 2]],
    negative: [["cpf", "text", "529.982.247-26"], ["cpf", "text", "111.111.111-11"], ["cpf", "text", "529.982.247"]]
  },
  {
    entity: "ip-address",
    positive: [["ip_address", "text", "192.168.1.10", 2], ["c1", "text", "2001:db8::1", 2], ["lastLoginIp", "inet", "10.0.0.1/32", 2], ["ip", "text", "1.2.3.4", 1]],
    negative: [["ip", "text", "256.1.1.1"], ["ip", "text", "0.0.0.0"], ["ip", "text", "10.0.0.1/abc"], ["ip", "text", "12:30:45"], ["app_version", "text", "10.4.22.1"]]
  },
  {
    entity: "mac-address",
    positive: [["mac", "text", "00:1A:2B:3C:4D:5E", 2], ["c1", "text", "00-1a-2b-3c-4d-5e", 2], ["hw", "macaddr", "08:00:2b:01:02:03", 2]],
    negative: [["mac", "text", "00:00:00:00:00:00"], ["mac", "text", "ff:ff:ff:ff:ff:ff"], ["mac", "text", "001A2B3C4D5E"], ["mac", "text", "00:1A:2B:3C:4D"]]
  },
  {
    entity: "device-id",
    positive: [["imei", "text", "490154203237518", 2], ["advertising_id", "uuid", "123e4567-e89b-42d3-a456-426614174000", 1]],
    negative: [["imei", "text", "490154203237519"], ["imei", "text", "111111111111111"], ["device_type", "text", "490154203237518"]]
  },
  {
    entity: "person-name",
    positive: [["first_name", "text", "Maria", 1], ["c1", "text", "Maria Garcia", 2], ["full_name", "text", "JOHN SMITH", 2], ["c1", "text", "王伟", 2], ["lastName", "text", "Zyxwvut", 1], ["customer_name", "text", "Hannah Cohen", 1]],
    negative: [["c1", "text", "Rustic Granite Chair"], ["c1", "text", "Johnson & Johnson"], ["full_name", "text", "Schmidt GmbH"], ["c1", "text", "Maria"], ["first_name", "text", "R2D2"], ["product_name", "text", "Maria Garcia"], ["c1", "text", "ACADEMY DINOSAUR"]]
  },
  {
    entity: "street-address",
    positive: [["c1", "text", "742 Evergreen Terrace", 2], ["c1", "text", "Hauptstraße 5", 2], ["c1", "text", "12 rue de la Paix", 2], ["address", "text", "Flat 4, 17 Elm Park", 1]],
    negative: [["c1", "text", "Order 4411 shipped"], ["c1", "text", "Main Street"], ["email_address", "text", "742 Evergreen Terrace"]]
  },
  {
    entity: "postal-code",
    positive: [["zip", "text", "02134", 1], ["postcode", "text", "SW1A 1AA", 1], ["plz", "integer", "10115", 1]],
    negative: [["zip", "text", "hello"], ["zip", "text", "1"], ["quantity", "text", "02134"]]
  },
  {
    entity: "date-of-birth",
    positive: [["dob", "date", "1980-05-17", 1], ["birthDate", "text", "17.05.1980", 1], ["date_of_birth", "timestamp without time zone", "1980-05-17 00:00:00", 1]],
    negative: [["dob", "date", "2090-01-01"], ["dob", "date", "1850-01-01"], ["created_at", "date", "1980-05-17"], ["birth_place", "text", "1980-05-17"]]
  }
]

describe("each detector: positives and near misses", () => {
  it("covers every built-in detector", () => {
    expect(new Set(CASES.map((c) => c.entity))).toEqual(new Set(detectors.map((d) => d.detector.entity)))
  })
  for (const c of CASES) {
    it(`${c.entity}`, () => {
      for (const [name, type, value, level] of c.positive) expect(hit(c.entity, name, value, type), `${name} (${type}) ${value}`).toBe(level)
      for (const [name, type, value] of c.negative) expect(hit(c.entity, name, value, type) ?? 0, `${name} (${type}) ${value}`).toBe(0)
    })
  }
  it("finds entities inside free text and JSON", () => {
    const find = (entity: string, text: string) => detector(entity).compile(column("notes"))?.find?.(text)
    expect(find("email", "please write to jane.doe@gmail.com today")).toBe("jane.doe@gmail.com")
    expect(find("email", "see docs at user@example.com")).toBeUndefined()
    expect(find("phone", '{"to":"+44 20 7946 0958"}')).toBe("+44 20 7946 0958")
    expect(find("payment-card", "card 4111 1111 1111 1111 declined")).toBe("4111 1111 1111 1111")
    expect(find("payment-card", "event at 1712345678901 ms")).toBeUndefined()
    expect(find("iban", "pay to DE89 3704 0044 0532 0130 00 please")).toBe("DE89 3704 0044 0532 0130 00")
    expect(find("ip-address", "login from 84.12.200.7 failed")).toBe("84.12.200.7")
    expect(find("us-ssn", "ssn on file 536-22-1234")).toBe("536-22-1234")
  })
})

describe("examples are masked", () => {
  it("never shows the value", () => {
    expect(maskEmail("jane.doe@example.org")).toBe("j***@e***.org")
    expect(maskExample("415-555-0132")).toBe("4**-5**-0***")
    expect(maskExample("Jane Doe")).toBe("J*** D**")
  })
})

describe("column decisions: negative filters", () => {
  const decide = (name: string, type: string, values: ReadonlyArray<string>, integerKey = false, table = "public.records") => {
    const scan = columnScan(detectors, column(name, type, table), { integerKey })
    for (const v of values) scan?.add(v)
    return scan?.decide()
  }
  const luhnOk = (body: string) => {
    let sum = 0
    for (let i = 0; i < body.length; i++) {
      let d = Number(body[body.length - 1 - i])
      if (i % 2 === 1) {
        d *= 2
        if (d > 9) d -= 9
      }
      sum += d
    }
    return sum % 10 === 0
  }
  const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i))

  it("labels a column with a high share of validated values", () => {
    const d = decide("c1", "text", range(100, (i) => `user${i}@gmail.com`))
    expect(d).toMatchObject({ entity: "email", confidence: "high", ratio: 1, hits: 100, sampled: 100 })
    expect(d!.example).toBe("u***@g***.com")
  })
  it("does not label a whole column by one hit", () => {
    const d = decide("c1", "text", [...range(99, (i) => `code-${i}`), "jane.doe@gmail.com"])
    expect(d).toBeUndefined()
  })
  it("skips integer keys unless the name says otherwise", () => {
    const ssns = range(100, (i) => String(536221000 + i))
    expect(decide("customer_id", "integer", ssns, true)).toBeUndefined()
    expect(decide("ssn", "bigint", ssns, true)?.entity).toBe("us-ssn")
  })
  it("ignores epoch milliseconds, even the ones that pass Luhn", () => {
    const epochs = range(300, (i) => String(1_700_000_000_000 + i * 7919)).filter(luhnOk)
    expect(epochs.length).toBeGreaterThan(10)
    expect(decide("c1", "bigint", epochs)).toBeUndefined()
  })
  it("ignores UUIDs, hex digests and serial-like numbers", () => {
    expect(decide("c1", "uuid", range(100, (i) => `123e4567-e89b-42d3-a456-${String(426614174000 + i).padStart(12, "0")}`))).toBeUndefined()
    expect(decide("checksum", "text", range(100, (i) => (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).padStart(40, "a")))).toBeUndefined()
    expect(decide("invoice_no", "bigint", range(100, (i) => String(100_000_000 + i * 7)))).toBeUndefined()
  })
  it("ignores low-cardinality codes", () => {
    expect(decide("c1", "text", range(200, (i) => ["Maria Garcia", "John Smith"][i % 2]!))).toBeUndefined()
  })
  it("does not read product or company names as people", () => {
    const products = range(100, (i) => ["Rustic Granite Chair", "Ergonomic Steel Keyboard", "Johnson & Johnson", "Smith Holdings", "Apple iPhone 12"][i % 5]! + ` ${i}`)
    expect(decide("name", "text", products, false, "public.product")).toBeUndefined()
    expect(decide("name", "text", range(100, (i) => ["Maria Garcia", "John Smith", "Hannah Cohen", "Lukas Schneider"][i % 4]! + "abcdefghij"[i % 10]!), false, "public.product")).toBeUndefined()
  })
  it("reads `name` in a person table as a person's name, also for names no dictionary has", () => {
    const names = range(100, (i) => `${["Zorba", "Quilla", "Ximeno", "Yaretzi"][i % 4]} ${["Okonkwo", "Vantongeren", "Szczepanik", "Nakamura"][Math.floor(i / 4) % 4]}${i}`.replace(/\d+$/, ""))
    expect(decide("name", "text", names.map((n, i) => `${n}${"abcdefghijklmnopqrstuvwxy"[i % 25]}`), false, "public.customers")?.entity).toBe("person-name")
  })
})
