// Stability monitor (phase: telemetry). Every tick it measures the town population (all towns
// together: a policy is promoted or rolled back as a whole) over rolling windows, raises alerts
// and judges the promotion gate. Reads Needs.hunger, Option.switches, Reward.total, the
// messages job_late, affordance_fail, queue_conflict and queue_interaction, the observations
// service's embedding metrics and the perturbation service when present; writes its resource.
//
// Alerts, in order (stability.* thresholds). The per-tick counts (queue pressure, rivalry,
// failures, lateness) are taken per town, since each town is an environment of its own: the
// alert fires when one town reaches the threshold (with one town: the original's rule). The
// windowed canaries (starvation, option thrash, reward variance) pool every town.
//   queue_fairness_pressure      ghost steps (queue_conflict reason ghost_step) or rotations
//                                (ghost steps + handovers) this tick >= 5
//   rivalry_spike                queue conflicts this tick with intensity >= conflict.rivalry.avoid_threshold >= 5
//   starvation_spike             starvation incidents within starvation.window_ticks > max_incidents; an incident
//                                is an agent's streak of hunger <= hunger_threshold reaching min_duration_ticks
//                                (counted once until the agent recovers)
//   option_thrashing             option switches per agent-tick over option_thrash.window_ticks > max_switch_rate,
//                                judged once min_samples agent-ticks are in the window
//   reward_variance_spike        population variance of every agent's Reward.total over reward_variance.window_ticks
//                                > max_variance, judged once min_samples rewards are in the window
//   embedding_reuse_warning      the embedding allocator's reuse_warning
//   affordance_failures_exceeded affordance_fail messages this tick > affordance_fail_threshold
//   lateness_spike               job_late messages (late arrivals) this tick > lateness_threshold
// Promotion: fixed windows of promotion.window_ticks (window k covers ticks kW+1..(k+1)W and is
// judged at tick (k+1)W). A window passes when no alert outside promotion.allowed_alerts was
// raised in it; a pass adds one to pass_streak, a fail resets it to 0; candidate_ready =
// pass_streak >= required_passes.
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { MessageDef, MessageFields, MessageView } from "../../engine/message.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import { Town } from "../../engine/core-components.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Needs } from "../../components/needs.ts";
import { Option } from "../../components/activity.ts";
import { Reward } from "../../components/people.ts";
import { AffordanceFail, JobLate, QueueConflict, QueueHandover } from "../../components/messages.ts";
import { STABILITY_ALERTS, type PromotionStatus, type StabilityMetrics, type StabilityService, StabilityKey } from "../../components/stability.ts";
import { sections, type StabilityConfig } from "./config.ts";
import { PerturbationsKey } from "../../components/perturbations.ts";
import { ObservationsKey } from "../../components/observations.ts";
import { stabilityTelemetry } from "./telemetry.ts";
import { PT_FAILS, PT_GHOST, PT_KINDS, PT_LATE, PT_RIVALRY, PT_ROTATIONS, PerTown, Ring, type TickCounts } from "./windows.ts";
import { hashStability, loadStability, saveStability } from "./persist.ts";
import { NO_F32, NO_U32, NO_U8, ScanKernels } from "./scan.ts";

export { STABILITY_ALERTS } from "../../components/stability.ts";
export type { PromotionStatus, StabilityMetrics, StabilityService } from "../../components/stability.ts";

/** Ghost steps or rotations per tick that signal queue fairness pressure (the original's constant). */
export const QUEUE_PRESSURE_EVENTS = 5;
/** Rivalry events per tick (at or above the avoid threshold) that make a spike (the original's constant). */
export const RIVALRY_SPIKE_EVENTS = 5;

