// Social: rivalry from queue conflicts (both sides, increment x intensity, clamped), decay and
// eviction, the per-agent edge cap, trust and familiarity from chats and handovers (only when the
// relationships stage is on), the telemetry snapshot and the persistent state.
import { describe, expect, it } from "vitest";
import { Intent, IntentKind, Option } from "../../components/activity.ts";
import { ChatFailure, ChatSuccess, QueueConflict } from "../../components/messages.ts";
import { SocialLedger } from "../../components/social.ts";
import { Agent } from "../../engine/core-components.ts";
import { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { affordancesState, registerObject } from "../../systems/affordances/index.ts";
import { rivalrySnapshot, type SocialState } from "../../systems/social/index.ts";
import { makeWorld } from "../helpers/world.ts";

interface Rivalry {
  increment_per_conflict?: number;
  decay_per_tick?: number;
  min_value?: number;
  max_value?: number;
  avoid_threshold?: number;
  eviction_threshold?: number;
  max_edges?: number;
}

/** A town of `n` hand-driven agents in a row from (2, 2); no jobs, no need decay, rivalry tuned. */
function town(n: number, rivalry: Rivalry = {}, relationships = "OFF", extra: Record<string, unknown> = {}): { w: World; agents: number[] } {
  const w = makeWorld({
    world: { agents_per_town: 0, grid_size: [12, 12] },
    jobs: {},
    features: { stages: { relationships } },
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    conflict: { rivalry: { decay_per_tick: 0, ...rivalry } },
    ...extra,
  });
  const agents: number[] = [];
  for (let i = 0; i < n; i++) {
    const eid = w.spawnAgent(0, { init: { Position: { x: 2 + i, y: 2 } } });
    w.columns(Option).external[eid] = 1;
    w.columns(Intent).kind[eid] = IntentKind.Wait;
    agents.push(eid);
  }
  return { w, agents };
}

const ledger = (w: World) => w.state<SocialState>("social").ledger;
const uidOf = (w: World, eid: number) => w.columns(Agent).uid[eid];
const rivalry = (w: World, a: number, b: number) => ledger(w).rivalryOf(a, uidOf(w, b));
const edge = (w: World, a: number, b: number) => ledger(w).find(a, uidOf(w, b));
const edges = (w: World, a: number) => {
  const L = ledger(w);
  const out: number[] = [];
  const base = L.base(a);
  for (let k = 0; base >= 0 && k < L.maxEdges; k++) if (L.other[base + k] !== -1) out.push(L.other[base + k]);
  return out.sort((x, y) => x - y);
};

/** A queue conflict reported from outside the tick: the social pass of the next tick reads it. */
function conflict(w: World, actor: number, rival: number, intensity: number, reason = "ghost_step"): void {
  w.send(QueueConflict, 0, actor, rival, w.intern(reason), 1, intensity);
}

describe("rivalry from queue conflicts", () => {
  it("raises rivalry on both sides by increment_per_conflict x intensity", () => {
    const { w, agents } = town(3, { increment_per_conflict: 0.15 });
    const [a, b, c] = agents;
    conflict(w, a, b, 1.5);
    w.step();
    expect(rivalry(w, a, b)).toBeCloseTo(0.225, 6);
    expect(rivalry(w, b, a)).toBeCloseTo(0.225, 6);
    expect(edge(w, a, c)).toBe(-1);
    expect(edge(w, c, a)).toBe(-1);
    conflict(w, b, a, 2);
    w.step();
    expect(rivalry(w, a, b)).toBeCloseTo(0.525, 6);
    expect(rivalry(w, b, a)).toBeCloseTo(0.525, 6);
    const s = w.state<SocialState>("social");
    expect(s.conflicts).toBe(2);
    expect(s.events.map((e) => [e.a, e.b, e.reason])).toEqual([
      [uidOf(w, a), uidOf(w, b), "ghost_step"],
      [uidOf(w, b), uidOf(w, a), "ghost_step"],
    ]);
    expect((w.kpis().rivalry as { conflicts: number }).conflicts).toBe(2);
  });

  it("clamps rivalry to [min_value, max_value]", () => {
    const { w, agents } = town(2, { increment_per_conflict: 0.5, max_value: 0.9, avoid_threshold: 0.7 });
    const [a, b] = agents;
    conflict(w, a, b, 3);
    w.step();
    expect(rivalry(w, a, b)).toBeCloseTo(0.9, 6);
    expect(rivalry(w, b, a)).toBeCloseTo(0.9, 6);
    conflict(w, a, b, 5);
    w.step();
    expect(rivalry(w, a, b)).toBeCloseTo(0.9, 6);
  });

  it("ignores a conflict with oneself or with an entity that is not an agent", () => {
    const { w, agents } = town(1);
    const [a] = agents;
    const obj = affordancesState(w).objects[0];
    conflict(w, a, a, 2);
    conflict(w, a, obj, 2);
    w.step();
    expect(edges(w, a)).toEqual([]);
  });

  it("follows a real ghost step: the rotated holder and the new holder become rivals", () => {
    const { w, agents } = town(2, { increment_per_conflict: 0.2 }, "OFF", { queue_fairness: { ghost_step_after: 2 } });
    const [h, b] = agents;
    const kiosk = registerObject(w, 0, { id: "kiosk_1", object_type: "kiosk", position: [3, 2] });
    const I = w.columns(Intent);
    I.kind[h] = IntentKind.Request;
    I.object[h] = kiosk;
    w.step();
    I.kind[b] = IntentKind.Request;
    I.object[b] = kiosk;
    w.run(2);
    const c = w.lastTick(QueueConflict);
    expect(c.count).toBe(1);
    const intensity = c.intensity[c.start];
    expect(intensity).toBeCloseTo(1.5, 6);
    expect(rivalry(w, h, b)).toBeCloseTo(0.2 * 1.5, 6);
    expect(rivalry(w, b, h)).toBeCloseTo(0.2 * 1.5, 6);
  });
});

describe("decay and eviction", () => {
  it("lowers rivalry by decay_per_tick each tick and forgets the edge at or below eviction_threshold", () => {
    // Binary-exact values: 0.25 x 2 = 0.5, then -0.125 per tick.
    const { w, agents } = town(2, { increment_per_conflict: 0.25, decay_per_tick: 0.125, eviction_threshold: 0.125 });
    const [a, b] = agents;
    conflict(w, a, b, 2);
    const seen: number[] = [];
    for (let t = 0; t < 2; t++) {
      w.step();
      seen.push(rivalry(w, a, b));
      expect(rivalry(w, b, a)).toBe(seen.at(-1));
    }
    expect(seen).toEqual([0.375, 0.25]);
    w.step();
    expect(edge(w, a, b)).toBe(-1);
    expect(edge(w, b, a)).toBe(-1);
    expect(rivalrySnapshot(w)).toEqual({});
  });

  it("keeps an edge whose rivalry decayed away while trust or familiarity remain", () => {
    const { w, agents } = town(2, { increment_per_conflict: 0.1, decay_per_tick: 0.05 }, "A");
    const [a, b] = agents;
    const I = w.columns(Intent);
    I.kind[a] = IntentKind.Chat;
    I.target[a] = b;
    I.quality[a] = 1;
    conflict(w, a, b, 1);
    w.step();
    I.kind[a] = IntentKind.Wait;
    w.run(5);
    const s = edge(w, a, b);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(ledger(w).rivalry[s]).toBe(0);
    expect(ledger(w).trust[s]).toBeCloseTo(0.05, 6);
    expect(ledger(w).familiarity[s]).toBeCloseTo(0.1, 6);
  });

  it("stops visiting agents whose edges are at rest and visits them again after a new conflict, decaying it as before", () => {
    const { w, agents } = town(2, { increment_per_conflict: 0.25, decay_per_tick: 0.125 }, "A");
    const [a, b] = agents;
    const I = w.columns(Intent);
    const L = ledger(w);
    I.kind[a] = IntentKind.Chat;
    I.target[a] = b;
    I.quality[a] = 1;
    w.step();
    I.kind[a] = IntentKind.Wait;
    // After the chat both edges hold trust and familiarity at rivalry 0: at rest, off the list
    // by the end of the same pass.
    expect(edge(w, a, b)).toBeGreaterThanOrEqual(0);
    expect(edge(w, b, a)).toBeGreaterThanOrEqual(0);
    expect(L.hotCount).toBe(0);
    conflict(w, a, b, 2);
    w.step();
    expect(Array.from(L.hotList.subarray(0, L.hotCount)).sort()).toEqual([a, b].sort());
    expect(rivalry(w, a, b)).toBe(0.375);
    w.run(3);
    expect(rivalry(w, a, b)).toBe(0);
    expect(L.hotCount).toBe(0);
    expect(L.trust[edge(w, a, b)]).toBeCloseTo(0.05, 6);
  });
});

describe("the edge cap", () => {
  it("keeps at most max_edges edges per agent, evicting the weakest", () => {
    const { w, agents } = town(4, { increment_per_conflict: 0.125, max_edges: 2 });
    const [a, b, c, d] = agents;
    conflict(w, a, b, 2); // 0.25
    conflict(w, a, c, 4); // 0.5
    w.step();
    expect(edges(w, a)).toEqual([uidOf(w, b), uidOf(w, c)].sort((x, y) => x - y));
    conflict(w, a, d, 3); // 0.375: B (0.25) is the weakest and goes
    w.step();
    expect(edges(w, a)).toEqual([uidOf(w, c), uidOf(w, d)].sort((x, y) => x - y));
    expect(rivalry(w, a, c)).toBeCloseTo(0.5, 6);
    expect(rivalry(w, a, d)).toBeCloseTo(0.375, 6);
    // The other side keeps its own edge.
    expect(rivalry(w, b, a)).toBeCloseTo(0.25, 6);
  });

  // Known bug (reported): a new edge always takes a slot, evicting the weakest existing edge even
  // when the new one is weaker still. The original adds the edge, then evicts the weakest beyond
  // max_edges, so a weak newcomer is the one dropped. Remove `.fails` when fixed.
  it("does not let a weaker new rival evict a stronger edge", () => {
    const { w, agents } = town(4, { increment_per_conflict: 0.125, max_edges: 2 });
    const [a, b, c, d] = agents;
    conflict(w, a, b, 4); // 0.5
    conflict(w, a, c, 3); // 0.375
    w.step();
    conflict(w, a, d, 1); // 0.125: weaker than both
    w.step();
    expect(edges(w, a)).toEqual([uidOf(w, b), uidOf(w, c)].sort((x, y) => x - y));
  });
});

describe("relationships from chats", () => {
  function chat(relationships: string, quality: number, far = false) {
    const { w, agents } = town(3, {}, relationships);
    const [a, b, c] = agents;
    const I = w.columns(Intent);
    I.kind[a] = IntentKind.Chat;
    I.target[a] = far ? c : b;
    I.quality[a] = quality;
    w.step();
    return { w, a, b, c };
  }

  it("leaves trust and familiarity alone while the relationships stage is OFF", () => {
    const { w, a, b } = chat("OFF", 1);
    expect(w.lastTick(ChatSuccess).count).toBe(1);
    expect(edge(w, a, b)).toBe(-1);
    expect(edge(w, b, a)).toBe(-1);
  });

  it("raises trust by 0.05 q and familiarity by 0.1 q on both sides after a chat (stage on)", () => {
    for (const stage of ["A", "B", "C1"]) {
      const { w, a, b } = chat(stage, 0.8);
      const L = ledger(w);
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        const s = edge(w, x, y);
        expect(s, stage).toBeGreaterThanOrEqual(0);
        expect(L.trust[s]).toBeCloseTo(0.04, 6);
        expect(L.familiarity[s]).toBeCloseTo(0.08, 6);
        expect(L.rivalry[s]).toBe(0);
      }
    }
  });

  it("clamps chat quality to [0, 1]", () => {
    const { w, a, b } = chat("B", 3);
    expect(ledger(w).trust[edge(w, a, b)]).toBeCloseTo(0.05, 6);
  });

  it("lowers familiarity and adds rivalry after a failed chat (too far), only when the stage is on", () => {
    const off = chat("OFF", 1, true);
    expect(off.w.lastTick(ChatFailure).count).toBe(1);
    expect(edge(off.w, off.a, off.c)).toBe(-1);
    const { w, a, c } = chat("B", 1, true);
    const v = w.lastTick(ChatFailure);
    expect(v.count).toBe(1);
    expect(w.text(v.reason[v.start])).toBe("too_far");
    for (const [x, y] of [
      [a, c],
      [c, a],
    ]) {
      const s = edge(w, x, y);
      expect(ledger(w).familiarity[s]).toBeCloseTo(-0.05, 6);
      expect(ledger(w).rivalry[s]).toBeCloseTo(0.05, 6);
      expect(ledger(w).trust[s]).toBe(0);
    }
  });

  it("refuses a chat with a rival (chat_failure 'rival')", () => {
    const { w, agents } = town(2, { avoid_threshold: 0.5 }, "B");
    const [a, b] = agents;
    const L = ledger(w);
    L.rivalry[L.slot(a, uidOf(w, b))] = 0.6;
    const I = w.columns(Intent);
    I.kind[a] = IntentKind.Chat;
    I.target[a] = b;
    w.step();
    expect(w.lastTick(ChatSuccess).count).toBe(0);
    const v = w.lastTick(ChatFailure);
    expect(w.text(v.reason[v.start])).toBe("rival");
  });
});

