// The page's view of the telemetry state (the mirror's sections and collections, typed) and small
// readers over it shared by the map, the panel, the overview and the charts.
import type { AgentRecordT, JobRecordT, ObjectRecordT, TelemetryEventT, NarrationT } from "../../systems/telemetry/schema.ts";

export type { AgentRecordT, JobRecordT, ObjectRecordT, TelemetryEventT, NarrationT };

export const NEEDS = ["hunger", "hygiene", "energy"] as const;
export type Need = (typeof NEEDS)[number];

export interface Layout {
  grid: { width: number; height: number };
  ticks_per_day: number | null;
  jobs: { job: string; x: number; y: number; start_tick: number; end_tick: number }[];
  perturbation_specs: string[];
}

export interface TownsOverview {
  agents: number[];
  hunger: number[];
  hygiene: number[];
  energy: number[];
  wallet: number[];
  late: number[];
  queued: number[];
}

export interface PerturbationView {
  id: string;
  spec: string;
  kind: string;
  town: number;
  starts_at: number;
  ends_at: number;
}

export interface LoopStatus {
  state: "running" | "paused" | "finished" | "stopped";
  until: number | null;
  ticks_per_second: number | null;
  speed: number | null;
}

/** The mirror's state, as the server publishes it (sections may be missing in other worlds). */
export interface TownState {
  mode?: "full" | "aggregate";
  towns?: number;
  kpis?: Record<string, unknown>;
  aggregates?: { agents: number; by_town?: number[]; mean_needs: Record<string, number>; wallet_mean: number; on_shift: number; queued: number };
  conflict?: { rivalry?: Record<string, Record<string, number>> };
  perturbations?: { active?: PerturbationView[]; pending?: PerturbationView[] };
  stability?: { alerts?: string[] };
  layout?: Layout;
  towns_overview?: TownsOverview;
  reward_breakdown?: Record<string, Record<string, number>>;
  loop?: LoopStatus;
  agents?: Record<string, AgentRecordT>;
  jobs?: Record<string, JobRecordT>;
  objects?: Record<string, ObjectRecordT>;
}

/** The agent's lowest need and its value (the most urgent one). */
export function urgentNeed(a: AgentRecordT): { need: Need; value: number } {
  let need: Need = "hunger";
  let value = a.hunger;
  if (a.hygiene < value) {
    need = "hygiene";
    value = a.hygiene;
  }
  if (a.energy < value) {
    need = "energy";
    value = a.energy;
  }
  return { need, value };
}

/** A number from a KPI path ("exits.total"), 0 when absent. */
export function kpi(state: TownState, path: string): number {
  let v: unknown = state.kpis;
  for (const k of path.split(".")) {
    if (v === null || typeof v !== "object") return 0;
    v = (v as Record<string, unknown>)[k];
  }
  return typeof v === "number" ? v : 0;
}

/** Sum of a KPI map's numbers ("affordances_completed" by affordance). */
export function kpiSum(state: TownState, key: string): number {
  const v = state.kpis?.[key];
  if (!v || typeof v !== "object") return 0;
  let n = 0;
  for (const x of Object.values(v as Record<string, unknown>)) if (typeof x === "number") n += x;
  return n;
}

export const fmt = (v: number, digits = 2): string => (Number.isInteger(v) ? String(v) : v.toFixed(digits));
