// Action masks: which of the shared discrete actions (components/actions.ts) an agent can start
// now. Row-major [N, A], 1 = allowed. Per-town facts (is a stocked, powered object of the right
// type there; what does the affordance cost at this town's prices) are computed once per call;
// the per-agent pass allocates nothing.
import type { World } from "../../engine/world.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { ACTION_AVOID, ACTION_CHAT, ACTION_USE_BASE, ACTION_WAIT, ACTION_WORK, actionCount } from "../../components/actions.ts";
import { Activity } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { STEPS } from "../../components/grid.ts";
import type { AffordanceSpec, AffordanceTable } from "../../components/affordances.ts";
import { SocialKey } from "../../components/social.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { SpaceKey } from "../../components/grid.ts";

/** Stock an affordance consumes from its object (the hooks refuse to start without it). */
const STOCK_NEED: Record<string, "meals" | "raw_ingredients"> = {
  eat_meal: "meals",
  cook_meal: "raw_ingredients",
};
/** Affordances charged by their before hook at an economy price (instead of their money effect). */
const HOOK_PRICE: Record<string, string> = {
  eat_meal: "meal_cost",
  cook_meal: "ingredients_cost",
};

/** The affordance registry of a world (owned by the affordances plug-in). */
export function registryOf(world: World): AffordanceTable {
  return world.resource(AffordancesKey).registry;
}

/** Number of actions of a world now: wait, work, chat, avoid, then one per affordance. */
export function worldActionCount(world: World): number {
  return actionCount(registryOf(world));
}

interface Scratch {
  avail: Uint8Array;
  cost: Float32Array;
}
const scratch = new WeakMap<World, Scratch>();

function scratchFor(world: World, n: number): Scratch {
  let s = scratch.get(world);
  if (!s || s.avail.length < n) {
    s = { avail: new Uint8Array(Math.max(16, n)), cost: new Float32Array(Math.max(16, n)) };
    scratch.set(world, s);
  }
  return s;
}

function needsUtility(spec: AffordanceSpec, key: "power_on" | "water_on"): boolean {
  const r = spec as AffordanceSpec & { needsPower?: boolean; needsWater?: boolean };
  const flag = key === "power_on" ? r.needsPower : r.needsWater;
  if (flag !== undefined) return flag;
  for (const p of spec.preconds) if (p.includes(key)) return true;
  return false;
}

/**
 * Fills `out` (row-major [agents.length, A], A = actionCount of the registry) with 1 where an
 * action can start:
 * - wait: always;
 * - work: the agent has a job;
 * - chat: a non-rival agent stands on its tile or a 4-neighbour, and features.stages.relationships
 *   is not OFF;
 * - avoid: a rival (rivalry >= conflict.rivalry.avoid_threshold) stands on its tile or a 4-neighbour;
 * - use:k: the affordance is active, an object of its type in the agent's town has the stock it
 *   consumes (meals for eat_meal, raw_ingredients for cook_meal) and power / water when its
 *   preconditions name them, and the agent can pay its price at the town's price multiplier;
 * - an agent running an affordance gets only wait.
 * Returns A.
 */
