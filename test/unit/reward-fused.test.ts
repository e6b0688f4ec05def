// The fused reward kernel (systems/rewards/kernel.ts) against the passes it replaces
// (systems/rewards/pass.ts, the path without code generation), and the reward breakdown by term
// (systems/rewards/breakdown.ts): recorded only in ticks some consumer asked for it, the rewards
// and the state hash the same either way.
import { describe, expect, it } from "vitest";
import { defineRewardTerm } from "../../engine/reward-term.ts";
import { loadSnapshot, saveSnapshot } from "../../engine/snapshot.ts";
import type { World } from "../../engine/world.ts";
import { Personality, Reward } from "../../components/people.ts";
import { PROFILES } from "../../components/profiles.ts";
import { corePlugins } from "../../systems/index.ts";
import type { RewardsState } from "../../systems/rewards/index.ts";
import { RewardPass } from "../../systems/rewards/pass.ts";
import { resolveTerms } from "../../systems/rewards/terms.ts";
import type { TelemetryPublisher } from "../../systems/telemetry/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { Bonus, bonusPlugin } from "../helpers/bonus.ts";
import { needsRewardTerms } from "../../systems/needs/reward.ts";
import { employmentRewardTerms } from "../../systems/employment/rewards.ts";
import { Needs } from "../../components/needs.ts";
import { Employment } from "../../components/people.ts";
import { pinPlugin } from "../helpers/pin.ts";

/** The bonus term's values: they change with the agent and the tick. */
const bonusValue = (i: number, tick: number) => (((i * 7 + tick) % 5) - 2) * 0.003;

const hydration = defineRewardTerm({ name: "hydration", weight: () => 0.75, component: Bonus, field: "value", bias: "social" });

/**
 * Every reward feature on: shaping, curiosity, the profile biases, social rewards from C2, a
 * tight per-episode clip (so it binds within the test), and the bonus term.
 */
function world(): World {
  return makeWorld(
    {
      world: { agents_per_town: 12, grid_size: [8, 8] },
      features: { training: { curiosity: "phase_A" }, behavior: { reward_multipliers: true }, stages: { social_rewards: "C2" } },
      shaping: { use_potential: true },
      rewards: { clip: { clip_per_episode: 1 } },
    },
    corePlugins,
    [bonusPlugin([hydration], bonusValue)],
  );
}

const rewardsOf = (w: World) => w.state<RewardsState>("rewards");

/** Every Reward field of every agent, then every breakdown column if this tick recorded one, as bits (Float32 columns: their Uint32 views). */
function rewardBits(w: World): number[] {
  const R = w.columns(Reward) as unknown as Record<string, Float32Array | Uint8Array>;
  const cols = Object.keys(Reward.schema).map((k) => R[k]);
  const bd = rewardsOf(w).lastBreakdown();
  if (bd !== undefined) for (const k of bd.names) cols.push(bd.column(k));
  const out: number[] = [];
  for (const col of cols) {
    const bits = col instanceof Float32Array ? new Uint32Array(col.buffer, col.byteOffset, col.length) : col;
    for (const eid of w.agents) out.push(eid, bits[eid]);
  }
  return out;
}

/** A Float32 column's bits at the agents' ids. */
function bits(col: Float32Array, agents: Int32Array): number[] {
  const u = new Uint32Array(col.buffer, col.byteOffset, col.length);
  return Array.from(agents, (e) => u[e]);
}

/** The world's breakdown column `name` as of its last tick (it must have been recorded). */
function part(w: World, name: string): Float32Array {
  const bd = rewardsOf(w).lastBreakdown();
  if (bd === undefined) throw new Error(`tick ${w.tick} recorded no reward breakdown`);
  return bd.column(name);
}