export class StabilityState implements PersistentState, StabilityService {
  readonly cfg: StabilityConfig;
  /** Per entity: consecutive ticks at or below the starvation threshold. */
  streak = new Int32Array(0);
  /** Per entity: Option.switches when last seen. */
  lastSwitches = new Uint32Array(0);
  /** Ticks of starvation incidents within the window, oldest first. */
  incidents: number[] = [];
  switches: Ring;
  agentTicks: Ring;
  rewardN: Ring;
  rewardSum: Ring;
  rewardSq: Ring;
  late: Ring;
  totals = { ghost_step_events: 0, rotation_events: 0, conflicts: 0 };
  // Promotion gate.
  passStreak = 0;
  candidateReady = false;
  lastResult: "pass" | "fail" | null = null;
  lastEvaluated: number | null = null;
  windowAlerts: string[] = [];
  // Last tick's outcome.
  alerts: string[] = [];
  /** Last tick's counts; the metrics payload is built from them (and the windows) on demand. */
  last: TickCounts = { tick: 0, late: 0, fails: 0, ghost: 0, rotations: 0, conflicts: 0, rivalry: 0, reuse: false, perturbations: 0, town_max: [0, 0, 0, 0, 0] };
  private readonly perTown: PerTown;
  /** The pass over the agents, generated per world (scan.ts). */
  private readonly scan = new ScanKernels();
  private readonly allowed: Set<string>;
  private readonly hasPerturbations: boolean;
  private readonly hasObservations: boolean;

  constructor(readonly world: World) {
    this.cfg = (world.settings as Partial<ConfigSections>).stability ?? sections.stability.parse(undefined);
    const c = this.cfg;
    this.switches = new Ring(c.option_thrash.window_ticks);
    this.agentTicks = new Ring(c.option_thrash.window_ticks);
    this.rewardN = new Ring(c.reward_variance.window_ticks);
    this.rewardSum = new Ring(c.reward_variance.window_ticks);
    this.rewardSq = new Ring(c.reward_variance.window_ticks);
    this.late = new Ring(ticksPerDay(world.settings));
    this.allowed = new Set(c.promotion.allowed_alerts);
    this.hasPerturbations = world.hasPlugin("perturbations");
    this.perTown = new PerTown(world.towns);
    this.hasObservations = world.hasPlugin("observations");
    this.ensure(world.agentIdLimit());
  }

  ensure(n: number): void {
    if (n <= this.streak.length) return;
    // Exact at first (the world's ids), then by a quarter: doubling from 16 left up to 2x slack (#19).
    const cap = this.streak.length === 0 ? Math.max(16, n) : Math.max(n, Math.ceil(this.streak.length * 1.25));
    const s = new Int32Array(cap);
    s.set(this.streak);
    this.streak = s;
    const l = new Uint32Array(cap);
    l.set(this.lastSwitches);
    this.lastSwitches = l;
  }

  /** A new agent starts with no streak and its current switch count as the baseline. */
  track(eid: number): void {
    this.ensure(eid + 1);
    this.streak[eid] = 0;
    const w = this.world;
    this.lastSwitches[eid] = w.components.isRegistered(Option) ? w.columns(Option).switches[eid] : 0;
  }

  forget(eid: number): void {
    if (eid >= this.streak.length) return;
    this.streak[eid] = 0;
    this.lastSwitches[eid] = 0;
  }

  // ---- the tick ----------------------------------------------------------------------------------

  step(tick: number, agents: Int32Array, spans: Int32Array, read: <F extends MessageFields>(def: MessageDef<F>) => MessageView<F>): void {
    const w = this.world;
    if (agents.length > 0) this.ensure(agents[agents.length - 1] + 1);
    this.scanAgents(tick, agents.length, spans);
    this.countMessages(tick, read);
    const reuse = embeddingReuseWarning(w, this.hasObservations);
    this.raiseAlerts(reuse);
    this.judgePromotion(tick);
    const l = this.last;
    l.tick = tick;
    l.reuse = reuse;
    l.perturbations = activePerturbations(w, this.hasPerturbations);
  }

