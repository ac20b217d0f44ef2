/**
 * Masking rule files: name tokenising and matching, loading with `extends` chains, merging, the
 * shipped profiles against pagila, demo-shop and a small shop schema read from a real
 * PostgreSQL, and every kind of bad input with the message a user sees.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import type { Catalog } from "../src/engine/catalog.ts"
import { readCatalog } from "../src/engine/catalog-reader.ts"
import { nameTokens } from "../src/engine/column-names.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { createDemoShopSchema, DEMO_SHOP_PERSONAL_DATA } from "../src/engine/demo-shop.ts"
import {
  loadMaskingRules,
  looksPersonal,
  resolveColumnRules,
  type ColumnRule,
  type MaskingRules,
  type MaskStrategies
} from "../src/engine/masking-rules.ts"
import { builtinPlugins } from "../src/plugins/index.ts"
import { freshDatabase, loadPagila, runSql } from "./support/database.ts"

const STRATEGY_NAMES = ["faker", "hash", "null", "redact", "partial", "email", "date_shift", "noise", "json", "regex_replace", "keep"]

/** The built-in strategies as the plugin host will describe them: hash, email and seeded fakes are deterministic. */
const strategies: MaskStrategies = {
  has: (name) => STRATEGY_NAMES.includes(name),
  names: STRATEGY_NAMES,
  isDeterministic: (name, options) => name === "hash" || name === "email" || options["deterministic"] === true
}

const SHOP_SCHEMA = `
  CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%');
  CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    first_name text NOT NULL,
    last_name text NOT NULL,
    "FirstName" text,
    email email_address,
    "contactEmail" text,
    user_email_address varchar(200),
    "EmailAddr" text,
    emailed_at timestamptz,
    email_verified boolean,
    template text,
    phone text,
    birth_date date,
    date_of_birth text,
    signup_ip inet,
    street_address text,
    address_id integer,
    city text,
    postal_code text,
    notes text,
    display text GENERATED ALWAYS AS (first_name || ' ' || last_name) STORED,
    full_name text GENERATED ALWAYS AS (first_name || ' ' || last_name) STORED,
    aliases text[]
  );
  CREATE SCHEMA app;
  CREATE TABLE app.customers (id integer PRIMARY KEY, email text, nickname text);
  CREATE TABLE orders (id integer PRIMARY KEY, internal_note text, customer_net cidr, device_mac macaddr, "lastLoginIp" text);
  CREATE TABLE payments (id integer, created_at timestamptz NOT NULL, card_number text, card_last4 char(4)) PARTITION BY RANGE (created_at);
  CREATE TABLE payments_2024 PARTITION OF payments FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2025-01-01 00:00+00');
  CREATE TABLE payments_2025 PARTITION OF payments FOR VALUES FROM ('2025-01-01 00:00+00') TO ('2026-01-01 00:00+00');
`

const catalogOf = (url: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const endpoint = yield* resolveEndpoint(url, {})
      return yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness-test")))
    })
  )

let workDir = ""
let home = ""
const env = () => ({ home, cwd: workDir })

/** Write a file under the work directory (creating folders) and return its absolute path. */
const write = (relative: string, text: string): string => {
  const path = NodePath.join(workDir, relative)
  mkdirSync(NodePath.dirname(path), { recursive: true })
  writeFileSync(path, text)
  return path
}

const load = (path: string) => Effect.runPromise(loadMaskingRules(path, env()))
const loadError = async (path: string) => (await Effect.runPromise(Effect.flip(loadMaskingRules(path, env())))).message
const resolve = (rules: MaskingRules, catalog: Catalog) => Effect.runPromise(resolveColumnRules(rules, catalog, strategies))
const resolveError = async (rules: MaskingRules, catalog: Catalog) =>
  (await Effect.runPromise(Effect.flip(resolveColumnRules(rules, catalog, strategies)))).message

const ruleFor = (resolved: ReadonlyArray<ColumnRule>, table: string, column: string, schema = "public") =>
  resolved.find((rule) => rule.schema === schema && rule.table === table && rule.column === column)

/** `strategy` or `strategy:faker_provider`, or `-` when no rule applies. */
const summary = (rule: ColumnRule | undefined): string =>
  rule === undefined ? "-" : typeof rule.options["faker_provider"] === "string" ? `faker:${rule.options["faker_provider"]}` : rule.strategy

