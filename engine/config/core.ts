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
        /** Relationship system stage: OFF, A (familiarity), B (trust), C1-C3 (social rewards). */
        relationships: z.enum(["OFF", "A", "B", "C1", "C2", "C3"]).default("OFF"),
        /** Social reward stage: chat rewards from C1, avoidance rewards from C2. */
        social_rewards: z.enum(["OFF", "C1", "C2", "C3"]).default("OFF"),
      })
      .prefault({}),
    systems: z
      .strictObject({
        /** Exits and respawns on/off. */
        lifecycle: onOff.default("on"),
        /** Observation variant fed to policies. */
        observations: z.enum(["full", "hybrid", "compact"]).default("hybrid"),
      })
      .prefault({}),
    training: z.strictObject({ curiosity: z.enum(["phase_A", "off"]).default("off") }).prefault({}),
    console: z.strictObject({ mode: z.enum(["viewer", "admin"]).default("viewer") }).prefault({}),
    relationship_modifiers: z.boolean().default(false),
    behavior: z
      .strictObject({ personality_profiles: z.boolean().default(false), reward_multipliers: z.boolean().default(false) })
      .prefault({}),
    observations: z
      .strictObject({ personality_channels: z.boolean().default(false), personality_ui: z.boolean().default(false) })
      .prefault({}),
  })
  .prefault({});

export const RuntimeSection = z
  .strictObject({
    world: provider.default({ provider: "default", options: {} }),
    policy: provider.default({ provider: "scripted", options: {} }),
    telemetry: provider.default({ provider: "stdout", options: {} }),
  })
  .prefault({});

const tile = z.number().int().min(1).max(4096);
export const WorldSection = z
  .strictObject({
    /** Grid width and height in tiles. */
    grid_size: z.tuple([tile, tile]).default([48, 48]),
    /** Seed of the original's weather stream; kept for compatibility, mixed into nothing else. */
    weather_seed: z.number().int().default(0),
    /** Number of independent towns simulated together (batched environments). */
    towns: z.number().int().min(1).max(10_000_000).default(1),
    /** Agents spawned in each town at start (the original seeds two). */
    agents_per_town: z.number().int().min(0).max(10_000_000).default(2),
  })
  .prefault({});

export const coreSections = {
  /** Free-form label of this configuration, stamped on snapshots and telemetry. */
  config_id: z.string().min(1),
  /** Root seed of every random stream. */
  seed: z.number().int().min(0).max(2 ** 53 - 1).default(0),
  features: FeaturesSection,
  runtime: RuntimeSection,
  world: WorldSection,
  /** Free-form documentation block (ignored by the simulation). */
  docs: z.record(z.string(), z.unknown()).optional(),
} satisfies SectionSchemas;

declare module "./sections.ts" {
  interface ConfigSections {
    config_id: string;
    seed: number;
    features: z.output<typeof FeaturesSection>;
    runtime: z.output<typeof RuntimeSection>;
    world: z.output<typeof WorldSection>;
    docs?: Record<string, unknown>;
  }
}
