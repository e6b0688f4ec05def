// The per-tick reward of every agent (rewards/compute's work): a few passes over the agent list,
// each reading and writing only the columns of its terms, the terms summed in the formula's order:
//
//   raw = survival + Φ + declared terms + shaping + curiosity
//   Φ(s) = the declared potential term (engine/reward-term.ts `potential`): in the core world
//     the needs plug-in's need term −Σ w·(1−need)² over the need table (systems/needs/reward.ts)
//   declared terms = Σ bias(weight·value) over the other terms plug-ins declare, in plug-in
//     then declaration order: in the core world employment's wage and punctuality, then
//     social's chat and avoidance term
//   shaping = γ·Φ(s′) − Φ(s) (0 on an agent's first rewarded tick)
//   then the guard (nothing positive on the exit tick nor in a replacement's first ticks), the
//   per-tick clip, the per-episode clip, and the terminal penalty after both clips.
//
// The fused kernel (kernel.ts) runs all of it in one loop generated for the world's columns,
// the terms adding into one accumulator; the passes below are the same arithmetic where code
// generation is not allowed (and the reference the kernel is tested against). Both write the
// per-term breakdown (breakdown.ts) only in ticks that record it (termColumns' `record`).
//
// The passes carry the partial sum per agent in a Float64Array, so every addition happens in
// the same order and precision as in one expression: both paths give the same bits.
import type { ComponentDef, Columns } from "../../engine/component.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { Lifecycle, Reward } from "../../components/people.ts";
import { PROFILES } from "../../components/profiles.ts";
import { Position } from "../../components/space.ts";
import type { World } from "../../engine/world.ts";
import type { ResolvedTerm } from "./terms.ts";
import type { InlineRewardValue, RewardTerm, RewardTermContext } from "../../engine/reward-term.ts";
import { RewardBreakdown, OWN_BREAKDOWN } from "./breakdown.ts";
import { primeKernel } from "./prime.ts";
import { clipsAndTerminal, type ClipRules } from "./clip-pass.ts";
import { checkInline, codegenAllowed, compileFused, K_CELLS, K_CLIP_EPISODE, K_CLIP_TICK, K_CURIOSITY, K_EVICTION, K_FAINT, K_GAMMA, K_PHI_WEIGHT, K_SURVIVAL, K_TERMS, K_TICK, K_WARM_LINES, K_WIDTH, K_WINDOW, VISITS_MAX, FusedCache, type FusedKernel } from "./kernel.ts";

type Cols<D> = D extends ComponentDef<infer S> ? Columns<S> : never;

/**
 * Visit counts whose curiosity bonus is looked up instead of computed: every count a Uint16 holds
 * (a 512 KB table per world with curiosity on), so the fused kernel's computed bonus never runs:
 * first run when a tile reached 4,096 visits, it deoptimised the kernel (+7-10 ms in that tick at
 * 100k, issue #19).
 */
const CURIOSITY_TABLE = VISITS_MAX + 1;
const EMPTY = new Float32Array(0);
const [EMPTY_F64, EMPTY_U8, EMPTY_U16] = [new Float64Array(0), new Uint8Array(0), new Uint16Array(0)];

/** Reward bias factors by profile index (components/profiles.ts). */
const NO_TERMS: readonly ResolvedTerm[] = [];
const BIAS_SURVIVAL = Float64Array.from(PROFILES, (p) => p.reward.survival);

/** A declared term's value column this tick, checked to cover every agent id up to `max`. */
function valuesOf(world: World, t: ResolvedTerm, max: number): Float32Array | Float64Array {
  const col =
    t.term.component !== undefined
      ? (world.columns(t.term.component) as unknown as Record<string, Float32Array | Float64Array>)[t.term.field]
      : t.term.values(world);
  if (col.length <= max) throw new Error(`reward term "${t.name}" of plug-in "${t.plugin}": values() returned ${col.length} entries, agent ids reach ${max}`);
  return col;
}

