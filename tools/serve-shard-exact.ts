// The keys of a sharded world's merged telemetry (tools/serve-shard-stream.ts) that the generic
// merge (engine/shard-blocks.ts mergeValues: lists joined, counts added, means weighted by live
// agents) gets wrong, set to what a one-block world of the same towns publishes by its own rules:
// - economy.towns / towns_listed: each block applied stream.max_towns_listed to its own towns; the
//   world's rule is applied once to the joined list (all towns when the world has at most
//   max_towns_listed, else the world's first max_towns_listed towns off baseline, in town order).
//   A block lists all of its towns only when it has at most max_towns_listed, so the joined list
//   holds every town the world's rule can pick.
// - economy.summary.price_multiplier_mean: a mean over towns, weighted by the blocks' towns (not
//   their live agents).
// - aggregates.by_town: left out when the world has more than max_towns_listed towns.
// - employment.daily_exit_cap (a config value): the config's, not the sum over blocks. Each
//   block's employment system enforces it on its own exit queue (README, Many cores).
// - kpis.price_multiplier_mean: a mean over towns (weighted by the blocks' towns);
//   kpis.rivalry.max_mean: a mean over live agents (its name reads as a max to mergeValues).
// - forced_reuse_rate (kpis.embedding, embedding_metrics): the summed forced reuses over the
//   summed allocations; embedding_metrics.reuse_warning: 0 or 1 (any block's), not a sum.
// - stability.metrics: option_switch_rate weighted by option_samples, reward_mean by
//   reward_samples, reward_variance pooled over the blocks' samples (not a sum); the alert lists
//   (stability.alerts, stability.metrics.alerts, kpis.stability.alerts) each alert once, in
//   STABILITY_ALERTS order; kpis.stability.pass_streak the blocks' least (a window passes for the
//   world when it passes in every block), candidate_ready when every block's is.
// - affordance_timings (affordances.runtime.instrumentation "timings"): per affordance, every count
//   and time summed over the blocks (no mean or max by a key's name: an affordance id such as
//   "hydrate" or "window_limit" read as one to mergeValues), times rounded again to 4 decimals;
//   the console's affordance_timings answer the same (timingsAnswer).
// - narrations: the blocks' own are dropped; the world's are narrated here from the merged
//   events (blocks in order, after stream.max_events_per_tick) through one NarrationLimiter, as
//   a one-block publisher narrates its events.
import type { TelemetryConfig } from "../systems/telemetry/config.ts";
import { DEFAULT_NARRATORS, NarrationLimiter, narrate } from "../systems/telemetry/narration.ts";
import type { NarrationT, TelemetryEventT } from "../systems/telemetry/index.ts";
import { STABILITY_ALERTS } from "../components/stability.ts";
import { sumTimingReports, type AffordanceTiming } from "../systems/affordances/timings.ts";

type Rec = Record<string, unknown>;

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;
/**
 * employment.daily_exit_cap (the telemetry section, or the employment_status console answer): the
 * config's value, as the first block has it, not the sum. `m`: the merged value, changed in place.
 */
export function configCap(m: Rec, values: readonly (Rec | undefined)[]): void {
  const cap = values.map((v) => v?.daily_exit_cap).find((v) => v !== undefined);
  if (cap !== undefined && "daily_exit_cap" in m) m.daily_exit_cap = cap;
}

/** The console's affordance_timings answer over the blocks' (merged: changed in place): the figures summed. */
export function timingsAnswer(m: Rec, values: readonly (Rec | undefined)[]): void {
  if ("affordances" in m) m.affordances = sumTimingReports(values.map((v) => v?.affordances as Record<string, AffordanceTiming> | undefined));
}

/** The sections this module sets right. */
const FIXED = new Set(["economy", "aggregates", "employment", "kpis", "embedding_metrics", "stability"]);

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
/** The value at `path` of a block's section. */
function at(v: Rec | undefined, path: readonly string[]): unknown {
  let x: unknown = v;
  for (const k of path) x = x !== null && typeof x === "object" ? (x as Rec)[k] : undefined;
  return x;
}

/** Σ x·w / Σ w over the blocks that have both (undefined when none has weight). */
function weighted(vals: readonly (Rec | undefined)[], path: readonly string[], weight: (v: Rec | undefined, b: number) => number | undefined): number | undefined {
  let sum = 0;
  let wsum = 0;
  vals.forEach((v, b) => {
    const x = num(at(v, path));
    const w = weight(v, b);
    if (x === undefined || w === undefined) return;
    sum += x * w;
    wsum += w;
  });
  return wsum > 0 ? sum / wsum : undefined;
}

/** Sets `path` of `m` to `x` when both exist. */
function put(m: Rec, path: readonly string[], x: unknown): void {
  const parent = at(m, path.slice(0, -1));
  if (x === undefined || parent === null || typeof parent !== "object") return;
  const last = path[path.length - 1];
  if (last in (parent as Rec)) (parent as Rec)[last] = x;
}

/** Every block's alerts, each once, in STABILITY_ALERTS order (others after, as first met). */
function alerts(vals: readonly (Rec | undefined)[], path: readonly string[]): string[] {
  const all: string[] = [];
  for (const v of vals) for (const a of (at(v, path) as unknown[] | undefined) ?? []) if (typeof a === "string" && !all.includes(a)) all.push(a);
  const order = (a: string) => {
    const i = (STABILITY_ALERTS as readonly string[]).indexOf(a);
    return i < 0 ? STABILITY_ALERTS.length + all.indexOf(a) : i;
  };
  return all.sort((a, b) => order(a) - order(b));
}

