// Affordances: walking one tile per tick and using an object from its tile or a 4-neighbour;
// requests, queues (FIFO with age priority), cooldowns, ghost steps of idle holders, reservation
// timeouts; starting, running, finishing and failing affordances (effects, prices, stock and
// utility rules of the built-in hooks); programmatic registration and hot reload of the manifest;
// agent removal. Agents are driven by hand: Option.external = 1 and Intent written per tick.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Activity, Intent, IntentKind, Option } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { Needs } from "../../components/needs.ts";
import { Wallet } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { AffordanceFail, AffordanceFinish, AffordanceReload, AffordanceStart, QueueConflict, QueueHandover } from "../../components/messages.ts";
import { Agent } from "../../engine/core-components.ts";
import type { SocialState } from "../../systems/social/index.ts";
import type { MessageDef, MessageFields } from "../../engine/message.ts";
import type { World } from "../../engine/world.ts";
import { affordanceRegistry, affordancesState, registerAffordance, registerObject } from "../../systems/affordances/index.ts";
import { ManifestError } from "../../systems/affordances/registry.ts";
import { setPriceMultiplier, setUtility } from "../../systems/economy/index.ts";
import { affordanceTown } from "../helpers/affordances.ts";

const CORE_YAML = fileURLToPath(new URL("../../configs/affordances/core.yaml", import.meta.url));

/** The core affordances without core.yaml's objects (every test places its own), no agents, jobs, need decay or deaths. */
const town = affordanceTown;

interface AgentInit {
  hunger?: number;
  hygiene?: number;
  energy?: number;
  money?: number;
}

/** A hand-driven agent at (x, y). */
function agent(w: World, x: number, y: number, init: AgentInit = {}): number {
  const eid = w.spawnAgent(0, {
    init: {
      Position: { x, y },
      Needs: { hunger: init.hunger ?? 0.5, hygiene: init.hygiene ?? 0.5, energy: init.energy ?? 0.5 },
      Wallet: { money: init.money ?? 5 },
    },
  });
  w.columns(Option).external[eid] = 1;
  return eid;
}

/** Writes an agent's intent for the coming ticks (intents persist until rewritten). */
function intend(w: World, eid: number, kind: number, object = 0, affordance = -1, extra: { x?: number; y?: number; blocked?: number } = {}): void {
  const I = w.columns(Intent);
  I.kind[eid] = kind;
  I.object[eid] = object;
  I.affordance[eid] = affordance;
  I.x[eid] = extra.x ?? 0;
  I.y[eid] = extra.y ?? 0;
  I.blocked[eid] = extra.blocked ?? 0;
}

type Row = Record<string, number | string>;

/** The messages of `def` of the tick that just ended, as rows (`str` fields as text). */
function rows<F extends MessageFields>(w: World, def: MessageDef<F>): Row[] {
  const v = w.lastTick(def);
  const out: Row[] = [];
  for (let i = v.start; i < v.end; i++) {
    const r: Row = {};
    for (const k of def.keys) {
      const value = (v as unknown as Record<string, Float64Array>)[k][i];
      r[k] = def.fields[k] === "str" ? w.text(value) : value;
    }
    out.push(r);
  }
  return out;
}

/** Steps `n` ticks, collecting the affordance and queue messages with their tick. */
function run(w: World, n: number, log: Row[] = []): Row[] {
  for (let i = 0; i < n; i++) {
    w.step();
    for (const [name, def] of [
      ["start", AffordanceStart],
      ["finish", AffordanceFinish],
      ["fail", AffordanceFail],
      ["conflict", QueueConflict],
    ] as const) {
      for (const r of rows(w, def as MessageDef)) log.push({ msg: name, tick: w.tick, ...r });
    }
  }
  return log;
}

/** A "bench" object type with a "sit" affordance (no hooks) of the given duration and effects. */
function bench(w: World, id: string, x: number, y: number, duration = 5, effects: Record<string, number> = { energy: 0.1 }): { obj: number; sit: number } {
  const obj = registerObject(w, 0, { id, object_type: "bench", position: [x, y] });
  const reg = affordanceRegistry(w);
  const sit = reg.affordanceIndex("sit") >= 0 ? reg.affordanceIndex("sit") : registerAffordance(w, { id: "sit", object_type: "bench", duration, effects });
  return { obj, sit };
}

/** A "kiosk": an object type without affordances, so its holder holds it idle. */
function kiosk(w: World, id: string, x: number, y: number): number {
  return registerObject(w, 0, { id, object_type: "kiosk", position: [x, y] });
}

/** Walks every object's queue list: each waiter once, links and counts consistent, never holding. */
function checkQueues(w: World): void {
  const O = w.columns(Obj);
  const A = w.columns(Activity);
  const seen = new Set<number>();
  for (const obj of affordancesState(w).objects) {
    let n = 0;
    for (let cur = O.queue_head[obj]; cur !== 0; cur = A.queue_next[cur]) {
      expect(seen.has(cur), `agent ${cur} waits in two queues`).toBe(false);
      seen.add(cur);
      expect(A.queued[cur]).toBe(obj);
      expect(A.holding[cur], `agent ${cur} holds and waits`).toBe(0);
      n++;
    }
    expect(n).toBe(O.queue_len[obj]);
    const h = O.holder[obj];
    if (h !== 0) expect(A.holding[h]).toBe(obj);
  }
  for (const a of w.agents) {
    if (A.queued[a] !== 0) expect(seen.has(a), `agent ${a} says it waits at ${A.queued[a]} but is not in its list`).toBe(true);
    if (A.holding[a] !== 0) expect(O.holder[A.holding[a]]).toBe(a);
  }
}

const reasons = (log: Row[]) => log.filter((r) => r.msg === "fail").map((r) => r.reason);

