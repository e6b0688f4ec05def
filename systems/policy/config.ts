// Config sections owned by the policy system: `behavior` (scripted thresholds), `personalities`
// (profile assignment), `policy_runtime`, `ppo` and `training`. Read at start by the policy phase and trainer.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

/** Built-in personality profiles; a distribution or override naming another profile is an error. */
export const PERSONALITY_PROFILES = ["balanced", "socialite", "industrious", "stoic"] as const;
export type PersonalityProfile = (typeof PERSONALITY_PROFILES)[number];

/** Social reward stages, shared by the training schedule and the override. */
const SocialRewardStage = z.enum(["OFF", "C1", "C2", "C3"]);

const isKnownProfile = (name: string): name is PersonalityProfile =>
  (PERSONALITY_PROFILES as readonly string[]).includes(name);

export const BehaviorSection = z
  .strictObject({
    hunger_threshold: z.number().min(0).max(1).default(0.4).describe("seek food when hunger falls below this, need units 0..1"),
    hygiene_threshold: z.number().min(0).max(1).default(0.4).describe("seek a shower when hygiene falls below this, need units 0..1"),
    energy_threshold: z.number().min(0).max(1).default(0.4).describe("seek sleep when energy falls below this, need units 0..1"),
    job_arrival_buffer: z.int().min(0).default(20).describe("ticks before shift start at which the agent heads to work"),
  })
  .prefault({})
  .describe("scripted behaviour thresholds");

export const PersonalitiesSection = z
  .strictObject({
    distribution: z
      .record(z.string().min(1), z.number().min(0).describe("relative weight, >= 0"))
      .default({ balanced: 1.0 })
      .describe("profile -> weight for agents without an override; weights sum > 0, normalised to 1"),
    overrides: z.record(z.string().min(1), z.string()).default({}).describe("agent id -> profile, taking precedence over the draw"),
    need_multipliers: z
      .record(
        z.string().min(1),
        z.record(z.string().min(1), z.number().positive().max(10).describe("decay multiplier, 1 = neutral")).describe("need -> decay multiplier"),
      )
      .optional()
      .describe(
        "profile -> need -> decay multiplier with features.behavior.reward_multipliers on, over the profile's built-in ones (any need of needs:, a mod's included; the personality plug-in checks the names)",
      ),
  })
  .superRefine((p, ctx) => {
    let total = 0;
    for (const [name, weight] of Object.entries(p.distribution)) {
      total += weight;
      if (!isKnownProfile(name.toLowerCase())) {
        ctx.addIssue({
          code: "custom",
          path: ["distribution", name],
          message: `expected a known personality profile (${PERSONALITY_PROFILES.join(", ")}), got "${name}"`,
        });
      }
    }
    if (!(total > 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["distribution"],
        message: `expected personality weights with a positive sum, got ${total}`,
      });
    }
    for (const [agent, profile] of Object.entries(p.overrides)) {
      if (!isKnownProfile(profile.toLowerCase())) {
        ctx.addIssue({
          code: "custom",
          path: ["overrides", agent],
          message: `expected a known personality profile (${PERSONALITY_PROFILES.join(", ")}), got "${profile}"`,
        });
      }
    }
    for (const profile of Object.keys(p.need_multipliers ?? {})) {
      if (!isKnownProfile(profile.toLowerCase())) {
        ctx.addIssue({
          code: "custom",
          path: ["need_multipliers", profile],
          message: `expected a known personality profile (${PERSONALITY_PROFILES.join(", ")}), got "${profile}"`,
        });
      }
    }
  })
  .transform((p) => {
    // Names are case-insensitive as in the original; weights are normalised so they sum to 1.
    const summed: Partial<Record<PersonalityProfile, number>> = {};
    let total = 0;
    for (const [name, weight] of Object.entries(p.distribution)) {
      const key = name.toLowerCase() as PersonalityProfile;
      summed[key] = (summed[key] ?? 0) + weight;
      total += weight;
    }
    const distribution: Partial<Record<PersonalityProfile, number>> = {};
    for (const key of Object.keys(summed).sort() as PersonalityProfile[]) distribution[key] = summed[key]! / total;
    const overrides: Record<string, PersonalityProfile> = {};
    for (const [agent, profile] of Object.entries(p.overrides)) overrides[agent] = profile.toLowerCase() as PersonalityProfile;
    // Absent stays absent (the config hash of a file without it is unchanged).
    if (p.need_multipliers === undefined) return { distribution, overrides };
    const need_multipliers: Partial<Record<PersonalityProfile, Record<string, number>>> = {};
    for (const [profile, needs] of Object.entries(p.need_multipliers)) {
      const key = profile.toLowerCase() as PersonalityProfile;
      need_multipliers[key] = { ...need_multipliers[key], ...needs };
    }
    return { distribution, overrides, need_multipliers };
  })
  .prefault({})
  .describe("personality profile assignment");

