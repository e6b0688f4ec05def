// The world's list of live agents (engine/world.ts): entity ids in order, and the same as runs
// of consecutive ids; rebuilt from the Agent membership flags when agents come or go.

/** Live agents in entity order and as [start, end) runs; `dirty` until rebuilt. */
export class AgentList {
  private list = new Int32Array(0);
  private count = 0;
  private spanList = new Int32Array(0);
  private spanCount = 0;
  /** Agents came or went since the last rebuild. */
  dirty = true;

  /** The agents as last built (a view). */
  agents(): Int32Array {
    return this.list.subarray(0, this.count);
  }

  /** The runs as last built: pairs [start, end) (a view). */
  spans(): Int32Array {
    return this.spanList.subarray(0, 2 * this.spanCount);
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
    this.dirty = false;
  }

  /** Replaces the list by a copy with room for `n` agents (at least a quarter more). */
  private grow(n: number): Int32Array {
    const g = new Int32Array(Math.max(n, Math.ceil(this.list.length * 1.25)));
    g.set(this.list);
    this.list = g;
    return g;
  }
}
