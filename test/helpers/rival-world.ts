// A world where the event paths that the shipped configs never reach all run (the determinism
// audit's gap, issue #19): configs/many-towns.yaml's towns with a cafe in each (so an arranged
// meet finds its meeting object and starts), meets drawn often, and rivalry that rises fast,
// decays slowly and rests at the avoid threshold (so agents avoid rivals in decide, skip rivals'
// objects in chooseObject and send queue_rival). Built the same way here and in a child process
// run without code generation from strings (test/unit/determinism-rivals.test.ts).
import { fileURLToPath } from "node:url";
import { buildWorld } from "../../engine/build.ts";
import type { World } from "../../engine/world.ts";
import { registerObject } from "../../systems/affordances/objects.ts";
import { corePlugins } from "../../systems/index.ts";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));

/** Perturbations: arranged meets at the cafe (random pairs and top rivals) and a price spike, often. */
const PERTURBATIONS = {
  max_concurrent_events: 4,
  global_cooldown_ticks: 10,
  per_agent_cooldown_ticks: 40,
  grace_window_ticks: 10,
  window_ticks: 200,
  max_events_per_window: 6,
  events: {
    meet: { kind: "arranged_meet", prob_per_day: 12, cooldown_ticks: 20, duration: [15, 30], target: "random", location: "cafe" },
    rivals: { kind: "arranged_meet", prob_per_day: 8, cooldown_ticks: 30, duration: [15, 30], target: "top_rivals", location: "cafe" },
    spike: { kind: "price_spike", prob_per_day: 6, cooldown_ticks: 40, duration: [20, 60], magnitude: [1.2, 1.8], targets: ["grocer"] },
  },
};

/** `towns` towns of 8 agents of many-towns.yaml with a cafe each, fast rivalry and frequent meets. */
export function rivalWorld(towns: number, seed: number): World {
  const w = buildWorld(MANY_TOWNS, corePlugins, {
    seed,
    towns,
    agentsPerTown: 8,
    overrides: {
      perturbations: PERTURBATIONS,
      "conflict.rivalry": { increment_per_conflict: 0.5, decay_per_tick: 0.001, avoid_threshold: 0.2, min_value: 0.2, eviction_threshold: 0.2 },
    },
  }).world;
  for (let t = 0; t < towns; t++) registerObject(w, t, { id: "cafe_1", object_type: "cafe", position: [11, 12] });
  return w;
}
