// The runtime keeps each affordance's need deltas and hook functions by index (issue #19,
// systems/affordances/spec-cache.ts). What it keeps must follow the registries: a hook registered
// after the affordance first ran is called from then on, and an affordance replaced in place (same
// id) finishes with its new effects and hooks.
import { describe, expect, it } from "vitest";
import { Intent, IntentKind } from "../../components/activity.ts";
import type { World } from "../../engine/world.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import { registerAffordance, registerObject } from "../../systems/affordances/index.ts";
import { handAgent, handWorld } from "../helpers/twins.ts";

function startAt(w: World, eid: number, obj: number, aff: number): void {
  const I = w.columns(Intent);
  I.kind[eid] = IntentKind.Start;
  I.object[eid] = obj;
  I.affordance[eid] = aff;
}

function energy(w: World, eid: number): number {
  return (w.columns(w.componentDef("Needs")) as unknown as Record<string, Float32Array>).energy[eid];
}

function setUp() {
  const w = handWorld({ towns: 1 }, { cooldown_ticks: 0 });
  const bench = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [5, 5] });
  const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 2, effects: { energy: -0.1 }, hooks: { before: ["on_sit"], after: ["on_sat"] } });
  const agent = handAgent(w, 0, 5, 5);
  startAt(w, agent, bench, sit);
  return { w, bench, sit, agent, hooks: w.state<AffordancesResource>("affordances").st.hooks };
}

describe("an affordance's deltas and hooks as the runtime keeps them", () => {
  it("calls a hook registered after the affordance's first start and finish", () => {
    const { w, hooks } = setUp();
    // Nothing is registered under on_sit / on_sat yet: the first rounds run without them.
    for (let t = 0; t < 8; t++) w.step();
    const calls: string[] = [];
    hooks.register("on_sit", (c) => void calls.push(`before ${c.tick}`));
    hooks.register("on_sat", (c) => void calls.push(`after ${c.tick}`));
    for (let t = 0; t < 8; t++) w.step();
    expect(calls.filter((c) => c.startsWith("before")).length).toBeGreaterThan(1);
    expect(calls.filter((c) => c.startsWith("after")).length).toBeGreaterThan(1);
  });

  it("finishes an affordance replaced in place with its new effects and hooks", () => {
    const { w, agent } = setUp();
    for (let t = 0; t < 8; t++) w.step();
    const before = energy(w, agent);
    expect(before).toBeLessThan(1);
    const calls: number[] = [];
    w.state<AffordancesResource>("affordances").st.hooks.register("on_rested", (c) => void calls.push(c.tick));
    registerAffordance(w, { id: "sit", object_type: "bench", duration: 2, effects: { energy: 0.2 }, hooks: { after: ["on_rested"] } });
    for (let t = 0; t < 8; t++) w.step();
    expect(energy(w, agent)).toBeGreaterThan(before);
    expect(calls.length).toBeGreaterThan(1);
  });
});
