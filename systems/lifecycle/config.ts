// Config section owned by the lifecycle system: `lifecycle` (respawn timing).
// Read at start by the lifecycle pass in the needs phase.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

export const LifecycleSection = z
  .strictObject({
    respawn_delay_ticks: z.int().min(0).max(100_000).default(0).describe("ticks between an agent's exit and its replacement's spawn"),
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