/** A profile's reward bias: a gain grows by the factor, a loss shrinks by it (the original's rule). */
export function bias(value: number, factor: number): number {
  return value >= 0 ? value * factor : value / factor;
}

/** What one pass needs besides the columns: scratch and the curiosity tiles. */
export interface PassInputs {
  tick: number;
  agents: Int32Array;
  /** The same agents as runs of consecutive ids (SystemContext.spans): the fused kernel's loop. */
  spans: Int32Array;
  R: Cols<typeof Reward>;
  L: Cols<typeof Lifecycle>;
  profile: Uint8Array;
  /** Curiosity: tile visit counts, Position membership, town ids and positions (null: curiosity off). */
  visits: Uint16Array | null;
  hasPos: Uint8Array;
  town: Uint32Array;
  pos: Cols<typeof Position>;
  /** Tiles per town and tiles per row. */
  cells: number;
  width: number;
}

/** The reward pass with one world's config (derived from settings: not saved, not hashed). */
export class RewardPass implements ClipRules {
  private readonly useBias: boolean;
  private readonly survivalTick: number;
  /** The terms other plug-ins declare (resolved once) but the potential, their columns and breakdown columns (refreshed every tick). */
  private readonly terms: readonly ResolvedTerm[];
  /** The declared shaping potential Φ (the needs plug-in's need term), its column and breakdown column; null: Φ = 0. */
  private readonly potentialTerm: ResolvedTerm | null;
  private potentialCol: Float32Array | Float64Array = EMPTY;
  private potentialOut: Float32Array = EMPTY;
  /** The declared terms with an `update`, in declaration order (the potential included), but those computed inline. */
  private readonly updates: readonly RewardTerm[];
  /** The kernel computes the terms that have an `inline` value instead of calling their `update` (code generation allowed). */
  private readonly inlineOn: boolean;
  /** This tick's inline values: the potential's and each term's (null: read from the column). */
  private phiInline: InlineRewardValue | null = null;
  private readonly termInline: (InlineRewardValue | null)[] = [];
  /** The expressions checked so far (checkInline runs once per expression). */
  private readonly checked = new Set<string>();
  private readonly termCols: (Float32Array | Float64Array)[] = [];
  /** The terms' breakdown columns this tick (empty arrays when the breakdown is not recorded). */
  private readonly termOut: Float32Array[] = [];
  /**
   * The reward by term, per entity, as of tick `breakdown.tick` (derived, like the pass: not
   * saved, not hashed). Recorded only in ticks where some consumer wants it
   * (RewardsState.wantBreakdown); its columns exist only while someone does.
   */
  readonly breakdown: RewardBreakdown;
  /** Whether this tick records the breakdown (termColumns' `record`). */
  private record = false;
  private readonly shapingOn: boolean;
  private readonly gamma: number;
  /** Weight of the curiosity bonus (0: off). */
  readonly curiosity: number;
  readonly clipTick: number;
  readonly clipEpisode: number;
  readonly window: number;
  readonly faintPenalty: number;
  readonly evictionPenalty: number;
  /** Per entity: the partial sum of the terms so far, then the raw reward. */
  private part = new Float64Array(0);
  /** Per entity: this tick's shaping term at full precision. */
  private shaping = new Float64Array(0);
  /** The curiosity bonus by visit count, for every count (built on first use). */
  private bonus: Float64Array | null = null;
  /** Run the generated fused kernel (false: the passes, the reference path). */
  private readonly fused: boolean;
  /** The kernel for this world's arrays, and its scalars (kernel.ts K_*). */
  private readonly cache = new FusedCache();
  private ranKernel = false;
  private readonly scalars: Float64Array;

