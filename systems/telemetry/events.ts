// What the telemetry plug-in reads from messages: every channel visible to the telemetry phase as
// event objects, agent and object fields named; an integer field a plug-in gives meaning to
// (the affordances plug-in's `affordance`, employment's `job`) as that plug-in publishes it
// (TelemetryPart.eventFields).
import type { World } from "../../engine/world.ts";
import type { MessageChannel } from "../../engine/message.ts";
import { Agent } from "../../engine/core-components.ts";
import { round4, type EventField } from "../../engine/telemetry.ts";
import { Obj } from "../../components/objects.ts";
import type { TelemetryConfig } from "./config.ts";
import type { TelemetryEventT } from "./schema.ts";

/** How events name things: an agent entity (with its uid when the message has one), an object. */
export interface EventNames {
  agent(eid: number, uid: number | undefined): string | null;
  object(eid: number): string;
}

/**
 * Every message of every channel visible to the telemetry phase, as event objects; and how many
 * were left out. `fields`: the plug-ins' publishers of integer fields, by field name.
 */
export function collectEvents(
  w: World,
  cfg: TelemetryConfig,
  tick: number,
  names: EventNames,
  fields: ReadonlyMap<string, EventField>,
): { events: TelemetryEventT[]; dropped: number } {
  const out: TelemetryEventT[] = [];
  let dropped = 0;
  const limit = cfg.stream.max_events_per_tick;
  const exclude = cfg.stream.exclude_events;
  const objFlags = w.components.isRegistered(Obj) ? w.components.flags(Obj) : undefined;
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
          default: {
            const named = def.fields[field] === "int" ? fields.get(key)?.(val, def.name) : undefined;
            e[key] = named !== undefined ? named : Number.isInteger(val) ? val : round4(val);
          }
        }
      }
      out.push(e);
    }
  }
  return { events: out, dropped };
}
