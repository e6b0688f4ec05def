// The reward-term hook's shape (`PluginDef.rewardTerms`): a term of every agent's reward that a
// plug-in computes in its own systems and declares as data, so the rewards plug-in need not know
// its internals. A term is a weight (from the settings, read once at start-up) times a float
// column that the plug-in writes before rewards/compute reads it (in the term's `update`, which
// rewards/compute calls once per tick, or in its own systems): a field of one of its components
// (hashed and snapshotted with it), or a per-tick column of its own (`values`: derived from the
// state this tick, neither hashed nor saved). The rewards plug-in resolves every declared term
// once, then adds weight × value per agent in a tight loop over typed arrays (no callback per
// agent or per term), in plug-in order then declaration order, after survival and the
// potential term and before shaping and curiosity (systems/rewards/pass.ts).
//
// The core terms: the needs plug-in's `needs` (the potential, systems/needs/reward.ts),
// employment's `wage` and `punctuality` (systems/employment/rewards.ts) and social's `social`
// (systems/social/reward.ts). A term whose value already carries its
// coefficients declares weight 1: 1 × v is v to the bit, so the reward is the plug-in's own
// expression, rounded as it rounds it.
import type { ComponentDef, ComponentSchema } from "./component.ts";
import type { ConfigSections } from "./config/sections.ts";
import type { World } from "./world.ts";
import type { SystemContext } from "./plugin.ts";

/** What a term's `update` gets: the rewards/compute system's tick (its message reads included; `spans` for element-wise passes). */
export type RewardTermContext = Pick<SystemContext, "world" | "tick" | "agents" | "spans" | "settings" | "read">;

/** The profile reward biases (components/profiles.ts `reward`): a gain grows by the factor, a loss shrinks by it. */
export type RewardBias = "survival" | "employment" | "social";

interface TermBase {
  /** The term's name (errors, docs); unique among a world's terms. */
  readonly name: string;
  /** The weight in this world, from the settings (read once at start-up). 0: the term adds 0. */
  weight(settings: ConfigSections): number;
  /** The profile bias applied to weight × value (features.behavior.reward_multipliers); none: unbiased. */
  readonly bias?: RewardBias;
  /**
   * The breakdown column that records the term per agent (systems/rewards/breakdown.ts: one of
   * needs_penalty, wage, punctuality, social; not hashed, not snapshotted, recorded only in ticks
   * some consumer asks for it); none: recorded under the term's name. One column cannot record
   * two terms.
   */
  readonly breakdown?: string;
  /**
   * Computes this tick's values (every live agent's entry of the column): called once per tick,
   * not per agent, when rewards/compute starts and before it reads any column, in plug-in then
   * declaration order. A term without it has its column written by the plug-in's own systems
   * before rewards/compute (order them `before: [NeedsSets.Rewards]`).
   */
  update?(ctx: RewardTermContext): void;
  /**
   * The term's value as an expression the rewards plug-in's fused kernel computes inline, per
   * agent, in the same loop as the sum (issue #19): then `update` is not called and the column
   * not read (nor allocated) while the kernel runs; `update` and the column remain the path where
   * code generation is refused. It must give the column's value to the bit (double arithmetic,
   * same operations in the same order). Called once per tick; see InlineRewardValue.
   */
  inline?(world: World): InlineRewardValue;
  /**
   * The term is the shaping potential Φ(s) (at most one per world; no bias): it is added first,
   * with survival, and the rewards plug-in's shaping adds γ·Φ(s′) − Φ(s) from it (the needs
   * plug-in's need term, Φ = −Σ w·(1−need)², is the core one).
   */
  readonly potential?: boolean;
}

/** A term whose value is a column of the plug-in's component. */
export interface ComponentRewardTerm<S extends ComponentSchema = ComponentSchema> extends TermBase {
  /** The component whose column holds each agent's value this tick (written before rewards/compute). */
  readonly component: ComponentDef<S>;
  /** The Float32Array or Float64Array field of that component. */
  readonly field: keyof S & string;
  readonly values?: undefined;
}

/** A term whose value is a column the plug-in keeps itself and rewrites every tick. */
export interface ColumnRewardTerm extends TermBase {
  /**
   * This tick's values, indexed by entity id: a Float32Array or Float64Array longer than the
   * highest live agent's id (agents take the low ids; objects above need no value), holding 0
   * for every agent without the term this tick.
   * Called once per tick (not per agent) when rewards/compute starts, after the terms'
   * `update`; the plug-in writes it there (or in a system ordered `before: [NeedsSets.Rewards]`).
   */
  values(world: World): Float32Array | Float64Array;
  readonly component?: undefined;
  readonly field?: undefined;
}

/**
 * A term's value as code for the fused reward kernel (RewardTerm.inline): an expression over
 * the agent's entity id `e`, where `$k[e]` reads `columns[k]` and `#k` is `constants[k]` (a
 * double). Only those names, numbers, arithmetic, comparisons, `?:`, `&&`, `||`, parentheses
 * and Math.* may appear (checked; no config text goes into it: constants carry the numbers).
 * The columns are fetched every tick (they move when the store grows); a kernel is made again
 * when one of them, the constants or the expression changes.
 */
export interface InlineRewardValue {
  readonly columns: readonly (Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array)[];
  readonly constants: ArrayLike<number>;
  readonly expression: string;
  /**
   * Values of `columns` for one agent, one row per case, that together run every operation of
   * the expression (both sides of each `?:`, `&&`, `||`). The kernel runs each row once, on one
   * agent, when it is made, and puts every value back: an operation it first evaluates mid-run
   * (the first agent on shift, say) deoptimises it for the rest of that tick (+7-10 ms at 100k
   * agents, issue #19). None: the expression has no such side, or it may cost that once.
   */
  readonly samples?: readonly (readonly number[])[];
}

/** One reward term a plug-in computes. */
export type RewardTerm<S extends ComponentSchema = ComponentSchema> = ComponentRewardTerm<S> | ColumnRewardTerm;

/** Checks a term's field against its component's schema, and gives it the type plug-ins list. */
export function defineRewardTerm<S extends ComponentSchema>(term: ComponentRewardTerm<S> | ColumnRewardTerm): RewardTerm {
  return term as unknown as RewardTerm;
}

/**
 * One Float64Array per world for a `values` term: the term's `update` grows it with `ensure`
 * (zero-filled, the old entries kept) and writes it; `values` hands out `get`. Not plug-in
 * state: derived from this tick's state, never saved nor hashed.
 */
export class RewardColumn {
  private readonly byWorld = new WeakMap<World, Float64Array>();

  /** The world's column with room for every live agent's id (the highest + 1). */
  ensure(world: World): Float64Array {
    const agents = world.agents;
    const n = (agents.length > 0 ? agents[agents.length - 1] : 0) + 1;
    const col = this.byWorld.get(world);
    if (col !== undefined && col.length >= n) return col;
    const grown = new Float64Array(Math.max(n, Math.ceil((col?.length ?? 0) * 1.25), 16));
    if (col !== undefined) grown.set(col);
    this.byWorld.set(world, grown);
    return grown;
  }

  /** The world's column as last grown (empty before its first `ensure`). */
  get(world: World): Float64Array {
    return this.byWorld.get(world) ?? EMPTY;
  }
}

const EMPTY = new Float64Array(0);
