// The world's public types (engine/world.ts re-exports them): its options, the initial values of
// a spawn, the error of a failing system, and the kernel state a snapshot carries.
import type { Phase } from "./phases.ts";
import type { AnyPlugin } from "./plugin.ts";
import type { ConfigSections } from "./config/sections.ts";

export interface WorldOptions {
  /** Validated configuration (see engine/config); plug-in sections keyed by plug-in name. */
  settings: ConfigSections | Record<string, unknown>;
  plugins: readonly AnyPlugin[];
  /** Root seed; defaults to `settings.seed`, then 0. */
  seed?: number;
  /** Number of towns; defaults to `settings.world.towns`, then 1. */
  towns?: number;
  /**
   * Initial entity capacity; default: the entities the plug-ins create at start (their
   * `entities` hints) plus id 0, and at least 1024 (small worlds keep room to spawn without
   * regrowing). Columns grow by a quarter beyond it.
   */
  capacity?: number;
  /**
   * First agent uid of this world (default 0) and how many uids it may hand out (default 2^32):
   * a block of a sharded world (engine/shards.ts) numbers its agents from its own base, so
   * agent ids stay unique across blocks. Neither is hashed: the defaults give today's uids.
   */
  uidBase?: number;
  uidLimit?: number;
}

/** Initial field values by component name, for `spawnAgent`/`spawnEntity`. */
export type InitValues = Record<string, Record<string, number>>;

/** Raised when a system throws during a tick: names the system, tick and phase. */
export class SystemError extends Error {
  override name = "SystemError";
  constructor(
    readonly system: string,
    readonly tick: number,
    readonly phase: Phase,
    override readonly cause: unknown,
  ) {
    super(`system "${system}" failed in phase ${phase} at tick ${tick}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The kernel's own state (see World.kernelState). */
export interface KernelState {
  tick: number;
  seed: number;
  /** Entity capacity of the component columns. */
  capacity: number;
  nextUid: number;
  /** Entity index: live ids are dense[0, aliveCount); the rest wait to be recycled. */
  aliveCount: number;
  maxId: number;
  dense: Uint32Array;
  /** Reserved agent ids: the next not yet handed out and the last ([1, 0] or absent: none). */
  reserve?: readonly [number, number];
  /** Custom agent names by uid, ascending uid. */
  names: [number, string][];
  interned: string[];
}
