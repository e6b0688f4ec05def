// The observation hook's shapes (`PluginDef.observations`): the features of an agent's
// observation row a plug-in computes from its own columns. The plug-in declares the names (from
// the settings, so the layout is known before any state exists); the observations plug-in lays
// every declared feature out (the original's order for the original's names, then new names in
// plug-in order), and once per build asks each plug-in for a writer that fills its features of
// every agent's row, after the builder's own pass. Writers loop over typed arrays only and
// allocate nothing per agent.
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
