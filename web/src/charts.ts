// Live KPI charts (uPlot): one point per tick into fixed-length columns, redrawn at most a few
// times a second whatever the tick rate. Counters the world keeps as running totals (completions,
// late arrivals, exits...) are charted as they are: the slope is the rate.
import uPlot from "uplot";
import { NEED_COLOURS, h } from "./dom.ts";
import { kpi, kpiSum, type TownState } from "./model.ts";

interface Series {
  label: string;
  colour: string;
  read(s: TownState): number;
}

interface ChartSpec {
  title: string;
  series: Series[];
}

const SPECS: ChartSpec[] = [
  {
    title: "Mean needs (1 = sated)",
    series: (["hunger", "hygiene", "energy"] as const).map((k) => ({ label: k, colour: NEED_COLOURS[k], read: (s: TownState) => s.aggregates?.mean_needs[k] ?? kpi(s, `mean_needs.${k}`) })),
  },
  {
    title: "Affordances (running totals)",
    series: [
      { label: "completed", colour: "#57c26a", read: (s) => kpiSum(s, "affordances_completed") },
      { label: "failed", colour: "#ef5350", read: (s) => kpi(s, "affordance_failures") },
    ],
  },
  {
    title: "Money",
    series: [
      { label: "wages paid", colour: "#e6c145", read: (s) => kpi(s, "wages_paid") },
      { label: "wallet mean", colour: "#5ab0ff", read: (s) => s.aggregates?.wallet_mean ?? kpi(s, "wallet_mean") },
    ],
  },
  {
    title: "Work",
    series: [
      { label: "late arrivals", colour: "#ef5350", read: (s) => kpi(s, "job_late") },
      { label: "on shift", colour: "#57c26a", read: (s) => s.aggregates?.on_shift ?? 0 },
    ],
  },
  {
    title: "Population (running totals)",
    series: [
      { label: "exits", colour: "#ef5350", read: (s) => kpi(s, "exits.total") },
      { label: "spawns", colour: "#57c26a", read: (s) => kpi(s, "spawns") },
      { label: "alive", colour: "#8b95a3", read: (s) => kpi(s, "alive_agents") },
    ],
  },
  {
    title: "Queues and stability",
    series: [
      { label: "queue conflicts", colour: "#ffb020", read: (s) => kpi(s, "queue_conflicts") },
      { label: "ghost steps", colour: "#b47cf0", read: (s) => kpi(s, "queue_ghost_steps") },
      { label: "stability alerts", colour: "#ef5350", read: (s) => s.stability?.alerts?.length ?? 0 },
    ],
  },
];

/** Points kept per series. */
const WINDOW = 600;

export class KpiCharts {
  private readonly plots: { plot: uPlot; spec: ChartSpec; data: number[][] }[] = [];
  private lastTick = -1;
  private pending = false;
  private lastFlush = 0;
  /** Points appended since the page started (tests watch it grow). */
  points = 0;

  constructor(private readonly root: HTMLElement) {
    for (const spec of SPECS) {
      const el = h("div", { class: "chart" });
      root.append(el);
      const data: number[][] = [[], ...spec.series.map(() => [])];
      const plot = new uPlot(
        {
          title: spec.title,
          width: 300,
          height: 150,
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: false } },
          axes: [
            { stroke: "#8b95a3", grid: { stroke: "#262b34" }, ticks: { stroke: "#262b34" }, size: 28 },
            { stroke: "#8b95a3", grid: { stroke: "#262b34" }, ticks: { stroke: "#262b34" }, size: 44 },
          ],
          series: [{ label: "tick" }, ...spec.series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.5, points: { show: false } }))],
        },
        data as uPlot.AlignedData,
        el,
      );
      this.plots.push({ plot, spec, data });
    }
    const resize = () => {
      for (const { plot } of this.plots) {
        const w = Math.max(200, (plot.root.parentElement?.clientWidth ?? 300) - 12);
        if (Math.abs(plot.width - w) > 2) plot.setSize({ width: w, height: 150 });
      }
    };
    new ResizeObserver(resize).observe(root);
    resize();
  }

  /** Appends one point per series for this tick (once per tick; a resync does not repeat it). */
  sample(tick: number, state: TownState): void {
    if (tick <= this.lastTick) {
      if (tick < this.lastTick) this.reset();
      else return;
    }
    this.lastTick = tick;
    for (const p of this.plots) {
      p.data[0].push(tick);
      p.spec.series.forEach((s, i) => p.data[i + 1].push(s.read(state)));
      if (p.data[0].length > WINDOW) for (const col of p.data) col.shift();
    }
    this.points++;
    this.pending = true;
  }

  /** Redraws if points arrived, at most every `everyMs`. */
  flush(now: number, everyMs = 200): void {
    if (!this.pending || now - this.lastFlush < everyMs) return;
    this.pending = false;
    this.lastFlush = now;
    for (const { plot, data } of this.plots) {
      plot.setData(data as uPlot.AlignedData);
      // Away from the cursor the legend shows the latest values (uPlot shows "--" otherwise).
      if ((plot.cursor.left ?? -1) < 0 && data[0].length > 0) plot.setLegend({ idx: data[0].length - 1 });
    }
  }

  /** Points currently held per series. */
  held(): number {
    return this.plots[0]?.data[0].length ?? 0;
  }

  /** A snapshot was loaded at an earlier tick: start over. */
  private reset(): void {
    for (const p of this.plots) for (const col of p.data) col.length = 0;
  }
}
