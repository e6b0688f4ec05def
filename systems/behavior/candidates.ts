// The scripted controller's choice of affordance for a need (rule 3 and 4 of index.ts): per
// need, the affordances that restore it, best first, as a table made once per decision pass
// (decide.ts), and the first one an agent can afford and find stocked in its town.
import type { World } from "../../engine/world.ts";
import type { AffordanceService, AffordanceSpec, AffordanceTable } from "../../components/affordances.ts";
import type { TownTypeIndex } from "../affordances/type-index.ts";

/** Per need, the affordances that restore it, best first: flat columns, need k's in [start[k], start[k + 1]). */
export interface Candidates {
  readonly start: Int32Array;
  readonly index: Int32Array;
  readonly type: Int32Array;
  /** Price before the town's multiplier; `free` 1 = no price (a cost of 0 whatever the multiplier). */
  readonly cost: Float64Array;
  readonly free: Uint8Array;
  /** What makes an object of its type stocked: STOCK_ANY, STOCK_MEALS, STOCK_INGREDIENTS. */
  readonly stock: Uint8Array;
}

const STOCK_ANY = 0;
const STOCK_MEALS = 1;
const STOCK_INGREDIENTS = 2;

/**
 * The candidates for each need of `needs`: the active affordances with a positive effect on it,
 * by effect descending, registry order on ties (a stable sort), so the first one an agent can
 * afford and find stocked is the one that restores the need most (the first in registry order
 * among equals). Price: the money effect, or the hook's charge for meals and ingredients.
 */
export function candidates(reg: AffordanceTable, needs: readonly string[], econ: Record<string, number>): Candidates {
  const rows: { k: number; gain: number; a: AffordanceSpec }[] = [];
  const start = new Int32Array(needs.length + 1);
  for (let k = 0; k < needs.length; k++) {
    const need = needs[k];
    const list: { k: number; gain: number; a: AffordanceSpec }[] = [];
    for (const a of reg.affordances) {
      if (!a || !a.active) continue;
      const gain = a.effects[need] ?? 0;
      if (gain > 0) list.push({ k, gain, a });
    }
    list.sort((x, y) => y.gain - x.gain);
    rows.push(...list);
    start[k + 1] = rows.length;
  }
  const n = rows.length;
  const c = { start, index: new Int32Array(n), type: new Int32Array(n), cost: new Float64Array(n), free: new Uint8Array(n), stock: new Uint8Array(n) };
  rows.forEach(({ a }, j) => {
    c.index[j] = a.index;
    c.type[j] = a.type;
    c.stock[j] = a.id === "eat_meal" ? STOCK_MEALS : a.id === "cook_meal" ? STOCK_INGREDIENTS : STOCK_ANY;
    if (a.id === "eat_meal") c.cost[j] = econ.meal_cost ?? 0;
    else if (a.id === "cook_meal") c.cost[j] = econ.ingredients_cost ?? 0;
    else if (a.money < 0) c.cost[j] = -a.money;
    else c.free[j] = 1;
  });
  return c;
}

type Stock = { meals: Float32Array; raw_ingredients: Float32Array };

/**
 * The first of candidates [from, to) that costs at most `money` (prices times `mult`) and has a
 * stocked object in `town`: its affordance index, -1 when none. `types`: the affordances
 * plug-in's (town, type) index, read by range (begin/end over its items: no per-(town, type)
 * view object to load, issue #19); undefined (another provider of the service) reads
 * `objects.objectsOfType`. Both give the same objects in the same order.
 */
export function firstOpen(
  c: Candidates,
  from: number,
  to: number,
  objects: AffordanceService,
  types: TownTypeIndex | undefined,
  O: Stock,
  town: number,
  budget: Float64Array,
): number {
  // money and mult come in an array (budget[0], budget[1]), not as arguments: a double passed to
  // a call that is not inlined is boxed, one HeapNumber each per call (issue #19: most of decide's
  // ~60 KB of garbage a tick at 100k agents, a minor GC every ~150 ticks in all).
  const money = budget[0];
  const mult = budget[1];
  // The steps (here and in stockedIn) are taken before the first test, from one before: a step
  // first reached when an agent's first candidate is out of reach (or a town's first object of
  // the type empty) had no type feedback and deoptimised the pass there (issue #19: ticks 68 and
  // 75 of the 100k bench world); so are both stock columns loaded.
  for (let j = from - 1; ++j < to; ) {
    const cost = c.free[j] === 1 ? 0 : c.cost[j] * mult;
    if (cost > money) continue;
    if (types !== undefined ? stockedIn(types, town, c.type[j], c.stock[j], O) : stocked(objects.objectsOfType(town, c.type[j]), c.stock[j], O)) return c.index[j];
  }
  return -1;
}

/** stocked() for the objects of `type` in `town`, read from the index's items by range. */
function stockedIn(types: TownTypeIndex, town: number, type: number, stock: number, O: Stock): boolean {
  const b = types.begin(town, type);
  const e = types.end(town, type);
  if (b === e) return false;
  if (stock === STOCK_ANY) return true;
  const meals = O.meals;
  const raw = O.raw_ingredients;
  const col = stock === STOCK_MEALS ? meals : raw;
  const items = types.items;
  for (let i = b - 3; (i += 3) < e; ) if (!(col[items[i]] < 1)) return true;
  return false;
}

/** True when `list` ([eid, x, y, ...]) holds an object stocked as `stock` asks (meals or ingredients: not below 1). */
function stocked(list: Int32Array, stock: number, O: Stock): boolean {
  if (list.length === 0) return false;
  if (stock === STOCK_ANY) return true;
  const col = stock === STOCK_MEALS ? O.meals : O.raw_ingredients;
  for (let i = 0; i < list.length; i += 3) if (!(col[list[i]] < 1)) return true;
  return false;
}

/**
 * The affordance that restores `need` most among those the agent can afford and whose object
 * type has a stocked object in its town; -1 when none (the scripted controller's choice).
 */
export function bestAffordance(
  world: World,
  reg: AffordanceTable,
  objects: AffordanceService,
  O: Stock,
  town: number,
  need: string,
  money: number,
  mult: number,
): number {
  const c = candidates(reg, [need], world.settings.economy as Record<string, number>);
  return firstOpen(c, 0, c.start[1], objects, undefined, O, town, Float64Array.of(money, mult));
}
