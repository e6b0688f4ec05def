// Parked agents (issue #19, systems/options/quiet.ts): options/execute skips an agent whose Use
// option's Start it wrote while the agent waited in that object's queue, as long as its option is
// not new, not done and it still queues there. Twin worlds, one skipping and one looking at every
// agent (`skipQuiet = false` on the options plug-in), compared by state hash after every tick: an
// agent left parked a tick too long keeps a Start where the other world writes a Wait (its
// affordance started) or another object (it left the queue), which changes Intent and what
// affordances/act does with it.
import { describe, expect, it } from "vitest";
import { Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import type { World } from "../../engine/world.ts";
import type { OptionsState } from "../../systems/options/quiet.ts";
import { manyTowns, stepBoth } from "../helpers/twins.ts";

function lookAtEveryone(w: World): World {
  w.state<OptionsState>("options").skipQuiet = false;
  return w;
}

function parkedAgents(w: World): number[] {
  const bits = w.state<OptionsState>("options").parked;
  return Array.from(w.agents).filter((e) => (bits[e >>> 5] & (1 << (e & 31))) !== 0);
}

describe("parked agents (options/execute)", () => {
  it("writes what looking at every agent writes through a day of queues (grants, starts, shift ends)", () => {
    const a = manyTowns(4, 13);
    const b = lookAtEveryone(manyTowns(4, 13));
    const Op = a.columns(Option);
    const I = a.columns(Intent);
    let most = 0;
    let skippedOnce = 0;
    let before = new Set<number>();
    for (let t = 0; t < 700; t++) {
      stepBoth(a, b, 1);
      const parked = parkedAgents(a);
      most = Math.max(most, parked.length);
      // What the bit promises a reader after the executor (affordances/act): a Start to the
      // option's object, where the agent queues.
      for (const e of parked) {
        expect(I.kind[e], `tick ${a.tick} agent ${e}`).toBe(IntentKind.Start);
        expect(I.object[e]).toBe(Op.object[e]);
        expect(I.affordance[e]).toBe(Op.affordance[e]);
        expect(Op.kind[e]).toBe(OptionKind.Use);
      }
      for (const e of parked) if (before.has(e)) skippedOnce++;
      before = new Set(parked);
    }
    // The day had agents waiting in queues for several ticks (else nothing was tested).
    expect(most).toBeGreaterThan(2);
    expect(skippedOnce).toBeGreaterThan(20);
  });

  it("is cleared for every agent by a wake of all (console command, snapshot load)", () => {
    const a = manyTowns(4, 13);
    let t = 0;
    while (parkedAgents(a).length === 0 && t++ < 700) a.step();
    expect(parkedAgents(a).length).toBeGreaterThan(0);
    const qs = a.state<OptionsState>("options");
    const one = parkedAgents(a)[0];
    qs.wake(one);
    expect(parkedAgents(a)).not.toContain(one);
    qs.wakeAll();
    expect(parkedAgents(a)).toEqual([]);
  });
});
