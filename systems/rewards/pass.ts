// The per-tick reward of every agent (rewards/compute's work): a few passes over the agent list,
// each reading and writing only the columns of its terms, the terms summed in the formula's order:
//
//   raw = survival + needs + declared terms + shaping + curiosity
//   declared terms = Σ bias(weight·value) over the terms other plug-ins declare
//     (engine/reward-term.ts), in plug-in then declaration order: in the core world
//     employment's wage and punctuality, then social's chat and avoidance term
//   needs = Φ(s) = −Σ w·(1−need)² over the world's need table (components/needs.ts), table order
//   shaping = γ·Φ(s′) − Φ(s) (0 on an agent's first rewarded tick)
//   then the guard (nothing positive on the exit tick nor in a replacement's first ticks), the
//   per-tick clip, the per-episode clip, and the terminal penalty after both clips.
//
// Why passes and not one loop: one loop over all ~30 columns keeps more array pointers and
// bounds than V8 has registers; measured at 100k agents, the same work split into passes of 5-12
// columns took less CPU time than the single loop (bench/README.md, issue #19). The partial
// sum is carried per agent in a Float64Array, so every addition happens in the same order and
// precision as in one expression: the rewards, and the hash stream, are identical to the bit.
import type { ComponentDef, Columns } from "../../engine/component.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import { needTable } from "../../components/needs.ts";
import { ExitReason, Lifecycle, Reward } from "../../components/people.ts";
import { PROFILES } from "../../components/profiles.ts";
import { Position } from "../../components/space.ts";
import type { World } from "../../engine/world.ts";
import type { ResolvedTerm } from "./terms.ts";

type Cols<D> = D extends ComponentDef<infer S> ? Columns<S> : never;

const EXIT_NONE = ExitReason.None;
const EXIT_FAINT = ExitReason.Faint;
const EXIT_EVICTION = ExitReason.Eviction;
const EXIT_UNEMPLOYMENT = ExitReason.Unemployment;
const VISITS_MAX = 0xffff;
/** Visit counts whose curiosity bonus is looked up instead of computed (a 32 KB table). */
const CURIOSITY_TABLE = 4096;
const EMPTY = new Float32Array(0);

/** Reward bias factors by profile index (components/profiles.ts). */
const NO_TERMS: readonly ResolvedTerm[] = [];
const BIAS_SURVIVAL = Float64Array.from(PROFILES, (p) => p.reward.survival);

/** A profile's reward bias: a gain grows by the factor, a loss shrinks by it (the original's rule). */
export function bias(value: number, factor: number): number {
  return value >= 0 ? value * factor : value / factor;
}

/** What one pass needs besides the columns: scratch and the curiosity tiles. */
export interface PassInputs {
  tick: number;
  agents: Int32Array;
  R: Cols<typeof Reward>;
  primed: Uint8Array;
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
export class RewardPass {
  /** Need weights (`reward_weight` of the need table), in table order. */
  readonly needWeights: Float64Array;
  private readonly needNames: readonly string[];
  private readonly needCols: Float32Array[] = [];
  private readonly useBias: boolean;
  private readonly survivalTick: number;
  /** The terms other plug-ins declare (resolved once), their columns and breakdown columns (refreshed every tick). */
  private readonly terms: readonly ResolvedTerm[];
  private readonly termCols: (Float32Array | Float64Array)[] = [];
  private readonly termOut: (Float32Array | null)[] = [];
  private readonly shapingOn: boolean;
  private readonly gamma: number;
  /** Weight of the curiosity bonus (0: off). */
  readonly curiosity: number;
  private readonly clipTick: number;
  private readonly clipEpisode: number;
  private readonly window: number;
  private readonly faintPenalty: number;
  private readonly evictionPenalty: number;
  /** Per entity: the partial sum of the terms so far, then the raw reward. */
  private part = new Float64Array(0);
  /** Per entity: this tick's shaping term at full precision. */
  private shaping = new Float64Array(0);
  /** The curiosity bonus by visit count below CURIOSITY_TABLE (built on first use). */
  private bonus: Float64Array | null = null;

