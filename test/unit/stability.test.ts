// Stability monitor: every alert on a hand-built world (messages and columns set by a fixture
// system that runs in the telemetry phase just before the monitor), the metrics payload, the
// promotion gate (two passing windows make a candidate, a disallowed alert resets the streak,
// allowed alerts do not), and save/load.
import { describe, expect, it } from "vitest";
import { Option } from "../../components/activity.ts";
import { Needs } from "../../components/needs.ts";
import { Reward } from "../../components/people.ts";
import { AffordanceFail, JobLate, QueueConflict, QueueHandover } from "../../components/messages.ts";
import { NeedsSets } from "../../components/sets.ts";
import { definePlugin, type SystemContext } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { latestAlerts, latestMetrics, promotionStatus, stabilityPlugin, stabilityState } from "../../systems/stability/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { ObservationsKey } from "../../components/observations.ts";

type Step = (ctx: SystemContext, w: Fixture) => void;

interface Fixture {
  w: World;
  a: number;
  b: number;
  /** Runs every tick before the monitor (set columns, send messages). */
  each: Step[];
  /** Runs on one tick only, at the end of the needs phase. */
  at: Map<number, Step>;
}

const STABILITY = {
  starvation: { window_ticks: 100, max_incidents: 0, hunger_threshold: 0.05, min_duration_ticks: 30 },
  option_thrash: { window_ticks: 50, max_switch_rate: 0.25, min_samples: 10 },
  reward_variance: { window_ticks: 50, max_variance: 0.25, min_samples: 20 },
  promotion: { window_ticks: 10, required_passes: 2 },
};

/** Two hand-driven agents in a 12x12 town: no decay, no deaths, no objects, no jobs. */
function fixture(stability: Record<string, unknown> = {}): Fixture {
  const f = { each: [], at: new Map() } as unknown as Fixture;
  const plugin = definePlugin({
    name: "stability_fixture",
    systems: [
      {
        // Messages sent here (end of the needs phase) reach the monitor in the same tick.
        name: "stability_fixture/send",
        phase: "needs",
        after: [NeedsSets.Finalize],
        run(ctx) {
          f.at.get(ctx.tick)?.(ctx, f);
        },
      },
      {
        name: "stability_fixture/set",
        phase: "telemetry",
        before: ["stability/monitor"],
        run(ctx) {
          for (const s of f.each) s(ctx, f);
        },
      },
    ],
  });
  f.w = makeWorld(
    {
      world: { agents_per_town: 0, grid_size: [12, 12] },
      jobs: {},
      rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
      lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
      stability: { ...STABILITY, ...stability },
    },
    corePlugins,
    [plugin],
  );
  const spawn = (x: number) => {
    const eid = f.w.spawnAgent(0, { init: { Position: { x, y: 5 }, Needs: { hunger: 0.8, hygiene: 0.8, energy: 0.8 }, Wallet: { money: 5 } } });
    f.w.columns(Option).external[eid] = 1;
    return eid;
  };
  f.a = spawn(2);
  f.b = spawn(8);
  // Rewards of hand-driven agents are steady; pin them so the variance canary sees exactly 0.
  f.each.push(({ world }, { a, b }) => {
    const R = world.columns(Reward);
    R.total[a] = 0.01;
    R.total[b] = 0.01;
  });
  return f;
}

/** Runs until `tick`, collecting the alerts of every tick. */
function alertsUntil(f: Fixture, tick: number): Map<number, string[]> {
  const out = new Map<number, string[]>();
  while (f.w.tick < tick) {
    f.w.step();
    out.set(f.w.tick, latestAlerts(f.w));
  }
  return out;
}

/** Ticks (of those collected) that raised `alert`. */
function ticksWith(all: Map<number, string[]>, alert: string): number[] {
  return [...all].filter(([, a]) => a.includes(alert)).map(([t]) => t);
}

function sendN(n: number, send: () => void): void {
  for (let i = 0; i < n; i++) send();
}