describe("walking and adjacency", () => {
  it("walks one 4-neighbour tile per tick toward the object, then takes it from beside it", () => {
    const w = town();
    const { obj } = bench(w, "bench_1", 6, 2);
    const a = agent(w, 2, 5);
    const P = w.columns(Position);
    const O = w.columns(Obj);
    intend(w, a, IntentKind.Request, obj);
    const dist: number[] = [];
    let [px, py] = [P.x[a], P.y[a]];
    for (let t = 0; t < 7; t++) {
      run(w, 1);
      expect(Math.abs(P.x[a] - px) + Math.abs(P.y[a] - py)).toBeLessThanOrEqual(1);
      [px, py] = [P.x[a], P.y[a]];
      dist.push(Math.abs(P.x[a] - 6) + Math.abs(P.y[a] - 2));
      if (t < 6) expect(O.holder[obj]).toBe(0);
    }
    expect(dist).toEqual([6, 5, 4, 3, 2, 1, 1]);
    expect(O.holder[obj]).toBe(a);
  });

  it("uses an object from its own tile or a 4-neighbour at once, but walks from a diagonal first", () => {
    const w = town();
    const on = kiosk(w, "k_on", 2, 2);
    const beside = kiosk(w, "k_beside", 6, 2);
    const diag = kiosk(w, "k_diag", 9, 9);
    const O = w.columns(Obj);
    const a = agent(w, 2, 2);
    const b = agent(w, 6, 3);
    const c = agent(w, 8, 8);
    intend(w, a, IntentKind.Request, on);
    intend(w, b, IntentKind.Request, beside);
    intend(w, c, IntentKind.Request, diag);
    run(w, 1);
    expect([O.holder[on], O.holder[beside], O.holder[diag]]).toEqual([a, b, 0]);
    run(w, 1);
    expect(O.holder[diag]).toBe(c);
  });

  it("moves one tile per tick to a Move target, stops there, and never leaves the grid", () => {
    const w = town();
    const a = agent(w, 0, 0);
    const P = w.columns(Position);
    intend(w, a, IntentKind.Move, 0, -1, { x: 3, y: 1 });
    run(w, 3);
    expect([P.x[a], P.y[a]]).toEqual([3, 0]);
    run(w, 1);
    expect([P.x[a], P.y[a]]).toEqual([3, 1]);
    run(w, 3);
    expect([P.x[a], P.y[a]]).toEqual([3, 1]);
    intend(w, a, IntentKind.Move, 0, -1, { x: -5, y: 1 });
    run(w, 6);
    expect([P.x[a], P.y[a]]).toEqual([0, 1]);
  });
});

