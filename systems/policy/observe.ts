// What a learned policy reads: one row of floats per agent, row-major [N, size], in one
// preallocated Float32Array. An ObservationSource builds it for a list of agents.
//
// - `builderObservations`: the observation builder (systems/observations) of the configured
//   variant (features.systems.observations): each row is the agent's feature vector followed by
//   its flattened map [C, W, W]. The builder fills a batch for every agent before policies
//   decide (it is asked to with `want`); the rows of the agents deciding now are gathered from it.
// - `componentObservations`: a small feature vector computed straight from the components
//   (every observed need of the world's table, then wallet, shift state, time of day, activity,
//   rivalry), for worlds without the builder.
// Checkpoints record the source's variant id (which includes the shape) and refuse a mismatch,
// so a policy trained on one layout is never fed another.
import type { World } from "../../engine/world.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { NEED_NAMES, NeedsKey, needTable } from "../../components/needs.ts";
import { Wallet } from "../../components/economy.ts";
import { Employment, ShiftState } from "../../components/people.ts";
import { Activity } from "../../components/activity.ts";
import { SocialKey } from "../../components/social.ts";
import { ObservationsKey } from "../../components/observations.ts";

const observations = (world: World) => world.resource(ObservationsKey);

export interface ObservationBatch {
  /** Layout id, recorded in checkpoints (e.g. "hybrid/81+4x11x11", "components-v1/21"). */
  variant: string;
  /** Floats per agent. */
  size: number;
  /** Rows filled. */
  count: number;
  /** Row-major [count, size] (the array may be longer). */
  data: Float32Array;
}

export interface ObservationSource {
  /** Layout id in this world, recorded in checkpoints. */
  variant(world: World): string;
  /** Floats per agent in this world. */
  size(world: World): number;
  /** Asks for observations from the next tick on (called when a policy that reads them is set). */
  prepare?(world: World): void;
  /** Fills `batch` for `agents` (growing its array when needed, never shrinking). */
  build(world: World, agents: Int32Array, batch: ObservationBatch): void;
}

/** Features of `componentObservations` after the needs (one `need_<name>` per observed need), in order. */
export const COMPONENT_AGENT_FEATURES = [
  "wallet",
  "lateness_counter",
  "on_shift",
  "time_sin",
  "time_cos",
  "attendance_ratio",
  "wages_withheld",
  "shift_pre",
  "shift_on_time",
  "shift_late",
  "shift_absent",
  "shift_post",
  "has_job",
  "busy",
  "in_queue",
  "holding",
  "rivalry_max",
  "rivalry_avoid_count",
] as const;

/** The features of `componentObservations` with the default needs. */
export const COMPONENT_FEATURES: readonly string[] = [...NEED_NAMES.map((n) => `need_${n}`), ...COMPONENT_AGENT_FEATURES];

/** The features of `componentObservations` in a world: its observed needs, then the rest. */
export function componentFeatures(world: World): string[] {
  return [...needTable(world.settings).observed.map((n) => `need_${n.name}`), ...COMPONENT_AGENT_FEATURES];
}

const width = (world: World) => needTable(world.settings).observed.length + COMPONENT_AGENT_FEATURES.length;