describe("rivalrySnapshot", () => {
  it("maps agent names to their rivals' names and rivalry, leaving out edges without rivalry", () => {
    const { w, agents } = town(3, { increment_per_conflict: 0.25 }, "B");
    const [a, b, c] = agents;
    const named = w.spawnAgent(0, { name: "alice", init: { Position: { x: 8, y: 8 } } });
    w.columns(Option).external[named] = 1;
    w.columns(Intent).kind[named] = IntentKind.Wait;
    const I = w.columns(Intent);
    I.kind[b] = IntentKind.Chat; // b and c become friends: trust, no rivalry
    I.target[b] = c;
    conflict(w, a, b, 2);
    conflict(w, named, a, 1);
    w.step();
    const snap = rivalrySnapshot(w);
    const [na, nb] = [w.agentName(a), w.agentName(b)];
    expect(snap).toEqual({
      [na]: { [nb]: 0.5, alice: 0.25 },
      [nb]: { [na]: 0.5 },
      alice: { [na]: 0.25 },
    });
    for (const inner of Object.values(snap)) for (const v of Object.values(inner)) expect(typeof v).toBe("number");
  });
});

describe("persistence", () => {
  it("saves and loads the ledger, events and counts, with an equal hash", () => {
    const { w, agents } = town(3, { increment_per_conflict: 0.25 }, "B");
    const [a, b, c] = agents;
    conflict(w, a, b, 2);
    conflict(w, c, a, 1);
    w.step();
    const s = w.state<SocialState>("social");
    const data = JSON.parse(JSON.stringify(s.save()));
    const other = town(3, {}, "B").w.state<SocialState>("social");
    other.load(data);
    const h1 = new StateHasher();
    const h2 = new StateHasher();
    s.hash(h1);
    other.hash(h2);
    expect(h2.digest()).toBe(h1.digest());
    expect(other.ledger.rivalryOf(a, uidOf(w, b))).toBeCloseTo(0.5, 6);
    expect(other.events).toEqual(s.events);
  });
});