  constructor(settings: ConfigSections, terms: readonly ResolvedTerm[] = NO_TERMS) {
    const table = needTable(settings);
    this.needNames = table.names;
    this.needWeights = Float64Array.from(table.list, (n) => n.reward_weight);
    const rw = settings.rewards;
    this.useBias = settings.features.behavior.reward_multipliers;
    this.survivalTick = rw.survival_tick;
    this.terms = terms;
    this.shapingOn = settings.shaping.use_potential;
    this.gamma = settings.ppo.gamma;
    this.curiosity = settings.features.training.curiosity === "phase_A" ? settings.curiosity.phase_A_weight : 0;
    this.clipTick = rw.clip.clip_per_tick;
    this.clipEpisode = rw.clip.clip_per_episode;
    this.window = rw.clip.no_positive_within_death_ticks;
    this.faintPenalty = rw.faint_penalty;
    this.evictionPenalty = rw.eviction_penalty;
  }

  /** The need columns in table order (the same array each call, entries refreshed: columns move when the store grows). */
  needColumns(needs: Record<string, Float32Array>): readonly Float32Array[] {
    const cols = this.needCols;
    for (let k = 0; k < this.needNames.length; k++) cols[k] = needs[this.needNames[k]];
    return cols;
  }

  /** Fetches the declared terms' value and breakdown columns (columns move when the store grows). */
  termColumns(world: World, R: Cols<typeof Reward>): void {
    const out = R as unknown as Record<string, Float32Array>;
    const max = world.maxEntityId();
    for (let k = 0; k < this.terms.length; k++) {
      const t = this.terms[k];
      const col =
        t.term.component !== undefined
          ? (world.columns(t.term.component) as unknown as Record<string, Float32Array | Float64Array>)[t.term.field]
          : t.term.values(world);
      if (col.length <= max) throw new Error(`reward term "${t.name}" of plug-in "${t.plugin}": values() returned ${col.length} entries, entity ids reach ${max}`);
      this.termCols[k] = col;
      this.termOut[k] = t.breakdown === null ? null : out[t.breakdown];
    }
  }

  /**
   * Computes every agent's reward and writes Reward (total, episode, potential and the
   * breakdown columns, which are part of the hashed, snapshotted Reward component) and
   * RewardMemo.primed. Call `needColumns` and `termColumns` first in the same tick. Returns the sum of the totals.
   */
  compute(io: PassInputs): number {
    const n = io.R.total.length;
    if (this.part.length < n) {
      this.part = new Float64Array(n);
      this.shaping = new Float64Array(n);
    }
    const cols = this.needCols;
    if (cols.length >= 3) {
      // The last three needs are added in the survival pass, the others before it.
      this.needsTerm(io.agents, cols.length - 3);
      this.survivalAndShaping(io, cols.length - 3);
    } else {
      this.needsTerm(io.agents, cols.length);
      this.survivalAndShaping(io, -1);
    }
    // The declared terms, three per pass; the last pass adds shaping after them.
    const count = this.terms.length;
    let from = 0;
    while (count - from > 3) {
      this.termsPass(io, from, 3, false);
      from += 3;
    }
    if (count > 0 || this.shapingOn) this.termsPass(io, from, count - from, true);
    this.curiosityTerm(io);
    return this.clipsAndTerminal(io);
  }

  /** part = Σ w·(1−need)² over the first `count` needs of the table, added in table order. */
  private needsTerm(agents: Int32Array, count: number): void {
    const part = this.part;
    const cols = this.needCols;
    const weights = this.needWeights;
    const n = agents.length;
    if (count === 0) return;
    const first = cols[0];
    const w0 = weights[0];
    for (let i = 0; i < n; i++) {
      const eid = agents[i];
      const d = 1 - first[eid];
      part[eid] = w0 * d * d;
    }
    for (let k = 1; k < count; k++) {
      const col = cols[k];
      const w = weights[k];
      for (let i = 0; i < n; i++) {
        const eid = agents[i];
        const d = 1 - col[eid];
        part[eid] += w * d * d;
      }
    }
  }

