// The observation builder: one pass over all agents of all towns, in entity order, writing each
// agent's egocentric map (walking the spatial index's tile lists) and feature row into the
// preallocated batch. Reads Position, Activity, Option, Obj, the spatial index, the social
// ledger (snippet) and the embedding allocator; the features other plug-ins declare (needs,
// wallet, employment, rivalry, personality: `PluginDef.observations`) come from their writers,
// run over the batch after this pass. Allocates nothing per agent. Formulas follow the original (inventory 5);
// deviations are marked "ours:".
import type { World } from "../../engine/world.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { Activity, Option, OptionKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { optionAction } from "../../components/actions.ts";
import type { SpatialIndex } from "../../components/grid.ts";
import {
  CH_AGENTS,
  CH_OBJECTS,
  CH_PATH_DX,
  CH_RESERVATIONS,
  F_AGENT_RATIO,
  F_CTX_RESET,
  F_EPISODE,
  F_IN_QUEUE,
  F_LAST_DURATION,
  F_LAST_HASH,
  F_LAST_OK,
  F_PATH_N,
  F_RESERVATION,
  F_SLOT,
  F_TIME_COS,
  F_TIME_SIN,
  LANDMARKS,
  type ObservationVariant,
} from "./layout.ts";
import type { ObservationBatch, ObservationsState } from "./state.ts";
import { SocialKey } from "../../components/social.ts";
import { SpaceKey } from "../../components/grid.ts";

/** Above this many objects of a type in a town, the nearest one comes from the space plug-in's distance field. */
const FIELD_AFTER = 16;

const NO_AGENT = 0x7fffffff;

/** Per-tile unit vectors (dx/|d|, dy/|d|) of the full variant, by window side: two channels. */
const pathTemplates = new Map<number, Float32Array>();
function pathTemplate(window: number): Float32Array {
  let t = pathTemplates.get(window);
  if (t) return t;
  const r = (window - 1) / 2;
  const ww = window * window;
  t = new Float32Array(2 * ww);
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const d = Math.hypot(dx, dy);
      if (d === 0) continue;
      const k = (dy + r) * window + (dx + r);
      t[k] = dx / d;
      t[ww + k] = dy / d;
    }
  }
  pathTemplates.set(window, t);
  return t;
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
 * of the agent id string, tiled).
 */
export function uidEmbedding(uid: number, j: number): number {
  const h0 = fmix32(Math.imul(uid ^ 0x5bd1e995, 0x9e3779b1));
  return (fmix32((h0 + Math.imul(j + 1, 0x7feb352d)) | 0) >>> 24) / 255;
}

