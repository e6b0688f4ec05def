// The observations plug-in's map pass: each agent's egocentric map (walking the spatial index's
// tile lists around it) and the local summary computed in the same walk (neighbor_agent_ratio,
// neighbor_object_ratio, reserved_tile_ratio, nearest_agent_distance), for a whole batch. The
// summary always spans the hybrid window (as the original), the map its variant's. Allocates
// nothing per agent. Formulas follow the original (inventory 5); deviations are marked "ours:".
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Position } from "../../components/space.ts";
import { Obj } from "../../components/objects.ts";
import type { SpatialIndex } from "../../components/grid.ts";
import { CH_AGENTS, CH_OBJECTS, CH_PATH_DX, CH_RESERVATIONS, F_AGENT_RATIO, type MapLayout } from "./layout.ts";

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

/** Where one batch's map pass writes. */
export interface MapTarget {
  map: Float32Array;
  mapStride: number;
  features: Float32Array;
  /** Features per row. */
  stride: number;
  /** Offset in a row of the first agent feature (the number of need features). */
  agentFeatures: number;
  /** Compact map channel of each object type, -1 = none. */
  compactChannel: Int16Array;
}

/** Writes the maps and local summaries of the first `n` agents of `agents` (rows start at 0). */
export function writeMaps(world: World, space: SpatialIndex, ml: MapLayout, agents: Int32Array, n: number, out: MapTarget): void {
  const { map, mapStride, features: f, stride: F, compactChannel, agentFeatures } = out;
  const next = space.next;
  const width = space.width;
  const height = space.height;
  const cells = space.cells;
  const T = world.columns(Town).id;
  const { x: PX, y: PY } = world.columns(Position);
  const O = world.components.isRegistered(Obj) ? world.columns(Obj) : undefined;
  const holder = O ? O.holder : undefined;
  const qlen = O ? O.queue_len : undefined;
  const otype = O ? O.type : undefined;
  const W = ml.window;
  const r = ml.radius;
  const WW = W * W;
  const isCompact = ml.variant === "compact";
  const normalize = ml.normalizeCounts;
  const walkOff = (ml.channels.length - 1) * WW;
  const path = ml.variant === "full" ? pathTemplate(W) : undefined;
  const rs = (world.settings.observations_config.hybrid.local_window - 1) / 2;
  const R = r > rs ? r : rs;
  const sumTiles = (2 * rs + 1) * (2 * rs + 1);
  for (let i = 0; i < n; i++) {
    const eid = agents[i];
    const town = T[eid];
    const cx = PX[eid];
    const cy = PY[eid];
    const mb = i * mapStride;
    const fo = i * F + agentFeatures;
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
  }
}
