/**
 * Masking end to end: `propagate --mask-pii` / `--rules` run through the real CLI against the
 * real PostgreSQL, and the target read back. No source value of a masked column reaches the
 * target or the evidence, everything else arrives byte for byte, masks are deterministic under
 * a key, foreign keys on masked keys still join, unique columns stay unique, every bad rule
 * fails with exit 1 and nothing written, privacy by default stops uncovered personal columns,
 * user plugin files load, and arrays are masked element by element.
 */
import * as Effect from "effect/Effect"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { createDemoShopSchema, loadDemoShop } from "../src/engine/demo-shop.ts"
import { runCli, type CliRun } from "./support/cli.ts"
import { freshDatabase, runSql } from "./support/database.ts"

// ---------------------------------------------------------------------------------------------
// Helpers

const KEY = { DB_HARNESS_MASK_KEY: "masking-test-key-1" }
const OTHER_KEY = { DB_HARNESS_MASK_KEY: "masking-test-key-2" }
/** The CLI treats an empty key as none (and the test process may have one set). */
const NO_KEY = { DB_HARNESS_MASK_KEY: "" }
const NO_KEY_WARNING = "warning: DB_HARNESS_MASK_KEY is not set"

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `dbh-masking-${prefix}-`))

interface Run extends CliRun {
  readonly evidenceDir: string
}

/** `propagate SOURCE TARGET --quiet` with its own evidence directory. */
const propagate = async (
  source: string,
  target: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = KEY
): Promise<Run> => {
  const evidenceDir = tempDir("evidence")
  const run = await runCli(["propagate", source, target, "--quiet", "--evidence-dir", evidenceDir, ...args], env)
  return { ...run, evidenceDir }
}

const evidenceFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("propagate_") && f.endsWith(".json"))

interface MaskedColumn {
  readonly table: string
  readonly column: string
  readonly strategy: string
  readonly origin: string
  readonly followsForeignKey?: string
}

interface Evidence {
  readonly text: string
  readonly masking: { readonly keyed: boolean; readonly rulesFiles: ReadonlyArray<string>; readonly columns: ReadonlyArray<MaskedColumn> }
}

const readEvidence = (run: Run): Evidence => {
  const files = evidenceFiles(run.evidenceDir)
  expect(files).toHaveLength(1)
  const text = readFileSync(join(run.evidenceDir, files[0]!), "utf8")
  return { text, masking: JSON.parse(text).masking }
}

const expectSuccess = (run: CliRun) => expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0)

/** A column's values as text, NULL as null. */
const values = async (url: string, table: string, column: string) =>
  (await runSql<{ v: string | null }>(url, `SELECT ${column}::text AS v FROM ${table}`)).map((row) => row.v)

/** `(key, value)` pairs of a column, keyed by the table's primary key, as text. */
const byKey = async (url: string, table: string, key: string, column: string) =>
  new Map(
    (await runSql<{ k: string; v: string | null }>(url, `SELECT (${key})::text AS k, ${column}::text AS v FROM ${table}`)).map(
      (row) => [row.k, row.v] as const
    )
  )

/** Order-independent digest of some columns of a table (binary form, so "byte-identical" is meant). */
const columnsDigest = async (url: string, table: string, columns: ReadonlyArray<string>) => {
  const list = columns.map((c) => `"${c}"`).join(", ")
  const [row] = await runSql<{ d: string; n: string }>(
    url,
    `SELECT md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS d, count(*)::text AS n
     FROM (SELECT (${list})::text AS r FROM ${table}) t`
  )
  return row!
}

const writeRules = (dir: string, yaml: string, name = "masking_rules.yaml") => {
  const path = join(dir, name)
  writeFileSync(path, yaml)
  return path
}

const load = (effect: Effect.Effect<unknown, unknown>) => Effect.runPromise(effect as Effect.Effect<unknown>)

// ---------------------------------------------------------------------------------------------
// 1, 2, 8: the demo shop through --mask-pii

