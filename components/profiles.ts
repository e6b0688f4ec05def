// The built-in personality profiles (Personality.profile indexes PROFILES), as the original's
// agents/models.py: traits, need-decay multipliers, reward bias and behaviour bias. A table
// beside the Personality component so that behaviour, rewards and needs read it without
// importing another system. Written by the personality plug-in on spawn.
import { PROFILE_NAMES } from "./people.ts";

export interface ProfileSpec {
  readonly name: (typeof PROFILE_NAMES)[number];
  /** Traits, each in [-1, 1]. */
  readonly traits: { readonly extroversion: number; readonly forgiveness: number; readonly ambition: number };
  /**
   * Need decay multipliers by need (1 = neutral; a need not named: 1), each written to the
   * Personality column `<need>_mult`; applied when features.behavior.reward_multipliers is on.
   */
  readonly needs: Readonly<Record<string, number>>;
  /**
   * Reward bias (1 = neutral), applied when features.behavior.reward_multipliers is on:
   * social -> chat and avoidance terms, employment -> wage and punctuality, survival -> survival tick.
   * A positive term is multiplied by the factor, a negative one divided by it.
   */
  readonly reward: { readonly social: number; readonly employment: number; readonly survival: number };
  /** Behaviour bias (1 = neutral), for the scripted behaviour. */
  readonly behaviour: { readonly chat_preference: number; readonly work_affinity: number; readonly conflict_tolerance: number };
}

const neutralNeeds = { hunger: 1, hygiene: 1, energy: 1 };
const neutralReward = { social: 1, employment: 1, survival: 1 };
const neutralBehaviour = { chat_preference: 1, work_affinity: 1, conflict_tolerance: 1 };

/** Indexed like PROFILE_NAMES (balanced, socialite, industrious, stoic). */
export const PROFILES: readonly ProfileSpec[] = [
  {
    name: "balanced",
    traits: { extroversion: 0, forgiveness: 0, ambition: 0 },
    needs: neutralNeeds,
    reward: neutralReward,
    behaviour: neutralBehaviour,
  },
  {
    name: "socialite",
    traits: { extroversion: 0.6, forgiveness: 0.1, ambition: -0.1 },
    needs: { ...neutralNeeds, hygiene: 1.1 },
    reward: { ...neutralReward, social: 1.2 },
    behaviour: { ...neutralBehaviour, chat_preference: 1.3 },
  },
  {
    name: "industrious",
    traits: { extroversion: -0.2, forgiveness: -0.1, ambition: 0.5 },
    needs: { ...neutralNeeds, energy: 0.9 },
    reward: { ...neutralReward, employment: 1.25 },
    behaviour: { ...neutralBehaviour, work_affinity: 1.4 },
  },
  {
    name: "stoic",
    traits: { extroversion: -0.3, forgiveness: 0.5, ambition: -0.2 },
    needs: { ...neutralNeeds, hunger: 0.95 },
    reward: { ...neutralReward, survival: 1.1 },
    behaviour: { ...neutralBehaviour, conflict_tolerance: 0.6 },
  },
];

for (let i = 0; i < PROFILES.length; i++) {
  if (PROFILES[i].name !== PROFILE_NAMES[i]) throw new Error(`internal error: PROFILES[${i}] is "${PROFILES[i].name}", PROFILE_NAMES says "${PROFILE_NAMES[i]}" (please report a bug)`);
}

/** Index of a profile name (case-insensitive), or -1. */
export function profileIndex(name: string): number {
  return (PROFILE_NAMES as readonly string[]).indexOf(name.toLowerCase());
}
