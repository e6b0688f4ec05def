// Rewards: each term of the per-tick formula on hand-set needs and shift counters, the reward
// bias of profiles, the guard, the per-tick and per-episode clips, full-size terminal
// penalties, potential-based shaping and the curiosity bonus. The worlds here ask for the reward
// breakdown by term (systems/rewards/breakdown.ts) from their first tick.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { Needs, NeedsKey } from "../../components/needs.ts";
import { Employment, ExitReason, Lifecycle, Reward } from "../../components/people.ts";
import { AgentExit, ChatFailure, ChatSuccess, GuardrailBlock } from "../../components/messages.ts";
import { SocialKey } from "../../components/social.ts";
import { Agent } from "../../engine/core-components.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { RewardsState, rewardsState } from "../../systems/rewards/index.ts";
import { resolveTerms } from "../../systems/rewards/terms.ts";
import { RewardPass } from "../../systems/rewards/pass.ts";
import { moveAgent } from "../../systems/space/index.ts";
import type { SpatialIndex } from "../../components/grid.ts";
import { pinPlugin, record } from "../helpers/pin.ts";
import { makeWorld } from "../helpers/world.ts";
import { asked, part } from "../helpers/breakdown.ts";

interface Pinned {
  needs?: [number, number, number];
  wage?: number;
  onShift?: [number, number];
  exit?: number;
  /** Tile the agent is moved to (through the spatial index). */
  at?: [number, number];
}

/** Values pinned on each agent (by index in the agent list) every tick before exits and rewards. */
type Pins = Record<number, Pinned>;

const W = { hunger: 1.0, hygiene: 0.6, energy: 0.8 };

/**
 * A world of `agents` agents whose needs do not decay, without shaping, with a per-tick clip of 1
 * so the formula shows through; `overrides` merge on top (one level deep per section).
 */
function world(pins: Pins, overrides: Record<string, Record<string, unknown>> = {}, agents = 2): World {
  const base: Record<string, Record<string, unknown>> = {
    world: { agents_per_town: agents, grid_size: [8, 8] },
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 }, clip: { clip_per_tick: 1 } },
    shaping: { use_potential: false },
  };
  for (const [k, v] of Object.entries(overrides)) base[k] = { ...base[k], ...v };
  const pin = pinPlugin(({ world: w, agents: list }) => {
    const N = w.columns(Needs);
    const E = w.columns(Employment);
    for (const [i, p] of Object.entries(pins)) {
      const eid = list[Number(i)];
      if (eid === undefined) continue;
      if (p.needs) [N.hunger[eid], N.hygiene[eid], N.energy[eid]] = p.needs;
      if (p.wage !== undefined) E.wage_this_tick[eid] = p.wage;
      if (p.onShift) {
        E.on_shift[eid] = 1;
        [E.on_time_ticks[eid], E.scheduled_ticks[eid]] = p.onShift;
      }
      if (p.exit !== undefined) w.columns(Lifecycle).exit_reason[eid] = p.exit;
      if (p.at) moveAgent(w, w.state<SpatialIndex>("space"), eid, p.at[0], p.at[1]);
    }
  });
  return asked(makeWorld(base, corePlugins, [pin]));
}

const FULL: [number, number, number] = [1, 1, 1];

/** Agent i's Reward fields and reward breakdown as of the last tick. */
function rewardOf(w: World, i: number): Record<string, number> {
  const R = w.columns(Reward) as unknown as Record<string, Float32Array | Uint8Array>;
  const eid = w.agents[i];
  const bd = rewardsState(w).lastBreakdown();
  if (bd === undefined) throw new Error(`tick ${w.tick} recorded no reward breakdown`);
  return Object.fromEntries([...Object.keys(Reward.schema).map((k) => [k, R[k][eid]]), ...bd.names.map((k) => [k, bd.column(k)[eid]])]);
}

