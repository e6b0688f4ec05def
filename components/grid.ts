// The towns' grids: who stands on a tile (O(1)), which object is on a tile, and per-town
// distance fields to the nearest object of each type, recomputed only when objects change.
// Owned by the `space` plug-in (`ctx.resource(SpaceKey)`); derived from Position and Obj columns,
// except the order of the agents on a tile (the last to arrive first), which chat partners and
// neighbour scans follow: that order is saved in snapshots and enters the state hash.
import { defineResource } from "../engine/resource.ts";
import type { StateHasher } from "../engine/hash.ts";
import type { PersistentState } from "../engine/plugin.ts";

/** The 4-neighbour steps, in the fixed order used for every tie-break: west, east, north, south. */
export const STEPS: readonly (readonly [number, number])[] = [
  [-1, 0],
  [1, 0],
  [0, -1],
  [0, 1],
];

export const UNREACHABLE = 0xffff;

/** A per-tile array: the smallest unsigned type that holds a town's slot numbers (slot + 1). */
type TileArray = Uint8Array | Uint16Array | Uint32Array;

function tileArray(slots: number, n: number): TileArray {
  return slots < 0xff ? new Uint8Array(n) : slots < 0xffff ? new Uint16Array(n) : new Uint32Array(n);
}

/** Each entity's slot (-1 = none): the smallest signed type that holds a town's slot numbers. */
type SlotArray = Int8Array | Int16Array | Int32Array;

function slotArray(slots: number, n: number): SlotArray {
  const a = slots <= 0x80 ? new Int8Array(n) : slots <= 0x8000 ? new Int16Array(n) : new Int32Array(n);
  return a.fill(-1);
}

/** A copy of `a` with room for `n` entries (at least a quarter more) in the type for `slots`, new entries -1. */
function grownSlots(a: SlotArray, n: number, slots: number): SlotArray {
  const g = slotArray(slots, Math.max(n, Math.ceil(a.length * 1.25)));
  g.set(a);
  return g;
}

/** Largest slot + 1 that a packed tile's nibble holds (towns of up to 15 agents and objects). */
const NIBBLE_MAX = 15;

/**
 * The per-tile arrays hold town-local slot numbers, not entity ids (issue #19: 2 bytes per tile
 * in towns of up to 254 members instead of 8): every placed agent and every object holds a slot
 * in its town's member table (`members[town * slots + slot] = entity`), and a tile stores
 * slot + 1 (0 = none). The table starts at the world's entities per town (rounded up to a power
 * of two) and doubles for a town that needs more, widening the tile arrays' type past 254 and
 * 65,534 members. In worlds of towns of up to 15 members (8 agents and 5 objects in the bench's
 * towns) both per-tile numbers share one byte (`packed`: the head in the low nibble, the object in
 * the high one; issue #19: 1 byte per tile instead of 2, 32 bytes per agent on 16x16 towns of 8);
 * the first slot beyond 15 in any town unpacks them into two arrays. Slots are storage only: the
 * state hash and snapshots see entity ids.
 */
export class SpatialIndex implements PersistentState {
  readonly cells: number;
  /** Slots per town in `members` (a power of two). */
  private slots: number;
  /** Entity in each town's slot (index town * slots + slot); > 0 an entity, <= 0 free (-next free slot + 1 in a free chain). */
  private members: Int32Array;
  /** Slots of each town handed out so far (a high-water mark) and the head of its free chain (slot + 1, 0 = none). */
  private top: Int32Array;
  private freeHead: Int32Array;
  /** Each entity's slot in its town's table, -1 = none (index: entity); Int8 while towns have up to 128 slots (#19). */
  private slotOf: SlotArray;
  /**
   * Slot + 1 of the first agent on each tile (index town*cells + y*width + x), 0 = none; when
   * `packed`, the low nibble of each byte (and `object` is the same array).
   */
  private head: TileArray;
  /** Slot + 1 of the object on each tile, 0 = none (one object per tile); the high nibble when packed. */
  private object: TileArray;
  /** Head and object share one byte per tile (see the class comment). */
  private packed: boolean;
  /** Next / previous agent on the same tile (index: entity). */
  next: Int32Array;
  prev: Int32Array;
  /** Tile index of each placed agent, -1 = not placed. */
  tileOf: Int32Array;
  private fields = new Map<number, { dist: Uint16Array; nearest: Int32Array }>();
  /** The breadth-first search's queue, reused by every field (scratch, not state). */
  private queue = new Int32Array(0);
  private dirty = new Uint8Array(0);
  private objectTypes = 0;

