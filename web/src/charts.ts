// Live KPI charts (uPlot): one point per tick into fixed-length columns holding at least one
// in-game day, redrawn at most a few times a second whatever the tick rate. Two histories are
// kept side by side: every town's (world KPIs and aggregates), and the selected town's (from the
// per-town overview, its agents and its events, since it was picked); the page shows one of them.
// Counters the world keeps as running totals are charted as they are: the slope is the rate.
// Axes size themselves to their widest label, so labels are never cut off.
import uPlot from "uplot";
import type { ChartAxisLayout } from "./api.ts";
import { h } from "./dom.ts";
import { kpi, kpiSum, needs, type TownState } from "./model.ts";
import { clock } from "./town.ts";

/** One town's figures at a tick (main.ts computes them from the state and the town's events). */
export interface TownFigures {
  /** Mean of each need of the list, by name. */
  needs: Record<string, number>;
  /** Counted from the town's events since it was picked. */
  completed: number;
  failed: number;
  late: number;
  exits: number;
  spawns: number;
  conflicts: number;
  wages: number;
  wallet: number;
  onShift: number;
  lateNow: number;
  alive: number;
  queued: number;
}

interface Series<S> {
  label: string;
  colour: string;
  read(s: S): number;
}

interface ChartSpec<S> {
  title: string;
  series: Series<S>[];
}

/** One series per need of the world's list (model.ts needs()). */
const needSeries = () => needs().map((n) => ({ name: n.name, label: n.label, colour: n.colour }));