describe("propagate --mask-pii on the demo shop", () => {
  let source = ""
  beforeAll(async () => {
    source = await freshDatabase("mask_shop_src")
    await load(loadDemoShop(source, { rows: 2000 }))
  })

  const freshTarget = async () => {
    const target = await freshDatabase("mask_shop_dst")
    await load(createDemoShopSchema(target))
    return target
  }

  /** Every column of every table of `url` (generated columns are the target's own). */
  const allColumns = async (url: string) =>
    runSql<{ t: string; c: string }>(
      url,
      `SELECT format('%I.%I', c.table_schema, c.table_name) AS t, c.column_name AS c
       FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
       WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.is_generated = 'NEVER'
       ORDER BY 1, c.ordinal_position`
    )

  it("leaves no source value of a masked column in the target, and every other column byte for byte", async () => {
    const target = await freshTarget()
    const run = await propagate(source, target, ["--mask-pii"])
    expectSuccess(run)
    expect(run.stderr).not.toContain(NO_KEY_WARNING)
    const { masking, text } = readEvidence(run)
    expect(masking.keyed).toBe(true)
    const masked = masking.columns.filter((c) => c.strategy !== "keep")
    // What the baseline must find in the demo shop; partitions are listed with their parent.
    expect(new Set(masked.map((c) => `${c.table}.${c.column}`))).toEqual(
      new Set([
        ...["first_name", "last_name", "email", "phone", "street_address", "city", "postal_code", "birth_date", "signup_ip"].map(
          (c) => `public.customers.${c}`
        ),
        ...["payments", "payments_2023", "payments_2024", "payments_default", ...["01", "02", "03", "04", "05", "06"].map((m) => `payments_2025_${m}`)].map(
          (t) => `public.${t}.card_fingerprint`
        )
      ])
    )

    for (const column of masked) {
      const where = `${column.table}.${column.column} (${column.strategy})`
      const [before, after] = [await values(source, column.table, column.column), await values(target, column.table, column.column)]
      expect(after.length, where).toBe(before.length)
      const sourceValues = new Set(before.filter((v) => v !== null))
      if (column.strategy === "date_shift") {
        // A shifted date stays a date of the same decades, so with 440 birth dates over 57 years
        // some land on another customer's birthday by chance (11 of 500 here): that is no leak.
        // What must hold: no row keeps its own date, and every shift is within max_days (180).
        const [own, shifted] = [await byKey(source, column.table, "id", column.column), await byKey(target, column.table, "id", column.column)]
        for (const [id, date] of own) {
          if (date === null) continue
          const days = (Date.parse(shifted.get(id)!) - Date.parse(date)) / 86_400_000
          expect(days !== 0 && Math.abs(days) <= 180, `${where}: ${date} -> ${shifted.get(id)}`).toBe(true)
        }
      } else {
        const leaked = after.filter((v) => v !== null && sourceValues.has(v))
        expect(leaked, where).toEqual([])
      }
      if (column.strategy === "null") {
        expect(after.every((v) => v === null), where).toBe(true)
      } else {
        expect(after.filter((v) => v === null).length, where).toBe(before.filter((v) => v === null).length)
      }
      // The evidence names columns, never values.
      for (const value of [...sourceValues].filter((v) => v.length >= 6).slice(0, 200)) {
        expect(text.includes(value), `${where}: evidence contains ${value}`).toBe(false)
      }
    }

    const maskedNames = new Set(masked.map((c) => `${c.table}\u0000${c.column}`))
    const columns = await allColumns(source)
    const tables = [...new Set(columns.map((c) => c.t))]
    for (const table of tables) {
      const kept = columns.filter((c) => c.t === table && !maskedNames.has(`${table}\u0000${c.c}`)).map((c) => c.c)
      expect(await columnsDigest(target, table, kept), table).toEqual(await columnsDigest(source, table, kept))
    }
  })

  it("masks the same way under the same key, differently under another key, and randomly without one", async () => {
    const [a, b, c, d, e] = await Promise.all([freshTarget(), freshTarget(), freshTarget(), freshTarget(), freshTarget()])
    const runs = [
      await propagate(source, a, ["--mask-pii"], KEY),
      await propagate(source, b, ["--mask-pii"], KEY),
      await propagate(source, c, ["--mask-pii"], OTHER_KEY),
      await propagate(source, d, ["--mask-pii"], NO_KEY),
      await propagate(source, e, ["--mask-pii"], NO_KEY)
    ]
    runs.forEach(expectSuccess)
    for (const run of runs.slice(0, 3)) expect(run.stderr).not.toContain(NO_KEY_WARNING)
    for (const run of runs.slice(3)) {
      expect(run.stderr).toContain(NO_KEY_WARNING)
      expect(run.stdout).toContain("no DB_HARNESS_MASK_KEY, so this run's masking was random")
      expect(readEvidence(run).masking.keyed).toBe(false)
    }
    const masked = ["email", "first_name", "last_name", "phone", "street_address", "city", "postal_code", "birth_date", "signup_ip"]
    const column = (url: string, name: string) => byKey(url, "customers", "id", name)
    for (const name of masked) {
      const [sameA, sameB, other, randomD, randomE] = await Promise.all([column(a, name), column(b, name), column(c, name), column(d, name), column(e, name)])
      expect(sameB, name).toEqual(sameA)
      // Another key (or no key) gives other values: for the high-entropy columns nearly every row
      // differs; for names drawn from a list some rows meet by chance, but most must differ.
      const differing = (x: Map<string, string | null>, y: Map<string, string | null>) =>
        [...x].filter(([k, v]) => v !== null && y.get(k) !== v).length / [...x].filter(([, v]) => v !== null).length
      expect(differing(sameA, other), name).toBeGreaterThan(0.5)
      expect(differing(randomD, randomE), name).toBeGreaterThan(0.5)
    }
  })

  it("copies a kept column exactly and records it with its rule's origin", async () => {
    const target = await freshTarget()
    const dir = tempDir("keep")
    const rules = writeRules(
      dir,
      `version: "1.0"
extends: baseline
project_overrides:
  - table: customers
    column: city
    masking_strategy: keep
    reason: "cities are coarse enough for this test"
`
    )
    const run = await propagate(source, target, ["--mask-pii", "--rules", rules])
    expectSuccess(run)
    const { masking } = readEvidence(run)
    expect(masking.rulesFiles[0]).toBe(rules)
    expect(masking.columns.find((c) => c.table === "public.customers" && c.column === "city")).toEqual({
      table: "public.customers",
      column: "city",
      strategy: "keep",
      origin: "masking_rules.yaml:4 project_overrides[0]"
    })
    expect(await columnsDigest(target, "customers", ["id", "city"])).toEqual(await columnsDigest(source, "customers", ["id", "city"]))
    // The other personal columns are still masked.
    const [before, after] = [await byKey(source, "customers", "id", "last_name"), await byKey(target, "customers", "id", "last_name")]
    expect([...after].filter(([k, v]) => before.get(k) === v).length).toBeLessThan(before.size / 10)
  })
})

