// Observations (phase policy, set PolicySets.Observe, before Decide): the embedding allocator
// (slots taken on spawn, released on removal) and the observation builder, which writes every
// agent of every town into one preallocated batch per variant (map [N, C, W, W] and features
// [N, F], float32). The build system runs only when a consumer sets `want` on the resource;
// `buildObservations` builds on demand. The builder lays the row out and writes the maps and its
// own features (clock, embedding slot, context flags, local summary); every other feature comes
// from the plug-in that computes it (`PluginDef.observations`, engine/observation.ts).
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { Agent } from "../../engine/core-components.ts";
import { Lifecycle, Reward } from "../../components/people.ts";
import { PolicySets } from "../../components/sets.ts";
import { actionCount } from "../../components/actions.ts";
import { sections } from "./config.ts";
import { buildInto } from "./builder.ts";
import { WALLET_SCALE } from "../../components/economy.ts";
import { ObservationBatch, ObservationsState } from "./state.ts";
import { isVariant, VARIANTS, type ObservationVariant } from "./layout.ts";
import type { EmbeddingMetrics } from "./embedding.ts";

export { ObservationBatch, ObservationsState, unitHash } from "./state.ts";
export { EmbeddingAllocator } from "./embedding.ts";
export type { EmbeddingMetrics, ForcedReuse } from "./embedding.ts";
export { uidEmbedding } from "./builder.ts";
export { WALLET_SCALE } from "../../components/economy.ts";
export { VARIANTS, MAP_CHANNELS, BASE_FEATURES, LANDMARKS, PERSONALITY_FEATURES, SOCIAL_AGGREGATES, featureLayout, mapLayout } from "./layout.ts";
export type { ObservationVariant, FeatureLayout, MapLayout } from "./layout.ts";

export const observationsPlugin = definePlugin({
  name: "observations",
  telemetry: observationsTelemetry,
  provides: [ObservationsKey],
  optional: [SpaceKey, AffordancesKey, SocialKey],
  doc: "embedding slots and the observation builder (full, hybrid, compact)",
  sections,
  state: (world: World) => {
    const st = new ObservationsState(world);
    st.bindService(
      (v) => buildObservations(world, v),
      (v) => observationSpec(world, v),
    );
    return st;
  },
  onAgentSpawn({ world, state }, eid) {
    state.resetAgent(eid, world.tick);
  },
  onAgentReady({ world, state }, eid) {
    // Lifecycle stamps replacements with the tick they were spawned in; take its value when present.
    if (world.components.isRegistered(Lifecycle) && world.has(eid, Lifecycle)) state.spawnTick[eid] = world.columns(Lifecycle).spawned_tick[eid];
    state.allocator.allocate(eid, world.columns(Agent).uid[eid], world.tick);
  },
  onAgentRemove({ world, state }, eid) {
    state.allocator.release(eid, world.tick);
  },
  kpis({ state }) {
    return { embedding: state.allocator.metrics() };
  },
  systems: [
    {
      name: "observations/build",
      phase: "policy",
      sets: [PolicySets.Observe],
      before: [PolicySets.Decide],
      reads: ["Position", "Obj", "spatial index", "embedding allocator", "the features other plug-ins declare (their writers)"],
      writes: ["observation batch (resource: last)"],
      run({ world, state }) {
        if (!state.want) return;
        state.last = buildInto(world, state, state.variant, state.batch(world, state.variant));
      },
    },
  ],
});

/** The observations plug-in's resource (allocator, `want`, `variant`, `last`). */
export function observationsState(world: World): ObservationsState {
  return world.state<ObservationsState>("observations");
}

function variantOf(world: World, variant: string | undefined): ObservationVariant {
  const v = variant ?? world.settings.features.systems.observations;
  if (!isVariant(v)) throw new Error(`unknown observation variant "${v}" (known: ${VARIANTS.join(", ")})`);
  return v;
}

/** A batch of the variant's shape for `buildObservations(world, variant, out)` (e.g. a double buffer). */
export function createObservationBatch(world: World, variant?: ObservationVariant, capacity = 16): ObservationBatch {
  const st = observationsState(world);
  const v = variantOf(world, variant);
  const m = st.mapLayout(world, v);
  return new ObservationBatch(v, m.channels.length, m.window, st.features.count, capacity);
}

/**
 * Observations of every live agent of every town, in entity order, for the next decision
 * (tick world.tick + 1): `agents` [N] int32, `map` [N, C, W, W] and `features` [N, F] float32,
 * row-major, `count` = N. Without `out`, the plug-in's own batch of the variant is reused, so
 * the arrays are overwritten by the next build of that variant.
 */
export function buildObservations(world: World, variant?: ObservationVariant, out?: ObservationBatch): ObservationBatch {
  const st = observationsState(world);
  const v = variantOf(world, variant);
  return buildInto(world, st, v, out ?? st.batch(world, v));
}

