// Plug-ins from outside the engine: a config's `plugins:` list (paths relative to the config's
// folder, or package names) and the command line's --plugin PATH (relative to the working folder).
// A module's default export is a plug-in or a list of them (a named `plugins` export is read too).
// Every failure names the file: not found (with the places looked in), failed to load (with the
// module's own error), or exports no plug-in.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import type { AnyPlugin } from "./plugin.ts";

/** A plug-in module that cannot be found or loaded (exit 1: the user's to fix). */
export class PluginLoadError extends Error {
  override name = "PluginLoadError";
}

function isPlugin(x: unknown): x is AnyPlugin {
  return typeof x === "object" && x !== null && typeof (x as { name?: unknown }).name === "string" && ("systems" in x || "config" in x || "sections" in x || "components" in x || "state" in x);
}

/** A spec that names a file (starts with ./, ../, / or ends with a script extension) rather than a package. */
function isPath(spec: string): boolean {
  return spec.startsWith(".") || isAbsolute(spec) || /\.(m?[jt]s|cjs)$/.test(spec);
}

let tsxRegistered = false;

/**
 * Node takes a `.ts` file outside an ES-module package (no package.json with "type": "module"
 * above it: a modder's own folder) for CommonJS, and its `import`/`export` then fail with
 * "Cannot require() ES Module ... in a cycle", which names no remedy. Says what to do.
 */
function moduleHint(target: string, e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = e instanceof Error ? e.message : "";
  if (!/\.ts$/.test(target) || !(code === "ERR_REQUIRE_CYCLE_MODULE" || code === "ERR_REQUIRE_ESM" || /require\(\) ES Module/.test(msg))) return "";
  return ` (Node loads a .ts file as an ES module only inside a package whose package.json says "type": "module": add such a package.json beside the plug-in, or name the file .mts)`;
}

/**
 * The file a module spec names, looked for from `from`; `what` names the kind in errors
 * ("plug-in", "hook module"). Throws PluginLoadError naming the spec and where it looked.
 */
export function resolveModuleSpec(spec: string, from: string, origin: string, what = "plug-in"): string {
  if (isPath(spec)) {
    const target = resolve(from, spec);
    if (!existsSync(target) || !statSync(target).isFile()) throw new PluginLoadError(`${origin}: ${what} "${spec}" not found (looked for ${target})`);
    return target;
  }
  try {
    return createRequire(resolve(from, "index.js")).resolve(spec);
  } catch {
    throw new PluginLoadError(`${origin}: ${what} package "${spec}" not found from ${from} (install it, or give a path such as ./${spec}.ts)`);
  }
}

/** Imports a resolved module file (a TypeScript one through tsx under the compiled CLI); a failure names the file. */
export async function importModuleFile(target: string, origin: string, what = "plug-in"): Promise<Record<string, unknown>> {
  // A TypeScript module under the compiled CLI: Node needs tsx's loader for it.
  if (/\.m?ts$/.test(target) && !tsxRegistered && !import.meta.url.endsWith(".ts")) {
    const { register } = await import("tsx/esm/api");
    register();
    tsxRegistered = true;
  }
  try {
    return (await import(pathToFileURL(target).href)) as Record<string, unknown>;
  } catch (e) {
    throw new PluginLoadError(`${origin}: ${what} ${target} failed to load: ${e instanceof Error ? e.message : String(e)}${moduleHint(target, e)}`);
  }
}

/** Imports one plug-in module; `from` is where the spec was written (a config's folder, or the working folder). */
export async function loadPluginModule(spec: string, from: string, origin: string): Promise<AnyPlugin[]> {
  const target = resolveModuleSpec(spec, from, origin);
  const mod = await importModuleFile(target, origin);
  const found = [mod.default, mod.plugins, mod.plugin].flatMap((x) => (Array.isArray(x) ? x : x === undefined ? [] : [x]));
  const plugins = found.filter(isPlugin);
  if (!plugins.length) throw new PluginLoadError(`${origin}: plug-in ${target} exports no plug-in (expected a default export made with definePlugin, or a list of them)`);
  return plugins;
}

/**
 * A plug-in whose own config keys name further modules (affordances: the hook modules of
 * `affordances.runtime.hook_allowlist`): resolvePlugins calls `configModules` with the config
 * file and adds the plug-ins it returns, so every world built from that config (this thread,
 * worker threads, blocks) loads them the same way before its first tick.
 */
export interface LoadsConfigModules {
  configModules(configFile: string): Promise<AnyPlugin[]>;
}

function loadsConfigModules(p: AnyPlugin): p is AnyPlugin & LoadsConfigModules {
  return typeof (p as Partial<LoadsConfigModules>).configModules === "function";
}

/** The `plugins:` list of a config file (empty when it has none; the loader reports a malformed one). */
export function pluginsListed(configFile: string): string[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(configFile, "utf8"));
  } catch {
    return []; // the config loader reports the file's own problems, with lines
  }
  const list = (raw as { plugins?: unknown } | null)?.plugins;
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string" && x.length > 0) : [];
}

/**
 * The plug-ins of a run: `base` (the core plug-ins), then the config's `plugins:` (relative to the
 * config's folder), then each --plugin (relative to the working folder), then the plug-ins that
 * modules named by the config's own keys make (LoadsConfigModules). A plug-in whose name is
 * already loaded is refused, naming both files.
 */
export async function resolvePlugins(base: readonly AnyPlugin[], configFile: string | undefined, cli: readonly string[] = []): Promise<AnyPlugin[]> {
  const out = [...base];
  const from = new Map<string, string>(base.map((p) => [p.name, "the core plug-ins"]));
  const add = async (spec: string, dir: string, origin: string) => {
    for (const p of await loadPluginModule(spec, dir, origin)) {
      const prior = from.get(p.name);
      if (prior !== undefined) throw new PluginLoadError(`${origin}: plug-in "${p.name}" (${spec}) is already loaded by ${prior}`);
      from.set(p.name, spec);
      out.push(p);
    }
  };
  if (configFile !== undefined) for (const spec of pluginsListed(configFile)) await add(spec, dirname(resolve(configFile)), `${configFile}: plugins`);
  for (const spec of cli) await add(spec, process.cwd(), "--plugin");
  if (configFile !== undefined) {
    for (const p of out.filter(loadsConfigModules)) {
      for (const extra of await p.configModules(configFile)) {
        const prior = from.get(extra.name);
        if (prior !== undefined) throw new PluginLoadError(`${configFile}: plug-in "${extra.name}" (from ${p.name}'s config) is already loaded by ${prior}`);
        from.set(extra.name, `${p.name}'s config`);
        out.push(extra);
      }
    }
  }
  return out;
}