  /**
   * `capacity`: entity ids to size the slot table for (agents and objects); `agentCapacity`: ids
   * to size the agents' tile links for (agents take the low ids, engine/entities.ts).
   */
  constructor(
    readonly towns: number,
    readonly width: number,
    readonly height: number,
    capacity: number,
    agentCapacity = capacity,
  ) {
    this.cells = width * height;
    let slots = 4;
    while (slots * towns < capacity && slots < capacity) slots *= 2;
    this.slots = slots;
    this.members = new Int32Array(towns * slots);
    this.top = new Int32Array(towns);
    this.freeHead = new Int32Array(towns);
    this.packed = Math.ceil(capacity / towns) <= NIBBLE_MAX;
    this.head = tileArray(slots, towns * this.cells);
    this.object = this.packed ? this.head : tileArray(slots, towns * this.cells);
    const a = Math.max(16, Math.min(capacity, agentCapacity));
    this.next = new Int32Array(a);
    this.prev = new Int32Array(a);
    this.tileOf = new Int32Array(a).fill(-1);
    this.slotOf = slotArray(slots, Math.max(16, capacity));
  }

  /** Grows the agents' per-entity arrays (tile links) to hold ids below `n`, by a quarter at least. */
  ensure(n: number): void {
    if (n > this.slotOf.length) this.slotOf = grownSlots(this.slotOf, n, this.slots);
    if (n <= this.next.length) return;
    this.next = grown(this.next, n, 0);
    this.prev = grown(this.prev, n, 0);
    this.tileOf = grown(this.tileOf, n, -1);
  }

  /** The first agent on tile `t` (then follow `next`), 0 = none. */
  headAt(t: number): number {
    const s = this.packed ? this.head[t] & 15 : this.head[t];
    return s === 0 ? 0 : this.members[((t / this.cells) | 0) * this.slots + s - 1];
  }

  /** The object on tile `t`, 0 = none. */
  objectOn(t: number): number {
    const s = this.packed ? this.head[t] >> 4 : this.object[t];
    return s === 0 ? 0 : this.members[((t / this.cells) | 0) * this.slots + s - 1];
  }

  /** Sets tile `t`'s head (slot + 1, 0 = none). */
  private setHead(t: number, v: number): void {
    if (this.packed) this.head[t] = (this.head[t] & 0xf0) | v;
    else this.head[t] = v;
  }

  /** Sets tile `t`'s object (slot + 1, 0 = none). */
  private setObject(t: number, v: number): void {
    if (this.packed) this.head[t] = (this.head[t] & 0x0f) | (v << 4);
    else this.object[t] = v;
  }

  /** Whether head and object share one byte per tile (towns of up to 15 members). */
  get packedTiles(): boolean {
    return this.packed;
  }

  /** Splits packed tiles into a head array and an object array (a slot beyond 15 was needed). */
  private unpack(): void {
    if (!this.packed) return;
    const both = this.head;
    const head = tileArray(this.slots, both.length);
    const object = tileArray(this.slots, both.length);
    for (let t = 0; t < both.length; t++) {
      const b = both[t];
      if (b === 0) continue;
      head[t] = b & 15;
      object[t] = b >> 4;
    }
    this.head = head;
    this.object = object;
    this.packed = false;
  }

  /** Bytes of the per-tile arrays and the member table (for memory reports). */
  tileBytes(): number {
    const tiles = this.packed ? this.head.byteLength : this.head.byteLength + this.object.byteLength;
    return tiles + this.members.byteLength + this.top.byteLength + this.freeHead.byteLength + this.slotOf.byteLength;
  }

  /** A slot in `town`'s table for `eid` (its present one when it has one there). */
  private join(eid: number, town: number): number {
    const held = this.slotOf[eid];
    if (held >= 0 && this.members[town * this.slots + held] === eid) return held;
    if (held >= 0) this.leave(eid, -1);
    let s: number;
    const free = this.freeHead[town];
    if (free !== 0) {
      s = free - 1;
      this.freeHead[town] = -this.members[town * this.slots + s];
    } else {
      if (this.top[town] === this.slots) this.widen();
      s = this.top[town]++;
      if (s >= NIBBLE_MAX) this.unpack();
    }
    this.members[town * this.slots + s] = eid;
    this.slotOf[eid] = s;
    return s;
  }

