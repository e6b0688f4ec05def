// Persistence (phase persistence): autosaves a snapshot of the world every
// `snapshot.autosave.cadence_ticks` ticks (or every N ticks when a tool asks, `townlet run
// --snapshot-every N --snapshot-dir D`) into `D/<config_id>-<tick>.snapshot`, keeping the newest
// `snapshot.autosave.retain`. The snapshot is taken when the tick has completed (world.atTickEnd),
// so it holds the tick's final state; it is stamped with config_id, config hash, policy hash,
// observation variant and anneal ratio. The codec itself lives in engine/snapshot.ts.
import { resolve } from "node:path";
import { definePlugin } from "../../engine/plugin.ts";
import { defineResource } from "../../engine/resource.ts";
import type { World } from "../../engine/world.ts";
import { writeSnapshotFile, type SnapshotMeta } from "../../engine/snapshot.ts";
import { sections, type SnapshotConfig } from "./config.ts";
import { PolicyKey } from "../../components/release.ts";
import { persistenceCommands } from "./commands.ts";

export { sections } from "./config.ts";
export type { SnapshotConfig } from "./config.ts";

/** The plug-in's resource: where and how often to autosave (settings and tools; not simulation state). */
export class PersistenceState {
  /** Ticks between autosaves; null = no autosave. */
  every: number | null;
  /** Folder of the autosaves (absolute). */
  dir: string;
  /** Autosaves kept (the oldest of the same config_id are deleted first). */
  retain: number;
  /** The running config's hash (known to tools that loaded the config file), stamped on snapshots. */
  configHash: string | null = null;
  /** Paths written by this world, oldest first. */
  readonly written: string[] = [];

  constructor(cfg: SnapshotConfig | undefined) {
    this.every = cfg?.autosave.cadence_ticks ?? null;
    this.dir = resolve(cfg?.storage.root ?? "snapshots");
    this.retain = cfg?.autosave.retain ?? 3;
  }
}

/** The persistence plug-in's resource: its PersistenceState (tools set the config hash and cadence, read what was written). */
export const PersistenceKey = defineResource<PersistenceState>("persistence");

export interface AutosaveOptions {
  /** Ticks between snapshots (>= 1); null turns autosave off. */
  every: number | null;
  /** Folder (default: snapshot.storage.root). */
  dir?: string;
  /** Snapshots kept (default: snapshot.autosave.retain). */
  retain?: number;
  configHash?: string | null;
}

/** Turns autosave on (or off) for a world, overriding the config's cadence, folder and retention. */
export function configureAutosave(world: World, opts: AutosaveOptions): void {
  const st = world.state<PersistenceState>("persistence");
  if (opts.every !== null && !(Number.isInteger(opts.every) && opts.every >= 1)) {
    throw new RangeError(`autosave cadence must be an integer >= 1 tick, got ${opts.every}`);
  }
  if (opts.retain !== undefined && !(Number.isInteger(opts.retain) && opts.retain >= 1)) {
    throw new RangeError(`autosave retain must be an integer >= 1, got ${opts.retain}`);
  }
  st.every = opts.every;
  if (opts.dir !== undefined) st.dir = resolve(opts.dir);
  if (opts.retain !== undefined) st.retain = opts.retain;
  if (opts.configHash !== undefined) st.configHash = opts.configHash;
}

interface PolicyLike {
  hash?: () => string;
  learned?: { hash?: () => string };
  scriptedRatio?: number;
}

/** What a snapshot of `world` is stamped with, from `snapshot.identity` and the running policy. */
export function snapshotMeta(world: World, configHash: string | null = null): SnapshotMeta {
  const s = world.settings as Partial<import("../../engine/config/sections.ts").ConfigSections> & { config_id?: string };
  const id = s.snapshot?.identity;
  let policy: PolicyLike | undefined;
  policy = world.optionalResource(PolicyKey)?.policy;
  let policyHash = id?.policy_hash ?? null;
  if (policyHash === null && policy) {
    const h = typeof policy.hash === "function" ? policy.hash : typeof policy.learned?.hash === "function" ? policy.learned.hash.bind(policy.learned) : undefined;
    if (h) policyHash = h.call(policy);
  }
  const variant = id?.observation_variant;
  const features = s.features as { systems?: { observations?: string } } | undefined;
  return {
    configId: s.config_id,
    configHash,
    policyHash,
    observationVariant: variant && variant !== "infer" ? variant : (features?.systems?.observations ?? null),
    annealRatio: id?.anneal_ratio ?? (typeof policy?.scriptedRatio === "number" ? policy.scriptedRatio : null),
  };
}

export const persistencePlugin = definePlugin({
  name: "persistence",
  provides: [PersistenceKey],
  commands: persistenceCommands,
  optional: [PolicyKey],
  doc: "snapshots: autosave cadence and retention, identity stamped on snapshots",
  sections,
  state: (world: World) => new PersistenceState((world.settings as { snapshot?: SnapshotConfig }).snapshot),
  systems: [
    {
      name: "persistence/autosave",
      phase: "persistence",
      reads: ["the whole world (at the end of the tick)"],
      writes: ["snapshot files"],
      run({ world, tick, state }) {
        const every = state.every;
        if (every === null || tick % every !== 0) return;
        world.atTickEnd(() => {
          state.written.push(writeSnapshotFile(state.dir, world, snapshotMeta(world, state.configHash), { retain: state.retain }));
        });
      },
    },
  ],
});
