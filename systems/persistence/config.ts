// Config section owned by the persistence system: `snapshot` (storage, autosave, identity stamped
// on snapshots, migrations, load guardrails). Read at start by the persistence phase and the loader.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

const HEX40 = /^[0-9a-fA-F]{40}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/=]{32,88}$/;

export const SnapshotStorage = z
  .strictObject({
    root: z.string().trim().min(1).default("snapshots").describe("folder for snapshot files"),
  })
  .prefault({})
  .describe("snapshot storage");

export const SnapshotAutosave = z
  .strictObject({
    cadence_ticks: z
      .int()
      .min(100, { error: (issue) => `expected null (autosave off) or an integer >= 100, got ${String(issue.input)}` })
      .nullable()
      .default(null)
      .describe("ticks between autosaves; null = no autosave"),
    retain: z.int().min(1).max(1000).default(3).describe("autosaves kept, oldest deleted first"),
  })
  .prefault({})
  .describe("autosave cadence and retention");

export const SnapshotIdentity = z
  .strictObject({
    observation_variant: z
      .enum(["infer", "hybrid", "full", "compact"])
      .default("infer")
      .describe("observation variant stamped on snapshots; infer = from features.systems.observations"),
    policy_hash: z
      .string()
      .trim()
      .refine((h) => HEX40.test(h) || HEX64.test(h) || BASE64.test(h), {
        error: (issue) => `expected a 40/64-hex or 32-88 character base64 digest, got ${JSON.stringify(issue.input)}`,
      })
      .nullable()
      .default(null)
      .describe("policy hash stamped on snapshots; null = from the running policy"),
    policy_artifact: z.string().min(1).nullable().default(null).describe("path of the policy checkpoint stamped on snapshots"),
    anneal_ratio: z.number().min(0).max(1).nullable().default(null).describe("BC/PPO anneal ratio stamped on snapshots, 0..1; null = from the trainer"),
  })
  .prefault({})
  .describe("identity stamped on snapshots");

export const SnapshotMigrations = z
  .strictObject({
    handlers: z
      .record(
        z.string().trim().min(1),
        z.string().regex(/^.+:[A-Za-z_$][\w$]*$/, { error: 'expected "module:export"' }),
      )
      .default({})
      .describe('legacy config_id -> "module:export" migration function'),
    auto_apply: z.boolean().default(false).describe("apply a matching migration on load without asking"),
    allow_minor: z.boolean().default(false).describe("accept snapshots from a minor schema version without migration"),
  })
  .prefault({})
  .describe("snapshot migrations");

export const SnapshotGuardrails = z
  .strictObject({
    require_exact_config: z.boolean().default(true).describe("refuse snapshots whose config_id differs (unless migrated)"),
    allow_downgrade: z.boolean().default(false).describe("accept snapshots written by a newer schema"),
    allowed_paths: z.array(z.string().min(1)).default([]).describe("extra folders snapshots may be read from or written to"),
  })
  .prefault({})
  .describe("snapshot load guardrails");

export const SnapshotSection = z
  .strictObject({
    storage: SnapshotStorage,
    autosave: SnapshotAutosave,
    identity: SnapshotIdentity,
    migrations: SnapshotMigrations,
    guardrails: SnapshotGuardrails,
    capture_on_failure: z.boolean().default(false).describe("write a snapshot when a tick raises an internal error"),
  })
  .prefault({})
  .describe("snapshots");

export type SnapshotConfig = z.output<typeof SnapshotSection>;

export const sections = {
  snapshot: SnapshotSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    snapshot: SnapshotConfig;
  }
}
