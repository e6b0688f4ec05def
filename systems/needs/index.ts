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
import { needsRewardTerms } from "./reward.ts";
import { compileDecay, primeDecay, type DecayKernel } from "./decay-kernel.ts";

const NO_COLUMN = new Float32Array(0);

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
    this.cols = this.table.list.map(() => NO_COLUMN); // taken on first use (columns())
    this.multKeys = this.table.list.map((n) => `${n.name}_mult`);
    // Filled when asked (multipliers()): arrays taken here would be the columns before the
    // world's trim (issue #19) and, unused in unscaled worlds, would keep them alive.
    this.mults = this.multKeys.map(() => undefined);
  }

  columns(): readonly Float32Array[] {
    const cols = this.cols;
    // The store replaces every column when it grows: the first tells whether they moved.
    if (cols.length > 0 && cols[0] !== this.source[this.table.list[0].name]) {
      for (let k = 0; k < cols.length; k++) cols[k] = this.source[this.table.list[k].name];
    }
    return cols;
  }

  /** The generated kernel and the columns it was made for (systems/needs/decay-kernel.ts). */
  private kernel: DecayKernel | undefined;
  private kernelFor: (Float32Array | undefined)[] = [];
  private kernelScaled = false;
  private noCodegen = false;

  /** One decay pass. The generated kernel, remade when a column moved (the store grew). */
  decay(spans: Int32Array, scaled: boolean): void {
    const cols = this.columns();
    const mults = scaled ? this.multipliers() : undefined;
    if (!this.noCodegen && (this.kernel === undefined || scaled !== this.kernelScaled || this.moved(cols, mults))) {
      this.kernel = compileDecay(cols, mults);
      this.noCodegen = this.kernel === undefined;
      // Its loop optimised before the first long run, the primed agent's needs put back (issue #19).
      if (this.kernel !== undefined) primeDecay(this.kernel, cols, spans, this.rates);
      this.kernelScaled = scaled;
      this.kernelFor = mults === undefined ? [...cols] : [...cols, ...mults];
    }
    if (this.kernel !== undefined) this.kernel(spans, this.rates);
    else if (mults !== undefined) decayNeedsScaled(spans, cols, this.rates, mults);
    else decayNeeds(spans, cols, this.rates);
  }

  private moved(cols: readonly Float32Array[], mults: readonly (Float32Array | undefined)[] | undefined): boolean {
    const was = this.kernelFor;
    for (let k = 0; k < cols.length; k++) if (was[k] !== cols[k]) return true;
    if (mults !== undefined) for (let k = 0; k < mults.length; k++) if (was[cols.length + k] !== mults[k]) return true;
    return false;
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
  rewardTerms: needsRewardTerms,
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
    // The columns by name, not state.columns(): that cache, filled during the build, would keep
    // the columns from before the world's trim alive until the first tick (issue #19 memory).
    const cols = world.columns(Needs) as unknown as Record<string, Float32Array>;
    const list = state.table.list;
    for (let k = 0; k < list.length; k++) {
      const [lo, hi] = list[k].initial;
      cols[list[k].name][eid] = lo + (hi - lo) * rng.next();
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
        state.decay(spans, settings.features.behavior.reward_multipliers);
      },
    },
  ],
});

// The decay kernels. The list of needs is data (any number, any order), but a loop over the
// need table inside the agent loop, or one pass per need, costs about twice a hand-written loop
// over three named columns (issue #19: baseline_ratio 2.0 at 100k agents). So the table is
// walked outside: needs go three at a time through one fused loop over the agents (two or one
// for the rest), each with its rate hoisted into a local. The arithmetic per need and agent is
// the same (a - r, or a - r * m, clamped to [0, 1]), so the values are identical to the bit.

/** The decay pass, exported for the kernel benchmark: column k falls by rates[k], clamped to [0,1]. */
export function decayNeeds(spans: Int32Array, cols: readonly Float32Array[], rates: ArrayLike<number>): void {
  const K = cols.length;
  let k = 0;
  for (; k + 3 <= K; k += 3) decay3(spans, cols[k], cols[k + 1], cols[k + 2], rates[k], rates[k + 1], rates[k + 2]);
  if (K - k === 2) decay2(spans, cols[k], cols[k + 1], rates[k], rates[k + 1]);
  else if (K - k === 1) decay1(spans, cols[k], rates[k]);
}

function decay3(spans: Int32Array, c0: Float32Array, c1: Float32Array, c2: Float32Array, r0: number, r1: number, r2: number): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      let a = c0[eid] - r0;
      c0[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      a = c1[eid] - r1;
      c1[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      a = c2[eid] - r2;
      c2[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
    }
  }
}

function decay2(spans: Int32Array, c0: Float32Array, c1: Float32Array, r0: number, r1: number): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      let a = c0[eid] - r0;
      c0[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      a = c1[eid] - r1;
      c1[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
    }
  }
}

function decay1(spans: Int32Array, col: Float32Array, r: number): void {
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
 * column's default, 1), decays at its plain rate. Needs with a multiplier go three at a time
 * through one fused loop, like decayNeeds; the others through decayNeeds' kernels.
 */
export function decayNeedsScaled(spans: Int32Array, cols: readonly Float32Array[], rates: ArrayLike<number>, mults: readonly (Float32Array | undefined)[]): void {
  const K = cols.length;
  // Indexes of the needs with a multiplier column, then of those without, in table order.
  const withM = SCRATCH_WITH.length >= K ? SCRATCH_WITH : (SCRATCH_WITH = new Int32Array(K));
  const without = SCRATCH_WITHOUT.length >= K ? SCRATCH_WITHOUT : (SCRATCH_WITHOUT = new Int32Array(K));
  let nw = 0;
  let no = 0;
  for (let k = 0; k < K; k++) {
    if (mults[k] === undefined) without[no++] = k;
    else withM[nw++] = k;
  }
  let i = 0;
  for (; i + 3 <= nw; i += 3) {
    const a = withM[i];
    const b = withM[i + 1];
    const c = withM[i + 2];
    decayScaled3(spans, cols[a], cols[b], cols[c], rates[a], rates[b], rates[c], mults[a]!, mults[b]!, mults[c]!);
  }
  for (; i < nw; i++) decayScaled1(spans, cols[withM[i]], rates[withM[i]], mults[withM[i]]!);
  for (let j = 0; j < no; j++) decay1(spans, cols[without[j]], rates[without[j]]);
}

/** Scratch index lists of decayNeedsScaled (grown to the table's size once). */
let SCRATCH_WITH = new Int32Array(8);
let SCRATCH_WITHOUT = new Int32Array(8);

function decayScaled3(
  spans: Int32Array,
  c0: Float32Array,
  c1: Float32Array,
  c2: Float32Array,
  r0: number,
  r1: number,
  r2: number,
  m0: Float32Array,
  m1: Float32Array,
  m2: Float32Array,
): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      let a = c0[eid] - r0 * m0[eid];
      c0[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      a = c1[eid] - r1 * m1[eid];
      c1[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      a = c2[eid] - r2 * m2[eid];
      c2[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
    }
  }
}

function decayScaled1(spans: Int32Array, col: Float32Array, r: number, m: Float32Array): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      const a = col[eid] - r * m[eid];
      col[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
    }
  }
}