export function buildMasks(world: World, agents: Int32Array, out: Uint8Array): number {
  const reg = registryOf(world);
  const A = actionCount(reg);
  const n = agents.length;
  if (out.length < n * A) throw new RangeError(`buildMasks: the mask buffer holds ${out.length} entries, ${n} agents x ${A} actions need ${n * A}`);
  if (n === 0) return A;
  const K = reg.affordances.length;
  const towns = world.towns;
  const affordances = world.resource(AffordancesKey);
  const O = world.columns(Obj);
  const econ = world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy) : undefined;
  const prices = world.settings.economy as unknown as Record<string, number>;
  const { avail, cost } = scratchFor(world, towns * K);

  // Per town and affordance: a usable object exists, and the price there.
  for (let k = 0; k < K; k++) {
    const spec = reg.affordances[k];
    const active = spec !== undefined && (spec as { active?: boolean }).active !== false;
    if (!active) {
      for (let t = 0; t < towns; t++) avail[t * K + k] = 0;
      continue;
    }
    const stock = STOCK_NEED[spec.id];
    const power = needsUtility(spec, "power_on");
    const water = needsUtility(spec, "water_on");
    const hookPrice = HOOK_PRICE[spec.id];
    const base = hookPrice !== undefined ? (prices[hookPrice] ?? 0) : spec.money < 0 ? -spec.money : 0;
    for (let t = 0; t < towns; t++) {
      const j = t * K + k;
      cost[j] = base * (econ ? econ.price_multiplier[t] : 1);
      avail[j] = 0;
      if ((power && econ && econ.power[t] === 0) || (water && econ && econ.water[t] === 0)) continue;
      const list = affordances.objectsOfType(t, spec.type);
      if (!list) continue;
      for (let i = 0; i < list.length; i += 3) {
        const obj = list[i];
        if (stock !== undefined && O[stock][obj] < 1) continue;
        if (power && O.power_on[obj] === 0) continue;
        if (water && O.water_on[obj] === 0) continue;
        avail[j] = 1;
        break;
      }
    }
  }

  const T = world.columns(Town).id;
  const Act = world.columns(Activity);
  const W = world.columns(Wallet);
  const E = world.components.isRegistered(Employment) ? world.columns(Employment) : undefined;
  const space = world.optionalResource(SpaceKey);
  const P = space ? world.columns(Position) : undefined;
  const social = world.optionalResource(SocialKey)?.ledger;
  const uid = world.columns(Agent).uid;
  const avoid = world.settings.conflict.rivalry.avoid_threshold;
  const chatting = world.settings.features.stages.relationships !== "OFF";

  for (let i = 0; i < n; i++) {
    const eid = agents[i];
    const row = i * A;
    out.fill(0, row, row + A);
    out[row + ACTION_WAIT] = 1;
    if (Act.running[eid] >= 0) continue; // busy: only wait
    if (E && E.job[eid] >= 0) out[row + ACTION_WORK] = 1;
    if (space && P) {
      const town = T[eid];
      const x = P.x[eid];
      const y = P.y[eid];
      let rival = false;
      let friend = false;
      for (let s = -1; s < 4 && !(rival && friend); s++) {
        const nx = s < 0 ? x : x + STEPS[s][0];
        const ny = s < 0 ? y : y + STEPS[s][1];
        if (!space.inBounds(nx, ny)) continue;
        for (let o = space.agentsAt(town, nx, ny); o !== 0; o = space.next[o]) {
          if (o === eid) continue;
          if (social !== undefined && social.rivalryOf(eid, uid[o]) >= avoid) rival = true;
          else friend = true;
          if (rival && friend) break;
        }
      }
      if (chatting && friend) out[row + ACTION_CHAT] = 1;
      if (rival) out[row + ACTION_AVOID] = 1;
    }
    const base = T[eid] * K;
    const money = W.money[eid];
    for (let k = 0; k < K; k++) {
      if (avail[base + k] === 1 && money >= cost[base + k]) out[row + ACTION_USE_BASE + k] = 1;
    }
  }
  return A;
}

/**
 * The partner a chat action talks to: the first agent that is not a rival on the agent's tile,
 * then on its 4-neighbours (west, east, north, south); 0 when there is none.
 */
export function chatTarget(world: World, eid: number): number {
  const space = world.optionalResource(SpaceKey);
  if (!space) return 0;
  const P = world.columns(Position);
  const town = world.columns(Town).id[eid];
  const social = world.optionalResource(SocialKey)?.ledger;
  const uid = world.columns(Agent).uid;
  const avoid = world.settings.conflict.rivalry.avoid_threshold;
  for (let s = -1; s < 4; s++) {
    const nx = s < 0 ? P.x[eid] : P.x[eid] + STEPS[s][0];
    const ny = s < 0 ? P.y[eid] : P.y[eid] + STEPS[s][1];
    if (!space.inBounds(nx, ny)) continue;
    for (let o = space.agentsAt(town, nx, ny); o !== 0; o = space.next[o]) {
      if (o === eid) continue;
      if (social !== undefined && social.rivalryOf(eid, uid[o]) >= avoid) continue;
      return o;
    }
  }
  return 0;
}
