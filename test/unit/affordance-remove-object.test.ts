// Removing an object (systems/affordances/remove.ts): removeObject and world.removeEntity of an
// object take it out of every index at once, end its running affordance as a failure
// (object_removed), free its waiters and holder, and refuse ids that are no object; removal from
// the object's own hooks (before, after, fail); snapshots of a world with a removed object; the
// console's remove_object and the errors that name a removed object.
import { describe, expect, it } from "vitest";
import { Activity, IntentKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { SpaceKey } from "../../components/grid.ts";
import { AffordanceFail, AffordanceFinish } from "../../components/messages.ts";
import type { World } from "../../engine/world.ts";
import { loadSnapshot, saveSnapshot } from "../../engine/snapshot.ts";
import type { HookCall } from "../../systems/affordances/hooks.ts";
import { affordanceRegistry, affordancesState, objectById, objectsOfType, registerAffordance, registerObject, removeObject } from "../../systems/affordances/index.ts";
import type { CommandResultT, ConsoleService, Principal } from "../../systems/console/index.ts";
import { affordanceTown, intendAt } from "../helpers/affordances.ts";
import { handAgent } from "../helpers/twins.ts";

const town = affordanceTown;
const intend = intendAt;

/** A hand-driven agent of town 0 at (x, y). */
function agent(w: World, x: number, y: number): number {
  return handAgent(w, 0, x, y);
}

/** The affordance_fail (or finish) messages of the tick that just ended: [agent, object, affordance, reason]. */
function fails(w: World): [number, number, number, string][] {
  const v = w.lastTick(AffordanceFail);
  const out: [number, number, number, string][] = [];
  for (let i = v.start; i < v.end; i++) out.push([v.agent[i], v.object[i], v.affordance[i], w.text(v.reason[i])]);
  return out;
}
function finishes(w: World): number {
  const v = w.lastTick(AffordanceFinish);
  return v.end - v.start;
}

/** Nobody holds, waits for or runs anything at a removed object; every queue is consistent. */
function expectFree(w: World, agents: number[]): void {
  const A = w.columns(Activity);
  for (const a of agents) {
    expect([A.holding[a], A.queued[a], A.running[a], A.pending[a]], `agent ${a}`).toEqual([0, 0, -1, -1]);
  }
}

/** Two benches, a sitter at the first (30 ticks) and two waiters; `failHook` counts its calls. */
function busyBench(w: World) {
  const calls: string[] = [];
  affordancesState(w).hooks.register("count_fail", (c: HookCall) => calls.push(c.reason));
  const obj = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [5, 5] });
  const other = registerObject(w, 0, { id: "bench_2", object_type: "bench", position: [8, 8] });
  const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 30, effects: { energy: 0.1 }, hooks: { fail: ["count_fail"] } });
  const h = agent(w, 5, 5);
  const b = agent(w, 5, 4);
  const c = agent(w, 4, 5);
  intend(w, h, IntentKind.Start, obj, sit);
  intend(w, b, IntentKind.Request, obj, sit);
  intend(w, c, IntentKind.Request, obj, sit);
  for (let t = 0; t < 3; t++) w.step();
  return { obj, other, sit, h, b, c, calls };
}

describe("removing an object", () => {
  it("takes it out of the object list, its tile, the (town, type) index and objectById at once", () => {
    const w = town();
    const { obj, other } = busyBench(w);
    const type = affordanceRegistry(w).typeIndex("bench");
    expect([...objectsOfType(w, 0, type)].filter((_, i) => i % 3 === 0)).toEqual([obj, other]);
    removeObject(w, obj);
    const st = affordancesState(w);
    expect(st.objects).toEqual([other]);
    expect([...objectsOfType(w, 0, type)]).toEqual([other, 8, 8]);
    expect(objectById(w, 0, "bench_1")).toBe(0);
    expect(w.resource(SpaceKey).objectAt(0, 5, 5)).toBe(0);
    expect(w.has(obj, Obj)).toBe(false);
    expect(st.removed.get("0:bench_1")).toBe(3);
  });

  it("fails the running affordance with object_removed (fail hooks, message, counters) and frees the holder and the waiters", () => {
    const w = town();
    const { obj, other, sit, h, b, c, calls } = busyBench(w);
    const A = w.columns(Activity);
    expect([A.running[h], A.queued[b], A.queued[c]]).toEqual([sit, obj, obj]);
    const failures = affordancesState(w).counters.failures;
    removeObject(w, obj);
    expect(fails(w)).toEqual([[h, obj, sit, "object_removed"]]);
    expect(calls).toEqual(["object_removed"]);
    expect(affordancesState(w).counters.failures).toBe(failures + 1);
    expect(affordancesState(w).failReasons.object_removed).toBe(1);
    expectFree(w, [h, b, c]);
    // Free to decide again: the waiters go to the other bench, one gets it and the other waits.
    intend(w, b, IntentKind.Start, other, sit);
    intend(w, c, IntentKind.Request, other, sit);
    for (let t = 0; t < 8; t++) w.step();
    expect([A.running[b], A.queued[c]]).toEqual([sit, other]);
    // Intents that still name the removed object are refused (not an object any more).
    expect(A.last_ok[h]).toBe(0);
  });

  it("clears a cooldown on the removed id (an object that reuses the id must not inherit it)", () => {
    const w = town({ queue_fairness: { cooldown_ticks: 500 } });
    const obj = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [5, 5] });
    const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 2 });
    const a = agent(w, 5, 5);
    intend(w, a, IntentKind.Start, obj, sit);
    for (let t = 0; t < 3; t++) w.step();
    intend(w, a, IntentKind.Wait);
    const A = w.columns(Activity);
    expect(A.cooldown_obj[a]).toBe(obj);
    removeObject(w, obj);
    expect(A.cooldown_obj[a]).toBe(0);
  });

  it("world.removeEntity of an object goes the same way as removeObject", () => {
    const [a, b] = [town(), town()];
    const sa = busyBench(a);
    const sb = busyBench(b);
    removeObject(a, sa.obj);
    b.removeEntity(sb.obj);
    expect(fails(b)).toEqual(fails(a));
    expect(affordancesState(b).objects).toEqual(affordancesState(a).objects);
    for (let t = 0; t < 5; t++) {
      a.step();
      b.step();
      expect(b.stateHash()).toBe(a.stateHash());
    }
  });

  it("refuses an entity that is not an object, naming it", () => {
    const w = town();
    const { obj, h } = busyBench(w);
    expect(() => removeObject(w, h)).toThrow(new RegExp(`removeObject: entity ${h} is not an object of this world`));
    removeObject(w, obj);
    expect(() => removeObject(w, obj)).toThrow(/no live entity has this id/);
  });

  it("a world with a removed object snapshots and restores to the same hash", () => {
    const [a, b] = [town(), town()];
    const sa = busyBench(a);
    busyBench(b);
    removeObject(a, sa.obj);
    for (let t = 0; t < 4; t++) a.step();
    loadSnapshot(b, saveSnapshot(a));
    expect(b.stateHash()).toBe(a.stateHash());
    expect(affordancesState(b).objects).toEqual(affordancesState(a).objects);
    expect(b.resource(SpaceKey).objectAt(0, 5, 5)).toBe(0);
    for (let t = 0; t < 6; t++) {
      a.step();
      b.step();
      expect(b.stateHash(), `tick ${a.tick}`).toBe(a.stateHash());
    }
  });
});