beforeAll(() => {
  workDir = mkdtempSync(NodePath.join(tmpdir(), "masking-rules-"))
  home = NodePath.join(workDir, "home")
  mkdirSync(home)
})
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

describe("nameTokens", () => {
  it.each([
    ["email", ["email"]],
    ["contactEmail", ["contact", "email"]],
    ["user_email_address", ["user", "email", "address"]],
    ["EmailAddr", ["email", "addr"]],
    ["HTTPServer2Addr", ["http", "server", "addr"]],
    ["address2", ["address"]],
    ["ipv4_address", ["ipv", "address"]],
    ["e-mail", ["e", "mail"]],
    ["DOB", ["dob"]],
    ["dateOfBirth", ["date", "of", "birth"]],
    ["Straße_Nummer", ["straße", "nummer"]]
  ])("%s → %j", (name, tokens) => {
    expect(nameTokens(name)).toEqual(tokens)
  })
})

describe("looksPersonal by the baseline's name patterns", () => {
  let baseline: MaskingRules
  beforeAll(async () => {
    baseline = await load("baseline")
  })
  const personal = [
    "email", "contactEmail", "user_email_address", "EmailAddr", "e_mail", "first_name", "FirstName", "givenName",
    "customer_last_name", "date_of_birth", "dob", "birthDate", "phone_number", "mobile", "faxNo", "ssn", "passport_no",
    "iban", "ip_address", "lastLoginIp", "user_agent", "password_hash", "street", "addressLine1", "zip", "PostalCode",
    "latitude", "deviceId", "username", "internal_notes", "avatar"
  ]
  const notPersonal = [
    "template", "emailed_at", "temperature", "hotel", "hotel_name", "telemetry", "zipper", "latency", "citizen",
    "ethnicity", "description", "status", "created_at", "product_name", "passwordless", "shipping"
  ]
  it.each(personal)("%s looks personal", (name) => {
    expect(looksPersonal(baseline, name)).toBe(true)
  })
  it.each(notPersonal)("%s does not", (name) => {
    expect(looksPersonal(baseline, name)).toBe(false)
  })
})

