// affordances/act's generated kernel (issue #19, systems/affordances/act-kernel.ts) against its
// generic loop (`rt.useActKernel = false`): twin worlds from the same config and seed, the state
// hash (Intent, Activity, queues, positions, needs ...) compared after every tick. A kernel step
// that differs from the generic code in any branch (a missed wake, a request answered
// differently, a walk one tile off, a column of the old store written after a growth) changes the
// hash of the tick it happens on.
import { describe, expect, it } from "vitest";
import { Activity, Intent, IntentKind } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import type { World } from "../../engine/world.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import { registerAffordance, registerObject, actPath } from "../../systems/affordances/index.ts";
import { ACT_CHUNK } from "../../systems/affordances/act-kernel.ts";
import { handAgent, handWorld, stepBoth, twinTowns, withCodegen, withoutCodegen } from "../helpers/twins.ts";

function generic(w: World): World {
  w.state<AffordancesResource>("affordances").rt.useActKernel = false;
  return w;
}

function towns(n: number, seed: number): [World, World] {
  return twinTowns(n, seed, generic);
}

/** Two 12x12 towns of hand-driven agents (Option.external: the test writes their intents). */
function handTown(): World {
  return handWorld({ towns: 2 }, { cooldown_ticks: 4, ghost_step_after: 3 });
}

function intend(w: World, eid: number, kind: number, fields: { object?: number; affordance?: number; x?: number; y?: number; blocked?: number } = {}): void {
  const I = w.columns(Intent);
  I.kind[eid] = kind;
  I.object[eid] = fields.object ?? 0;
  I.affordance[eid] = fields.affordance ?? -1;
  I.x[eid] = fields.x ?? 0;
  I.y[eid] = fields.y ?? 0;
  I.blocked[eid] = fields.blocked ?? 0;
}

