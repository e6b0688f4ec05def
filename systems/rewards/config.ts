// Config sections owned by the rewards system: `rewards`, `shaping`, `curiosity`.
// Read once at start by the reward pass (needs phase); defaults mirror the original's RewardsConfig.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

/** Per-need weight of the need term in the reward; each range is the original's guardrail. */
export const NeedsWeights = z
  .strictObject({
    hunger: z.number().min(0.5).max(2.0).default(1.0).describe("weight of the hunger term, unitless"),
    hygiene: z.number().min(0.2).max(1.0).default(0.6).describe("weight of the hygiene term, unitless"),
    energy: z.number().min(0.4).max(1.5).default(0.8).describe("weight of the energy term, unitless"),
  })
  .prefault({})
  .describe("weights of the need terms in the per-tick reward");

/** Need decay per tick. A given block overrides only the needs it names. */
export const DecayRates = z
  .strictObject({
    hunger: z.number().min(0).default(0.01).describe("hunger lost per tick, need units (0..1) per tick"),
    hygiene: z.number().min(0).default(0.005).describe("hygiene lost per tick, need units (0..1) per tick"),
    energy: z.number().min(0).default(0.008).describe("energy lost per tick, need units (0..1) per tick"),
  })
  .prefault({})
  .describe("need decay rates per tick, before personality multipliers");

export const SocialRewardWeights = z
  .strictObject({
    C1_chat_base: z.number().min(0).max(0.05).default(0.01).describe("base reward for a successful chat (stage C1)"),
    C1_coeff_trust: z.number().min(0).max(1).default(0.3).describe("chat reward gain per unit of trust (stage C1)"),
    C1_coeff_fam: z.number().min(0).max(1).default(0.2).describe("chat reward gain per unit of familiarity (stage C1)"),
    C2_avoid_conflict: z.number().min(0).max(0.02).default(0.005).describe("reward for avoiding a rival (stage C2)"),
  })
  .prefault({})
  .describe("social reward terms, active from the social_rewards stage named in each key");

export const RewardClips = z
  .strictObject({
    clip_per_tick: z.number().min(0.01).max(1).default(0.2).describe("absolute cap on one agent's reward in one tick"),
    clip_per_episode: z.number().min(1).max(200).default(50).describe("absolute cap on one agent's summed reward per episode"),
    no_positive_within_death_ticks: z
      .int()
      .min(0)
      .max(200)
      .default(10)
      .describe("ticks before an exit during which positive rewards are zeroed"),
  })
  .prefault({})
  .describe("reward clipping guardrails");

export const RewardsSection = z
  .strictObject({
    needs_weights: NeedsWeights,
    decay_rates: DecayRates,
    punctuality_bonus: z.number().min(0).max(0.1).default(0.05).describe("reward per tick on shift on time; must not exceed needs_weights.hunger"),
    wage_rate: z.number().min(0).max(0.05).default(0.01).describe("reward per tick worked, unitless"),
    survival_tick: z.number().min(0).max(0.01).default(0.002).describe("reward per tick alive"),
    faint_penalty: z.number().min(-5).max(0).default(-1.0).describe("one-off reward when an agent faints (<= 0)"),
    eviction_penalty: z.number().min(-5).max(0).default(-2.0).describe("one-off reward when an agent is evicted (<= 0)"),
    social: SocialRewardWeights,
    clip: RewardClips,
  })
  .superRefine((r, ctx) => {
    if (r.punctuality_bonus > r.needs_weights.hunger) {
      ctx.addIssue({
        code: "custom",
        path: ["punctuality_bonus"],
        message: `expected punctuality_bonus <= needs_weights.hunger (${r.needs_weights.hunger}), got ${r.punctuality_bonus}`,
      });
    }
  })
  .prefault({})
  .describe("reward terms and guardrails");

export const ShapingSection = z
  .strictObject({
    use_potential: z.boolean().default(true).describe("use potential-based shaping (parsed; the original never applies it)"),
  })
  .prefault({})
  .describe("reward shaping toggles");

export const CuriositySection = z
  .strictObject({
    phase_A_weight: z.number().min(0).max(0.1).default(0.02).describe("weight of the intrinsic curiosity term in phase A"),
    decay_by_milestone: z.string().min(1).default("M2").describe("milestone label (e.g. M2) by which the curiosity weight has decayed to 0"),
  })
  .prefault({})
  .describe("intrinsic curiosity reward (parsed; the original never applies it)");

export type RewardsConfig = z.output<typeof RewardsSection>;
export type ShapingConfig = z.output<typeof ShapingSection>;
export type CuriosityConfig = z.output<typeof CuriositySection>;

export const sections = {
  rewards: RewardsSection,
  shaping: ShapingSection,
  curiosity: CuriositySection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    rewards: RewardsConfig;
    shaping: ShapingConfig;
    curiosity: CuriosityConfig;
  }
}
