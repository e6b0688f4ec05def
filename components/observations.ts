// The observation builder's public shape: the batch and its metadata, and the service the
// observations plug-in offers (`ctx.resource(ObservationsKey)`). Consumers
// (policies, the env, trainers) read observations through this interface.
import { defineResource } from "../engine/resource.ts";

/** Observation variants: full 6x11x11, hybrid 4x11x11, compact 5x7x7 (+ the feature vector). */
export const OBSERVATION_VARIANTS = ["full", "hybrid", "compact"] as const;
export type ObservationVariant = (typeof OBSERVATION_VARIANTS)[number];

/** One batch for all agents: `map` [count, C, W, W] and `features` [count, F], float32, row-major. */
export interface ObservationBatchView {
  readonly variant: ObservationVariant;
  readonly channels: number;
  readonly window: number;
  readonly featureCount: number;
  readonly mapStride: number;
  count: number;
  /** The decision tick it describes (world.tick + 1 when built between ticks), -1 = never built. */
  tick: number;
  agents: Int32Array;
  map: Float32Array;
  features: Float32Array;
}

/** What a consumer needs to read a batch: shapes, channel and feature names (metadata as the original's). */
export interface ObservationSpec {
  variant: ObservationVariant;
  /** [C, W, W]; the batch's map is [agents, ...map_shape]. */
  map_shape: [number, number, number];
  map_channels: string[];
  feature_names: string[];
  feature_count: number;
  /** Feature name -> index in a row. */
  feature_index: Record<string, number>;
  dtype: "float32";
  social: { top_friends: number; top_rivals: number; embed_dim: number; slot_dim: number; offset: number; aggregates: string[] };
  /** Scale of the wallet feature: money / (money + wallet_scale). */
  wallet_scale: number;
}

/** What the observations plug-in offers other plug-ins. */
export interface ObservationService {
  /** Set by a consumer that reads `last`: the build system then fills it every tick before policies decide. */
  want: boolean;
  /** The batch built this tick by the build system (undefined until it ran with `want`). */
  readonly last: ObservationBatchView | undefined;
  /** Builds the batch now (into the plug-in's own buffer for that variant). */
  build(variant?: ObservationVariant): ObservationBatchView;
  spec(variant?: ObservationVariant): ObservationSpec;
  /**
   * Optional: marks a context reset (teleport, arranged meeting): the agent's next observation
   * carries ctx_reset_flag = 1. Callers check for it; an implementation may omit it.
   */
  requestContextReset?(eid: number): void;
  /** Optional: the embedding allocator's metrics (the stability monitor reads reuse_warning). */
  embeddingMetrics?(): { reuse_warning: boolean; forced_reuse_rate: number; forced_reuse_count: number };
}

/** The observations plug-in's resource. */
export const ObservationsKey = defineResource<ObservationService>("observations");
