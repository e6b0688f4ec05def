// Twin worlds for the generated kernels' tests (issue #19: act-kernel, object-kernels,
// options-kernel): two worlds from the same config and seed, one running a plug-in's generated
// kernel and the other its generic loop, stepped together with their state hashes compared after
// every tick; the hand-driven town those tests place their own objects and agents in; and a run
// in a child process where code generation from strings is not allowed.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { Option } from "../../components/activity.ts";
import { buildWorld } from "../../engine/build.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { makeWorld } from "./world.ts";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A world of configs/many-towns.yaml: `n` towns of 8 agents, this seed. */
export function manyTowns(n: number, seed: number): World {
  return buildWorld(MANY_TOWNS, corePlugins, { seed, towns: n, agentsPerTown: 8 }).world;
}

/** Two worlds of `manyTowns(n, seed)`; the second passed through `generic` (its generic loop switched on). */
export function twinTowns(n: number, seed: number, generic: (w: World) => World): [World, World] {
  return [manyTowns(n, seed), generic(manyTowns(n, seed))];
}

/** Steps both worlds `n` ticks, expecting the same state hash after every tick. */
export function stepBoth(a: World, b: World, n: number): void {
  for (let t = 0; t < n; t++) {
    a.step();
    b.step();
    expect(a.stateHash(), `tick ${a.tick}`).toBe(b.stateHash());
  }
}

/** A 12x12 town of no agents, needs that do not decay and nobody leaving, with these `world` and `queue_fairness` settings. */
export function handWorld(world: Record<string, unknown>, queueFairness: Record<string, unknown>): World {
  return makeWorld({
    world: { ...world, agents_per_town: 0, grid_size: [12, 12] },
    jobs: {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    queue_fairness: queueFairness,
  });
}

/** An agent of `town` at (x, y) with 5 money whose intents the test writes (Option.external). */
export function handAgent(w: World, town: number, x: number, y: number): number {
  const eid = w.spawnAgent(town, { init: { Position: { x, y }, Wallet: { money: 5 } } });
  w.columns(Option).external[eid] = 1;
  return eid;
}

/**
 * `manyTowns(1, 9)` stepped 150 ticks in a child process run with
 * --disallow-code-generation-from-strings (expecting nothing on its stderr): the state hash and
 * `pathOf` (an expression over `w` using `name`, imported from the project's `module`).
 */
export function withoutCodegen(module: string, name: string, pathOf: string): { path: string; hash: string } {
  const script = `
      const { buildWorld } = await import(${JSON.stringify(ROOT + "engine/build.ts")});
      const { corePlugins } = await import(${JSON.stringify(ROOT + "systems/index.ts")});
      const { ${name} } = await import(${JSON.stringify(ROOT + module)});
      const w = buildWorld(${JSON.stringify(MANY_TOWNS)}, corePlugins, { seed: 9, towns: 1, agentsPerTown: 8 }).world;
      for (let t = 0; t < 150; t++) w.step();
      console.log(JSON.stringify({ path: ${pathOf}, hash: w.stateHash() }));`;
  const r = spawnSync(process.execPath, ["--disallow-code-generation-from-strings", "--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { path: string; hash: string };
}

/** `manyTowns(1, 9)` stepped 150 ticks here (withoutCodegen's world, with code generation allowed). */
export function withCodegen(): World {
  const w = manyTowns(1, 9);
  for (let t = 0; t < 150; t++) w.step();
  return w;
}
