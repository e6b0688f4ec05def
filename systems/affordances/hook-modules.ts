// Hook modules: affordance hooks from modules a config names, as the original's hook loading.
// `affordances.runtime.hook_allowlist` lists modules (paths relative to the config's folder, or
// package names); each exports `registerHooks(world, hooks)`, which registers its hooks on the
// world's registry (hooks.ts). TOWNLET_AFFORDANCE_HOOK_MODULES (comma-separated, paths relative
// to the working folder) names modules too, read only while `allow_env_hooks` is true, and each
// must be on the allowlist. The modules are imported when the plug-ins of a config are resolved
// (engine/plugin-loader.ts resolvePlugins, the path of every tool and worker thread) and become
// one plug-in, "affordance-hooks", whose `setup` calls each registration before the first tick.
// A world whose settings name hook modules without that plug-in refuses to start: a config's
// hooks are never dropped without a word.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { definePlugin, type AnyPlugin } from "../../engine/plugin.ts";
import { importModuleFile, PluginLoadError, resolveModuleSpec } from "../../engine/plugin-loader.ts";
import type { World } from "../../engine/world.ts";
import type { HookRegistry } from "./hooks.ts";
import { affordancesState } from "./objects.ts";

/** The environment variable naming further hook modules (comma-separated). */
export const HOOK_MODULES_ENV = "TOWNLET_AFFORDANCE_HOOK_MODULES";
/** The name of the plug-in that registers a config's hook modules. */
export const HOOK_MODULES_PLUGIN = "affordance-hooks";
const KEY = "affordances.runtime.hook_allowlist";
/**
 * The original's module of its built-in hooks (register_hooks of townlet/world/hooks/default.py):
 * ours are builtins.ts, registered in every world, so a config (the original's poc_hybrid.yaml)
 * or the variable naming it loads nothing more. The original allows its own namespace without the
 * allowlist; this is the only module in it.
 */
export const ORIGINAL_BUILTIN_HOOKS = "townlet.world.hooks.default";
const ORIGINAL_NAMESPACE = "townlet.world.hooks";

/** True for the original's built-in hook module; throws for another name of its namespace (none exists). */
function isOriginalBuiltin(spec: string, origin: string): boolean {
  if (spec === ORIGINAL_BUILTIN_HOOKS) return true;
  if (spec === ORIGINAL_NAMESPACE || spec.startsWith(`${ORIGINAL_NAMESPACE}.`)) {
    throw new PluginLoadError(`${origin}: hook module "${spec}" is a module of the original's namespace that does not exist; its only one, "${ORIGINAL_BUILTIN_HOOKS}", is built in here`);
  }
  return false;
}

/** The entries of an allowlist that name modules to load (not the original's built-in one). */
function loadable(allowlist: readonly string[]): string[] {
  return allowlist.filter((s) => s !== ORIGINAL_BUILTIN_HOOKS);
}

/** What a hook module exports: registers its hooks on the world's registry (`hooks.register(name, fn)`). */
export type RegisterHooks = (world: World, hooks: HookRegistry) => void;

/** One module to load: as written, where it was written, and the file it names. */
interface HookModule {
  spec: string;
  origin: string;
  target: string;
  register?: RegisterHooks;
}

/** The modules of one config, as loaded: its allowlist as written, and the modules in load order. */
interface LoadedHooks {
  allowlist: readonly string[];
  modules: readonly HookModule[];
}

const loadedOf = new WeakMap<AnyPlugin, LoadedHooks>();

/**
 * The runtime keys of a config file as written (defaults when absent; the config loader reports
 * malformed ones). A file that cannot be read or parsed allows nothing, the variable included:
 * the loader's error about the file comes first.
 */
function runtimeKeys(configFile: string): { allowlist: string[]; allowEnv: boolean } | undefined {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(configFile, "utf8"));
  } catch {
    return undefined;
  }
  const rt = (raw as { affordances?: { runtime?: { hook_allowlist?: unknown; allow_env_hooks?: unknown } } } | null)?.affordances?.runtime;
  const list = rt?.hook_allowlist;
  return {
    allowlist: Array.isArray(list) ? list.filter((x): x is string => typeof x === "string" && x.length > 0) : [],
    allowEnv: rt?.allow_env_hooks !== false,
  };
}

