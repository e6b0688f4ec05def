// The page's view of the telemetry state (the mirror's sections and collections, typed) and small
// readers over it shared by the map, the panel, the overview and the charts.
import type { AgentRecordT, JobRecordT, ObjectRecordT, TelemetryEventT, NarrationT } from "../../systems/telemetry/schema.ts";

export type { AgentRecordT, JobRecordT, ObjectRecordT, TelemetryEventT, NarrationT };

/** One need of the world, as the server lists it (layout.needs: the config's needs: list). */
export interface NeedInfo {
  name: string;
  label: string;
  colour: string;
}
export type Need = string;

/** Colours for needs a server lists without one (an older server: by the mean_needs keys). */
const PALETTE = ["#f0883e", "#3fa9f5", "#b47cf0", "#2ec4b6", "#e4572e", "#76b041", "#ffc914"];
let needList: readonly NeedInfo[] = [];

/** The world's needs, in order: layout.needs, else the keys of aggregates.mean_needs. */
export function needs(): readonly NeedInfo[] {
  return needList;
}

/** Adopts the needs of a state; true when the list changed (views that list needs rebuild). */
export function adoptNeeds(state: TownState): boolean {
  const given = state.layout?.needs;
  // A state without layout.needs (before the layout arrives, or from an older server) lists only
  // the names: keep the labels and colours a layout gave for the same names.
  if (!(given && given.length > 0) && needList.length > 0) {
    const names = Object.keys(state.aggregates?.mean_needs ?? (state.kpis?.mean_needs as Record<string, number> | undefined) ?? {});
    if (names.length === 0 || (names.length === needList.length && names.every((n, i) => n === needList[i].name))) return false;
  }
  const next: NeedInfo[] =
    given && given.length > 0
      ? given.map((n) => ({ ...n }))
      : Object.keys(state.aggregates?.mean_needs ?? (state.kpis?.mean_needs as Record<string, number> | undefined) ?? {}).map((name, i) => ({ name, label: name, colour: PALETTE[i % PALETTE.length] }));
  if (next.length === 0) return false;
  const same = next.length === needList.length && next.every((n, i) => n.name === needList[i].name && n.label === needList[i].label && n.colour === needList[i].colour);
  if (same) return false;
  needList = next;
  return true;
}

/** The colour of a need (grey when it is not in the list). */
export function needColour(name: string): string {
  return needList.find((n) => n.name === name)?.colour ?? "#8b95a3";
}

/** An agent's level of a need (1 when the record has no such field). */
export function needOf(a: AgentRecordT, name: string): number {
  const v = (a as Record<string, unknown>)[name];
  return typeof v === "number" ? v : 1;
}

export interface Layout {
  grid: { width: number; height: number };
  ticks_per_day: number | null;
  jobs: { job: string; x: number; y: number; start_tick: number; end_tick: number }[];
  perturbation_specs: string[];
  needs?: NeedInfo[];
}

/** Figures per town; one array of means per need of the list, by its name. */
export interface TownsOverview {
  agents: number[];
  wallet: number[];
  late: number[];
  queued: number[];
  [need: string]: number[];
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

/** The agent's lowest need and its value (the most urgent one; the first of equals). */
export function urgentNeed(a: AgentRecordT): { need: Need; value: number } {
  let need: Need = needList[0]?.name ?? "";
  let value = Infinity;
  for (const n of needList) {
    const v = needOf(a, n.name);
    if (v < value) {
      need = n.name;
      value = v;
    }
  }
  return { need, value: value === Infinity ? 1 : value };
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