describe("an object removed by its own affordance's hooks", () => {
  /** A bench whose `use` runs `rm` at `stage` (it removes the bench), and one agent using it. */
  function selfRemoving(stage: "before" | "after" | "fail") {
    const w = town();
    const st = affordancesState(w);
    st.hooks.register("rm", (c) => removeObject(c.world, c.object));
    const obj = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [5, 5] });
    const use = registerAffordance(w, { id: "use", object_type: "bench", duration: 3, effects: { energy: 0.1 }, preconds: ["power_on"], hooks: { [stage]: ["rm"] } });
    const a = agent(w, 5, 5);
    const q = agent(w, 5, 4);
    intend(w, a, IntentKind.Start, obj, use);
    intend(w, q, IntentKind.Request, obj, use);
    return { w, st, obj, use, a, q };
  }

  it("before: the start is cancelled with object_removed", () => {
    const { w, st, obj, use, a, q } = selfRemoving("before");
    w.step();
    expect(fails(w)).toEqual([[a, obj, use, "object_removed"]]);
    expect(st.objects).toEqual([]);
    expectFree(w, [a, q]);
  });

  it("after: the affordance finishes once (effects, completion) and nothing fails", () => {
    const { w, st, use, a, q } = selfRemoving("after");
    let finished = 0;
    for (let t = 0; t < 5; t++) {
      w.step();
      finished += finishes(w);
      expect(fails(w), `tick ${w.tick}`).toEqual([]);
    }
    expect(finished).toBe(1);
    expect(st.completed[use]).toBe(1);
    expect(st.objects).toEqual([]);
    expectFree(w, [a, q]);
  });

  it("fail: the affordance fails once, with its own reason", () => {
    const { w, st, obj, use, a, q } = selfRemoving("fail");
    w.step();
    w.columns(Obj).power_on[obj] = 0;
    w.step();
    expect(fails(w)).toEqual([[a, obj, use, "outage"]]);
    expect(st.failReasons.object_removed).toBeUndefined();
    expect(st.objects).toEqual([]);
    expectFree(w, [a, q]);
  });
});

describe("the console", () => {
  const ADMIN: Principal = { role: "admin", label: "ops" };
  const VIEWER: Principal = { role: "viewer", label: "eve" };
  let seq = 0;
  async function run(w: World, name: string, args: Record<string, unknown>, who: Principal = ADMIN): Promise<CommandResultT> {
    const p = w.state<ConsoleService>("console").submit({ name, args, cmd_id: `rm${++seq}` }, who, "local");
    const settled = await Promise.race([p, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
    if (settled) return settled;
    w.step();
    return p;
  }

  it("remove_object removes by id (admin only); afterwards commands name the id as removed", async () => {
    const w = town();
    const { obj, h } = busyBench(w);
    const denied = await run(w, "remove_object", { object_id: "bench_1" }, VIEWER);
    expect(denied.status).toBe("error");
    expect(affordancesState(w).objects).toContain(obj);
    const r = await run(w, "remove_object", { object_id: "bench_1" });
    expect(r.status, JSON.stringify(r.error)).toBe("ok");
    expect(r.result).toMatchObject({ removed: { object_id: "bench_1", running: "sit" } });
    expect(affordancesState(w).objects).not.toContain(obj);
    expect(w.columns(Activity).running[h]).toBe(-1);
    for (const [name, who] of [["remove_object", ADMIN], ["debug_queues", VIEWER]] as const) {
      const again = await run(w, name, { object_id: "bench_1" }, who);
      expect(again.status, name).toBe("error");
      expect(again.error?.code, name).toBe("not_found");
      expect(again.error?.message, name).toMatch(/object "bench_1" was removed at tick \d+/);
    }
    const typo = await run(w, "remove_object", { object_id: "bench_3" });
    expect(typo.error?.message).toMatch(/no object "bench_3" \(did you mean "bench_2"\?\)/);
  });
});