describe("the fused reward kernel", () => {
  it("gives every Reward field, every breakdown column and the state hash of the passes, to the bit, tick after tick", () => {
    const fused = world();
    const passes = world();
    const st = rewardsOf(passes);
    st.pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    for (const w of [fused, passes]) rewardsOf(w).wantBreakdown("test", true);
    let clipped = 0;
    for (let t = 0; t < 80; t++) {
      fused.step();
      passes.step();
      expect(rewardsOf(fused).pass!.fusedRan).toBe(true);
      expect(st.pass.fusedRan).toBe(false);
      expect(rewardBits(fused)).toEqual(rewardBits(passes));
      expect(fused.stateHash()).toBe(passes.stateHash());
      expect(rewardBits(fused).length).toBeGreaterThan(fused.agents.length * 2 * (Object.keys(Reward.schema).length + 9));
      const clip = part(fused, "clip_adjustment");
      for (const eid of fused.agents) if (clip[eid] !== 0) clipped++;
    }
    // The world exercised the clips and curiosity, not only the plain sum.
    expect(clipped).toBeGreaterThan(0);
    // The kernel computed the need and punctuality terms inline: their columns were never made.
    for (const t of [...needsRewardTerms, employmentRewardTerms[1]]) {
      expect(t.values!(fused)).toHaveLength(0);
      expect(t.values!(passes).length).toBeGreaterThan(fused.agents.length);
    }
    expect(rewardsOf(fused).visits!.some((v) => v > 1)).toBe(true);
  });

  it("is made again for the new columns when the store grows, with the same rewards as the passes", () => {
    const fused = world();
    const passes = world();
    const st = rewardsOf(passes);
    st.pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    fused.step();
    passes.step();
    const before = fused.columns(Reward).total;
    for (const w of [fused, passes]) for (let i = 0; i < 200; i++) w.spawnAgent(0);
    for (let t = 0; t < 3; t++) {
      fused.step();
      passes.step();
    }
    expect(fused.columns(Reward).total).not.toBe(before);
    expect(rewardsOf(fused).pass!.fusedRan).toBe(true);
    expect(rewardBits(fused)).toEqual(rewardBits(passes));
    expect(fused.stateHash()).toBe(passes.stateHash());
  });
});

/** Curiosity and shaping on, `towns` towns of `perTown` agents on a `side` x `side` grid. */
function townsWorld(towns: number, perTown: number, side: number): World {
  return makeWorld(
    { world: { towns, agents_per_town: perTown, grid_size: [side, side] }, features: { training: { curiosity: "phase_A" } }, shaping: { use_potential: true } },
    corePlugins,
  );
}

describe("the fused reward kernel's visit-count warm-up", () => {
  it("reads the counts of many small towns ahead of their agents and leaves the rewards, the counts and the hash of the passes", () => {
    const fused = townsWorld(40, 8, 16);
    const passes = townsWorld(40, 8, 16);
    rewardsOf(passes).pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    for (let t = 0; t < 40; t++) {
      fused.step();
      passes.step();
      // 40 towns of 256 counts, 32 to a cache line, for 320 agents (at most two lines each).
      expect(rewardsOf(fused).pass!.warmedLines).toBe((40 * 256) / 32);
      expect(rewardsOf(passes).pass!.warmedLines).toBe(0);
      expect(rewardBits(fused)).toEqual(rewardBits(passes));
      expect(Array.from(rewardsOf(fused).visits!)).toEqual(Array.from(rewardsOf(passes).visits!));
      expect(fused.stateHash()).toBe(passes.stateHash());
    }
    expect(rewardsOf(fused).visits!.some((v) => v > 1)).toBe(true);
  });

  it("does not read a town's counts whole when the town has more than two cache lines of them per agent", () => {
    // One town of 48 x 48 counts (72 lines) for 8 agents.
    const fused = townsWorld(1, 8, 48);
    const passes = townsWorld(1, 8, 48);
    rewardsOf(passes).pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    for (let t = 0; t < 10; t++) {
      fused.step();
      passes.step();
      expect(rewardsOf(fused).pass!.fusedRan).toBe(true);
      expect(rewardsOf(fused).pass!.warmedLines).toBe(0);
      expect(rewardBits(fused)).toEqual(rewardBits(passes));
      expect(fused.stateHash()).toBe(passes.stateHash());
    }
  });
});

