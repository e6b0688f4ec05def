// The observation builder, a dispatcher: checks the batch's shape, lays out the rows, writes the
// maps with their local summary (map.ts) and the features the observations plug-in computes from
// the clock and its own state (own.ts), then calls each plug-in's batch writer for the features
// it declares (`PluginDef.observations`, engine/observation.ts): needs, wallet, employment, last
// action (options), reservation, queue, path hints and landmarks (affordances), rivalry and the
// social snippet (social), personality. One pass per group over all agents of all towns, in
// entity order, into the preallocated batch; allocates nothing per agent.
import type { World } from "../../engine/world.ts";
import { SpaceKey } from "../../components/grid.ts";
import type { ObservationVariant } from "./layout.ts";
import type { ObservationBatch, ObservationsState } from "./state.ts";
import { writeMaps } from "./map.ts";
import { writeOwnFeatures } from "./own.ts";

export { fmix32, uidEmbedding } from "../../engine/observation.ts";

/** Builds observations of every live agent into `out`. See buildObservations in index.ts. */
export function buildInto(world: World, st: ObservationsState, variant: ObservationVariant, out: ObservationBatch): ObservationBatch {
  const ml = st.mapLayout(world, variant);
  const fl = st.features;
  if (out.variant !== variant || out.channels !== ml.channels.length || out.window !== ml.window || out.featureCount !== fl.count) {
    throw new Error(
      `observation batch is for ${out.variant} [${out.channels}, ${out.window}, ${out.window}] + ${out.featureCount} features; ` +
        `${variant} needs [${ml.channels.length}, ${ml.window}, ${ml.window}] + ${fl.count} (create it with createObservationBatch)`,
    );
  }
  const space = world.optionalResource(SpaceKey);
  if (!space) throw new Error('observations need the "space" plug-in (positions and the spatial index)');
  const agents = world.agents;
  const n = agents.length;
  const tick = world.tick + 1;
  out.ensure(n);
  if (n > 0) st.ensure(agents[n - 1] + 1);
  st.refresh(world, variant === "compact" ? ml : undefined);
  const { agents: aOut, map, features: f } = out.stores;
  const F = fl.count;
  map.fill(0, 0, n * out.mapStride);
  f.fill(0, 0, n * F);
  for (let i = 0; i < n; i++) aOut[i] = agents[i];

  writeMaps(world, space, ml, agents, n, { map, mapStride: out.mapStride, features: f, stride: F, agentFeatures: fl.agent, compactChannel: st.compactChannel });
  writeOwnFeatures(world, st, tick, agents, n, f, F, fl.agent);
  // The plug-ins' declared features, one batch writer each, in plug-in order.
  const writers = st.writers.list;
  const nw = st.writers.bind(world, fl, tick);
  for (let w = 0; w < nw; w++) writers[w](agents, n, f, F);
  // Original features no plug-in declares that read 1 (shift_pre without employment).
  const ones = fl.ones;
  for (let k = 0; k < ones.length; k++) for (let i = 0; i < n; i++) f[i * F + ones[k]] = 1;
  out.setCount(n, tick);
  return out;
}
