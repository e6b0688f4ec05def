// The built-in hooks named by configs/affordances/core.yaml: stock, money and capacity rules of
// the original (world/hooks/default.py), with two deliberate changes (docs/differences.md):
// a meal is charged once (here, not again by its money effect), and a cooked meal goes into the
// town's nearest fridge so that cooking feeds eating.
import { Obj } from "../../components/objects.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { Town } from "../../engine/core-components.ts";
import type { Columns } from "../../engine/component.ts";
import type { World } from "../../engine/world.ts";
import type { HookCall, HookRegistry } from "./hooks.ts";
import type { AffordancesState } from "./state.ts";
import { nearestObject, SpaceKey } from "../../components/grid.ts";

/**
 * A world's column records for the hooks, looked up on the first call (issue #19: each start ran
 * four to six component lookups by definition). A record is the same object for the world's life
 * (the store replaces the columns inside it when it grows), so the hooks read its fields per call.
 */
interface HookCols {
  world: World;
  O: Columns<(typeof Obj)["schema"]>;
  W: Columns<(typeof Wallet)["schema"]>;
  T: Columns<(typeof Town)["schema"]>;
  econ: Columns<(typeof TownEconomy)["schema"]> | undefined;
}

function hookCols(world: World): HookCols {
  return {
    world,
    O: world.columns(Obj),
    W: world.columns(Wallet),
    T: world.columns(Town),
    econ: world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy) : undefined,
  };
}

/** The economy settings, read per call (a console command may change a price). */
function economy(call: HookCall): Record<string, number> {
  return call.world.settings.economy as Record<string, number>;
}

function cancel(call: HookCall, reason: string): void {
  call.cancel = true;
  call.reason = reason;
}

export function registerBuiltinHooks(hooks: HookRegistry, st: AffordancesState): void {
  const B = { builtin: true };
  let k: HookCols | undefined;
  const cols = (w: World): HookCols => (k !== undefined && k.world === w ? k : (k = hookCols(w)));
  // Made once, not a closure per cooked meal (issue #19: garbage per tick).
  const listOf = (t: number, ty: number): Int32Array => objectsOf(st, t, ty);
  hooks.register("on_attempt_shower", (c) => {
    const { O, T, econ } = cols(c.world);
    if (O.power_on[c.object] === 0 || (econ && econ.power[T.id[c.object]] === 0)) cancel(c, "power_off");
  }, B);
  hooks.register("on_finish_shower", () => {}, B);
  hooks.register("on_no_power", () => {}, B);
  hooks.register("on_attempt_eat", (c) => {
    const { O, W, T, econ } = cols(c.world);
    // The price times the town's multiplier, here and not in a helper: a double returned from a
    // call V8 does not inline is boxed, a HeapNumber per start (issue #19: garbage per tick).
    const cost = (economy(c).meal_cost ?? 0) * (econ ? econ.price_multiplier[T.id[c.agent]] : 1);
    if (O.meals[c.object] <= 0) return cancel(c, "insufficient_stock");
    if (W.money[c.agent] < cost) return cancel(c, "insufficient_funds");
    O.meals[c.object] -= 1;
    W.money[c.agent] -= cost;
    c.charged = true;
  }, { charges: true, builtin: true });
  hooks.register("on_finish_eat", () => {}, B);
  hooks.register("on_attempt_cook", (c) => {
    const { O, W, T, econ } = cols(c.world);
    const cost = (economy(c).ingredients_cost ?? 0) * (econ ? econ.price_multiplier[T.id[c.agent]] : 1);
    if (O.raw_ingredients[c.object] < 1) return cancel(c, "no_ingredients");
    if (W.money[c.agent] < cost) return cancel(c, "insufficient_funds");
    O.raw_ingredients[c.object] -= 1;
    W.money[c.agent] -= cost;
    c.charged = true;
  }, { charges: true, builtin: true });
  hooks.register("on_finish_cook", (c) => {
    const { O, T } = cols(c.world);
    const fridge = st.registry.typeIndex("fridge");
    let target = c.object;
    const space = fridge >= 0 ? c.world.optionalResource(SpaceKey) : undefined;
    if (space) {
      const P = c.world.columns(Position);
      const town = T.id[c.object];
      const nearest = nearestObject(space, town, fridge, P.x[c.object], P.y[c.object], listOf);
      if (nearest !== 0) target = nearest;
    }
    // A batch: `economy.meals_per_cook` meals (default 1, as the original).
    const batch = (c.world.settings.economy as Record<string, number>).meals_per_cook ?? 1;
    O.meals[target] += batch;
  }, B);
  hooks.register("on_cook_fail", () => {}, B);
  hooks.register("on_attempt_sleep", (c) => {
    const { O } = cols(c.world);
    if (O.sleep_slots[c.object] <= 0) return cancel(c, "bed_unavailable");
    O.sleep_slots[c.object] -= 1;
  }, B);
  hooks.registerUndo("on_attempt_sleep", (c) => {
    cols(c.world).O.sleep_slots[c.object] += 1;
  }, B);
  hooks.register("on_finish_sleep", (c) => {
    cols(c.world).O.sleep_slots[c.object] += 1;
  }, B);
}

/** [eid, x, y, ...] of a town's objects of one type, cached until objects change. */
export function objectsOf(st: AffordancesState, town: number, type: number): Int32Array {
  return st.byTownType.get(town, type);
}