  /**
   * One pass over the agents (issue #19: was three): starvation streaks and the incidents within
   * the window, option switches (deltas of Option.switches) per agent-tick, and every agent's
   * reward this tick (count, sum, sum of squares; summed in agent order as before). `spans`: the
   * agents as runs of consecutive ids.
   */
  private scanAgents(tick: number, nAgents: number, spans: Int32Array): void {
    const w = this.world;
    const sc = this.cfg.starvation;
    const reg = w.components;
    const needs = reg.isRegistered(Needs);
    const options = reg.isRegistered(Option);
    const rewards = reg.isRegistered(Reward);
    const kernel = this.scan.get(
      needs ? reg.flags(Needs) : NO_U8,
      needs ? w.columns(Needs).hunger : NO_F32,
      this.streak,
      options ? w.columns(Option).switches : NO_U32,
      this.lastSwitches,
      rewards ? reg.flags(Reward) : NO_U8,
      rewards ? w.columns(Reward).total : NO_F32,
      needs ? 1 : 0,
      options ? 1 : 0,
      rewards ? 1 : 0,
      spans,
      Math.fround(sc.hunger_threshold),
      sc.min_duration_ticks,
    );
    // Needs are float32: a hunger set to the threshold itself counts as at it.
    const incidents = kernel(spans, Math.fround(sc.hunger_threshold), sc.min_duration_ticks);
    const out = this.scan.sums;
    for (let k = 0; k < incidents; k++) this.incidents.push(tick);
    while (this.incidents.length > 0 && this.incidents[0] <= tick - sc.window_ticks) this.incidents.shift();
    this.switches.add(tick, out[0]);
    this.agentTicks.add(tick, nAgents);
    this.rewardN.add(tick, out[1]);
    this.rewardSum.add(tick, out[2]);
    this.rewardSq.add(tick, out[3]);
  }

  /**
   * This tick's messages, counted in total (into this.last) and per town (a town is an environment
   * of its own: the per-tick alerts fire when any one town reaches the threshold).
   */
  private countMessages(tick: number, read: <F extends MessageFields>(def: MessageDef<F>) => MessageView<F>): void {
    const w = this.world;
    const town = w.columns(Town).id;
    const pt = this.perTown;
    const jl = read(JobLate);
    const late = jl.count;
    for (let i = jl.start; i < jl.end; i++) pt.count(PT_LATE, town[jl.agent[i]]);
    this.late.add(tick, late);
    const af = read(AffordanceFail);
    const fails = af.count;
    for (let i = af.start; i < af.end; i++) pt.count(PT_FAILS, town[af.agent[i]]);
    const qc = read(QueueConflict);
    const avoid = (w.settings as Partial<ConfigSections>).conflict?.rivalry?.avoid_threshold ?? 0.7;
    let ghost = 0;
    let rivalry = 0;
    for (let i = qc.start; i < qc.end; i++) {
      const t = town[qc.object[i]];
      if (w.text(qc.reason[i]) === "ghost_step") {
        ghost++;
        pt.count(PT_GHOST, t);
        pt.count(PT_ROTATIONS, t);
      }
      if (qc.intensity[i] >= avoid) {
        rivalry++;
        pt.count(PT_RIVALRY, t);
      }
    }
    const ho = read(QueueHandover);
    for (let i = ho.start; i < ho.end; i++) pt.count(PT_ROTATIONS, town[ho.object[i]]);
    const rotations = ghost + ho.count;
    this.totals.ghost_step_events += ghost;
    this.totals.rotation_events += rotations;
    this.totals.conflicts += qc.count;
    const l = this.last;
    l.late = late;
    l.fails = fails;
    l.ghost = ghost;
    l.rotations = rotations;
    l.conflicts = qc.count;
    l.rivalry = rivalry;
  }