  constructor(settings: ConfigSections, terms: readonly ResolvedTerm[] = NO_TERMS, opts: { fused?: boolean } = {}) {
    this.fused = opts.fused ?? true;
    const rw = settings.rewards;
    this.useBias = settings.features.behavior.reward_multipliers;
    this.survivalTick = rw.survival_tick;
    this.terms = terms.filter((t) => !t.potential);
    this.potentialTerm = terms.find((t) => t.potential) ?? null;
    this.inlineOn = this.fused && codegenAllowed();
    this.updates = terms.filter((t) => t.term.update !== undefined && !(this.inlineOn && t.term.inline !== undefined)).map((t) => t.term);
    this.breakdown = new RewardBreakdown([...OWN_BREAKDOWN, ...terms.map((t) => t.column)]);
    this.shapingOn = settings.shaping.use_potential;
    this.gamma = settings.ppo.gamma;
    this.curiosity = settings.features.training.curiosity === "phase_A" ? settings.curiosity.phase_A_weight : 0;
    this.clipTick = rw.clip.clip_per_tick;
    this.clipEpisode = rw.clip.clip_per_episode;
    this.window = rw.clip.no_positive_within_death_ticks;
    this.faintPenalty = rw.faint_penalty;
    this.evictionPenalty = rw.eviction_penalty;
    const k = (this.scalars = new Float64Array(K_TERMS + this.terms.length));
    [k[K_SURVIVAL], k[K_PHI_WEIGHT], k[K_GAMMA], k[K_CURIOSITY]] = [this.survivalTick, this.potentialTerm?.weight ?? 0, this.gamma, this.curiosity];
    [k[K_CLIP_TICK], k[K_CLIP_EPISODE], k[K_FAINT], k[K_EVICTION], k[K_WINDOW]] = [this.clipTick, this.clipEpisode, this.faintPenalty, this.evictionPenalty, this.window];
    for (let t = 0; t < this.terms.length; t++) k[K_TERMS + t] = this.terms[t].weight;
  }

  /** Whether the last `compute` ran the fused kernel (false: the passes). */
  get fusedRan(): boolean {
    return this.ranKernel;
  }

  /** Cache lines of visit counts the last `compute` read ahead of its agents (kernel.ts warmSource; 0 on the passes). */
  get warmedLines(): number {
    return this.ranKernel ? this.scalars[K_WARM_LINES] : 0;
  }

  /** Every declared term's `update` (plug-in then declaration order): their columns for this tick. */
  updateTerms(ctx: RewardTermContext): void {
    for (let k = 0; k < this.updates.length; k++) this.updates[k].update!(ctx);
  }

  /**
   * Fetches the declared terms' value columns (columns move when the store grows) and, with
   * `record`, the breakdown's columns: this tick records the reward by term. Without it the
   * breakdown's columns are freed (nobody wants them).
   */
  termColumns(world: World, R: Cols<typeof Reward>, record = false): void {
    this.record = record;
    const bd = this.breakdown;
    if (record) bd.ensure(R.total.length);
    else bd.release();
    // The highest live agent's id: agents take the low ids, objects' ids above need no value.
    const agents = world.agents;
    const max = agents.length > 0 ? agents[agents.length - 1] : 0;
    for (let k = 0; k < this.terms.length; k++) {
      const inl = this.inlineOf(world, this.terms[k]);
      this.termInline[k] = inl;
      this.termCols[k] = inl === null ? valuesOf(world, this.terms[k], max) : EMPTY;
      this.termOut[k] = record ? bd.column(this.terms[k].column) : EMPTY;
    }
    const p = this.potentialTerm;
    if (p !== null) {
      this.phiInline = this.inlineOf(world, p);
      this.potentialCol = this.phiInline === null ? valuesOf(world, p, max) : EMPTY;
      this.potentialOut = record ? bd.column(p.column) : EMPTY;
    }
  }

  /** The term's inline value this tick (checked), or null: its column is read. */
  private inlineOf(world: World, t: ResolvedTerm): InlineRewardValue | null {
    if (!this.inlineOn || t.term.inline === undefined) return null;
    const v = t.term.inline(world);
    if (!this.checked.has(v.expression)) {
      checkInline(v, `reward term "${t.name}" of plug-in "${t.plugin}"`);
      this.checked.add(v.expression);
    }
    return v;
  }

