// The end ticks of the active events as a min-heap of (end tick, town) in typed arrays (not
// state: rebuilt from the active lists on load). Issue #19: ending events walked every town's
// active list on every tick where one could end, which at 100k agents (12,500 towns, an event
// ending on most ticks) was a walk over 12,500 arrays per tick; now the scheduler visits only
// the towns with an event whose end came. A cancelled event leaves its entry behind: popping it
// makes the scheduler look at a town where nothing ends, which changes nothing.

/** (end tick, town) pairs, the earliest end on top. */
export class EndQueue {
  private at = new Int32Array(64);
  private town = new Int32Array(64);
  private n = 0;
  /** Towns popped by takeDue, ascending and distinct: due[0, dueN). */
  due = new Int32Array(64);
  dueN = 0;

  /** Entries held. */
  get size(): number {
    return this.n;
  }

  /** The earliest end tick held, `none` when empty. */
  first(none: number): number {
    return this.n > 0 ? this.at[0] : none;
  }

  clear(): void {
    this.n = 0;
    this.dueN = 0;
  }

  /** Adds an event of `town` ending at tick `end`. */
  push(end: number, town: number): void {
    if (this.n === this.at.length) {
      const a = new Int32Array(this.n * 2);
      a.set(this.at);
      this.at = a;
      const t = new Int32Array(this.n * 2);
      t.set(this.town);
      this.town = t;
    }
    const at = this.at;
    const tw = this.town;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] <= end) break;
      at[i] = at[p];
      tw[i] = tw[p];
      i = p;
    }
    at[i] = end;
    tw[i] = town;
  }

  /** Pops every entry ending at or before `tick`; their towns, ascending and distinct, in due[0, dueN). */
  takeDue(tick: number): void {
    let m = 0;
    while (this.n > 0 && this.at[0] <= tick) {
      if (m === this.due.length) {
        const d = new Int32Array(m * 2);
        d.set(this.due);
        this.due = d;
      }
      this.due[m++] = this.town[0];
      this.popTop();
    }
    if (m > 1) {
      const d = this.due.subarray(0, m).sort();
      let k = 1;
      for (let i = 1; i < m; i++) if (d[i] !== d[k - 1]) d[k++] = d[i];
      m = k;
    }
    this.dueN = m;
  }

  private popTop(): void {
    const at = this.at;
    const tw = this.town;
    const n = --this.n;
    if (n === 0) return;
    const end = at[n];
    const town = tw[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && at[c + 1] < at[c]) c++;
      if (at[c] >= end) break;
      at[i] = at[c];
      tw[i] = tw[c];
      i = c;
    }
    at[i] = end;
    tw[i] = town;
  }
}