  /** This tick's alerts, in STABILITY_ALERTS order; resets the per-town counts. */
  private raiseAlerts(reuse: boolean): void {
    const c = this.cfg;
    const sc = c.starvation;
    const pt = this.perTown;
    const l = this.last;
    const alerts: string[] = [];
    const raise = (name: (typeof STABILITY_ALERTS)[number], cond: boolean) => {
      if (cond) alerts.push(name);
    };
    raise("queue_fairness_pressure", pt.max[PT_GHOST] >= QUEUE_PRESSURE_EVENTS || pt.max[PT_ROTATIONS] >= QUEUE_PRESSURE_EVENTS);
    raise("rivalry_spike", pt.max[PT_RIVALRY] >= RIVALRY_SPIKE_EVENTS);
    raise("starvation_spike", this.incidents.length > sc.max_incidents);
    raise("option_thrashing", this.agentTicks.sum >= c.option_thrash.min_samples && this.switchRate() > c.option_thrash.max_switch_rate);
    raise("reward_variance_spike", this.rewardN.sum >= c.reward_variance.min_samples && this.rewardStats().variance > c.reward_variance.max_variance);
    raise("embedding_reuse_warning", reuse);
    raise("affordance_failures_exceeded", pt.max[PT_FAILS] > c.affordance_fail_threshold);
    raise("lateness_spike", pt.max[PT_LATE] > c.lateness_threshold);
    this.alerts = alerts;
    for (let k = 0; k < PT_KINDS; k++) l.town_max[k] = pt.max[k];
    pt.clear();
  }

  /** The promotion gate: alerts outside allowed_alerts fail the window; judged at its last tick. */
  private judgePromotion(tick: number): void {
    const c = this.cfg;
    const alerts = this.alerts;
    for (const a of alerts) if (!this.allowed.has(a) && !this.windowAlerts.includes(a)) this.windowAlerts.push(a);
    const W = c.promotion.window_ticks;
    if (tick % W === 0) {
      const pass = this.windowAlerts.length === 0;
      this.passStreak = pass ? this.passStreak + 1 : 0;
      this.candidateReady = this.passStreak >= c.promotion.required_passes;
      this.lastResult = pass ? "pass" : "fail";
      this.lastEvaluated = tick;
      this.windowAlerts = [];
    }
  }

  switchRate(): number {
    return this.agentTicks.sum > 0 ? this.switches.sum / this.agentTicks.sum : 0;
  }

  rewardStats(): { mean: number; variance: number } {
    const n = this.rewardN.sum;
    if (n <= 0) return { mean: 0, variance: 0 };
    const mean = this.rewardSum.sum / n;
    return { mean, variance: Math.max(0, this.rewardSq.sum / n - mean * mean) };
  }

  latestMetrics(): StabilityMetrics {
    const t = this.last;
    const tick = t.tick;
    const c = this.cfg;
    const { mean, variance } = this.rewardStats();
    return {
      tick,
      starvation_incidents: this.incidents.length,
      starvation_window_ticks: c.starvation.window_ticks,
      option_switch_rate: this.switchRate(),
      option_samples: this.agentTicks.sum,
      reward_variance: variance,
      reward_mean: mean,
      reward_samples: this.rewardN.sum,
      late_arrivals: t.late,
      late_arrivals_day: this.late.sum,
      affordance_failures: t.fails,
      queue_totals: { ...this.totals },
      queue_deltas: { ghost_step_events: t.ghost, rotation_events: t.rotations, conflicts: t.conflicts },
      rivalry_events: t.rivalry,
      town_max: {
        ghost_step_events: t.town_max[PT_GHOST],
        rotation_events: t.town_max[PT_ROTATIONS],
        rivalry_events: t.town_max[PT_RIVALRY],
        affordance_failures: t.town_max[PT_FAILS],
        late_arrivals: t.town_max[PT_LATE],
      },
      embedding_reuse_warning: t.reuse,
      perturbations_active: t.perturbations,
      alerts: [...this.alerts],
      thresholds: {
        affordance_fail_threshold: c.affordance_fail_threshold,
        lateness_threshold: c.lateness_threshold,
        starvation_max_incidents: c.starvation.max_incidents,
        starvation_hunger_threshold: c.starvation.hunger_threshold,
        starvation_min_duration_ticks: c.starvation.min_duration_ticks,
        option_thrash_max_switch_rate: c.option_thrash.max_switch_rate,
        option_thrash_min_samples: c.option_thrash.min_samples,
        reward_variance_max_variance: c.reward_variance.max_variance,
        reward_variance_min_samples: c.reward_variance.min_samples,
        queue_fairness_events: QUEUE_PRESSURE_EVENTS,
        rivalry_spike_events: RIVALRY_SPIKE_EVENTS,
      },
      promotion: this.promotion(tick),
    };
  }

