// The pantry count at the start of each decision pass (decide.ts): meals in each town's fridges.
// It walked every object of the world each tick (62.5k at 100k agents, ~0.1 ms) to find the
// fridges; the fridges are now listed once, in object (entity) order, and only they are read
// (issue #19). The sums are added in the same order as before, so each town's float total is the
// same to the bit. The list is made again when the object list is replaced (snapshot load) or
// grows (an object registered), when the type column moves, or when the fridge type changes.
// stoveReady: whether a town's stove can cook, for the pass's "keep the pantry stocked" rule.
import type { AffordanceService } from "../../components/affordances.ts";
import type { TownTypeIndex } from "../affordances/type-index.ts";

/** The fridges among a world's objects, and the count of their meals per town. */
export class FridgeList {
  private list = new Int32Array(0);
  private n = 0;
  private objects: readonly number[] | undefined = undefined;
  private length = -1;
  private type: ArrayLike<number> | undefined = undefined;
  private fridge = -1;

  /**
   * Writes into `pantry` (zeroed first) the meals of each town's fridges: objects of `type`
   * `fridge` (-1: none) among `objects`, in their order.
   */
  count(pantry: Float32Array, objects: readonly number[], type: ArrayLike<number>, meals: ArrayLike<number>, town: ArrayLike<number>, fridge: number): void {
    pantry.fill(0);
    if (fridge < 0) return;
    if (objects !== this.objects || objects.length !== this.length || type !== this.type || fridge !== this.fridge) this.rebuild(objects, type, fridge);
    const list = this.list;
    for (let i = 0; i < this.n; i++) {
      const e = list[i];
      pantry[town[e]] += meals[e];
    }
  }

  private rebuild(objects: readonly number[], type: ArrayLike<number>, fridge: number): void {
    let n = 0;
    for (let k = 0; k < objects.length; k++) if (type[objects[k]] === fridge) n++;
    if (this.list.length < n) this.list = new Int32Array(n);
    n = 0;
    for (let k = 0; k < objects.length; k++) if (type[objects[k]] === fridge) this.list[n++] = objects[k];
    this.n = n;
    this.objects = objects;
    this.length = objects.length;
    this.type = type;
    this.fridge = fridge;
  }
}

/**
 * True when an object of `type` (the cooking affordance's, a stove) in `town` holds ingredients
 * and is free. `types`: the affordances plug-in's (town, type) index, read by range (issue #19);
 * undefined (another provider of the service) reads `objects.objectsOfType`: the same objects.
 */
export function stoveReady(
  types: TownTypeIndex | undefined,
  objects: AffordanceService,
  O: { raw_ingredients: ArrayLike<number>; holder: ArrayLike<number> },
  town: number,
  type: number,
): boolean {
  if (types !== undefined) {
    const items = types.items;
    const end = types.end(town, type);
    for (let k = types.begin(town, type); k < end; k += 3) if (O.raw_ingredients[items[k]] >= 1 && O.holder[items[k]] === 0) return true;
    return false;
  }
  const list = objects.objectsOfType(town, type);
  for (let k = 0; k < list.length; k += 3) if (O.raw_ingredients[list[k]] >= 1 && O.holder[list[k]] === 0) return true;
  return false;
}
