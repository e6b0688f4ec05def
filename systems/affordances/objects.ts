// The affordances plug-in's object entities (moved out of index.ts): creating them from the
// scenario or the manifest, programmatic registration, look-ups, the (town, type) index, and
// the placement check run by validate.
import type { ConfigCheckProblem } from "../../engine/plugin.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Obj } from "../../components/objects.ts";
import { Position } from "../../components/space.ts";
import { type SpatialIndex, SpaceKey } from "../../components/grid.ts";
import type { AffordanceInput } from "../../components/affordances.ts";
import type { ManifestObjectEntry } from "./config.ts";
import { AffordancesState } from "./state.ts";
import { TownTypeIndex } from "./type-index.ts";
import { objectsOf } from "./builtins.ts";
import type { AffordancesResource } from "./resource.ts";


/** Starting stock by object type (the original's register_object defaults). */
const DEFAULT_STOCK: Record<string, Record<string, number>> = {
  fridge: { meals: 5 },
  stove: { raw_ingredients: 3 },
  bed: { sleep_slots: 1 },
};
const STOCK_FIELDS = new Set(["meals", "raw_ingredients", "sleep_slots", "power_on", "water_on"]);


/** A manifest parsed by `entities` for the world being built from these settings, used once by `state`. */
export const parsedForWorld = new WeakMap<object, AffordancesState>();

export interface ObjectInput {
  id: string;
  object_type: string;
  position?: readonly [number, number] | null;
  stock?: Record<string, number>;
}

/**
 * Creates an object in a town (programmatic registration for tests, scenarios and plug-ins). The
 * object list is replaced, not changed in place: a pass that walks the list (affordances/queues,
 * run) and calls a hook that registers an object goes on over the objects it started with, and
 * visits the new one from its next pass. The object is in the world at once (its entity, tile,
 * objectById, the (town, type) index).
 */
export function registerObject(world: World, town: number, o: ObjectInput): number {
  const { st } = world.state<AffordancesResource>("affordances");
  const objects = st.objects.slice();
  const eid = createObject(world, town, o, objects);
  st.objects = objects;
  rebuildTypeIndex(world, st);
  return eid;
}

/** Creates the object's entity and puts it into `objects` (entity order). */
function createObject(world: World, town: number, o: ObjectInput, objects: number[]): number {
  const { st } = world.state<AffordancesResource>("affordances");
  const space = world.resource(SpaceKey);
  const type = st.registry.ensureType(o.object_type);
  const pos = o.position ?? freeTile(space, town, objects.length);
  if (!space.inBounds(pos[0], pos[1])) {
    throw new RangeError(`object ${o.id}: position [${pos[0]}, ${pos[1]}] is outside the ${space.width}x${space.height} grid`);
  }
  if (space.objectAt(town, pos[0], pos[1]) !== 0) {
    throw new Error(`object ${o.id}: tile [${pos[0]}, ${pos[1]}] of town ${town} already holds an object`);
  }
  const stock: Record<string, number> = { ...(DEFAULT_STOCK[o.object_type] ?? {}) };
  for (const [k, v] of Object.entries(o.stock ?? {})) {
    if (!STOCK_FIELDS.has(k)) throw new Error(`object ${o.id}: unknown stock key "${k}" (known: ${[...STOCK_FIELDS].join(", ")})`);
    stock[k] = v;
  }
  const eid = world.spawnEntity(town, [Obj, Position], {
    Obj: { type, key: world.intern(o.id), running: -1, ...stock },
    Position: { x: pos[0], y: pos[1] },
  });
  const n = objects.length;
  objects.push(eid);
  if (n > 0 && objects[n - 1] > eid) objects.sort((a, b) => a - b);
  space.setObjectTypeCount(st.registry.types.length);
  space.placeObject(eid, town, pos[0], pos[1], type);
  return eid;
}

/** Adds or replaces an affordance (programmatic registration). */
export function registerAffordance(world: World, a: AffordanceInput): number {
  const { st } = world.state<AffordancesResource>("affordances");
  const spec = st.registry.registerAffordance(a);
  world.resource(SpaceKey).setObjectTypeCount(st.registry.types.length);
  return spec.index;
}

/** The affordance registry of a world (object types, affordances). */
export function affordanceRegistry(world: World) {
  return world.state<AffordancesResource>("affordances").st.registry;
}

/** The affordances plug-in's resource (registry, hooks, counters, hot reload). */
export function affordancesState(world: World): AffordancesState {
  return world.state<AffordancesResource>("affordances").st;
}

