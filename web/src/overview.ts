// The overview of all towns: a heat map, one cell per town, coloured by a KPI from the
// `towns_overview` section (or agent counts from aggregates.by_town when that is all there is).
// Clicking a cell picks the town.
import { goodBad, mix } from "./dom.ts";
import { needs, type TownsOverview } from "./model.ts";

/** "lowest" (lowest mean need), a need's name, or one of the other towns_overview figures. */
export type OverviewKpi = "lowest" | "wallet" | "late" | "queued" | "agents" | (string & {});

const isNeed = (kpi: string) => needs().some((n) => n.name === kpi);

export class OverviewView {
  private readonly ctx: CanvasRenderingContext2D;
  private data: TownsOverview | undefined;
  private counts: number[] | undefined;
  private towns = 0;
  private cols = 1;
  private cell = 1;
  kpi: OverviewKpi = "lowest";
  selected = 0;
  dirty = true;
  /** "min .. max" of the KPI shown, for the legend. */
  scale = "";

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("observer page: the overview canvas has no 2d context");
    this.ctx = ctx;
  }

  update(towns: number, data: TownsOverview | undefined, byTown: number[] | undefined): void {
    if (data === this.data && byTown === this.counts && towns === this.towns) return;
    this.towns = towns;
    this.data = data;
    this.counts = byTown;
    this.dirty = true;
  }

  private values(): { v: Float64Array; good: boolean } {
    const n = this.towns;
    const v = new Float64Array(n);
    const d = this.data;
    if (!d) {
      for (let t = 0; t < n; t++) v[t] = this.counts?.[t] ?? 0;
      return { v, good: true };
    }
    const list = needs();
    for (let t = 0; t < n; t++) {
      if (this.kpi === "lowest") {
        let low = list.length > 0 ? Infinity : 0;
        for (const need of list) low = Math.min(low, d[need.name]?.[t] ?? 0);
        v[t] = low;
      } else v[t] = d[this.kpi]?.[t] ?? 0;
    }
    return { v, good: this.kpi !== "late" && this.kpi !== "queued" };
  }

  draw(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const r = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr));
    const h = Math.max(1, Math.round(r.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const g = this.ctx;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#101317";
    g.fillRect(0, 0, r.width, r.height);
    const n = this.towns;
    if (n === 0) return;
    // As many columns as keep cells square and the whole map inside the canvas.
    const aspect = r.width / Math.max(1, r.height);
    this.cols = Math.max(1, Math.ceil(Math.sqrt(n * aspect)));
    const rows = Math.ceil(n / this.cols);
    this.cell = Math.max(1, Math.min(r.width / this.cols, r.height / rows));
    const { v, good } = this.values();
    let lo = Infinity;
    let hi = -Infinity;
    for (let t = 0; t < n; t++) {
      if (v[t] < lo) lo = v[t];
      if (v[t] > hi) hi = v[t];
    }
    const needs = this.kpi === "lowest" || isNeed(this.kpi);
    // Needs keep their absolute [0, 1] scale so a town at 0.9 always looks sated.
    const min = needs ? 0 : lo;
    const span = needs ? 1 : hi - lo || 1;
    this.scale = `${this.kpi}: ${fmt(lo)} .. ${fmt(hi)}`;
    const gap = this.cell >= 6 ? 1 : 0;
    for (let t = 0; t < n; t++) {
      const k = (v[t] - min) / span;
      g.fillStyle = this.data ? (good ? goodBad(k) : goodBad(1 - k)) : mix("#1f3b57", "#7fc1ff", k);
      const x = (t % this.cols) * this.cell;
      const y = Math.floor(t / this.cols) * this.cell;
      g.fillRect(x, y, this.cell - gap, this.cell - gap);
    }
    const sx = (this.selected % this.cols) * this.cell;
    const sy = Math.floor(this.selected / this.cols) * this.cell;
    g.strokeStyle = "#ffffff";
    g.lineWidth = 2;
    g.strokeRect(sx - 1, sy - 1, this.cell + 1, this.cell + 1);
  }

  /** Centre of a town's cell (CSS pixels in the canvas), or null. */
  point(t: number): { x: number; y: number } | null {
    if (t < 0 || t >= this.towns || this.cell <= 0) return null;
    return { x: ((t % this.cols) + 0.5) * this.cell, y: (Math.floor(t / this.cols) + 0.5) * this.cell };
  }

  /** The town under a point (CSS pixels in the canvas), or null. */
  hit(x: number, y: number): number | null {
    const c = Math.floor(x / this.cell);
    const r = Math.floor(y / this.cell);
    if (c < 0 || c >= this.cols || r < 0) return null;
    const t = r * this.cols + c;
    return t < this.towns ? t : null;
  }
}

const fmt = (v: number) => (Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : "-");
