// The world's list of live agents (engine/world.ts): entity ids in order, and the same as runs
// of consecutive ids; built from the Agent membership flags, then kept up to date in place as
// agents come or go (add/remove), rebuilt again only when marked dirty (a snapshot's restore).

/** Changes noted between two reads before the list is rebuilt instead (each costs a shift of the list). */
const MAX_PENDING = 64;

/** Live agents in entity order and as [start, end) runs; `dirty` until rebuilt. */
export class AgentList {
  private list = new Int32Array(0);
  private count = 0;
  private spanList = new Int32Array(0);
  private spanCount = 0;
  /** The list must be rebuilt from the flags (new, or a snapshot restored); setting it sets `changed`. */
  private isDirty = true;
  /** The list changed (rebuilt, or an agent added or removed in place) since its views were last taken. */
  changed = true;

  get dirty(): boolean {
    return this.isDirty;
  }
  set dirty(v: boolean) {
    this.isDirty = v;
    if (v) this.changed = true;
  }

  /** Comings (eid) and goings (-eid) noted since the last read, in order. */
  private pending = new Int32Array(MAX_PENDING);
  private pendingCount = 0;

  /** The agents as last built, with the changes noted since applied (a view). */
  agents(): Int32Array {
    if (this.pendingCount > 0) this.settle();
    return this.list.subarray(0, this.count);
  }

  /** The runs, the same way: pairs [start, end) (a view). */
  spans(): Int32Array {
    if (this.pendingCount > 0) this.settle();
    return this.spanList.subarray(0, 2 * this.spanCount);
  }

  /**
   * Brings the list up to date for its views: the noted changes applied in place, or a rebuild
   * from the Agent flags `has` of entities 1..max where it is dirty; `changed` is cleared.
   */
  refresh(max: number, has: Uint8Array): void {
    this.settle();
    if (this.isDirty) this.rebuild(max, has);
    this.changed = false;
  }

  /**
   * Rebuilds from the Agent flags `has` of entities 1..max. The list is sized by the agents, not
   * by the entity ids (issue #19 memory: objects' ids are above the agents'): exact at first,
   * then a quarter more when the agents outgrow it.
   */
  rebuild(max: number, has: Uint8Array): void {
    if (this.list.length === 0) {
      let count = 0;
      for (let eid = 1; eid <= max; eid++) if (has[eid] === 1) count++;
      this.list = new Int32Array(Math.max(16, count));
    }
    let n = 0;
    let runs = 0;
    let list: Int32Array = this.list;
    // Scan the Agent membership flags: linear, ordered by entity id, no sort.
    let prev = -2;
    for (let eid = 1; eid <= max; eid++) {
      if (has[eid] !== 1) continue;
      if (n === list.length) list = this.grow(n + 1);
      list[n++] = eid;
      if (eid !== prev + 1) runs++;
      prev = eid;
    }
    if (this.spanList.length < 2 * runs) this.spanList = new Int32Array(Math.max(16, 2 * runs, Math.ceil(this.spanList.length * 1.25)));
    const spans = this.spanList;
    let k = -1;
    prev = -2;
    for (let i = 0; i < n; i++) {
      const eid = list[i];
      if (eid !== prev + 1) {
        k++;
        spans[2 * k] = eid;
      }
      spans[2 * k + 1] = eid + 1;
      prev = eid;
    }
    this.count = n;
    this.spanCount = runs;
    this.isDirty = false;
    this.changed = true;
    this.pendingCount = 0;
  }

  /**
   * Agent `eid` came (`came`) or left. Noted, and applied in place at the next read (agents(),
   * spans()), where a rebuild from the flags used to run (issue #19: a rebuild scans every entity
   * id, ~1 ms at 100k, and in the hours of exits and replacements one ran on nearly every tick).
   * Applied at the read, as the rebuild was, so a view a reader holds changes at the same moment.
   * A list not built yet, or with many changes waiting, is rebuilt instead.
   */
  note(eid: number, came: boolean): void {
    if (this.isDirty) return;
    this.changed = true;
    if (this.pendingCount === MAX_PENDING) {
      this.dirty = true;
      this.pendingCount = 0;
      return;
    }
    this.pending[this.pendingCount++] = came ? eid : -eid;
  }

