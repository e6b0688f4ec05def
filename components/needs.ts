// Needs: how satisfied an agent is, per need. 1 = fully satisfied, 0 = collapsed.
import { defineComponent } from "../engine/component.ts";

/** The needs every agent has, in the order observations and telemetry list them. */
export const NEED_NAMES = ["hunger", "hygiene", "energy"] as const;
export type NeedName = (typeof NEED_NAMES)[number];

export const Needs = defineComponent(
  "Needs",
  {
    hunger: { type: Float32Array, default: 1, doc: "satiety in [0,1]: 1 = sated, 0 = starving; falls by rewards.decay_rates.hunger per tick" },
    hygiene: { type: Float32Array, default: 1, doc: "cleanliness in [0,1]; falls by rewards.decay_rates.hygiene per tick" },
    energy: { type: Float32Array, default: 1, doc: "rest in [0,1]: 0 = exhausted; falls by rewards.decay_rates.energy per tick" },
  },
  "per-agent needs, each clamped to [0,1]",
);