describe("resolving against a shop schema", () => {
  let catalog: Catalog
  let baseline: MaskingRules
  beforeAll(async () => {
    const url = await freshDatabase("masking_rules_shop")
    await runSql(url, SHOP_SCHEMA)
    catalog = await catalogOf(url)
    baseline = await load("baseline")
  })

  it("gives each column the baseline's first matching rule, by name and by type", async () => {
    const resolved = await resolve(baseline, catalog)
    const expected: Array<[string, string, string]> = [
      ["customers", "first_name", "faker:person.firstName"],
      ["customers", "last_name", "faker:person.lastName"],
      ["customers", "FirstName", "faker:person.firstName"],
      ["customers", "email", "email"], // a domain over text
      ["customers", "contactEmail", "email"],
      ["customers", "user_email_address", "email"], // email before address
      ["customers", "EmailAddr", "email"],
      ["customers", "emailed_at", "-"], // another word
      ["customers", "email_verified", "-"], // a boolean is no address
      ["customers", "template", "-"],
      ["customers", "phone", "faker:phone.number"],
      ["customers", "birth_date", "date_shift"],
      ["customers", "date_of_birth", "null"], // text: no safe shift
      ["customers", "signup_ip", "faker:internet.ip"],
      ["customers", "street_address", "faker:location.streetAddress"],
      ["customers", "address_id", "-"], // an integer key
      ["customers", "city", "faker:location.city"],
      ["customers", "postal_code", "faker:location.zipCode"],
      ["customers", "notes", "faker:lorem.sentence"],
      ["customers", "full_name", "-"], // generated: computed by the target
      ["customers", "id", "-"],
      ["orders", "internal_note", "faker:lorem.sentence"],
      ["orders", "customer_net", "faker:internet.ip"], // cidr, by type
      ["orders", "device_mac", "faker:internet.mac"], // macaddr, by type
      ["orders", "lastLoginIp", "faker:internet.ip"], // ip before login
      ["payments", "card_number", "faker:finance.creditCardNumber"],
      ["payments_2024", "card_number", "faker:finance.creditCardNumber"]
    ]
    expect(expected.map(([table, column]) => [table, column, summary(ruleFor(resolved, table, column))])).toEqual(expected)
    expect(ruleFor(resolved, "customers", "email")?.origin).toMatch(
      /^baseline_masking_rules\.yaml:\d+ rules\[\d+\] \(names: email, types: text\)$/
    )
    expect(ruleFor(resolved, "customers", "signup_ip")?.origin).toMatch(/^baseline_masking_rules\.yaml:\d+ rules\[1\] \(types: inet\)$/)
    expect(ruleFor(resolved, "customers", "email", "app")?.strategy).toBe("email")
  })

  it("lets an explicit override beat the baseline, schema-qualified or not, and partitions inherit it", async () => {
    write(
      "shop/masking_rules.yaml",
      `version: "1.0"
extends: baseline
project_overrides:
  - table: public.customers
    column: email
    masking_strategy: keep
    reason: "test addresses only"
  - table: app.customers
    column: nickname
    masking_strategy: redact
    value: "nick"
  - table: orders
    column: internal_note
    masking_strategy: "keep"
    reason: "free text written by staff, reviewed 2026-03"
  - table: payments
    column: card_last4
    masking_strategy: redact
    value: "0000"
  - table: payments_2025
    column: card_last4
    masking_strategy: "null"
`
    )
    const rules = await load(NodePath.join(workDir, "shop/masking_rules.yaml"))
    const resolved = await resolve(rules, catalog)
    expect(ruleFor(resolved, "customers", "email")).toEqual({
      schema: "public",
      table: "customers",
      column: "email",
      strategy: "keep",
      options: { reason: "test addresses only" },
      origin: "masking_rules.yaml:4 project_overrides[0]",
      explicit: true
    })
    expect(ruleFor(resolved, "customers", "email", "app")?.explicit).toBe(false)
    expect(ruleFor(resolved, "customers", "email", "app")?.strategy).toBe("email")
    expect(ruleFor(resolved, "customers", "nickname", "app")?.options).toEqual({ value: "nick" })
    expect(ruleFor(resolved, "orders", "internal_note")?.strategy).toBe("keep")
    expect(ruleFor(resolved, "payments", "card_last4")?.strategy).toBe("redact")
    expect(ruleFor(resolved, "payments_2024", "card_last4")).toMatchObject({
      strategy: "redact",
      origin: "masking_rules.yaml:16 project_overrides[3]"
    })
    expect(ruleFor(resolved, "payments_2025", "card_last4")?.strategy).toBe("null")
  })

  it("nulls IP addresses under gdpr_ccpa, and keeps the baseline for the rest", async () => {
    const resolved = await resolve(await load("gdpr_ccpa"), catalog)
    expect(summary(ruleFor(resolved, "customers", "signup_ip"))).toBe("null")
    expect(summary(ruleFor(resolved, "orders", "customer_net"))).toBe("null")
    expect(summary(ruleFor(resolved, "orders", "device_mac"))).toBe("null")
    expect(summary(ruleFor(resolved, "orders", "lastLoginIp"))).toBe("null")
    expect(ruleFor(resolved, "customers", "signup_ip")?.origin).toMatch(/^gdpr_ccpa\.yaml:\d+ rules\[0\] \(types: inet\)$/)
    expect(summary(ruleFor(resolved, "customers", "email"))).toBe("email")
  })

  it("uses only random surrogates, removal and Safe Harbor generalisations under hipaa", async () => {
    const resolved = await resolve(await load("hipaa"), catalog)
    expect(resolved.filter((rule) => strategies.isDeterministic(rule.strategy, rule.options))).toEqual([])
    expect(summary(ruleFor(resolved, "customers", "first_name"))).toBe("faker:person.firstName")
    expect(ruleFor(resolved, "customers", "first_name")?.options["deterministic"]).toBe(false)
    expect(summary(ruleFor(resolved, "customers", "email"))).toBe("faker:internet.email")
    expect(summary(ruleFor(resolved, "customers", "signup_ip"))).toBe("null")
    expect(summary(ruleFor(resolved, "customers", "birth_date"))).toBe("regex_replace")
    expect(summary(ruleFor(resolved, "customers", "emailed_at"))).toBe("regex_replace") // every date, to its year
    expect(summary(ruleFor(resolved, "customers", "postal_code"))).toBe("regex_replace")
    expect(summary(ruleFor(resolved, "payments", "card_number"))).toBe("null")
  })

  it("refuses a deterministic override under hipaa, naming the rule, the column and §164.514(c)", async () => {
    const path = write(
      "hipaa-project/rules.yaml",
      `version: "1.0"
extends: hipaa
project_overrides:
  - table: public.customers
    column: phone
    masking_strategy: hash
    length: 10
    format: numeric
  - table: app.customers
    column: email
    masking_strategy: faker
    faker_provider: internet.email
    deterministic: true
`
    )
    const message = await resolveError(await load(path), catalog)
    expect(message).toContain("(2 problems)")
    expect(message).toContain(
      `rules.yaml:4 project_overrides[0]: strategy "hash" is deterministic (same input, same output), which profile hipaa (${NodePath.resolve(
        "rules/hipaa.yaml"
      )}) forbids: under HIPAA §164.514(c) a re-identification code must not be derived from information about the individual`
    )
    expect(message).toContain("(applies to public.customers.phone)")
    expect(message).toContain(`rules.yaml:9 project_overrides[1]: strategy "faker" is deterministic`)
    expect(message).toContain("(applies to app.customers.email)")
  })

  it("refuses a file that re-allows deterministic strategies a profile forbids", async () => {
    const path = write("hipaa-project/reallow.yaml", `version: "1.0"\nextends: hipaa\ndeterministic_allowed: true\n`)
    expect(await loadError(path)).toBe(
      `invalid masking rules:\n${path}:3:1: deterministic_allowed: cannot re-allow deterministic strategies that ${NodePath.resolve(
        "rules/hipaa.yaml"
      )} forbids`
    )
  })

  it("reports every bad override at once, with suggestions", async () => {
    const path = write(
      "shop/bad.yaml",
      `version: "1.0"
project_overrides:
  - { table: custmers, column: email, masking_strategy: email }
  - { table: customers, column: email, masking_strategy: email }
  - { table: public.customers, column: emial, masking_strategy: email }
  - { table: public.customers, column: phone, masking_strategy: fakr }
  - { table: orders, column: internal_note, masking_strategy: keep }
  - { table: orders, column: id, masking_strategy: keep, reason: "  " }
  - { table: public.customers, column: full_name, masking_strategy: "null" }
  - { table: pubic.orders, column: id, masking_strategy: "null" }
`
    )
    const message = await resolveError(await load(path), catalog)
    expect(message.split("\n")).toEqual([
      "masking rules cannot be applied (8 problems):",
      'bad.yaml:6 project_overrides[3]: unknown masking strategy "fakr" (did you mean "faker"?)',
      "bad.yaml:7 project_overrides[4]: keep needs a reason (why this column may be copied unmasked; it goes into the audit log)",
      "bad.yaml:8 project_overrides[5]: keep needs a reason (why this column may be copied unmasked; it goes into the audit log)",
      'bad.yaml:3 project_overrides[0]: table "custmers" does not exist (did you mean "customers"?)',
      'bad.yaml:4 project_overrides[1]: table "customers" is in several schemas (app, public); write it schema-qualified, e.g. "app.customers"',
      'bad.yaml:5 project_overrides[2]: column "emial" does not exist in public.customers (did you mean "email"?)',
      "bad.yaml:9 project_overrides[6]: public.customers.full_name is generated; mask the columns it is computed from",
      'bad.yaml:10 project_overrides[7]: table "pubic.orders" does not exist (did you mean "public.orders"?)'
    ])
  })

  it("refuses two overrides of one file for the same column", async () => {
    const path = write(
      "shop/twice.yaml",
      `version: "1.0"
project_overrides:
  - { table: public.orders, column: internal_note, masking_strategy: "null" }
  - { table: orders, column: internal_note, masking_strategy: redact }
`
    )
    expect(await resolveError(await load(path), catalog)).toBe(
      "masking rules cannot be applied (1 problem):\ntwice.yaml:4 project_overrides[1]: public.orders.internal_note already has a rule at twice.yaml:3 project_overrides[0]"
    )
  })

  it("lets every hipaa rule win over each deterministic baseline rule, for every baseline name and type", async () => {
    const baselineRules = baseline.rules
    const columns = baselineRules.flatMap((rule, r) => {
      const type = rule.types[0] ?? "text"
      const columnType = type === "bpchar" ? "char(20)" : type
      return rule.names.length === 0
        ? [`"type_only_${r}" ${columnType}`]
        : rule.names.map((pattern, p) => `"${pattern.join("_")}_x${"y".repeat(r)}${"z".repeat(p)}" ${columnType}`)
    })
    const url = await freshDatabase("masking_rules_sweep")
    await runSql(url, `CREATE TABLE everything (${columns.join(", ")})`)
    const sweep = await catalogOf(url)
    const underBaseline = await resolve(baseline, sweep)
    expect(underBaseline).toHaveLength(columns.length)
    const underHipaa = await resolve(await load("hipaa"), sweep)
    expect(underHipaa).toHaveLength(columns.length)
    expect(underHipaa.filter((rule) => strategies.isDeterministic(rule.strategy, rule.options))).toEqual([])
  })
})