describe("requests and queues", () => {
  it("grants a free object on request; the pending affordance starts on the holder's next turn", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5);
    const a = agent(w, 5, 4);
    const A = w.columns(Activity);
    const O = w.columns(Obj);
    intend(w, a, IntentKind.Request, obj);
    const log = run(w, 1);
    expect(O.holder[obj]).toBe(a);
    expect(A.holding[a]).toBe(obj);
    expect(A.pending[a]).toBe(sit);
    expect(A.last_ok[a]).toBe(1);
    expect(log.filter((r) => r.msg === "start")).toEqual([]);
    run(w, 1, log);
    expect(log.filter((r) => r.msg === "start")).toEqual([{ msg: "start", tick: 2, agent: a, object: obj, affordance: sit, duration: 5 }]);
    expect(A.running[a]).toBe(sit);
    expect(O.running[obj]).toBe(sit);
  });

  it("starts at once with a Start intent and runs `duration` ticks, the start tick included", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 4);
    const a = agent(w, 5, 5);
    intend(w, a, IntentKind.Start, obj, sit);
    const log = run(w, 6);
    const start = log.find((r) => r.msg === "start")!;
    const finish = log.find((r) => r.msg === "finish")!;
    expect(start.tick).toBe(1);
    expect(finish).toMatchObject({ agent: a, object: obj, affordance: sit });
    expect(Number(finish.tick) - Number(start.tick) + 1).toBe(4);
  });

  it("queues later arrivals in arrival order behind a running holder", () => {
    const w = town({ queue_fairness: { cooldown_ticks: 600 } });
    const { obj, sit } = bench(w, "bench_1", 5, 5, 6);
    const h = agent(w, 5, 5);
    const b = agent(w, 5, 4);
    const c = agent(w, 4, 5);
    const d = agent(w, 6, 5);
    const O = w.columns(Obj);
    const A = w.columns(Activity);
    intend(w, h, IntentKind.Start, obj, sit);
    const log = run(w, 1);
    for (const x of [b, c, d]) {
      intend(w, x, IntentKind.Request, obj);
      run(w, 1, log);
      checkQueues(w);
    }
    expect(O.queue_len[obj]).toBe(3);
    expect(O.queue_head[obj]).toBe(b);
    expect(A.queue_next[b]).toBe(c);
    expect(A.queue_next[c]).toBe(d);
    for (let t = 0; t < 30; t++) {
      run(w, 1, log);
      checkQueues(w);
    }
    expect(log.filter((r) => r.msg === "start").map((r) => r.agent)).toEqual([h, b, c, d]);
    expect(log.filter((r) => r.msg === "finish").map((r) => r.agent)).toEqual([h, b, c, d]);
  });

  it("grants the waiter with the lowest index - age_priority_weight * wait (an older waiter behind overtakes)", () => {
    const grantee = (weight: number) => {
      const w = town({ queue_fairness: { age_priority_weight: weight } });
      const { obj, sit } = bench(w, "bench_1", 5, 5, 5);
      const h = agent(w, 5, 5);
      const b = agent(w, 5, 4);
      const c = agent(w, 4, 5);
      intend(w, h, IntentKind.Start, obj, sit);
      intend(w, b, IntentKind.Request, obj);
      run(w, 1);
      intend(w, c, IntentKind.Request, obj);
      run(w, 1);
      const A = w.columns(Activity);
      expect([w.columns(Obj).queue_head[obj], A.queue_next[b]]).toEqual([b, c]);
      // C stands second but has waited 30 ticks longer than B (as a waiter moved ahead by a
      // handover keeps its join tick): with weight 0.1 its score 1 - 0.1*(wait+30) beats B's.
      A.joined_tick[c] = A.joined_tick[b] - 30;
      intend(w, h, IntentKind.Wait);
      run(w, 5);
      return [w.columns(Obj).holder[obj], b, c];
    };
    const [withAge, b1, c1] = grantee(0.1);
    expect(withAge).toBe(c1);
    expect(withAge).not.toBe(b1);
    const [fifo, b2] = grantee(0);
    expect(fifo).toBe(b2);
  });

  it("hands the object on finish to a waiter the holder likes, ahead of earlier waiters (queue_interaction)", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 20);
    const f = agent(w, 5, 5);
    const b = agent(w, 5, 4);
    const c = agent(w, 4, 5);
    intend(w, f, IntentKind.Start, obj, sit);
    intend(w, b, IntentKind.Request, obj);
    run(w, 1);
    intend(w, c, IntentKind.Request, obj);
    run(w, 1);
    const L = w.state<SocialState>("social").ledger;
    const uid = w.columns(Agent).uid;
    L.trust[L.slot(f, uid[c])] = 0.5;
    intend(w, f, IntentKind.Wait);
    const log = run(w, 18);
    expect(log.filter((r) => r.msg === "finish").map((r) => [r.agent, r.tick])).toEqual([[f, 20]]);
    expect(rows(w, QueueHandover)).toEqual([{ object: obj, actor: f, rival: c }]);
    expect(w.columns(Obj).holder[obj]).toBe(c);
    expect(w.columns(Activity).queued[b]).toBe(obj);
    expect(affordancesState(w).counters.handovers).toBe(1);
    checkQueues(w);
  });

  it("refuses a re-request within cooldown_ticks of a successful use and counts each refusal", () => {
    const w = town({ queue_fairness: { cooldown_ticks: 10 } });
    const { obj, sit } = bench(w, "bench_1", 5, 5, 2);
    const a = agent(w, 5, 5);
    const A = w.columns(Activity);
    intend(w, a, IntentKind.Start, obj, sit);
    const log = run(w, 2);
    const finishTick = Number(log.find((r) => r.msg === "finish")!.tick);
    expect(finishTick).toBe(2);
    expect(A.cooldown_obj[a]).toBe(obj);
    expect(A.cooldown_until[a]).toBe(finishTick + 10);
    run(w, 9, log);
    expect(affordancesState(w).counters.cooldown_events).toBe(9);
    expect(w.kpis().queue_cooldown_refusals).toBe(9);
    expect(A.last_ok[a]).toBe(0);
    expect(w.columns(Obj).holder[obj]).toBe(0);
    run(w, 1, log);
    expect(w.columns(Obj).holder[obj]).toBe(a);
    expect(log.filter((r) => r.msg === "start").map((r) => r.tick)).toEqual([1, finishTick + 10]);
    expect(affordancesState(w).counters.cooldown_events).toBe(9);
  });

  it("keeps an agent in at most one queue: asking elsewhere leaves the old queue (and lets go of a held object)", () => {
    const w = town();
    const one = bench(w, "bench_1", 2, 2, 50);
    const two = registerObject(w, 0, { id: "bench_2", object_type: "bench", position: [9, 9] });
    const k = kiosk(w, "kiosk_1", 2, 4);
    const h1 = agent(w, 2, 2);
    const h2 = agent(w, 9, 9);
    const a = agent(w, 2, 3);
    const O = w.columns(Obj);
    const A = w.columns(Activity);
    intend(w, h1, IntentKind.Start, one.obj, one.sit);
    intend(w, h2, IntentKind.Start, two, one.sit);
    intend(w, a, IntentKind.Request, one.obj);
    run(w, 1);
    expect(A.queued[a]).toBe(one.obj);
    // A asks for the far bench: it leaves the first queue at once, walks, then queues there.
    intend(w, a, IntentKind.Request, two);
    for (let t = 0; t < 14; t++) {
      run(w, 1);
      checkQueues(w);
      expect(O.queue_len[one.obj]).toBe(0);
    }
    expect(A.queued[a]).toBe(two);
    expect(O.queue_head[two]).toBe(a);
    // Holding the kiosk and then asking for bench_1 lets go of the kiosk.
    const b = agent(w, 2, 4);
    intend(w, b, IntentKind.Request, k);
    run(w, 1);
    expect(O.holder[k]).toBe(b);
    intend(w, b, IntentKind.Request, one.obj);
    run(w, 1);
    checkQueues(w);
    expect(O.holder[k]).toBe(0);
    expect(A.holding[b]).toBe(0);
    run(w, 1);
    checkQueues(w);
    expect(A.queued[b]).toBe(one.obj);
  });

  it("leaves a queue on Release", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 50);
    const h = agent(w, 5, 5);
    const a = agent(w, 5, 4);
    const b = agent(w, 4, 5);
    intend(w, h, IntentKind.Start, obj, sit);
    intend(w, a, IntentKind.Request, obj);
    intend(w, b, IntentKind.Request, obj);
    run(w, 1);
    intend(w, a, IntentKind.Release, obj);
    run(w, 1);
    checkQueues(w);
    const O = w.columns(Obj);
    expect([O.queue_head[obj], O.queue_len[obj]]).toEqual([b, 1]);
    expect(w.columns(Activity).queued[a]).toBe(0);
  });
});