export const PolicyRuntimeSection = z
  .strictObject({
    option_commit_ticks: z.int().min(0).max(100_000).default(15).describe("ticks an agent keeps a chosen option before choosing again"),
    hidden_sizes: z
      .array(z.int().min(1).max(65_536))
      .min(1)
      .max(16)
      .default([128, 128])
      .describe("hidden layer widths of the neural policy's MLP (a fresh network; a checkpoint keeps its own)"),
    greedy: z.boolean().default(false).describe("neural policy: take the most likely allowed action instead of sampling"),
  })
  .prefault({})
  .describe("policy runtime settings");

export const PpoSection = z
  .strictObject({
    learning_rate: z.number().gt(0).default(3e-4).describe("optimizer learning rate"),
    clip_param: z.number().min(0).max(1).default(0.2).describe("policy ratio clip epsilon"),
    value_loss_coef: z.number().min(0).default(0.5).describe("weight of the value loss"),
    entropy_coef: z.number().min(0).default(0.01).describe("weight of the entropy bonus"),
    num_epochs: z.int().min(1).max(64).default(4).describe("epochs per PPO update"),
    mini_batch_size: z.int().min(1).default(32).describe("transitions per minibatch"),
    gae_lambda: z.number().min(0).max(1).default(0.95).describe("GAE lambda"),
    gamma: z.number().min(0).max(1).default(0.99).describe("discount factor per tick"),
    max_grad_norm: z.number().min(0).default(0.5).describe("global gradient norm clip"),
    value_clip: z.number().min(0).max(1).default(0.2).describe("value function update clip"),
    advantage_normalization: z.boolean().default(true).describe("normalise advantages per minibatch"),
    num_mini_batches: z.int().min(1).max(1024).default(4).describe("minibatches per epoch"),
  })
  .prefault({})
  .describe("PPO hyperparameters");

export const SocialRewardScheduleEntry = z
  .strictObject({
    cycle: z.int().min(0).default(0).describe("training cycle from which the stage applies"),
    stage: SocialRewardStage.describe("social reward stage from this cycle on"),
  })
  .describe("one step of the social reward curriculum");

export const BcSettings = z
  .strictObject({
    manifest: z.string().min(1).nullable().default(null).describe("path to the behaviour-cloning dataset manifest"),
    learning_rate: z.number().gt(0).default(1e-3).describe("BC optimizer learning rate"),
    batch_size: z.int().min(1).default(64).describe("BC samples per batch"),
    epochs: z.int().min(1).default(10).describe("BC epochs"),
    weight_decay: z.number().min(0).default(0).describe("L2 weight decay"),
    device: z.string().min(1).default("cpu").describe("tensor device name (the tensor backend maps it)"),
  })
  .prefault({})
  .describe("behaviour-cloning settings");

export const AnnealStage = z
  .strictObject({
    cycle: z.int().min(0).default(0).describe("training cycle of this stage"),
    mode: z.enum(["bc", "ppo"]).default("ppo").describe("what this stage trains"),
    epochs: z.int().min(1).default(1).describe("epochs in this stage"),
    bc_weight: z.number().min(0).max(1).default(1.0).describe("weight of the BC loss, 0..1"),
  })
  .describe("one stage of the BC -> PPO anneal");

export const TrainingSection = z
  .strictObject({
    source: z.enum(["replay", "rollout", "mixed", "bc", "anneal"]).default("replay").describe("where training data comes from"),
    rollout_ticks: z.int().min(0).default(100).describe("ticks per rollout"),
    rollout_auto_seed_agents: z.boolean().default(false).describe("add default agents when a rollout world has none"),
    replay_manifest: z.string().min(1).nullable().default(null).describe("path to the replay manifest"),
    social_reward_stage_override: SocialRewardStage.nullable().default(null).describe("force this social reward stage during training"),
    social_reward_schedule: z.array(SocialRewardScheduleEntry).default([]).describe("social reward stage by training cycle"),
    bc: BcSettings,
    anneal_schedule: z.array(AnnealStage).default([]).describe("anneal stages in order"),
    anneal_accuracy_threshold: z.number().min(0).max(1).default(0.9).describe("BC accuracy needed to move on, 0..1"),
    anneal_enable_policy_blend: z.boolean().default(false).describe("blend scripted and learned actions during anneal"),
    anneal_scripted_ratio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("with the blend on: probability, per agent per decision, that the scripted controller's choice stands (1 = all scripted, 0 = all learned)"),
  })
  .prefault({})
  .describe("training harness settings");

export type BehaviorConfig = z.output<typeof BehaviorSection>;
export type PersonalitiesConfig = z.output<typeof PersonalitiesSection>;
export type PolicyRuntimeConfig = z.output<typeof PolicyRuntimeSection>;
export type PpoConfig = z.output<typeof PpoSection>;
export type TrainingConfig = z.output<typeof TrainingSection>;

export const sections = {
  behavior: BehaviorSection,
  personalities: PersonalitiesSection,
  policy_runtime: PolicyRuntimeSection,
  ppo: PpoSection,
  training: TrainingSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    behavior: BehaviorConfig;
    personalities: PersonalitiesConfig;
    policy_runtime: PolicyRuntimeConfig;
    ppo: PpoConfig;
    training: TrainingConfig;
  }
}
