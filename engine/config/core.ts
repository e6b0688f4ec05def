// Sections the kernel itself reads: identity (config_id, seed), feature flags, runtime
// providers, the world's shape (towns, agents per town, grid) and free-form docs.
import { z } from "zod";
import type { SectionSchemas } from "./sections.ts";

const onOff = z.enum(["on", "off"]);
const provider = z
  .union([z.string().min(1), z.strictObject({ provider: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) })])
  .transform((v) => (typeof v === "string" ? { provider: v, options: {} } : v));

export const FeaturesSection = z
  .strictObject({
    stages: z
      .strictObject({
        relationships: z.enum(["OFF", "A", "B", "C1", "C2", "C3"]).default("OFF").describe("Relationship system stage: OFF, A (familiarity), B (trust), C1-C3 (social rewards)."),
        social_rewards: z.enum(["OFF", "C1", "C2", "C3"]).default("OFF").describe("Social reward stage: chat rewards from C1, avoidance rewards from C2."),
      })
      .prefault({})
      .describe("Staged features of the original (relationships, social rewards)."),
    systems: z
      .strictObject({
        lifecycle: onOff.default("on").describe("Exits and respawns on/off."),
        observations: z.enum(["full", "hybrid", "compact"]).default("hybrid").describe("Observation variant fed to policies."),
      })
      .prefault({})
      .describe("Systems switched on or off."),
    training: z
      .strictObject({ curiosity: z.enum(["phase_A", "off"]).default("off").describe("Curiosity bonus stage of the original's trainer (read for compatibility).") })
      .prefault({})
      .describe("Training features."),
    console: z
      .strictObject({ mode: z.enum(["viewer", "admin"]).default("viewer").describe("Console mode of the original (tokens decide roles here).") })
      .prefault({})
      .describe("Console features."),
    relationship_modifiers: z.boolean().default(false).describe("Personality modifiers on relationship changes."),
    behavior: z
      .strictObject({
        personality_profiles: z.boolean().default(false).describe("Agents get personality profiles."),
        reward_multipliers: z.boolean().default(false).describe("Personality scales each agent's reward terms."),
      })
      .prefault({})
      .describe("Behaviour features."),
    observations: z
      .strictObject({
        personality_channels: z.boolean().default(false).describe("Observations carry personality channels."),
        personality_ui: z.boolean().default(false).describe("The observer shows personalities."),
      })
      .prefault({})
      .describe("Observation features."),
  })
  .prefault({})
  .describe("Feature flags: stages and systems switched on or off.");

export const RuntimeSection = z
  .strictObject({
    world: provider.default({ provider: "default", options: {} }).describe("World provider: a name, or { provider, options }."),
    policy: provider
      .default({ provider: "scripted", options: {} })
      .describe("Who decides: scripted, random, neural, neural:fresh or neural:CHECKPOINT_DIR (or { provider, options })."),
    telemetry: provider.default({ provider: "stdout", options: {} }).describe("Telemetry provider: a name, or { provider, options }."),
  })
  .prefault({})
  .describe("Runtime providers: world, policy and telemetry.");

const tile = z.number().int().min(1).max(4096);
export const WorldSection = z
  .strictObject({
    grid_size: z.tuple([tile, tile]).default([48, 48]).describe("Grid width and height in tiles."),
    weather_seed: z.number().int().default(0).describe("Seed of the original's weather stream; kept for compatibility, mixed into nothing else."),
    towns: z.number().int().min(1).max(10_000_000).default(1).describe("Number of independent towns simulated together (batched environments)."),
    agents_per_town: z.number().int().min(0).max(10_000_000).default(2).describe("Agents spawned in each town at start (the original seeds two)."),
    shards: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .optional()
      .describe(
        "Blocks of contiguous towns, each simulated apart with its own seed (block 0 keeps the root seed), so that --workers N can run them on N threads with the same state hash for any N; at most world.towns. Absent: 1 (one block, today's world). A world of several blocks hashes differently from the one-block world.",
      ),
    ticks_per_day: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .optional()
      .describe(
        "Ticks per simulated day, the one day every plug-in counts in: job shifts, daily respawn caps, perturbation probabilities per day, time-of-day observation features, the observer's clock. Absent: the original's observations_config.hybrid.time_ticks_per_day (default 1440). Both set to different values is an error.",
      ),
  })
  .prefault({})
  .describe("The world's shape: towns, agents per town, grid.");

export const coreSections = {
  config_id: z.string().min(1).describe("Free-form label of this configuration, stamped on snapshots and telemetry."),
  seed: z.number().int().min(0).max(2 ** 53 - 1).default(0).describe("Root seed of every random stream."),
  features: FeaturesSection,
  runtime: RuntimeSection,
  world: WorldSection,
  docs: z.record(z.string(), z.unknown()).optional().describe("Free-form documentation block (ignored by the simulation)."),
  plugins: z
    .array(z.string().min(1))
    .optional()
    .describe("Plug-in modules to load besides the core ones: paths relative to this config's folder, or package names (the command line adds more with --plugin PATH)."),
  allow_unknown_sections: z
    .boolean()
    .optional()
    .describe(
      "Load this config even when a top-level section is declared by no loaded plug-in (a mod whose plug-in is not loaded, or a misspelt section): each such section is then ignored with a warning instead of refused (--strict still refuses it). Absent: such a section is an error naming the plug-in and --plugin.",
    ),
} satisfies SectionSchemas;

declare module "./sections.ts" {
  interface ConfigSections {
    config_id: string;
    seed: number;
    features: z.output<typeof FeaturesSection>;
    runtime: z.output<typeof RuntimeSection>;
    world: z.output<typeof WorldSection>;
    docs?: Record<string, unknown>;
    plugins?: string[];
    allow_unknown_sections?: boolean;
  }
}