describe("ghost steps and reservation timeouts", () => {
  /** An idle holder H at a kiosk and `waiters` agents who queue one tick later. */
  function idleHolder(extra: Record<string, unknown>, waiters: number) {
    const w = town(extra);
    const k = kiosk(w, "kiosk_1", 5, 5);
    const h = agent(w, 5, 5);
    const spots: [number, number][] = [
      [5, 4],
      [4, 5],
      [6, 5],
      [5, 6],
    ];
    const ws = spots.slice(0, waiters).map(([x, y]) => agent(w, x, y));
    intend(w, h, IntentKind.Request, k);
    const log = run(w, 1);
    for (const x of ws) intend(w, x, IntentKind.Request, k);
    return { w, k, h, ws, log };
  }

  it("rotates an idle holder to the back after ghost_step_after stalled ticks and sends queue_conflict", () => {
    const { w, k, h, ws, log } = idleHolder({ queue_fairness: { ghost_step_after: 3 } }, 1);
    const [b] = ws;
    const O = w.columns(Obj);
    const A = w.columns(Activity);
    run(w, 2, log);
    expect(O.holder[k]).toBe(h);
    expect(O.stall[k]).toBe(2);
    expect(log.filter((r) => r.msg === "conflict")).toEqual([]);
    run(w, 1, log);
    checkQueues(w);
    expect(O.holder[k]).toBe(b);
    expect(A.holding[h]).toBe(0);
    expect(A.queued[h]).toBe(k);
    expect(O.queue_head[k]).toBe(h);
    const conflicts = log.filter((r) => r.msg === "conflict");
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ tick: 4, object: k, actor: h, rival: b, reason: "ghost_step", queue_length: 1 });
    expect(conflicts[0].intensity).toBeCloseTo(1.5, 6);
    const c = affordancesState(w).counters;
    expect([c.ghost_step_events, c.rotation_events, c.queue_conflicts]).toEqual([1, 1, 1]);
  });

  it("sets the intensity to ghost_step_boost + queue_length_boost * (queue length - 1), clamped to [0.1, 5]", () => {
    const intensity = (boost: number, perWaiter: number, waiters: number) => {
      const { w, log } = idleHolder(
        { queue_fairness: { ghost_step_after: 2 }, conflict: { rivalry: { ghost_step_boost: boost, queue_length_boost: perWaiter } } },
        waiters,
      );
      run(w, 2, log);
      const c = log.filter((r) => r.msg === "conflict");
      expect(c).toHaveLength(1);
      expect(c[0].queue_length).toBe(waiters);
      return Number(c[0].intensity);
    };
    expect(intensity(1.5, 0.25, 3)).toBeCloseTo(2.0, 6);
    expect(intensity(1.0, 0.5, 4)).toBeCloseTo(2.5, 6);
    expect(intensity(4, 2, 3)).toBeCloseTo(5, 6);
    expect(intensity(0, 0, 2)).toBeCloseTo(0.1, 6);
  });

  it("never ghost-steps when ghost_step_after is 0", () => {
    const { w, k, h } = idleHolder({ queue_fairness: { ghost_step_after: 0 } }, 2);
    run(w, 40);
    expect(w.columns(Obj).holder[k]).toBe(h);
    expect(affordancesState(w).counters.ghost_step_events).toBe(0);
  });

  it("never ghost-steps a holder whose affordance is running, even when waiters report being blocked", () => {
    const w = town({ queue_fairness: { ghost_step_after: 1 } });
    const { obj, sit } = bench(w, "bench_1", 5, 5, 20);
    const h = agent(w, 5, 5);
    const b = agent(w, 5, 4);
    intend(w, h, IntentKind.Start, obj, sit);
    intend(w, b, IntentKind.Request, obj, -1, { blocked: 1 });
    const log = run(w, 15);
    intend(w, b, IntentKind.Blocked, obj);
    run(w, 4, log);
    const O = w.columns(Obj);
    expect(O.holder[obj]).toBe(h);
    expect(O.running[obj]).toBe(sit);
    expect(log.filter((r) => r.msg === "conflict")).toEqual([]);
    expect(affordancesState(w).counters.ghost_step_events).toBe(0);
    run(w, 3, log);
    expect(log.filter((r) => r.msg === "finish").map((r) => r.agent)).toEqual([h]);
    expect(O.holder[obj]).toBe(b);
  });

  it("counts waiters' blocked attempts against an idle holder toward the ghost step", () => {
    const { w, k, h, ws } = idleHolder({ queue_fairness: { ghost_step_after: 4 } }, 1);
    const [b] = ws;
    // Tick 2: B queues (and reports blocked), tick 3: blocked again; each tick the queue pass adds one.
    intend(w, b, IntentKind.Request, k, -1, { blocked: 1 });
    run(w, 1);
    intend(w, b, IntentKind.Blocked, k);
    run(w, 1);
    const O = w.columns(Obj);
    expect(O.holder[k]).toBe(b);
    expect(w.columns(Activity).queued[h]).toBe(k);
  });

  it("lets an idle reservation nobody waits for lapse after reservation_timeout_ticks", () => {
    const w = town({ queue_fairness: { reservation_timeout_ticks: 5 } });
    const k = kiosk(w, "kiosk_1", 5, 5);
    const h = agent(w, 5, 5);
    const O = w.columns(Obj);
    intend(w, h, IntentKind.Request, k);
    run(w, 1);
    intend(w, h, IntentKind.Wait);
    run(w, 4);
    expect(O.holder[k]).toBe(h);
    expect(affordancesState(w).counters.reservation_timeouts).toBe(0);
    run(w, 1);
    expect(O.holder[k]).toBe(0);
    expect(w.columns(Activity).holding[h]).toBe(0);
    expect(affordancesState(w).counters.reservation_timeouts).toBe(1);
    expect(w.kpis().reservation_timeouts).toBe(1);
  });

  it("does not time out a reservation in use", () => {
    const w = town({ queue_fairness: { reservation_timeout_ticks: 3 } });
    const { obj, sit } = bench(w, "bench_1", 5, 5, 10);
    const h = agent(w, 5, 5);
    intend(w, h, IntentKind.Start, obj, sit);
    const log = run(w, 10);
    expect(log.filter((r) => r.msg === "finish")).toHaveLength(1);
    expect(affordancesState(w).counters.reservation_timeouts).toBe(0);
  });
});

