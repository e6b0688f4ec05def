// Hook names an affordance lists that no hook is registered for. The original skips such a hook
// without a word (its dispatch finds no handler); here it still does not run, and the world warns
// once per (affordance, stage, hook): on its first tick, when every plug-in's setup and every hook
// module has registered its hooks, and again for a hot-reloaded manifest when it is swapped in.
// The warning names the manifest file (or "registered affordance" for one a plug-in registered),
// the affordance, the stage and the hook, with a close registered name when there is one. It goes
// to AffordancesState.onWarning (stderr by default) and the names to AffordancesState.unknownHooks.
// No strict mode: `townlet validate --strict` never builds a world, and the registered names are
// known only once the plug-ins' setups ran.
//
// A sharded world (world.shards > 1) warns once, not once per block: every block checks its own
// registry (blocks could differ: a plug-in's setup may register a hook in some blocks only, and
// each block swaps a reloaded manifest in on its own), and each distinct warning is printed once,
// by the process's main thread: blocks built there (one worker) go through `printOnce`, blocks on
// worker threads post their warnings to it (a BroadcastChannel the main thread listens on from
// this module's import, unref'd: it keeps no process alive), and it prints each on stderr, as
// `warning: <text>` as a one-block world's default onWarning does. The key is the text and the
// registry's rank among those the block checked (its first tick's 0, each hot reload's next), so
// a reload that keeps the mistake warns once more, as one block does. Scope: the process (the
// main thread cannot tell two worlds' blocks apart): a second sharded world of the same manifest
// in the same process does not repeat a warning. A block on a worker thread warns on the main
// thread's stderr, not through its own onWarning.
import { relative } from "node:path";
import { BroadcastChannel, isMainThread } from "node:worker_threads";
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

/**
 * Warns about the current registry's unknown hooks once (affordances/reload calls it each tick).
 * `shards`: the world's world.shards; above 1 the world is a block, whose warnings are printed once
 * per sharded world (see the file comment).
 */
export function checkHooks(st: AffordancesState, shards = 1): void {
  if (st.hooksCheckedFor === st.registry) return;
  st.hooksCheckedFor = st.registry;
  const rank = checked.get(st) ?? 0;
  checked.set(st, rank + 1);
  for (const w of unknownHookWarnings(st)) {
    if (shards <= 1) st.onWarning(w);
    else if (isMainThread) printOnce(`${rank}\n${w}`, st.onWarning);
    else post(`${rank}\n${w}`);
  }
}

/** Registries checked per state (the rank of the next one). */
const checked = new WeakMap<AffordancesState, number>();
const CHANNEL = "townlet:affordances:hook-warnings";
/** Keys (rank, text) of the blocks' warnings printed in this process. */
const printed = new Set<string>();

/** Blocks' warnings this thread met (its own blocks' and those posted to it) and printed: tests wait on them. */
export const blockWarnings = { met: 0, printed: 0 };

/** Prints a block's warning unless one with the same key was (`key`: rank, newline, text). */
function printOnce(key: string, print: (message: string) => void): void {
  blockWarnings.met++;
  if (printed.has(key)) return;
  printed.add(key);
  blockWarnings.printed++;
  print(key.slice(key.indexOf("\n") + 1));
}

let sender: BroadcastChannel | undefined;
/** A block on a worker thread: its warning goes to the main thread. */
function post(key: string): void {
  if (sender === undefined) {
    sender = new BroadcastChannel(CHANNEL);
    sender.unref();
  }
  sender.postMessage(key);
}

if (isMainThread) {
  const listen = new BroadcastChannel(CHANNEL);
  listen.onmessage = (e) => {
    const key = (e as { data?: unknown }).data;
    if (typeof key === "string") printOnce(key, (m) => process.stderr.write(`warning: ${m}\n`));
  };
  listen.unref();
}
