// Removing an object: `removeObject(world, obj)`, and `world.removeEntity` of an object entity
// (the plug-in's onEntityRemove runs detachObject before the store clears the entity's columns).
// The object leaves every index at once (the object list, its tile, the (town, type) index), its
// waiters leave the queue and decide again, a running affordance ends as a failure with reason
// "object_removed" (fail hooks, the affordance_fail message, the failure counters), and the
// reservation is released. Safe from a hook in the middle of affordances/act, queues or run.
// Costs O(objects + agents) per removal (the list and index rebuilt, cooldowns on the id cleared).
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Position } from "../../components/space.ts";
import { Obj } from "../../components/objects.ts";
import { Activity } from "../../components/activity.ts";
import { SpaceKey } from "../../components/grid.ts";
import { rebuildTypeIndex } from "./objects.ts";
import type { AffordancesResource } from "./resource.ts";

/** The fail reason of an affordance whose object was removed while it ran. */
export const OBJECT_REMOVED = "object_removed";

/**
 * Removes an object entity from the world (the entity too: its id may be reused). Throws for an
 * entity that is not one of the world's objects, naming it (and when it was removed, if it was).
 */
export function removeObject(world: World, obj: number): void {
  const { st } = world.state<AffordancesResource>("affordances");
  if (!st.objects.includes(obj)) {
    throw new Error(`removeObject: entity ${obj} is not an object of this world${obj > 0 && !world.entities.isAlive(obj) ? " (no live entity has this id)" : ""}`);
  }
  world.removeEntity(obj);
}

/** "town:id" of an object, the key of AffordancesState.removed. */
export function removedKey(town: number, id: string): string {
  return `${town}:${id}`;
}

/**
 * Takes an object out of the affordances plug-in (its onEntityRemove, before the entity's columns
 * are cleared); a no-op for an entity that is not one of its objects.
 */
export function detachObject(world: World, res: AffordancesResource, obj: number): void {
  const { st, rt } = res;
  // Any removed entity that is not an agent comes here: the flag first (O(1)), the list (O(objects)) for objects only.
  if (!world.has(obj, Obj) || !st.objects.includes(obj)) return;
  // Removed by a hook while a pass runs: that pass's binding stands (as onAgentRemove's).
  if (!rt.inPass) rt.bind(world.tick, world.send.bind(world));
  const { O, A } = rt;
  // The waiters: out of the queue, nothing pending, looked at by affordances/act again.
  for (let q = O.queue_head[obj]; q !== 0; ) {
    const next = A.queue_next[q];
    A.queued[q] = 0;
    A.queue_next[q] = 0;
    A.pending[q] = -1;
    rt.wake(q);
    q = next;
  }
  O.queue_head[obj] = 0;
  O.queue_len[obj] = 0;
  const holder = O.holder[obj];
  if (holder !== 0) endHolding(res, obj, holder);
  // A cooldown on this id would hold against an object that reuses it. Every entity id, not
  // world.agents: reading that mid-pass applies the pass's spawns to the list act is walking.
  const cool = A.cooldown_obj;
  const has = world.components.flags(Activity);
  for (let e = world.maxEntityId(); e > 0; e--) if (has[e] === 1 && cool[e] === obj) cool[e] = 0;
  const town = world.columns(Town).id[obj];
  const P = world.columns(Position);
  world.optionalResource(SpaceKey)?.removeObject(town, P.x[obj], P.y[obj], O.type[obj]);
  // A new list, not a change in place: a pass walking the old one goes on over it (the removed
  // object's cleared columns read as free and idle there), as for registerObject.
  st.objects = st.objects.filter((e) => e !== obj);
  rebuildTypeIndex(world, st);
  st.removed.set(removedKey(town, world.text(O.key[obj])), world.tick);
}

/**
 * The holder's reservation ends. A running affordance fails with OBJECT_REMOVED, except when the
 * removal comes from its own hooks: in its `after` hooks (remaining 0: it is finishing, and
 * finishes) or its `fail` hooks (it is failing already), the reservation is only released; in a
 * `before` hook the start is cancelled with OBJECT_REMOVED (runtime.ts start fails it).
 */
function endHolding({ rt }: AffordancesResource, obj: number, holder: number): void {
  const A = rt.A;
  const aff = rt.O.running[obj];
  const c = rt.call;
  const ownHook = c.agent === holder && c.object === obj;
  if (aff >= 0 && A.remaining[holder] > 0 && !(ownHook && c.stage === "fail")) {
    rt.fail(holder, obj, aff, OBJECT_REMOVED);
    return;
  }
  rt.release(obj, holder, false);
  if (ownHook && c.stage === "before" && aff < 0) {
    c.cancel = true;
    c.reason = OBJECT_REMOVED;
  }
}
