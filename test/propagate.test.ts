/**
 * propagate against a real PostgreSQL: exact round trips of every type, FK-heavy and partitioned
 * schemas, sequences, refusals with nothing written, a killed backend rolled back, dry runs, and
 * evidence without passwords. Run through the real CLI where exit codes and messages matter.
 */
import { readdirSync, readFileSync, rmSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { adminUrl, freshDatabase, loadPagila, runSql, urlFor } from "./support/database.ts"
import { runCli } from "./support/cli.ts"

const PAGILA_ROWS = new URL("./fixtures/pagila-rows.sql", import.meta.url)

/** Order-independent digest of a table's contents, as text. */
const tableDigest = async (url: string, table: string) =>
  (await runSql<{ d: string; n: string }>(url, `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS d, count(*)::text AS n FROM ${table} t`))[0]!

const evidenceDir = () => mkdtempSync(join(tmpdir(), "dbh-evidence-"))

const TYPES_DDL = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TYPE pair AS (a integer, b text);
CREATE TABLE builtin_types (
  id integer PRIMARY KEY,
  t text, vc varchar(20), ch char(3), b boolean, i2 smallint, i8 bigint, n numeric, n2 numeric(12,4),
  f4 real, f8 double precision, d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
  j json, jb jsonb, ba bytea, u uuid, ip inet, net cidr, mac macaddr, mac8 macaddr8, bits bit(4), vbits varbit,
  tsv tsvector, x xml, m money, r int4range, tsr tstzrange, pt point, arr_i integer[], arr_t text[], arr2 integer[][],
  ch_domain positive_int, e mood
);
CREATE TABLE user_types (id integer PRIMARY KEY, moods mood[], p pair, ps pair[]);
CREATE TABLE generated_cols (id integer PRIMARY KEY, a integer, doubled integer GENERATED ALWAYS AS (a * 2) STORED,
  ident bigint GENERATED ALWAYS AS IDENTITY);
CREATE TABLE events (id integer, v text) PARTITION BY RANGE (id);
CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (0) TO (50);
CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (50) TO (100);
CREATE FUNCTION bang() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v || '!'; RETURN NEW; END $$;
CREATE TRIGGER bang BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION bang();
`

const TYPES_ROWS = `
INSERT INTO builtin_types VALUES
 (1, '', '', '', false, -32768, -9223372036854775808, 'NaN', -0.0001, '-0', '-0', '-infinity', 'infinity', '-infinity',
  '00:00', '23:59:59+14', '-1 year -2 mons +3 days -04:05:06.789', '{"a": [1, "\\u00e9", null]}', '{"z": 1, "a": {"b": [true, null]}}',
  '\\x00ff5c0a09', '00000000-0000-0000-0000-000000000000', '::1', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
  B'1010', B'', 'a fat cat:1A sat', '<a x="1">&amp;</a>', '-12.34', 'empty', '[,)', '(0,0)', '{}', '{}', '{{1,2},{3,NULL}}', 1, 'sad'),
 (2, E'tab\\there\\nnewline \\\\ backslash "quote" ''single'' \\u00e9 \\U0001F600 中文 עברית', 'x', 'abc', true, 32767, 9223372036854775807,
  '123456789012345678901234567890.123456789012345678901234567890', 99999999.9999, 'Infinity', '-Infinity',
  '4713-01-01 BC', '0001-01-01 00:00:00 BC', '294276-12-31 23:59:59.999999+00', '24:00:00', '00:00:00-12', '178000000 years',
  'null', '[]', '\\x', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::1/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff',
  B'0000', B'101010101010101', '''quoted'' \\\\ lexeme:3', '<?xml version="1.0"?><r>ü</r>', '92233720368547758.07', '(-5,5]',
  '[2020-01-01 00:00+00,infinity)', '(1.5,-2.25)', '{-2147483648,NULL,2147483647}', '{"","NULL",NULL,"a,b","{x}","\\\\","\\""}',
  '{{1,2},{3,4}}', 2147483647, 'happy'),
 (3, 'NaN', NULL, NULL, NULL, NULL, NULL, '-Infinity', NULL, 'NaN', 'NaN', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, repeat('long ', 100000), 'end', 'z  ', true, 0, 0, '0', 0, 1.17549435e-38, 2.2250738585072014e-308, '2000-01-01', '2000-01-01', '2000-01-01 00:00+00',
  '12:34:56.789', '12:34:56.789+05:30', '0', '"\\u0000-free string"', '{"deep": {"a": {"b": {"c": [1.0e10, -0.0]}}}}', decode(repeat('ab', 50000), 'hex'),
  gen_random_uuid(), '192.168.1.1', '192.168.0.0/16', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', B'1111', B'1', '', '<empty/>', '0', 'empty',
  '(,)', '(0,0)', '{1}', '{"🙂"}', '{{NULL,NULL}}', 7, 'ok');
INSERT INTO user_types VALUES
 (1, '{sad,happy,NULL}', ROW(1, 'x, "y"'), ARRAY[ROW(2, NULL)::pair, NULL, ROW(NULL, '')::pair]),
 (2, NULL, NULL, NULL), (3, '{}', ROW(NULL, NULL), '{}');
INSERT INTO generated_cols (id, a) SELECT i, i * 10 FROM generate_series(1, 100) i;
INSERT INTO events SELECT i, 'e' || i FROM generate_series(0, 99) i;
`

describe("propagate: exact copies", () => {
  it("round-trips every type exactly, in binary and text format, and skips generated columns", async () => {
    const source = await freshDatabase("types_src")
    const target = await freshDatabase("types_dst")
    await runSql(source, TYPES_DDL + TYPES_ROWS)
    await runSql(source, "ANALYZE")
    await runSql(target, TYPES_DDL)
    await runSql(target, "ALTER SEQUENCE generated_cols_ident_seq RESTART 5000")
    const run = await runCli(["propagate", source, target, "--evidence-dir", evidenceDir(), "--json"])
    expect(run.stderr).toBe("")
    expect(run.code).toBe(0)
    const result = JSON.parse(run.stdout)
    const formats = Object.fromEntries(result.tables.map((t: { table: string; format: string }) => [t.table, t.format]))
    expect(formats).toEqual({
      "public.builtin_types": "binary",
      "public.user_types": "text",
      "public.generated_cols": "binary",
      "public.events_low": "binary",
      "public.events_high": "binary"
    })
    // events: the partitions' cloned BEFORE INSERT trigger did not fire again on the copied rows.
    for (const table of ["builtin_types", "user_types", "generated_cols", "events"]) {
      const [a, b] = [await tableDigest(source, table), await tableDigest(target, table)]
      expect(b, table).toEqual(a)
    }
    // Identity columns keep the source's values, and the identity continues after them.
    const [{ next }] = await runSql(target, "INSERT INTO generated_cols (id, a) VALUES (101, 1) RETURNING ident AS next")
    expect(Number(next)).toBe(101)
    const [trigger] = await runSql(target, "SELECT string_agg(tgenabled::text, '') AS states FROM pg_trigger WHERE tgname = 'bang'")
    expect(trigger.states).toBe("OOO")
  })

  it("loads pagila (FK cycle store<->staff, partitioned payment, enum, domains) with every constraint valid", async () => {
    const source = await freshDatabase("pagila_src")
    const target = await freshDatabase("pagila_dst")
    await loadPagila(source)
    await loadPagila(target)
    await runSql(source, readFileSync(PAGILA_ROWS, "utf8"))
    await runSql(source, "REFRESH MATERIALIZED VIEW rental_by_category")
    const dir = evidenceDir()
    const run = await runCli(["propagate", source, target, "--evidence-dir", dir])
    expect(run.code, run.stderr).toBe(0)
    const tables = await runSql<{ t: string }>(
      source,
      "SELECT format('%I.%I', schemaname, relname) AS t FROM pg_stat_user_tables ORDER BY 1"
    )
    expect(tables.length).toBeGreaterThan(20)
    for (const { t } of tables) {
      expect(await tableDigest(target, t), t).toEqual(await tableDigest(source, t))
    }
    // Every FK is back and validated; the same set as the source's.
    const fks = (url: string) =>
      runSql<{ c: string; v: boolean }>(url, "SELECT conrelid::regclass || '.' || conname AS c, convalidated AS v FROM pg_constraint WHERE contype = 'f' ORDER BY 1")
    const [srcFks, dstFks] = [await fks(source), await fks(target)]
    expect(dstFks).toEqual(srcFks)
    expect(dstFks.every((k) => k.v)).toBe(true)
    // The BEFORE INSERT trigger did not rewrite film.fulltext, and is enabled again.
    const [film] = await runSql(target, "SELECT fulltext::text AS f FROM film WHERE film_id = 1")
    expect(film.f).toBe("'1':3 'custom':1 'vector':2")
    const [trigger] = await runSql(target, "SELECT tgenabled FROM pg_trigger WHERE tgname = 'film_fulltext_trigger'")
    expect(trigger.tgenabled).toBe("O")
    // Sequences continue after the copied maximum.
    const [{ id }] = await runSql(target, "INSERT INTO actor (first_name, last_name) VALUES ('a', 'b') RETURNING actor_id AS id")
    expect(id).toBe(31)
    // The materialized view was refreshed from the copied rows.
    const [mv] = await runSql(target, "SELECT count(*)::int AS n FROM rental_by_category")
    const [mvSrc] = await runSql(source, "SELECT count(*)::int AS n FROM (SELECT * FROM rental_by_category) x")
    expect(mv.n).toBe(mvSrc.n)
    // Evidence: per table rows and digests, no password.
    const files = readdirSync(dir).filter((f) => f.startsWith("propagate_") && f.endsWith(".json"))
    expect(files).toHaveLength(1)
    const text = readFileSync(join(dir, files[0]!), "utf8")
    expect(text).not.toContain(":db-harness@")
    const evidence = JSON.parse(text)
    expect(evidence.source.endpoint).toContain("***")
    const rental = evidence.tables.find((t: { table: string }) => t.table === "public.rental")
    expect(rental.rowsWritten).toBe(500)
    expect(rental.digest).toMatch(/^[0-9a-f]{64}$/)
    expect(evidence.snapshotId).toMatch(/^[0-9A-F-]+$/)
  })

  it("works for a table owner without superuser, across a self reference and a two-table cycle", async () => {
    await runSql(adminUrl(), "DO $$ BEGIN CREATE ROLE dbh_owner LOGIN PASSWORD 'owner-Pw-7731'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    const names = [`own_src_${Date.now()}`, `own_dst_${Date.now()}`]
    for (const name of names) await runSql(adminUrl(), `CREATE DATABASE ${name} OWNER dbh_owner`)
    const [source, target] = names.map((n) => {
      const url = new URL(urlFor(n))
      url.username = "dbh_owner"
      url.password = "owner-Pw-7731"
      return url.toString()
    }) as [string, string]
    const ddl = `
      CREATE TABLE person (id serial PRIMARY KEY, name text NOT NULL, manager_id integer REFERENCES person(id));
      CREATE TABLE team (id integer PRIMARY KEY, lead_id integer NOT NULL);
      CREATE TABLE member (id integer PRIMARY KEY, team_id integer NOT NULL REFERENCES team(id), person_id integer REFERENCES person(id));
      ALTER TABLE team ADD FOREIGN KEY (lead_id) REFERENCES member(id) DEFERRABLE INITIALLY DEFERRED;`
    await runSql(source, ddl)
    await runSql(target, ddl)
    await runSql(source, `
      INSERT INTO person (name, manager_id) VALUES ('root', NULL);
      INSERT INTO person (name, manager_id) SELECT 'p' || i, 1 + (i % 10) FROM generate_series(1, 200) i;
      BEGIN; INSERT INTO team VALUES (1, 1); INSERT INTO member VALUES (1, 1, 2), (2, 1, 3); COMMIT;`)
    // The target had other rows before: they are replaced.
    await runSql(target, "INSERT INTO person (name) VALUES ('old')")
    try {
      const run = await runCli(["propagate", source, target, "--evidence-dir", evidenceDir()])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout + run.stderr).not.toContain("owner-Pw-7731")
      for (const t of ["person", "team", "member"]) expect(await tableDigest(target, t), t).toEqual(await tableDigest(source, t))
      const keys = await runSql(target, "SELECT conname, convalidated, condeferrable FROM pg_constraint WHERE contype = 'f' ORDER BY 1")
      expect(keys).toEqual([
        { conname: "member_person_id_fkey", convalidated: true, condeferrable: false },
        { conname: "member_team_id_fkey", convalidated: true, condeferrable: false },
        { conname: "person_manager_id_fkey", convalidated: true, condeferrable: false },
        { conname: "team_lead_id_fkey", convalidated: true, condeferrable: true }
      ])
      const [{ id }] = await runSql(target, "INSERT INTO person (name) VALUES ('new') RETURNING id")
      expect(id).toBe(202)
    } finally {
      for (const name of names) await runSql(adminUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  })
})

describe("propagate: refusals write nothing", () => {
  const setup = async () => {
    const source = await freshDatabase("ref_src")
    const target = await freshDatabase("ref_dst")
    const ddl = "CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id), note text);"
    await runSql(source, ddl + "INSERT INTO a SELECT i, 'new' FROM generate_series(1, 10) i; INSERT INTO b SELECT i, i, 'n' FROM generate_series(1, 10) i;")
    await runSql(target, ddl + "INSERT INTO a VALUES (1, 'old'); INSERT INTO b VALUES (1, 1, 'old');")
    const before = { a: await tableDigest(target, "a"), b: await tableDigest(target, "b") }
    const unchanged = async () => {
      expect({ a: await tableDigest(target, "a"), b: await tableDigest(target, "b") }).toEqual(before)
      const keys = await runSql(target, "SELECT conname FROM pg_constraint WHERE contype = 'f'")
      expect(keys).toEqual([{ conname: "b_a_id_fkey" }])
    }
    return { source, target, unchanged }
  }

  it("refuses a target that is the source database, even spelled differently", async () => {
    const { source, unchanged } = await setup()
    const other = source.replace("127.0.0.1", "localhost")
    for (const target of [source, other]) {
      const run = await runCli(["propagate", source, target])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/is the source database itself/)
    }
    const [{ n }] = await runSql(source, "SELECT count(*)::int AS n FROM a")
    expect(n).toBe(10)
    void unchanged
  })

  it("refuses a protected target name unless overridden", async () => {
    const { source, target } = await setup()
    const run = await runCli(["propagate", source, "prod"], { DB_PROD_CONN: target })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('matches the protected pattern "prod*"')
    const custom = await runCli(["propagate", source, "staging", "--protected", "stag*"], { DB_STAGING_CONN: target })
    expect(custom.code).toBe(1)
    const allowed = await runCli(["propagate", source, "prod", "--allow-protected-target", "--evidence-dir", evidenceDir()], { DB_PROD_CONN: target })
    expect(allowed.code, allowed.stderr).toBe(0)
    // Not a terminal: one plain progress line per table on stderr, the summary on stdout.
    expect(allowed.stderr).toMatch(/^copied public\.a: 10 rows, .* rows\/s\)$/m)
    expect(allowed.stderr).toMatch(/^copied public\.b: 10 rows, /m)
    expect(allowed.stdout).toMatch(/copied 2 tables, 20 rows/)
    expect(allowed.stdout).not.toContain("\u001b[")
    expect((await tableDigest(target, "a")).n).toBe("10")
  })

  it("refuses a target missing a table, or a column, naming it, and writes nothing", async () => {
    const { source, target, unchanged } = await setup()
    await runSql(source, "CREATE TABLE extra (id int); ALTER TABLE b ADD COLUMN secret text")
    const run = await runCli(["propagate", source, target])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain("table public.extra is missing in the target")
    expect(run.stderr).toContain("column public.b.secret is missing in the target")
    expect(run.stderr).toContain("nothing was written")
    await unchanged()
  })

  it("refuses a column whose type differs", async () => {
    const { source, target, unchanged } = await setup()
    await runSql(target, "ALTER TABLE a ALTER COLUMN v TYPE integer USING 1")
    const run = await runCli(["propagate", source, target])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain("column public.a.v is text in the source but integer in the target")
    void unchanged
  })

  it("--dry-run prints the plan and writes nothing", async () => {
    const { source, target, unchanged } = await setup()
    const dir = evidenceDir()
    const run = await runCli(["propagate", source, target, "--dry-run", "--evidence-dir", dir])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain("public.a")
    expect(run.stdout).toContain("public.b")
    expect(run.stdout).toMatch(/dry run/i)
    await unchanged()
    expect(readdirSync(dir)).toEqual([])
    rmSync(dir, { recursive: true })
  })

  it("--include / --exclude choose tables by schema-qualified glob", async () => {
    const { source, target } = await setup()
    const run = await runCli(["propagate", source, target, "--exclude", "public.b", "--json", "--evidence-dir", evidenceDir()])
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).tables.map((t: { table: string }) => t.table)).toEqual(["public.a"])
    expect((await tableDigest(target, "a")).n).toBe("10")
    expect((await tableDigest(target, "b")).n).toBe("1")
  })
})

describe("propagate: failures roll back", () => {
  it("a killed target backend mid-copy rolls the table back and exits 1 naming it", async () => {
    const source = await freshDatabase("kill_src")
    const target = await freshDatabase("kill_dst")
    const ddl = "CREATE TABLE big (id bigint PRIMARY KEY, payload text, n numeric);"
    await runSql(source, ddl + "INSERT INTO big SELECT i, repeat(md5(i::text), 6), i * 1.5 FROM generate_series(1, 800000) i; ANALYZE big;")
    await runSql(target, ddl + "INSERT INTO big VALUES (1, 'kept', 1), (2, 'kept', 2), (3, 'kept', 3);")
    const running = runCli(["propagate", source, target, "--jobs", "1", "--evidence-dir", evidenceDir()])
    let killed = false
    for (let i = 0; i < 400 && !killed; i++) {
      const rows = await runSql<{ pid: number; n: string }>(
        target,
        `SELECT a.pid, p.tuples_processed::text AS n FROM pg_stat_activity a JOIN pg_stat_progress_copy p ON p.pid = a.pid
          WHERE a.application_name LIKE 'db-harness writer%' AND a.datname = current_database()`
      )
      const copying = rows.find((r) => Number(r.n) > 1000)
      if (copying) {
        await runSql(adminUrl(), "SELECT pg_terminate_backend($1)", [copying.pid])
        killed = true
      } else {
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    expect(killed).toBe(true)
    const run = await running
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/table public\.big failed/)
    expect(run.stderr).toMatch(/rolled back/)
    const rows = await runSql(target, "SELECT id, payload FROM big ORDER BY id")
    expect(rows).toEqual([
      { id: "1", payload: "kept" },
      { id: "2", payload: "kept" },
      { id: "3", payload: "kept" }
    ])
    // A rerun repairs.
    const rerun = await runCli(["propagate", source, target, "--quiet", "--evidence-dir", evidenceDir()])
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(await tableDigest(target, "big")).toEqual(await tableDigest(source, "big"))
  })
})