describe("alerts", () => {
  it("raises none on a quiet town, and reports the metrics payload", () => {
    const f = fixture();
    const all = alertsUntil(f, 60);
    expect([...all.values()].flat()).toEqual([]);
    const m = latestMetrics(f.w);
    expect(m).toMatchObject({
      tick: 60,
      starvation_incidents: 0,
      starvation_window_ticks: 100,
      option_switch_rate: 0,
      option_samples: 100,
      reward_samples: 100,
      late_arrivals: 0,
      affordance_failures: 0,
      queue_totals: { ghost_step_events: 0, rotation_events: 0, conflicts: 0 },
      rivalry_events: 0,
      embedding_reuse_warning: false,
      perturbations_active: 0,
      alerts: [],
      thresholds: { affordance_fail_threshold: 5, lateness_threshold: 3 },
    });
    expect(m.reward_mean).toBeCloseTo(0.01, 6);
    expect(m.reward_variance).toBeCloseTo(0, 9);
  });

  it("queue_fairness_pressure: 5 ghost steps or 5 rotations (ghost steps + handovers) in one tick", () => {
    const f = fixture();
    const ghost = f.w.intern("ghost_step");
    const conflict = (ctx: SystemContext) => ctx.send(QueueConflict, f.a, f.a, f.b, ghost, 2, 0.1);
    const handover = (ctx: SystemContext) => ctx.send(QueueHandover, f.a, f.a, f.b);
    f.at.set(3, (ctx) => sendN(5, () => conflict(ctx)));
    f.at.set(5, (ctx) => sendN(4, () => conflict(ctx)));
    f.at.set(7, (ctx) => {
      sendN(3, () => conflict(ctx));
      sendN(2, () => handover(ctx));
    });
    const all = alertsUntil(f, 9);
    expect(ticksWith(all, "queue_fairness_pressure")).toEqual([3, 7]);
    expect(all.get(3)).toEqual(["queue_fairness_pressure"]);
    expect(latestMetrics(f.w).queue_totals).toEqual({ ghost_step_events: 12, rotation_events: 14, conflicts: 12 });
  });

  it("rivalry_spike: 5 conflicts at or above the avoid threshold in one tick", () => {
    const f = fixture();
    const blocked = f.w.intern("blocked");
    f.at.set(2, (ctx) => sendN(5, () => ctx.send(QueueConflict, f.a, f.a, f.b, blocked, 2, 0.7)));
    f.at.set(4, (ctx) => {
      sendN(4, () => ctx.send(QueueConflict, f.a, f.a, f.b, blocked, 2, 0.9));
      ctx.send(QueueConflict, f.a, f.a, f.b, blocked, 2, 0.69);
    });
    const all = alertsUntil(f, 6);
    expect(ticksWith(all, "rivalry_spike")).toEqual([2]);
    expect(all.get(2)).toEqual(["rivalry_spike"]);
  });

  it("starvation_spike: a streak of min_duration_ticks at or below the threshold, counted within the window", () => {
    const f = fixture();
    f.w.columns(Needs).hunger[f.a] = 0.05;
    f.at.set(40, ({ world }) => (world.columns(Needs).hunger[f.a] = 0.5));
    const all = alertsUntil(f, 140);
    const ticks = ticksWith(all, "starvation_spike");
    expect(ticks[0]).toBe(30);
    expect(ticks.at(-1)).toBe(129);
    expect(ticks).toHaveLength(100);
    expect(latestMetrics(f.w).starvation_incidents).toBe(0);
  });

  it("option_thrashing: option switches per agent-tick above the rate, once min_samples agent-ticks are in", () => {
    const f = fixture();
    f.each.push(({ world }) => world.columns(Option).switches[f.a]++);
    const all = alertsUntil(f, 8);
    expect(ticksWith(all, "option_thrashing")).toEqual([5, 6, 7, 8]);
    expect(latestMetrics(f.w).option_switch_rate).toBeCloseTo(0.5, 9);
  });

  it("reward_variance_spike: variance of every reward in the window above the limit, once min_samples are in", () => {
    const f = fixture();
    f.each.push(({ world }) => {
      const R = world.columns(Reward);
      R.total[f.a] = 1;
      R.total[f.b] = -1;
    });
    const all = alertsUntil(f, 12);
    expect(ticksWith(all, "reward_variance_spike")).toEqual([10, 11, 12]);
    expect(latestMetrics(f.w)).toMatchObject({ reward_samples: 24, reward_mean: 0, reward_variance: 1 });
  });

  it("affordance_failures_exceeded: more than affordance_fail_threshold failures in one tick", () => {
    const f = fixture();
    const reason = f.w.intern("precondition_failed");
    f.at.set(2, (ctx) => sendN(6, () => ctx.send(AffordanceFail, f.a, f.b, 0, reason)));
    f.at.set(3, (ctx) => sendN(5, () => ctx.send(AffordanceFail, f.a, f.b, 0, reason)));
    const all = alertsUntil(f, 4);
    expect(ticksWith(all, "affordance_failures_exceeded")).toEqual([2]);
  });

  it("lateness_spike: more than lateness_threshold late arrivals in one tick", () => {
    const f = fixture();
    f.at.set(2, (ctx) => sendN(4, () => ctx.send(JobLate, f.a, 0, 5)));
    f.at.set(3, (ctx) => sendN(3, () => ctx.send(JobLate, f.a, 0, 5)));
    const all = alertsUntil(f, 4);
    expect(ticksWith(all, "lateness_spike")).toEqual([2]);
    expect(latestMetrics(f.w)).toMatchObject({ late_arrivals: 0, late_arrivals_day: 7 });
  });

  it("embedding_reuse_warning: read through the observations service, in the original's order among others", () => {
    let warn = false;
    const observations = definePlugin({
      name: "observations",
      provides: [ObservationsKey],
      state: () => ({ embeddingMetrics: () => ({ reuse_warning: warn, forced_reuse_rate: warn ? 0.2 : 0, forced_reuse_count: 0 }) }),
    });
    const w = makeWorld({ stability: STABILITY }, [stabilityPlugin, observations]);
    w.step();
    expect(latestAlerts(w)).toEqual([]);
    warn = true;
    sendN(4, () => w.send(JobLate, 0, 0, 1));
    w.step();
    expect(latestAlerts(w)).toEqual(["embedding_reuse_warning", "lateness_spike"]);
    expect(latestMetrics(w).embedding_reuse_warning).toBe(true);
  });
});