describe("per-tick terms", () => {
  it("gives survival_tick minus the weighted squared need deficits", () => {
    const w = world({ 0: { needs: [0.5, 0.75, 0.875] }, 1: { needs: FULL } });
    w.step();
    const penalty = -(W.hunger * 0.25 + W.hygiene * 0.0625 + W.energy * 0.015625);
    const r = rewardOf(w, 0);
    expect(r.survival).toBeCloseTo(0.002, 7);
    expect(r.needs_penalty).toBeCloseTo(penalty, 6);
    expect(r.total).toBeCloseTo(0.002 + penalty, 6);
    expect(rewardOf(w, 1).total).toBeCloseTo(0.002, 7);
  });

  it("pays the tick's wage while rewards.wage_rate > 0 and nothing at 0", () => {
    const on = world({ 0: { needs: FULL, wage: 0.02 } });
    on.step();
    expect(rewardOf(on, 0).wage).toBeCloseTo(0.02, 7);
    expect(rewardOf(on, 0).total).toBeCloseTo(0.022, 6);
    const off = world({ 0: { needs: FULL, wage: 0.02 } }, { rewards: { wage_rate: 0 } });
    off.step();
    expect(rewardOf(off, 0).wage).toBe(0);
  });

  it("gives punctuality_bonus times the on-time share of the shift while on shift", () => {
    const w = world({ 0: { needs: FULL, onShift: [3, 4] }, 1: { needs: FULL } });
    w.step();
    expect(rewardOf(w, 0).punctuality).toBeCloseTo(0.05 * 0.75, 7);
    expect(rewardOf(w, 1).punctuality).toBe(0);
  });

  it("rewards both sides of a successful chat from stage C1 and charges a failed one", () => {
    const w = world({ 0: { needs: FULL }, 1: { needs: FULL } }, { features: { stages: { social_rewards: "C1" } } }, 3);
    const [a, b, c] = w.agents;
    w.send(ChatSuccess, a, b, 0.5);
    w.send(ChatFailure, c, a, w.intern("rival"));
    w.send(GuardrailBlock, b, w.intern("rival"));
    w.step();
    expect(rewardOf(w, 0).social).toBeCloseTo(0.01 * 0.5 - 0.25 * 0.01, 7);
    expect(rewardOf(w, 1).social).toBeCloseTo(0.005, 7); // avoidance not counted before C2
    expect(rewardOf(w, 2).social).toBeCloseTo(-0.5 * 0.01, 7);
    w.step();
    expect(rewardOf(w, 0).social).toBe(0);
  });

  it("pays each side of a chat by its own edge's trust and familiarity toward the other, not another edge's", () => {
    // relationships OFF: the social system leaves the edges as set here.
    const w = world({ 0: { needs: FULL }, 1: { needs: FULL }, 2: { needs: FULL } }, { features: { stages: { social_rewards: "C1", relationships: "OFF" } } }, 3);
    const [a, b, c] = w.agents;
    const L = w.resource(SocialKey).ledger;
    const uid = w.columns(Agent).uid;
    const edge = (from: number, to: number, trust: number, fam: number) => {
      const s = L.slot(from, uid[to]);
      [L.trust[s], L.familiarity[s]] = [trust, fam];
    };
    edge(a, c, 0.9, 0.9); // a's first edge, to a third agent
    edge(a, b, 0.5, 0.25);
    edge(b, a, -0.4, 0.1);
    w.send(ChatSuccess, a, b, 0.5);
    w.send(ChatSuccess, c, b, 1); // c has no edge: the base alone; b has none to c
    w.step();
    const f = Math.fround;
    expect(rewardOf(w, 0).social).toBeCloseTo((0.01 + 0.3 * f(0.5) + 0.2 * f(0.25)) * 0.5, 7);
    expect(rewardOf(w, 1).social).toBeCloseTo((0.01 + 0.3 * f(-0.4) + 0.2 * f(0.1)) * 0.5 + 0.01, 7);
    expect(rewardOf(w, 2).social).toBeCloseTo(0.01, 7);
  });

  it("adds C2_avoid_conflict per guardrail block from stage C2", () => {
    const w = world({ 0: { needs: FULL } }, { features: { stages: { social_rewards: "C2" } } });
    const a = w.agents[0];
    w.send(GuardrailBlock, a, w.intern("rival"));
    w.send(GuardrailBlock, a, w.intern("rival"));
    w.step();
    expect(rewardOf(w, 0).social).toBeCloseTo(0.01, 7);
  });

  it("gives no social reward while social_rewards is OFF, nor to an agent with a need deficit above 0.85", () => {
    const off = world({ 0: { needs: FULL } });
    off.send(ChatSuccess, off.agents[0], off.agents[1], 1);
    off.step();
    expect(rewardOf(off, 0).social).toBe(0);
    const weak = world({ 0: { needs: [0.1, 1, 1] }, 1: { needs: FULL } }, { features: { stages: { social_rewards: "C1" } } });
    weak.send(ChatSuccess, weak.agents[0], weak.agents[1], 1);
    weak.step();
    expect(rewardOf(weak, 0).social).toBe(0);
    expect(rewardOf(weak, 1).social).toBeCloseTo(0.01, 7);
  });
});

