// Money and per-town prices and utilities.
import { defineResource } from "../engine/resource.ts";
import { defineComponent } from "../engine/component.ts";

export const Wallet = defineComponent(
  "Wallet",
  { money: { type: Float32Array, doc: "money held; affordance effects, wages, prices and penalties move it; never below 0" } },
  "an agent's money",
);

/**
 * ours: the wallet observation feature is `money / (money + WALLET_SCALE)`, in [0, 1) and 0.5 at
 * 10 money units (the original feeds raw money, unbounded). Written by the economy plug-in.
 */
export const WALLET_SCALE = 10;

/** Per-town state (index: town id), owned by the economy plug-in, changed by perturbations. */
export const TownEconomy = defineComponent(
  "TownEconomy",
  {
    price_multiplier: { type: Float32Array, default: 1, doc: "factor on every price (meal, ingredients, affordance money costs); 1 = baseline; price spikes raise it" },
    power: { type: Uint8Array, default: 1, doc: "1 = the town has power; blackouts set 0" },
    water: { type: Uint8Array, default: 1, doc: "1 = the town has water; outages set 0" },
    wages_paid: { type: Float32Array, doc: "wages paid in the town since the run began" },
    suppress_exit: { type: Uint8Array, doc: "1 while an active perturbation (blackout, outage) defers needs-driven exits (faints) in the town; set by the perturbation scheduler, read by lifecycle" },
  },
  "per-town prices and utilities",
);

/**
 * Highest price multiplier a town can have. Console commands and perturbation specs refuse
 * larger values where they enter; a product of several spikes is clamped to it where the
 * float32 column stores it, so prices (and money) stay finite whatever is combined.
 */
export const PRICE_MULTIPLIER_MAX = 1000;

/** A multiplier as the column may store it: values above PRICE_MULTIPLIER_MAX (Infinity too) become it. */
export function clampPriceMultiplier(m: number): number {
  return m > PRICE_MULTIPLIER_MAX ? PRICE_MULTIPLIER_MAX : m;
}

/**
 * What the economy plug-in offers other plug-ins (`ctx.resource(EconomyKey)`): the
 * per-town price multiplier and utilities, as perturbations and the console change them.
 */
export interface EconomyService {
  /** A town's price multiplier (1 = baseline). */
  priceMultiplier(town: number): number;
  /** Sets a town's price multiplier (finite, >= 0); every money price is scaled by it. */
  setPriceMultiplier(town: number, multiplier: number): void;
  /** True when the town has the utility. */
  utility(town: number, utility: "power" | "water"): boolean;
  /** Switches a town's power or water on or off. */
  setUtility(town: number, utility: "power" | "water", on: boolean): void;
}

/** The economy plug-in's resource. */
export const EconomyKey = defineResource<EconomyService>("economy");