describe("shipped files against pagila and demo-shop", () => {
  let pagila: Catalog
  let demoShop: Catalog
  beforeAll(async () => {
    const pagilaUrl = await freshDatabase("masking_rules_pagila")
    await loadPagila(pagilaUrl)
    pagila = await catalogOf(pagilaUrl)
    const shopUrl = await freshDatabase("masking_rules_demo")
    await Effect.runPromise(createDemoShopSchema(shopUrl))
    demoShop = await catalogOf(shopUrl)
  })

  const pagilaExpectations: Record<string, Array<[string, string, string]>> = {
    baseline: [
      ["customer", "email", "email"],
      ["customer", "first_name", "faker:person.firstName"],
      ["staff", "password", "redact"],
      ["staff", "username", "faker:internet.username"],
      ["staff", "picture", "null"],
      ["address", "address", "faker:location.streetAddress"],
      ["address", "address2", "faker:location.streetAddress"],
      ["address", "postal_code", "faker:location.zipCode"],
      ["address", "phone", "faker:phone.number"],
      ["address", "address_id", "-"],
      ["city", "city", "faker:location.city"],
      ["film", "description", "-"],
      ["rental", "rental_date", "-"]
    ],
    gdpr_ccpa: [
      ["customer", "email", "email"],
      ["staff", "password", "redact"]
    ],
    hipaa: [
      ["customer", "email", "faker:internet.email"],
      ["staff", "picture", "null"],
      ["rental", "rental_date", "regex_replace"],
      ["payment_p2022_01", "payment_date", "regex_replace"]
    ]
  }

  it.each(Object.keys(pagilaExpectations))("%s resolves against pagila", async (profile) => {
    const resolved = await resolve(await load(profile), pagila)
    const expected = pagilaExpectations[profile] ?? []
    expect(expected.map(([table, column]) => [table, column, summary(ruleFor(resolved, table, column))])).toEqual(expected)
  })

  it.each(["baseline", "gdpr_ccpa", "hipaa", NodePath.resolve("rules/examples/masking_rules.yaml")])(
    "%s covers every personal-data column of demo-shop",
    async (path) => {
      const resolved = await resolve(await load(path), demoShop)
      const uncovered = DEMO_SHOP_PERSONAL_DATA.filter(({ table, column }) => ruleFor(resolved, table, column) === undefined)
      // card_last4 is four digits PCI allows to show; only the example project masks it.
      expect(uncovered.map(({ column }) => column)).toEqual(path.endsWith("masking_rules.yaml") ? [] : ["card_last4"])
    }
  )

  it("the example project inherits gdpr_ccpa and its overrides reach the partitions", async () => {
    const resolved = await resolve(await load(NodePath.resolve("rules/examples/masking_rules.yaml")), demoShop)
    expect(summary(ruleFor(resolved, "customers", "signup_ip"))).toBe("null")
    expect(ruleFor(resolved, "customers", "birth_date")?.options).toEqual({ max_days: 30, keep_year: true })
    expect(summary(ruleFor(resolved, "payments_default", "card_last4"))).toBe("redact")
    expect(ruleFor(resolved, "products", "description")?.options).toEqual({ reason: "public catalogue text" })
  })
})