  /**
   * Gives back `eid`'s slot in `town` (no-op without one); town -1 = look it up (an object
   * placed again in another town without being removed: rare, a scan of the towns).
   */
  private leave(eid: number, town: number): void {
    const s = this.slotOf[eid];
    if (s < 0) return;
    if (town < 0 || this.members[town * this.slots + s] !== eid) {
      town = -1;
      for (let k = 0; k < this.towns && town < 0; k++) if (this.members[k * this.slots + s] === eid) town = k;
      if (town < 0) return;
    }
    this.slotOf[eid] = -1;
    this.members[town * this.slots + s] = -this.freeHead[town];
    this.freeHead[town] = s + 1;
  }

  /** Doubles every town's slots (same slot numbers), widening the tile arrays when needed. */
  private widen(): void {
    this.unpack();
    const old = this.slots;
    const slots = old * 2;
    const members = new Int32Array(this.towns * slots);
    for (let town = 0; town < this.towns; town++) members.set(this.members.subarray(town * old, (town + 1) * old), town * slots);
    this.members = members;
    this.slots = slots;
    const wider = (a: TileArray): TileArray => {
      const b = tileArray(slots, a.length);
      if (b.constructor === a.constructor) return a;
      b.set(a);
      return b;
    };
    this.head = wider(this.head);
    this.object = wider(this.object);
    const so = slotArray(slots, this.slotOf.length);
    if (so.constructor !== this.slotOf.constructor) {
      so.set(this.slotOf);
      this.slotOf = so;
    }
  }

  inBounds(x: number, y: number): boolean {
    return x >= 0 && y >= 0 && x < this.width && y < this.height;
  }

  tile(town: number, x: number, y: number): number {
    return town * this.cells + y * this.width + x;
  }

  /**
   * Puts an agent on a tile (removing it from its previous tile). An agent placed again in its
   * own town (a walker's step, issue #19: ~50k on a shift's end at 100k agents) keeps its slot,
   * so the slot table is not read; the rest take placeAnew.
   */
  place(eid: number, town: number, x: number, y: number): void {
    const base = town * this.cells;
    const was = eid < this.tileOf.length ? this.tileOf[eid] : -1;
    if (was < base || was >= base + this.cells) return this.placeAnew(eid, town, x, y);
    // Out of its tile's list (unlink's steps, without its stores that link makes again).
    const { next, prev } = this;
    const n = next[eid];
    const p = prev[eid];
    if (p !== 0) next[p] = n;
    else this.setHead(was, n === 0 ? 0 : this.slotOf[n] + 1);
    if (n !== 0) prev[n] = p;
    this.link(eid, base + y * this.width + x, town * this.slots);
  }

  /** place() for an agent not placed yet, or placed in another town: a slot in `town` first. */
  private placeAnew(eid: number, town: number, x: number, y: number): void {
    this.ensure(eid + 1);
    const was = this.tileOf[eid];
    this.unlink(eid);
    if (was >= 0 && ((was / this.cells) | 0) !== town) this.leave(eid, (was / this.cells) | 0);
    this.join(eid, town);
    this.link(eid, this.tile(town, x, y), town * this.slots);
  }

  /** Puts an unlinked agent first on tile `t`'s list by its slot (`row`: its town's first index in `members`). */
  private link(eid: number, t: number, row: number): void {
    const hs = this.packed ? this.head[t] & 15 : this.head[t];
    const first = hs === 0 ? 0 : this.members[row + hs - 1];
    this.next[eid] = first;
    this.prev[eid] = 0;
    if (first !== 0) this.prev[first] = eid;
    this.setHead(t, this.slotOf[eid] + 1);
    this.tileOf[eid] = t;
  }

  unplace(eid: number): void {
    if (eid >= this.tileOf.length) return;
    const t = this.tileOf[eid];
    if (t < 0) return;
    this.unlink(eid);
    this.leave(eid, (t / this.cells) | 0);
  }