// ---------------------------------------------------------------------------------------------
// 3, 4, 9: keys, uniqueness, arrays

describe("masked keys, unique columns and arrays", () => {
  it("gives foreign keys on a masked key the key's mapping, down a chain, so every FK validates and joins hold", async () => {
    // accounts.email is the key; logins.account_email and profiles.owner reference it, and
    // badges.holder references profiles.owner. `owner` and `holder` match no rule: only the
    // foreign key tells that they hold e-mail addresses.
    const ddl = `
      CREATE TABLE accounts (email text PRIMARY KEY, n integer NOT NULL UNIQUE, display_name text);
      CREATE TABLE logins (id integer PRIMARY KEY, account_email text NOT NULL REFERENCES accounts (email), attempts integer);
      CREATE TABLE profiles (id integer PRIMARY KEY, owner text NOT NULL UNIQUE REFERENCES accounts (email), title text);
      CREATE TABLE badges (id integer PRIMARY KEY, holder text REFERENCES profiles (owner), badge text);`
    const source = await freshDatabase("mask_fk_src")
    const target = await freshDatabase("mask_fk_dst")
    await runSql(source, ddl)
    await runSql(target, ddl)
    await runSql(
      source,
      `INSERT INTO accounts SELECT format('user.%s@mail-%s.example.org', g, g % 7), g, 'Name ' || g FROM generate_series(1, 300) g;
       INSERT INTO logins SELECT g, format('user.%s@mail-%s.example.org', 1 + g % 300, (1 + g % 300) % 7), g % 5 FROM generate_series(1, 1000) g;
       INSERT INTO profiles SELECT g, format('user.%s@mail-%s.example.org', g, g % 7), 'title ' || g FROM generate_series(1, 200) g;
       INSERT INTO badges SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE format('user.%s@mail-%s.example.org', 1 + g % 200, (1 + g % 200) % 7) END, 'b' || g
       FROM generate_series(1, 500) g;`
    )
    const run = await propagate(source, target, ["--mask-pii"])
    expectSuccess(run)
    const { masking } = readEvidence(run)
    const follows = Object.fromEntries(masking.columns.filter((c) => c.followsForeignKey).map((c) => [`${c.table}.${c.column}`, c.followsForeignKey]))
    expect(follows).toEqual({
      "public.logins.account_email": "public.logins.account_email -> public.accounts.email",
      "public.profiles.owner": "public.profiles.owner -> public.accounts.email",
      "public.badges.holder": "public.badges.holder -> public.profiles.owner"
    })

    const foreignKeys = await runSql<{ c: string; v: boolean }>(target, "SELECT conname AS c, convalidated AS v FROM pg_constraint WHERE contype = 'f' ORDER BY 1")
    expect(foreignKeys).toEqual([
      { c: "badges_holder_fkey", v: true },
      { c: "logins_account_email_fkey", v: true },
      { c: "profiles_owner_fkey", v: true }
    ])
    const joins = `SELECT (SELECT count(*) FROM logins JOIN accounts ON accounts.email = logins.account_email)::int AS logins,
                          (SELECT count(*) FROM badges JOIN profiles ON profiles.owner = badges.holder JOIN accounts ON accounts.email = profiles.owner)::int AS badges`
    expect(await runSql(target, joins)).toEqual(await runSql(source, joins))
    expect(await runSql(target, joins)).toEqual([{ logins: 1000, badges: 450 }])

    // Row by row: a child holds exactly its parent's masked key. accounts.n pairs source and target accounts.
    const [sourceEmailToN, targetNToEmail] = [
      new Map([...(await byKey(source, "accounts", "email", "n"))].map(([email, n]) => [email, n!])),
      await byKey(target, "accounts", "n", "email")
    ]
    const maskedOf = (email: string | null) => (email === null ? null : targetNToEmail.get(sourceEmailToN.get(email)!))
    for (const [table, column] of [["logins", "account_email"], ["profiles", "owner"], ["badges", "holder"]] as const) {
      const [before, after] = [await byKey(source, table, "id", column), await byKey(target, table, "id", column)]
      expect(after.size).toBe(before.size)
      for (const [id, email] of before) expect(after.get(id), `${table}.${column} id ${id}`).toBe(maskedOf(email))
    }
    const sourceEmails = new Set(sourceEmailToN.keys())
    expect([...targetNToEmail.values()].filter((email) => email === null || sourceEmails.has(email))).toEqual([])
  })

  it("masks 50,000 distinct e-mails in a UNIQUE column without one collision", async () => {
    // The target's unique constraint would reject a collision, failing the run. The strategy's
    // own proof over 1,000,000 values is in test/mask-strategies.test.ts.
    const ddl = "CREATE TABLE subscribers (id integer PRIMARY KEY, email text NOT NULL UNIQUE)"
    const source = await freshDatabase("mask_unique_src")
    const target = await freshDatabase("mask_unique_dst")
    await runSql(source, ddl)
    await runSql(target, ddl)
    // Near-identical inputs: case variants, one character apart, prefixes of each other.
    await runSql(
      source,
      `INSERT INTO subscribers
       SELECT g, CASE g % 4 WHEN 0 THEN format('a%s@x.io', g) WHEN 1 THEN format('A%s@x.io', g)
                            WHEN 2 THEN format('a%s@x.iO', g) ELSE format('a%s@x.io.', g) END
       FROM generate_series(1, 50000) g`
    )
    const run = await propagate(source, target, ["--mask-pii"])
    expectSuccess(run)
    const [stats] = await runSql<{ n: number; distinct: number; reserved: number }>(
      target,
      "SELECT count(*)::int AS n, count(DISTINCT email)::int AS distinct, count(*) FILTER (WHERE email LIKE '%@example.com')::int AS reserved FROM subscribers"
    )
    expect(stats).toEqual({ n: 50000, distinct: 50000, reserved: 50000 })
    const sourceEmails = new Set(await values(source, "subscribers", "email"))
    expect((await values(target, "subscribers", "email")).filter((email) => sourceEmails.has(email))).toEqual([])
  })

  it("masks a text[] column of e-mails element by element, NULL elements staying NULL, any dimensions", async () => {
    const ddl = "CREATE TABLE mailings (id integer PRIMARY KEY, other_email text[])"
    const source = await freshDatabase("mask_array_src")
    const target = await freshDatabase("mask_array_dst")
    await runSql(source, ddl)
    await runSql(target, ddl)
    await runSql(
      source,
      `INSERT INTO mailings VALUES
        (1, '{ann@x.com,NULL,bob@y.org}'), (2, NULL), (3, '{}'), (4, '{NULL}'),
        (5, '{carl@z.net,NULL,ann@x.com,"d, \\"q\\"@w.io"}'), (6, '{bob@y.org,eve@v.de,\\\\@x.com}'),
        (7, '{{ann@x.com,NULL},{eve@v.de,bob@y.org}}'), (8, '[0:1]={carl@z.net,NULL}')`
    )
    const run = await propagate(source, target, ["--mask-pii"])
    expectSuccess(run)
    const shape = `SELECT id, array_dims(other_email) AS dims, cardinality(other_email) AS n,
                          (SELECT array_agg(i ORDER BY i) FROM unnest(other_email) WITH ORDINALITY AS u(e, i) WHERE e IS NULL) AS nulls
                     FROM mailings ORDER BY id`
    expect(await runSql(target, shape)).toEqual(await runSql(source, shape))
    const elements = async (url: string) =>
      new Map(
        (await runSql<{ id: number; e: Array<string | null> }>(
          url,
          "SELECT id, array_agg(e ORDER BY i) AS e FROM mailings, unnest(other_email) WITH ORDINALITY AS u(e, i) GROUP BY id"
        )).map((row) => [row.id, row.e] as const)
      )
    const [before, after] = [await elements(source), await elements(target)]
    const mapping = new Map<string, string>()
    for (const [id, list] of before) {
      list.forEach((email, i) => {
        const masked = after.get(id)![i]
        if (email === null) return expect(masked).toBeNull()
        expect(masked).toMatch(/^u[a-z2-7]+@example\.com$/)
        // One address, one mask, wherever it appears.
        expect(mapping.get(email) ?? masked, email).toBe(masked)
        mapping.set(email, masked!)
      })
    }
    expect(new Set(mapping.values()).size).toBe(6)
  })
})