const allSpecs = (): ChartSpec<TownState>[] => [
  {
    title: "Mean needs (1 = sated)",
    series: needSeries().map((s) => ({ label: s.label, colour: s.colour, read: (st: TownState) => st.aggregates?.mean_needs[s.name] ?? kpi(st, `mean_needs.${s.name}`) })),
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

const townSpecs = (): ChartSpec<TownFigures>[] => [
  { title: "Mean needs (1 = sated)", series: needSeries().map((s) => ({ label: s.label, colour: s.colour, read: (f: TownFigures) => f.needs[s.name] ?? 0 })) },
  {
    title: "Affordances (counted since picked)",
    series: [
      { label: "completed", colour: "#57c26a", read: (f) => f.completed },
      { label: "failed", colour: "#ef5350", read: (f) => f.failed },
    ],
  },
  {
    title: "Money",
    series: [
      { label: "wages paid", colour: "#e6c145", read: (f) => f.wages },
      { label: "wallet mean", colour: "#5ab0ff", read: (f) => f.wallet },
    ],
  },
  {
    title: "Work",
    series: [
      { label: "late arrivals (since picked)", colour: "#ef5350", read: (f) => f.late },
      { label: "late now", colour: "#ff9e80", read: (f) => f.lateNow },
      { label: "on shift", colour: "#57c26a", read: (f) => f.onShift },
    ],
  },
  {
    title: "Population",
    series: [
      { label: "exits (since picked)", colour: "#ef5350", read: (f) => f.exits },
      { label: "spawns (since picked)", colour: "#57c26a", read: (f) => f.spawns },
      { label: "alive", colour: "#8b95a3", read: (f) => f.alive },
    ],
  },
  {
    title: "Queues",
    series: [
      { label: "queue conflicts (since picked)", colour: "#ffb020", read: (f) => f.conflicts },
      { label: "queued now", colour: "#ffc45c", read: (f) => f.queued },
    ],
  },
];

/** Points kept per series when the day length is unknown, and the most drawn per series. */
const MIN_WINDOW = 600;
const MAX_POINTS = 3000;

/** One history: columns per chart, sampled every `stride` ticks. */
class History<S> {
  data: number[][][];
  lastTick = -1;
  /** Tick of the first point (the town's history starts when it is picked). */
  since = -1;

  constructor(readonly specs: ChartSpec<S>[]) {
    this.data = specs.map((spec) => [[], ...spec.series.map(() => [])]);
  }

  push(tick: number, s: S, window: number): void {
    if (this.since < 0) this.since = tick;
    this.lastTick = tick;
    this.specs.forEach((spec, c) => {
      const cols = this.data[c];
      cols[0].push(tick);
      spec.series.forEach((se, i) => cols[i + 1].push(se.read(s)));
      if (cols[0].length > window) for (const col of cols) col.splice(0, col.length - window);
    });
  }

  reset(): void {
    for (const cols of this.data) for (const col of cols) col.length = 0;
    this.lastTick = -1;
    this.since = -1;
  }

  get held(): number {
    return this.data[0]?.[0].length ?? 0;
  }
}

/** Numbers short enough for an axis: 12.5k, 3.2M. */
function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return String(+v.toPrecision(3));
}

const AXIS = { stroke: "#8b95a3", grid: { stroke: "#262b34" }, ticks: { stroke: "#262b34", size: 6 }, gap: 4 } as const;

export class KpiCharts {
  private plots: { plot: uPlot; el: HTMLElement }[] = [];
  private all = new History<TownState>(allSpecs());
  private town = new History<TownFigures>(townSpecs());
  private pending = false;
  private lastFlush = 0;
  private ticksPerDay: number | null = null;
  private stride = 1;
  /** Points kept per series: at least one in-game day. */
  window = MIN_WINDOW;
  scope: "all" | "town" = "all";
  /** Points appended since the page started (tests watch it grow). */
  points = 0;

  constructor(private readonly root: HTMLElement) {
    this.build();
    new ResizeObserver(() => this.resize()).observe(root);
  }

  /** The day's length in ticks (from the layout): the window holds a day and a quarter. */
  setDay(ticksPerDay: number | null): void {
    if (ticksPerDay === this.ticksPerDay) return;
    this.ticksPerDay = ticksPerDay;
    const want = ticksPerDay ? Math.ceil(ticksPerDay * 1.25) : MIN_WINDOW;
    this.stride = Math.max(1, Math.ceil(want / MAX_POINTS));
    this.window = Math.max(MIN_WINDOW, Math.ceil(want / this.stride));
    this.build();
  }

  /** The world's needs list changed (model.ts adoptNeeds): the needs charts start over with a series each. */
  setNeeds(): void {
    this.all = new History<TownState>(allSpecs());
    this.town = new History<TownFigures>(townSpecs());
    this.build();
  }

  /** Shows every town's history, or the selected town's. */
  setScope(scope: "all" | "town"): void {
    if (scope === this.scope) return;
    this.scope = scope;
    this.build();
  }

  /** Another town was picked: its history starts over. */
  resetTown(): void {
    this.town.reset();
    if (this.scope === "town") this.pending = true;
  }

  /** Appends one point per series for this tick (once per tick; a resync does not repeat it). */
  sample(tick: number, state: TownState, town: TownFigures | null): void {
    if (tick <= this.all.lastTick) {
      if (tick < this.all.lastTick) {
        // A snapshot was loaded at an earlier tick: start over.
        this.all.reset();
        this.town.reset();
      } else return;
    }
    if (tick % this.stride !== 0 && this.all.lastTick >= 0) {
      this.all.lastTick = tick;
      return;
    }
    this.all.push(tick, state, this.window);
    if (town) this.town.push(tick, town, this.window);
    this.points++;
    this.pending = true;
  }

  /** Redraws if points arrived, at most every `everyMs`. */
  flush(now: number, everyMs = 200): void {
    if (!this.pending || now - this.lastFlush < everyMs) return;
    this.pending = false;
    this.lastFlush = now;
    const data = this.shown().data;
    this.plots.forEach(({ plot }, c) => {
      // A copy: the history keeps growing while the page's view is paused, the plot must not.
      plot.setData(data[c].map((col) => col.slice()) as uPlot.AlignedData);
      // Away from the cursor the legend shows the latest values (uPlot shows "--" otherwise).
      if ((plot.cursor.left ?? -1) < 0 && data[c][0].length > 0) plot.setLegend({ idx: data[c][0].length - 1 });
    });
  }

  /** Points currently held per series (of the history shown). */
  held(): number {
    return this.shown().held;
  }

  /** The tick the shown history starts at (-1 when empty). */
  since(): number {
    return this.shown().since;
  }

  /** Ticks the history spans at most and now, points drawn in the first chart, the charts' titles. */
  history(): { window: number; held: number; drawn: number; since: number; ticksPerDay: number | null; titles: string[] } {
    return {
      window: this.window * this.stride,
      held: this.held() * this.stride,
      drawn: this.plots[0]?.plot.data[0]?.length ?? 0,
      since: this.since(),
      ticksPerDay: this.ticksPerDay,
      titles: this.plots.map(({ plot }) => plot.root.querySelector(".u-title")?.textContent ?? ""),
    };
  }

  /** Each axis's room and what its labels need, as laid out now (CSS pixels). */
  axes(): ChartAxisLayout[] {
    const out: ChartAxisLayout[] = [];
    for (const { plot } of this.plots) {
      const title = plot.root.querySelector(".u-title")?.textContent ?? "";
      const ratio = plot.ctx.canvas.width / Math.max(1, plot.width);
      const plotLeft = plot.bbox.left / ratio;
      const plotWidth = plot.bbox.width / ratio;
      plot.axes.forEach((axis, i) => {
        const a = axis as uPlot.Axis & { _values?: string[] | null; _splits?: number[] | null; font?: [string, number] };
        const labels = a._values ?? [];
        plot.ctx.font = a.font?.[0] ?? "12px sans-serif";
        const widths = labels.map((l) => plot.ctx.measureText(l).width / ratio);
        if (i === 0) {
          // x: every label inside the chart's canvas, left and right.
          const splits = a._splits ?? [];
          let need = 0;
          let overLeft = 0;
          splits.forEach((v, k) => {
            const x = plotLeft + plot.valToPos(v, "x");
            need = Math.max(need, x + (widths[k] ?? 0) / 2);
            overLeft = Math.max(overLeft, (widths[k] ?? 0) / 2 - x);
          });
          out.push({ chart: title, axis: "x", room: plot.width, need: need + overLeft, labels });
        } else {
          const tick = (a.ticks as { size?: number } | undefined)?.size ?? 0;
          out.push({ chart: title, axis: "y", room: plotLeft - tick - (a.gap ?? 0), need: Math.max(0, ...widths), labels });
        }
        void plotWidth;
      });
    }
    return out;
  }

  private shown(): History<TownState> | History<TownFigures> {
    return this.scope === "town" ? this.town : this.all;
  }

  /** (Re)creates the plots for the shown history. */
  private build(): void {
    for (const { plot } of this.plots) plot.destroy();
    this.plots = [];
    this.root.replaceChildren();
    const hist = this.shown();
    const tpd = () => this.ticksPerDay;
    hist.specs.forEach((spec: ChartSpec<never>, c: number) => {
      const el = h("div", { class: "chart", "data-chart": String(c) });
      this.root.append(el);
      const plot = new uPlot(
        {
          title: spec.title,
          width: Math.max(200, el.clientWidth - 12 || 300),
          height: 150,
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: false } },
          // Room on the right for the last x label's overhang, measured.
          padding: [10, xOverhang, 0, 0],
          axes: [
            {
              ...AXIS,
              space: 70,
              size: 30,
              values: (_u, splits) =>
                splits.map((v) => {
                  const c = clock(v, tpd());
                  return c ? `d${c.day} ${c.time}` : short(v);
                }),
            },
            { ...AXIS, space: 28, size: ySize, values: (_u, splits) => splits.map(short) },
          ],
          series: [{ label: "tick", value: (_u, v) => (v === null || v === undefined ? "--" : String(v)) }, ...spec.series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.5, points: { show: false } }))],
        },
        hist.data[c].map((col) => col.slice()) as uPlot.AlignedData,
        el,
      );
      this.plots.push({ plot, el });
    });
    this.pending = true;
    this.resize();
  }

  private resize(): void {
    for (const { plot, el } of this.plots) {
      const w = Math.max(200, el.clientWidth - 12);
      if (Math.abs(plot.width - w) > 2) plot.setSize({ width: w, height: 150 });
    }
  }
}

