// The entity allocator: live ids and ids waiting to be recycled, in typed arrays. It keeps the
// recycling order of the bitecs 0.4 entity index it replaces (versioning off): a removed id is
// swapped to the end of the live part, and a new entity takes the most recently removed id,
// else maxId + 1. Entity ids, snapshots and the state hash are therefore unchanged. Component
// membership lives in the ComponentStore's flags only (bitecs kept a Set per entity beside them).

export class EntityIndex {
  /** Live ids in dense[0, aliveCount), then removed ids waiting to be reused; length = maxId. */
  private denseIds: Uint32Array;
  /** Position of an id in `dense` (valid for ids 1..maxId). */
  private sparse: Uint32Array;
  aliveCount = 0;
  /** The largest id ever handed out (ids start at 1). */
  maxId = 0;

  constructor(capacity = 16) {
    const cap = Math.max(16, capacity);
    this.denseIds = new Uint32Array(cap);
    this.sparse = new Uint32Array(cap + 1);
  }

  /** The dense list (live ids first), maxId entries; a view, valid until the next add. */
  get dense(): Uint32Array {
    return this.denseIds.subarray(0, this.maxId);
  }

  /** A new id: the first waiting id when there is one, else maxId + 1. */
  add(): number {
    if (this.aliveCount < this.maxId) {
      const id = this.denseIds[this.aliveCount];
      this.sparse[id] = this.aliveCount++;
      return id;
    }
    const id = ++this.maxId;
    if (id > this.denseIds.length) this.grow(id);
    this.denseIds[id - 1] = id;
    this.sparse[id] = this.aliveCount++;
    return id;
  }

  isAlive(id: number): boolean {
    if (!(id >= 1 && id <= this.maxId)) return false;
    const d = this.sparse[id];
    return d < this.aliveCount && this.denseIds[d] === id;
  }

  /** Frees a live id (no-op for an id that is not live). */
  remove(id: number): void {
    if (!this.isAlive(id)) return;
    const d = this.sparse[id];
    const last = this.aliveCount - 1;
    const lastId = this.denseIds[last];
    this.sparse[lastId] = d;
    this.denseIds[d] = lastId;
    this.sparse[id] = last;
    this.denseIds[last] = id;
    this.aliveCount--;
  }

  /** Replaces the state with a saved one (snapshots): dense holds maxId ids, live ones first. */
  restore(dense: ArrayLike<number>, aliveCount: number, maxId: number): void {
    if (dense.length !== maxId) throw new RangeError(`entity index: ${dense.length} ids saved for max id ${maxId}`);
    this.denseIds = new Uint32Array(Math.max(16, maxId));
    this.sparse = new Uint32Array(this.denseIds.length + 1);
    for (let i = 0; i < maxId; i++) {
      const id = dense[i];
      if (!(id >= 1 && id <= maxId)) throw new RangeError(`entity index: id ${id} out of range 1..${maxId}`);
      this.denseIds[i] = id;
      this.sparse[id] = i;
    }
    this.aliveCount = aliveCount;
    this.maxId = maxId;
  }

  /** Bytes held. */
  bytes(): number {
    return this.denseIds.byteLength + this.sparse.byteLength;
  }

  private grow(n: number): void {
    const cap = Math.max(n, Math.ceil(this.denseIds.length * 1.25));
    const d = new Uint32Array(cap);
    d.set(this.denseIds);
    this.denseIds = d;
    const s = new Uint32Array(cap + 1);
    s.set(this.sparse);
    this.sparse = s;
  }
}

/**
 * Live agents' entity ids by uid: an `Int32Array` indexed by `uid - base` (-1 where no live agent
 * has that uid), grown by a quarter. Uids are handed out in order and never reused, so this is
 * 4 bytes per agent ever spawned, against about 37 for a `Map` entry (issue #19 memory).
 */
export class UidIndex {
  private eids: Int32Array;

  constructor(
    private readonly base: number,
    capacity = 16,
  ) {
    this.eids = new Int32Array(Math.max(16, capacity)).fill(-1);
  }

  /** The entity of the live agent with `uid`, or -1. */
  get(uid: number): number {
    const i = uid - this.base;
    return i >= 0 && i < this.eids.length ? this.eids[i] : -1;
  }

  set(uid: number, eid: number): void {
    const i = uid - this.base;
    if (!(Number.isInteger(i) && i >= 0)) throw new RangeError(`uid ${uid} is below this world's first uid ${this.base}`);
    if (i >= this.eids.length) {
      const grown = new Int32Array(Math.max(i + 1, Math.ceil(this.eids.length * 1.25))).fill(-1);
      grown.set(this.eids);
      this.eids = grown;
    }
    this.eids[i] = eid;
  }

  delete(uid: number): void {
    const i = uid - this.base;
    if (i >= 0 && i < this.eids.length) this.eids[i] = -1;
  }

  /** Bytes held. */
  bytes(): number {
    return this.eids.byteLength;
  }
}
