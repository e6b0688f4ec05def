// The stability monitor's counters: rolling windows of per-tick values, the last tick's counts,
// and per-town counts of the per-tick alerts.

/** A ring of per-tick values with a running sum (re-summed at every wrap, so it never drifts). */
export class Ring {
  values: Float64Array;
  sum = 0;
  constructor(readonly size: number) {
    this.values = new Float64Array(size);
  }
  /** Records tick's value, replacing the value of the tick `size` ticks ago. */
  add(tick: number, v: number): void {
    const i = tick % this.size;
    const old = this.values[i];
    this.values[i] = v;
    if (i === 0) {
      let s = 0;
      for (let k = 0; k < this.size; k++) s += this.values[k];
      this.sum = s;
    } else this.sum += v - old;
  }
}

/** What the last tick counted (the rest of the metrics payload lives in the windows). */
export interface TickCounts {
  tick: number;
  late: number;
  fails: number;
  ghost: number;
  rotations: number;
  conflicts: number;
  rivalry: number;
  reuse: boolean;
  perturbations: number;
  /** Largest count of one town this tick, by PT_* kind. */
  town_max: number[];
}

/** Per-town counters of the per-tick alerts (kinds PT_*); only touched towns are reset. */
export const PT_GHOST = 0;
export const PT_ROTATIONS = 1;
export const PT_RIVALRY = 2;
export const PT_FAILS = 3;
export const PT_LATE = 4;
export const PT_KINDS = 5;

export class PerTown {
  counts: Int32Array;
  readonly max = new Int32Array(PT_KINDS);
  private touched: number[] = [];
  private seen: Uint8Array;
  constructor(readonly towns: number) {
    this.counts = new Int32Array(towns * PT_KINDS);
    this.seen = new Uint8Array(towns);
  }
  count(kind: number, town: number): void {
    if (!(town >= 0 && town < this.towns)) return;
    if (this.seen[town] === 0) {
      this.seen[town] = 1;
      this.touched.push(town);
    }
    const v = ++this.counts[town * PT_KINDS + kind];
    if (v > this.max[kind]) this.max[kind] = v;
  }
  clear(): void {
    for (const t of this.touched) {
      this.seen[t] = 0;
      this.counts.fill(0, t * PT_KINDS, (t + 1) * PT_KINDS);
    }
    this.touched.length = 0;
    this.max.fill(0);
  }
}