describe("affordances/act's generated kernel does what the generic loop does", () => {
  it("runs as the kernel where code generation is allowed, the generic loop when switched off", () => {
    const [a, b] = towns(1, 3);
    stepBoth(a, b, 3);
    expect(actPath(a)).toBe("kernel");
    expect(actPath(b)).toBe("generic");
  });

  it("keeps every tick's state hash through a day of three towns: walks, queues, starts, chats, handovers", () => {
    const [a, b] = towns(3, 7);
    stepBoth(a, b, 620);
    const c = a.state<AffordancesResource>("affordances").st.counters;
    // The day went through the branches the kernel inlines and those it hands back.
    expect(c.chats_ok + c.chats_failed).toBeGreaterThan(0);
    expect(c.handovers + c.rotation_events).toBeGreaterThan(0);
    const done = a.state<AffordancesResource>("affordances").st.completed;
    expect(done.reduce((s, n) => s + (n ?? 0), 0)).toBeGreaterThan(100);
    expect(actPath(a)).toBe("kernel");
  });

  it("walks, queues, blocked attempts, ghost steps, releases, cooldowns and wrong towns the same, tick by tick", () => {
    const ws = [handTown(), generic(handTown())];
    const ids = ws.map((w) => {
      const bench = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [5, 5] });
      const other = registerObject(w, 1, { id: "bench_2", object_type: "bench", position: [5, 5] });
      const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 4, effects: { energy: 0.1 } });
      return { bench, other, sit, h: handAgent(w, 0, 5, 5), q: handAgent(w, 0, 5, 4), far: handAgent(w, 0, 0, 11), edge: handAgent(w, 0, 0, 0), x: handAgent(w, 0, 11, 11) };
    });
    const [a, b] = ws;
    const each = (f: (w: World, id: (typeof ids)[number]) => void) => ws.forEach((w, k) => f(w, ids[k]));
    // The holder starts `sit`; a neighbour queues behind it; the far agent walks over with an
    // intent that names no affordance (the type's first); one walks off the grid's edge; one asks
    // for an object of another town.
    each((w, i) => {
      intend(w, i.h, IntentKind.Start, { object: i.bench, affordance: i.sit });
      intend(w, i.q, IntentKind.Request, { object: i.bench, affordance: i.sit });
      intend(w, i.far, IntentKind.Start, { object: i.bench });
      intend(w, i.edge, IntentKind.Move, { x: -3, y: 0 });
      intend(w, i.x, IntentKind.Start, { object: i.other, affordance: i.sit });
    });
    stepBoth(a, b, 3);
    const A = a.columns(Activity);
    expect(A.running[ids[0].h]).toBe(ids[0].sit);
    expect(A.queued[ids[0].q]).toBe(ids[0].bench);
    expect(A.last_ok[ids[0].x]).toBe(0);
    expect(a.columns(Position).x[ids[0].edge]).toBe(0);
    // The holder lets go mid-affordance (a failure), the waiter gets the bench and idles on it
    // (a Blocked intent does not start the pending affordance) while the far agent, once beside
    // it, counts blocked attempts until a ghost step.
    each((w, i) => {
      intend(w, i.h, IntentKind.Release, { object: i.bench });
      intend(w, i.q, IntentKind.Blocked, { object: i.bench });
      intend(w, i.far, IntentKind.Request, { object: i.bench, affordance: i.sit, blocked: 1 });
      intend(w, i.edge, IntentKind.Move, { x: 11, y: 11 });
      intend(w, i.x, IntentKind.Move, { x: 15, y: 11 });
    });
    stepBoth(a, b, 20);
    expect(a.columns(Position).x[ids[0].x]).toBe(11);
    expect(a.state<AffordancesResource>("affordances").st.counters.ghost_step_events).toBeGreaterThan(0);
    // Everyone leaves: the queue is left, the reservation released; the holder asks again at once
    // (a cooldown refusal only after a success), then starts; the edge walker goes Blocked.
    each((w, i) => {
      intend(w, i.q, IntentKind.Release, { object: i.bench });
      intend(w, i.far, IntentKind.Release);
      intend(w, i.h, IntentKind.Start, { object: i.bench, affordance: i.sit });
      intend(w, i.edge, IntentKind.Blocked, { object: i.bench });
    });
    stepBoth(a, b, 10);
    // The holder finished (a success): asking again inside the cooldown is refused.
    each((w, i) => intend(w, i.h, IntentKind.Request, { object: i.bench, affordance: i.sit }));
    stepBoth(a, b, 8);
    expect(a.state<AffordancesResource>("affordances").st.counters.cooldown_events).toBeGreaterThan(0);
  });

  it("walks Move intents toward their tile and requests toward their object through one walk, agent after agent in one pass", () => {
    const ws = [handTown(), generic(handTown())];
    const ids = ws.map((w) => {
      const bench = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [8, 2] });
      const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 30, effects: { energy: 0.1 } });
      // In id order: a mover, a requester walking to the bench (away from the tile (0, 0) its
      // Intent x/y name), a second mover, an idle agent.
      return { bench, sit, m1: handAgent(w, 0, 0, 0), r: handAgent(w, 0, 2, 8), m2: handAgent(w, 0, 11, 0), idle: handAgent(w, 0, 2, 2) };
    });
    const [a, b] = ws;
    ws.forEach((w, k) => {
      const i = ids[k];
      intend(w, i.m1, IntentKind.Move, { x: 3, y: 9 });
      intend(w, i.r, IntentKind.Start, { object: i.bench, affordance: i.sit });
      intend(w, i.m2, IntentKind.Move, { x: 9, y: 4 });
      intend(w, i.idle, IntentKind.Wait);
    });
    const at = (eid: number) => [a.columns(Position).x[eid], a.columns(Position).y[eid]];
    const i = ids[0];
    stepBoth(a, b, 1);
    // One step each along the longer axis: the requester toward the bench, not toward a tile.
    expect([at(i.m1), at(i.r), at(i.m2), at(i.idle)]).toEqual([[0, 1], [3, 8], [11, 1], [2, 2]]);
    stepBoth(a, b, 12);
    expect([at(i.m1), at(i.r), at(i.m2), at(i.idle)]).toEqual([[3, 9], [8, 3], [9, 4], [2, 2]]);
    expect(a.columns(Activity).running[i.r]).toBe(i.sit);
  });

  it("answers fresh requests as rt.request does: the first free object granted, the rest queued in entity order, a cooldown refused", () => {
    const ws = [handTown(), generic(handTown())];
    const ids = ws.map((w) => {
      const bench = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [5, 5] });
      const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 2, effects: { energy: 0.1 } });
      // Five agents beside or on the bench, all asking in the same tick.
      const group = [handAgent(w, 0, 5, 5), handAgent(w, 0, 4, 5), handAgent(w, 0, 6, 5), handAgent(w, 0, 5, 4), handAgent(w, 0, 5, 6)];
      return { bench, sit, group };
    });
    const [a, b] = ws;
    ws.forEach((w, k) => ids[k].group.forEach((e) => intend(w, e, IntentKind.Start, { object: ids[k].bench, affordance: ids[k].sit })));
    stepBoth(a, b, 1);
    const i = ids[0];
    const A = a.columns(Activity);
    const O = a.state<AffordancesResource>("affordances").rt.O;
    expect(O.holder[i.bench]).toBe(i.group[0]);
    expect(A.running[i.group[0]]).toBe(i.sit);
    // The queue in entity order, each joined this tick.
    const queue: number[] = [];
    for (let cur = O.queue_head[i.bench]; cur !== 0; cur = A.queue_next[cur]) queue.push(cur);
    expect(queue).toEqual(i.group.slice(1));
    expect(O.queue_len[i.bench]).toBe(4);
    const t = O.idle_since[i.bench]; // the tick the first was granted the bench
    expect(i.group.slice(1).map((e) => A.joined_tick[e])).toEqual([t, t, t, t]);
    // The first finishes (a success: its cooldown starts) and asks again at once: refused while
    // the others take turns.
    stepBoth(a, b, 3);
    expect(A.holding[i.group[0]]).toBe(0);
    stepBoth(a, b, 2);
    expect(a.state<AffordancesResource>("affordances").st.counters.cooldown_events).toBeGreaterThan(0);
    stepBoth(a, b, 20);
  });

  it("follows the columns when the entity store grows mid-run (the kernel is made again)", () => {
    const [a, b] = towns(1, 5);
    stepBoth(a, b, 40);
    const before = a.columns(Intent).kind;
    // Enough agents to outgrow every column: the store replaces them; a kernel still writing
    // into the old arrays would lose this tick's intents in one world only.
    for (const w of [a, b]) for (let k = 0; k < 200; k++) w.spawnAgent(0);
    expect(a.columns(Intent).kind).not.toBe(before);
    stepBoth(a, b, 60);
  });

  it("runs spans longer than its chunk (ACT_CHUNK agents per call of the loop function) as the generic loop, tick by tick", () => {
    const [a, b] = towns(1, 9);
    // Spawned agents take consecutive ids: one span of more than two chunks.
    for (const w of [a, b]) for (let k = 0; k < 2 * ACT_CHUNK + 50; k++) w.spawnAgent(0);
    const spans = a.spans;
    expect(Math.max(...Array.from({ length: spans.length / 2 }, (_, s) => spans[2 * s + 1] - spans[2 * s]))).toBeGreaterThan(2 * ACT_CHUNK);
    stepBoth(a, b, 40);
    expect(actPath(a)).toBe("kernel");
  });

  it("falls back to the generic loop where code generation from strings is not allowed, with the same hashes", () => {
    const out = withoutCodegen("systems/affordances/index.ts", "actPath", "actPath(w)");
    expect(out.path).toBe("generic");
    const w = withCodegen();
    expect(actPath(w)).toBe("kernel");
    expect(out.hash).toBe(w.stateHash());
  }, 60_000);
});