  /**
   * Computes every agent's reward and writes Reward (total, episode, potential, primed: hashed
   * and snapshotted) and, in a tick that records it, the breakdown. Call `updateTerms` and
   * `termColumns` first in the same tick. Returns the sum of the totals.
   */
  compute(io: PassInputs): number {
    if (this.record) this.breakdown.tick = io.tick;
    this.ranKernel = false;
    if (this.fused && !this.cache.refused) {
      const kernel = this.kernelOf(io);
      this.ranKernel = kernel !== undefined;
      if (kernel !== undefined) return kernel(io.spans);
      // The probe allowed code generation, so the inline terms' updates were not called.
      if (this.inlineOn) throw new Error("rewards: code generation was refused after the probe allowed it");
    }
    return this.passes(io);
  }

  /** The fused kernel for this tick's columns (regenerated when one moved), its scalars set. */
  private kernelOf(io: PassInputs): FusedKernel | undefined {
    const now = this.cache.key();
    const R = io.R;
    const L = io.L;
    const visits = io.visits;
    const record = this.record;
    const bd = this.breakdown;
    const own = (name: string) => (record ? bd.column(name) : EMPTY);
    const [survival, shaping, curiosity, terminal, clip] = [own("survival"), own("shaping"), own("curiosity"), own("terminal"), own("clip_adjustment")];
    now.push(record, R.primed, io.profile, R.potential, survival, shaping, this.potentialCol, this.potentialOut, curiosity);
    now.push(visits, io.hasPos, io.town, io.pos.x, io.pos.y, L.exit_reason, L.replaces_uid, L.spawned_tick, R.episode, R.total, terminal, clip);
    for (let k = 0; k < this.terms.length; k++) now.push(this.termCols[k], this.termOut[k]);
    for (const v of [this.phiInline, ...this.termInline]) {
      if (v === null) continue;
      now.push(v.expression, ...v.columns);
      for (let j = 0; j < v.constants.length; j++) now.push(v.constants[j]);
    }
    const kernel = this.cache.get(() => {
      const p = this.potentialTerm;
      const hasPhi = p !== null && p.weight !== 0;
      const terms = this.terms;
      return compileFused(
        {
          useBias: this.useBias,
          shapingOn: this.shapingOn,
          hasPhi,
          breakdown: record,
          phiOut: record && p !== null,
          terms: terms.map((t) => ({ on: t.weight !== 0, bias: this.useBias && t.bias !== null })),
          phiInline: this.phiInline?.expression ?? null,
          termInline: this.termInline.map((v) => v?.expression ?? null),
          curiosity: visits !== null,
        },
        {
          primed: R.primed,
          profile: io.profile,
          potential: R.potential,
          survival,
          shaping,
          phi: hasPhi ? this.potentialCol : EMPTY,
          phiOut: this.potentialOut,
          biasSurvival: BIAS_SURVIVAL,
          termCols: terms.map((t, k) => (t.weight !== 0 ? this.termCols[k] : EMPTY)),
          termOut: this.termOut.slice(),
          termBias: terms.map((t) => (this.useBias && t.bias !== null ? t.bias : EMPTY_F64)),
          phiInlineValue: this.phiInline,
          termInlineValue: this.termInline.slice(),
          curiosity,
          visits: visits ?? EMPTY_U16,
          hasPos: visits !== null ? io.hasPos : EMPTY_U8,
          town: io.town,
          px: io.pos.x,
          py: io.pos.y,
          bonus: visits !== null ? this.curiosityBonus() : EMPTY_F64,
          exitReason: L.exit_reason,
          replaces: L.replaces_uid,
          spawned: L.spawned_tick,
          episode: R.episode,
          total: R.total,
          terminal,
          clip,
        },
        this.scalars,
      );
    });
    const k = this.scalars;
    k[K_TICK] = io.tick;
    k[K_CELLS] = io.cells;
    k[K_WIDTH] = io.width;
    if (kernel !== undefined && this.cache.fresh) {
      const e = io.spans.length >= 2 ? io.spans[0] : -1;
      const tile = visits !== null && e >= 0 && io.hasPos[e] === 1 ? io.town[e] * io.cells + io.pos.y[e] * io.width + io.pos.x[e] : -1;
      const written = [R.primed, R.potential, R.episode, R.total, survival, shaping, this.potentialOut, curiosity, terminal, clip, ...this.termOut];
      const termCols = this.terms.map((t, j) => (t.weight !== 0 ? this.termCols[j] : EMPTY));
      primeKernel(kernel, { spans: io.spans, written, exitReason: L.exit_reason, replaces: L.replaces_uid, spawned: L.spawned_tick, termCols, inline: this.termInline, tile, visits, k });
    }
    return kernel;
  }