/**
 * The hook modules of a config: its allowlist (relative to the config's folder), then the
 * environment's modules when `allow_env_hooks` is true, each of which must name a module of the
 * allowlist (it is then loaded once). Throws PluginLoadError naming the module, the key and the file.
 */
export function planHookModules(configFile: string, env: Record<string, string | undefined> = process.env): HookModule[] {
  const keys = runtimeKeys(configFile);
  if (keys === undefined) return [];
  const { allowlist, allowEnv } = keys;
  const origin = `${configFile}: ${KEY}`;
  const dir = dirname(resolve(configFile));
  const out: HookModule[] = [];
  for (const spec of allowlist) {
    if (isOriginalBuiltin(spec, origin)) continue;
    const target = resolveModuleSpec(spec, dir, origin, "hook module");
    if (!out.some((m) => m.target === target)) out.push({ spec, origin, target });
  }
  const extra = (env[HOOK_MODULES_ENV] ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (!extra.length) return out;
  if (!allowEnv) {
    process.stderr.write(`${configFile}: affordances.runtime.allow_env_hooks is false: ${HOOK_MODULES_ENV} (${extra.join(", ")}) is ignored\n`);
    return out;
  }
  for (const spec of extra) {
    if (isOriginalBuiltin(spec, HOOK_MODULES_ENV)) continue;
    const target = resolveModuleSpec(spec, process.cwd(), HOOK_MODULES_ENV, "hook module");
    if (out.some((m) => m.target === target)) continue;
    const allowed = allowlist.length ? allowlist.map((s) => `"${s}"`).join(", ") : "none";
    throw new PluginLoadError(`${HOOK_MODULES_ENV}: hook module "${spec}" (${target}) is not on ${KEY} of ${configFile} (allowed: ${allowed}); add it there to load it`);
  }
  return out;
}

/**
 * Imports the hook modules of a config (planHookModules) and returns the plug-in that registers
 * them, or nothing when the config names none. A module that exports no `registerHooks`
 * function is refused here, naming it.
 */
export async function loadHookModules(configFile: string, env: Record<string, string | undefined> = process.env): Promise<AnyPlugin[]> {
  const allowlist = loadable(runtimeKeys(configFile)?.allowlist ?? []);
  const modules = planHookModules(configFile, env);
  if (!modules.length) return [];
  for (const m of modules) {
    const mod = await importModuleFile(m.target, m.origin, "hook module");
    const register = mod.registerHooks;
    if (typeof register !== "function") {
      throw new PluginLoadError(
        `${m.origin}: hook module ${m.target} exports no registerHooks function (expected \`export function registerHooks(world, hooks) { hooks.register("name", fn) }\`)`,
      );
    }
    m.register = register as RegisterHooks;
  }
  const plugin = definePlugin({
    name: HOOK_MODULES_PLUGIN,
    doc: `affordance hooks of ${modules.map((m) => m.spec).join(", ")} (${KEY} of ${configFile})`,
    setup({ world }) {
      const hooks = affordancesState(world).hooks;
      for (const m of modules) {
        try {
          m.register!(world, hooks);
        } catch (e) {
          throw new PluginLoadError(`${m.origin}: hook module ${m.target}: registerHooks failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    },
  });
  loadedOf.set(plugin, { allowlist, modules });
  return [plugin];
}

/**
 * Refuses a world whose settings name hook modules that were not loaded for it (a world built
 * from settings with plug-ins that did not come from resolvePlugins of its config file).
 */
export function checkHookModulesLoaded(world: World): void {
  const named = loadable(world.settings.affordances.runtime.hook_allowlist);
  const plugin = world.plugins.find((p) => p.name === HOOK_MODULES_PLUGIN);
  const loaded = plugin ? loadedOf.get(plugin)?.allowlist : undefined;
  if (!named.length && loaded === undefined) return;
  if (loaded !== undefined && loaded.length === named.length && loaded.every((s, i) => s === named[i])) return;
  const list = named.length ? named.map((s) => `"${s}"`).join(", ") : "none";
  throw new PluginLoadError(
    loaded === undefined
      ? `${KEY} names hook modules (${list}) that were not loaded for this world: build it with the plug-ins of resolvePlugins(corePlugins, configFile) (engine/plugin-loader.ts), which imports them`
      : `${KEY} of this world's settings (${list}) is not the list its hook modules were loaded for (${loaded.map((s) => `"${s}"`).join(", ") || "none"})`,
  );
}
