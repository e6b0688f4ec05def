// Need decay (phase: needs, set NeedsSets.Decay). Owns the `needs` section (the list of needs as
// data, systems/needs/config.ts) and provides NeedsKey (the table and the columns in table
// order). Reads each need's decay rate and, when features.behavior.reward_multipliers is on,
// the Personality column `<need>_mult` where the profile has one; writes Needs.
// Every need of every agent falls by its rate (times its multiplier) each tick, clamped to [0,1].
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { Needs, NeedsKey, needTable, type NeedTable, type NeedsService } from "../../components/needs.ts";
import { Personality } from "../../components/people.ts";
import { NeedsSets } from "../../components/sets.ts";
import { NeedsSection, needsProblems } from "./config.ts";
import { needsCommands } from "./commands.ts";
import { needsTelemetry } from "./telemetry.ts";
import { needsObservations } from "./observations.ts";

/** The table and live columns of one world. Derived from config: not hashed, not snapshotted. */
class NeedsState implements NeedsService {
  readonly table: NeedTable;
  /** Decay rate per need, in table order. */
  readonly rates: Float64Array;
  private readonly cols: Float32Array[];
  private readonly mults: (Float32Array | undefined)[];
  private readonly source: Record<string, Float32Array>;
  private readonly multSource: Record<string, Float32Array> | undefined;
  private readonly multKeys: string[];

  constructor(private readonly world: World) {
    this.table = needTable(world.settings);
    this.rates = Float64Array.from(this.table.list, (n) => n.decay);
    this.source = world.columns(Needs) as unknown as Record<string, Float32Array>;
    this.multSource = world.components.isRegistered(Personality) ? (world.columns(Personality) as unknown as Record<string, Float32Array>) : undefined;
    this.cols = this.table.list.map((n) => this.source[n.name]);
    this.multKeys = this.table.list.map((n) => `${n.name}_mult`);
    this.mults = this.multKeys.map((key) => this.multSource?.[key]);
  }

  columns(): readonly Float32Array[] {
    const cols = this.cols;
    // The store replaces every column when it grows: the first tells whether they moved.
    if (cols.length > 0 && cols[0] !== this.source[this.table.list[0].name]) {
      for (let k = 0; k < cols.length; k++) cols[k] = this.source[this.table.list[k].name];
    }
    return cols;
  }

  /** Personality multiplier columns by need (undefined: the profile has none for it). */
  multipliers(): readonly (Float32Array | undefined)[] {
    const m = this.mults;
    if (this.multSource !== undefined) for (let k = 0; k < m.length; k++) m[k] = this.multSource[this.multKeys[k]];
    return m;
  }
}

export const needsPlugin = definePlugin({
  name: "needs",
  telemetry: needsTelemetry,
  observations: needsObservations,
  commands: needsCommands,
  doc: "the needs as data (needs:) and their decay: each need falls by its rate per tick, clamped to [0,1]",
  sections: { needs: NeedsSection },
  checks: needsProblems,
  components: { Needs, Personality },
  provides: [NeedsKey],
  state: (world: World) => new NeedsState(world),
  onAgentSpawn({ world, rng, state }, eid) {
    world.addComponent(eid, Needs);
    // New agents start within their need's initial range (the original: between half and full).
    const cols = state.columns();
    const list = state.table.list;
    for (let k = 0; k < list.length; k++) {
      const [lo, hi] = list[k].initial;
      cols[k][eid] = lo + (hi - lo) * rng.next();
    }
  },
  kpis({ world, state }) {
    const agents = world.agents;
    const cols = state.columns();
    const n = Math.max(1, agents.length);
    const mean: Record<string, number> = {};
    state.table.list.forEach((need, k) => {
      let sum = 0;
      for (let i = 0; i < agents.length; i++) sum += cols[k][agents[i]];
      mean[need.name] = sum / n;
    });
    return { mean_needs: mean };
  },
  systems: [
    {
      name: "needs/decay",
      phase: "needs",
      sets: [NeedsSets.Decay],
      reads: ["needs.*.decay (rewards.decay_rates)", "features.behavior.reward_multipliers", "Personality.<need>_mult"],
      writes: ["Needs"],
      run({ spans, settings, state }) {
        if (settings.features.behavior.reward_multipliers) decayNeedsScaled(spans, state.columns(), state.rates, state.multipliers());
        else decayNeeds(spans, state.columns(), state.rates);
      },
    },
  ],
});

/** The decay pass, exported for the kernel benchmark: column k falls by rates[k], clamped to [0,1]. */
export function decayNeeds(spans: Int32Array, cols: readonly Float32Array[], rates: ArrayLike<number>): void {
  for (let k = 0; k < cols.length; k++) decayColumn(spans, cols[k], rates[k]);
}

function decayColumn(spans: Int32Array, col: Float32Array, r: number): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      const a = col[eid] - r;
      col[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
    }
  }
}

/**
 * The decay pass with per-agent multipliers (the original applies the profile's need multiplier
 * to the rate). A need without a multiplier column, or an agent without Personality (the
 * column's default, 1), decays at its plain rate.
 */
export function decayNeedsScaled(spans: Int32Array, cols: readonly Float32Array[], rates: ArrayLike<number>, mults: readonly (Float32Array | undefined)[]): void {
  for (let k = 0; k < cols.length; k++) {
    const m = mults[k];
    if (m === undefined) {
      decayColumn(spans, cols[k], rates[k]);
      continue;
    }
    const col = cols[k];
    const r = rates[k];
    for (let s = 0; s < spans.length; s += 2) {
      const end = spans[s + 1];
      for (let eid = spans[s]; eid < end; eid++) {
        const a = col[eid] - r * m[eid];
        col[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      }
    }
  }
}
