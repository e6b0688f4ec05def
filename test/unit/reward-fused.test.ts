// The fused reward kernel (systems/rewards/kernel.ts) against the passes it replaces
// (systems/rewards/pass.ts, the path without code generation), and the breakdown of declared
// terms that name no Reward field: recorded only in ticks some consumer asked for it, the
// rewards the same either way.
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

/** Every Reward field of every agent, as bits (Float32 columns: their Uint32 views). */
function rewardBits(w: World): number[] {
  const R = w.columns(Reward) as unknown as Record<string, Float32Array>;
  const out: number[] = [];
  for (const name of Object.keys(Reward.schema)) {
    const bits = new Uint32Array(R[name].buffer, R[name].byteOffset, R[name].length);
    for (const eid of w.agents) out.push(eid, bits[eid]);
  }
  return out;
}

describe("the fused reward kernel", () => {
  it("gives every Reward field and the state hash of the passes, to the bit, tick after tick", () => {
    const fused = world();
    const passes = world();
    const st = rewardsOf(passes);
    st.pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    let clipped = 0;
    for (let t = 0; t < 80; t++) {
      fused.step();
      passes.step();
      expect(rewardsOf(fused).pass!.fusedRan).toBe(true);
      expect(st.pass.fusedRan).toBe(false);
      expect(rewardBits(fused)).toEqual(rewardBits(passes));
      expect(fused.stateHash()).toBe(passes.stateHash());
      const R = fused.columns(Reward);
      for (const eid of fused.agents) if (R.clip_adjustment[eid] !== 0) clipped++;
    }
    // The world exercised the clips and curiosity, not only the plain sum.
    expect(clipped).toBeGreaterThan(0);
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

describe("the fused reward kernel across a snapshot", () => {
  it("runs on the loaded columns after a load into a world whose kernel already ran, as the passes do", () => {
    const passes = world();
    const st = rewardsOf(passes);
    st.pass = new RewardPass(passes.settings, resolveTerms(passes), { fused: false });
    for (let t = 0; t < 12; t++) passes.step();
    const bytes = saveSnapshot(passes);
    const fused = world();
    for (let t = 0; t < 3; t++) fused.step();
    loadSnapshot(fused, bytes);
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

describe("the breakdown of terms that name no Reward field", () => {
  it("is not recorded when nothing asks, and the rewards and hashes are those of a world that asks", () => {
    const asks = world();
    const silent = world();
    rewardsOf(asks).wantBreakdown("test", true);
    for (let t = 0; t < 20; t++) {
      asks.step();
      silent.step();
      expect(rewardBits(asks)).toEqual(rewardBits(silent));
      expect(asks.stateHash()).toBe(silent.stateHash());
      expect(rewardsOf(silent).pass!.namedAt(silent.tick)).toBeUndefined();
      expect(rewardsOf(asks).pass!.namedAt(asks.tick)?.get("hydration")).toBeDefined();
    }
  });

  it("is recorded from the tick after a consumer starts asking, as weight × value with the profile bias, until it stops", () => {
    const w = world();
    const st = rewardsOf(w);
    for (let t = 0; t < 5; t++) w.step();
    expect(st.pass!.namedAt(w.tick)).toBeUndefined();
    let asking = false;
    st.wantBreakdown("late", () => asking);
    w.step();
    expect(st.pass!.namedAt(w.tick)).toBeUndefined();
    asking = true;
    for (let t = 0; t < 3; t++) {
      w.step();
      const col = st.pass!.namedAt(w.tick)!.get("hydration")!;
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
    expect(st.pass!.namedAt(w.tick)).toBeUndefined();
  });

  it("reaches a telemetry client from the tick after it starts watching an agent", () => {
    const w = world();
    const pub = w.state<TelemetryPublisher>("telemetry");
    for (let t = 0; t < 3; t++) w.step();
    const eid = w.agents[3];
    const id = w.agentName(eid);
    pub.watch([id]);
    w.step();
    const row = pub.snapshot("request").reward_breakdown![id];
    const col = rewardsOf(w).pass!.namedAt(w.tick)!.get("hydration")!;
    expect(row.hydration).toBe(Math.round(col[eid] * 1e4) / 1e4);
    expect(w.columns(Bonus).value[eid]).not.toBe(0);
    expect(row.total).toBeCloseTo(w.columns(Reward).total[eid], 4);
  });
});