describe("shipped rules and the built-in strategies", () => {
  it.each(["baseline", "gdpr_ccpa", "hipaa", NodePath.resolve("rules/examples/masking_rules.yaml")])(
    "every rule of %s names a built-in strategy with options it accepts",
    async (path) => {
      const rules = await load(path)
      const problems = [...rules.rules, ...rules.overrides].flatMap((rule) => {
        const plugin = builtinPlugins.find((candidate) => candidate.name === rule.strategy)
        if (plugin === undefined) return [`${rule.origin.entry}: no strategy ${rule.strategy}`]
        const decoded = Schema.decodeUnknownExit(plugin.options)(rule.options, { errors: "all" })
        return decoded._tag === "Success" ? [] : [`${rule.origin.file}:${rule.origin.line} ${rule.strategy}: ${String(decoded.cause)}`]
      })
      expect(problems).toEqual([])
    }
  )
})

describe("hipaa generalisations (regex_replace, JavaScript semantics)", () => {
  let hipaa: MaskingRules
  beforeAll(async () => {
    hipaa = await load("hipaa")
  })
  const apply = (names: string, value: string): string => {
    const rule = hipaa.rules.find((candidate) => candidate.strategy === "regex_replace" && candidate.names.some((n) => n.join(" ") === names))
      ?? hipaa.rules.find((candidate) => candidate.strategy === "regex_replace" && candidate.types.includes(names))
    if (rule === undefined) throw new Error(`no regex rule for ${names}`)
    const { pattern, replacement, flags } = rule.options
    return value.replace(new RegExp(String(pattern), typeof flags === "string" ? flags : "g"), String(replacement))
  }
  it.each([
    ["02139", "02100"],
    ["02139-4307", "02100-0000"],
    ["021394307", "021000000"],
    ["03601", "00000"], // a restricted ZIP3
    ["89301", "00000"],
    ["89401", "89400"],
    ["SW1A 1AA", "0"],
    ["", ""]
  ])("zip %j → %j", (value, masked) => {
    expect(apply("zip", value)).toBe(masked)
  })
  it.each([
    ["1984-07-23", "1984-01-01"],
    ["2024-03-05 12:34:56.123+00", "2024-01-01"],
    ["2024-03-05 12:34:56", "2024-01-01"],
    ["0044-03-15 BC", "0044-01-01 BC"],
    ["0044-03-15 12:00:00+00 BC", "0044-01-01 BC"],
    ["infinity", "infinity"]
  ])("date %j → %j", (value, masked) => {
    expect(apply("date", value)).toBe(masked)
  })
  it.each([
    ["17", "17"],
    ["89", "89"],
    ["89.5", "90"],
    ["90", "90"],
    ["104", "90"],
    ["89.0", "89.0"]
  ])("age %j → %j", (value, masked) => {
    expect(apply("age", value)).toBe(masked)
  })
})