describe("running affordances", () => {
  it("abandons a running affordance on Release: affordance_fail 'released', no effects, object freed", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 10, { energy: 0.4, money: -1 });
    const a = agent(w, 5, 5, { energy: 0.2, money: 3 });
    intend(w, a, IntentKind.Start, obj, sit);
    const log = run(w, 3);
    intend(w, a, IntentKind.Release, obj);
    run(w, 1, log);
    expect(log.filter((r) => r.msg === "fail")).toEqual([{ msg: "fail", tick: 4, agent: a, object: obj, affordance: sit, reason: "released" }]);
    expect(w.columns(Needs).energy[a]).toBeCloseTo(0.2, 6);
    expect(w.columns(Wallet).money[a]).toBeCloseTo(3, 6);
    expect(w.columns(Obj).holder[obj]).toBe(0);
    expect(w.columns(Activity).running[a]).toBe(-1);
    expect(log.filter((r) => r.msg === "finish")).toEqual([]);
  });

  it("sends one start and one finish per agent, in entity order, when a tick's messages outgrow the channel's first room", () => {
    // 20 of each in one tick: past a channel's first 16 rows, so the runtime's pushes grow it mid-tick.
    const w = town();
    const pairs: { obj: number; sit: number }[] = [];
    for (let i = 0; i < 20; i++) pairs.push(bench(w, `bench_${i}`, 1 + (i % 10), 1 + 2 * Math.floor(i / 10), 3));
    const agents = pairs.map((p, i) => {
      const a = agent(w, 1 + (i % 10), 1 + 2 * Math.floor(i / 10));
      intend(w, a, IntentKind.Start, p.obj, p.sit);
      return a;
    });
    const log = run(w, 3);
    const expected = pairs.map((p, i) => ({ agent: agents[i], object: p.obj, affordance: p.sit }));
    const pick = (msg: string) => log.filter((r) => r.msg === msg).map(({ agent, object, affordance }) => ({ agent, object, affordance }));
    expect(pick("start")).toEqual(expected);
    expect(log.filter((r) => r.msg === "start").every((r) => r.tick === 1 && r.duration === 3)).toBe(true);
    expect(pick("finish")).toEqual(expected);
    expect(log.filter((r) => r.msg === "finish").every((r) => r.tick === 3)).toBe(true);
  });

  it("ignores every intent but Release of its object while busy", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 10);
    const k = kiosk(w, "kiosk_1", 5, 7);
    const a = agent(w, 5, 5);
    const P = w.columns(Position);
    intend(w, a, IntentKind.Start, obj, sit);
    run(w, 1);
    intend(w, a, IntentKind.Move, 0, -1, { x: 0, y: 0 });
    run(w, 2);
    intend(w, a, IntentKind.Request, k);
    run(w, 2);
    intend(w, a, IntentKind.Release, k);
    run(w, 1);
    expect([P.x[a], P.y[a]]).toEqual([5, 5]);
    expect(w.columns(Obj).holder[k]).toBe(0);
    expect(w.columns(Activity).running[a]).toBe(sit);
    expect(w.columns(Activity).last_ok[a]).toBe(0);
  });

  it("applies effects on finish, each need clamped to [0, 1]", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 3, { hunger: 0.3, hygiene: -0.5, energy: 0.9 });
    const a = agent(w, 5, 5, { hunger: 0.9, hygiene: 0.2, energy: 0.5 });
    const N = w.columns(Needs);
    intend(w, a, IntentKind.Start, obj, sit);
    run(w, 2);
    expect([N.hunger[a], N.hygiene[a], N.energy[a]].map((v) => +v.toFixed(6))).toEqual([0.9, 0.2, 0.5]);
    run(w, 1);
    expect([N.hunger[a], N.hygiene[a], N.energy[a]]).toEqual([1, 0, 1]);
    expect(affordancesState(w).completed[sit]).toBe(1);
    expect((w.kpis().affordances_completed as Record<string, number>).sit).toBe(1);
  });

  it("scales a money cost by the town's price multiplier and refuses an agent who cannot pay it", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 2, { money: -0.5 });
    setPriceMultiplier(w, 0, 2);
    const rich = agent(w, 5, 5, { money: 3 });
    const W = w.columns(Wallet);
    intend(w, rich, IntentKind.Start, obj, sit);
    const log = run(w, 2);
    expect(log.filter((r) => r.msg === "finish")).toHaveLength(1);
    expect(W.money[rich]).toBeCloseTo(2, 5);
    intend(w, rich, IntentKind.Wait);
    const poor = agent(w, 5, 4, { money: 0.9 });
    intend(w, poor, IntentKind.Start, obj, sit);
    run(w, 1, log);
    expect(reasons(log)).toEqual(["insufficient_funds"]);
    expect(W.money[poor]).toBeCloseTo(0.9, 6);
  });

  it("charges a meal once, at the start (economy.meal_cost x price multiplier), and takes one from the fridge", () => {
    const w = town();
    const fridge = registerObject(w, 0, { id: "fridge_9", object_type: "fridge", position: [5, 5] });
    const eat = affordanceRegistry(w).affordanceIndex("eat_meal");
    setPriceMultiplier(w, 0, 1.5);
    const a = agent(w, 5, 5, { money: 3, hunger: 0.2 });
    const W = w.columns(Wallet);
    const O = w.columns(Obj);
    intend(w, a, IntentKind.Start, fridge, eat);
    const log = run(w, 1);
    expect(O.meals[fridge]).toBe(4);
    expect(W.money[a]).toBeCloseTo(3 - 0.4 * 1.5, 5);
    run(w, 15, log);
    expect(log.filter((r) => r.msg === "finish")).toHaveLength(1);
    expect(W.money[a]).toBeCloseTo(3 - 0.4 * 1.5, 5);
    expect(w.columns(Needs).hunger[a]).toBeCloseTo(0.6, 5);
  });

  it("fails eat_meal at an empty fridge: the meal_available precondition first, insufficient_stock from the hook", () => {
    const w = town();
    const fridge = registerObject(w, 0, { id: "fridge_9", object_type: "fridge", position: [5, 5], stock: { meals: 0 } });
    const eat = affordanceRegistry(w).affordanceIndex("eat_meal");
    const a = agent(w, 5, 5, { money: 3 });
    intend(w, a, IntentKind.Start, fridge, eat);
    const log = run(w, 1);
    expect(reasons(log)).toEqual(["precondition_failed"]);
    // Without the precondition, the before hook refuses it.
    registerAffordance(w, {
      id: "eat_meal",
      object_type: "fridge",
      duration: 15,
      effects: { hunger: 0.4, energy: 0.05, money: -0.4 },
      hooks: { before: ["on_attempt_eat"], after: ["on_finish_eat"] },
    });
    expect(affordanceRegistry(w).affordanceIndex("eat_meal")).toBe(eat);
    run(w, 1, log);
    expect(reasons(log)).toEqual(["precondition_failed", "insufficient_stock"]);
    expect(w.columns(Wallet).money[a]).toBeCloseTo(3, 6);
    expect(w.columns(Obj).holder[fridge]).toBe(0);
  });

  it("fails eat_meal with insufficient_funds when the wallet is below the meal's price", () => {
    const w = town();
    const fridge = registerObject(w, 0, { id: "fridge_9", object_type: "fridge", position: [5, 5] });
    const eat = affordanceRegistry(w).affordanceIndex("eat_meal");
    const a = agent(w, 5, 5, { money: 0.1 });
    intend(w, a, IntentKind.Start, fridge, eat);
    const log = run(w, 1);
    expect(reasons(log)).toEqual(["insufficient_funds"]);
    expect(w.columns(Obj).meals[fridge]).toBe(5);
    expect(w.columns(Wallet).money[a]).toBeCloseTo(0.1, 6);
  });

  it("fails a shower whose power is off on its precondition (the town's power or the object's own flag)", () => {
    const w = town();
    const shower = registerObject(w, 0, { id: "shower_9", object_type: "shower", position: [5, 5] });
    const use = affordanceRegistry(w).affordanceIndex("use_shower");
    const a = agent(w, 5, 5, { hygiene: 0.1, money: 2 });
    const O = w.columns(Obj);
    setUtility(w, 0, "power", false);
    intend(w, a, IntentKind.Start, shower, use);
    const log = run(w, 1);
    expect(log.filter((r) => r.msg === "fail")).toEqual([{ msg: "fail", tick: 1, agent: a, object: shower, affordance: use, reason: "precondition_failed" }]);
    expect(O.holder[shower]).toBe(0);
    expect(w.columns(Needs).hygiene[a]).toBeCloseTo(0.1, 6);
    expect(w.columns(Wallet).money[a]).toBeCloseTo(2, 6);
    setUtility(w, 0, "power", true);
    O.power_on[shower] = 0;
    run(w, 1, log);
    expect(reasons(log)).toEqual(["precondition_failed", "precondition_failed"]);
    O.power_on[shower] = 1;
    run(w, 1, log);
    expect(log.filter((r) => r.msg === "start")).toHaveLength(1);
  });

  it("releases the object on a precondition failure: the next waiter gets it and starts", () => {
    const w = town();
    const { obj } = bench(w, "bench_1", 5, 5);
    const wash = registerAffordance(w, { id: "wash", object_type: "bench", duration: 3, effects: { hygiene: 0.3 }, preconds: ["needs.hygiene < 0.5"] });
    const clean = agent(w, 5, 5, { hygiene: 0.9 });
    const dirty = agent(w, 5, 4, { hygiene: 0.1 });
    const O = w.columns(Obj);
    const A = w.columns(Activity);
    intend(w, clean, IntentKind.Request, obj, wash);
    intend(w, dirty, IntentKind.Request, obj, wash);
    const log = run(w, 1);
    expect([O.holder[obj], A.queued[dirty]]).toEqual([clean, obj]);
    intend(w, clean, IntentKind.Wait);
    run(w, 1, log);
    expect(log.filter((r) => r.msg === "fail")).toEqual([{ msg: "fail", tick: 2, agent: clean, object: obj, affordance: wash, reason: "precondition_failed" }]);
    expect([A.holding[clean], A.pending[clean]]).toEqual([0, -1]);
    expect(O.holder[obj]).toBe(dirty);
    checkQueues(w);
    run(w, 3, log);
    expect(log.filter((r) => r.msg === "finish").map((r) => r.agent)).toEqual([dirty]);
    expect(w.columns(Needs).hygiene[dirty]).toBeCloseTo(0.4, 5);
  });

  it("interrupts a running shower when the water goes off: affordance_fail 'outage', no effects", () => {
    const w = town();
    const shower = registerObject(w, 0, { id: "shower_9", object_type: "shower", position: [5, 5] });
    const use = affordanceRegistry(w).affordanceIndex("use_shower");
    const a = agent(w, 5, 5, { hygiene: 0.1, money: 2 });
    intend(w, a, IntentKind.Start, shower, use);
    const log = run(w, 5);
    expect(w.columns(Activity).running[a]).toBe(use);
    intend(w, a, IntentKind.Wait);
    setUtility(w, 0, "water", false);
    run(w, 1, log);
    expect(log.filter((r) => r.msg === "fail")).toEqual([{ msg: "fail", tick: 6, agent: a, object: shower, affordance: use, reason: "outage" }]);
    expect(w.columns(Needs).hygiene[a]).toBeCloseTo(0.1, 6);
    expect(w.columns(Wallet).money[a]).toBeCloseTo(2, 6);
    expect(w.columns(Obj).holder[shower]).toBe(0);
  });

  it("does not interrupt an affordance without power/water preconditions during an outage", () => {
    const w = town();
    const bed = registerObject(w, 0, { id: "bed_9", object_type: "bed", position: [5, 5] });
    const sleep = affordanceRegistry(w).affordanceIndex("rest_sleep");
    const a = agent(w, 5, 5, { energy: 0.1 });
    intend(w, a, IntentKind.Start, bed, sleep);
    setUtility(w, 0, "power", false);
    setUtility(w, 0, "water", false);
    const log = run(w, 60);
    expect(reasons(log)).toEqual([]);
    expect(log.filter((r) => r.msg === "finish")).toHaveLength(1);
    expect(w.columns(Needs).energy[a]).toBeCloseTo(0.9, 5);
  });

  it("takes a bed slot when sleep starts, refunds it when the sleep fails, returns it on finish", () => {
    const w = town();
    const bed = registerObject(w, 0, { id: "bed_9", object_type: "bed", position: [5, 5] });
    const sleep = affordanceRegistry(w).affordanceIndex("rest_sleep");
    const a = agent(w, 5, 5, { energy: 0.1 });
    const O = w.columns(Obj);
    expect(O.sleep_slots[bed]).toBe(1);
    intend(w, a, IntentKind.Start, bed, sleep);
    const log = run(w, 1);
    expect(O.sleep_slots[bed]).toBe(0);
    intend(w, a, IntentKind.Release, bed);
    run(w, 1, log);
    expect(reasons(log)).toEqual(["released"]);
    expect(O.sleep_slots[bed]).toBe(1);
    intend(w, a, IntentKind.Start, bed, sleep);
    run(w, 60, log);
    expect(log.filter((r) => r.msg === "finish")).toHaveLength(1);
    expect(O.sleep_slots[bed]).toBe(1);
  });

  it("refuses sleep at a bed without a free slot (bed_unavailable)", () => {
    const w = town();
    const bed = registerObject(w, 0, { id: "bed_9", object_type: "bed", position: [5, 5], stock: { sleep_slots: 0 } });
    const a = agent(w, 5, 5, { energy: 0.1 });
    intend(w, a, IntentKind.Start, bed, affordanceRegistry(w).affordanceIndex("rest_sleep"));
    const log = run(w, 1);
    expect(reasons(log)).toEqual(["bed_unavailable"]);
    expect(w.columns(Obj).sleep_slots[bed]).toBe(0);
  });

  it("cooks: takes an ingredient, charges ingredients_cost once, adds meals_per_cook meals to the nearest fridge", () => {
    const w = town({ economy: { meals_per_cook: 4 } });
    const stove = registerObject(w, 0, { id: "stove_9", object_type: "stove", position: [5, 5] });
    const near = registerObject(w, 0, { id: "fridge_near", object_type: "fridge", position: [8, 5], stock: { meals: 0 } });
    const far = registerObject(w, 0, { id: "fridge_far", object_type: "fridge", position: [11, 11], stock: { meals: 0 } });
    const cook = affordanceRegistry(w).affordanceIndex("cook_meal");
    const a = agent(w, 5, 4, { money: 1, hunger: 0.3, energy: 0.5 });
    const O = w.columns(Obj);
    const W = w.columns(Wallet);
    intend(w, a, IntentKind.Start, stove, cook);
    const log = run(w, 1);
    expect(O.raw_ingredients[stove]).toBe(2);
    expect(W.money[a]).toBeCloseTo(0.85, 5);
    run(w, 39, log);
    expect(log.filter((r) => r.msg === "finish")).toHaveLength(1);
    expect([O.meals[near], O.meals[far]]).toEqual([4, 0]);
    expect(W.money[a]).toBeCloseTo(0.85, 5);
    expect(w.columns(Needs).hunger[a]).toBeCloseTo(0.4, 5);
    expect(w.columns(Needs).energy[a]).toBeCloseTo(0.45, 5);
  });

  it("adds one meal per cook when economy.meals_per_cook is not set", () => {
    const w = town();
    const stove = registerObject(w, 0, { id: "stove_9", object_type: "stove", position: [5, 5] });
    const fridge = registerObject(w, 0, { id: "fridge_9", object_type: "fridge", position: [6, 5], stock: { meals: 0 } });
    const a = agent(w, 5, 4, { money: 1 });
    intend(w, a, IntentKind.Start, stove, affordanceRegistry(w).affordanceIndex("cook_meal"));
    run(w, 40);
    expect(w.columns(Obj).meals[fridge]).toBe(1);
  });

  it("fails a cook at a stove without ingredients (no_ingredients), charging nothing", () => {
    const w = town();
    const stove = registerObject(w, 0, { id: "stove_9", object_type: "stove", position: [5, 5], stock: { raw_ingredients: 0 } });
    const a = agent(w, 5, 4, { money: 1 });
    intend(w, a, IntentKind.Start, stove, affordanceRegistry(w).affordanceIndex("cook_meal"));
    const log = run(w, 1);
    expect(reasons(log)).toEqual(["no_ingredients"]);
    expect(w.columns(Wallet).money[a]).toBeCloseTo(1, 6);
  });
});

