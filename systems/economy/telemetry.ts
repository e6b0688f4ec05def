// The economy's part of the telemetry stream: the `economy` section (prices, utilities and wages
// per town), wallets in `aggregates` and `towns_overview`, and each agent's wallet and its
// town's basket cost.
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import type { ComponentDef, Columns } from "../../engine/component.ts";
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { agentsPerTown, round4, townMeans } from "../../engine/telemetry.ts";
import { TownEconomy, Wallet } from "../../components/economy.ts";

type TownCols = typeof TownEconomy extends ComponentDef<infer S> ? Columns<S> : never;

/** A meal's cost per town: meal, cooking and ingredients at the town's price multiplier. */
function baskets(world: World, TE: TownCols | undefined): number[] {
  const e = (world.settings as Partial<World["settings"]>).economy;
  const out: number[] = [];
  for (let t = 0; t < world.towns; t++) {
    const base = e ? e.meal_cost + e.cook_energy_cost + e.cook_hygiene_cost + e.ingredients_cost : 0;
    out.push(round4(base * (TE ? TE.price_multiplier[t] : 1)));
  }
  return out;
}

/** Every town, or beyond max_towns_listed the towns off baseline; a summary either way. */
function economySection(world: World, TE: TownCols | undefined, basket: number[], maxListed: number) {
  const all = world.towns <= maxListed;
  const towns = [];
  let sum = 0;
  let max = 0;
  let dark = 0;
  let dry = 0;
  let wages = 0;
  for (let t = 0; t < world.towns; t++) {
    const m = TE ? TE.price_multiplier[t] : 1;
    const power = TE ? TE.power[t] === 1 : true;
    const water = TE ? TE.water[t] === 1 : true;
    sum += m;
    if (m > max) max = m;
    if (!power) dark++;
    if (!water) dry++;
    if (TE) wages += TE.wages_paid[t];
    if (all || ((m !== 1 || !power || !water) && towns.length < maxListed)) {
      towns.push({ town: t, price_multiplier: round4(m), power, water, wages_paid: TE ? round4(TE.wages_paid[t]) : 0, basket_cost: basket[t] });
    }
  }
  return {
    towns,
    towns_listed: all ? "all" : "off_baseline",
    summary: {
      towns: world.towns,
      price_multiplier_mean: round4(sum / world.towns),
      price_multiplier_max: round4(max),
      towns_without_power: dark,
      towns_without_water: dry,
      wages_paid: round4(wages),
    },
  };
}

export function economyTelemetry({ world }: TelemetryContext, opts: TelemetryOptions): TelemetryPart {
  const TE = world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy) : undefined;
  const W = world.components.isRegistered(Wallet) ? world.columns(Wallet) : undefined;
  const townId = world.columns(Town).id;
  const basket = baskets(world, TE);
  return {
    sections() {
      const out: Record<string, unknown> = { economy: economySection(world, TE, basket, opts.maxTownsListed) };
      if (!W) return out;
      const agents = world.agents;
      let wallet = 0;
      for (let i = 0; i < agents.length; i++) wallet += W.money[agents[i]];
      const count = agents.length;
      out.aggregates = { wallet_mean: count ? round4(wallet / count) : 0, wallet_total: round4(wallet) };
      if (opts.townOverview) {
        const sums = new Float64Array(world.towns);
        for (let i = 0; i < agents.length; i++) sums[townId[agents[i]]] += W.money[agents[i]];
        // Two decimals for money.
        out.towns_overview = { wallet: townMeans(sums, agentsPerTown(world.towns, agents, townId), 1e2) };
      }
      return out;
    },
    agent(eid, agent, job) {
      const money = W ? round4(W.money[eid]) : 0;
      agent.wallet = money;
      job.wallet = money;
      job.basket_cost = basket[townId[eid]] ?? 0;
    },
  };
}