  // ---- the service -------------------------------------------------------------------------------

  latestAlerts(): string[] {
    return [...this.alerts];
  }

  promotion(tick = this.world.tick): PromotionStatus {
    const W = this.cfg.promotion.window_ticks;
    const start = Math.floor(tick / W) * W;
    return {
      window_start: start,
      window_end: start + W,
      window_ticks: W,
      pass_streak: this.passStreak,
      required_passes: this.cfg.promotion.required_passes,
      candidate_ready: this.candidateReady,
      last_result: this.lastResult,
      last_evaluated_tick: this.lastEvaluated,
      window_alerts: [...this.windowAlerts],
    };
  }

  // ---- persistence (persist.ts) --------------------------------------------------------------------

  save(): unknown {
    return saveStability(this);
  }

  load(data: unknown): void {
    loadStability(this, data);
  }

  hash(h: StateHasher): void {
    hashStability(this, h);
  }
}


/** Perturbations active now, through the perturbation service when present. */
function activePerturbations(world: World, present: boolean): number {
  if (!present) return 0;
  return world.optionalResource(PerturbationsKey)?.activeCount() ?? 0;
}

/** The embedding allocator's reuse warning, through the observations service when present. */
function embeddingReuseWarning(world: World, present: boolean): boolean {
  if (!present) return false;
  return world.optionalResource(ObservationsKey)?.embeddingMetrics?.().reuse_warning ?? false;
}

export const stabilityPlugin = definePlugin({
  name: "stability",
  telemetry: stabilityTelemetry,
  provides: [StabilityKey],
  optional: [PerturbationsKey, ObservationsKey],
  doc: "stability monitor: starvation, lateness, option thrash, reward variance, queue and rivalry pressure, failures; promotion gate",
  sections,
  messages: [JobLate, AffordanceFail, QueueConflict, QueueHandover],
  state: (world: World) => new StabilityState(world),
  onAgentReady({ state }, eid) {
    state.track(eid);
  },
  onAgentRemove({ state }, eid) {
    state.forget(eid);
  },
  kpis({ state }) {
    const p = state.promotion();
    return { stability: { alerts: state.latestAlerts(), pass_streak: p.pass_streak, candidate_ready: p.candidate_ready } };
  },
  systems: [
    {
      name: "stability/monitor",
      phase: "telemetry",
      reads: ["Needs.hunger", "Option.switches", "Reward.total", "job_late", "affordance_fail", "queue_conflict", "queue_interaction", "embedding metrics", "perturbations"],
      writes: ["stability resource (alerts, metrics, promotion)"],
      run({ tick, agents, spans, state, read }) {
        state.step(tick, agents, spans, read);
      },
    },
  ],
});

export function stabilityState(world: World): StabilityState {
  return world.state<StabilityState>("stability");
}

/** Alerts raised on the last tick (TelemetryPublisher.latest_stability_alerts). */
export function latestAlerts(world: World): string[] {
  return stabilityState(world).latestAlerts();
}

/** The metrics payload of the last tick (TelemetryPublisher.latest_stability_metrics). */
export function latestMetrics(world: World): StabilityMetrics {
  return stabilityState(world).latestMetrics();
}

/** The promotion gate's status. */
export function promotionStatus(world: World): PromotionStatus {
  return stabilityState(world).promotion();
}