describe("reward bias", () => {
  const named = (flag: boolean, profile: string, pins: Pins = {}) => {
    const w = world(pins, { world: { agents_per_town: 0 }, personalities: { overrides: { ann: profile } }, features: { behavior: { reward_multipliers: flag }, stages: { social_rewards: "C1" } } });
    const eid = w.spawnAgent(0, { name: "ann" });
    const other = w.spawnAgent(0);
    const N = w.columns(Needs);
    for (const e of [eid, other]) N.hunger[e] = N.hygiene[e] = N.energy[e] = 1;
    return { w, eid, other };
  };

  it("scales a socialite's chat gains up and its losses down by 1.2 with reward_multipliers on", () => {
    const { w, eid, other } = named(true, "socialite");
    w.send(ChatSuccess, eid, other, 1);
    w.step();
    expect(part(w, "social")[eid]).toBeCloseTo(0.012, 7);
    w.send(ChatFailure, eid, other, w.intern("busy"));
    w.step();
    expect(part(w, "social")[eid]).toBeCloseTo(-0.005 / 1.2, 7);
  });

  it("scales a stoic's survival by 1.1 and an industrious agent's wage by 1.25", () => {
    const stoic = named(true, "stoic");
    stoic.w.step();
    expect(part(stoic.w, "survival")[stoic.eid]).toBeCloseTo(0.0022, 7);
    const busy = named(true, "industrious", { 0: { needs: FULL, wage: 0.02 } });
    busy.w.step();
    expect(part(busy.w, "wage")[busy.eid]).toBeCloseTo(0.025, 7);
  });

  it("leaves every term unscaled with reward_multipliers off", () => {
    const { w, eid } = named(false, "stoic");
    w.step();
    expect(part(w, "survival")[eid]).toBeCloseTo(0.002, 7);
  });
});

