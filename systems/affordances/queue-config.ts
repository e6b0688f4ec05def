// Config sections of the queue manager (affordances phase): `queue_fairness` (cooldowns, ghost
// steps, age priority, reservation timeout) and `conflict` (conflict intensities and the rivalry
// ledger, which the social plug-in keeps).
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

export const QueueFairnessSection = z
  .strictObject({
    cooldown_ticks: z.int().min(0).max(600).default(60).describe("ticks an agent who just used an object waits before re-queueing for it"),
    ghost_step_after: z.int().min(0).max(100).default(3).describe("ticks a blocked queue head waits before it is ghost-stepped"),
    age_priority_weight: z.number().min(0).max(1).default(0.1).describe("priority gained per tick waited, unitless"),
    reservation_timeout_ticks: z
      .int()
      .min(1)
      .max(100_000)
      .default(30)
      .describe("ticks an idle holder keeps a reservation nobody waits for before it lapses (not in the original)"),
  })
  .prefault({})
  .describe("queue fairness tuning");

export const RivalrySettings = z
  .strictObject({
    increment_per_conflict: z.number().min(0).max(1).default(0.15).describe("rivalry added per queue conflict"),
    decay_per_tick: z.number().min(0).max(1).default(0.005).describe("rivalry lost per tick"),
    min_value: z.number().min(0).max(1).default(0).describe("lowest rivalry value"),
    max_value: z.number().min(0).max(1).default(1).describe("highest rivalry value"),
    avoid_threshold: z.number().min(0).max(1).default(0.7).describe("rivalry at or above which agents avoid each other; within [min_value, max_value]"),
    eviction_threshold: z.number().min(0).max(1).default(0.05).describe("rivalry below which an edge is dropped; within [min_value, max_value]"),
    max_edges: z.int().min(1).max(32).default(6).describe("rivalry edges kept per agent"),
    ghost_step_boost: z.number().min(0).max(5).default(1.5).describe("conflict multiplier when a ghost step happens"),
    handover_boost: z.number().min(0).max(5).default(0.4).describe("conflict multiplier on a contested handover"),
    queue_length_boost: z.number().min(0).max(2).default(0.25).describe("extra conflict per agent waiting in the queue"),
  })
  .superRefine((r, ctx) => {
    if (r.min_value > r.max_value) {
      ctx.addIssue({
        code: "custom",
        path: ["min_value"],
        message: `expected min_value <= max_value (${r.max_value}), got ${r.min_value}`,
      });
      return;
    }
    for (const key of ["avoid_threshold", "eviction_threshold"] as const) {
      if (r[key] < r.min_value || r[key] > r.max_value) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `expected ${key} within [min_value, max_value] = [${r.min_value}, ${r.max_value}], got ${r[key]}`,
        });
      }
    }
  })
  .prefault({})
  .describe("rivalry ledger tuning");

export const ConflictSection = z
  .strictObject({
    rivalry: RivalrySettings,
  })
  .prefault({})
  .describe("conflict tuning");

export type QueueFairnessConfig = z.output<typeof QueueFairnessSection>;
export type ConflictConfig = z.output<typeof ConflictSection>;

export const sections = {
  queue_fairness: QueueFairnessSection,
  conflict: ConflictSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    queue_fairness: QueueFairnessConfig;
    conflict: ConflictConfig;
  }
}
