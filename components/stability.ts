// The stability monitor's public shape (`ctx.resource(StabilityKey)`): the alerts
// and metrics of the last tick and the promotion gate, for telemetry, the console and the
// training loop. Owned by the stability plug-in.
import { defineResource } from "../engine/resource.ts";

/** Alert names, in the order they are raised. */
export const STABILITY_ALERTS = [
  "queue_fairness_pressure",
  "rivalry_spike",
  "starvation_spike",
  "option_thrashing",
  "reward_variance_spike",
  "embedding_reuse_warning",
  "affordance_failures_exceeded",
  "lateness_spike",
] as const;
export type StabilityAlert = (typeof STABILITY_ALERTS)[number];

export interface PromotionStatus {
  /** First tick of the window being evaluated (windows are fixed: [k*W, (k+1)*W)). */
  window_start: number;
  /** Tick the window is judged at. */
  window_end: number;
  window_ticks: number;
  /** Consecutive passing windows. */
  pass_streak: number;
  required_passes: number;
  /** pass_streak >= required_passes. */
  candidate_ready: boolean;
  /** "pass" | "fail" of the last judged window, null before the first. */
  last_result: "pass" | "fail" | null;
  /** Tick the last window was judged, null before the first. */
  last_evaluated_tick: number | null;
  /** Disallowed alerts seen so far in the current window. */
  window_alerts: string[];
}

/** The metrics payload (the original's field names, plus a few of ours). */
export interface StabilityMetrics {
  tick: number;
  starvation_incidents: number;
  starvation_window_ticks: number;
  option_switch_rate: number;
  option_samples: number;
  reward_variance: number;
  reward_mean: number;
  reward_samples: number;
  /** job_late messages this tick, and over the last day. */
  late_arrivals: number;
  late_arrivals_day: number;
  /** affordance_fail messages this tick. */
  affordance_failures: number;
  /** Queue counters since the run began, and this tick's increase. */
  queue_totals: { ghost_step_events: number; rotation_events: number; conflicts: number };
  queue_deltas: { ghost_step_events: number; rotation_events: number; conflicts: number };
  /** Rivalry events this tick with intensity >= conflict.rivalry.avoid_threshold. */
  rivalry_events: number;
  /** The largest count of a single town this tick: the per-tick alerts compare these with their thresholds. */
  town_max: { ghost_step_events: number; rotation_events: number; rivalry_events: number; affordance_failures: number; late_arrivals: number };
  embedding_reuse_warning: boolean;
  /** Perturbations active now (all towns), when the scheduler is present. */
  perturbations_active: number;
  alerts: string[];
  thresholds: Record<string, number>;
  promotion: PromotionStatus;
}

export interface StabilityService {
  /** Alerts raised on the last tick, in STABILITY_ALERTS order. */
  latestAlerts(): string[];
  latestMetrics(): StabilityMetrics;
  promotion(): PromotionStatus;
}

/** The stability plug-in's resource. */
export const StabilityKey = defineResource<StabilityService>("stability");
