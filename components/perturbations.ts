// The perturbation scheduler's public shape (`ctx.resource(PerturbationsKey)`):
// manual scheduling and cancelling for the console, and the `perturbations` block (active,
// pending, cooldowns) for telemetry and console snapshots. Owned by the perturbations plug-in.
import { defineResource } from "../engine/resource.ts";

export const PERTURBATION_KIND_NAMES = ["price_spike", "blackout", "outage", "arranged_meet"] as const;
export type PerturbationKind = (typeof PERTURBATION_KIND_NAMES)[number];

/** One event, pending or active, as the console and telemetry show it. */
export interface PerturbationEventView {
  /** "evt_N". */
  id: string;
  /** Spec name (a key of perturbations.events). */
  spec: string;
  kind: PerturbationKind;
  town: number;
  /** First tick the event is active. */
  starts_at: number;
  /** First tick it is no longer active (starts_at + duration). */
  ends_at: number;
  duration: number;
  /** Price factor of a price spike (1 for other kinds). */
  magnitude: number;
  /** Agents (external ids) of an arranged meet, or the price keys of a spike. */
  targets: string[];
  /** Meeting object id or type (arranged meets), "" otherwise. */
  location: string;
  /** True when scheduled by hand (console), false when the scheduler drew it. */
  manual: boolean;
}

/** The `perturbations` block: what is active, what is waiting, what is cooling down. */
export interface PerturbationStateView {
  /** Ticks completed when the block was taken. */
  tick: number;
  active: PerturbationEventView[];
  pending: PerturbationEventView[];
  cooldowns: {
    /** town -> spec -> first tick the spec may fire again in that town (only future ticks). */
    spec: Record<string, Record<string, number>>;
    /** agent external id -> first tick it may be picked again. */
    agents: Record<string, number>;
  };
  /** Fairness buckets: town -> spec -> credit (an event fires only from a credit >= 1). */
  buckets: Record<string, Record<string, number>>;
  /** spec -> the town that drew it last (absent until it fired once). */
  last_town: Record<string, number>;
  /** Events started since the run began, by town (index: town id). */
  started_by_town: number[];
}

/** Options of a manual event (console `perturbation_trigger`); missing values are drawn from the spec. */
export interface ManualPerturbation {
  /** Ticks from the next scheduler pass to the start (0 = the coming tick). */
  startsIn?: number;
  /** Ticks active (>= 1). */
  duration?: number;
  /** Arranged meet: agent external ids (>= 2, of the town); price spike: price keys. */
  targets?: readonly string[];
  /** Price spike factor (>= 0). */
  magnitude?: number;
  /** Arranged meet: object id or type to meet at. */
  location?: string;
}

/** Error codes of manual scheduling, as the console answers them. */
export type PerturbationErrorCode = "unknown_spec" | "unknown_event" | "invalid_args";

export class PerturbationError extends Error {
  override name = "PerturbationError";
  constructor(
    readonly code: PerturbationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What the perturbations plug-in offers the console and telemetry. */
export interface PerturbationService {
  /** Spec names in config order. */
  specs(): string[];
  /** Queues an event of `spec` in `town`; throws PerturbationError (unknown_spec, invalid_args). */
  schedule(town: number, spec: string, opts?: ManualPerturbation): PerturbationEventView;
  /** Cancels a pending or active event by id ("evt_N"); false when no such event is pending or active. */
  cancel(eventId: string): boolean;
  /** The `perturbations` block. */
  latestState(): PerturbationStateView;
  /** Events active now, all towns (cheap; for per-tick monitors). */
  activeCount(): number;
}

/** The perturbations plug-in's resource. */
export const PerturbationsKey = defineResource<PerturbationService>("perturbations");