export type { ObservationSpec } from "../../components/observations.ts";
import type { ObservationSpec } from "../../components/observations.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { ObservationsKey } from "../../components/observations.ts";
import { SpaceKey } from "../../components/grid.ts";
import { SocialKey } from "../../components/social.ts";
import { observationsTelemetry } from "./telemetry.ts";

export function observationSpec(world: World, variant?: ObservationVariant): ObservationSpec {
  const st = observationsState(world);
  const v = variantOf(world, variant);
  const m = st.mapLayout(world, v);
  const fl = st.features;
  const feature_index: Record<string, number> = {};
  fl.names.forEach((n, i) => (feature_index[n] = i));
  return {
    variant: v,
    map_shape: [m.channels.length, m.window, m.window],
    map_channels: [...m.channels],
    feature_names: [...fl.names],
    feature_count: fl.count,
    feature_index,
    dtype: "float32",
    social: {
      top_friends: fl.friends,
      top_rivals: fl.rivals,
      embed_dim: fl.embedDim,
      slot_dim: fl.slotDim,
      offset: fl.social,
      aggregates: fl.aggregates >= 0 ? fl.names.slice(fl.aggregates, fl.aggregates + 4) : [],
    },
    wallet_scale: WALLET_SCALE,
  };
}

/** One array handed to training: a batch dimension "agents" first. */
export interface ManifestEntry {
  name: string;
  /** Where the values come from (component, plug-in). */
  source: string;
  dtype: "float32" | "int32" | "uint8";
  shape: (number | "agents")[];
  doc: string;
}

/**
 * Every array handed to training, with its source, dtype and shape (Madrona's manifest). The
 * observation entries follow the configured variant; the shapes are the batch's.
 */
export function manifest(world: World, variant?: ObservationVariant): ManifestEntry[] {
  const spec = observationSpec(world, variant);
  const out: ManifestEntry[] = [
    { name: "agents", source: "world.agents", dtype: "int32", shape: ["agents"], doc: "entity id of each row, entity order" },
    {
      name: "obs_map",
      source: "observations: Position, spatial index, Obj (holder, queue_len, type)",
      dtype: "float32",
      shape: ["agents", ...spec.map_shape],
      doc: `egocentric map, channels ${spec.map_channels.join(", ")}; the agent at [r, r]`,
    },
    {
      name: "obs_features",
      source: "observations: the clock, embedding allocator and map summary; the features the plug-ins declare (needs, economy, employment, options, affordances, social, personality)",
      dtype: "float32",
      shape: ["agents", spec.feature_count],
      doc: "feature vector, names in observationSpec().feature_names",
    },
  ];
  const affordances = world.optionalResource(AffordancesKey);
  if (affordances) {
    const registry = affordances.registry;
    out.push({
      name: "actions",
      source: "components/actions.ts (Option via chooseOption)",
      dtype: "int32",
      shape: ["agents"],
      doc: `action index in [0, ${actionCount(registry)}): wait, work, chat, avoid, then use:<affordance>`,
    });
  }
  if (world.components.isRegistered(Reward)) {
    out.push({ name: "rewards", source: "Reward.total", dtype: "float32", shape: ["agents"], doc: "this tick's reward after clips" });
  }
  return out;
}

/** Embedding allocator metrics (allocations_total, forced_reuse_count, forced_reuse_rate, reuse_warning, ...). */
export function embeddingMetrics(world: World): EmbeddingMetrics {
  return observationsState(world).allocator.metrics();
}

/** The agent's embedding slot, -1 = none. */
export function embeddingSlot(world: World, eid: number): number {
  const s = observationsState(world).allocator.slotOf;
  return eid < s.length ? s[eid] : -1;
}

/**
 * Marks a context reset (teleport, possession, an arranged meeting): the agent's next
 * observation carries ctx_reset_flag = 1. A move farther than walking allows is detected
 * without this call.
 */
export function requestContextReset(world: World, eid: number): void {
  const st = observationsState(world);
  st.ensure(eid + 1);
  st.pendingReset[eid] = 1;
}

/** Per-agent metadata in the shape of the original's (samples/observation_hybrid_metadata.json). */
export function agentObservationMetadata(world: World, eid: number, variant?: ObservationVariant) {
  const spec = observationSpec(world, variant);
  return {
    variant: spec.variant,
    map_shape: spec.map_shape,
    map_channels: spec.map_channels,
    feature_names: spec.feature_names,
    embedding_slot: embeddingSlot(world, eid),
    social_context: {
      configured_slots: spec.social.top_friends + spec.social.top_rivals,
      slot_dim: spec.social.slot_dim,
      aggregates: spec.social.aggregates,
    },
  };
}
