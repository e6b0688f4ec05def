// What the telemetry plug-in reads from messages: every channel visible to the telemetry phase as
// event objects (agent and object fields named, affordance and job indexes as ids), and the
// meals each agent cooked and ate (counted every tick, published in its job record).
import type { World } from "../../engine/world.ts";
import type { MessageChannel } from "../../engine/message.ts";
import { Agent } from "../../engine/core-components.ts";
import { round4 } from "../../engine/telemetry.ts";
import { Obj } from "../../components/objects.ts";
import { AffordanceFinish } from "../../components/messages.ts";
import { jobTable } from "../../components/jobs.ts";
import { AffordancesKey, type AffordanceTable } from "../../components/affordances.ts";
import type { TelemetryConfig } from "./config.ts";
import type { TelemetryEventT } from "./schema.ts";

/** How events name things: an agent entity (with its uid when the message has one), an object. */
export interface EventNames {
  agent(eid: number, uid: number | undefined): string | null;
  object(eid: number): string;
}

/** Every message of every channel visible to the telemetry phase, as event objects; and how many were left out. */
export function collectEvents(w: World, cfg: TelemetryConfig, tick: number, names: EventNames): { events: TelemetryEventT[]; dropped: number } {
  const out: TelemetryEventT[] = [];
  let dropped = 0;
  const limit = cfg.stream.max_events_per_tick;
  const exclude = cfg.stream.exclude_events;
  const objFlags = w.components.isRegistered(Obj) ? w.components.flags(Obj) : undefined;
  const registry = w.optionalResource(AffordancesKey)?.registry;
  let jobs: readonly string[] = [];
  try {
    jobs = jobTable(w).names;
  } catch {
    // No `jobs` section: job fields stay numbers.
  }
  for (const ch of w.messages.channels as MessageChannel[]) {
    const def = ch.def;
    if (exclude.includes(def.name)) continue;
    const v = ch.read(w.phase);
    if (v.count === 0) continue;
    const cols = ch.cols;
    const uidCol = def.keys.indexOf("uid");
    for (let i = v.start; i < v.end; i++) {
      if (out.length >= limit) {
        dropped += v.end - i;
        break;
      }
      const e: TelemetryEventT = { event: def.name, tick };
      for (let k = 0; k < def.keys.length; k++) {
        const field = def.keys[k];
        // `event` and `tick` name the event object itself: a message field of that name is
        // kept as event_id ("evt_N", as perturbation ids are written) or msg_tick.
        const key = field === "event" ? "event_id" : field === "tick" ? "msg_tick" : field;
        const val = cols[k][i];
        if (field === "event" && def.fields[field] === "int") {
          e[key] = `evt_${val}`;
          continue;
        }
        switch (def.fields[field]) {
          case "eid":
            if (key === "object" || key.endsWith("_object")) {
              e[key] = objFlags && objFlags[val] === 1 ? names.object(val) : val === 0 ? null : val;
            } else {
              e[key] = val === 0 ? null : names.agent(val, uidCol >= 0 ? cols[uidCol][i] : undefined);
            }
            break;
          case "str":
            e[key] = w.text(val);
            break;
          default:
            if (key === "job" && def.fields[field] === "int") e[key] = val >= 0 ? (jobs[val] ?? val) : null;
            else e[key] = Number.isInteger(val) ? val : round4(val);
        }
      }
      if (registry && typeof e.affordance === "number" && def.name.startsWith("affordance_")) {
        e.affordance = registry.affordances[e.affordance]?.id ?? e.affordance;
      }
      out.push(e);
    }
  }
  return { events: out, dropped };
}

/** Meals cooked and eaten per entity (cook / eat affordances finished), reset when the entity's agent changes. */
export class MealCounter {
  private cooked = new Uint32Array(0);
  private eaten = new Uint32Array(0);
  private uidOf = new Int32Array(0);
  private cookIdx = -1;
  private eatIdx = -1;
  private registry: AffordanceTable | undefined;

  constructor(private readonly world: World) {}

  /** Counts this tick's finished cook and eat affordances (every tick, telemetry or not: cheap). */
  count(): void {
    const w = this.world;
    if (!w.messages.has(AffordanceFinish)) return;
    const reg = w.optionalResource(AffordancesKey)?.registry;
    if (reg !== this.registry) {
      this.registry = reg;
      this.cookIdx = reg ? reg.affordanceIndex("cook_meal") : -1;
      this.eatIdx = reg ? reg.affordanceIndex("eat_meal") : -1;
    }
    const v = w.messages.channel(AffordanceFinish).read(w.phase);
    if (v.count === 0) return;
    this.grow(w.maxEntityId() + 1);
    const uid = w.columns(Agent).uid;
    for (let i = v.start; i < v.end; i++) {
      const a = v.affordance[i];
      if (a !== this.cookIdx && a !== this.eatIdx) continue;
      const eid = v.agent[i];
      if (!w.isAgent(eid)) continue;
      if (this.uidOf[eid] !== uid[eid]) {
        this.uidOf[eid] = uid[eid];
        this.cooked[eid] = 0;
        this.eaten[eid] = 0;
      }
      if (a === this.cookIdx) this.cooked[eid]++;
      else this.eaten[eid]++;
    }
  }

  private grow(max: number): void {
    if (this.uidOf.length >= max) return;
    const n = Math.max(16, max * 2);
    const c = new Uint32Array(n);
    c.set(this.cooked);
    this.cooked = c;
    const e = new Uint32Array(n);
    e.set(this.eaten);
    this.eaten = e;
    const u = new Int32Array(n).fill(-1);
    u.set(this.uidOf);
    this.uidOf = u;
  }

  /** [cooked, eaten] of the agent `uid` living in entity `eid`. */
  meals(eid: number, uid: number): [number, number] {
    if (eid >= this.uidOf.length || this.uidOf[eid] !== uid) return [0, 0];
    return [this.cooked[eid], this.eaten[eid]];
  }
}

