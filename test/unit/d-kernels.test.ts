// The stability and lifecycle passes as kernels generated per world (issue #19): a generated copy
// computes exactly what its factory does, over agents in several spans, and a world whose columns
// moved (the stores grew) gets a kernel remade for the new columns.
import { describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { Wallet } from "../../components/economy.ts";
import { AgentExit } from "../../components/messages.ts";
import { Agent } from "../../engine/core-components.ts";
import { corePlugins } from "../../systems/index.ts";
import { freshCopy } from "../../engine/kernel-source.ts";
import { SCAN_CHUNK, ScanKernels, scanFactory } from "../../systems/stability/scan.ts";
import { exitsFactory, leavingFactory, primeExits, primeLeaving } from "../../systems/lifecycle/kernels.ts";
import { latestMetrics } from "../../systems/stability/index.ts";
import { killAgent, type LifecycleState } from "../../systems/lifecycle/index.ts";
import { record } from "../helpers/pin.ts";
import { SocialLedger } from "../../components/social.ts";
import { SocialState } from "../../systems/social/index.ts";
import { decayFactory } from "../../systems/social/decay.ts";
import { makeWorld } from "../helpers/world.ts";

/** A small deterministic generator for made-up columns. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SPANS = Int32Array.of(1, 9, 12, 40, 41, 42, 50, 64);
const N = 64;

/** The exits kernel's agent columns, drawn from `rnd` in this order: wallets, money, wages, hunger, towns; towns 0-2, town 1 held. */
function exitColumns(rnd: () => number) {
  return {
    hasWallet: Uint8Array.from({ length: N }, () => (rnd() < 0.9 ? 1 : 0)),
    money: Float32Array.from({ length: N }, () => (rnd() < 0.5 ? 0 : 1)),
    wage: Float32Array.from({ length: N }, () => (rnd() < 0.7 ? 0 : 1)),
    hunger: Float32Array.from({ length: N }, () => rnd() * 0.15),
    townOf: Uint32Array.from({ length: N }, () => Math.floor(rnd() * 3)),
    hold: Uint8Array.of(0, 1, 0),
  };
}

describe("generated kernels (stability, lifecycle)", () => {
  it("copies a factory into a function of its own where code generation is allowed", () => {
    expect(freshCopy(exitsFactory)).not.toBe(exitsFactory);
    expect(freshCopy(scanFactory)).not.toBe(scanFactory);
  });

  it("the generated stability scan leaves the same streaks, switch baselines, incidents and reward sums as its factory", () => {
    const rnd = lcg(3);
    const has = Uint8Array.from({ length: N }, () => (rnd() < 0.9 ? 1 : 0));
    const hunger = Float32Array.from({ length: N }, () => rnd() * 0.2);
    const switches0 = Uint32Array.from({ length: N }, () => Math.floor(rnd() * 5));
    const total = Float32Array.from({ length: N }, () => rnd() * 2 - 1);
    const run = (make: typeof scanFactory) => {
      const streak = Int32Array.from({ length: N }, () => 0);
      const switches = switches0.slice();
      const last = new Uint32Array(N);
      const out = new Float64Array(4);
      const k = make(has, hunger, streak, switches, last, has, total, 1, 1, 1, out);
      const seen: number[] = [];
      for (let t = 0; t < 5; t++) {
        for (let e = 0; e < N; e++) switches[e] += e % 3;
        seen.push(k(SPANS, Math.fround(0.1), 3), ...out);
      }
      return { seen, streak: [...streak], last: [...last] };
    };
    const plain = run(scanFactory);
    const generated = run(freshCopy(scanFactory));
    expect(generated).toEqual(plain);
    expect(plain.seen.some((v, i) => i % 5 === 0 && v > 0)).toBe(true);
  });

  it("the scan over spans longer than its chunk visits every agent once, summing in agent order as one loop does", () => {
    // Two spans crossing several chunk boundaries (SCAN_CHUNK agents per call of the loop's function).
    expect(scanFactory.toString()).toContain(`const chunk = ${SCAN_CHUNK};`);
    const M = 3 * SCAN_CHUNK + 100;
    const spans = Int32Array.of(3, SCAN_CHUNK + 1, SCAN_CHUNK + 5, M);
    const rnd = lcg(11);
    const has = Uint8Array.from({ length: M }, () => (rnd() < 0.9 ? 1 : 0));
    const hunger = Float32Array.from({ length: M }, () => rnd() * 0.2);
    const switches = Uint32Array.from({ length: M }, () => Math.floor(rnd() * 5));
    const total = Float32Array.from({ length: M }, () => rnd() * 2 - 1);
    const threshold = Math.fround(0.1);
    // The reference: one loop over the agents, written out here.
    const refStreak = new Int32Array(M);
    const refLast = new Uint32Array(M);
    const reference = () => {
      let incidents = 0;
      let sw = 0;
      let n = 0;
      let sum = 0;
      let sq = 0;
      for (let s = 0; s < spans.length; s += 2) {
        for (let e = spans[s]; e < spans[s + 1]; e++) {
          if (has[e] === 1 && hunger[e] <= threshold) {
            refStreak[e]++;
            if (refStreak[e] === 2) incidents++;
          } else refStreak[e] = 0;
          if (switches[e] > refLast[e]) sw += switches[e] - refLast[e];
          refLast[e] = switches[e];
          if (has[e] === 1) {
            n++;
            sum += total[e];
            sq += total[e] * total[e];
          }
        }
      }
      return [incidents, sw, n, sum, sq];
    };
    const streak = new Int32Array(M);
    const last = new Uint32Array(M);
    const out = new Float64Array(4);
    const kernel = freshCopy(scanFactory)(has, hunger, streak, switches, last, has, total, 1, 1, 1, out);
    const incidents: number[] = [];
    for (let t = 0; t < 3; t++) {
      for (let e = 0; e < M; e++) switches[e] += e % 4;
      const got = [kernel(spans, threshold, 2), ...out];
      expect(got).toEqual(reference());
      incidents.push(got[0]);
    }
    // Streaks reach the duration (2) on the second tick.
    expect(incidents[0]).toBe(0);
    expect(incidents[1]).toBeGreaterThan(0);
    expect([...streak]).toEqual([...refStreak]);
    expect([...last]).toEqual([...refLast]);
    // Agents outside the spans (0-2, the gap) were never visited.
    expect([last[0], last[2], last[SCAN_CHUNK + 2]]).toEqual([0, 0, 0]);
  });

  it("the generated exits and leaving kernels mark and collect the same agents as their factories", () => {
    const { hasWallet, money, wage, hunger, townOf, hold } = exitColumns(lcg(5));
    const run = (exits: typeof exitsFactory, leavingF: typeof leavingFactory) => {
      const broke = Uint16Array.from({ length: N }, (_, e) => (e % 7 === 0 ? 0xffff : e % 5));
      const reason = Uint8Array.from({ length: N }, (_, e) => (e % 11 === 0 ? 2 : 0));
      const leaving = new Int32Array(N);
      const k = exits(hasWallet, money, wage, broke, reason, hunger, townOf, hold, 1, 1, 0, 1, 3);
      const collect = leavingF(reason, leaving, 0);
      const counts: number[] = [];
      for (let t = 0; t < 4; t++) {
        k(SPANS, 0.05, 6);
        counts.push(collect(SPANS));
      }
      return { counts, broke: [...broke], reason: [...reason], leaving: [...leaving] };
    };
    const plain = run(exitsFactory, leavingFactory);
    const generated = run(freshCopy(exitsFactory), freshCopy(leavingFactory));
    expect(generated).toEqual(plain);
    expect(new Set(plain.reason)).toEqual(new Set([0, 1, 2, 3]));
  });

  it("reports leaving agents that do not fit the scratch instead of writing past it", () => {
    const reason = Uint8Array.of(0, 1, 0, 4, 2, 0, 3);
    const small = new Int32Array(2);
    expect(freshCopy(leavingFactory)(reason, small, 0)(Int32Array.of(0, 7))).toBe(-1);
    const room = new Int32Array(4);
    expect(freshCopy(leavingFactory)(reason, room, 0)(Int32Array.of(0, 7))).toBe(4);
    expect([...room]).toEqual([1, 3, 4, 6]);
  });

  it("removes every agent killed in one tick when more leave than the leaving scratch held", () => {
    const w = makeWorld({ world: { agents_per_town: 40, grid_size: [16, 16] }, rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } }, corePlugins);
    w.step();
    const st = w.state<LifecycleState>("lifecycle");
    const held = st.leaving.length;
    const victims = [...w.agents].slice(0, held + 9);
    const uids = victims.map((eid) => w.columns(Agent).uid[eid]);
    for (const eid of victims) killAgent(w, eid);
    const exits = record(w, AgentExit);
    w.step();
    expect(exits.filter((e) => w.text(e.reason) === "console").map((e) => e.uid)).toEqual(uids);
    const live = new Set([...w.agents].map((eid) => w.columns(Agent).uid[eid]));
    expect(uids.filter((u) => live.has(u))).toEqual([]);
    expect(st.leaving.length).toBeGreaterThan(held);
  });

  it("faints an agent spawned after the columns grew (the exits kernel follows the moved columns)", () => {
    const w = makeWorld({ world: { agents_per_town: 2, grid_size: [8, 8] }, rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } }, corePlugins);
    w.step();
    const before = w.columns(Wallet).money;
    let late = 0;
    for (let i = 0; i < 300; i++) late = w.spawnAgent(0, { init: { Needs: { hunger: 0.9, hygiene: 0.9, energy: 0.9 }, Wallet: { money: 5 } } });
    expect(w.columns(Wallet).money).not.toBe(before);
    w.columns(Needs).hunger[late] = 0;
    const uid = w.columns(Agent).uid[late];
    const exits = record(w, AgentExit);
    w.step();
    expect(exits.filter((e) => w.text(e.reason) === "faint").map((e) => e.uid)).toEqual([uid]);
    expect(w.isAgent(late)).toBe(false);
  });

  it("counts a starvation incident of an agent spawned after the streaks grew (the scan follows the moved arrays)", () => {
    const w = makeWorld(
      {
        world: { agents_per_town: 2, grid_size: [8, 8] },
        rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
        lifecycle: { mortality: false },
        stability: { starvation: { window_ticks: 100, max_incidents: 0, hunger_threshold: 0.05, min_duration_ticks: 3 } },
      },
      corePlugins,
    );
    w.step();
    let late = 0;
    for (let i = 0; i < 300; i++) late = w.spawnAgent(0, { init: { Needs: { hunger: 0.9, hygiene: 0.9, energy: 0.9 }, Wallet: { money: 5 } } });
    for (let t = 0; t < 4; t++) {
      w.columns(Needs).hunger[late] = 0;
      w.step();
    }
    expect(latestMetrics(w).starvation_incidents).toBe(1);
  });

  it("the generated social decay leaves the same ledger and hot list as its factory", () => {
    const build = () => {
      const L = new SocialLedger(4, 40);
      for (let e = 1; e < 30; e++) {
        for (let j = 0; j < 3 + (e % 3); j++) {
          const s = L.slot(e, 100 + ((e * 7 + j * 3) % 11), 1);
          if (s < 0) continue;
          L.rivalry[s] = (e % 5) * 0.01;
          if (j === 1) L.trust[s] = e % 2 === 0 ? 0.1 : 0;
        }
      }
      return L;
    };
    const isAgent = Uint8Array.from({ length: 40 }, (_, e) => (e % 9 === 4 ? 0 : 1));
    const run = (make: typeof decayFactory) => {
      const L = build();
      const k = make(L, { other: L.other, rivalry: L.rivalry, trust: L.trust, familiarity: L.familiarity, count: L.count, hot: L.hot, hotList: L.hotList, isAgent });
      const hot: number[] = [];
      for (let t = 0; t < 6; t++) {
        L.hotCount = k(L.hotCount, 4, 0.01, 0, 0, 0.005);
        hot.push(L.hotCount);
      }
      return { hot, other: [...L.other], rivalry: [...L.rivalry], count: [...L.count], list: [...L.hotList.subarray(0, L.hotCount)] };
    };
    const plain = run(decayFactory);
    expect(run(freshCopy(decayFactory))).toEqual(plain);
    expect(plain.hot[5]).toBeLessThan(plain.hot[0]);
    expect(plain.other.filter((u) => u === -1).length).toBeGreaterThan(0);
  });

  it("remakes the social decay kernel when the ledger's pool grows, and decays the new edges", () => {
    const st = new SocialState(2, 8);
    const isAgent = new Uint8Array(4000).fill(1);
    const first = st.decay(isAgent);
    expect(st.decay(isAgent)).toBe(first);
    const L = st.ledger;
    const before = L.rivalry;
    let last = -1;
    for (let e = 1; e < 3000; e++) last = L.slot(e, 7, 1);
    expect(L.rivalry).not.toBe(before);
    L.rivalry[last] = 0.5;
    const k = st.decay(isAgent);
    expect(k).not.toBe(first);
    L.hotCount = k(L.hotCount, 2, 0.1, 0, 0, -1);
    expect(L.rivalry[last]).toBeCloseTo(0.4, 6);
  });

  it("primes new exits, leaving and scan kernels without changing a value, and they then compute what unprimed ones do", () => {
    const rnd = lcg(9);
    const { hasWallet, money, wage, hunger, townOf, hold } = exitColumns(rnd);
    const broke = Uint16Array.from({ length: N }, () => Math.floor(rnd() * 4));
    const reason = Uint8Array.from({ length: N }, () => (rnd() < 0.1 ? 4 : 0));
    const cols = [hasWallet, money, wage, broke, reason, hunger, townOf, hold];
    const bytes = () => cols.map((c) => [...new Uint8Array(c.buffer)]);
    const before = bytes();
    const exits = freshCopy(exitsFactory)(hasWallet, money, wage, broke, reason, hunger, townOf, hold, 1, 1, 0, 1, 2);
    primeExits(exits, { hasWallet, money, wage, broke, exitReason: reason, hunger, townOf, hold }, 12, 0.05, 3, 0, 1);
    const leaving = new Int32Array(N);
    const collect = freshCopy(leavingFactory)(reason, leaving, 0);
    primeLeaving(collect, reason, 12, 1);
    expect(bytes()).toEqual(before);
    // The primed kernels' results equal unprimed ones' on copies of the same columns.
    const copies = cols.map((c) => c.slice()) as typeof cols;
    const plain = freshCopy(exitsFactory)(...(copies as [Uint8Array, Float32Array, Float32Array, Uint16Array, Uint8Array, Float32Array, Uint32Array, Uint8Array]), 1, 1, 0, 1, 2);
    for (let t = 0; t < 4; t++) {
      exits(SPANS, 0.05, 3);
      plain(SPANS, 0.05, 3);
    }
    expect(bytes()).toEqual(copies.map((c) => [...new Uint8Array(c.buffer)]));
    expect(collect(SPANS)).toBe(freshCopy(leavingFactory)(copies[4] as Uint8Array, new Int32Array(N), 0)(SPANS));

    const has = Uint8Array.from({ length: N }, () => (rnd() < 0.9 ? 1 : 0));
    const low = Float32Array.from({ length: N }, () => rnd() * 0.2);
    const streak = Int32Array.from({ length: N }, () => Math.floor(rnd() * 3));
    const switches = Uint32Array.from({ length: N }, () => Math.floor(rnd() * 5));
    const last = Uint32Array.from({ length: N }, () => Math.floor(rnd() * 5));
    const total = Float32Array.from({ length: N }, () => rnd());
    const scanCols = [has, low, streak, switches, last];
    const scanBefore = scanCols.map((c) => [...new Uint8Array(c.buffer)]);
    new ScanKernels().get(has, low, streak, switches, last, has, total, 1, 1, 1, SPANS, Math.fround(0.1), 3);
    expect(scanCols.map((c) => [...new Uint8Array(c.buffer)])).toEqual(scanBefore);
  });
});
