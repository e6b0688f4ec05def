// The built-in hooks named by configs/affordances/core.yaml: stock, money and capacity rules of
// the original (world/hooks/default.py), with two deliberate changes (docs/differences.md):
// a meal is charged once (here, not again by its money effect), and a cooked meal goes into the
// town's nearest fridge so that cooking feeds eating.
import { Obj } from "../../components/objects.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { Town } from "../../engine/core-components.ts";
import type { HookCall, HookRegistry } from "./hooks.ts";
import type { AffordancesState } from "./state.ts";
import { nearestObject, SpaceKey } from "../../components/grid.ts";

function price(call: HookCall, key: string): number {
  const econ = call.world.settings.economy as Record<string, number>;
  const T = call.world.columns(Town).id;
  const mult = call.world.townStore.isRegistered(TownEconomy) ? call.world.townColumns(TownEconomy).price_multiplier[T[call.agent]] : 1;
  return (econ[key] ?? 0) * mult;
}

function cancel(call: HookCall, reason: string): void {
  call.cancel = true;
  call.reason = reason;
}

export function registerBuiltinHooks(hooks: HookRegistry, st: AffordancesState): void {
  const B = { builtin: true };
  // Made once, not a closure per cooked meal (issue #19: garbage per tick).
  const listOf = (t: number, ty: number): Int32Array => objectsOf(st, t, ty);
  hooks.register("on_attempt_shower", (c) => {
    const O = c.world.columns(Obj);
    const T = c.world.columns(Town).id;
    const town = c.world.townStore.isRegistered(TownEconomy) ? c.world.townColumns(TownEconomy) : undefined;
    if (O.power_on[c.object] === 0 || (town && town.power[T[c.object]] === 0)) cancel(c, "power_off");
  }, B);
  hooks.register("on_finish_shower", () => {}, B);
  hooks.register("on_no_power", () => {}, B);
  hooks.register("on_attempt_eat", (c) => {
    const O = c.world.columns(Obj);
    const W = c.world.columns(Wallet);
    const cost = price(c, "meal_cost");
    if (O.meals[c.object] <= 0) return cancel(c, "insufficient_stock");
    if (W.money[c.agent] < cost) return cancel(c, "insufficient_funds");
    O.meals[c.object] -= 1;
    W.money[c.agent] -= cost;
    c.charged = true;
  }, { charges: true, builtin: true });
  hooks.register("on_finish_eat", () => {}, B);
  hooks.register("on_attempt_cook", (c) => {
    const O = c.world.columns(Obj);
    const W = c.world.columns(Wallet);
    const cost = price(c, "ingredients_cost");
    if (O.raw_ingredients[c.object] < 1) return cancel(c, "no_ingredients");
    if (W.money[c.agent] < cost) return cancel(c, "insufficient_funds");
    O.raw_ingredients[c.object] -= 1;
    W.money[c.agent] -= cost;
    c.charged = true;
  }, { charges: true, builtin: true });
  hooks.register("on_finish_cook", (c) => {
    const O = c.world.columns(Obj);
    const fridge = st.registry.typeIndex("fridge");
    let target = c.object;
    const space = fridge >= 0 ? c.world.optionalResource(SpaceKey) : undefined;
    if (space) {
      const P = c.world.columns(Position);
      const town = c.world.columns(Town).id[c.object];
      const nearest = nearestObject(space, town, fridge, P.x[c.object], P.y[c.object], listOf);
      if (nearest !== 0) target = nearest;
    }
    // A batch: `economy.meals_per_cook` meals (default 1, as the original).
    const batch = (c.world.settings.economy as Record<string, number>).meals_per_cook ?? 1;
    O.meals[target] += batch;
  }, B);
  hooks.register("on_cook_fail", () => {}, B);
  hooks.register("on_attempt_sleep", (c) => {
    const O = c.world.columns(Obj);
    if (O.sleep_slots[c.object] <= 0) return cancel(c, "bed_unavailable");
    O.sleep_slots[c.object] -= 1;
  }, B);
  hooks.registerUndo("on_attempt_sleep", (c) => {
    c.world.columns(Obj).sleep_slots[c.object] += 1;
  }, B);
  hooks.register("on_finish_sleep", (c) => {
    c.world.columns(Obj).sleep_slots[c.object] += 1;
  }, B);
}

/** [eid, x, y, ...] of a town's objects of one type, cached until objects change. */
export function objectsOf(st: AffordancesState, town: number, type: number): Int32Array {
  return st.byTownType.get(town, type);
}