describe("loading and merging", () => {
  it("follows extends by relative path, by ~ path and by shipped profile name, nearest file first", async () => {
    const team = write("home/team/team.yaml", `version: "1.0"\nextends: gdpr_ccpa\nplugins: ["./plugins/team-mask.ts"]\n`)
    const base = write(
      "project/config/base.yaml",
      `version: "1.0"\nextends: "~/team/team.yaml"\nrules:\n  - match: { names: [loyalty card] }\n    masking_strategy: "null"\n`
    )
    const project = write(
      "project/masking_rules.yaml",
      `version: "1.0"\nbaseline_version: "2026-Q1"\nextends: "./config/base.yaml"\nplugins: ["./plugins/my-mask.ts", "~/shared.ts"]\n`
    )
    const rules = await load("project/masking_rules.yaml")
    const shipped = (name: string) => NodePath.resolve("rules", name)
    expect(rules.files).toEqual([project, base, team, shipped("gdpr_ccpa.yaml"), shipped("baseline_masking_rules.yaml")])
    expect(rules.plugins).toEqual([
      NodePath.join(home, "team/plugins/team-mask.ts"),
      NodePath.join(workDir, "project/plugins/my-mask.ts"),
      NodePath.join(home, "shared.ts")
    ])
    expect(rules.profile).toEqual({ name: "gdpr_ccpa", deterministicAllowed: true, forbiddenBy: null })
    expect(rules.baselineVersion).toBe("2026-Q1")
    expect(rules.rules[0]).toMatchObject({ names: [["loyalty", "card"]], strategy: "null", origin: { file: base, line: 4, entry: "rules[0]" } })
    const hash = createHash("sha256")
    for (const file of rules.files) {
      const text = readFileSync(file)
      hash.update(`${text.byteLength}:`).update(text)
    }
    expect(rules.digest).toBe(hash.digest("hex"))
    writeFileSync(base, `${readFileSync(base, "utf8")}# changed\n`)
    expect((await load(project)).digest).not.toBe(rules.digest)
  })

  it("reports an extends cycle", async () => {
    write("cycle/a.yaml", `version: "1.0"\nextends: ./b.yaml\n`)
    const b = write("cycle/b.yaml", `version: "1.0"\nextends: ./a.yaml\n`)
    expect(await loadError("cycle/a.yaml")).toBe(`${b}:2:1: extends "./a.yaml": extends cycle: a.yaml → b.yaml → a.yaml`)
  })

  it("refuses a project reviewed against another baseline version", async () => {
    const path = write("old/rules.yaml", `version: "1.0"\nbaseline_version: "2025-Q4"\nextends: baseline\n`)
    expect(await loadError(path)).toBe(
      `invalid masking rules:\n${path}:2:1: baseline_version: this file was reviewed against baseline "2025-Q4" but extends baseline "2026-Q1"; review what changed, then update baseline_version`
    )
  })
})

