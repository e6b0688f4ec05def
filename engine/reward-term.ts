// The reward-term hook's shape (`PluginDef.rewardTerms`): a term of every agent's reward that a
// plug-in computes in its own systems and declares as data, so the rewards plug-in need not know
// its internals. A term is a weight (from the settings, read once at start-up) times a float
// column of the plug-in's component that the plug-in writes before rewards/compute runs. The
// rewards plug-in resolves every declared term once, then adds weight × value per agent in a
// tight loop over typed arrays (no callback per agent or per term), in plug-in order then
// declaration order, after survival and the need term and before its own punctuality, social,
// shaping and curiosity terms (systems/rewards/pass.ts).
import type { ComponentDef, ComponentSchema } from "./component.ts";
import type { ConfigSections } from "./config/sections.ts";

/** The profile reward biases (components/profiles.ts `reward`): a gain grows by the factor, a loss shrinks by it. */
export type RewardBias = "survival" | "employment" | "social";

/** One reward term a plug-in computes. */
export interface RewardTerm<S extends ComponentSchema = ComponentSchema> {
  /** The term's name (errors, docs); unique among a world's terms. */
  readonly name: string;
  /** The weight in this world, from the settings (read once at start-up). 0: the term adds 0. */
  weight(settings: ConfigSections): number;
  /** The component whose column holds each agent's value this tick (written before rewards/compute). */
  readonly component: ComponentDef<S>;
  /** The Float32Array or Float64Array field of that component. */
  readonly field: keyof S & string;
  /** The profile bias applied to weight × value (features.behavior.reward_multipliers); none: unbiased. */
  readonly bias?: RewardBias;
  /**
   * The Reward component's field that records the term per agent (it is hashed and snapshotted);
   * none: not recorded. The rewards plug-in's own fields cannot be named, nor one field twice.
   */
  readonly breakdown?: string;
}

/** Checks a term's field against its component's schema, and gives it the type plug-ins list. */
export function defineRewardTerm<S extends ComponentSchema>(term: RewardTerm<S>): RewardTerm {
  return term as unknown as RewardTerm;
}
