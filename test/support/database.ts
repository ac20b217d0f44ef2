/**
 * Fresh databases for a test file on the shared test server: `freshDatabase()` creates an empty
 * database with a unique name and returns its URL; everything is dropped when the file ends.
 */
import pg from "pg"
import { readFileSync } from "node:fs"
import { afterAll, inject } from "vitest"

const created: Array<string> = []

export const adminUrl = () => inject("adminUrl")

export const urlFor = (database: string) => {
  const url = new URL(adminUrl())
  url.pathname = `/${database}`
  return url.toString()
}

/** Run SQL against a URL (one connection, closed after). */
export const runSql = async <R extends pg.QueryResultRow = any>(url: string, sql: string, params: Array<unknown> = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(sql, params)).rows
  } finally {
    await client.end()
  }
}

let counter = 0
export const freshDatabase = async (prefix = "t"): Promise<string> => {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`.toLowerCase()
  await runSql(adminUrl(), `CREATE DATABASE "${name}"`)
  created.push(name)
  return urlFor(name)
}

afterAll(async () => {
  for (const name of created.splice(0)) {
    await runSql(adminUrl(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {})
  }
})

/** The pagila schema (stock variant) from shared/fixtures, loaded into a database. */
export const PAGILA_SCHEMA_PATH = new URL("../../../shared/fixtures/pagila/pagila-schema-stock.sql", import.meta.url)

export const loadPagila = async (url: string) => {
  const sql = readFileSync(PAGILA_SCHEMA_PATH, "utf8")
  await runSql(url, sql)
}