  /** The same reward, pass by pass (no code generation; the fused kernel's reference). */
  private passes(io: PassInputs): number {
    const n = io.R.total.length;
    if (this.part.length < n) {
      this.part = new Float64Array(n);
      this.shaping = new Float64Array(n);
    }
    this.survivalAndShaping(io);
    // The declared terms, three per pass; the last pass adds shaping after them.
    const count = this.terms.length;
    let from = 0;
    while (count - from > 3) {
      this.termsPass(io, from, 3, false);
      from += 3;
    }
    if (count > 0 || this.shapingOn) this.termsPass(io, from, count - from, true);
    this.curiosityTerm(io);
    const bd = this.breakdown;
    return clipsAndTerminal(io, this.part, this, this.record ? { terminal: bd.column("terminal"), clip: bd.column("clip_adjustment") } : null);
  }

  /**
   * Survival and Φ: part = survival + Φ, Φ being weight × the potential term's value (0 without
   * one), recorded in the term's breakdown column; shaping from Φ and the last potential.
   */
  private survivalAndShaping(io: PassInputs): void {
    const { agents, profile } = io;
    const primed = io.R.primed;
    const part = this.part;
    const shapingOf = this.shaping;
    const potential = io.R.potential;
    const record = this.record;
    const survivalCol = record ? this.breakdown.column("survival") : EMPTY;
    const shapingCol = record ? this.breakdown.column("shaping") : EMPTY;
    const survivalTick = this.survivalTick;
    const useBias = this.useBias;
    const shapingOn = this.shapingOn;
    const gamma = this.gamma;
    const hasPhi = this.potentialTerm !== null && this.potentialTerm.weight !== 0;
    const w = hasPhi ? this.potentialTerm!.weight : 0;
    const phiCol = hasPhi ? this.potentialCol : EMPTY;
    const phiOut = this.potentialTerm !== null && record ? this.potentialOut : null;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      const phi = hasPhi ? w * phiCol[eid] : 0;
      const survival = useBias ? bias(survivalTick, BIAS_SURVIVAL[profile[eid]]) : survivalTick;
      let shaping = 0;
      if (shapingOn) {
        // No transition before an agent's first rewarded tick: its shaping starts at 0.
        if (primed[eid] === 1) shaping = gamma * phi - potential[eid];
        potential[eid] = phi;
      }
      primed[eid] = 1;
      if (record) {
        survivalCol[eid] = survival;
        shapingCol[eid] = shaping;
      }
      if (phiOut !== null) phiOut[eid] = phi;
      shapingOf[eid] = shaping;
      part[eid] = survival + phi;
    }
  }

  /**
   * part += the declared terms `from` .. `from + count - 1` (count <= 3), each bias(weight ·
   * value), in declaration order, then (with `withShaping`) the shaping term. A term's breakdown
   * column (if any) gets its value. A weight of 0 adds nothing and records 0 (part + 0 is part:
   * part is never −0 here, survival + Φ is not). Three terms per pass: fewer passes over the
   * partial sum, and the additions happen in the same order as one expression.
   */
  private termsPass(io: PassInputs, from: number, count: number, withShaping: boolean): void {
    const { agents, profile } = io;
    const part = this.part;
    const shapingOf = this.shaping;
    const useBias = this.useBias;
    const terms = this.terms;
    const has0 = count > 0;
    const has1 = count > 1;
    const has2 = count > 2;
    const w0 = has0 ? terms[from].weight : 0;
    const w1 = has1 ? terms[from + 1].weight : 0;
    const w2 = has2 ? terms[from + 2].weight : 0;
    const on0 = w0 !== 0;
    const on1 = w1 !== 0;
    const on2 = w2 !== 0;
    const c0 = on0 ? this.termCols[from] : EMPTY;
    const c1 = on1 ? this.termCols[from + 1] : EMPTY;
    const c2 = on2 ? this.termCols[from + 2] : EMPTY;
    const record = this.record;
    const o0 = has0 && record ? this.termOut[from] : null;
    const o1 = has1 && record ? this.termOut[from + 1] : null;
    const o2 = has2 && record ? this.termOut[from + 2] : null;
    const b0 = useBias && has0 ? terms[from].bias : null;
    const b1 = useBias && has1 ? terms[from + 1].bias : null;
    const b2 = useBias && has2 ? terms[from + 2].bias : null;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      let acc = part[eid];
      if (has0) {
        let v = 0;
        if (on0) {
          v = w0 * c0[eid];
          if (b0 !== null) {
            const f = b0[profile[eid]];
            v = v >= 0 ? v * f : v / f;
          }
          acc += v;
        }
        if (o0 !== null) o0[eid] = v;
      }
      if (has1) {
        let v = 0;
        if (on1) {
          v = w1 * c1[eid];
          if (b1 !== null) {
            const f = b1[profile[eid]];
            v = v >= 0 ? v * f : v / f;
          }
          acc += v;
        }
        if (o1 !== null) o1[eid] = v;
      }
      if (has2) {
        let v = 0;
        if (on2) {
          v = w2 * c2[eid];
          if (b2 !== null) {
            const f = b2[profile[eid]];
            v = v >= 0 ? v * f : v / f;
          }
          acc += v;
        }
        if (o2 !== null) o2[eid] = v;
      }
      part[eid] = withShaping ? acc + shapingOf[eid] : acc;
    }
  }

  /** part += curiosity / sqrt(1 + visits of the agent's tile); the visit is counted. */
  private curiosityTerm(io: PassInputs): void {
    const { agents, visits } = io;
    const record = this.record;
    const curCol = record ? this.breakdown.column("curiosity") : EMPTY;
    if (visits === null) {
      // part + 0 is part: only the breakdown column needs writing.
      if (record) for (let i = 0; i < agents.length; i++) curCol[agents[i]] = 0;
      return;
    }
    const part = this.part;
    const { hasPos, town, cells, width } = io;
    const px = io.pos.x;
    const py = io.pos.y;
    const curiosity = this.curiosity;
    const bonus = this.curiosityBonus();
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      let cur = 0;
      if (hasPos[eid] === 1) {
        const tile = town[eid] * cells + py[eid] * width + px[eid];
        const v = visits[tile];
        cur = v < bonus.length ? bonus[v] : curiosity / Math.sqrt(1 + v);
        if (v < VISITS_MAX) visits[tile] = v + 1;
      }
      if (record) curCol[eid] = cur;
      part[eid] = part[eid] + cur;
    }
  }

  /** The curiosity bonus table of this world's weight (built on first use). */
  private curiosityBonus(): Float64Array {
    return (this.bonus ??= curiosityTable(this.curiosity));
  }
}

/** weight / sqrt(1 + v) for every visit count v below CURIOSITY_TABLE (the same expression, computed once). */
export function curiosityTable(weight: number): Float64Array {
  const bonus = new Float64Array(CURIOSITY_TABLE);
  for (let v = 0; v < CURIOSITY_TABLE; v++) bonus[v] = weight / Math.sqrt(1 + v);
  return bonus;
}
