// The affordances plug-in's console commands: `debug_queues` lists objects with their holder,
// running affordance and queue, and the queue manager's counters; `remove_object` (admin,
// destructive) removes an object (remove.ts); `affordance_timings` (timings.ts).
import { z } from "zod";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { CommandError, checkTown, unavailable, type CommandDef } from "../../engine/command.ts";
import { didYouMean } from "../../engine/text.ts";
import { Obj } from "../../components/objects.ts";
import { Activity } from "../../components/activity.ts";
import { AffordancesKey, type AffordanceService } from "../../components/affordances.ts";
import { consoleCommand } from "../../components/console.ts";
import type { AffordancesResource } from "./resource.ts";
import { removeObject, removedKey } from "./remove.ts";

function objectName(world: World, eid: number): string {
  const id = world.text(world.columns(Obj).key[eid]);
  return world.towns > 1 ? `${id}@${world.columns(Town).id[eid]}` : id;
}

/** One object's row: holder, running affordance, queue (head first, at most 1,000), stall, utilities. */
function objectRow(w: World, svc: AffordanceService, o: number) {
  const O = w.columns(Obj);
  const A = w.components.isRegistered(Activity) ? w.columns(Activity) : undefined;
  const reg = svc.registry;
  const queue: { agent_id: string; waiting_ticks: number }[] = [];
  let q = O.queue_head[o];
  for (let k = 0; q !== 0 && k < 1000; k++) {
    queue.push({ agent_id: w.agentName(q), waiting_ticks: A ? w.tick - A.joined_tick[q] : 0 });
    q = A ? A.queue_next[q] : 0;
  }
  return {
    object_id: objectName(w, o),
    town: w.columns(Town).id[o],
    type: reg.types[O.type[o]] ?? String(O.type[o]),
    holder: O.holder[o] !== 0 && w.isAgent(O.holder[o]) ? w.agentName(O.holder[o]) : null,
    running: O.running[o] >= 0 ? (reg.affordances[O.running[o]]?.id ?? O.running[o]) : null,
    queue_len: O.queue_len[o],
    queue,
    stall_ticks: O.stall[o],
    power_on: O.power_on[o] === 1,
    water_on: O.water_on[o] === 1,
  };
}

/** The not_found error for an object id: removed (at which tick), or unknown with a did-you-mean. */
function notFound(w: World, svc: AffordanceService, objectId: string, town: number | undefined): never {
  const at = objectId.lastIndexOf("@");
  const [id, t] = at > 0 && /^\d+$/.test(objectId.slice(at + 1)) ? [objectId.slice(0, at), Number(objectId.slice(at + 1))] : [objectId, town];
  const removed = w.state<AffordancesResource>("affordances").st.removed;
  for (let k = 0; k < w.towns; k++) {
    const tick = t === undefined || t === k ? removed.get(removedKey(k, id)) : undefined;
    if (tick !== undefined) throw new CommandError("not_found", `object_id: object "${objectId}" was removed at tick ${tick}${w.towns > 1 ? ` (town ${k})` : ""}`);
  }
  const ids = svc.objects.filter((o) => w.has(o, Obj)).map((o) => objectName(w, o));
  throw new CommandError("not_found", `object_id: no object "${objectId}"${didYouMean(objectId, ids)}`);
}

/** The live object an operator names: "id" (town 0, or `town`) or "id@town"; else notFound. */
function findObject(w: World, svc: AffordanceService, objectId: string, town: number | undefined): number {
  const T = w.columns(Town).id;
  const O = w.columns(Obj);
  for (const o of svc.objects) {
    if (!w.has(o, Obj) || (town !== undefined && T[o] !== town)) continue;
    if (objectName(w, o) === objectId || (w.text(O.key[o]) === objectId && (town !== undefined || T[o] === 0))) return o;
  }
  return notFound(w, svc, objectId, town);
}

export const affordanceCommands: CommandDef[] = [
  consoleCommand({
    name: "affordance_timings",
    role: "viewer",
    doc: 'per-affordance counts and milliseconds of starts, finishes, failures and hooks (affordances.runtime.instrumentation: "timings")',
    args: z.strictObject({}),
    run(w) {
      if (!w.optionalResource(AffordancesKey)) unavailable("affordance_timings", "the affordances plug-in is not in this world");
      const res = w.state<AffordancesResource>("affordances");
      if (!res.timings) unavailable("affordance_timings", 'timings are off in this world: set affordances.runtime.instrumentation: "timings" in its config');
      return { tick: w.tick, instrumentation: "timings", affordances: res.timings.report(res.st.registry) };
    },
  }),
  consoleCommand({
    name: "remove_object",
    role: "admin",
    destructive: true,
    doc: "removes an object: {object_id, town?}; its running affordance fails (object_removed), its waiters and holder are freed",
    args: z.strictObject({
      object_id: z.string().min(1).describe('the object\'s id ("fridge_1"), or "id@town" in a world of several towns'),
      town: z.int().min(0).optional().describe("its town (default: the one in object_id, else 0)"),
    }),
    run(w, a) {
      const svc = w.optionalResource(AffordancesKey);
      if (!svc || !w.components.isRegistered(Obj)) unavailable("remove_object", "the affordances plug-in is not in this world");
      if (a.town !== undefined) checkTown(w, a.town);
      const o = findObject(w, svc, a.object_id, a.town);
      const row = objectRow(w, svc, o);
      removeObject(w, o);
      return { tick: w.tick, removed: row };
    },
  }),
  consoleCommand({
    name: "debug_queues",
    role: "viewer",
    doc: "objects with their holder, running affordance and queue: {town?, object_id?, limit?}",
    args: z.strictObject({
      town: z.int().min(0).optional(),
      object_id: z.string().min(1).optional(),
      limit: z.int().min(1).max(10_000).default(100),
      nonempty: z.boolean().default(false).describe("only objects that are held or have a queue"),
    }),
    run(w, a) {
      const svc = w.optionalResource(AffordancesKey);
      if (!svc || !w.components.isRegistered(Obj)) unavailable("debug_queues", "the affordances plug-in is not in this world");
      if (a.town !== undefined) checkTown(w, a.town);
      const O = w.columns(Obj);
      const town = w.columns(Town).id;
      const out = [];
      let total = 0;
      for (const o of svc.objects) {
        if (!w.has(o, Obj)) continue;
        if (a.town !== undefined && town[o] !== a.town) continue;
        const id = w.text(O.key[o]);
        if (a.object_id !== undefined && id !== a.object_id && objectName(w, o) !== a.object_id) continue;
        if (a.nonempty && O.holder[o] === 0 && O.queue_head[o] === 0) continue;
        total++;
        if (out.length < a.limit) out.push(objectRow(w, svc, o));
      }
      if (a.object_id !== undefined && total === 0) notFound(w, svc, a.object_id, a.town);
      const kpis = w.kpis();
      return {
        tick: w.tick,
        objects: out,
        total,
        truncated: total > out.length,
        counters: {
          cooldown_events: kpis.queue_cooldown_refusals ?? 0,
          ghost_step_events: kpis.queue_ghost_steps ?? 0,
          rotation_events: kpis.queue_rotations ?? 0,
          queue_conflicts: kpis.queue_conflicts ?? 0,
          reservation_timeouts: kpis.reservation_timeouts ?? 0,
        },
      };
    },
  }),
];
