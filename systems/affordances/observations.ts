// The affordances plug-in's observation features (`PluginDef.observations`, engine/observation.ts):
// whether the agent holds an object (reservation_active) or waits in a queue (in_queue), the
// path hints (toward the object its option is after, the job's location for work, else the
// nearest stove; N/S/E/W split by L1 distance) and, with include_targets, the landmarks (dx/d,
// dy/d, d to the nearest fridge, stove, bed and shower). One writer call fills a whole batch;
// nearest objects come from a per-world index of objects by (town, type), rebuilt only when the
// registry or the object list changes, or from the space plug-in's distance field when a town
// has many of the type. Formulas follow the original (inventory 5).
import type { ObservationFeatures } from "../../engine/observation.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { Activity, Option, OptionKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { SpaceKey, type SpatialIndex } from "../../components/grid.ts";
import { AffordancesKey, type AffordanceService, type AffordanceTable } from "../../components/affordances.ts";

/** Object types with landmark features when include_targets is on, in the original's order. */
const LANDMARKS = ["fridge", "stove", "bed", "shower"] as const;
const STOVE = 1;
const FEATURES = ["reservation_active", "in_queue", "path_hint_north", "path_hint_south", "path_hint_east", "path_hint_west"] as const;
/** Above this many objects of a type in a town, the nearest one comes from the space plug-in's distance field. */
const FIELD_AFTER = 16;
const FAR = 0x7fffffff;
const OPT_NONE = OptionKind.None;
const OPT_USE = OptionKind.Use;
const OPT_WORK = OptionKind.Work;
const EMPTY = new Int32Array(0);

/** Objects by (town, type) and registry-derived tables of one world. */
class NearestIndex {
  registry: AffordanceTable | undefined;
  registrySig = "";
  types = 0;
  /** Object type of each affordance, by affordance index. */
  affType = new Int32Array(0);
  /** Type index of each landmark, -1 = unknown. */
  readonly landmarkType = new Int32Array(LANDMARKS.length).fill(-1);
  // CSR: the objects of key town * types + type are objList[objStart[key] .. objStart[key + 1]).
  objStart = new Int32Array(1);
  objList = new Int32Array(0);
  private objectsRef: readonly number[] | undefined;
  private objectsSig = -1;
  /** Job locations by job index (-1 = anywhere). */
  readonly jobX: Int32Array;
  readonly jobY: Int32Array;
  readonly objectsOfType: (town: number, type: number) => Int32Array;

  constructor(world: World) {
    const settings = world.settings;
    const jobs = Object.keys(settings.jobs ?? {});
    this.jobX = new Int32Array(jobs.length).fill(-1);
    this.jobY = new Int32Array(jobs.length).fill(-1);
    jobs.forEach((name, i) => {
      const loc = settings.jobs[name].location;
      if (loc) {
        this.jobX[i] = loc[0];
        this.jobY[i] = loc[1];
      }
    });
    this.objectsOfType = (town, type) => world.optionalResource(AffordancesKey)?.objectsOfType(town, type) ?? EMPTY;
  }

  /** Rebuilds the tables when the registry or the object list changed. */
  refresh(world: World, aff: AffordanceService): void {
    const { registry, objects } = aff;
    const sig = `${registry.types.length}:${registry.affordances.length}`;
    if (registry !== this.registry || sig !== this.registrySig) {
      this.registry = registry;
      this.registrySig = sig;
      this.types = registry.types.length;
      this.affType = new Int32Array(registry.affordances.length).fill(-1);
      for (const a of registry.affordances) if (a) this.affType[a.index] = a.type;
      for (let l = 0; l < LANDMARKS.length; l++) this.landmarkType[l] = registry.types.indexOf(LANDMARKS[l]);
      this.objectsSig = -1;
    }
    if (objects === this.objectsRef && objects.length === this.objectsSig) return;
    this.objectsRef = objects;
    this.objectsSig = objects.length;
    const T = world.columns(Town).id;
    const types = world.columns(Obj).type;
    const keys = world.towns * this.types;
    const start = new Int32Array(keys + 1);
    for (const o of objects) start[T[o] * this.types + types[o] + 1]++;
    for (let k = 0; k < keys; k++) start[k + 1] += start[k];
    const fill = start.slice(0, keys);
    const list = new Int32Array(objects.length);
    for (const o of objects) list[fill[T[o] * this.types + types[o]]++] = o;
    this.objStart = start;
    this.objList = list;
  }

  /** The nearest object (Manhattan) of `type` in `town` to (x, y), or 0. Ties: lower entity id. */
  nearest(space: SpatialIndex, PX: Int16Array, PY: Int16Array, town: number, type: number, x: number, y: number): number {
    if (type < 0 || type >= this.types) return 0;
    const key = town * this.types + type;
    const a = this.objStart[key];
    const b = this.objStart[key + 1];
    if (b - a > FIELD_AFTER) return space.field(town, type, this.objectsOfType).nearest[y * space.width + x];
    const list = this.objList;
    let best = 0;
    let bestD = FAR;
    for (let k = a; k < b; k++) {
      const o = list[k];
      const d = Math.abs(PX[o] - x) + Math.abs(PY[o] - y);
      if (d < bestD) {
        bestD = d;
        best = o;
      }
    }
    return best;
  }
}

