// Config sections owned by the observation builder: `observations_config` (hybrid, compact and
// social snippet shapes) and `embedding_allocator` (agent embedding slots). Read at start by the policy phase.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

/** A square window centred on the agent: an integer >= 3 that is odd. */
const OddWindow = z
  .int()
  .min(3)
  .superRefine((size, ctx) => {
    if (size % 2 !== 1) {
      ctx.addIssue({ code: "custom", message: `expected an odd window size so the agent sits at the centre, got ${size}` });
    }
  });

export const HybridObservationSettings = z
  .strictObject({
    local_window: OddWindow.default(11).describe("side of the local map window, tiles (odd, >= 3)"),
    include_targets: z.boolean().default(false).describe("add target features (12 extra) to the feature vector"),
    time_ticks_per_day: z.int().min(1).default(1440).describe("the original's key for ticks per simulated day; the day is world.ticks_per_day, and this key is read only when that is absent (then for every plug-in, not just the time-of-day features)"),
  })
  .prefault({})
  .describe("hybrid variant: local map plus feature vector");

export const CompactObservationSettings = z
  .strictObject({
    map_window: OddWindow.default(7).describe("side of the compact map window, tiles (odd, >= 3)"),
    include_targets: z.boolean().default(false).describe("add target features to the feature vector"),
    object_channels: z.array(z.string().min(1)).default([]).describe("object types given their own map channel"),
    normalize_counts: z.boolean().default(true).describe("scale object counts to 0..1"),
  })
  .prefault({})
  .describe("compact variant");

export const SocialSnippetSettings = z
  .strictObject({
    top_friends: z.int().min(0).max(8).default(2).describe("friend slots in the social snippet"),
    top_rivals: z.int().min(0).max(8).default(2).describe("rival slots in the social snippet"),
    embed_dim: z.int().min(1).max(32).default(8).describe("embedding size per slot"),
    include_aggregates: z.boolean().default(true).describe("append aggregate relationship features (forced off with no slots)"),
  })
  .superRefine((s, ctx) => {
    if (s.top_friends + s.top_rivals > 8) {
      ctx.addIssue({
        code: "custom",
        path: ["top_rivals"],
        message: `expected top_friends + top_rivals <= 8 (tensor budget), got ${s.top_friends} + ${s.top_rivals}`,
      });
    }
  })
  .transform((s) => (s.top_friends + s.top_rivals === 0 ? { ...s, include_aggregates: false } : s))
  .prefault({})
  .describe("social snippet: relationship slots in the feature vector");

export const ObservationsConfigSection = z
  .strictObject({
    hybrid: HybridObservationSettings,
    compact: CompactObservationSettings,
    social_snippet: SocialSnippetSettings,
  })
  .prefault({})
  .describe("observation shapes per variant (the variant itself is features.systems.observations)");

export const EmbeddingAllocatorSection = z
  .strictObject({
    cooldown_ticks: z.int().min(0).max(10_000).default(2000).describe("ticks a freed embedding slot rests before reuse"),
    reuse_warning_threshold: z.number().min(0).max(0.5).default(0.05).describe("forced-reuse rate above which a warning is raised, 0..0.5"),
    log_forced_reuse: z.boolean().default(true).describe("log every forced slot reuse"),
    max_slots: z.int().min(1).max(256).default(64).describe("embedding slots available"),
  })
  .prefault({})
  .describe("agent embedding slot allocation");

export type ObservationsConfig = z.output<typeof ObservationsConfigSection>;
export type EmbeddingAllocatorConfig = z.output<typeof EmbeddingAllocatorSection>;

export const sections = {
  observations_config: ObservationsConfigSection,
  embedding_allocator: EmbeddingAllocatorSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    observations_config: ObservationsConfig;
    embedding_allocator: EmbeddingAllocatorConfig;
  }
}
