// `townlet bench --repeat N`: the same size run N times, each in a fresh process, with the same
// warm-up and timed ticks. The simulation is deterministic (same config and seed: the same state
// hash after the same tick), so tick t does the same work in every run and the runs differ only by
// what the machine did meanwhile (other processes, a neighbour on a shared cache, frequency). The
// summary keeps every run's own p50/p99 and adds the per-tick median and minimum over the runs:
// how the tick's own work is distributed, with one run's interference left out. The per-run figures
// stay the measure a user sees on one run; the summary says how much of it was the machine.
import { dailyProfile, formatDailyProfile, quantile, type DailyProfile } from "./tick-stats.ts";
import { dayDrift, formatDayDrift, type DayDrift } from "./day-drift.ts";
import { formatSlowTicks, slowTicks, type SlowTicks, type TickSystemMs } from "./slow-ticks.ts";

/** One run's per-tick wall ms and what must agree across runs for the ticks to be comparable. */
export interface RepeatRun {
  agents: number;
  warmup_ticks: number;
  ticks: number;
  agent_steps_per_sec: number;
  tick_ms_p50: number;
  tick_ms_p99: number;
  p99_over_p50: number;
  /** The world's state hash after the last timed tick. */
  state_hash?: string;
  /** Wall ms of each timed tick, in order. */
  tick_wall_ms?: readonly number[];
  /** The world's ticks per simulated day (for the daily profile of the per-tick median). */
  ticks_per_day?: number | null;
  /** Each timed tick's ms per system (for where the slow ticks' time went). */
  tick_system_ms?: TickSystemMs;
}

export interface TickQuantiles {
  tick_ms_p50: number;
  tick_ms_p99: number;
  p99_over_p50: number;
}

