// The start ticks within the rate window, per (town, spec): one ring of Int32 slots per bucket in
// one buffer (issue #19: a JS array per bucket, push/shift, was the largest source of objects
// promoted to old space). Same observable order as the arrays it replaced: oldest first.

/** Start ticks per bucket k (town * specs + spec), oldest first; each ring grows when full. */
export class WindowRings {
  /** Slots per bucket (grows, doubling, when a push finds a ring full: manual events). */
  private cap: number;
  private buf: Int32Array;
  private head: Int32Array;
  private len: Int32Array;

  constructor(readonly buckets: number, slots: number) {
    this.cap = Math.max(1, slots);
    this.buf = new Int32Array(buckets * this.cap);
    this.head = new Int32Array(buckets);
    this.len = new Int32Array(buckets);
  }

  /** Start ticks held for bucket k. */
  length(k: number): number {
    return this.len[k];
  }

  /** The i-th oldest start tick of bucket k (0 = oldest); i < length(k). */
  at(k: number, i: number): number {
    const cap = this.cap;
    let j = this.head[k] + i;
    if (j >= cap) j -= cap;
    return this.buf[k * cap + j];
  }

  /** Adds a start tick as the newest of bucket k. */
  push(k: number, tick: number): void {
    if (this.len[k] === this.cap) this.grow(this.cap * 2);
    const cap = this.cap;
    let j = this.head[k] + this.len[k];
    if (j >= cap) j -= cap;
    this.buf[k * cap + j] = tick;
    this.len[k]++;
  }

  /** Drops the oldest start tick of bucket k (length(k) > 0). */
  shift(k: number): void {
    const h = this.head[k] + 1;
    this.head[k] = h === this.cap ? 0 : h;
    this.len[k]--;
  }

  /** Empties bucket k. */
  clear(k: number): void {
    this.head[k] = 0;
    this.len[k] = 0;
  }

  /** Bucket k's start ticks as an array, oldest first (snapshots). */
  list(k: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.len[k]; i++) out.push(this.at(k, i));
    return out;
  }

  /** Replaces every bucket's ticks (a load): `lists[k]` oldest first. */
  setAll(lists: readonly (readonly number[])[]): void {
    if (lists.length !== this.buckets) throw new Error(`perturbations: saved windows are for ${lists.length} (town, spec) buckets, this world has ${this.buckets}`);
    let most = 1;
    for (const w of lists) if (w.length > most) most = w.length;
    this.head.fill(0);
    this.len.fill(0);
    if (most > this.cap) this.grow(most);
    for (let k = 0; k < lists.length; k++) for (const x of lists[k]) this.push(k, x);
  }

  /** Moves every ring into `cap` slots per bucket, each starting at slot 0. */
  private grow(cap: number): void {
    const buf = new Int32Array(this.buckets * cap);
    for (let k = 0; k < this.buckets; k++) {
      for (let i = 0; i < this.len[k]; i++) buf[k * cap + i] = this.at(k, i);
      this.head[k] = 0;
    }
    this.buf = buf;
    this.cap = cap;
  }
}