describe("clips and guards", () => {
  it("holds one tick's reward within ±clip_per_tick and books the difference as clip_adjustment", () => {
    const w = world({ 0: { needs: [0.1, 0.5, 0.5] }, 1: { needs: FULL, wage: 0.5 } }, { rewards: { clip: { clip_per_tick: 0.2 } } });
    w.step();
    const low = rewardOf(w, 0);
    const high = rewardOf(w, 1);
    expect(low.total).toBeCloseTo(-0.2, 7);
    expect(low.clip_adjustment).toBeCloseTo(-0.2 - (0.002 + low.needs_penalty), 6);
    expect(high.total).toBeCloseTo(0.2, 7);
    expect(high.clip_adjustment).toBeCloseTo(0.2 - 0.502, 6);
  });

  it("charges the full faint_penalty on top of the clipped reward", () => {
    const w = world({ 0: { needs: [0, 0.5, 0.5] } }, { rewards: { clip: { clip_per_tick: 0.2 } } });
    const exits = record(w, AgentExit);
    w.step();
    expect(exits).toHaveLength(1);
    expect(exits[0].reward).toBeCloseTo(-0.2 - 1.0, 6);
  });

  it("charges eviction_penalty for eviction and unemployment, none for a console kill", () => {
    const w = world({ 0: { needs: FULL, exit: ExitReason.Eviction }, 1: { needs: FULL, exit: ExitReason.Unemployment }, 2: { needs: FULL, exit: ExitReason.Console } }, {}, 3);
    const exits = record(w, AgentExit);
    w.step();
    // A positive reward on the exit tick is suppressed, so only the penalty is left.
    expect(exits.map((e) => [w.text(e.reason), e.reward])).toEqual([
      ["eviction", -2],
      ["unemployment", -2],
      ["console", 0],
    ]);
  });

  it("keeps an agent's running sum within ±clip_per_episode", () => {
    const w = world({ 0: { needs: FULL, wage: 0.6 } }, { rewards: { clip: { clip_per_tick: 1, clip_per_episode: 1 } } });
    const totals: number[] = [];
    for (let t = 0; t < 3; t++) {
      w.step();
      totals.push(rewardOf(w, 0).total);
    }
    expect(totals[0]).toBeCloseTo(0.602, 6);
    expect(totals[1]).toBeCloseTo(1 - 0.602, 6);
    expect(totals[2]).toBe(0);
    expect(rewardOf(w, 0).episode).toBe(1);
  });

  it("gives a replacement no positive reward for no_positive_within_death_ticks after it spawned", () => {
    const w = world({}, { world: { agents_per_town: 0 }, rewards: { clip: { clip_per_tick: 1, no_positive_within_death_ticks: 3 } } });
    const eid = w.spawnAgent(0, { init: { Lifecycle: { replaces_uid: 41, spawned_tick: 0 }, Needs: { hunger: 1, hygiene: 1, energy: 1 } } });
    const original = w.spawnAgent(0, { init: { Needs: { hunger: 1, hygiene: 1, energy: 1 } } });
    const R = w.columns(Reward);
    const totals: number[][] = [];
    for (let t = 1; t <= 4; t++) {
      w.step();
      totals.push([R.total[eid], R.total[original]]);
    }
    expect(totals.map((t) => t[0])).toEqual([0, 0, 0, Math.fround(0.002)]);
    expect(totals.map((t) => t[1])).toEqual([0.002, 0.002, 0.002, 0.002].map(Math.fround));
  });

  it("lets a replacement's losses through inside the window", () => {
    const w = world({}, { world: { agents_per_town: 0 } });
    const eid = w.spawnAgent(0, { init: { Lifecycle: { replaces_uid: 5, spawned_tick: 0 }, Needs: { hunger: 0.5, hygiene: 1, energy: 1 } } });
    w.step();
    expect(w.columns(Reward).total[eid]).toBeCloseTo(0.002 - 0.25, 6);
  });
});

/** Φ of an agent as of the last tick: what the rewards plug-in kept as the shaping potential (Reward.potential). */
function declaredPotential(w: World, eid: number): number {
  if (resolveTerms(w).find((t) => t.potential) === undefined) throw new Error("no reward term of this world is the shaping potential");
  return w.columns(Reward).potential[eid];
}

/** −Σ w·(1−need)² over the world's need table (each need's reward_weight), from the agent's needs now. */
function needsPenalty(w: World, eid: number): number {
  const needs = w.resource(NeedsKey);
  const cols = needs.columns();
  return -needs.table.list.reduce((acc, n, k) => acc + n.reward_weight * (1 - cols[k][eid]) ** 2, 0);
}