function kpis(m: Rec, vals: readonly (Rec | undefined)[], towns: readonly number[], agents: readonly number[]): void {
  put(m, ["price_multiplier_mean"], weighted(vals, ["price_multiplier_mean"], (_, b) => towns[b]));
  put(m, ["rivalry", "max_mean"], weighted(vals, ["rivalry", "max_mean"], (_, b) => agents[b]));
  if (m.embedding && typeof m.embedding === "object") embedding(m.embedding as Rec, vals.map((v) => at(v, ["embedding"]) as Rec | undefined), false);
  put(m, ["stability", "alerts"], at(m, ["stability", "alerts"]) === undefined ? undefined : alerts(vals, ["stability", "alerts"]));
  const streaks = vals.map((v) => num(at(v, ["stability", "pass_streak"]))).filter((x) => x !== undefined);
  if (streaks.length > 0) put(m, ["stability", "pass_streak"], Math.min(...streaks));
  const ready = vals.map((v) => at(v, ["stability", "candidate_ready"])).filter((x) => typeof x === "boolean");
  if (ready.length > 0) put(m, ["stability", "candidate_ready"], ready.every((x) => x));
}

/** The embedding allocator's figures: the rate from the summed counts; the warning any block's (0/1 in embedding_metrics). */
function embedding(m: Rec, vals: readonly (Rec | undefined)[], numeric: boolean): void {
  const sum = (k: string) => vals.reduce((a, v) => a + (num(v?.[k]) ?? 0), 0);
  if (typeof m.forced_reuse_rate === "number") m.forced_reuse_rate = sum("forced_reuse_count") / Math.max(1, sum("allocations_total"));
  if (numeric && typeof m.reuse_warning === "number") m.reuse_warning = vals.some((v) => num(v?.reuse_warning) === 1 || v?.reuse_warning === true) ? 1 : 0;
}

/** The stability monitor's figures over every block's samples. */
function stability(m: Rec, vals: readonly (Rec | undefined)[]): void {
  const met = ["metrics"];
  const by = (k: string) => (v: Rec | undefined) => num(at(v, [...met, k]));
  put(m, [...met, "option_switch_rate"], weighted(vals, [...met, "option_switch_rate"], by("option_samples")));
  const mean = weighted(vals, [...met, "reward_mean"], by("reward_samples"));
  put(m, [...met, "reward_mean"], mean ?? 0);
  // Pooled: E[x²] of each block is its variance + mean²; variance = E[x²] − mean².
  const sq = weighted(vals, [...met, "reward_variance"], by("reward_samples"));
  const meanSq = weighted(
    vals.map((v) => ({ x: (num(at(v, [...met, "reward_mean"])) ?? 0) ** 2, n: by("reward_samples")(v) })),
    ["x"],
    (v) => num(v?.n),
  );
  put(m, [...met, "reward_variance"], mean === undefined || sq === undefined || meanSq === undefined ? 0 : Math.max(0, sq + meanSq - mean * mean));
  for (const path of [["alerts"], [...met, "alerts"]]) if (Array.isArray(at(m, path))) put(m, path, alerts(vals, path));
}

/** A town record off baseline, as the economy's rule reads it (engine price multiplier 1, power and water on). */
function offBaseline(r: Rec): boolean {
  return r.price_multiplier !== 1 || r.power === false || r.water === false;
}

export class ExactMerge {
  private readonly limiter: NarrationLimiter;

  constructor(
    private readonly cfg: TelemetryConfig,
    private readonly worldTowns: number,
  ) {
    this.limiter = new NarrationLimiter(cfg.narration);
  }

  /**
   * Section `name` as mergeValues merged it (`merged`) set right by the one-block rules. `values`:
   * each block's; `towns`: each block's towns; `agents`: each block's live agents.
   */
  section(name: string, merged: unknown, values: readonly unknown[], towns: readonly number[], agents: readonly number[]): unknown {
    if (name === "affordance_timings") return sumTimingReports(values as readonly (Record<string, AffordanceTiming> | undefined)[]);
    if (merged === null || typeof merged !== "object" || !FIXED.has(name)) return merged;
    // mergeValues hands back a block's own value (the mirror's) when only that block has it.
    const m = (values.includes(merged) ? structuredClone(merged) : merged) as Rec;
    const maxListed = this.cfg.stream.max_towns_listed;
    const vals = values as readonly (Rec | undefined)[];
    if (name === "economy") this.economy(m, values, maxListed);
    else if (name === "kpis") kpis(m, vals, towns, agents);
    else if (name === "embedding_metrics") embedding(m, vals, true);
    else if (name === "stability") stability(m, vals);
    else if (name === "aggregates" && this.worldTowns > maxListed) delete m.by_town;
    else if (name === "employment") configCap(m, vals);
    return m;
  }

  private economy(m: Rec, values: readonly unknown[], maxListed: number): void {
    const all = this.worldTowns <= maxListed;
    if (Array.isArray(m.towns)) m.towns = all ? m.towns : (m.towns as Rec[]).filter(offBaseline).slice(0, maxListed);
    if (typeof m.towns_listed === "string") m.towns_listed = all ? "all" : "off_baseline";
    const summary = m.summary as Rec | undefined;
    if (summary && typeof summary.price_multiplier_mean === "number") {
      let sum = 0;
      let towns = 0;
      for (const v of values) {
        const s = (v as Rec | undefined)?.summary as Rec | undefined;
        if (typeof s?.towns !== "number" || typeof s.price_multiplier_mean !== "number") continue;
        sum += s.price_multiplier_mean * s.towns;
        towns += s.towns;
      }
      summary.price_multiplier_mean = towns > 0 ? round4(sum / towns) : 0;
    }
  }

  /** The world's narrations of this tick's merged events (called once per merged payload, in order). */
  narrations(tick: number, events: readonly TelemetryEventT[]): NarrationT[] {
    return narrate(tick, events, DEFAULT_NARRATORS, this.limiter);
  }
}
