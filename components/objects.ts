// Interactive objects (fridge, stove, shower, bed, ...): type, stock, holder and queue head.
// Object types and affordances are interned by the affordance registry (see affordances.ts).
import { defineComponent } from "../engine/component.ts";

export const Obj = defineComponent(
  "Obj",
  {
    type: { type: Uint16Array, doc: "object type index in the affordance registry's type table" },
    key: { type: Int32Array, doc: "interned object id string (world.text(key)), e.g. fridge_1" },
    holder: { type: Int32Array, doc: "agent entity holding the reservation, 0 = free" },
    running: { type: Int16Array, default: -1, doc: "affordance index running on the object, -1 = none" },
    queue_head: { type: Int32Array, doc: "first waiting agent entity, 0 = empty queue (links: Activity.queue_next)" },
    queue_len: { type: Uint16Array, doc: "waiting agents" },
    stall: { type: Uint16Array, doc: "consecutive blocked ticks of the queue head while the holder is idle" },
    idle_since: { type: Int32Array, doc: "tick the holder got the reservation without using it yet" },
    meals: { type: Float32Array, doc: "stock: meals ready to eat (fridges start with 5)" },
    raw_ingredients: { type: Float32Array, doc: "stock: cooking ingredients (stoves start with 3)" },
    sleep_slots: { type: Float32Array, doc: "stock: free sleeping places (beds start with 1)" },
    power_on: { type: Uint8Array, default: 1, doc: "1 = this object has power (and its town has power)" },
    water_on: { type: Uint8Array, default: 1, doc: "1 = this object has water (and its town has water)" },
  },
  "an interactive object",
);
