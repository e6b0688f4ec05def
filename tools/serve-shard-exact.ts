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
// - narrations: the blocks' own are dropped; the world's are narrated here from the merged
//   events (blocks in order, after stream.max_events_per_tick) through one NarrationLimiter, as
//   a one-block publisher narrates its events.
import type { TelemetryConfig } from "../systems/telemetry/config.ts";
import { DEFAULT_NARRATORS, NarrationLimiter, narrate } from "../systems/telemetry/narration.ts";
import type { NarrationT, TelemetryEventT } from "../systems/telemetry/index.ts";

type Rec = Record<string, unknown>;

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

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

  /** Section `name` as merged (`merged`, a fresh value) set right by the one-block rules; `values`: each block's. */
  section(name: string, merged: unknown, values: readonly unknown[]): unknown {
    if (merged === null || typeof merged !== "object" || !["economy", "aggregates", "employment"].includes(name)) return merged;
    // mergeValues hands back a block's own value (the mirror's) when only that block has it.
    const m = (values.includes(merged) ? structuredClone(merged) : merged) as Rec;
    const maxListed = this.cfg.stream.max_towns_listed;
    if (name === "economy") this.economy(m, values, maxListed);
    else if (name === "aggregates" && this.worldTowns > maxListed) delete m.by_town;
    else if (name === "employment") {
      const cap = values.map((v) => (v as Rec | undefined)?.daily_exit_cap).find((v) => v !== undefined);
      if (cap !== undefined) m.daily_exit_cap = cap;
    }
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