describe("towns", () => {
  it("counts the per-tick alerts per town: each town is judged on its own", () => {
    const w = makeWorld({ world: { towns: 2, agents_per_town: 0 }, stability: STABILITY }, [stabilityPlugin]);
    const a = w.spawnAgent(0);
    const b = w.spawnAgent(1);
    sendN(3, () => w.send(JobLate, a, 0, 1));
    sendN(3, () => w.send(JobLate, b, 0, 1));
    w.step();
    expect(latestAlerts(w)).toEqual([]);
    expect(latestMetrics(w)).toMatchObject({ late_arrivals: 6, town_max: { late_arrivals: 3 } });
    sendN(4, () => w.send(JobLate, b, 0, 1));
    w.step();
    expect(latestAlerts(w)).toEqual(["lateness_spike"]);
    w.step();
    expect(latestAlerts(w)).toEqual([]);
    expect(latestMetrics(w).town_max.late_arrivals).toBe(0);
  });
});

describe("promotion gate", () => {
  it("makes a candidate after two passing windows; a disallowed alert fails its window and resets the streak", () => {
    const f = fixture();
    f.at.set(25, (ctx) => sendN(4, () => ctx.send(JobLate, f.a, 0, 5)));
    alertsUntil(f, 9);
    expect(promotionStatus(f.w)).toMatchObject({ window_start: 0, window_end: 10, pass_streak: 0, candidate_ready: false, last_result: null });
    alertsUntil(f, 10);
    expect(promotionStatus(f.w)).toMatchObject({ window_start: 10, pass_streak: 1, candidate_ready: false, last_result: "pass", last_evaluated_tick: 10 });
    alertsUntil(f, 20);
    expect(promotionStatus(f.w)).toMatchObject({ pass_streak: 2, required_passes: 2, candidate_ready: true, last_result: "pass" });
    alertsUntil(f, 29);
    expect(promotionStatus(f.w)).toMatchObject({ candidate_ready: true, window_alerts: ["lateness_spike"] });
    alertsUntil(f, 30);
    expect(promotionStatus(f.w)).toMatchObject({ pass_streak: 0, candidate_ready: false, last_result: "fail", last_evaluated_tick: 30, window_alerts: [] });
    alertsUntil(f, 50);
    expect(promotionStatus(f.w)).toMatchObject({ pass_streak: 2, candidate_ready: true });
    expect(latestMetrics(f.w).promotion).toEqual(promotionStatus(f.w));
  });

  it("ignores alerts listed in allowed_alerts", () => {
    const f = fixture({ promotion: { window_ticks: 10, required_passes: 2, allowed_alerts: "lateness_spike" } });
    f.at.set(5, (ctx) => sendN(4, () => ctx.send(JobLate, f.a, 0, 5)));
    const all = alertsUntil(f, 20);
    expect(all.get(5)).toEqual(["lateness_spike"]);
    expect(promotionStatus(f.w)).toMatchObject({ pass_streak: 2, candidate_ready: true });
  });
});

describe("persistence", () => {
  it("saves and loads its state: the hash and the next ticks match", () => {
    const run = () => {
      const f = fixture();
      f.w.columns(Needs).hunger[f.a] = 0.01;
      f.each.push(({ world, tick }) => {
        world.columns(Reward).total[f.b] = tick % 3 === 0 ? 1 : -0.5;
        if (tick % 4 === 0) world.columns(Option).switches[f.b]++;
      });
      return f;
    };
    const a = run();
    alertsUntil(a, 45);
    const saved = structuredClone(stabilityState(a.w).save());
    const hash = a.w.stateHash();
    alertsUntil(a, 90);

    const b = run();
    alertsUntil(b, 45);
    const fresh = run();
    alertsUntil(fresh, 3);
    stabilityState(b.w).load(structuredClone(stabilityState(fresh.w).save()));
    expect(b.w.stateHash()).not.toBe(hash);
    stabilityState(b.w).load(saved);
    expect(b.w.stateHash()).toBe(hash);
    alertsUntil(b, 90);
    expect(b.w.stateHash()).toBe(a.w.stateHash());
    expect(latestMetrics(b.w)).toEqual(latestMetrics(a.w));
  });
});
