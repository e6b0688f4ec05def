// A town's effects recomputed from its active events: the price multiplier (base x product of
// the spikes), power and water (off while a blackout / outage runs, then back to their value from
// before the first one) and exit suppression. Through the economy plug-in when present.
import type { World } from "../../engine/world.ts";
import { EconomyKey, TownEconomy, clampPriceMultiplier, type EconomyService } from "../../components/economy.ts";
import type { PEvent, Spec } from "./spec.ts";

/** Writes prices and utilities through the economy plug-in when present, else the columns. */
export function economyOf(world: World): EconomyService {
  const s = world.optionalResource(EconomyKey);
  if (s) return s;
  const cols = () => world.townColumns(TownEconomy);
  return {
    priceMultiplier: (t) => cols().price_multiplier[t],
    setPriceMultiplier: (t, m) => void (cols().price_multiplier[t] = clampPriceMultiplier(m)),
    utility: (t, u) => cols()[u][t] === 1,
    setUtility: (t, u, on) => void (cols()[u][t] = on ? 1 : 0),
  };
}

/** Each effect's value before the first event of that effect, per town, and whether it is held. */
export interface EffectBaselines {
  priceBase: Float64Array;
  priceHeld: Uint8Array;
  powerBase: Uint8Array;
  powerHeld: Uint8Array;
  waterBase: Uint8Array;
  waterHeld: Uint8Array;
}

/** Recomputes town t's prices, utilities and exit suppression from its active `events`. */
export function applyTownEffects(world: World, fx: EffectBaselines, t: number, events: readonly PEvent[], table: readonly Spec[]): void {
  const econ = economyOf(world);
  let spikes = 0;
  let mult = 1;
  let blackout = false;
  let outage = false;
  let suppress = false;
  for (const ev of events) {
    const spec = table[ev.spec];
    if (spec.kind === "price_spike") {
      spikes++;
      // Bounded as it grows, so that 0 x Infinity can never make it NaN.
      mult = clampPriceMultiplier(mult * ev.magnitude);
    } else if (spec.kind === "blackout") blackout = true;
    else if (spec.kind === "outage") outage = true;
    if (spec.suppress) suppress = true;
  }
  if (spikes > 0) {
    if (fx.priceHeld[t] === 0) {
      fx.priceBase[t] = econ.priceMultiplier(t);
      fx.priceHeld[t] = 1;
    }
    econ.setPriceMultiplier(t, fx.priceBase[t] * mult);
  } else if (fx.priceHeld[t] === 1) {
    econ.setPriceMultiplier(t, fx.priceBase[t]);
    fx.priceHeld[t] = 0;
  }
  if (blackout) {
    if (fx.powerHeld[t] === 0) {
      fx.powerBase[t] = econ.utility(t, "power") ? 1 : 0;
      fx.powerHeld[t] = 1;
    }
    econ.setUtility(t, "power", false);
  } else if (fx.powerHeld[t] === 1) {
    econ.setUtility(t, "power", fx.powerBase[t] === 1);
    fx.powerHeld[t] = 0;
  }
  if (outage) {
    if (fx.waterHeld[t] === 0) {
      fx.waterBase[t] = econ.utility(t, "water") ? 1 : 0;
      fx.waterHeld[t] = 1;
    }
    econ.setUtility(t, "water", false);
  } else if (fx.waterHeld[t] === 1) {
    econ.setUtility(t, "water", fx.waterBase[t] === 1);
    fx.waterHeld[t] = 0;
  }
  world.townColumns(TownEconomy).suppress_exit[t] = suppress ? 1 : 0;
}