describe("the registry", () => {
  it("registers an affordance programmatically, with compiled preconditions; re-registering keeps its index", () => {
    const w = town();
    const reg = affordanceRegistry(w);
    const bed = reg.typeIndex("bed");
    const n = reg.affordances.length;
    const nap = registerAffordance(w, { id: "nap", object_type: "bed", duration: 3, effects: { energy: 0.2 }, preconds: ["needs.energy < 0.5"] });
    expect(nap).toBe(n);
    expect(reg.affordanceIndex("nap")).toBe(nap);
    expect(reg.ofType(bed)).toEqual([reg.affordanceIndex("rest_sleep"), nap]);
    const obj = registerObject(w, 0, { id: "bed_9", object_type: "bed", position: [5, 5] });
    const tired = agent(w, 5, 5, { energy: 0.3 });
    const rested = agent(w, 5, 4, { energy: 0.8 });
    intend(w, tired, IntentKind.Start, obj, nap);
    const log = run(w, 3);
    expect(log.filter((r) => r.msg === "finish").map((r) => r.agent)).toEqual([tired]);
    expect(w.columns(Needs).energy[tired]).toBeCloseTo(0.5, 5);
    intend(w, tired, IntentKind.Wait);
    intend(w, rested, IntentKind.Start, obj, nap);
    run(w, 1, log);
    expect(reasons(log)).toEqual(["precondition_failed"]);
    // Same id again: replaced in place.
    expect(registerAffordance(w, { id: "nap", object_type: "bed", duration: 7 })).toBe(nap);
    expect(reg.affordances[nap].duration).toBe(7);
    expect(reg.ofType(bed)).toEqual([reg.affordanceIndex("rest_sleep"), nap]);
    expect(() => registerAffordance(w, { id: "bad", object_type: "bed", duration: 1, preconds: ["len(x) > 0"] })).toThrow(ManifestError);
  });

  describe("hot reload", () => {
    function reloadable() {
      const dir = mkdtempSync(join(tmpdir(), "townlet-aff-"));
      const file = join(dir, "core.yaml");
      copyFileSync(CORE_YAML, file);
      const w = town({ affordances: { affordances_file: file } });
      return { w, file, st: affordancesState(w) };
    }
    const reloads = (w: World) => rows(w, AffordanceReload);

    it("validates a changed manifest and swaps it in at the next tick with an ok=1 message", () => {
      const { w, file, st } = reloadable();
      const before = st.registry;
      const shower = before.affordanceIndex("use_shower");
      expect(before.affordances[shower].duration).toBe(30);
      expect(st.checkForChanges()).toBe(false);
      const text = readFileSync(file, "utf8").replace("duration: 30", "duration: 12");
      writeFileSync(file, `${text}\n- id: quick_rinse\n  object_type: shower\n  duration: 5\n  effects: {hygiene: 0.1}\n`);
      expect(st.checkForChanges()).toBe(true);
      expect(st.registry).toBe(before);
      expect(st.checkForChanges()).toBe(false);
      w.step();
      expect(st.registry).not.toBe(before);
      expect(st.registry.affordanceIndex("use_shower")).toBe(shower);
      expect(st.registry.affordances[shower].duration).toBe(12);
      expect(st.registry.affordanceIndex("quick_rinse")).toBeGreaterThanOrEqual(before.affordances.length);
      expect(st.registry.checksum).not.toBe(before.checksum);
      const msgs = reloads(w);
      expect(msgs).toHaveLength(1);
      expect(msgs[0].ok).toBe(1);
      expect(String(msgs[0].message)).toContain(file);
      w.step();
      expect(reloads(w)).toEqual([]);
    });

    it("keeps the old registry when the changed file is invalid and sends ok=0 naming the problem", () => {
      const { w, file, st } = reloadable();
      const before = st.registry;
      writeFileSync(file, readFileSync(file, "utf8").replace("duration: 30", "duration: 0"));
      expect(st.checkForChanges()).toBe(true);
      w.step();
      expect(st.registry).toBe(before);
      let msgs = reloads(w);
      expect(msgs).toHaveLength(1);
      expect(msgs[0].ok).toBe(0);
      expect(String(msgs[0].message)).toContain("duration");
      expect(String(msgs[0].message)).toContain(file);
      // A precondition that does not compile is refused as well.
      writeFileSync(file, readFileSync(CORE_YAML, "utf8").replace('"occupied == false"', '"occupied =="'));
      expect(st.checkForChanges()).toBe(true);
      w.step();
      expect(st.registry).toBe(before);
      msgs = reloads(w);
      expect(msgs.map((m) => m.ok)).toEqual([0]);
      expect(String(msgs[0].message)).toMatch(/preconds\[0\]/);
      // So is an effect on a need this world does not have (config needs:).
      writeFileSync(file, `${readFileSync(CORE_YAML, "utf8")}\n- id: sip\n  object_type: shower\n  duration: 2\n  effects: {thirst: 0.2}\n`);
      expect(st.checkForChanges()).toBe(true);
      w.step();
      expect(st.registry).toBe(before);
      msgs = reloads(w);
      expect(msgs.map((m) => m.ok)).toEqual([0]);
      expect(String(msgs[0].message)).toMatch(/affordance "sip": effect "thirst" is not a need of this world/);
      // The world keeps running on the old registry.
      const obj = registerObject(w, 0, { id: "shower_9", object_type: "shower", position: [5, 5] });
      const a = agent(w, 5, 5);
      intend(w, a, IntentKind.Start, obj, before.affordanceIndex("use_shower"));
      const log = run(w, 30);
      expect(log.filter((r) => r.msg === "finish")).toHaveLength(1);
    });
  });
});

