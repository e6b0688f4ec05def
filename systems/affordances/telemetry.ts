// The affordances plug-in's part of the telemetry stream: queue counters (`queue_metrics`),
// agents holding, queued and running in `aggregates` and `towns_overview`, each agent's
// activity, reservation and queue, the meals it cooked and ate (its job record; meals.ts), every
// object's record (holder, queue, stock, utilities), the affordance's id in affordance events, and
// under instrumentation "timings" the per-affordance timings (`affordance_timings`, timings.ts).
import type { World } from "../../engine/world.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import type { ComponentDef, Columns } from "../../engine/component.ts";
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { round4 } from "../../engine/telemetry.ts";
import { Obj } from "../../components/objects.ts";
import { Activity } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import { AffordancesKey, type AffordanceService } from "../../components/affordances.ts";
import type { MealCounter } from "./meals.ts";
import type { AffordanceTimings } from "./timings.ts";

type Rec = Record<string, unknown>;
type ActivityCols = typeof Activity extends ComponentDef<infer S> ? Columns<S> : never;

/** Every object's record, or (`only`) those of the towns set to 1 in it. */
function objectRecords(world: World, svc: AffordanceService, opts: TelemetryOptions, only?: Uint8Array): Map<string, Rec> {
  const out = new Map<string, Rec>();
  if (!world.components.isRegistered(Obj)) return out;
  const O = world.columns(Obj);
  const has = world.components.flags(Obj);
  const A = world.components.isRegistered(Activity) ? world.columns(Activity) : undefined;
  const P = world.components.isRegistered(Position) ? world.columns(Position) : undefined;
  const townId = world.columns(Town).id;
  const reg = svc.registry;
  for (const eid of svc.objects) {
    if (has[eid] !== 1) continue;
    if (only && only[townId[eid]] !== 1) continue;
    const id = opts.objectId(eid);
    const queue: string[] = [];
    if (A) {
      let q = O.queue_head[eid];
      for (let k = 0; q !== 0 && k < 256; k++) {
        queue.push(opts.publicId(world.agentName(q)));
        q = A.queue_next[q];
      }
    }
    const holder = O.holder[eid];
    out.set(id, {
      id,
      town: townId[eid],
      type: reg?.types[O.type[eid]] ?? String(O.type[eid]),
      x: P ? P.x[eid] : 0,
      y: P ? P.y[eid] : 0,
      holder: holder !== 0 && world.isAgent(holder) ? opts.publicId(world.agentName(holder)) : null,
      queue,
      running: O.running[eid] >= 0 ? (reg?.affordances[O.running[eid]]?.id ?? String(O.running[eid])) : null,
      meals: round4(O.meals[eid]),
      raw_ingredients: round4(O.raw_ingredients[eid]),
      sleep_slots: round4(O.sleep_slots[eid]),
      power_on: O.power_on[eid] === 1,
      water_on: O.water_on[eid] === 1,
    });
  }
  return out;
}

/** Agents holding a reservation, waiting in a queue and running an affordance; queued per town. */
function activitySections(world: World, A: ActivityCols, opts: TelemetryOptions): Rec {
  const agents = world.agents;
  let holding = 0;
  let queued = 0;
  let running = 0;
  for (let i = 0; i < agents.length; i++) {
    const e = agents[i];
    if (A.holding[e] !== 0) holding++;
    if (A.queued[e] !== 0) queued++;
    if (A.running[e] >= 0) running++;
  }
  const out: Rec = { aggregates: { holding, queued, running } };
  if (opts.townOverview) {
    const perTown = new Array<number>(world.towns).fill(0);
    const townId = world.columns(Town).id;
    for (let i = 0; i < agents.length; i++) if (A.queued[agents[i]] !== 0) perTown[townId[agents[i]]]++;
    out.towns_overview = { queued: perTown };
  }
  return out;
}

export function affordancesTelemetry({ world, state }: TelemetryContext<unknown, { readonly meals: MealCounter; readonly timings?: AffordanceTimings }>, opts: TelemetryOptions): TelemetryPart {
  const svc = world.optionalResource(AffordancesKey);
  const uid = world.columns(Agent).uid;
  const reg = svc?.registry;
  const A = world.components.isRegistered(Activity) ? world.columns(Activity) : undefined;
  const O = world.components.isRegistered(Obj) ? world.columns(Obj) : undefined;
  const objName = (o: number) => (o !== 0 && O ? opts.objectId(o) : null);
  const n = (k: string) => (typeof opts.kpis[k] === "number" ? (opts.kpis[k] as number) : 0);
  return {
    sections() {
      const out: Rec = {
        queue_metrics: { cooldown_events: n("queue_cooldown_refusals"), ghost_step_events: n("queue_ghost_steps"), rotation_events: n("queue_rotations") },
      };
      // instrumentation "timings" only: per-affordance counts and milliseconds (timings.ts).
      if (state.timings && reg) out.affordance_timings = state.timings.report(reg);
      return A ? { ...out, ...activitySections(world, A, opts) } : out;
    },
    agent(eid, agent, job) {
      const [cooked, eaten] = state.meals.meals(eid, uid[eid]);
      job.meals_cooked = cooked;
      job.meals_consumed = eaten;
      if (!A) return;
      agent.activity = A.running[eid] >= 0 ? (reg?.affordances[A.running[eid]]?.id ?? String(A.running[eid])) : null;
      agent.holding = objName(A.holding[eid]);
      agent.queued = objName(A.queued[eid]);
    },
    objects: svc ? (only) => objectRecords(world, svc, opts, only) : undefined,
    // The affordance_* messages' `affordance` index as the affordance's id.
    eventFields: reg ? { affordance: (v, message) => (message.startsWith("affordance_") ? reg.affordances[v]?.id : undefined) } : undefined,
  };
}