describe("bad rule files", () => {
  const cases: Array<[string, string, (path: string) => string]> = [
    [
      "YAML syntax error",
      `version: "1.0"\nproject_overrides:\n  - table: [users\n    column: email\n`,
      (path) => `${path}:4:5: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]`
    ],
    [
      "duplicate key",
      `version: "1.0"\nversion: "1.0"\n`,
      (path) => `${path}:2:1: YAML syntax error: Map keys must be unique`
    ],
    [
      "unknown top-level key",
      `version: "1.0"\noverides:\n  - table: users\n`,
      (path) => `invalid masking rules:\n${path}:2:1: overides: unknown key`
    ],
    [
      "wrong type for a field",
      `version: "1.0"\nproject_overrides:\n  - table: users\n    column: 42\n    masking_strategy: faker\n`,
      (path) => `invalid masking rules:\n${path}:4:5: project_overrides[0].column: Expected string`
    ],
    [
      "the null strategy unquoted",
      `version: "1.0"\nproject_overrides:\n  - table: users\n    column: email\n    masking_strategy: null\n`,
      (path) =>
        `invalid masking rules:\n${path}:5:5: project_overrides[0].masking_strategy: Expected string (to use the "null" strategy, quote it: masking_strategy: "null")`
    ],
    [
      "several problems at once",
      `version: 1.0\nplugins: ./x.ts\nrules:\n  - match: { names: [email], typs: [text] }\n    masking_strategy: email\n`,
      (path) =>
        `invalid masking rules:\n${path}:1:1: version: Expected "1.0"\n${path}:2:1: plugins: Expected array\n${path}:4:30: rules[0].match.typs: unknown key`
    ],
    [
      "missing required field",
      `version: "1.0"\nproject_overrides:\n  - table: users\n    masking_strategy: faker\n`,
      (path) => `invalid masking rules:\n${path}:3:5: project_overrides[0].column: Missing key`
    ],
    [
      "missing version",
      `extends: baseline\n`,
      (path) => `invalid masking rules:\n${path}:1:1: version: Missing key`
    ],
    [
      "a rule matching nothing",
      `version: "1.0"\nrules:\n  - match: {}\n    masking_strategy: "null"\n`,
      (path) => `invalid masking rules:\n${path}:3:5: rules[0].match: needs at least one of names, types`
    ],
    ["not a mapping", `- a\n- b\n`, (path) => `invalid masking rules:\n${path}:1:1: Expected object`],
    [
      "missing extends file",
      `version: "1.0"\nextends: ./nope.yaml\n`,
      (path) =>
        `${path}:2:1: extends "./nope.yaml": cannot read masking rules ${NodePath.join(NodePath.dirname(path), "nope.yaml")}: ENOENT`
    ]
  ]
  it.each(cases)("%s", async (name, text, expected) => {
    const path = write(`bad/${name.replaceAll(" ", "-")}.yaml`, text)
    const message = await loadError(path)
    expect(message.startsWith(expected(path)), message).toBe(true)
  })

  it("names a missing rule file", async () => {
    expect(await loadError("nowhere.yaml")).toMatch(
      new RegExp(`^cannot read masking rules ${NodePath.join(workDir, "nowhere.yaml")}: ENOENT`)
    )
  })
})
