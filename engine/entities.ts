// The entity allocator: live ids and ids waiting to be recycled, in typed arrays. A removed id is
// swapped to the end of the live part, and a new entity takes the most recently removed id (the
// recycling order of the bitecs 0.4 entity index it replaced, versioning off). Fresh ids: since
// issue #19 (memory) a world reserves ids 1..n for the agents it expects (`reserve`): an agent
// takes the next reserved id, any other entity (objects) an id above them, so agent-only columns
// and per-agent arrays span the agents' ids only instead of every object's too. Without a
// reservation (n = 0) fresh ids are maxId + 1 for every entity, as before. Component membership
// lives in the ComponentStore's flags only (bitecs kept a Set per entity beside them).

export class EntityIndex {
  /** Live ids in dense[0, aliveCount), then removed ids waiting to be reused; `count` in all. */
  private denseIds: Uint32Array;
  /** Position of an id in `dense` (valid for ids handed out). */
  private sparse: Uint32Array;
  aliveCount = 0;
  /** Ids handed out at least once (live or waiting): the length of `dense`. */
  count = 0;
  /** The largest id handed out or reserved (ids start at 1). */
  maxId = 0;
  /** The next reserved agent id not yet handed out, and the last reserved id (0 = no reservation). */
  reserveNext = 1;
  reserveEnd = 0;

  constructor(capacity = 16) {
    const cap = Math.max(16, capacity);
    this.denseIds = new Uint32Array(cap);
    this.sparse = new Uint32Array(cap + 1);
  }

  /**
   * Reserves ids 1..n for agents (`add(true)`); other entities get ids above n. Only on an empty
   * index (a world being built).
   */
  reserve(n: number): void {
    if (this.maxId !== 0) throw new Error("entity index: ids can be reserved only before any is handed out");
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`entity index: cannot reserve ${n} ids`);
    this.reserveNext = 1;
    this.reserveEnd = n;
    this.maxId = n;
    if (n + 1 > this.sparse.length) this.grow(n);
  }

  /** The dense list (live ids first), `count` entries; a view, valid until the next add. */
  get dense(): Uint32Array {
    return this.denseIds.subarray(0, this.count);
  }

  /**
   * A new id: the first waiting id when there is one; else, for an agent, the next reserved id;
   * else maxId + 1.
   */
  add(agent = false): number {
    if (this.aliveCount < this.count) {
      const id = this.denseIds[this.aliveCount];
      this.sparse[id] = this.aliveCount++;
      return id;
    }
    const id = agent && this.reserveNext <= this.reserveEnd ? this.reserveNext++ : ++this.maxId;
    if (this.count >= this.denseIds.length || id >= this.sparse.length) this.grow(Math.max(this.count + 1, id));
    this.denseIds[this.count++] = id;
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

  /**
   * Replaces the state with a saved one (snapshots): dense holds the ids handed out, live ones
   * first; `reserve` the reservation's next id and end ([1, 0]: none, as in snapshots before it).
   */
  restore(dense: ArrayLike<number>, aliveCount: number, maxId: number, reserve: readonly [number, number] = [1, 0]): void {
    const [next, end] = reserve;
    if (!(Number.isInteger(end) && end >= 0 && end <= maxId && Number.isInteger(next) && next >= 1 && next <= end + 1)) {
      throw new RangeError(`entity index: reservation [${next}, ${end}] does not fit max id ${maxId}`);
    }
    // Every id below maxId is handed out unless reserved and not yet given (then next..end are not).
    const unborn = end + 1 - next;
    if (dense.length !== maxId - unborn) throw new RangeError(`entity index: ${dense.length} ids saved for max id ${maxId} (${unborn} reserved ids not handed out)`);
    this.denseIds = new Uint32Array(Math.max(16, maxId));
    this.sparse = new Uint32Array(this.denseIds.length + 1);
    for (let i = 0; i < dense.length; i++) {
      const id = dense[i];
      if (!(id >= 1 && id <= maxId) || (id >= next && id <= end)) throw new RangeError(`entity index: id ${id} out of range 1..${maxId} or reserved and not handed out`);
      this.denseIds[i] = id;
      this.sparse[id] = i;
    }
    this.count = dense.length;
    this.aliveCount = aliveCount;
    this.maxId = maxId;
    this.reserveNext = next;
    this.reserveEnd = end;
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
