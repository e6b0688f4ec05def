// Tick-latency and garbage-collection statistics of the simulation benchmark (bench/sim.ts): the
// quantiles of the timed ticks and the GCs (perf_hooks entries) that started during them.
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

/** The q-quantile (0..1) of `xs` by the nearest-rank rule. */
function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
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

/** GC entries (perf_hooks) started within [from, to], by kind. */
export class GcCounter {
  private entries: PerformanceEntry[] = [];
  private obs = new PerformanceObserver((list) => this.entries.push(...list.getEntries()));
  start(): void {
    this.obs.observe({ entryTypes: ["gc"] });
  }
  /** Waits for buffered entries to arrive, stops observing and counts those inside the window. */
  async stop(from: number, to: number): Promise<{ major: number; minor: number; ms: number }> {
    await new Promise((r) => setTimeout(r, 20));
    this.obs.disconnect();
    let major = 0;
    let minor = 0;
    let ms = 0;
    for (const e of this.entries) {
      if (e.startTime < from || e.startTime > to) continue;
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? (e as unknown as { kind?: number }).kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) major++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minor++;
      ms += e.duration;
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
