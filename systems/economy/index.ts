// Economy (phase: needs, set NeedsSets.Economy, after NeedsSets.Decay). Owns Wallet (agents)
// and TownEconomy (per town: price multiplier, utilities, wages paid). Reads `economy`; writes
// Obj.raw_ingredients of stoves every RESTOCK_EVERY ticks and sends StockReplenish.
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { clampPriceMultiplier, Wallet, TownEconomy, type EconomyService, EconomyKey } from "../../components/economy.ts";
import { Obj } from "../../components/objects.ts";
import { StockReplenish } from "../../components/messages.ts";
import { NeedsSets } from "../../components/sets.ts";
import type { AffordanceTable } from "../../components/affordances.ts";
import { sections } from "./config.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { economyCommands } from "./commands.ts";
import { economyTelemetry } from "./telemetry.ts";
import { economyObservations } from "./observations.ts";

/** Stoves are restocked on ticks that are multiples of this (the original's fixed period). */
export const RESTOCK_EVERY = 200;

export type Utility = "power" | "water";

export const economyPlugin = definePlugin({
  name: "economy",
  telemetry: economyTelemetry,
  observations: economyObservations,
  commands: economyCommands,
  provides: [EconomyKey],
  optional: [AffordancesKey],
  doc: "wallets, prices, utilities and stove restocking",
  sections,
  components: { Wallet, Obj },
  townState: { TownEconomy },
  messages: [StockReplenish],
  state: (world: World): EconomyService => economyService(world),
  onAgentSpawn({ world, settings, components: { Wallet: W } }, eid) {
    world.addComponent(eid, Wallet);
    W.money[eid] = settings.economy.starting_wallet ?? 1;
  },
  kpis({ world, components: { Wallet: W }, townState: { TownEconomy: TE } }) {
    const agents = world.agents;
    let money = 0;
    for (let i = 0; i < agents.length; i++) money += W.money[agents[i]];
    let mult = 0;
    for (let t = 0; t < world.towns; t++) mult += TE.price_multiplier[t];
    return {
      wallet_mean: agents.length ? money / agents.length : 0,
      price_multiplier_mean: mult / world.towns,
    };
  },
  systems: [
    {
      name: "economy/restock",
      phase: "needs",
      sets: [NeedsSets.Economy],
      after: [NeedsSets.Decay],
      reads: ["economy.stove_stock_replenish", "Obj.type", "affordance registry"],
      writes: ["Obj.raw_ingredients", "StockReplenish"],
      run({ world, tick, settings, components: { Obj: O }, send }) {
        if (tick % RESTOCK_EVERY !== 0) return;
        const amount = settings.economy.stove_stock_replenish;
        if (!(amount > 0)) return;
        const stove = registryOf(world)?.typeIndex("stove") ?? -1;
        if (stove < 0) return;
        const has = world.components.flags(Obj);
        const max = world.maxEntityId();
        for (let eid = 1; eid <= max; eid++) {
          if (has[eid] !== 1 || O.type[eid] !== stove) continue;
          O.raw_ingredients[eid] += amount;
          send(StockReplenish, eid, amount);
        }
      },
    },
  ],
});

/**
 * The affordance registry, when a plug-in in this world provides the affordances resource.
 */
function registryOf(world: World): AffordanceTable | undefined {
  return world.optionalResource(AffordancesKey)?.registry;
}

function checkTown(world: World, town: number): void {
  if (!Number.isInteger(town) || town < 0 || town >= world.towns) {
    throw new RangeError(`town must be an integer in [0, ${world.towns - 1}], got ${town}`);
  }
}

/**
 * Sets a town's price multiplier (1 = baseline). Perturbations pass the product of the town's
 * active price spikes; the console sets it directly. Every money price is scaled by it.
 */
export function setPriceMultiplier(world: World, town: number, m: number): void {
  checkTown(world, town);
  if (!Number.isFinite(m) || m < 0) throw new RangeError(`price multiplier must be a finite number >= 0, got ${m}`);
  world.townColumns(TownEconomy).price_multiplier[town] = clampPriceMultiplier(m);
}

/** Switches a town's power or water on or off (blackouts, outages). Objects check both flags. */
export function setUtility(world: World, town: number, utility: Utility, on: boolean): void {
  checkTown(world, town);
  if (utility !== "power" && utility !== "water") throw new RangeError(`utility must be "power" or "water", got "${String(utility)}"`);
  world.townColumns(TownEconomy)[utility][town] = on ? 1 : 0;
}

/** The economy plug-in's resource: the EconomyService (stateless; the values live in TownEconomy). */
export function economyService(world: World): EconomyService {
  return {
    priceMultiplier: (town) => world.townColumns(TownEconomy).price_multiplier[town],
    setPriceMultiplier: (town, m) => setPriceMultiplier(world, town, m),
    utility: (town, u) => world.townColumns(TownEconomy)[u][town] === 1,
    setUtility: (town, u, on) => setUtility(world, town, u, on),
  };
}

/**
 * A town's basket cost now, as job snapshots report it: (meal_cost + cook_energy_cost +
 * cook_hygiene_cost + ingredients_cost) x the town's price multiplier.
 */
export function basketCost(world: World, town: number): number {
  const e = world.settings.economy;
  const mult = world.townColumns(TownEconomy).price_multiplier[town];
  return (e.meal_cost + e.cook_energy_cost + e.cook_hygiene_cost + e.ingredients_cost) * mult;
}