export const componentObservations: ObservationSource = {
  variant: (world) => `components-v1/${width(world)}`,
  size: width,
  build(world, agents, batch) {
    const table = needTable(world.settings);
    const K = table.observed.length;
    const F = K + COMPONENT_AGENT_FEATURES.length;
    const n = agents.length;
    if (batch.data.length < n * F) batch.data = new Float32Array(Math.max(n * F, 2 * batch.data.length));
    batch.count = n;
    batch.variant = `components-v1/${F}`;
    batch.size = F;
    const out = batch.data;
    const cols = world.resource(NeedsKey).columns();
    const observed = table.observed;
    const W = world.columns(Wallet);
    const A = world.columns(Activity);
    const E = world.components.isRegistered(Employment) ? world.columns(Employment) : undefined;
    const social = world.optionalResource(SocialKey)?.ledger;
    const avoid = world.settings.conflict.rivalry.avoid_threshold;
    const tpd = ticksPerDay(world.settings);
    const phase = (2 * Math.PI * (world.tick % tpd)) / tpd;
    const sin = Math.sin(phase);
    const cos = Math.cos(phase);
    for (let i = 0; i < n; i++) {
      const eid = agents[i];
      for (let k = 0; k < K; k++) out[i * F + k] = cols[observed[k].index][eid];
      const r = i * F + K;
      out[r] = W.money[eid];
      out[r + 3] = sin;
      out[r + 4] = cos;
      if (E) {
        const s = E.shift_state[eid];
        out[r + 1] = E.lateness_counter[eid];
        out[r + 2] = E.on_shift[eid];
        out[r + 5] = E.attendance_ratio[eid];
        out[r + 6] = E.wages_withheld[eid];
        out[r + 7] = s === ShiftState.Idle || s === ShiftState.PreShift || s === ShiftState.AwaitStart ? 1 : 0;
        out[r + 8] = s === ShiftState.OnTime ? 1 : 0;
        out[r + 9] = s === ShiftState.Late ? 1 : 0;
        out[r + 10] = s === ShiftState.Absent ? 1 : 0;
        out[r + 11] = s === ShiftState.PostShift ? 1 : 0;
        out[r + 12] = E.job[eid] >= 0 ? 1 : 0;
      } else {
        out.fill(0, r + 1, r + 3);
        out.fill(0, r + 5, r + 13);
      }
      out[r + 13] = A.running[eid] >= 0 ? 1 : 0;
      out[r + 14] = A.queued[eid] !== 0 ? 1 : 0;
      out[r + 15] = A.holding[eid] !== 0 ? 1 : 0;
      out[r + 16] = social ? social.maxRivalry(eid) : 0;
      out[r + 17] = social ? social.countAbove(eid, avoid) : 0;
    }
  },
};

/** The observation builder's configured variant, features then flattened map per row. */
export const builderObservations: ObservationSource = {
  variant(world) {
    const spec = observations(world).spec();
    return `${spec.variant}/${spec.feature_count}+${spec.map_shape.join("x")}`;
  },
  size(world) {
    const spec = observations(world).spec();
    return spec.feature_count + spec.map_shape[0] * spec.map_shape[1] * spec.map_shape[2];
  },
  prepare(world) {
    observations(world).want = true;
  },
  build(world, agents, batch) {
    const st = observations(world);
    st.want = true;
    let full = st.last;
    // Built this tick by the builder's system (it runs before policies decide), or now.
    const v = world.settings.features.systems.observations;
    if (!full || full.tick !== world.tick + 1 || full.variant !== v) full = st.build(v);
    const F = full.featureCount;
    const M = full.mapStride;
    const D = F + M;
    const n = agents.length;
    if (batch.data.length < n * D) batch.data = new Float32Array(Math.max(n * D, 2 * batch.data.length));
    batch.count = n;
    batch.size = D;
    batch.variant = `${full.variant}/${F}+${full.channels}x${full.window}x${full.window}`;
    // Both lists are in entity order: one merge pass gathers the rows.
    const all = full.agents;
    const out = batch.data;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const eid = agents[i];
      while (j < full.count && all[j] < eid) j++;
      if (j >= full.count || all[j] !== eid) throw new Error(`observations: agent ${eid} is not in the observation batch`);
      out.set(full.features.subarray(j * F, (j + 1) * F), i * D);
      out.set(full.map.subarray(j * M, (j + 1) * M), i * D + F);
    }
  },
};

/** The source learned policies read in a world: the builder when it is registered. */
export function observationSourceFor(world: World): ObservationSource {
  return world.hasPlugin("observations") ? builderObservations : componentObservations;
}

/** An empty batch for `ObservationSource.build` to fill. */
export function emptyBatch(): ObservationBatch {
  return { variant: "", size: 0, count: 0, data: new Float32Array(0) };
}
