// Hook names an affordance lists that no hook is registered for. The original skips such a hook
// without a word (its dispatch finds no handler); here it still does not run, and the world warns
// once per (affordance, stage, hook): on its first tick, when every plug-in's setup and every hook
// module has registered its hooks, and again for a hot-reloaded manifest when it is swapped in.
// The warning names the manifest file (or "registered affordance" for one a plug-in registered),
// the affordance, the stage and the hook, with a close registered name when there is one. It goes
// to AffordancesState.onWarning (stderr by default) and the names to AffordancesState.unknownHooks.
// No strict mode: `townlet validate --strict` never builds a world, and the registered names are
// known only once the plug-ins' setups ran.
import { relative } from "node:path";
import { didYouMean } from "../../engine/text.ts";
import type { AffordancesState } from "./state.ts";

const STAGES = ["before", "after", "fail"] as const;

/** The warnings for the hooks of the current registry that are not registered (none: []). */
export function unknownHookWarnings(st: AffordancesState): string[] {
  const out: string[] = [];
  const names = st.hooks.names();
  const registered = new Set(names);
  const file = st.manifestPath === undefined ? undefined : relative(process.cwd(), st.manifestPath) || st.manifestPath;
  const unknown = new Set<string>();
  for (const a of st.registry.affordances) {
    if (!a || !a.active) continue;
    const where = file !== undefined && st.registry.manifestIds.has(a.id) ? `${file}: affordance "${a.id}"` : `registered affordance "${a.id}"`;
    for (const stage of STAGES) {
      for (const hook of a.hooks[stage]) {
        if (registered.has(hook)) continue;
        unknown.add(hook);
        out.push(
          `${where}: hooks.${stage}: hook "${hook}" is registered by no plug-in or hook module of this world, so it never runs` +
            `${didYouMean(hook, names)}; register it in a plug-in's setup (affordancesState(world).hooks.register) or a hook module listed in affordances.runtime.hook_allowlist`,
        );
      }
    }
  }
  st.unknownHooks = [...unknown].sort();
  return out;
}

/** Warns about the current registry's unknown hooks once (affordances/reload calls it each tick). */
export function checkHooks(st: AffordancesState): void {
  if (st.hooksCheckedFor === st.registry) return;
  st.hooksCheckedFor = st.registry;
  for (const w of unknownHookWarnings(st)) st.onWarning(w);
}
