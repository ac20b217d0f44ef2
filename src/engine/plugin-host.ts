/**
 * The plugin host: loads plugin files named in rules or config, keeps one registry of built-in
 * and user plugins by name, and turns a plugin plus raw options into its hooks. Options are
 * decoded once by the plugin's own Schema; a bad option fails naming the plugin, the option path
 * and what was expected. The engine reaches plugins only through here, never by name.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { HarnessError, badInput } from "./errors.ts"
import { isPlugin, optionsSchemaOf, type ContextByKind, type HooksByKind, type Plugin, type PluginKind } from "./plugin.ts"

export interface PluginRegistry {
  readonly get: (name: string) => Plugin | undefined
  readonly names: () => ReadonlyArray<string>
  /** Where each user plugin came from (absolute path), for messages and evidence. */
  readonly origin: (name: string) => string
}

/** Import a plugin file (`.ts` or `.js`) and check its default export is a plugin. */
export const loadPluginFile = (path: string): Effect.Effect<Plugin, HarnessError> =>
  Effect.gen(function* () {
    const absolute = resolve(path)
    const module = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(absolute).href) as Promise<{ default?: unknown }>,
      catch: (cause) => badInput(`cannot load plugin ${absolute}: ${(cause as Error)?.message ?? String(cause)}`, cause)
    })
    const plugin = module.default
    if (!isPlugin(plugin)) {
      return yield* badInput(
        `plugin ${absolute} has no plugin as its default export (export default definePlugin({ name, kind, options, make }))`
      )
    }
    const kinds: ReadonlyArray<PluginKind> = ["mask", "detect", "subset", "gate", "sink"]
    if (!kinds.includes(plugin.kind)) {
      return yield* badInput(`plugin ${plugin.name} (${absolute}) has unknown kind "${plugin.kind}"; expected one of ${kinds.join(", ")}`)
    }
    return plugin
  })

/** Built-ins plus the plugins loaded from `paths`; two plugins of one name are an error. */
export const makeRegistry = (
  builtins: ReadonlyArray<Plugin>,
  paths: ReadonlyArray<string>
): Effect.Effect<PluginRegistry, HarnessError> =>
  Effect.gen(function* () {
    const byName = new Map<string, { plugin: Plugin; origin: string }>()
    for (const plugin of builtins) byName.set(plugin.name, { plugin, origin: "built-in" })
    for (const path of paths) {
      const plugin = yield* loadPluginFile(path)
      const existing = byName.get(plugin.name)
      if (existing !== undefined) {
        return yield* badInput(`plugin ${resolve(path)} is named "${plugin.name}", like the ${existing.origin} plugin; rename one of them`)
      }
      byName.set(plugin.name, { plugin, origin: resolve(path) })
    }
    return {
      get: (name) => byName.get(name)?.plugin,
      names: () => [...byName.keys()].sort(),
      origin: (name) => byName.get(name)?.origin ?? "unknown"
    }
  })

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * A plugin's options decoded by its schema (unknown keys refused), or every issue as one line:
 * `option a.b: Expected ...; option c: ...`.
 */
export const decodePluginOptions = (plugin: Plugin, raw: unknown): Result.Result<unknown, string> => {
  const decoded = Schema.decodeUnknownResult(optionsSchemaOf(plugin))(raw, { errors: "all", onExcessProperty: "error" })
  if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
  const lines = formatIssues(decoded.failure.issue).issues.map((issue) => {
    const path = (issue.path ?? []).map(String).join(".")
    return `option ${path === "" ? "(options)" : path}: ${issue.message}`
  })
  return Result.fail(lines.join("; "))
}

/**
 * Decode `raw` with the plugin's options schema and call `make`. `where` says which rule asked
 * (file and line), so the message leads the user to the place to fix.
 */
export const instantiate = <K extends PluginKind>(
  plugin: Plugin,
  kind: K,
  raw: unknown,
  context: ContextByKind[K],
  where: string
): Effect.Effect<HooksByKind[K], HarnessError> =>
  Effect.gen(function* () {
    if (plugin.kind !== kind) {
      return yield* badInput(`${where}: plugin "${plugin.name}" is a ${plugin.kind} plugin, not a ${kind} plugin`)
    }
    const decoded = decodePluginOptions(plugin, raw)
    if (Result.isFailure(decoded)) return yield* badInput(`${where}: plugin "${plugin.name}": ${decoded.failure}`)
    return yield* Effect.try({
      try: () => (plugin.make as (options: unknown, context: unknown) => HooksByKind[K])(decoded.success, context),
      catch: (cause) =>
        new HarnessError({
          reason: "BadInput",
          message: `${where}: plugin "${plugin.name}" refused its options: ${(cause as Error)?.message ?? String(cause)}`,
          cause
        })
    })
  })