describe("agent removal", () => {
  it("fails the running affordance (agent_exit), releases the object to the next waiter and leaves queues", () => {
    const w = town();
    const { obj, sit } = bench(w, "bench_1", 5, 5, 30);
    const bed = registerObject(w, 0, { id: "bed_9", object_type: "bed", position: [8, 8] });
    const sleep = affordanceRegistry(w).affordanceIndex("rest_sleep");
    const h = agent(w, 5, 5);
    const b = agent(w, 5, 4);
    const c = agent(w, 4, 5);
    const d = agent(w, 6, 5);
    const s = agent(w, 8, 8);
    intend(w, h, IntentKind.Start, obj, sit);
    for (const x of [b, c, d]) intend(w, x, IntentKind.Request, obj);
    intend(w, s, IntentKind.Start, bed, sleep);
    run(w, 3);
    const O = w.columns(Obj);
    expect(O.queue_len[obj]).toBe(3);
    w.removeEntity(h);
    expect(rows(w, AffordanceFail).filter((r) => r.reason === "agent_exit")).toEqual([{ agent: h, object: obj, affordance: sit, reason: "agent_exit" }]);
    expect(O.holder[obj]).toBe(b);
    checkQueues(w);
    w.removeEntity(c);
    checkQueues(w);
    expect([O.queue_head[obj], O.queue_len[obj]]).toEqual([d, 1]);
    // A sleeper leaving gives its bed slot back.
    expect(O.sleep_slots[bed]).toBe(0);
    w.removeEntity(s);
    expect(O.sleep_slots[bed]).toBe(1);
    expect(O.holder[bed]).toBe(0);
    run(w, 40);
    checkQueues(w);
  });
});