describe("the ledger's storage (edges on demand)", () => {
  const digest = (L: SocialLedger) => {
    const h = new StateHasher();
    L.hash(h);
    return h.digest();
  };
  /** Edges e -> 100 + e with rivalry e / 10, created for the entities in the given order. */
  const fill = (L: SocialLedger, order: number[]) => {
    for (const e of order) {
      const s = L.slot(e, 100 + e); // may grow the pool: the arrays are read after it
      L.rivalry[s] = e / 10;
    }
  };

  it("gives an entity slots only with its first edge and saves and hashes slots as entity x max_edges + k, whatever the order edges came in", () => {
    const a = new SocialLedger(3, 16);
    const b = new SocialLedger(3, 16);
    expect(a.base(5)).toBe(-1);
    fill(a, [2, 5, 9]);
    fill(b, [9, 2, 5]);
    expect(a.base(5)).not.toBe(b.base(5));
    expect(digest(a)).toBe(digest(b));
    expect(a.save()).toEqual(b.save());
    expect((a.save() as { used: number[] }).used.filter((_, i) => i % 5 === 0)).toEqual([6, 15, 27]);
  });

  it("reuses the slots of an entity that left for the next one, cleared, and grows past its first pool", () => {
    const L = new SocialLedger(2, 2000);
    fill(L, [1, 2]);
    const freed = L.base(1);
    L.clear(1);
    expect(L.find(1, 101)).toBe(-1);
    expect(L.slot(7, 50)).toBe(freed);
    expect(L.other[freed + 1]).toBe(-1);
    const many = Array.from({ length: 1500 }, (_, i) => 100 + i);
    fill(L, many);
    for (const e of many) expect(L.rivalryOf(e, 100 + e)).toBeCloseTo(e / 10, 4);
    expect(L.rivalryOf(2, 102)).toBeCloseTo(0.2, 6);
    const copy = new SocialLedger(2, 16);
    copy.load(JSON.parse(JSON.stringify(L.save())));
    expect(digest(copy)).toBe(digest(L));
  });
});
