// The object a Use option goes to (chooseObject) and the Avoid step: the option executor's
// choices that read the objects, the grid and the social ledger (index.ts runs them per agent).
import type { World } from "../../engine/world.ts";
import type { Columns } from "../../engine/component.ts";
import { Town, Agent } from "../../engine/core-components.ts";
import { Activity } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { Position } from "../../components/space.ts";
import { TownEconomy } from "../../components/economy.ts";
import { STEPS, type SpatialIndex } from "../../components/grid.ts";
import type { SocialLedger } from "../../components/social.ts";
import type { AffordanceTable } from "../../components/affordances.ts";
import type { TownTypeIndex } from "../affordances/type-index.ts";

/** Affordances need stock their object must have to be worth walking to (by affordance id). */
export const STOCK_NEED: Readonly<Record<string, "meals" | "raw_ingredients">> = {
  eat_meal: "meals",
  cook_meal: "raw_ingredients",
};

/** Above this many objects of a type in a town, the nearest (distance field) is tried first. */
export const NEAREST_FIRST_ABOVE = 8;

export interface Ctx {
  space?: SpatialIndex;
  world: World;
  registry: AffordanceTable;
  objectsOfType: (town: number, type: number) => Int32Array;
  /** The affordances plug-in's (town, type) index, read as ranges of its `items` (no view per list: E's note, issue #19 memory); undefined: `objectsOfType` is used. */
  types?: TownTypeIndex;
  social: SocialLedger | undefined;
  avoid: number;
  /** The world's columns, looked up once per tick (chooseObject runs for every new Use option; 40k of them the tick after a shift end in the 100k bench world). */
  cols?: CtxColumns;
}

export interface CtxColumns {
  T: Uint32Array;
  P: Columns<(typeof Position)["schema"]>;
  O: Columns<(typeof Obj)["schema"]>;
  A: Columns<(typeof Activity)["schema"]>;
  uid: Uint32Array;
  econ: Columns<(typeof TownEconomy)["schema"]> | undefined;
}

export function ctxColumns(world: World): CtxColumns {
  return {
    T: world.columns(Town).id,
    P: world.columns(Position),
    O: world.columns(Obj),
    A: world.columns(Activity),
    uid: world.columns(Agent).uid,
    econ: world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy) : undefined,
  };
}

/**
 * The best object of `aff`'s type for an agent, or 0: Manhattan distance plus the wait ahead
 * (queue length times the duration, the remaining time of the holder), among objects that are
 * stocked, powered and free of rivals. `rivalBlocked` reports whether a rival ruled one out.
 */
export function chooseObject(c: Ctx, eid: number, aff: number, out: { rivalBlocked: boolean }): number {
  const { world, registry } = c;
  const spec = registry.affordances[aff];
  if (!spec) return 0;
  const { T, P, O, A, uid, econ } = c.cols ?? ctxColumns(world);
  const town = T[eid];
  // [eid, x, y] triples of the town's objects of this type, from `from` to `to` (exclusive).
  const idx = c.types;
  const list = idx !== undefined ? idx.items : c.objectsOfType(town, spec.type);
  const from = idx !== undefined ? idx.begin(town, spec.type) : 0;
  const to = idx !== undefined ? idx.end(town, spec.type) : list.length;
  const stock = STOCK_NEED[spec.id];
  const needsPower = spec.needsPower;
  const needsWater = spec.needsWater;
  let best = 0;
  let bestScore = Infinity;
  out.rivalBlocked = false;
  // Many objects of this type (a big town): try the nearest one from the distance field first,
  // O(1); scan every object only when the nearest is unsuitable.
  if (to - from > 3 * NEAREST_FIRST_ABOVE && c.space) {
    const f = c.space.field(town, spec.type, c.objectsOfType);
    const near = f.nearest[P.y[eid] * c.space.width + P.x[eid]];
    if (near !== 0 && !unsuitable(O, econ, town, near, stock, needsPower, needsWater) && !(c.social && hasRival(c, eid, near, uid, O, A))) {
      return near;
    }
  }
  // One object of this type (most towns): it is the choice when suitable, whatever its score
  // (the loop below would pick it), so its tile, queue and holder's time are not read (issue #19:
  // each a cache miss at the agent's or the object's scattered id).
  if (to - from === 3) {
    const obj = list[from];
    if (unsuitable(O, econ, town, obj, stock, needsPower, needsWater)) return 0;
    if (c.social && hasRival(c, eid, obj, uid, O, A)) {
      out.rivalBlocked = true;
      return 0;
    }
    return obj;
  }
  for (let i = from; i < to; i += 3) {
    const obj = list[i];
    if (unsuitable(O, econ, town, obj, stock, needsPower, needsWater)) continue;
    if (c.social && hasRival(c, eid, obj, uid, O, A)) {
      out.rivalBlocked = true;
      continue;
    }
    const dist = Math.abs(P.x[eid] - list[i + 1]) + Math.abs(P.y[eid] - list[i + 2]);
    const holder = O.holder[obj];
    let wait = O.queue_len[obj] * spec.duration;
    if (holder !== 0 && holder !== eid) wait += A.running[holder] >= 0 ? A.remaining[holder] : spec.duration;
    if (A.queued[eid] === obj) wait = 0;
    const score = dist + wait;
    if (score < bestScore) {
      bestScore = score;
      best = obj;
    }
  }
  return best;
}

/** An object lacking the stock its affordance needs, or the power or water (its own or its town's). */
function unsuitable(
  O: CtxColumns["O"],
  econ: CtxColumns["econ"],
  town: number,
  obj: number,
  stock: "meals" | "raw_ingredients" | undefined,
  needsPower: boolean | undefined,
  needsWater: boolean | undefined,
): boolean {
  if (stock && O[stock][obj] < 1) return true;
  if (needsPower && (O.power_on[obj] === 0 || (econ && econ.power[town] === 0))) return true;
  if (needsWater && (O.water_on[obj] === 0 || (econ && econ.water[town] === 0))) return true;
  return false;
}

/** Avoid: a Move to the first 4-neighbour with no rival on it (west, east, north, south); false when none. */
export function avoidStep(c: Ctx, I: { x: Int16Array; y: Int16Array }, eid: number): boolean {
  const space = c.space!;
  const P = c.world.columns(Position);
  const T = c.world.columns(Town).id;
  const uid = c.world.columns(Agent).uid;
  for (let s = 0; s < 4; s++) {
    const nx = P.x[eid] + STEPS[s][0];
    const ny = P.y[eid] + STEPS[s][1];
    if (!space.inBounds(nx, ny)) continue;
    let rival = false;
    if (c.social) {
      for (let o = space.agentsAt(T[eid], nx, ny); o !== 0; o = space.next[o]) {
        if (c.social.rivalryOf(eid, uid[o]) >= c.avoid) rival = true;
      }
    }
    if (!rival) {
      I.x[eid] = nx;
      I.y[eid] = ny;
      return true;
    }
  }
  return false;
}

function hasRival(c: Ctx, eid: number, obj: number, uid: Uint32Array, O: { holder: Int32Array; queue_head: Int32Array }, A: { queue_next: Int32Array }): boolean {
  const L = c.social!;
  const h = O.holder[obj];
  if (h !== 0 && h !== eid && L.rivalryOf(eid, uid[h]) >= c.avoid) return true;
  for (let q = O.queue_head[obj]; q !== 0; q = A.queue_next[q]) if (q !== eid && L.rivalryOf(eid, uid[q]) >= c.avoid) return true;
  return false;
}
