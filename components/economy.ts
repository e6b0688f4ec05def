// Money and per-town prices and utilities.
import { defineComponent } from "../engine/component.ts";

export const Wallet = defineComponent(
  "Wallet",
  { money: { type: Float32Array, doc: "money held; affordance effects, wages, prices and penalties move it; never below 0" } },
  "an agent's money",
);

/** Per-town state (index: town id), owned by the economy plug-in, changed by perturbations. */
export const TownEconomy = defineComponent(
  "TownEconomy",
  {
    price_multiplier: { type: Float32Array, default: 1, doc: "factor on every price (meal, ingredients, affordance money costs); 1 = baseline; price spikes raise it" },
    power: { type: Uint8Array, default: 1, doc: "1 = the town has power; blackouts set 0" },
    water: { type: Uint8Array, default: 1, doc: "1 = the town has water; outages set 0" },
    wages_paid: { type: Float32Array, doc: "wages paid in the town since the run began" },
  },
  "per-town prices and utilities",
);