  /**
   * Survival and Φ: part = survival + Φ; shaping from Φ and the last potential. With `from` >= 0
   * the needs `from`, `from`+1 and `from`+2 (the table's last three) are added here to the
   * partial sum of the needs before them (none when `from` is 0), in the same order as one
   * sum; with -1, part already holds the whole sum (tables of fewer than three needs).
   */
  private survivalAndShaping(io: PassInputs, from: number): void {
    const { agents, primed, profile } = io;
    const part = this.part;
    const shapingOf = this.shaping;
    const potential = io.R.potential;
    const survivalCol = io.R.survival;
    const needsCol = io.R.needs_penalty;
    const shapingCol = io.R.shaping;
    const survivalTick = this.survivalTick;
    const useBias = this.useBias;
    const shapingOn = this.shapingOn;
    const gamma = this.gamma;
    const inline = from >= 0;
    const carried = from > 0;
    const none = this.needCols.length === 0;
    const c0 = inline ? this.needCols[from] : EMPTY;
    const c1 = inline ? this.needCols[from + 1] : EMPTY;
    const c2 = inline ? this.needCols[from + 2] : EMPTY;
    const w0 = inline ? this.needWeights[from] : 0;
    const w1 = inline ? this.needWeights[from + 1] : 0;
    const w2 = inline ? this.needWeights[from + 2] : 0;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      let acc: number;
      if (inline) {
        let d = 1 - c0[eid];
        acc = carried ? part[eid] + w0 * d * d : w0 * d * d;
        d = 1 - c1[eid];
        acc += w1 * d * d;
        d = 1 - c2[eid];
        acc += w2 * d * d;
      } else acc = none ? 0 : part[eid];
      const phi = -acc;
      const survival = useBias ? bias(survivalTick, BIAS_SURVIVAL[profile[eid]]) : survivalTick;
      let shaping = 0;
      if (shapingOn) {
        // No transition before an agent's first rewarded tick: its shaping starts at 0.
        if (primed[eid] === 1) shaping = gamma * phi - potential[eid];
        potential[eid] = phi;
      }
      primed[eid] = 1;
      survivalCol[eid] = survival;
      needsCol[eid] = phi;
      shapingCol[eid] = shaping;
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
    const o0 = has0 ? this.termOut[from] : null;
    const o1 = has1 ? this.termOut[from + 1] : null;
    const o2 = has2 ? this.termOut[from + 2] : null;
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
    const curCol = io.R.curiosity;
    if (visits === null) {
      // part + 0 is part: only the breakdown column needs writing.
      for (let i = 0; i < agents.length; i++) curCol[agents[i]] = 0;
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
      curCol[eid] = cur;
      part[eid] = part[eid] + cur;
    }
  }

  /** curiosity / sqrt(1 + v) for the first visit counts (the same expression, computed once). */
  private curiosityBonus(): Float64Array {
    if (this.bonus === null) {
      this.bonus = new Float64Array(CURIOSITY_TABLE);
      for (let v = 0; v < CURIOSITY_TABLE; v++) this.bonus[v] = this.curiosity / Math.sqrt(1 + v);
    }
    return this.bonus;
  }

  /** The guard, both clips and the terminal penalty; writes total, episode, terminal, clip_adjustment. */
  private clipsAndTerminal(io: PassInputs): number {
    const { agents, tick } = io;
    const part = this.part;
    const exitReason = io.L.exit_reason;
    const replaces = io.L.replaces_uid;
    const spawned = io.L.spawned_tick;
    const episodeCol = io.R.episode;
    const totalCol = io.R.total;
    const terminalCol = io.R.terminal;
    const clipCol = io.R.clip_adjustment;
    const clipTick = this.clipTick;
    const clipEpisode = this.clipEpisode;
    const window = this.window;
    const faintPenalty = this.faintPenalty;
    const evictionPenalty = this.evictionPenalty;
    let sum = 0;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      const raw = part[eid];
      let total = raw;
      const reason = exitReason[eid];
      // Guard: nothing positive on the exit tick, nor in a replacement's first ticks. The rare,
      // predictable conditions first: the sign of the total changes from agent to agent.
      if ((reason !== EXIT_NONE || (replaces[eid] >= 0 && tick - spawned[eid] <= window)) && total > 0) total = 0;
      total = total > clipTick ? clipTick : total < -clipTick ? -clipTick : total;
      const before = episodeCol[eid];
      let episode = before + total;
      episode = episode > clipEpisode ? clipEpisode : episode < -clipEpisode ? -clipEpisode : episode;
      total = episode - before;
      // The terminal penalty comes after both clips, so an exit costs its full penalty.
      const terminal =
        reason === EXIT_NONE ? 0 : reason === EXIT_FAINT ? faintPenalty : reason === EXIT_EVICTION || reason === EXIT_UNEMPLOYMENT ? evictionPenalty : 0;
      terminalCol[eid] = terminal;
      clipCol[eid] = total - raw;
      episodeCol[eid] = episode + terminal;
      totalCol[eid] = total + terminal;
      sum += total + terminal;
    }
    return sum;
  }
}
