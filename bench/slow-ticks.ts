// `townlet bench --repeat N`: where a run's slow ticks spent their extra time. The simulation is
// deterministic, so tick t does the same work in every run; a tick that took over SLOW_OVER_MEDIAN
// times the per-tick median of the runs was slowed by something outside that work. Each system's
// ms on those ticks over the per-tick median of the same system on the same ticks then says how
// the slowdown fell: one system far slower than the rest points at that system (code that ran
// unoptimised in this run, a collection inside it); every system slower by a similar factor is the
// same instructions running slower throughout (a neighbour on the shared cache, the core's clock),
// which no change to one system removes. The machine on this project's 2-core VM does the latter
// (bench/README.md, "Issue #19, eleventh session").

/** A run's tick is slow when its wall ms is over this times the per-tick median of the runs. */
export const SLOW_OVER_MEDIAN = 1.15;
/** Systems below this share of the slow ticks' median time are left out of the range (too small to read). */
export const MIN_SHARE = 0.02;
/** How many systems the summary names, largest extra ms first. */
const NAMED = 5;
/** The pseudo-system of the time in a tick outside every system's timing. */
export const OUTSIDE = "(outside the systems)";

/** Each timed tick's ms per system (row-major: ticks x systems), from a run with --tick-times. */
export interface TickSystemMs {
  systems: string[];
  ms: number[];
}

export interface SlowSystem {
  system: string;
  /** Its ms on the run's slow ticks over the per-tick median of its ms on the same ticks. */
  over_median: number;
  /** Its ms on the slow ticks over that median, summed over them. */
  extra_ms: number;
}

export interface SlowTicks {
  /** The run's ticks over SLOW_OVER_MEDIAN x the per-tick median of the runs. */
  ticks: number;
  /** Their wall ms over the per-tick median, summed. */
  extra_ms: number;
  /** The least and the most over_median of the systems with at least MIN_SHARE of those ticks' median time (null: no slow tick). */
  over_median_range: [number, number] | null;
  /** The systems with the most extra ms, largest first. */
  systems: SlowSystem[];
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function median(col: Float64Array): number {
  col.sort();
  const k = col.length;
  return k & 1 ? col[k >> 1] : (col[k / 2 - 1] + col[k / 2]) / 2;
}

/**
 * The slow ticks of each run and how each system's time grew on them. `wall[i]` is run i's wall
 * ms per tick, `medWall` the per-tick median over the runs, `sys[i]` run i's ms per system per
 * tick (the same systems in every run). Null when a run lacks its per-system times.
 */
export function slowTicks(wall: readonly (readonly number[])[], medWall: Float64Array, sys: readonly (TickSystemMs | undefined)[]): SlowTicks[] | null {
  const k = wall.length;
  const n = medWall.length;
  const first = sys[0];
  if (first === undefined) return null;
  const names = first.systems;
  const m = names.length;
  for (let i = 0; i < k; i++) {
    const s = sys[i];
    if (s === undefined || s.ms.length !== n * m || s.systems.join("\n") !== names.join("\n")) return null;
  }
  // Column m: the time outside every system (wall minus the systems' sum).
  const cols = m + 1;
  const own = (i: number, t: number, c: number): number => {
    const row = sys[i]!.ms;
    if (c < m) return row[t * m + c];
    let sum = 0;
    for (let j = 0; j < m; j++) sum += row[t * m + j];
    return Math.max(0, wall[i][t] - sum);
  };
  const med = new Float64Array(n * cols);
  const col = new Float64Array(k);
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < cols; c++) {
      for (let i = 0; i < k; i++) col[i] = own(i, t, c);
      med[t * cols + c] = median(col);
    }
  }
  const label = (c: number) => (c < m ? names[c] : OUTSIDE);
  return wall.map((w, i) => {
    const ran = new Float64Array(cols);
    const base = new Float64Array(cols);
    let ticks = 0;
    let extra = 0;
    for (let t = 0; t < n; t++) {
      if (!(w[t] > SLOW_OVER_MEDIAN * medWall[t])) continue;
      ticks++;
      extra += w[t] - medWall[t];
      for (let c = 0; c < cols; c++) {
        ran[c] += own(i, t, c);
        base[c] += med[t * cols + c];
      }
    }
    let total = 0;
    for (let c = 0; c < cols; c++) total += base[c];
    const rows: SlowSystem[] = [];
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = 0; c < cols; c++) {
      if (base[c] <= 0) continue;
      const over = ran[c] / base[c];
      rows.push({ system: label(c), over_median: round(over, 3), extra_ms: round(ran[c] - base[c], 1) });
      if (base[c] >= MIN_SHARE * total) {
        lo = Math.min(lo, over);
        hi = Math.max(hi, over);
      }
    }
    rows.sort((a, b) => b.extra_ms - a.extra_ms);
    return { ticks, extra_ms: round(extra, 1), over_median_range: ticks > 0 && lo <= hi ? [round(lo, 3), round(hi, 3)] : null, systems: rows.slice(0, NAMED) };
  });
}

/** One run's slow ticks as a line of text. */
export function formatSlowTicks(s: SlowTicks): string {
  if (s.ticks === 0 || s.over_median_range === null) return `no tick over ${SLOW_OVER_MEDIAN}x the per-tick median`;
  const [lo, hi] = s.over_median_range;
  const named = s.systems.map((x) => `${x.system} x${x.over_median.toFixed(2)} (+${x.extra_ms.toFixed(0)} ms)`).join(", ");
  return `${s.ticks} ticks over ${SLOW_OVER_MEDIAN}x the per-tick median (+${s.extra_ms.toFixed(0)} ms); on them each system with ${MIN_SHARE * 100}%+ of the time took ${lo.toFixed(2)}-${hi.toFixed(2)}x its own per-tick median: ${named}`;
}

/** The per-system times of the timed ticks (world.systemTickTimes()) as a result field, rounded to 0.1 µs. */
export function tickSystemMs(systems: readonly string[], ms: Float64Array): TickSystemMs {
  const out = new Array<number>(ms.length);
  for (let j = 0; j < out.length; j++) out[j] = Math.round(ms[j] * 1e4) / 1e4;
  return { systems: [...systems], ms: out };
}