  /** Takes an agent out of its tile's list (keeping its slot). */
  private unlink(eid: number): void {
    const t = this.tileOf[eid];
    if (t < 0) return;
    const n = this.next[eid];
    const p = this.prev[eid];
    if (p !== 0) this.next[p] = n;
    else this.setHead(t, n === 0 ? 0 : this.slotOf[n] + 1);
    if (n !== 0) this.prev[n] = p;
    this.next[eid] = 0;
    this.prev[eid] = 0;
    this.tileOf[eid] = -1;
  }

  /** First agent on a tile (then follow `next`), 0 = none. */
  agentsAt(town: number, x: number, y: number): number {
    return this.headAt(this.tile(town, x, y));
  }

  /** The object on a tile, 0 = none. */
  objectAt(town: number, x: number, y: number): number {
    return this.objectOn(this.tile(town, x, y));
  }

  /** Forgets every object and cached distance field (objects are then placed again). */
  clearObjects(): void {
    for (let t = 0; t < this.object.length; t++) {
      const o = this.objectOn(t);
      if (o !== 0) this.leave(o, (t / this.cells) | 0);
    }
    if (this.packed) for (let t = 0; t < this.head.length; t++) this.head[t] &= 0x0f;
    else this.object.fill(0);
    this.fields.clear();
    this.dirty.fill(1);
  }

  /** The agents on each tile, in list order (objects and distance fields are rebuilt on load). */
  save(): unknown {
    const tileHead = new Int32Array(this.head.length);
    for (let t = 0; t < tileHead.length; t++) tileHead[t] = this.headAt(t);
    return {
      towns: this.towns,
      width: this.width,
      height: this.height,
      objectTypes: this.objectTypes,
      tileHead,
      next: this.next.slice(),
      prev: this.prev.slice(),
      tileOf: this.tileOf.slice(),
    };
  }

  load(data: unknown): void {
    const d = data as { towns: number; width: number; height: number; objectTypes: number; tileHead: Int32Array; next: Int32Array; prev: Int32Array; tileOf: Int32Array };
    if (d.towns !== this.towns || d.width !== this.width || d.height !== this.height) {
      throw new Error(`spatial index: snapshot has ${d.towns} town(s) of ${d.width}x${d.height}, this world ${this.towns} of ${this.width}x${this.height}`);
    }
    const n = Math.max(this.next.length, d.next.length);
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.tileOf = new Int32Array(n).fill(-1);
    this.slotOf = slotArray(this.slots, Math.max(n, this.slotOf.length));
    this.next.set(d.next);
    this.prev.set(d.prev);
    this.tileOf.set(d.tileOf);
    // Slots again for every placed agent (objects get theirs when they are placed again).
    this.members.fill(0);
    this.top.fill(0);
    this.freeHead.fill(0);
    this.head.fill(0);
    this.object.fill(0);
    for (let eid = 0; eid < n; eid++) if (this.tileOf[eid] >= 0) this.join(eid, (this.tileOf[eid] / this.cells) | 0);
    for (let t = 0; t < d.tileHead.length; t++) if (d.tileHead[t] !== 0) this.setHead(t, this.slotOf[d.tileHead[t]] + 1);
    this.objectTypes = d.objectTypes;
    this.fields.clear();
    this.dirty = new Uint8Array(this.towns * d.objectTypes).fill(1);
  }

  hash(h: StateHasher): void {
    const head = this.head;
    const mask = this.packed ? 15 : -1;
    for (let t = 0; t < head.length; t++) {
      if ((head[t] & mask) === 0) continue;
      h.u32(t);
      for (let a = this.headAt(t); a !== 0; a = this.next[a]) h.u32(a);
    }
  }

  /** Registers an object on a tile; distance fields of its type in its town become stale. */
  placeObject(eid: number, town: number, x: number, y: number, type: number): void {
    if (eid >= this.slotOf.length) this.slotOf = grownSlots(this.slotOf, eid + 1, this.slots);
    const t = this.tile(town, x, y);
    this.setObject(t, this.join(eid, town) + 1);
    this.markDirty(town, type);
  }

  removeObject(town: number, x: number, y: number, type: number): void {
    const t = this.tile(town, x, y);
    const o = this.objectOn(t);
    if (o !== 0) this.leave(o, town);
    this.setObject(t, 0);
    this.markDirty(town, type);
  }