export interface RepeatSummary {
  agents: number;
  runs: number;
  warmup_ticks: number;
  ticks: number;
  /** Every run's own figures, in run order. */
  per_run: (TickQuantiles & { agent_steps_per_sec: number; state_hash?: string; over_tick_median_p99: number; slow_ticks?: SlowTicks })[];
  /** Whether every run ended in the same state hash (false: the runs did not do the same work). */
  same_state_hash: boolean;
  /** p50/p99 of the per-tick median over the runs (of the two middle values' mean for an even count). */
  tick_median: TickQuantiles;
  /** p50/p99 of the per-tick minimum over the runs. */
  tick_min: TickQuantiles;
  /** Standard deviation (ms) of the same tick's wall time across runs, averaged over the ticks: the machine's noise on identical work. */
  same_tick_sd_ms: number;
  /** The daily profile (bench/tick-stats.ts) of the per-tick median: null under three simulated days. */
  tick_median_daily: DailyProfile | null;
  /** The per-tick median's day-by-day view (bench/day-drift.ts, without systems): null under two whole days. */
  tick_median_days: DayDrift | null;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function quantiles(xs: Float64Array): TickQuantiles {
  const p50 = quantile(xs, 0.5);
  const p99 = quantile(xs, 0.99);
  return { tick_ms_p50: round(p50, 4), tick_ms_p99: round(p99, 4), p99_over_p50: round(p99 / p50, 3) };
}

/**
 * The summary of N runs of one size. Throws when the runs cannot be compared tick by tick: another
 * size, warm-up or tick count, or a run without its per-tick times.
 */
export function repeatSummary(runs: readonly RepeatRun[]): RepeatSummary {
  if (runs.length < 2) throw new Error(`--repeat: a summary needs at least 2 runs, got ${runs.length}`);
  const first = runs[0];
  const n = first.ticks;
  runs.forEach((r, i) => {
    if (r.agents !== first.agents || r.warmup_ticks !== first.warmup_ticks || r.ticks !== n) {
      throw new Error(`--repeat: run ${i + 1} timed ${r.ticks} ticks of ${r.agents} agents after ${r.warmup_ticks} warm-up; run 1 timed ${n} of ${first.agents} after ${first.warmup_ticks}: the ticks cannot be compared`);
    }
    if (r.tick_wall_ms?.length !== n) throw new Error(`--repeat: run ${i + 1} has ${r.tick_wall_ms?.length ?? "no"} per-tick times for ${n} timed ticks`);
  });
  const k = runs.length;
  const med = new Float64Array(n);
  const min = new Float64Array(n);
  const col = new Float64Array(k);
  let sdSum = 0;
  for (let t = 0; t < n; t++) {
    let mean = 0;
    for (let i = 0; i < k; i++) {
      col[i] = runs[i].tick_wall_ms![t];
      mean += col[i];
    }
    mean /= k;
    col.sort();
    med[t] = k & 1 ? col[k >> 1] : (col[k / 2 - 1] + col[k / 2]) / 2;
    min[t] = col[0];
    let v = 0;
    for (let i = 0; i < k; i++) v += (col[i] - mean) ** 2;
    sdSum += Math.sqrt(v / (k - 1));
  }
  const hashes = runs.map((r) => r.state_hash);
  // Each run's ticks over the per-tick median of all runs: the same work, so what the machine alone did to this run.
  const ratio = new Float64Array(n);
  const overMedian = runs.map((r) => {
    for (let t = 0; t < n; t++) ratio[t] = r.tick_wall_ms![t] / med[t];
    return round(quantile(ratio, 0.99), 3);
  });
  const slow = slowTicks(runs.map((r) => r.tick_wall_ms!), med, runs.map((r) => r.tick_system_ms));
  return {
    agents: first.agents,
    runs: k,
    warmup_ticks: first.warmup_ticks,
    ticks: n,
    per_run: runs.map((r, i) => ({ tick_ms_p50: r.tick_ms_p50, tick_ms_p99: r.tick_ms_p99, p99_over_p50: r.p99_over_p50, agent_steps_per_sec: r.agent_steps_per_sec, over_tick_median_p99: overMedian[i], ...(slow ? { slow_ticks: slow[i] } : {}), ...(r.state_hash !== undefined ? { state_hash: r.state_hash } : {}) })),
    same_state_hash: hashes.every((h) => h !== undefined && h === hashes[0]),
    tick_median: quantiles(med),
    tick_min: quantiles(min),
    same_tick_sd_ms: round(sdSum / n, 3),
    tick_median_daily: first.ticks_per_day ? dailyProfile(med, first.warmup_ticks + 1, first.ticks_per_day) : null,
    tick_median_days: first.ticks_per_day ? dayDrift(med, first.warmup_ticks + 1, first.ticks_per_day) : null,
  };
}

/** The summary as text lines (the bench's table output). */
export function formatRepeat(s: RepeatSummary): string[] {
  const fmt = (q: TickQuantiles) => `p50 ${q.tick_ms_p50.toFixed(2)} ms, p99 ${q.tick_ms_p99.toFixed(2)} ms, p99/p50 ${q.p99_over_p50.toFixed(3)}`;
  const lines = [`  ${s.agents.toLocaleString("en-US")} agents, ${s.runs} runs of ${s.ticks} ticks after ${s.warmup_ticks} warm-up (final state hash ${s.same_state_hash ? "the same in every run" : "DIFFERS between runs: the ticks did not do the same work"}):`];
  s.per_run.forEach((r, i) => {
    lines.push(`    run ${i + 1}: ${fmt(r)}, ${r.agent_steps_per_sec.toLocaleString("en-US")} agent-steps/s; p99 of its ticks over the per-tick median ${r.over_tick_median_p99.toFixed(3)}`);
    if (r.slow_ticks) lines.push(`      ${formatSlowTicks(r.slow_ticks)}`);
  });
  lines.push(`    per-tick median of the runs: ${fmt(s.tick_median)}`);
  lines.push(`    per-tick minimum of the runs: ${fmt(s.tick_min)}`);
  if (s.tick_median_daily) lines.push(`    per-tick median, ${formatDailyProfile(s.tick_median_daily)}`);
  if (s.tick_median_days) lines.push(`    per-tick median, ${formatDayDrift(s.tick_median_days)}`);
  lines.push(`    the same tick's wall ms differs between runs by ${s.same_tick_sd_ms.toFixed(2)} ms (standard deviation, mean over the ticks)`);
  return lines;
}
