// Tick-latency and garbage-collection statistics of the simulation benchmark (bench/sim.ts): the
// quantiles of the timed ticks and the GCs (perf_hooks entries) that started during them.
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

/** The q-quantile (0..1) of `xs` by the nearest-rank rule (NaN when empty). */
export function quantile(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** The latency fields of a SimResult from the wall-clock ms of each timed tick. */
export function latencyFields(tickTimes: Float64Array) {
  const timed = Array.from(tickTimes);
  const p50 = quantile(timed, 0.5);
  const p99 = quantile(timed, 0.99);
  return {
    tick_ms_p50: round(p50, 4),
    tick_ms_p99: round(p99, 4),
    tick_ms_max: round(Math.max(...timed), 4),
    p99_over_p50: round(p99 / p50, 3),
  };
}

/** One garbage collection: when it started (performance.now() time), how long, which kind. */
export interface GcEvent {
  start: number;
  ms: number;
  kind: "major" | "minor" | "other";
}

/** CPU ms of this process since `since` (a process.cpuUsage() reading). */
export function cpuDelta(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** The CPU latency fields of a SimResult from the CPU ms of each timed tick. */
export function cpuLatencyFields(tickCpu: Float64Array) {
  const p50 = quantile(tickCpu, 0.5);
  const p99 = quantile(tickCpu, 0.99);
  return { tick_cpu_ms_p50: round(p50, 4), tick_cpu_ms_p99: round(p99, 4), cpu_p99_over_p50: round(p99 / p50, 3) };
}

/** GC entries (perf_hooks) started within [from, to], by kind. */
export class GcCounter {
  private entries: PerformanceEntry[] = [];
  /** The GCs counted by the last stop(), in order. */
  events: GcEvent[] = [];
  private obs = new PerformanceObserver((list) => this.entries.push(...list.getEntries()));
  start(): void {
    this.obs.observe({ entryTypes: ["gc"] });
  }
  /** Waits for buffered entries to arrive, stops observing and counts those inside the window. */
  async stop(from: number, to: number): Promise<{ major: number; minor: number; ms: number }> {
    await new Promise((r) => setTimeout(r, 20));
    this.obs.disconnect();
    this.events = [];
    let major = 0;
    let minor = 0;
    let ms = 0;
    for (const e of this.entries) {
      if (e.startTime < from || e.startTime > to) continue;
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? (e as unknown as { kind?: number }).kind;
      const k = kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR ? "major" : kind === perfConstants.NODE_PERFORMANCE_GC_MINOR ? "minor" : "other";
      if (k === "major") major++;
      else if (k === "minor") minor++;
      ms += e.duration;
      this.events.push({ start: e.startTime, ms: e.duration, kind: k });
    }
    return { major, minor, ms };
  }
}

/** The GC fields of a SimResult from GcCounter.stop()'s counts over `ticks` timed ticks. */
export function gcFields(g: { major: number; minor: number; ms: number }, ticks: number) {
  return {
    major_gcs: g.major,
    minor_gcs: g.minor,
    gc_ms: round(g.ms, 2),
    major_gcs_per_10k_ticks: round((g.major * 10_000) / ticks, 2),
  };
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Median, 99th percentile, largest and mean ms per tick of one system. */
export interface SystemLatency {
  system: string;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Each system's ms-per-tick quantiles from a per-tick record (World.systemTickTimes): `ms[r *
 * systems.length + k]` is system k's ms in recorded tick r. In the given (schedule) order.
 */
export function systemLatency(systems: readonly string[], ms: Float64Array): SystemLatency[] {
  const n = systems.length;
  const rows = n === 0 ? 0 : Math.floor(ms.length / n);
  const col = new Float64Array(rows);
  return systems.map((system, k) => {
    let sum = 0;
    let max = 0;
    for (let r = 0; r < rows; r++) {
      const v = ms[r * n + k];
      col[r] = v;
      sum += v;
      if (v > max) max = v;
    }
    return { system, p50: round(quantile(col, 0.5), 4), p99: round(quantile(col, 0.99), 4), max: round(max, 4), mean: round(rows ? sum / rows : NaN, 4) };
  });
}

/** A system that took longer than its median in a slow tick: its ms, and by how much. */
export interface SystemOver {
  system: string;
  ms: number;
  over_p50: number;
}

/** One of the slowest ticks and what made it slow. */
export interface SlowTick {
  /** The tick's number (world.tick after it). */
  tick: number;
  /** Its tick of the simulated day (tick mod ticks per day), when the day length is known. */
  tick_of_day?: number;
  /** Wall ms of the whole tick, and how far above the median tick. */
  ms: number;
  over_p50: number;
  /** Systems at least `minOverMs` above their own median in this tick, largest excess first. */
  systems: SystemOver[];
  /** Wall ms of the tick outside every system (message bookkeeping, end-of-tick tasks, listeners). */
  outside_systems_ms: number;
  /** GCs that started inside the tick ("minor", "major" ...) and their total pause (ms). */
  gcs: string[];
  gc_ms: number;
}

/** The inputs of slowestTicks: the timed ticks and the per-system record of the same ticks. */
export interface TickRecord {
  /** Wall ms of each timed tick. */
  tickMs: ArrayLike<number>;
  /** performance.now() when each timed tick began (for placing GCs); optional. */
  tickStart?: ArrayLike<number>;
  /** Wall ms of each timed tick, when tickMs is another clock's (a GC lies in [start, start + wall]). */
  tickWallMs?: ArrayLike<number>;
  /** The tick number of each timed tick. */
  ticks: ArrayLike<number>;
  /** System names and their ms per tick: ms[r * systems.length + k] (row r = timed tick r). */
  systems: readonly string[];
  ms: Float64Array;
  gcs?: readonly GcEvent[];
  ticksPerDay?: number;
}

/**
 * The `count` slowest ticks (wall ms), slowest first, each with the systems that were at least
 * `minOverMs` over their own median in it, the time outside the systems and the GCs inside it.
 */
export function slowestTicks(rec: TickRecord, count: number, minOverMs = 0.25): SlowTick[] {
  const n = rec.systems.length;
  const rows = rec.tickMs.length;
  const med = systemLatency(rec.systems, rec.ms).map((l) => l.p50);
  const tickP50 = quantile(rec.tickMs, 0.5);
  const order = Array.from({ length: rows }, (_, r) => r).sort((a, b) => rec.tickMs[b] - rec.tickMs[a] || a - b);
  const out: SlowTick[] = [];
  for (const r of order.slice(0, Math.max(0, count))) {
    const systems: SystemOver[] = [];
    let inSystems = 0;
    for (let k = 0; k < n; k++) {
      const v = rec.ms[r * n + k];
      inSystems += v;
      if (v - med[k] >= minOverMs) systems.push({ system: rec.systems[k], ms: round(v, 3), over_p50: round(v - med[k], 3) });
    }
    systems.sort((a, b) => b.over_p50 - a.over_p50);
    const gcs: string[] = [];
    let gcMs = 0;
    if (rec.gcs && rec.tickStart) {
      const t0 = rec.tickStart[r];
      const t1 = t0 + (rec.tickWallMs ?? rec.tickMs)[r];
      for (const g of rec.gcs) {
        if (g.start < t0 || g.start > t1) continue;
        gcs.push(g.kind);
        gcMs += g.ms;
      }
    }
    const tick = rec.ticks[r];
    out.push({
      tick,
      ...(rec.ticksPerDay ? { tick_of_day: tick % rec.ticksPerDay } : {}),
      ms: round(rec.tickMs[r], 3),
      over_p50: round(rec.tickMs[r] - tickP50, 3),
      systems,
      outside_systems_ms: round(rec.tickMs[r] - inSystems, 3),
      gcs,
      gc_ms: round(gcMs, 3),
    });
  }
  return out;
}

/**
 * A major GC in the timed ticks and what had grown before it. V8 starts a full GC when the old
 * generation reaches a limit set from its size after the last one, or when its external memory
 * (ArrayBuffer stores: typed arrays) has grown 64 MB past its level at the last one
 * (node --trace-incremental-marking names which). The changes are since the tick after the
 * previous major GC in the window, or since the first timed tick.
 */
export interface MajorGc {
  /** The tick it started in (the next one when it started between ticks; the last one when after it, as the bench counts it). */
  tick: number;
  tick_of_day?: number;
  ms: number;
  /** JS heap used and V8's external memory at the start of that tick, MB. */
  heap_used_mb: number;
  external_mb: number;
  heap_used_change_mb: number;
  external_change_mb: number;
}

/** The inputs of majorGcList: each timed tick's start, wall ms and number, and the heap before it. */
export interface HeapRecord {
  tickStart: ArrayLike<number>;
  tickWallMs: ArrayLike<number>;
  ticks: ArrayLike<number>;
  /** heap used and external memory (bytes) at the start of each timed tick. */
  heapUsed: ArrayLike<number>;
  external: ArrayLike<number>;
  gcs: readonly GcEvent[];
  ticksPerDay?: number;
}

/** Every major GC in the timed ticks with the tick it fell in and the heap's growth before it. */
export function majorGcList(rec: HeapRecord): MajorGc[] {
  const rows = rec.tickStart.length;
  const out: MajorGc[] = [];
  let since = 0;
  const mb = (b: number) => round(b / 2 ** 20, 2);
  for (const g of rec.gcs) {
    if (g.kind !== "major") continue;
    let r = 0;
    while (r < rows - 1 && rec.tickStart[r] + rec.tickWallMs[r] < g.start) r++;
    if (rows === 0) break;
    const tick = rec.ticks[r];
    out.push({
      tick,
      ...(rec.ticksPerDay ? { tick_of_day: tick % rec.ticksPerDay } : {}),
      ms: round(g.ms, 3),
      heap_used_mb: mb(rec.heapUsed[r]),
      external_mb: mb(rec.external[r]),
      heap_used_change_mb: mb(rec.heapUsed[r] - rec.heapUsed[since]),
      external_change_mb: mb(rec.external[r] - rec.external[since]),
    });
    since = Math.min(rows - 1, r + 1);
  }
  return out;
}

/** A contributor to the slow ticks: in how many it was over its median, and its summed excess. */
export interface SlowContributor {
  /** A system, or "(gc)" for collections inside the slow ticks. */
  system: string;
  ticks: number;
  over_p50_ms: number;
}

/** Who made the slow ticks slow: per system (and GC), summed over `slow`, largest excess first. */
export function slowContributors(slow: readonly SlowTick[]): SlowContributor[] {
  const by = new Map<string, SlowContributor>();
  const add = (system: string, ms: number) => {
    const c = by.get(system) ?? { system, ticks: 0, over_p50_ms: 0 };
    c.ticks++;
    c.over_p50_ms += ms;
    by.set(system, c);
  };
  for (const t of slow) {
    for (const s of t.systems) add(s.system, s.over_p50);
    if (t.gcs.length) add("(gc)", t.gc_ms);
  }
  return [...by.values()].map((c) => ({ ...c, over_p50_ms: round(c.over_p50_ms, 3) })).sort((a, b) => b.over_p50_ms - a.over_p50_ms || a.system.localeCompare(b.system));
}

/** Slow ticks listed by the bench: the top 1% (at or above the p99), at least 5, at most 100. */
export function slowTickCount(ticks: number): number {
  return Math.min(ticks, Math.min(100, Math.max(5, Math.ceil(ticks / 100))));
}

/**
 * The per-system latency fields of a SimResult: each system's p50/p99/max/mean wall ms per tick,
 * the slowest ticks with the systems over their median in them, and the summed contributors.
 */
export function attributionFields(rec: TickRecord) {
  const slowest = slowestTicks(rec, slowTickCount(rec.tickMs.length));
  return {
    ticks_per_day: rec.ticksPerDay ?? null,
    system_latency: systemLatency(rec.systems, rec.ms),
    slowest_ticks: slowest,
    slow_tick_contributors: slowContributors(slowest),
  };
}

/** The inputs of tickCsv: the timed ticks' record (TickRecord) with each tick's CPU ms and heap. */
export interface TickCsvRecord extends TickRecord {
  /** Wall ms and CPU ms of each timed tick (world.step() alone). */
  tickWallMs: ArrayLike<number>;
  tickCpuMs: ArrayLike<number>;
  /** JS heap used at the start of each tick (bytes), when recorded. */
  heapUsed?: ArrayLike<number>;
  /** What the systems' ms were timed with ("wall" or "cpu"): outside_ms is the same clock's tick minus them. */
  clock: "wall" | "cpu";
  /** Messages sent in each tick per channel: counts[r * names.length + k]; channels never used are left out. */
  events?: { names: readonly string[]; counts: ArrayLike<number> };
}

/**
 * One line per timed tick, written after the run (`--tick-csv`): tick, tick_of_day, wall_ms,
 * cpu_ms, outside_ms (the tick on the systems' clock minus their sum), minor and major GCs that
 * started in it and their pause, heap_mb at its start, then each system's ms (the --clock's), then
 * with `events` the messages sent in it per channel ("n:<channel>", the channels that ever sent).
 */
export function tickCsv(rec: TickCsvRecord): string {
  const n = rec.systems.length;
  const rows = rec.tickWallMs.length;
  const ev = rec.events;
  const m = ev ? ev.names.length : 0;
  const used: number[] = [];
  for (let k = 0; k < m; k++) {
    let r = 0;
    while (r < rows && ev!.counts[r * m + k] === 0) r++;
    if (r < rows) used.push(k);
  }
  const head = ["tick", "tick_of_day", "wall_ms", "cpu_ms", "outside_ms", "minor_gcs", "major_gcs", "gc_ms", "heap_mb", ...rec.systems, ...used.map((k) => `n:${ev!.names[k]}`)];
  const lines = [head.join(",")];
  const gcs = rec.gcs ?? [];
  let g = 0;
  const f = (x: number) => String(round(x, 3));
  for (let r = 0; r < rows; r++) {
    const t0 = rec.tickStart ? rec.tickStart[r] : NaN;
    const t1 = t0 + rec.tickWallMs[r];
    let minor = 0;
    let major = 0;
    let gcMs = 0;
    // GCs are in start order; one that started between ticks counts in no tick.
    while (g < gcs.length && gcs[g].start < t0) g++;
    for (let j = g; j < gcs.length && gcs[j].start <= t1; j++) {
      if (gcs[j].kind === "major") major++;
      else if (gcs[j].kind === "minor") minor++;
      gcMs += gcs[j].ms;
    }
    let sum = 0;
    const cells: string[] = [];
    for (let k = 0; k < n; k++) {
      const v = rec.ms[r * n + k];
      sum += v;
      cells.push(f(v));
    }
    for (const k of used) cells.push(String(ev!.counts[r * m + k]));
    const tick = rec.ticks[r];
    const own = rec.clock === "cpu" ? rec.tickCpuMs[r] : rec.tickWallMs[r];
    const tod = rec.ticksPerDay ? tick % rec.ticksPerDay : "";
    const heap = rec.heapUsed ? f(rec.heapUsed[r] / 2 ** 20) : "";
    lines.push([tick, tod, f(rec.tickWallMs[r]), f(rec.tickCpuMs[r]), f(own - sum), minor, major, f(gcMs), heap, ...cells].join(","));
  }
  return lines.join("\n") + "\n";
}

/** A tick of the day, by its median wall ms over the simulated days a run timed. */
export interface DailyTick {
  tick_of_day: number;
  median_ms: number;
  /** median_ms over the p50 of all the timed ticks. */
  over_p50: number;
}

/**
 * The periodic view of a run's tick times (issue #19: "no periodic spikes from daily resets"):
 * every tick of the day's median over the days timed, against the p50 of all timed ticks. A spike
 * that comes back every day (a nightly reset, a shift change, a wave of finishes) stands out here
 * however noisy one day was; a one-time spike (JIT, a first use) or a burst of machine noise does not.
 */
export interface DailyProfile {
  /** The fewest times a tick of the day was timed (whole days; at least MIN_DAYS). */
  days: number;
  /** The ratio limit of over_limit (the #19 goal's 1.2). */
  limit: number;
  /** The slowest tick of the day. */
  worst: DailyTick;
  /** Ticks of the day whose median is over limit x p50, slowest first (at most 12). */
  over_limit: DailyTick[];
  /** How many ticks of the day are over limit x p50 in all. */
  over_limit_count: number;
}

/** Whole days a daily profile needs: the median of three days leaves one day's one-time spike out (of two, it is half of it). */
export const MIN_DAYS = 3;

/** The limit of DailyProfile.over_limit: the #19 goal's ratio of p99 to p50. */
export const PERIODIC_LIMIT = 1.2;

/**
 * DailyProfile of `tickMs` (wall ms of consecutive ticks, the first being tick `firstTick`) with
 * `ticksPerDay` ticks a day; null when fewer than MIN_DAYS whole days were timed (or no day length).
 */
export function dailyProfile(tickMs: ArrayLike<number>, firstTick: number, ticksPerDay: number, limit = PERIODIC_LIMIT): DailyProfile | null {
  const n = tickMs.length;
  if (!(ticksPerDay > 0) || n < MIN_DAYS * ticksPerDay) return null;
  const p50 = quantile(tickMs, 0.5);
  const perDay = Math.floor(n / ticksPerDay) + 1;
  const byTod: Float64Array[] = Array.from({ length: ticksPerDay }, () => new Float64Array(perDay));
  const count = new Int32Array(ticksPerDay);
  for (let i = 0; i < n; i++) {
    const tod = (((firstTick + i) % ticksPerDay) + ticksPerDay) % ticksPerDay;
    byTod[tod][count[tod]++] = tickMs[i];
  }
  const rows: DailyTick[] = byTod.map((xs, tod) => {
    const m = median(xs.subarray(0, count[tod]));
    return { tick_of_day: tod, median_ms: round(m, 4), over_p50: round(m / p50, 3) };
  });
  rows.sort((a, b) => b.over_p50 - a.over_p50 || a.tick_of_day - b.tick_of_day);
  const over = rows.filter((r) => r.over_p50 > limit);
  return { days: Math.min(...count), limit, worst: rows[0], over_limit: over.slice(0, 12), over_limit_count: over.length };
}

function median(xs: Float64Array): number {
  const s = Float64Array.from(xs).sort();
  const k = s.length;
  return k & 1 ? s[k >> 1] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

/** The profile as one line of text (the bench's table output). */
export function formatDailyProfile(d: DailyProfile): string {
  const list = d.over_limit.map((r) => `${r.tick_of_day} (${r.over_p50.toFixed(2)}x)`).join(", ");
  const more = d.over_limit_count > d.over_limit.length ? ` and ${d.over_limit_count - d.over_limit.length} more` : "";
  return `ticks of the day over ${d.limit}x p50 by their median over ${d.days} days: ${d.over_limit_count ? `${list}${more}` : "none"}; slowest tick of the day ${d.worst.tick_of_day} at ${d.worst.over_p50.toFixed(2)}x`;
}