/** Builds observations of every live agent into `out`. See buildObservations in index.ts. */
export function buildInto(world: World, st: ObservationsState, variant: ObservationVariant, out: ObservationBatch): ObservationBatch {
  const settings = world.settings;
  const ml = st.mapLayout(world, variant);
  const fl = st.features;
  if (out.variant !== variant || out.channels !== ml.channels.length || out.window !== ml.window || out.featureCount !== fl.count) {
    throw new Error(
      `observation batch is for ${out.variant} [${out.channels}, ${out.window}, ${out.window}] + ${out.featureCount} features; ` +
        `${variant} needs [${ml.channels.length}, ${ml.window}, ${ml.window}] + ${fl.count} (create it with createObservationBatch)`,
    );
  }
  if (!world.optionalResource(SpaceKey)) throw new Error('observations need the "space" plug-in (positions and the spatial index)');
  const agents = world.agents;
  const n = agents.length;
  const tick = world.tick + 1;
  out.ensure(n);
  st.ensure(world.maxEntityId() + 1);
  st.refresh(world, variant === "compact" ? ml : undefined);
  const { agents: aOut, map, features: f } = out.stores;

  // ---- columns and tables, fetched once per build ---------------------------------------------
  const space = world.resource(SpaceKey);
  const next = space.next;
  const width = space.width;
  const height = space.height;
  const cells = space.cells;
  const T = world.columns(Town).id;
  const P = world.columns(Position);
  const uid = world.columns(Agent).uid;
  const reg = world.components;
  const needCount = fl.agent;
  const E = reg.isRegistered(Employment) ? world.columns(Employment) : undefined;
  const A = reg.isRegistered(Activity) ? world.columns(Activity) : undefined;
  const Op = reg.isRegistered(Option) ? world.columns(Option) : undefined;
  const hasObj = reg.isRegistered(Obj);
  const O = hasObj ? world.columns(Obj) : undefined;
  const objFlags = hasObj ? reg.flags(Obj) : undefined;
  const holder = O ? O.holder : undefined;
  const qlen = O ? O.queue_len : undefined;
  const otype = O ? O.type : undefined;
  const L = world.optionalResource(SocialKey)?.ledger;
  const K = L ? L.maxEdges : 0;
  if (st.taken.length < K) st.taken = new Uint8Array(K);
  const alloc = st.allocator;
  const slotOf = alloc.slotOf;
  const maxSlots = alloc.maxSlots;
  const tpd = Math.max(1, ticksPerDay(settings));
  const phase = (tick % tpd) / tpd;
  const timeSin = Math.sin(2 * Math.PI * phase);
  const timeCos = Math.cos(2 * Math.PI * phase);
  const actionHash = st.actionHash;
  const intentHash = st.intentHash;
  const affType = st.affType;
  const stoveType = st.landmarkType[1];
  const compactChannel = st.compactChannel;

  // ---- layout -----------------------------------------------------------------------------------
  const W = ml.window;
  const r = ml.radius;
  const WW = W * W;
  const mapStride = out.mapStride;
  const F = fl.count;
  const isFull = variant === "full";
  const isCompact = variant === "compact";
  const normalize = ml.normalizeCounts;
  const walkOff = (ml.channels.length - 1) * WW;
  const path = isFull ? pathTemplate(W) : undefined;
  // The local summary always spans the hybrid window (as the original), the map its variant's.
  const rs = (settings.observations_config.hybrid.local_window - 1) / 2;
  const R = r > rs ? r : rs;
  const sumTiles = (2 * rs + 1) * (2 * rs + 1);
  const lm = fl.landmarks;
  const slots = fl.friends + fl.rivals;
  const embedDim = fl.embedDim;
  const slotDim = fl.slotDim;
  const agg = fl.aggregates;
  const taken = st.taken;

  map.fill(0, 0, n * mapStride);
  f.fill(0, 0, n * F);

  for (let i = 0; i < n; i++) {
    const eid = agents[i];
    aOut[i] = eid;
    const town = T[eid];
    const cx = P.x[eid];
    const cy = P.y[eid];
    const mb = i * mapStride;
    const fb = i * F;
    const fo = fb + needCount;

    // ---- map and local summary ------------------------------------------------------------------
    map[mb + r * W + r] = 1;
    if (path !== undefined) map.set(path, mb + CH_PATH_DX * WW);
    let others = 0;
    let objs = 0;
    let resv = 0;
    let near2 = NO_AGENT;
    const townBase = town * cells;
    const ylo = cy - R < 0 ? -cy : -R;
    const yhi = cy + R >= height ? height - 1 - cy : R;
    const xlo = cx - R < 0 ? -cx : -R;
    const xhi = cx + R >= width ? width - 1 - cx : R;
    for (let dy = ylo; dy <= yhi; dy++) {
      const rowTile = townBase + (cy + dy) * width + cx;
      const ady = dy < 0 ? -dy : dy;
      const rowInMap = ady <= r;
      const rowInSum = ady <= rs;
      const rowCell = mb + (dy + r) * W + r;
      for (let dx = xlo; dx <= xhi; dx++) {
        const t = rowTile + dx;
        const head = space.headAt(t);
        const obj = space.objectOn(t);
        const adx = dx < 0 ? -dx : dx;
        const inMap = rowInMap && adx <= r;
        if (head === 0 && obj === 0) {
          if (isCompact && inMap) map[rowCell + dx + walkOff] = 1;
          continue;
        }
        let here = 0;
        for (let a = head; a !== 0; a = next[a]) if (a !== eid) here++;
        const reserved = obj !== 0 && holder !== undefined && (holder[obj] !== 0 || qlen![obj] !== 0);
        if (rowInSum && adx <= rs) {
          others += here;
          if (here > 0 && (dx !== 0 || dy !== 0)) {
            const d2 = dx * dx + dy * dy;
            if (d2 < near2) near2 = d2;
          }
          if (obj !== 0) {
            objs++;
            if (reserved) resv++;
          }
        }
        if (!inMap) continue;
        const cell = rowCell + dx;
        if (isCompact) {
          // Compact counts other agents only; walkable = nothing on the tile and not the own tile.
          if (here > 0) map[cell + CH_AGENTS * WW] = normalize ? 1 : here;
          if (obj !== 0) {
            map[cell + CH_OBJECTS * WW] = 1;
            if (reserved) map[cell + CH_RESERVATIONS * WW] = 1;
            const ch = otype !== undefined && otype[obj] < compactChannel.length ? compactChannel[otype[obj]] : -1;
            if (ch >= 0) map[cell + ch * WW] = 1;
          } else if (here === 0 && (dx !== 0 || dy !== 0)) map[cell + walkOff] = 1;
        } else {
          // Hybrid and full mark any agent, the observer included (as the original).
          if (head !== 0) map[cell + CH_AGENTS * WW] = 1;
          if (obj !== 0) {
            map[cell + CH_OBJECTS * WW] = 1;
            if (reserved) map[cell + CH_RESERVATIONS * WW] = 1;
          }
        }
      }
    }
    f[fo + F_AGENT_RATIO] = Math.min(1, others / Math.max(1, sumTiles - 1));
    f[fo + F_AGENT_RATIO + 1] = Math.min(1, objs / sumTiles);
    f[fo + F_AGENT_RATIO + 2] = Math.min(1, resv / sumTiles);
    f[fo + F_AGENT_RATIO + 3] = near2 === NO_AGENT ? 0 : Math.min(1, Math.sqrt(near2) / Math.max(1, rs));

    // ---- time ------------------------------------------------------------------------------------
    f[fo + F_TIME_SIN] = timeSin;
    f[fo + F_TIME_COS] = timeCos;

    // ---- embedding slot, context reset, episode progress ----------------------------------------
    const slot = eid < slotOf.length ? slotOf[eid] : -1;
    f[fo + F_SLOT] = slot >= 0 ? slot / maxSlots : 0;
    const last = st.lastTick[eid];
    if (last !== tick) {
      // A first observation, a requested reset, or a move farther than walking allows (teleport).
      const moved = Math.abs(cx - st.lastX[eid]) + Math.abs(cy - st.lastY[eid]);
      if (last < 0 || st.pendingReset[eid] === 1 || moved > tick - last) st.resetTick[eid] = tick;
      st.lastTick[eid] = tick;
      st.lastX[eid] = cx;
      st.lastY[eid] = cy;
      st.pendingReset[eid] = 0;
    } else if (st.pendingReset[eid] === 1) {
      st.resetTick[eid] = tick;
      st.pendingReset[eid] = 0;
    }
    f[fo + F_CTX_RESET] = st.resetTick[eid] === tick ? 1 : 0;
    const ep = (tick - st.spawnTick[eid]) / tpd;
    f[fo + F_EPISODE] = ep < 0 ? 0 : ep > 1 ? 1 : ep;

    // ---- the social snippet ----------------------------------------------------------------------
    const base = L !== undefined && slots > 0 ? L.base(eid) : -1;
    if (L !== undefined && base >= 0) {
      const other = L.other;
      const tr = L.trust;
      const fa = L.familiarity;
      const rv = L.rivalry;
      for (let k = 0; k < K; k++) taken[k] = 0;
      let filled = 0;
      let tSum = 0;
      let tMax = -Infinity;
      let rSum = 0;
      let rMax = -Infinity;
      // Friends: highest trust + familiarity (> 0); then rivals: highest rivalry (> 0) among the rest.
      for (let pass = 0; pass < 2; pass++) {
        const want = pass === 0 ? fl.friends : fl.rivals;
        for (let c = 0; c < want; c++) {
          let best = -1;
          let bestV = 0;
          for (let k = 0; k < K; k++) {
            const s = base + k;
            if (other[s] === -1 || taken[k] === 1) continue;
            const v = pass === 0 ? tr[s] + fa[s] : rv[s];
            if (v > bestV) {
              bestV = v;
              best = k;
            }
          }
          if (best < 0) break;
          taken[best] = 1;
          const s = base + best;
          const o = fb + fl.social + filled * slotDim;
          const u = other[s];
          for (let j = 0; j < embedDim; j++) f[o + j] = uidEmbedding(u, j);
          f[o + embedDim] = tr[s];
          f[o + embedDim + 1] = fa[s];
          f[o + embedDim + 2] = rv[s];
          tSum += tr[s];
          if (tr[s] > tMax) tMax = tr[s];
          rSum += rv[s];
          if (rv[s] > rMax) rMax = rv[s];
          filled++;
        }
      }
      if (agg >= 0 && filled > 0) {
        f[fb + agg] = tSum / filled;
        f[fb + agg + 1] = tMax;
        f[fb + agg + 2] = rSum / filled;
        f[fb + agg + 3] = rMax;
      }
    }

    // ---- last action, reservation, queue --------------------------------------------------------
    const kind = Op !== undefined ? Op.kind[eid] : OptionKind.None;
    if (kind !== OptionKind.None) {
      const action = optionAction(kind, Op!.affordance[eid]);
      f[fo + F_LAST_HASH] = action < actionHash.length ? actionHash[action] : 0;
      const d = (tick - Op!.since[eid]) / tpd;
      f[fo + F_LAST_DURATION] = d < 0 ? 0 : d > 1 ? 1 : d;
    } else if (A !== undefined) {
      const k = A.last_intent[eid];
      f[fo + F_LAST_HASH] = k < intentHash.length ? intentHash[k] : 0;
    }
    if (A !== undefined) {
      f[fo + F_LAST_OK] = A.last_ok[eid];
      f[fo + F_RESERVATION] = A.holding[eid] !== 0 ? 1 : 0;
      f[fo + F_IN_QUEUE] = A.queued[eid] !== 0 ? 1 : 0;
    }

    // ---- path hints: toward what the option is after, else the nearest stove --------------------
    let tx = -1;
    let ty = -1;
    if (kind === OptionKind.Use) {
      const chosen = Op!.object[eid];
      if (chosen > 0 && objFlags !== undefined && chosen < objFlags.length && objFlags[chosen] === 1) {
        tx = P.x[chosen];
        ty = P.y[chosen];
      } else {
        const aff = Op!.affordance[eid];
        const o = aff >= 0 && aff < affType.length ? nearestOfType(st, space, P, town, affType[aff], cx, cy) : 0;
        if (o !== 0) {
          tx = P.x[o];
          ty = P.y[o];
        }
      }
    } else if (kind === OptionKind.Work && E !== undefined) {
      const job = E.job[eid];
      if (job >= 0 && job < st.jobX.length && st.jobX[job] >= 0) {
        tx = st.jobX[job];
        ty = st.jobY[job];
      }
    }
    if (tx < 0) {
      const o = nearestOfType(st, space, P, town, stoveType, cx, cy);
      if (o !== 0) {
        tx = P.x[o];
        ty = P.y[o];
      }
    }
    if (tx >= 0) {
      const dx = tx - cx;
      const dy = ty - cy;
      const l1 = Math.abs(dx) + Math.abs(dy);
      if (l1 > 0) {
        f[fo + F_PATH_N] = dy < 0 ? -dy / l1 : 0;
        f[fo + F_PATH_N + 1] = dy > 0 ? dy / l1 : 0;
        f[fo + F_PATH_N + 2] = dx > 0 ? dx / l1 : 0;
        f[fo + F_PATH_N + 3] = dx < 0 ? -dx / l1 : 0;
      }
    }

    // ---- landmarks (optional block) ----------------------------------------------------------------
    if (lm >= 0) {
      for (let l = 0; l < LANDMARKS.length; l++) {
        const o = nearestOfType(st, space, P, town, st.landmarkType[l], cx, cy);
        if (o === 0) continue;
        const dx = P.x[o] - cx;
        const dy = P.y[o] - cy;
        const d = Math.sqrt(dx * dx + dy * dy);
        const norm = d > 0 ? d : 1;
        f[fb + lm + 3 * l] = dx / norm;
        f[fb + lm + 3 * l + 1] = dy / norm;
        f[fb + lm + 3 * l + 2] = d;
      }
    }
  }
  // ---- the plug-ins' declared features (needs, wallet, employment, rivalry, personality) -------
  const writers = st.writers.list;
  const nw = st.writers.bind(world, fl, tick);
  for (let w = 0; w < nw; w++) writers[w](agents, n, f, F);
  // Original features no plug-in declares that read 1 (shift_pre without employment).
  const ones = fl.ones;
  for (let k = 0; k < ones.length; k++) for (let i = 0; i < n; i++) f[i * F + ones[k]] = 1;
  out.setCount(n, tick);
  return out;
}

/** The nearest object (Manhattan) of `type` in `town` to (x, y), or 0. Ties: lower entity id. */
function nearestOfType(
  st: ObservationsState,
  space: SpatialIndex,
  P: { x: Int16Array; y: Int16Array },
  town: number,
  type: number,
  x: number,
  y: number,
): number {
  if (type < 0 || type >= st.types) return 0;
  const key = town * st.types + type;
  const a = st.objStart[key];
  const b = st.objStart[key + 1];
  if (b - a > FIELD_AFTER) return space.field(town, type, st.objectsOfType).nearest[y * space.width + x];
  const list = st.objList;
  let best = 0;
  let bestD = NO_AGENT;
  for (let k = a; k < b; k++) {
    const o = list[k];
    const d = Math.abs(P.x[o] - x) + Math.abs(P.y[o] - y);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best;
}