describe("shaping", () => {
  it("adds γΦ(s′) − Φ(s), 0 on an agent's first tick, telescoping to Φ(end) − Φ(start) with γ = 1", () => {
    const w = asked(
      makeWorld({
        world: { agents_per_town: 2, grid_size: [8, 8] },
        rewards: { clip: { clip_per_tick: 1 } },
        shaping: { use_potential: true },
        ppo: { gamma: 1 },
        lifecycle: { mortality: false },
      }),
    );
    const eid = w.agents[0];
    const phi = () => declaredPotential(w, eid);
    expect(resolveTerms(w).find((t) => t.potential)?.plugin).toBe("needs");
    w.step();
    expect(part(w, "shaping")[eid]).toBe(0);
    expect(phi()).toBeCloseTo(needsPenalty(w, eid), 6);
    const start = phi();
    let sum = 0;
    for (let t = 2; t <= 60; t++) {
      w.step();
      sum += part(w, "shaping")[eid];
    }
    expect(phi()).toBeCloseTo(needsPenalty(w, eid), 6);
    expect(phi()).toBeLessThan(start);
    expect(sum).toBeCloseTo(phi() - start, 4);
  });

  it("discounts the next potential by ppo.gamma", () => {
    const w = world({ 0: { needs: [0.5, 1, 1] } }, { shaping: { use_potential: true }, ppo: { gamma: 0.9 } });
    w.step();
    w.step();
    expect(rewardOf(w, 0).shaping).toBeCloseTo(0.9 * -0.25 - -0.25, 6);
  });

  it("is 0 with shaping.use_potential off", () => {
    const w = world({ 0: { needs: [0.5, 1, 1] } }, { ppo: { gamma: 0.9 } });
    w.run(2);
    expect(rewardOf(w, 0).shaping).toBe(0);
  });
});

describe("curiosity", () => {
  const curious = (on: boolean, pins: Pins) =>
    world(pins, { features: { training: { curiosity: on ? "phase_A" : "off" } }, world: { agents_per_town: 2 } });

  it("gives phase_A_weight / sqrt(1 + visits) of the agent's tile, decaying as the tile is revisited", () => {
    const pins: Pins = { 0: { needs: FULL, at: [1, 1] }, 1: { needs: FULL, at: [5, 5] } };
    const w = curious(true, pins);
    const seen: number[] = [];
    for (let t = 0; t < 4; t++) {
      w.step();
      seen.push(rewardOf(w, 0).curiosity);
    }
    expect(seen.map((v) => v / 0.02)).toEqual([1, 1 / Math.sqrt(2), 1 / Math.sqrt(3), 1 / 2].map((x) => expect.closeTo(x, 6)));
    pins[0].at = [2, 1];
    w.step();
    expect(rewardOf(w, 0).curiosity).toBeCloseTo(0.02, 7);
    expect(w.state<RewardsState>("rewards").visits![1 * 8 + 1]).toBe(4);
  });

  it("counts visits per tile, shared by the agents who stand on it", () => {
    const w = curious(true, { 0: { needs: FULL, at: [3, 3] }, 1: { needs: FULL, at: [3, 3] } });
    w.step();
    expect(rewardOf(w, 0).curiosity).toBeCloseTo(0.02, 7);
    expect(rewardOf(w, 1).curiosity).toBeCloseTo(0.02 / Math.SQRT2, 7);
  });

  it("gives phase_A_weight / sqrt(1 + visits) past 4,096 visits and at the 65,535 the count stops at, on the fused kernel and the passes", () => {
    for (const fused of [true, false]) {
      const w = curious(true, { 0: { needs: FULL, at: [1, 1] }, 1: { needs: FULL, at: [5, 5] } });
      const st = w.state<RewardsState>("rewards");
      st.pass = new RewardPass(w.settings, resolveTerms(w), { fused });
      w.step();
      const weight = w.settings.curiosity.phase_A_weight;
      for (const [count, next] of [
        [5000, 5001],
        [65534, 65535],
        [65535, 65535],
      ]) {
        st.visits![1 * 8 + 1] = count;
        w.step();
        expect(st.pass.fusedRan).toBe(fused);
        expect(rewardOf(w, 0).curiosity).toBe(Math.fround(weight / Math.sqrt(1 + count)));
        expect(st.visits![1 * 8 + 1]).toBe(next);
      }
    }
  });

  it("is 0 when features.training.curiosity is off", () => {
    const w = curious(false, {});
    w.step();
    expect(rewardOf(w, 0).curiosity).toBe(0);
    expect(w.state<RewardsState>("rewards").visits).toBeNull();
  });
});