  /**
   * Applies the noted comings and goings in order (the same list and runs as a rebuild). A change
   * the list cannot take (an id listed twice, or not listed) marks it dirty: rebuild it then.
   */
  settle(): void {
    const n = this.pendingCount;
    this.pendingCount = 0;
    for (let i = 0; i < n && !this.isDirty; i++) {
      const op = this.pending[i];
      if (op > 0) this.insert(op);
      else this.delete(-op);
    }
  }

  /** Inserts agent `eid` (not listed) in entity order; its run is extended, merged or made. */
  private insert(eid: number): void {
    const n = this.count;
    const at = this.lowerBound(eid);
    if (at < n && this.list[at] === eid) {
      this.dirty = true; // listed already: the flags are the truth
      return;
    }
    if (n === this.list.length) this.grow(n + 1);
    const list = this.list;
    list.copyWithin(at + 1, at, n);
    list[at] = eid;
    this.count = n + 1;
    // Runs: k = the first run starting after eid.
    const s = this.spanList;
    const runs = this.spanCount;
    let k = 0;
    while (k < runs && s[2 * k] <= eid) k++;
    const joinsPrev = k > 0 && s[2 * k - 1] === eid;
    const joinsNext = k < runs && s[2 * k] === eid + 1;
    if (joinsPrev && joinsNext) {
      s[2 * k - 1] = s[2 * k + 1];
      s.copyWithin(2 * k, 2 * k + 2, 2 * runs);
      this.spanCount = runs - 1;
    } else if (joinsPrev) s[2 * k - 1] = eid + 1;
    else if (joinsNext) s[2 * k] = eid;
    else this.insertRun(k, eid, eid + 1);
  }

  /** Takes agent `eid` (listed) out; its run is shortened, split or dropped. */
  private delete(eid: number): void {
    const at = this.lowerBound(eid);
    if (at >= this.count || this.list[at] !== eid) {
      this.dirty = true; // not listed: the flags are the truth
      return;
    }
    this.list.copyWithin(at, at + 1, this.count);
    this.count--;
    const s = this.spanList;
    const runs = this.spanCount;
    let k = 0;
    while (k < runs && s[2 * k + 1] <= eid) k++;
    const start = s[2 * k];
    const end = s[2 * k + 1];
    if (start === eid && end === eid + 1) {
      s.copyWithin(2 * k, 2 * k + 2, 2 * runs);
      this.spanCount = runs - 1;
    } else if (start === eid) s[2 * k] = eid + 1;
    else if (end === eid + 1) s[2 * k + 1] = eid;
    else {
      s[2 * k + 1] = eid;
      this.insertRun(k + 1, eid + 1, end);
    }
  }

  /** The first position in the list whose id is >= eid (binary search). */
  private lowerBound(eid: number): number {
    const list = this.list;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid] < eid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts run [start, end) at run index k (growing the runs' array as rebuild does). */
  private insertRun(k: number, start: number, end: number): void {
    const runs = this.spanCount;
    if (this.spanList.length < 2 * (runs + 1)) {
      const g = new Int32Array(Math.max(16, 2 * (runs + 1), Math.ceil(this.spanList.length * 1.25)));
      g.set(this.spanList.subarray(0, 2 * runs));
      this.spanList = g;
    }
    const s = this.spanList;
    s.copyWithin(2 * k + 2, 2 * k, 2 * runs);
    s[2 * k] = start;
    s[2 * k + 1] = end;
    this.spanCount = runs + 1;
  }

  /** Replaces the list by a copy with room for `n` agents (at least a quarter more). */
  private grow(n: number): Int32Array {
    const g = new Int32Array(Math.max(n, Math.ceil(this.list.length * 1.25)));
    g.set(this.list);
    this.list = g;
    return g;
  }
}
