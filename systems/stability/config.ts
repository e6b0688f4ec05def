// Config section owned by the stability monitor: `stability` (alert thresholds, canaries and the
// promotion gate). Read at start by the stability pass in the telemetry phase.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

export const StarvationCanary = z
  .strictObject({
    window_ticks: z.int().min(1).max(100_000).default(1000).describe("ticks over which incidents are counted"),
    max_incidents: z.int().min(0).max(10_000).default(0).describe("starvation incidents tolerated per window"),
    hunger_threshold: z.number().min(0).max(1).default(0.05).describe("hunger at or below which an agent is starving, 0..1"),
    min_duration_ticks: z.int().min(1).max(10_000).default(30).describe("ticks starving before it counts as an incident"),
  })
  .prefault({})
  .describe("starvation canary");

export const RewardVarianceCanary = z
  .strictObject({
    window_ticks: z.int().min(1).max(100_000).default(1000).describe("ticks over which variance is measured"),
    max_variance: z.number().min(0).default(0.25).describe("reward variance above which an alert is raised"),
    min_samples: z.int().min(1).max(100_000).default(20).describe("samples needed before the canary judges"),
  })
  .prefault({})
  .describe("reward variance canary");

export const OptionThrashCanary = z
  .strictObject({
    window_ticks: z.int().min(1).max(100_000).default(600).describe("ticks over which option switches are counted"),
    max_switch_rate: z.number().min(0).max(10).default(0.25).describe("option switches per tick above which an alert is raised"),
    min_samples: z.int().min(1).max(100_000).default(10).describe("samples needed before the canary judges"),
  })
  .prefault({})
  .describe("option thrash canary");

export const PromotionGate = z
  .strictObject({
    required_passes: z.int().min(1).max(10).default(2).describe("consecutive passing windows needed to promote"),
    window_ticks: z.int().min(1).max(100_000).default(1000).describe("ticks per evaluation window"),
    allowed_alerts: z
      .union([z.array(z.string().min(1)), z.string().min(1).transform((alert) => [alert])])
      .default([])
      .describe("alerts that do not block promotion; a single name is read as a one-item list"),
  })
  .prefault({})
  .describe("policy promotion gate");

export const StabilitySection = z
  .strictObject({
    affordance_fail_threshold: z.int().min(0).max(100).default(5).describe("affordance failures per tick that raise an alert"),
    lateness_threshold: z.int().min(0).max(100).default(3).describe("late arrivals per tick that raise an alert"),
    starvation: StarvationCanary,
    reward_variance: RewardVarianceCanary,
    option_thrash: OptionThrashCanary,
    promotion: PromotionGate,
  })
  .prefault({})
  .describe("stability monitor thresholds");

export type StabilityConfig = z.output<typeof StabilitySection>;

export const sections = {
  stability: StabilitySection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    stability: StabilityConfig;
  }
}