describe("kpis and state", () => {
  it("reports the last tick's mean reward and the sum since start", () => {
    const w = world({ 0: { needs: FULL }, 1: { needs: [0.5, 1, 1] } });
    w.run(2);
    const k = w.kpis() as { reward_mean: number; reward_total: number };
    expect(k.reward_mean).toBeCloseTo((0.002 + 0.002 - 0.25) / 2, 6);
    expect(k.reward_total).toBeCloseTo(2 * (0.002 + 0.002 - 0.25), 6);
  });

  it("saves and loads its visit counts and sums", () => {
    const w = world({ 0: { needs: FULL } }, { features: { training: { curiosity: "phase_A" } } });
    w.run(3);
    const st = w.state<RewardsState>("rewards");
    const copy = new RewardsState(st.cells, st.width);
    copy.load(JSON.parse(JSON.stringify(st.save())));
    expect(copy.save()).toEqual(st.save());
  });
});

describe("the need term over the world's need table", () => {
  /** A world whose needs (by name) are pinned every tick; needs listed in `needs:` extend or drop the defaults. */
  function tableWorld(needs: Record<string, unknown>, pinned: Record<string, number>, extra: Record<string, unknown> = {}): World {
    const pin = pinPlugin(({ world: w, agents: list }) => {
      const cols = w.columns(Needs) as unknown as Record<string, Float32Array>;
      for (const [name, v] of Object.entries(pinned)) cols[name][list[0]] = v;
    });
    const w = makeWorld(
      {
        world: { agents_per_town: 1, grid_size: [8, 8] },
        rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 }, clip: { clip_per_tick: 1 } },
        shaping: { use_potential: false },
        needs,
        ...extra,
      },
      corePlugins,
      [pin],
    );
    return asked(w);
  }

  /** −Σ w·(1−need)² in the given order, in float64, as the reward pass adds it. */
  function penalty(terms: [number, number][]): number {
    let acc = terms[0][0] * (1 - terms[0][1]) ** 2;
    for (let k = 1; k < terms.length; k++) acc += terms[k][0] * (1 - terms[k][1]) ** 2;
    return -acc;
  }

  it("adds every need of a five-need table with its reward_weight, in table order", () => {
    const pinned = { hunger: 0.5, hygiene: 0.75, energy: 0.875, thirst: 0.25, boredom: 0.6 };
    const w = tableWorld({ thirst: { decay: 0, reward_weight: 0.5 }, boredom: { decay: 0, reward_weight: 0.3 } }, pinned);
    w.step();
    const expected = penalty([
      [W.hunger, Math.fround(0.5)],
      [W.hygiene, Math.fround(0.75)],
      [W.energy, Math.fround(0.875)],
      [0.5, Math.fround(0.25)],
      [0.3, Math.fround(0.6)],
    ]);
    const r = rewardOf(w, 0);
    expect(r.needs_penalty).toBe(Math.fround(expected));
    expect(r.total).toBe(Math.fround(0.002 + expected));
  });

  it("counts only the needs left in a table with one need disabled", () => {
    // The core affordances without their energy effects (a need the world does not have).
    const core = fileURLToPath(new URL("../../configs/affordances/core.yaml", import.meta.url));
    const entries = parse(readFileSync(core, "utf8")) as { effects?: Record<string, number> }[];
    for (const e of entries) delete e.effects?.energy;
    const file = join(mkdtempSync(join(tmpdir(), "townlet-rewards-")), "no-energy.yaml");
    writeFileSync(file, stringify(entries));
    const w = tableWorld({ energy: { enabled: false } }, { hunger: 0.5, hygiene: 0.75 }, { affordances: { affordances_file: file } });
    w.step();
    const expected = penalty([
      [W.hunger, Math.fround(0.5)],
      [W.hygiene, Math.fround(0.75)],
    ]);
    expect(rewardOf(w, 0).needs_penalty).toBe(Math.fround(expected));
  });
});