// ---------------------------------------------------------------------------------------------
// 5: bad rules

describe("bad rules: exit 1, a message naming the problem, nothing written", () => {
  const ddl = `
    CREATE TABLE people (
      id integer PRIMARY KEY,
      handle text NOT NULL UNIQUE,
      nickname text NOT NULL,
      age integer,
      code varchar(4),
      remark text
    );`
  let source = ""
  let target = ""
  beforeAll(async () => {
    source = await freshDatabase("mask_bad_src")
    target = await freshDatabase("mask_bad_dst")
    await runSql(source, ddl)
    await runSql(target, ddl)
    await runSql(source, "INSERT INTO people SELECT g, 'h' || g, 'n' || g, g, 'c' || g % 10, 'r' || g FROM generate_series(1, 20) g")
  })

  const override = (column: string, strategy: string, options = "") =>
    `version: "1.0"
project_overrides:
  - table: people
    column: ${column}
    masking_strategy: ${strategy}
${options}`

  const cases: ReadonlyArray<{ readonly name: string; readonly rules: string; readonly message: RegExp }> = [
    {
      name: "YAML syntax error",
      rules: `version: "1.0"\nproject_overrides:\n  - table: people\n    column: [handle\n`,
      message: /masking_rules\.yaml:\d+:\d+: YAML syntax error/
    },
    {
      name: "unknown top-level key",
      rules: `version: "1.0"\nmask_everything: true\n`,
      message: /masking_rules\.yaml:2:1: mask_everything: unknown key/
    },
    { name: "unknown strategy", rules: override("remark", "hsh"), message: /unknown masking strategy "hsh".*hash/ },
    {
      name: "unknown strategy option",
      rules: override("remark", "hash", "    lenght: 8\n"),
      message: /masking_rules\.yaml:3 project_overrides\[0\]: plugin "hash": option lenght: unknown option "lenght"/
    },
    {
      name: "unknown faker provider",
      rules: override("remark", "faker", "    faker_provider: person.fulName\n"),
      message: /plugin "faker": .*unknown faker provider "person\.fulName"/
    },
    {
      name: "unknown table",
      rules: override("remark", '"null"').replace("table: people", "table: peple"),
      message: /table "peple" does not exist.*people/
    },
    { name: "unknown column", rules: override("remrak", '"null"'), message: /column "remrak" does not exist in public\.people.*remark/ },
    { name: "keep without a reason", rules: override("remark", "keep"), message: /project_overrides\[0\]: keep needs a reason/ },
    {
      name: "null strategy on a NOT NULL column",
      rules: override("nickname", '"null"'),
      message: /public\.people\.nickname \(text\) is NOT NULL, but strategy null can return NULL/
    },
    {
      name: "email strategy on an integer column",
      rules: override("age", "email"),
      message: /public\.people\.age \(integer\): strategy email cannot mask it/
    },
    {
      name: "redact value longer than varchar(4)",
      rules: override("code", "redact", `    value: "REDACTED"\n`),
      message: /public\.people\.code \(character varying\(4\)\): strategy redact cannot mask it: its values have up to 8 characters, and the column holds 4/
    },
    {
      name: "non-unique strategy on a unique column",
      rules: override("handle", "faker", "    faker_provider: person.firstName\n"),
      message: /public\.people\.handle \(text\) is part of a primary key or unique constraint, but strategy faker does not guarantee distinct outputs/
    },
    {
      name: "HIPAA refusing a deterministic override",
      rules: `version: "1.0"\nextends: hipaa\n${override("remark", "hash").replace(`version: "1.0"\n`, "")}`,
      message: /strategy "hash" is deterministic .* profile hipaa .* forbids.*public\.people\.remark/s
    }
  ]

  it.each(cases)("$name", async ({ rules, message }) => {
    await runSql(target, "INSERT INTO people VALUES (-1, 'marker', 'marker', 0, 'mark', 'marker') ON CONFLICT DO NOTHING")
    const path = writeRules(tempDir("bad"), rules)
    const run = await propagate(source, target, ["--rules", path])
    expect(run.code, run.stdout).toBe(1)
    expect(run.stderr).toMatch(message)
    expect(evidenceFiles(run.evidenceDir)).toEqual([])
    expect(await runSql(target, "SELECT id, handle FROM people")).toEqual([{ id: -1, handle: "marker" }])
  })
})

