// The affordances plug-in's console command: `debug_queues` lists objects with their holder,
// running affordance and queue, and the queue manager's counters.
import { z } from "zod";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { CommandError, checkTown, unavailable, type CommandDef } from "../../engine/command.ts";
import { didYouMean } from "../../engine/text.ts";
import { Obj } from "../../components/objects.ts";
import { Activity } from "../../components/activity.ts";
import { AffordancesKey, type AffordanceService } from "../../components/affordances.ts";
import { consoleCommand } from "../../components/console.ts";

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

export const affordanceCommands: CommandDef[] = [
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
      if (a.object_id !== undefined && total === 0) {
        const ids = svc.objects.filter((o) => w.has(o, Obj)).map((o) => objectName(w, o));
        throw new CommandError("not_found", `object_id: no object "${a.object_id}"${didYouMean(a.object_id, ids)}`);
      }
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