/**
 * A y axis as wide as its widest label, plus its ticks and gap; and at least as wide as the first
 * x label's overhang (xOverhang), so that a tick label at the plot's left edge is not cut off by the
 * canvas (short y labels such as "0" left ~3 px of "d1 00:25" outside it).
 */
function ySize(u: uPlot, values: string[] | null, axisIdx: number, cycle: number): number {
  const axis = u.axes[axisIdx] as uPlot.Axis & { _size?: number; font?: [string, number] };
  if (cycle > 1 && axis._size) return axis._size;
  const ratio = u.ctx.canvas.width / Math.max(1, u.width);
  u.ctx.font = axis.font?.[0] ?? "12px sans-serif";
  let widest = 0;
  for (const v of values ?? []) widest = Math.max(widest, u.ctx.measureText(v).width / ratio);
  return Math.max(Math.ceil(widest + AXIS.ticks.size + AXIS.gap + 4), xOverhang(u));
}

/**
 * Half the widest x label there can be ("d88 88:88", or a six-digit tick): what the rightmost one
 * may stick out past the plot. Measured from a template, not the labels of the moment, so the
 * padding does not depend on which labels uPlot picked in its last layout pass.
 */
function xOverhang(u: uPlot): number {
  const axis = u.axes[0] as (uPlot.Axis & { font?: [string, number] }) | undefined;
  const ratio = u.ctx.canvas.width / Math.max(1, u.width);
  u.ctx.font = axis?.font?.[0] ?? "12px sans-serif";
  const widest = Math.max(...["d88 88:88", "888888", ...((axis as { _values?: string[] | null } | undefined)?._values ?? [])].map((v) => u.ctx.measureText(v).width / ratio));
  return Math.ceil(widest / 2 + 4);
}
