// The objects of each (town, type): [eid, x, y, ...] in object (entity) order, for every (town,
// type) at once in one Int32Array with offsets, and a town's list as a subarray view made on its
// first request and kept. It replaced a Map of one Int32Array per (town, type): ~266 bytes of JS
// heap per list (array, buffer, elements, Map entry) against a ~100-byte view of the lists that
// are asked for (issue #19 memory; the same lists in the same order).

const NO_OBJECTS = new Int32Array(0);

export class TownTypeIndex {
  /**
   * [eid, x, y] triples, grouped by key town * types + type, in object order within a group.
   * Read a (town, type)'s triples from `begin(town, type)` up to `end(town, type)` (no view made:
   * issue #19 memory, each cached view is ~96 bytes of JS heap).
   */
  readonly items: Int32Array;
  /** Start of each key's triples in `items` (in ints); [key + 1] is its end. */
  private readonly start: Int32Array;
  /** Views made so far, by key. */
  private readonly views: (Int32Array | undefined)[];
  /**
   * Number of keys (towns * types). begin/end check against it, not views.length: the first
   * view stored changes the views array's map (its elements from small integers to objects),
   * which deoptimised every optimised caller of begin/end (#19, tick 3 at 100k agents).
   */
  private readonly keys: number;

  /**
   * `objects` in entity order, with their town, type and tile read through the callbacks. An
   * index of no objects answers every request with an empty list.
   */
  constructor(
    objects: readonly number[],
    towns: number,
    readonly types: number,
    townOf: (e: number) => number,
    typeOf: (e: number) => number,
    xOf: (e: number) => number,
    yOf: (e: number) => number,
  ) {
    const keys = towns * types;
    const count = new Int32Array(keys + 1);
    for (const e of objects) count[townOf(e) * types + typeOf(e) + 1] += 3;
    for (let k = 0; k < keys; k++) count[k + 1] += count[k];
    this.start = count;
    this.items = new Int32Array(objects.length * 3);
    const fill = count.slice(0, keys);
    for (const e of objects) {
      const k = townOf(e) * types + typeOf(e);
      const at = fill[k];
      this.items[at] = e;
      this.items[at + 1] = xOf(e);
      this.items[at + 2] = yOf(e);
      fill[k] = at + 3;
    }
    this.views = new Array<Int32Array | undefined>(keys);
    this.keys = keys;
  }

  /** An empty index (before objects are instantiated). */
  static empty(): TownTypeIndex {
    return new TownTypeIndex([], 0, 0, () => 0, () => 0, () => 0, () => 0);
  }

  /** Where the (town, type)'s triples start in `items`; equal to `end` when it has none (or is unknown). */
  begin(town: number, type: number): number {
    const k = this.key(town, type);
    return k < 0 ? 0 : this.start[k];
  }

  /** Where the (town, type)'s triples end in `items` (exclusive). */
  end(town: number, type: number): number {
    const k = this.key(town, type);
    return k < 0 ? 0 : this.start[k + 1];
  }

  private key(town: number, type: number): number {
    if (!(type >= 0 && type < this.types)) return -1;
    const k = town * this.types + type;
    return k >= 0 && k < this.keys ? k : -1;
  }

  /**
   * [eid, x, y, ...] of the objects of `type` in `town`; empty for an unknown town or type. The
   * view is kept (made once per (town, type)); loops that run often read `items` from `begin`
   * to `end` instead.
   */
  get(town: number, type: number): Int32Array {
    if (!(type >= 0 && type < this.types)) return NO_OBJECTS;
    const k = town * this.types + type;
    if (!(k >= 0 && k < this.keys)) return NO_OBJECTS;
    const v = this.views[k];
    if (v !== undefined) return v;
    const a = this.start[k];
    const b = this.start[k + 1];
    const made = a === b ? NO_OBJECTS : this.items.subarray(a, b);
    this.views[k] = made;
    return made;
  }
}