describe("the fused reward kernel across a snapshot", () => {
  it("runs on the loaded columns after a load into a world whose kernel already ran, as the passes do", () => {
    const passes = world();
    const st = rewardsOf(passes);
    st.pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    for (let t = 0; t < 12; t++) passes.step();
    const bytes = saveSnapshot(passes);
    const fused = world();
    for (let t = 0; t < 3; t++) fused.step();
    rewardsOf(fused).wantBreakdown("test", true);
    fused.step();
    expect(rewardsOf(fused).lastBreakdown()).toBeDefined();
    loadSnapshot(fused, bytes);
    // The breakdown is not saved: the one before the load is gone, not passed off as the loaded tick's.
    expect(rewardsOf(fused).lastBreakdown()).toBeUndefined();
    rewardsOf(fused).wantBreakdown("test", false);
    expect(fused.stateHash()).toBe(passes.stateHash());
    for (let t = 0; t < 10; t++) {
      fused.step();
      passes.step();
      expect(rewardsOf(fused).pass!.fusedRan).toBe(true);
      expect(rewardBits(fused)).toEqual(rewardBits(passes));
      expect(fused.stateHash()).toBe(passes.stateHash());
    }
  });
});

describe("the reward breakdown by term", () => {
  it("is not recorded nor kept when nothing asks, and the rewards and hashes are those of a world that asks, on either path", () => {
    const asks = world();
    const silent = world();
    const silentPasses = world();
    rewardsOf(silentPasses).pass = new RewardPass(silentPasses.settings, resolveTerms(silentPasses), { fused: false });
    rewardsOf(asks).wantBreakdown("test", true);
    for (let t = 0; t < 20; t++) {
      for (const w of [asks, silent, silentPasses]) w.step();
      expect(rewardsOf(asks).lastBreakdown()?.column("hydration")).toBeDefined();
      for (const w of [silent, silentPasses]) {
        expect(rewardsOf(w).lastBreakdown()).toBeUndefined();
        expect(rewardsOf(w).pass!.breakdown.bytes).toBe(0);
        expect(w.stateHash()).toBe(asks.stateHash());
      }
      // The Reward fields only (a world without a breakdown has no columns to add).
      expect(rewardBits(silent)).toEqual(rewardBits(silentPasses));
      expect(rewardBits(asks).slice(0, rewardBits(silent).length)).toEqual(rewardBits(silent));
    }
    expect(rewardsOf(asks).pass!.breakdown.bytes).toBeGreaterThan(0);
  });

  it("sums, term by term, to the reward before the clips, and the clips' adjustment and terminal penalty to the total", () => {
    const w = world();
    rewardsOf(w).wantBreakdown("test", true);
    for (let t = 0; t < 40; t++) {
      w.step();
      const bd = rewardsOf(w).lastBreakdown()!;
      const total = w.columns(Reward).total;
      for (const eid of w.agents) {
        let raw = 0;
        for (const k of ["survival", "needs_penalty", "wage", "punctuality", "social", "hydration", "shaping", "curiosity"]) raw += bd.column(k)[eid];
        const terminal = bd.column("terminal")[eid];
        expect(raw + bd.column("clip_adjustment")[eid] + terminal).toBeCloseTo(total[eid], 5);
      }
    }
    // The plug-in's own columns, then each declared term's in plug-in and declaration order.
    expect(rewardsOf(w).lastBreakdown()!.names).toEqual(["survival", "shaping", "curiosity", "terminal", "clip_adjustment", "wage", "punctuality", "social", "needs_penalty", "hydration"]);
  });

  it("is recorded from the tick a consumer starts asking, as weight × value with the profile bias, and freed when it stops", () => {
    const w = world();
    const st = rewardsOf(w);
    for (let t = 0; t < 5; t++) w.step();
    expect(st.lastBreakdown()).toBeUndefined();
    let asking = false;
    st.wantBreakdown("late", () => asking);
    w.step();
    expect(st.lastBreakdown()).toBeUndefined();
    asking = true;
    for (let t = 0; t < 3; t++) {
      w.step();
      const col = part(w, "hydration");
      const B = w.columns(Bonus).value;
      const profile = w.columns(Personality).profile;
      let nonZero = 0;
      for (const eid of w.agents) {
        // bias(weight × value): a gain grows by the profile's social factor, a loss shrinks by it.
        const v = 0.75 * B[eid];
        const f = PROFILES[profile[eid]].reward.social;
        expect(col[eid]).toBe(Math.fround(v >= 0 ? v * f : v / f));
        if (col[eid] !== 0) nonZero++;
      }
      expect(nonZero).toBeGreaterThan(0);
    }
    st.wantBreakdown("late", false);
    w.step();
    expect(st.lastBreakdown()).toBeUndefined();
    expect(st.pass!.breakdown.bytes).toBe(0);
  });

  it("reaches a telemetry client from the tick after it starts watching an agent, every column in the published order", () => {
    const w = world();
    const pub = w.state<TelemetryPublisher>("telemetry");
    for (let t = 0; t < 3; t++) w.step();
    const eid = w.agents[3];
    const id = w.agentName(eid);
    pub.watch([id]);
    w.step();
    const row = pub.snapshot("request").reward_breakdown![id];
    expect(Object.keys(row)).toEqual(["total", "survival", "needs_penalty", "wage", "punctuality", "social", "shaping", "curiosity", "terminal", "clip_adjustment", "episode", "hydration"]);
    expect(row.hydration).toBe(Math.round(part(w, "hydration")[eid] * 1e4) / 1e4);
    expect(row.survival).toBe(Math.round(part(w, "survival")[eid] * 1e4) / 1e4);
    expect(w.columns(Bonus).value[eid]).not.toBe(0);
    expect(row.total).toBeCloseTo(w.columns(Reward).total[eid], 4);
  });
});

