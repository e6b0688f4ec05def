// Economy: starting wallets, stove restocking every 200 ticks, price multipliers and the basket
// cost, utilities and KPIs.
import { describe, expect, it } from "vitest";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Obj } from "../../components/objects.ts";
import { StockReplenish } from "../../components/messages.ts";
import { PolicySets } from "../../components/sets.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { registerObject } from "../../systems/affordances/index.ts";
import { basketCost, RESTOCK_EVERY, setPriceMultiplier, setUtility } from "../../systems/economy/index.ts";
import { makeSettings, makeWorld, runTo } from "../helpers/world.ts";

/** The core plug-ins with a policy that decides nothing (no agent walks or uses objects). */
const STILL = [
  ...corePlugins.filter((p) => p.name !== "scripted"),
  definePlugin({ name: "stand_still", systems: [{ name: "stand_still/decide", phase: "policy", sets: [PolicySets.Decide], run() {} }] }),
];

function world(overrides: Record<string, unknown> = {}): World {
  return makeWorld({ world: { agents_per_town: 0, grid_size: [16, 16] }, ...overrides }, STILL);
}

describe("wallets", () => {
  it("gives a new agent economy.starting_wallet, 1 by default", () => {
    const plain = world();
    expect(plain.columns(Wallet).money[plain.spawnAgent(0)]).toBe(1);
    const rich = world({ economy: { starting_wallet: 2.5 } });
    expect(rich.columns(Wallet).money[rich.spawnAgent(0)]).toBe(2.5);
  });
});

describe("restocking", () => {
  it("adds stove_stock_replenish ingredients to every stove every 200 ticks and sends StockReplenish", () => {
    const w = world({ economy: { stove_stock_replenish: 4 } });
    const stoves = [registerObject(w, 0, { id: "stove_a", object_type: "stove", position: [2, 2] }), registerObject(w, 0, { id: "stove_b", object_type: "stove", position: [3, 2] })];
    const fridge = registerObject(w, 0, { id: "fridge_x", object_type: "fridge", position: [4, 2] });
    const O = w.columns(Obj);
    const start = stoves.map((s) => O.raw_ingredients[s]);
    const sent: [number, number, number][] = [];
    w.onTick(() => {
      const v = w.lastTick(StockReplenish);
      for (let i = v.start; i < v.end; i++) sent.push([w.tick, v.object[i], v.amount[i]]);
    });
    runTo(w, RESTOCK_EVERY - 1);
    expect(stoves.map((s) => O.raw_ingredients[s])).toEqual(start);
    runTo(w, RESTOCK_EVERY);
    expect(stoves.map((s) => O.raw_ingredients[s])).toEqual(start.map((n) => n + 4));
    runTo(w, 2 * RESTOCK_EVERY);
    expect(stoves.map((s) => O.raw_ingredients[s])).toEqual(start.map((n) => n + 8));
    expect(O.raw_ingredients[fridge]).toBe(0);
    expect(sent).toEqual([
      [200, stoves[0], 4],
      [200, stoves[1], 4],
      [400, stoves[0], 4],
      [400, stoves[1], 4],
    ]);
  });

  it("restocks nothing when stove_stock_replenish is 0", () => {
    const w = world({ economy: { stove_stock_replenish: 0 } });
    const stove = registerObject(w, 0, { id: "stove_a", object_type: "stove", position: [2, 2] });
    const before = w.columns(Obj).raw_ingredients[stove];
    runTo(w, RESTOCK_EVERY);
    expect(w.columns(Obj).raw_ingredients[stove]).toBe(before);
  });

  it("restocks nothing, and does not fail, in a world without the affordance registry", () => {
    const plugins = corePlugins.filter((p) => p.name === "economy" || p.name === "needs");
    const w = new World({ settings: makeSettings({ world: { agents_per_town: 0 } }), plugins });
    const obj = w.spawnEntity(0, [Obj], { Obj: { type: 0, raw_ingredients: 3 } });
    runTo(w, RESTOCK_EVERY);
    expect(w.columns(Obj).raw_ingredients[obj]).toBe(3);
  });
});

describe("prices and utilities", () => {
  it("scales the basket cost by the town's price multiplier, town by town", () => {
    const w = world({ world: { agents_per_town: 0, towns: 2 } });
    expect(basketCost(w, 0)).toBeCloseTo(0.4 + 0.05 + 0.02 + 0.15, 6);
    setPriceMultiplier(w, 1, 1.5);
    expect(basketCost(w, 0)).toBeCloseTo(0.62, 6);
    expect(basketCost(w, 1)).toBeCloseTo(0.93, 6);
    expect(() => setPriceMultiplier(w, 2, 1)).toThrow(/town must be an integer in \[0, 1\], got 2/);
    expect(() => setPriceMultiplier(w, 0, -1)).toThrow(/price multiplier must be a finite number >= 0, got -1/);
  });

  it("reads the economy table's prices for the basket", () => {
    const w = world({ economy: { meal_cost: 1, cook_energy_cost: 0, cook_hygiene_cost: 0, ingredients_cost: 0.5 } });
    setPriceMultiplier(w, 0, 2);
    expect(basketCost(w, 0)).toBeCloseTo(3, 6);
  });

  it("switches a town's power and water", () => {
    const w = world({ world: { agents_per_town: 0, towns: 2 } });
    const TE = w.townColumns(TownEconomy);
    setUtility(w, 1, "power", false);
    setUtility(w, 0, "water", false);
    expect([TE.power[0], TE.power[1], TE.water[0], TE.water[1]]).toEqual([1, 0, 0, 1]);
    setUtility(w, 1, "power", true);
    expect(TE.power[1]).toBe(1);
  });
});

describe("kpis", () => {
  it("reports wallet_mean over agents and price_multiplier_mean over towns", () => {
    const w = world({ world: { agents_per_town: 0, towns: 2 }, economy: { starting_wallet: 2 } });
    const a = w.spawnAgent(0);
    w.spawnAgent(1);
    w.columns(Wallet).money[a] = 4;
    setPriceMultiplier(w, 0, 3);
    expect(w.kpis()).toMatchObject({ wallet_mean: 3, price_multiplier_mean: 2 });
  });
});
