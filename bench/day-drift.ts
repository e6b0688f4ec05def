// The bench's day-by-day view of a run (issue #19): each simulated day's median tick, and how much
// each system's mean ms changed from the first whole day timed to the last. A p99 over 10,000
// ticks (about seven days) is set as much by slow DAYS as by slow ticks: a tick whose work grows
// with the simulated day (a list that fills, a structure that gets sparser) makes the last days'
// ticks the run's p99, and so does a machine that is slower for a few minutes. The two differ in
// what they touch: the engine's growth shows in its systems' means day after day at any size,
// the machine's in every cache-missing system at once, for a day or two and not in order.
import { quantile } from "./tick-stats.ts";

/** One simulated day of the timed ticks. */
export interface DayRow {
  /** The day's number (tick / ticks per day, rounded down). */
  day: number;
  /** Timed ticks in it (fewer than a day's for the first and last when the run does not start or end at midnight). */
  ticks: number;
  /** Median wall ms of its timed ticks, and that over the run's p50. */
  median_ms: number;
  over_p50: number;
}

/** A system's mean ms per tick on the first and the last whole day timed. */
export interface SystemDrift {
  system: string;
  first_day_ms: number;
  last_day_ms: number;
  /** last_day_ms - first_day_ms. */
  change_ms: number;
}

export interface DayDrift {
  /** Every simulated day the timed ticks touched, in order. */
  days: DayRow[];
  /** Whole days timed (the figures below are over those). */
  whole_days: number;
  /** The slowest whole day's median over the quickest one's. */
  spread: number;
  /**
   * The p99 of each tick's wall ms over its own day's median (whole days only): the run's spikes
   * with the drift from day to day left out. Not the #19 goal's figure (that is p99 / p50 of all
   * the ticks, drift included); it says how much of that is spikes.
   */
  p99_over_day_median: number;
  /** Each system's drift (--clock's ms), largest growth first; empty without the per-system record. */
  systems: SystemDrift[];
}

/** Whole days a day-by-day view needs (a first and a last day to compare). */
export const MIN_WHOLE_DAYS = 2;

/**
 * The DayDrift of `tickMs` (wall ms of consecutive ticks, the first being tick `firstTick`), with
 * `ticksPerDay` ticks a day and, optionally, each system's ms per tick (`ms[r * systems.length + k]`
 * for timed tick r). Null under MIN_WHOLE_DAYS whole days, or without a day length.
 */
export function dayDrift(tickMs: ArrayLike<number>, firstTick: number, ticksPerDay: number, systems: readonly string[] = [], ms?: Float64Array): DayDrift | null {
  const n = tickMs.length;
  if (!(ticksPerDay > 0) || n === 0) return null;
  const p50 = quantile(tickMs, 0.5);
  const dayOf = (i: number) => Math.floor((firstTick + i) / ticksPerDay);
  const first = dayOf(0);
  const last = dayOf(n - 1);
  const days: DayRow[] = [];
  const whole: { day: number; from: number; to: number; median: number }[] = [];
  for (let d = first, from = 0; d <= last; d++) {
    let to = from;
    while (to < n && dayOf(to) === d) to++;
    const m = quantile(Float64Array.from({ length: to - from }, (_, j) => tickMs[from + j]), 0.5);
    days.push({ day: d, ticks: to - from, median_ms: round(m, 4), over_p50: round(m / p50, 3) });
    if (to - from === ticksPerDay) whole.push({ day: d, from, to, median: m });
    from = to;
  }
  if (whole.length < MIN_WHOLE_DAYS) return null;
  const ratios = new Float64Array(whole.length * ticksPerDay);
  let r = 0;
  for (const w of whole) for (let i = w.from; i < w.to; i++) ratios[r++] = tickMs[i] / w.median;
  const medians = whole.map((w) => w.median);
  return {
    days,
    whole_days: whole.length,
    spread: round(Math.max(...medians) / Math.min(...medians), 3),
    p99_over_day_median: round(quantile(ratios, 0.99), 3),
    systems: ms ? systemDrift(systems, ms, whole[0], whole[whole.length - 1]) : [],
  };
}

function systemDrift(systems: readonly string[], ms: Float64Array, a: { from: number; to: number }, b: { from: number; to: number }): SystemDrift[] {
  const k = systems.length;
  const mean = (s: number, w: { from: number; to: number }) => {
    let sum = 0;
    for (let i = w.from; i < w.to; i++) sum += ms[i * k + s];
    return sum / (w.to - w.from);
  };
  const rows = systems.map((system, s) => {
    const f = mean(s, a);
    const l = mean(s, b);
    return { system, first_day_ms: round(f, 4), last_day_ms: round(l, 4), change_ms: round(l - f, 4) };
  });
  return rows.sort((x, y) => y.change_ms - x.change_ms || x.system.localeCompare(y.system));
}

/** The view as one line of text (the bench's table output): the days' medians and the largest growths. */
export function formatDayDrift(d: DayDrift, systems = 3): string {
  const full = Math.max(...d.days.map((r) => r.ticks));
  const med = d.days.map((r) => `${r.median_ms.toFixed(2)}${r.ticks < full ? "*" : ""}`).join(" ");
  const grew = d.systems.filter((s) => s.change_ms > 0).slice(0, systems);
  const growth = grew.length ? `; grew most from the first whole day to the last: ${grew.map((s) => `${s.system} ${s.first_day_ms.toFixed(3)} -> ${s.last_day_ms.toFixed(3)} ms`).join(", ")}` : "";
  return `median ms per simulated day ${med} (* part of a day); whole days' spread ${d.spread.toFixed(2)}x; p99 over each tick's own day's median ${d.p99_over_day_median.toFixed(2)}${growth}`;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