// ---------------------------------------------------------------------------------------------
// 6: privacy by default

describe("privacy by default", () => {
  const ddl = `
    CREATE TABLE contacts (
      id integer PRIMARY KEY,
      full_name text NOT NULL,
      "contactEmail" text,
      "homePhone" text,
      last_seen_from inet,
      score integer
    );`
  const rulesYaml = `version: "1.0"
project_overrides:
  - table: contacts
    column: full_name
    masking_strategy: faker
    faker_provider: person.fullName
`
  let source = ""
  beforeAll(async () => {
    source = await freshDatabase("mask_pbd_src")
    await runSql(source, ddl)
    // Values that do not look like e-mails or IPs, so only names and types can give the columns away.
    await runSql(
      source,
      `INSERT INTO contacts SELECT g, 'Person ' || g, 'contact ' || g, '+49 30 ' || (1000000 + g), ('10.0.0.' || g)::inet, g
       FROM generate_series(1, 50) g`
    )
  })

  it("with --mask-pii, fails on every personal-looking column the project's rules leave uncovered", async () => {
    const target = await freshDatabase("mask_pbd_dst")
    await runSql(target, ddl)
    await runSql(target, "INSERT INTO contacts VALUES (-1, 'marker', NULL, NULL, NULL, NULL)")
    const rules = writeRules(tempDir("pbd"), rulesYaml)
    const run = await propagate(source, target, ["--mask-pii", "--rules", rules])
    expect(run.code, run.stdout).toBe(1)
    expect(run.stderr).toContain("privacy by default")
    expect(run.stderr).toMatch(/public\.contacts\.contactEmail \(personal by its name\); add a rule, e\.g\. \{ table: "public\.contacts", column: "contactEmail", masking_strategy: /)
    expect(run.stderr).toMatch(/public\.contacts\.homePhone \(personal by its name\); add a rule/)
    expect(run.stderr).toMatch(/public\.contacts\.last_seen_from \(personal by its type \(IP address\)\); add a rule/)
    for (const column of ["full_name", "score", ".id "]) expect(run.stderr).not.toContain(`public.contacts.${column.replace(/^\./, "")}`)
    expect(evidenceFiles(run.evidenceDir)).toEqual([])
    expect(await runSql(target, "SELECT id FROM contacts")).toEqual([{ id: -1 }])
  })

  it("without --mask-pii, masks exactly what the rules say", async () => {
    const target = await freshDatabase("mask_pbd_dst")
    await runSql(target, ddl)
    const rules = writeRules(tempDir("pbd"), rulesYaml)
    const run = await propagate(source, target, ["--rules", rules])
    expectSuccess(run)
    expect(readEvidence(run).masking.columns.map((c) => `${c.table}.${c.column}:${c.strategy}`)).toEqual(["public.contacts.full_name:faker"])
    const rest = ["id", "contactEmail", "homePhone", "last_seen_from", "score"]
    expect(await columnsDigest(target, "contacts", rest)).toEqual(await columnsDigest(source, "contacts", rest))
    const [before, after] = [await byKey(source, "contacts", "id", "full_name"), await byKey(target, "contacts", "id", "full_name")]
    expect([...after].filter(([id, name]) => name === null || before.get(id) === name)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// 7: user plugin files

describe("strategy plugins from files named in the rules", () => {
  const ddl = "CREATE TABLE notes (id integer PRIMARY KEY, label text, code text, remark text)"
  const pluginUrl = new URL("../src/engine/plugin.ts", import.meta.url).href
  let source = ""
  beforeAll(async () => {
    source = await freshDatabase("mask_plugin_src")
    await runSql(source, ddl)
    await runSql(source, "INSERT INTO notes SELECT g, 'label ' || g, 'c' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'remark ' || g END FROM generate_series(1, 30) g")
  })

  /** A directory holding the rules and the plugin files, as a project would. */
  const project = (files: Readonly<Record<string, string>>) => {
    const dir = tempDir("plugins")
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    return dir
  }

  // No imports at all: a plain object, no options schema (the host reads that as "no options").
  const SHOUT_TS = `
    const shout = {
      name: "shout",
      kind: "mask",
      make: () => ({
        deterministic: true,
        unique: false,
        mayReturnNull: false,
        compile: () => (value: string): string => value.toUpperCase() + "!"
      })
    }
    export default shout
  `
  // JavaScript, through the public API, with an option decoded by its Schema and the keyed PRF.
  const TAG_JS = `
    import { definePlugin, Schema } from ${JSON.stringify(pluginUrl)}
    export default definePlugin({
      name: "tag",
      kind: "mask",
      options: Schema.Struct({ prefix: Schema.String }),
      make: (options, context) => ({
        deterministic: true,
        unique: false,
        mayReturnNull: false,
        compile: (column) => (value) => options.prefix + column.name + "-" + context.prf("tag", value).toString(16)
      })
    })
  `
  const rules = (plugins: ReadonlyArray<string>, overrides: string) => `version: "1.0"
plugins: [${plugins.map((p) => JSON.stringify(p)).join(", ")}]
project_overrides:
${overrides}`

  it("loads a .ts plugin with no imports and a .js plugin, and masks with both", async () => {
    const target = await freshDatabase("mask_plugin_dst")
    await runSql(target, ddl)
    const dir = project({
      "my-mask.ts": SHOUT_TS,
      "tag.js": TAG_JS,
      "masking_rules.yaml": rules(
        ["./my-mask.ts", "./tag.js"],
        `  - { table: notes, column: label, masking_strategy: shout }
  - { table: notes, column: remark, masking_strategy: tag, prefix: "t:" }
`
      )
    })
    const run = await propagate(source, target, ["--rules", join(dir, "masking_rules.yaml")])
    expectSuccess(run)
    expect(readEvidence(run).masking.columns.map((c) => `${c.column}:${c.strategy}`)).toEqual(["label:shout", "remark:tag"])
    const rows = await runSql<{ id: number; label: string; code: string; remark: string | null }>(target, "SELECT * FROM notes ORDER BY id")
    expect(rows).toHaveLength(30)
    for (const row of rows) {
      expect(row.label).toBe(`LABEL ${row.id}!`)
      expect(row.code).toBe(`c${row.id}`)
      if (row.id % 3 === 0) expect(row.remark).toBeNull()
      else expect(row.remark).toMatch(/^t:remark-[0-9a-f]+$/)
    }
    expect(new Set(rows.map((r) => r.remark)).size).toBe(21)
  })

  const failures: ReadonlyArray<{ readonly name: string; readonly files: Readonly<Record<string, string>>; readonly message: (dir: string) => string }> = [
    {
      name: "a plugin file whose default export is not a plugin",
      files: {
        "not-a-plugin.ts": `export default { hello: "world" }\n`,
        "masking_rules.yaml": rules(["./not-a-plugin.ts"], "  - { table: notes, column: label, masking_strategy: shout }\n")
      },
      message: (dir) => `plugin ${join(dir, "not-a-plugin.ts")} has no plugin as its default export`
    },
    {
      name: "a plugin named like a built-in",
      files: {
        "email.ts": SHOUT_TS.replace('name: "shout"', 'name: "email"'),
        "masking_rules.yaml": rules(["./email.ts"], "  - { table: notes, column: label, masking_strategy: email }\n")
      },
      message: (dir) => `plugin ${join(dir, "email.ts")} is named "email", like the built-in plugin`
    },
    {
      name: "an option given to a plugin without options",
      files: {
        "my-mask.ts": SHOUT_TS,
        "masking_rules.yaml": rules(["./my-mask.ts"], "  - { table: notes, column: label, masking_strategy: shout, volume: 11 }\n")
      },
      message: () => `plugin "shout": option volume: unknown option "volume"; this plugin takes no options`
    },
    {
      name: "a missing option of a plugin's schema",
      files: {
        "tag.js": TAG_JS,
        "masking_rules.yaml": rules(["./tag.js"], "  - { table: notes, column: label, masking_strategy: tag }\n")
      },
      message: () => `plugin "tag": option prefix: Missing key`
    }
  ]

  it.each(failures)("refuses $name: exit 1, naming it, nothing written", async ({ files, message }) => {
    const target = await freshDatabase("mask_plugin_dst")
    await runSql(target, ddl)
    await runSql(target, "INSERT INTO notes VALUES (-1, 'marker', NULL, NULL)")
    const dir = project(files)
    const run = await propagate(source, target, ["--rules", join(dir, "masking_rules.yaml")])
    expect(run.code, run.stdout).toBe(1)
    expect(run.stderr).toContain(message(dir))
    expect(evidenceFiles(run.evidenceDir)).toEqual([])
    expect(await runSql(target, "SELECT id FROM notes")).toEqual([{ id: -1 }])
  })
})
