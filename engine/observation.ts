// The observation hook's shapes (`PluginDef.observations`): the features of an agent's
// observation row a plug-in computes from its own columns. The plug-in declares the names (from
// the settings, so the layout is known before any state exists); the observations plug-in lays
// every declared feature out (the original's order for the original's names, then new names in
// plug-in order), and once per build asks each plug-in for a writer that fills its features of
// every agent's row, after its own pass (the map with its local summary, the clock, the
// embedding slot and the context flags). A writer is called once per batch and loops over the
// agents itself, so there is no call per agent; writers loop over typed arrays only and allocate
// nothing per agent. Below: hashes shared by several plug-ins' features.
import type { ConfigSections } from "./config/sections.ts";
import type { ResourceSource } from "./resource.ts";
import type { World } from "./world.ts";

/** What a plug-in's observation writer is bound with, once per build. */
export interface ObservationContext<Cfg = unknown, S = unknown> extends ResourceSource {
  readonly world: World;
  readonly config: Cfg;
  readonly settings: ConfigSections;
  readonly state: S;
  /** The tick the observations are for (world.tick + 1). */
  readonly tick: number;
}

/**
 * Fills this plug-in's features of the first `n` agents of `agents`: agent `agents[i]`'s row
 * starts at `i * stride` in `f`, and `at[k]` (given to `bind`) is the offset of declared feature
 * k within a row. Rows start at 0 in every feature; write only your own slots.
 */
export type FeatureWriter = (agents: Int32Array, n: number, f: Float32Array, stride: number) => void;

/** A plug-in's observation features. */
export interface ObservationFeatures<Cfg = unknown, S = unknown> {
  /** The names of the features this plug-in fills in this world, in its order ([] = none). */
  features(settings: ConfigSections): readonly string[];
  /**
   * The writer of one build (called once per build, outside the agent loop): fetch columns here.
   * `at[k]` is the offset within a row of `features(settings)[k]`. Undefined: the features stay 0
   * this build.
   */
  bind(ctx: ObservationContext<Cfg, S>, at: Int32Array): FeatureWriter | undefined;
}

// ---- helpers shared by the plug-ins' writers -------------------------------------------------

/** FNV-1a over the UTF-16 code units, scaled to [0, 1). Stable across runs and platforms. */
export function unitHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

/** Mixes a 32-bit word (murmur3's finaliser). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Component `j` of the identity embedding of agent `uid`, in [0, 1]: a 32-bit hash of the uid,
 * expanded by mixing in the component index, top byte / 255 (ours: the original uses blake2s
 * of the agent id string, tiled). The social snippet's slots carry it.
 */
export function uidEmbedding(uid: number, j: number): number {
  const h0 = fmix32(Math.imul(uid ^ 0x5bd1e995, 0x9e3779b1));
  return (fmix32((h0 + Math.imul(j + 1, 0x7feb352d)) | 0) >>> 24) / 255;
}
