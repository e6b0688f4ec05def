// The stability monitor's persistence: its state as plain data for snapshots, the restore, and
// its part of the world's state hash.
import type { StateHasher } from "../../engine/hash.ts";
import type { Ring, TickCounts } from "./windows.ts";
import type { StabilityState } from "./index.ts";

/** The monitor's state as plain data (snapshots). */
export function saveStability(s: StabilityState): unknown {
  const agents: number[] = [];
  for (let e = 0; e < s.streak.length; e++) if (s.streak[e] !== 0 || s.lastSwitches[e] !== 0) agents.push(e, s.streak[e], s.lastSwitches[e]);
  const ring = (r: Ring) => ({ values: r.values.slice(), sum: r.sum });
  return {
    agents,
    incidents: [...s.incidents],
    switches: ring(s.switches),
    agent_ticks: ring(s.agentTicks),
    reward_n: ring(s.rewardN),
    reward_sum: ring(s.rewardSum),
    reward_sq: ring(s.rewardSq),
    late: ring(s.late),
    totals: { ...s.totals },
    promotion: {
      pass_streak: s.passStreak,
      candidate_ready: s.candidateReady,
      last_result: s.lastResult,
      last_evaluated: s.lastEvaluated,
      window_alerts: [...s.windowAlerts],
    },
    alerts: [...s.alerts],
    last: { ...s.last, town_max: [...s.last.town_max] },
  };
}

/** Restores what saveStability wrote, refusing windows of other lengths. */
export function loadStability(s: StabilityState, data: unknown): void {
  type SavedRing = { values: ArrayLike<number>; sum: number };
  const d = data as {
    agents: number[];
    incidents: number[];
    switches: SavedRing;
    agent_ticks: SavedRing;
    reward_n: SavedRing;
    reward_sum: SavedRing;
    reward_sq: SavedRing;
    late: SavedRing;
    totals: StabilityState["totals"];
    promotion: { pass_streak: number; candidate_ready: boolean; last_result: "pass" | "fail" | null; last_evaluated: number | null; window_alerts: string[] };
    alerts: string[];
    last: TickCounts;
  };
  const ring = (r: Ring, s: SavedRing, what: string) => {
    if (s.values.length !== r.size) throw new Error(`stability: saved ${what} window has ${s.values.length} ticks, the config says ${r.size}`);
    r.values.set(s.values);
    r.sum = s.sum;
  };
  s.streak.fill(0);
  s.lastSwitches.fill(0);
  for (let i = 0; i < d.agents.length; i += 3) {
    s.ensure(d.agents[i] + 1);
    s.streak[d.agents[i]] = d.agents[i + 1];
    s.lastSwitches[d.agents[i]] = d.agents[i + 2];
  }
  s.incidents = [...d.incidents];
  ring(s.switches, d.switches, "option_thrash");
  ring(s.agentTicks, d.agent_ticks, "option_thrash");
  ring(s.rewardN, d.reward_n, "reward_variance");
  ring(s.rewardSum, d.reward_sum, "reward_variance");
  ring(s.rewardSq, d.reward_sq, "reward_variance");
  ring(s.late, d.late, "lateness (one day)");
  s.totals = { ...d.totals };
  s.passStreak = d.promotion.pass_streak;
  s.candidateReady = d.promotion.candidate_ready;
  s.lastResult = d.promotion.last_result;
  s.lastEvaluated = d.promotion.last_evaluated;
  s.windowAlerts = [...d.promotion.window_alerts];
  s.alerts = [...d.alerts];
  s.last = { ...d.last, town_max: [...d.last.town_max] };
}

/** Feeds the monitor's state to the world's state hash. */
export function hashStability(s: StabilityState, h: StateHasher): void {
  for (let e = 0; e < s.streak.length; e++) if (s.streak[e] !== 0 || s.lastSwitches[e] !== 0) h.u32(e).u32(s.streak[e]).u32(s.lastSwitches[e]);
  h.u32(s.incidents.length);
  for (const t of s.incidents) h.u32(t);
  for (const r of [s.switches, s.agentTicks, s.rewardN, s.rewardSum, s.rewardSq, s.late]) {
    h.f64(r.sum);
    for (let i = 0; i < r.size; i++) h.f64(r.values[i]);
  }
  h.u32(s.totals.ghost_step_events).u32(s.totals.rotation_events).u32(s.totals.conflicts);
  h.u32(s.passStreak).u32(s.candidateReady ? 1 : 0).str(s.lastResult ?? "").u32(s.lastEvaluated ?? -1);
  h.u32(s.windowAlerts.length);
  for (const a of s.windowAlerts) h.str(a);
  const l = s.last;
  h.u32(l.tick).u32(l.late).u32(l.fails).u32(l.ghost).u32(l.rotations).u32(l.conflicts).u32(l.rivalry).u32(l.reuse ? 1 : 0).u32(l.perturbations);
  for (const m of l.town_max) h.u32(m);
  h.u32(s.alerts.length);
  for (const a of s.alerts) h.str(a);
}
