// A Use option whose chosen object is removed chooses again on the executor's next run
// (systems/options/forget.ts), not at its next periodic re-choice (every 8 ticks): a walker and a
// waiter of the removed bench go to the other bench the tick after the removal, on the generated
// kernel and on the generic loop alike (the twins hash the same after every tick); and in a
// many-towns world where busy objects are removed, no Use option aims at a removed object after
// the next tick, kernel and generic again hashing the same.
import { describe, expect, it } from "vitest";
import { Activity, Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import type { World } from "../../engine/world.ts";
import { chooseOption } from "../../components/options.ts";
import { affordancesState, registerAffordance, registerObject, removeObject } from "../../systems/affordances/index.ts";
import { executePath } from "../../systems/options/index.ts";
import type { OptionsState } from "../../systems/options/quiet.ts";
import { makeWorld } from "../helpers/world.ts";
import { affordancesOnlyFile } from "../helpers/affordances.ts";
import { manyTowns, stepBoth } from "../helpers/twins.ts";

const AFFORDANCES_ONLY = affordancesOnlyFile("townlet-opt-removed-");

/** A 30x30 town whose agents keep the options the test gives them (external policy), no decay, no deaths. */
function town(generic: boolean): World {
  const w = makeWorld({
    world: { agents_per_town: 0, grid_size: [30, 30] },
    affordances: { affordances_file: AFFORDANCES_ONLY },
    runtime: { policy: { provider: "external" } },
    jobs: {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
  });
  w.state<OptionsState>("options").useKernel = !generic;
  return w;
}

/**
 * Two benches, the second far away; a sitter at the first (a 30-tick sit), a waiter in its queue
 * (the wait there is shorter than the walk to the second) and a walker on its way to it.
 */
function scene(w: World) {
  const near = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [2, 2] });
  const far = registerObject(w, 0, { id: "bench_2", object_type: "bench", position: [25, 25] });
  const sit = registerAffordance(w, { id: "long_sit", object_type: "bench", duration: 30, effects: { energy: 0.01 } });
  const spawn = (x: number, y: number) => w.spawnAgent(0, { init: { Position: { x, y }, Wallet: { money: 5 } } });
  const sitter = spawn(2, 2);
  const waiter = spawn(2, 3);
  const walker = spawn(2, 8);
  const use = (eid: number) => chooseOption(w.columns(Option), eid, OptionKind.Use, sit, 0, w.tick);
  use(sitter);
  use(walker);
  w.step();
  use(waiter);
  return { near, far, sitter, waiter, walker };
}

/** Steps the world until the sitter holds bench_1, the waiter queues there and the walker is on its way. */
function untilUnderway(w: World, s: ReturnType<typeof scene>): void {
  const A = w.columns(Activity);
  const Op = w.columns(Option);
  for (let t = 0; t < 3; t++) w.step();
  expect(A.holding[s.sitter]).toBe(s.near);
  expect(A.queued[s.waiter]).toBe(s.near);
  expect(Op.object[s.walker]).toBe(s.near);
  expect(A.queued[s.walker]).toBe(0);
}

describe("a Use option whose object is removed", () => {
  for (const generic of [false, true]) {
    it(`chooses the other object the tick after the removal (${generic ? "generic loop" : "generated kernel"}), the walker and the waiter alike`, () => {
      const w = town(generic);
      const s = scene(w);
      untilUnderway(w, s);
      const Op = w.columns(Option);
      const I = w.columns(Intent);
      // The removal falls between two periodic re-choices of both (every 8 ticks from `since`):
      // without the forgetting, both would aim at the removed id for several more ticks.
      for (const e of [s.waiter, s.walker]) expect((w.tick - Op.since[e]) % 8, `agent ${e}`).not.toBe(0);
      removeObject(w, s.near);
      w.step();
      expect(executePath(w)).toBe(generic ? "generic" : "kernel");
      for (const e of [s.waiter, s.walker]) {
        expect([Op.kind[e], Op.done[e], Op.object[e]], `agent ${e}`).toEqual([OptionKind.Use, 0, s.far]);
        expect([I.kind[e], I.object[e]], `agent ${e}`).toEqual([IntentKind.Start, s.far]);
      }
      // The sitter's affordance failed (object_removed): its option is done, not re-chosen.
      expect(Op.done[s.sitter]).toBe(1);
      expect(w.has(s.near, Obj)).toBe(false);
    });
  }

  it("hashes the same on the generated kernel and the generic loop through the removal and after", () => {
    const a = town(false);
    const b = town(true);
    const sa = scene(a);
    const sb = scene(b);
    untilUnderway(a, sa);
    untilUnderway(b, sb);
    expect(a.stateHash()).toBe(b.stateHash());
    removeObject(a, sa.near);
    removeObject(b, sb.near);
    stepBoth(a, b, 60);
    // Both reached the far bench: one sits, the other waits in its queue.
    const A = a.columns(Activity);
    expect([sa.walker, sa.waiter].map((e) => A.queued[e] + A.holding[e])).toEqual([sa.far, sa.far]);
  });

  it("aims no Use option at a removed object after the next tick in a many-towns world (kernel and generic twins)", () => {
    const a = manyTowns(4, 5);
    const b = manyTowns(4, 5);
    b.state<OptionsState>("options").useKernel = false;
    stepBoth(a, b, 200);
    // Objects someone holds or waits for, and the options that chose them.
    const O = a.columns(Obj);
    const busy = affordancesState(a).objects.filter((o) => O.holder[o] !== 0 || O.queue_len[o] > 0).slice(0, 12);
    expect(busy.length).toBeGreaterThan(3);
    const Op = a.columns(Option);
    const chose = (w: World, dead: Set<number>) => Array.from(w.agents).filter((e) => Op.kind[e] === OptionKind.Use && Op.done[e] === 0 && dead.has(w.columns(Option).object[e]));
    const dead = new Set(busy);
    expect(chose(a, dead).length).toBeGreaterThan(0);
    for (const o of busy) {
      removeObject(a, o);
      removeObject(b, o);
    }
    stepBoth(a, b, 1);
    expect(chose(a, dead)).toEqual([]);
    const I = a.columns(Intent);
    expect(Array.from(a.agents).filter((e) => I.kind[e] === IntentKind.Start && dead.has(I.object[e]))).toEqual([]);
    stepBoth(a, b, 40);
    expect(executePath(a)).toBe("kernel");
    expect(executePath(b)).toBe("generic");
  });
});
