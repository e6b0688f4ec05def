// affordances/queues' and affordances/run's generated kernels (issue #19,
// systems/affordances/object-kernels.ts) against their generic loops (`rt.useObjectKernels =
// false`): twin worlds from the same config and seed, the state hash compared after every tick.
// A kernel that counts a stall, a timeout, an outage or a tick of a running affordance differently
// (or writes into columns or needs the world no longer has) changes the hash of that tick.
import { describe, expect, it } from "vitest";
import { Activity, Intent, IntentKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { TownEconomy } from "../../components/economy.ts";
import type { World } from "../../engine/world.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import { objectsPath } from "../../systems/affordances/objects-loop.ts";
import { registerAffordance, registerObject } from "../../systems/affordances/index.ts";
import { handAgent, handWorld, stepBoth, twinTowns, withCodegen, withoutCodegen } from "../helpers/twins.ts";

function rtOf(w: World) {
  return w.state<AffordancesResource>("affordances").rt;
}

function generic(w: World): World {
  rtOf(w).useObjectKernels = false;
  return w;
}

function towns(n: number, seed: number): [World, World] {
  return twinTowns(n, seed, generic);
}

/** A 12x12 town of hand-driven agents with short reservation timeouts. */
function handTown(): World {
  return handWorld({}, { reservation_timeout_ticks: 5, ghost_step_after: 3 });
}

function intend(w: World, eid: number, kind: number, object = 0, affordance = -1, blocked = 0): void {
  const I = w.columns(Intent);
  I.kind[eid] = kind;
  I.object[eid] = object;
  I.affordance[eid] = affordance;
  I.blocked[eid] = blocked;
}

describe("affordances/queues and run's generated kernels do what the generic loops do", () => {
  it("keeps every tick's state hash through a day of three towns, running as kernels", () => {
    const [a, b] = towns(3, 13);
    stepBoth(a, b, 620);
    const done = a.state<AffordancesResource>("affordances").st.completed;
    expect(done.reduce((s, n) => s + (n ?? 0), 0)).toBeGreaterThan(100);
    expect(objectsPath(rtOf(a))).toBe("kernel");
    expect(objectsPath(rtOf(b))).toBe("generic");
  });

  it("fails running affordances that need power or water on an outage, on the same tick", () => {
    const [a, b] = towns(2, 11);
    stepBoth(a, b, 250);
    for (const w of [a, b]) {
      const econ = w.townColumns(TownEconomy);
      econ.power[0] = 0;
      econ.water[1] = 0;
    }
    const before = a.state<AffordancesResource>("affordances").st.failReasons.outage ?? 0;
    stepBoth(a, b, 40);
    expect(a.state<AffordancesResource>("affordances").st.failReasons.outage ?? 0).toBeGreaterThan(before);
  });

  it("times out idle reservations, ghost-steps idle holders and follows an affordance replaced mid-run", () => {
    const ws = [handTown(), generic(handTown())];
    const ids = ws.map((w) => {
      const lamp = registerObject(w, 0, { id: "lamp_1", object_type: "lamp", position: [5, 5] });
      const bench = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [7, 7] });
      const read = registerAffordance(w, { id: "read", object_type: "lamp", duration: 6, effects: { energy: 0.05 } });
      const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 3, effects: { energy: 0.05 } });
      return { lamp, bench, read, sit, idle: handAgent(w, 0, 5, 4), waiter: handAgent(w, 0, 5, 6), reader: handAgent(w, 0, 7, 6) };
    });
    const [a, b] = ws;
    const each = (f: (w: World, i: (typeof ids)[number]) => void) => ws.forEach((w, k) => f(w, ids[k]));
    // The idle agent takes the lamp and holds it without starting (Blocked does not start the
    // pending affordance); nobody waits: its reservation times out.
    each((w, i) => intend(w, i.idle, IntentKind.Request, i.lamp, i.read));
    stepBoth(a, b, 1);
    each((w, i) => intend(w, i.idle, IntentKind.Blocked, i.lamp));
    stepBoth(a, b, 8);
    const st = a.state<AffordancesResource>("affordances").st;
    expect(st.counters.reservation_timeouts).toBeGreaterThan(0);
    // It takes the lamp again and idles while a waiter queues: the idle holder is ghost-stepped.
    each((w, i) => intend(w, i.idle, IntentKind.Request, i.lamp, i.read));
    stepBoth(a, b, 1);
    each((w, i) => {
      intend(w, i.idle, IntentKind.Blocked, i.lamp);
      intend(w, i.waiter, IntentKind.Request, i.lamp, i.read);
    });
    stepBoth(a, b, 6);
    expect(st.counters.ghost_step_events).toBeGreaterThan(0);
    // The bench's affordance is replaced in place by one that needs power while it runs; the
    // power goes: the new spec's need fails it (a kernel keeping the old spec's needs would not).
    each((w, i) => intend(w, i.reader, IntentKind.Start, i.bench, i.sit));
    stepBoth(a, b, 1);
    expect(a.columns(Activity).running[ids[0].reader]).toBe(ids[0].sit);
    for (const w of ws) {
      registerAffordance(w, { id: "sit", object_type: "bench", duration: 3, effects: { energy: 0.05 }, preconds: ["power_on"] });
      w.townColumns(TownEconomy).power[0] = 0;
    }
    const before = st.failReasons.outage ?? 0;
    stepBoth(a, b, 1);
    expect(st.failReasons.outage ?? 0).toBe(before + 1);
    stepBoth(a, b, 10);
  });

  it("finishes a tick's affordances in chunks with the same state as one by one", () => {
    const [a, b] = towns(6, 17);
    const rt = rtOf(a);
    rt.finishChunkSize = 2;
    // Counts the chunks the kernel hands over (the real finishChunk does the work).
    const real = rt.finishChunk.bind(rt);
    let chunks = 0;
    let full = 0;
    rt.finishChunk = (agents, objects, n) => {
      chunks++;
      if (n === 2) full++;
      real(agents, objects, n);
    };
    stepBoth(a, b, 620);
    expect(chunks).toBeGreaterThan(50);
    expect(full).toBeGreaterThan(5);
  });

  it("finishes one by one while a plug-in hook is registered: its power cut fails a later object the same tick", () => {
    const ws = [handTown(), generic(handTown())];
    const ids = ws.map((w) => {
      const lamp = registerObject(w, 0, { id: "lamp_1", object_type: "lamp", position: [5, 5] });
      const heater = registerObject(w, 0, { id: "heater_1", object_type: "heater", position: [8, 8] });
      // A plug-in's after hook: reading at the lamp cuts the heater's power.
      w.state<AffordancesResource>("affordances").st.hooks.register("cut_heater", (c) => {
        c.world.columns(Obj).power_on[heater] = 0;
      });
      const read = registerAffordance(w, { id: "read", object_type: "lamp", duration: 3, effects: { energy: 0.05 }, hooks: { after: ["cut_heater"] } });
      const warm = registerAffordance(w, { id: "warm", object_type: "heater", duration: 20, effects: { energy: 0.05 }, preconds: ["power_on"] });
      return { lamp, heater, read, warm, reader: handAgent(w, 0, 5, 4), warmer: handAgent(w, 0, 8, 7) };
    });
    const [a, b] = ws;
    expect(ids[0].heater).toBeGreaterThan(ids[0].lamp);
    ws.forEach((w, k) => {
      intend(w, ids[k].reader, IntentKind.Start, ids[k].lamp, ids[k].read);
      intend(w, ids[k].warmer, IntentKind.Start, ids[k].heater, ids[k].warm);
    });
    const st = a.state<AffordancesResource>("affordances").st;
    for (let t = 0; t < 6 && (st.completed[ids[0].read] ?? 0) === 0; t++) stepBoth(a, b, 1);
    expect(st.completed[ids[0].read]).toBe(1);
    expect(st.failReasons.outage ?? 0).toBe(1);
    expect(objectsPath(rtOf(a))).toBe("kernel");
  });

  it("falls back to the generic loops where code generation from strings is not allowed, with the same hashes", () => {
    const out = withoutCodegen("systems/affordances/objects-loop.ts", "objectsPath", 'objectsPath(w.state("affordances").rt)');
    expect(out.path).toBe("generic");
    const w = withCodegen();
    expect(objectsPath(rtOf(w))).toBe("kernel");
    expect(out.hash).toBe(w.stateHash());
  }, 60_000);
});