/** The object entity of a town with the given id, or 0. */
export function objectById(world: World, town: number, id: string): number {
  const { st } = world.state<AffordancesResource>("affordances");
  const O = world.columns(Obj);
  const T = world.columns(Town).id;
  const key = world.intern(id);
  for (const e of st.objects) if (O.key[e] === key && T[e] === town) return e;
  return 0;
}

/** [eid, x, y, ...] of the objects of `type` in `town`. */
export function objectsOfType(world: World, town: number, type: number): Int32Array {
  return objectsOf(world.state<AffordancesResource>("affordances").st, town, type);
}

export function rebuildTypeIndex(world: World, st: AffordancesState): void {
  const O = world.columns(Obj);
  const P = world.columns(Position);
  const T = world.columns(Town).id;
  let types = 0;
  for (const e of st.objects) if (O.type[e] >= types) types = O.type[e] + 1;
  st.byTownType = new TownTypeIndex(st.objects, world.towns, types, (e) => T[e], (e) => O.type[e], (e) => P.x[e], (e) => P.y[e]);
}

/**
 * Why the objects of a town (the scenario's, else the manifest's) would not fit its grid: a
 * position outside it, two on one tile, or no free tile left for one without a position (the
 * tiles freeTile would try, in the same order). Checked for town 0; every town gets the same.
 */
export function objectPlacementProblems(settings: ConfigSections): ConfigCheckProblem[] {
  const [w, h] = settings.world.grid_size;
  const sc = settings.scenario;
  let entries: readonly { id: string; position?: readonly [number, number] | null }[];
  let where: string[];
  if (sc && sc.objects.length > 0) {
    entries = sc.objects;
    where = ["scenario", "objects"];
  } else {
    try {
      const st = AffordancesState.fromFile(settings.affordances.affordances_file);
      parsedForWorld.set(settings, st);
      entries = st.registry.objects;
    } catch {
      return []; // the manifest's own problems are reported where it is loaded
    }
    where = ["affordances", "affordances_file"];
  }
  const taken = new Set<number>();
  const perRow = Math.max(1, Math.floor((w - 1) / 2));
  for (let k = 0; k < entries.length; k++) {
    const o = entries[k];
    let pos = o.position ?? undefined;
    if (!pos) {
      for (let j = k; j < k + w * h && !pos; j++) {
        const x = 1 + 2 * (j % perRow);
        const y = (Math.floor(h / 2) + 2 * Math.floor(j / perRow)) % h;
        if (x < w && !taken.has(y * w + x)) pos = [x, y];
      }
      if (!pos) return [{ path: ["world", "grid_size"], message: `no free tile left for object "${o.id}" (${entries.length} objects of ${where.join(".")}) on a ${w}x${h} grid; make the grid larger` }];
    }
    const [x, y] = pos;
    if (x < 0 || y < 0 || x >= w || y >= h) return [{ path: ["world", "grid_size"], message: `object "${o.id}" of ${where.join(".")} is at [${x}, ${y}], outside the ${w}x${h} grid` }];
    if (taken.has(y * w + x)) return [{ path: where, message: `object "${o.id}" is at [${x}, ${y}], a tile another object already holds` }];
    taken.add(y * w + x);
  }
  return [];
}

/** A free tile for an object without a position: rows of every other tile from the centre. */
function freeTile(space: SpatialIndex, town: number, k: number): [number, number] {
  const w = space.width;
  const h = space.height;
  const perRow = Math.max(1, Math.floor((w - 1) / 2));
  for (let j = k; j < k + w * h; j++) {
    const x = 1 + 2 * (j % perRow);
    const y = (Math.floor(h / 2) + 2 * Math.floor(j / perRow)) % h;
    if (x < w && space.objectAt(town, x, y) === 0) return [x, y];
  }
  throw new Error(`town ${town}: no free tile left for an object`);
}

export function instantiateObjects(world: World, st: AffordancesState): void {
  const scenario = world.settings.scenario;
  const entries: ManifestObjectEntry[] | ObjectInput[] =
    scenario && scenario.objects.length > 0
      ? scenario.objects.map((o) => ({ id: o.id, object_type: o.type, position: o.position }))
      : st.registry.objects;
  for (let t = 0; t < world.towns; t++) {
    for (const o of entries) createObject(world, t, o, st.objects);
  }
  rebuildTypeIndex(world, st);
}