describe("inline reward terms", () => {
  it("give the need term and punctuality of the passes to the bit, over many needs and shift counters", () => {
    // Needs and shift counters pinned to values that vary by agent and tick (mortality off).
    const pins = pinPlugin(({ world: w, agents, tick }) => {
      const N = w.columns(Needs);
      const E = w.columns(Employment);
      agents.forEach((eid, i) => {
        const r = (i * 31 + tick * 17) % 97;
        N.hunger[eid] = 0.2 + (r % 13) / 16.3;
        N.hygiene[eid] = 0.15 + (r % 11) / 13.7;
        N.energy[eid] = 0.3 + (r % 7) / 9.1;
        E.on_shift[eid] = r % 5 === 0 ? 0 : 1;
        E.on_time_ticks[eid] = r % 9;
        E.scheduled_ticks[eid] = r % 9 === 0 ? 0 : (r % 9) + (r % 4);
      });
    });
    const make = () =>
      makeWorld(
        { world: { agents_per_town: 40, grid_size: [8, 8] }, lifecycle: { mortality: false }, rewards: { punctuality_bonus: 0.07 }, shaping: { use_potential: true } },
        corePlugins,
        [pins],
      );
    const fused = make();
    const passes = make();
    rewardsOf(passes).pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    for (const w of [fused, passes]) rewardsOf(w).wantBreakdown("test", true);
    let paid = 0;
    for (let t = 0; t < 25; t++) {
      fused.step();
      passes.step();
      expect(rewardsOf(fused).pass!.fusedRan).toBe(true);
      for (const name of ["needs_penalty", "punctuality", "shaping"]) expect(bits(part(fused, name), fused.agents)).toEqual(bits(part(passes, name), passes.agents));
      expect(rewardBits(fused)).toEqual(rewardBits(passes));
      for (const eid of fused.agents) if (part(fused, "punctuality")[eid] !== 0) paid++;
    }
    expect(paid).toBeGreaterThan(200);
  });

  it("refuses an inline expression that holds more than columns, constants, numbers and operators, naming the term", () => {
    const sneaky = defineRewardTerm({
      name: "sneaky",
      weight: () => 1,
      component: Bonus,
      field: "value",
      inline: (w) => ({ columns: [w.columns(Bonus).value], constants: [], expression: "$0[e] + globalThis.x" }),
    });
    const w = makeWorld({ world: { agents_per_town: 2, grid_size: [8, 8] } }, corePlugins, [bonusPlugin([sneaky], () => 0)]);
    expect(() => w.step()).toThrow(/reward term "sneaky" of plug-in "bonus": inline expression "\$0\[e\] \+ globalThis.x" holds more than/);
    const far = defineRewardTerm({ name: "far", weight: () => 1, component: Bonus, field: "value", inline: () => ({ columns: [], constants: [], expression: "$0[e]" }) });
    const v = makeWorld({ world: { agents_per_town: 2, grid_size: [8, 8] } }, corePlugins, [bonusPlugin([far], () => 0)]);
    expect(() => v.step()).toThrow(/reward term "far" of plug-in "bonus": inline expression reads \$0, with 0 column\(s\)/);
  });

  it("refuses an inline expression that assigns (a loop restarted forever, another column written) or reads a Math member that is not its own", () => {
    for (const [expression, why] of [
      ["($0[e] = 7)", /assigns/],
      ["$0[e]++", /assigns/],
      ["Math.PI = 3", /assigns/],
      ["e => e", /assigns/],
      ["$0[e] -= 1", /assigns/],
      ["(e >>= 1)", /assigns/],
      ["Math.constructor", /holds more than/],
      // Last: accepted, it would restart the kernel's agent loop forever instead of failing.
      ["e = 0", /assigns/],
    ] as const) {
      const t = defineRewardTerm({ name: "writer", weight: () => 1, component: Bonus, field: "value", inline: (w) => ({ columns: [w.columns(Bonus).value], constants: [], expression }) });
      const w = makeWorld({ world: { agents_per_town: 2, grid_size: [8, 8] } }, corePlugins, [bonusPlugin([t], () => 0)]);
      expect(() => w.step(), expression).toThrow(why);
    }
    // Comparisons keep their = signs.
    const ok = defineRewardTerm({ name: "cmp", weight: () => 1, component: Bonus, field: "value", inline: (w) => ({ columns: [w.columns(Bonus).value], constants: [1], expression: "$0[e] >= #0 && $0[e] !== 2 ? Math.min($0[e], Math.PI) : 0" }) });
    const v = makeWorld({ world: { agents_per_town: 2, grid_size: [8, 8] } }, corePlugins, [bonusPlugin([ok], () => 0)]);
    expect(() => v.step()).not.toThrow();
  });

  it("gives a mod's inline term the value of its column, to the bit, on the kernel path", () => {
    const inlined = defineRewardTerm({
      name: "hydration",
      weight: () => 0.75,
      component: Bonus,
      field: "value",
      bias: "social",
      inline: (w) => ({ columns: [w.columns(Bonus).value], constants: [2], expression: "($0[e] * #0) / 2" }),
    });
    const make = (t: typeof hydration) =>
      makeWorld({ world: { agents_per_town: 12, grid_size: [8, 8] }, features: { behavior: { reward_multipliers: true } } }, corePlugins, [bonusPlugin([t], bonusValue)]);
    const a = make(inlined);
    const b = make(hydration);
    let nonZero = 0;
    for (let t = 0; t < 10; t++) {
      a.step();
      b.step();
      expect(rewardBits(a)).toEqual(rewardBits(b));
      for (const eid of a.agents) if (a.columns(Bonus).value[eid] !== 0) nonZero++;
    }
    expect(nonZero).toBeGreaterThan(0);
  });
});