  setObjectTypeCount(n: number): void {
    if (n === this.objectTypes) return;
    this.objectTypes = n;
    this.fields.clear();
    this.dirty = new Uint8Array(this.towns * n).fill(1);
  }

  private markDirty(town: number, type: number): void {
    if (type >= this.objectTypes) this.setObjectTypeCount(type + 1);
    this.dirty[town * this.objectTypes + type] = 1;
  }

  /**
   * Distance (in 4-neighbour steps) from each tile of `town` to the nearest object of `type`,
   * and that object. Multi-source BFS over the grid; computed on first use after a change.
   * `objectsOfType` lists the candidate objects with their tiles (entity, x, y, ...).
   */
  field(town: number, type: number, objectsOfType: (town: number, type: number) => Int32Array): { dist: Uint16Array; nearest: Int32Array } {
    const key = town * Math.max(1, this.objectTypes) + type;
    let f = this.fields.get(key);
    if (f && !this.dirty[key]) return f;
    if (!f) {
      f = { dist: new Uint16Array(this.cells), nearest: new Int32Array(this.cells) };
      this.fields.set(key, f);
    }
    const { dist, nearest } = f;
    dist.fill(UNREACHABLE);
    nearest.fill(0);
    if (this.queue.length < this.cells) this.queue = new Int32Array(this.cells);
    const queue = this.queue;
    let qh = 0;
    let qt = 0;
    const src = objectsOfType(town, type);
    for (let i = 0; i < src.length; i += 3) {
      const c = src[i + 2] * this.width + src[i + 1];
      if (dist[c] === 0) continue;
      dist[c] = 0;
      nearest[c] = src[i];
      queue[qt++] = c;
    }
    while (qh < qt) {
      const c = queue[qh++];
      const x = c % this.width;
      const y = (c - x) / this.width;
      const d = dist[c] + 1;
      for (let s = 0; s < 4; s++) {
        const nx = x + STEPS[s][0];
        const ny = y + STEPS[s][1];
        if (nx < 0 || ny < 0 || nx >= this.width || ny >= this.height) continue;
        const n = ny * this.width + nx;
        if (dist[n] <= d) continue;
        dist[n] = d;
        nearest[n] = nearest[c];
        queue[qt++] = n;
      }
    }
    if (this.dirty.length > key) this.dirty[key] = 0;
    return f;
  }
}

/** A copy of `a` with room for `n` entries (at least a quarter more), new entries `fill`. */
function grown(a: Int32Array, n: number, fill: number): Int32Array {
  const g = new Int32Array(Math.max(n, Math.ceil(a.length * 1.25)));
  if (fill !== 0) g.fill(fill, a.length);
  g.set(a);
  return g;
}

/**
 * The object of `type` nearest to tile (x, y) of `town` as `field(...).nearest` gives it, 0 when
 * the town has none. With a single such object that is the object itself (the grid is open, so
 * its field reaches every tile) and no field is built: a field costs 6 bytes a tile, and a
 * town with one fridge asked once per cook held one for good (issue #19 memory: ~190 bytes per
 * agent after 300 ticks in towns of 8 agents on 16x16 tiles).
 */
export function nearestObject(space: SpatialIndex, town: number, type: number, x: number, y: number, objectsOfType: (town: number, type: number) => Int32Array): number {
  const src = objectsOfType(town, type);
  if (src.length === 0) return 0;
  if (src.length === 3) return src[0];
  return space.field(town, type, objectsOfType).nearest[y * space.width + x];
}

/** Manhattan distance. */
export function manhattan(ax: number, ay: number, bx: number, by: number): number {
  return Math.abs(ax - bx) + Math.abs(ay - by);
}

/**
 * One greedy step from (x, y) toward (tx, ty) on an open grid: along the axis with the larger
 * gap first (x on ties). Returns the step index into STEPS, or -1 when already there.
 */
export function stepToward(x: number, y: number, tx: number, ty: number): number {
  const dx = tx - x;
  const dy = ty - y;
  if (dx === 0 && dy === 0) return -1;
  if (Math.abs(dx) >= Math.abs(dy)) return dx < 0 ? 0 : 1;
  return dy < 0 ? 2 : 3;
}

/** The space plug-in's resource: the towns' grids and distance fields. */
export const SpaceKey = defineResource<SpatialIndex>("space");
