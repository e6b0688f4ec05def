// Config section owned by the lifecycle system: `lifecycle` (exit rules, respawn timing and caps).
// Read at start by the lifecycle passes in the needs phase (NeedsSets.Exits and Finalize).
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

export const LifecycleSection = z
  .strictObject({
    respawn_delay_ticks: z
      .int()
      .min(0)
      .max(100_000)
      .default(0)
      .describe("fixed ticks added to every replacement's random delay (the original's only respawn delay)"),
    respawn_delay_min: z.int().min(0).max(100_000).default(5).describe("least random ticks between an exit and its replacement (guide: 5)"),
    respawn_delay_max: z.int().min(0).max(100_000).default(20).describe("most random ticks between an exit and its replacement (guide: 20)"),
    exit_cooldown_ticks: z
      .int()
      .min(0)
      .max(1_000_000)
      .default(120)
      .describe("least ticks between two respawns in one town; a replacement due sooner waits"),
    daily_respawn_cap: z
      .int()
      .min(0)
      .max(1_000_000)
      .default(2)
      .describe("most respawns per town per day (world.ticks_per_day ticks); 0 = no respawns; a replacement over the cap waits for the next day"),
    faint_hunger: z.number().min(0).max(1).default(0.03).describe("an agent whose hunger is at or below this faints and exits, need units 0..1"),
    unemployment_grace_ticks: z
      .int()
      .min(1)
      .max(65_535)
      .default(1440)
      .describe("consecutive ticks with no money and no wage after which an agent exits for unemployment"),
    mortality: z.boolean().default(true).describe("fainting exits an agent (the original's mortality toggle); false = needs never kill"),
  })
  .superRefine((l, ctx) => {
    if (l.respawn_delay_min > l.respawn_delay_max) {
      ctx.addIssue({
        code: "custom",
        path: ["respawn_delay_max"],
        message: `expected respawn_delay_max >= respawn_delay_min (${l.respawn_delay_min}), got ${l.respawn_delay_max}`,
      });
    }
  })
  .prefault({})
  .describe("exits and respawns");

export type LifecycleConfig = z.output<typeof LifecycleSection>;

export const sections = {
  lifecycle: LifecycleSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    lifecycle: LifecycleConfig;
  }
}