const indexes = new WeakMap<World, NearestIndex>();

const targets = (s: ConfigSections) => s.observations_config.hybrid.include_targets || s.observations_config.compact.include_targets;

export const affordancesObservations: ObservationFeatures = {
  features: (settings) => (targets(settings) ? [...FEATURES, ...LANDMARKS.flatMap((l) => [`${l}_dx`, `${l}_dy`, `${l}_dist`])] : FEATURES),
  bind(ctx, at) {
    const { world } = ctx;
    const aff = ctx.resource(AffordancesKey);
    const space = ctx.optionalResource(SpaceKey);
    if (space === undefined) return undefined;
    let idx = indexes.get(world);
    if (idx === undefined) indexes.set(world, (idx = new NearestIndex(world)));
    idx.refresh(world, aff);
    const nearestIdx = idx;
    const landmarks = at.length > FEATURES.length;
    return (agents, n, f, stride) => writeAffordanceFeatures(world, space, nearestIdx, landmarks, at, agents, n, f, stride);
  },
};

/** Fills reservation_active, in_queue, the path hints and the landmarks of the first `n` agents. */
function writeAffordanceFeatures(
  world: World,
  space: SpatialIndex,
  idx: NearestIndex,
  landmarks: boolean,
  at: Int32Array,
  agents: Int32Array,
  n: number,
  f: Float32Array,
  stride: number,
): void {
  const reg = world.components;
  const T = world.columns(Town).id;
  const P = world.columns(Position);
  const PX = P.x;
  const PY = P.y;
  const A = world.columns(Activity);
  const holding = A.holding;
  const queued = A.queued;
  const Op = reg.isRegistered(Option) ? world.columns(Option) : undefined;
  const opKind = Op?.kind;
  const opObject = Op?.object;
  const opAff = Op?.affordance;
  const job = reg.isRegistered(Employment) ? world.columns(Employment).job : undefined;
  const objFlags = reg.flags(Obj);
  const affType = idx.affType;
  const jobX = idx.jobX;
  const jobY = idx.jobY;
  const stoveType = idx.landmarkType[STOVE];
  const [aResv, aQueue, aN, aS, aE, aW] = at;
  for (let i = 0, row = 0; i < n; i++, row += stride) {
    const eid = agents[i];
    const town = T[eid];
    const cx = PX[eid];
    const cy = PY[eid];
    f[row + aResv] = holding[eid] !== 0 ? 1 : 0;
    f[row + aQueue] = queued[eid] !== 0 ? 1 : 0;

    // Path hints: toward what the option is after, else the nearest stove.
    const kind = opKind !== undefined ? opKind[eid] : OPT_NONE;
    let tx = -1;
    let ty = -1;
    if (kind === OPT_USE) {
      const chosen = opObject![eid];
      if (chosen > 0 && chosen < objFlags.length && objFlags[chosen] === 1) {
        tx = PX[chosen];
        ty = PY[chosen];
      } else {
        const a = opAff![eid];
        const o = a >= 0 && a < affType.length ? idx.nearest(space, PX, PY, town, affType[a], cx, cy) : 0;
        if (o !== 0) {
          tx = PX[o];
          ty = PY[o];
        }
      }
    } else if (kind === OPT_WORK && job !== undefined) {
      const j = job[eid];
      if (j >= 0 && j < jobX.length && jobX[j] >= 0) {
        tx = jobX[j];
        ty = jobY[j];
      }
    }
    if (tx < 0) {
      const o = idx.nearest(space, PX, PY, town, stoveType, cx, cy);
      if (o !== 0) {
        tx = PX[o];
        ty = PY[o];
      }
    }
    if (tx >= 0) {
      const dx = tx - cx;
      const dy = ty - cy;
      const l1 = Math.abs(dx) + Math.abs(dy);
      if (l1 > 0) {
        f[row + aN] = dy < 0 ? -dy / l1 : 0;
        f[row + aS] = dy > 0 ? dy / l1 : 0;
        f[row + aE] = dx > 0 ? dx / l1 : 0;
        f[row + aW] = dx < 0 ? -dx / l1 : 0;
      }
    }

    if (!landmarks) continue;
    for (let l = 0; l < LANDMARKS.length; l++) {
      const o = idx.nearest(space, PX, PY, town, idx.landmarkType[l], cx, cy);
      if (o === 0) continue;
      const dx = PX[o] - cx;
      const dy = PY[o] - cy;
      const d = Math.sqrt(dx * dx + dy * dy);
      const norm = d > 0 ? d : 1;
      const k = FEATURES.length + 3 * l;
      f[row + at[k]] = dx / norm;
      f[row + at[k + 1]] = dy / norm;
      f[row + at[k + 2]] = d;
    }
  }
}
