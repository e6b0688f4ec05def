// The map of the selected town on a canvas: tiles and workplaces and objects (by type, each type
// its own letters) on a background layer redrawn only when they or the view change; each frame,
// reservations and queues as lines, agents coloured by their most urgent need, gliding between
// ticks, with rings for late, queued, in-conflict and selected agents. The view zooms (about a
// point), pans, and can follow an agent. Hit-testing for clicks and hovers uses the drawn positions.
import { CONTENT_COLOUR, mix } from "./dom.ts";
import type { DrawnFrame, MapViewState } from "./api.ts";
import { objectLabels } from "./labels.ts";
import { paintBackground } from "./map-background.ts";
import { needColour, urgentNeed, type AgentRecordT, type JobRecordT, type Layout, type ObjectRecordT } from "./model.ts";

interface Sprite {
  id: string;
  /** Tile the agent glides from and to, in tile units (centre of the tile, with a slot offset). */
  fx: number;
  fy: number;
  tx: number;
  ty: number;
  t0: number;
  colour: string;
  late: boolean;
  absent: boolean;
  queued: string | null;
  holding: string | null;
  /** Drawn position now, tile units. */
  x: number;
  y: number;
}

/** Ticks an agent stays marked after a queue conflict it took part in. */
const CONFLICT_TICKS = 24;
/** Closest zoom: a tile this many times its size when the whole town fits. */
const MAX_ZOOM = 16;

export class MapView {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly bg = document.createElement("canvas");
  private bgKey = "";
  private sprites = new Map<string, Sprite>();
  private objects: ObjectRecordT[] = [];
  private objectAt = new Map<string, ObjectRecordT>();
  private grid = { width: 0, height: 0 };
  private jobs: Layout["jobs"] = [];
  /** Agent id -> last tick it was in a queue conflict. */
  private conflicts = new Map<string, number>();
  private tick = 0;
  private tile = 1;
  private ox = 0;
  private oy = 0;
  private dpr = 1;
  private cssW = 0;
  private cssH = 0;
  /** 1 = the whole town fits; the centre of the view in tile units (null: the town's centre). */
  private zoom = 1;
  private centre: { x: number; y: number } | null = null;
  private following: string | null = null;
  /** Letters per object type (objectLabels over every type seen). */
  private labels = new Map<string, string>();
  private typesKey = "";
  /** Milliseconds an agent takes to glide one step (about one tick). */
  glideMs = 250;
  selected: string | null = null;
  hovered: string | null = null;
  /** Set when something changed; the frame loop draws only then (or while agents glide). */
  dirty = true;
  readonly drawn = { agents: 0, objects: 0, frames: 0 };
  /**
   * What the last frame put on the canvas, in drawing order (CSS pixels of the canvas): each
   * agent's disc and colour, and what was drawn over them. Read together with the canvas pixels it lets a
   * check compare like with like, whatever payloads arrived since that frame.
   */
  lastFrame: DrawnFrame = { tick: -1, agents: [], overlays: [], labels: {}, view: { zoom: 1, cx: 0, cy: 0, following: null } };

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("observer page: the map canvas has no 2d context");
    this.ctx = ctx;
  }

  /** Takes the town's state after a payload: agents, their jobs, objects, the grid. */
  update(now: number, tick: number, layout: Layout | undefined, agents: [string, AgentRecordT][], jobs: Record<string, JobRecordT>, objects: ObjectRecordT[]): void {
    this.tick = tick;
    if (layout) {
      this.grid = layout.grid;
      this.jobs = layout.jobs;
    } else if (this.grid.width === 0) {
      // No layout section (another server): size the grid to what is on it.
      let w = 1;
      let h = 1;
      for (const [, a] of agents) (w = Math.max(w, a.x + 1)), (h = Math.max(h, a.y + 1));
      for (const o of objects) (w = Math.max(w, o.x + 1)), (h = Math.max(h, o.y + 1));
      this.grid = { width: w, height: h };
    }
    this.objects = objects;
    this.objectAt = new Map(objects.map((o) => [o.id, o]));
    const types = new Set(this.labels.keys());
    for (const o of objects) types.add(o.type);
    const key = [...types].sort().join(",");
    if (key !== this.typesKey) {
      this.typesKey = key;
      this.labels = objectLabels(types);
      this.bgKey = "";
    }
    // Agents sharing a tile are spread over small slots so each stays visible and clickable.
    const perTile = new Map<number, number>();
    const next = new Map<string, Sprite>();
    for (const [id, a] of agents) {
      const key = a.y * this.grid.width + a.x;
      const k = perTile.get(key) ?? 0;
      perTile.set(key, k + 1);
      const [dx, dy] = slot(k);
      const tx = a.x + 0.5 + dx;
      const ty = a.y + 0.5 + dy;
      const job = jobs[id];
      const { need, value } = urgentNeed(a);
      const colour = value >= 0.6 ? CONTENT_COLOUR : mix("#e8e2d0", needColour(need), Math.min(1, (0.6 - value) / 0.45 + 0.35));
      let s = this.sprites.get(id);
      if (!s) s = { id, fx: tx, fy: ty, tx, ty, t0: now, colour, late: false, absent: false, queued: null, holding: null, x: tx, y: ty };
      else if (s.tx !== tx || s.ty !== ty) {
        s.fx = s.x;
        s.fy = s.y;
        s.tx = tx;
        s.ty = ty;
        s.t0 = now;
      }
      s.colour = colour;
      s.late = job?.shift_state === "late";
      s.absent = job?.shift_state === "absent";
      s.queued = a.queued;
      s.holding = a.holding;
      next.set(id, s);
    }
    this.sprites = next;
    for (const [id, t] of this.conflicts) if (tick - t > CONFLICT_TICKS) this.conflicts.delete(id);
    this.dirty = true;
  }

  /** Marks the agents of a queue conflict event. */
  conflict(tick: number, ...ids: unknown[]): void {
    for (const id of ids) if (typeof id === "string") this.conflicts.set(id, tick);
  }

  inConflict(id: string): boolean {
    const t = this.conflicts.get(id);
    return t !== undefined && this.tick - t <= CONFLICT_TICKS;
  }

  /** Forgets everything (another town was picked); the view fits the town again. */
  clear(): void {
    this.sprites.clear();
    this.conflicts.clear();
    this.objects = [];
    this.bgKey = "";
    this.resetView();
  }

  /** Letters drawn on each object type (the legend shows the same). */
  objectLabels(): ReadonlyMap<string, string> {
    return this.labels;
  }

  // ---- the view: zoom, pan, follow ------------------------------------------------------------

  view(): MapViewState {
    const c = this.viewCentre();
    return { zoom: this.zoom, cx: c.x, cy: c.y, following: this.following };
  }

  /** Zooms by `factor` keeping the point under (px, py) (CSS pixels of the canvas) where it is. */
  zoomAt(factor: number, px: number, py: number): void {
    const next = Math.min(MAX_ZOOM, Math.max(1, this.zoom * factor));
    if (next === this.zoom) return;
    if (this.following === null) {
      // The tile under the pointer before and after the zoom is the same.
      const tx = (px - this.ox) / this.tile;
      const ty = (py - this.oy) / this.tile;
      const fit = this.tile / this.zoom;
      const tile = fit * next;
      this.centre = { x: tx - (px - this.cssW / 2) / tile, y: ty - (py - this.cssH / 2) / tile };
    }
    this.zoom = next;
    if (this.zoom === 1 && this.following === null) this.centre = null;
    this.dirty = true;
  }

  /** Moves the view by (dx, dy) CSS pixels (a drag); stops following. */
  panBy(dx: number, dy: number): void {
    if (this.zoom === 1) return;
    const c = this.viewCentre();
    this.following = null;
    this.centre = { x: c.x - dx / this.tile, y: c.y - dy / this.tile };
    this.dirty = true;
  }

  /** Keeps an agent at the centre of the view (null: stop); zooms in when the whole town is shown. */
  follow(id: string | null): void {
    this.following = id;
    if (id !== null && this.zoom < 3) this.zoom = 3;
    if (id === null) this.centre = this.zoom === 1 ? null : this.viewCentre();
    this.dirty = true;
  }

  resetView(): void {
    this.zoom = 1;
    this.centre = null;
    this.following = null;
    this.dirty = true;
  }

  private viewCentre(): { x: number; y: number } {
    const s = this.following !== null ? this.sprites.get(this.following) : undefined;
    if (s) return { x: s.x, y: s.y };
    return this.centre ?? { x: this.grid.width / 2, y: this.grid.height / 2 };
  }

  /** True while some agent is still gliding (the frame loop keeps drawing). */
  moving(now: number): boolean {
    for (const s of this.sprites.values()) if (now - s.t0 < this.glideMs && (s.x !== s.tx || s.y !== s.ty)) return true;
    return false;
  }

  private layout(): void {
    const r = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    if (r.width !== this.cssW || r.height !== this.cssH || dpr !== this.dpr) {
      this.cssW = r.width;
      this.cssH = r.height;
      this.dpr = dpr;
      this.canvas.width = Math.max(1, Math.round(r.width * dpr));
      this.canvas.height = Math.max(1, Math.round(r.height * dpr));
      this.bgKey = "";
    }
    const gw = Math.max(1, this.grid.width);
    const gh = Math.max(1, this.grid.height);
    this.tile = Math.max(1, Math.min(this.cssW / gw, this.cssH / gh)) * this.zoom;
    // The centre stays on the town (a drag cannot lose it off the canvas).
    const c = this.viewCentre();
    const cx = Math.min(gw, Math.max(0, c.x));
    const cy = Math.min(gh, Math.max(0, c.y));
    if (this.centre && this.following === null) this.centre = { x: cx, y: cy };
    this.ox = this.cssW / 2 - cx * this.tile;
    this.oy = this.cssH / 2 - cy * this.tile;
  }

  private drawBackground(): void {
    const key = `${this.cssW}x${this.cssH}@${this.dpr}|${this.tile},${this.ox},${this.oy}|${this.typesKey}|${this.grid.width}x${this.grid.height}|${this.objects.map((o) => `${o.id}:${o.x},${o.y},${o.type},${o.power_on ? 1 : 0}${o.water_on ? 1 : 0}`).join(";")}`;
    if (key === this.bgKey) return;
    this.bgKey = key;
    const bg = this.bg;
    bg.width = this.canvas.width;
    bg.height = this.canvas.height;
    const g = bg.getContext("2d")!;
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    paintBackground(g, { cssW: this.cssW, cssH: this.cssH, tile: this.tile, ox: this.ox, oy: this.oy, grid: this.grid, jobs: this.jobs, objects: this.objects, labels: this.labels });
  }

  draw(now: number): void {
    const t0 = performance.now();
    this.glide(now);
    this.layout();
    this.drawBackground();
    const g = this.ctx;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.bg, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const t = this.tile;
    const px = (x: number) => this.ox + x * t;
    const py = (y: number) => this.oy + y * t;
    this.drawLinks(px, py);
    const r = Math.min(14, Math.max(2.5, t * 0.3));
    const frame: DrawnFrame = { tick: this.tick, agents: [], overlays: [], labels: Object.fromEntries(this.labels), view: this.view() };
    const drawnAgents = this.drawAgents(px, py, r, frame);
    this.drawBadges(px, py, frame);
    this.drawRings(px, py, r, frame);
    this.lastFrame = frame;
    this.drawn.agents = drawnAgents;
    this.drawn.objects = this.objects.length;
    this.drawn.frames++;
    this.dirty = false;
    this.lastDrawMs = performance.now() - t0;
  }

  /** Glide: ease each agent from where it was towards its tile (first: a followed agent is the centre). */
  private glide(now: number): void {
    for (const s of this.sprites.values()) {
      const k = Math.min(1, (now - s.t0) / this.glideMs);
      const e = k * (2 - k);
      s.x = s.fx + (s.tx - s.fx) * e;
      s.y = s.fy + (s.ty - s.fy) * e;
    }
  }

  /** Objects in use (a bright frame), reservations (solid) and queues (dashed), agent to object. */
  private drawLinks(px: (x: number) => number, py: (y: number) => number): void {
    const g = this.ctx;
    const t = this.tile;
    // Objects in use: a bright frame; queue lengths as badges.
    g.lineWidth = Math.max(1.5, t * 0.12);
    for (const o of this.objects) {
      if (o.running || o.holder) {
        g.strokeStyle = o.running ? "#ffffff" : "#9aa4b2";
        g.strokeRect(px(o.x) + 1, py(o.y) + 1, t - 2, t - 2);
      }
    }

    // Reservations (solid) and queues (dashed), agent to object.
    g.lineWidth = Math.max(1, t * 0.08);
    g.strokeStyle = "rgba(255, 255, 255, 0.55)";
    g.beginPath();
    for (const s of this.sprites.values()) {
      const o = s.holding ? this.objectAt.get(s.holding) : undefined;
      if (!o) continue;
      g.moveTo(px(s.x), py(s.y));
      g.lineTo(px(o.x + 0.5), py(o.y + 0.5));
    }
    g.stroke();
    g.setLineDash([Math.max(2, t * 0.25), Math.max(2, t * 0.2)]);
    g.strokeStyle = "rgba(255, 196, 92, 0.6)";
    g.beginPath();
    for (const s of this.sprites.values()) {
      const o = s.queued ? this.objectAt.get(s.queued) : undefined;
      if (!o) continue;
      g.moveTo(px(s.x), py(s.y));
      g.lineTo(px(o.x + 0.5), py(o.y + 0.5));
    }
    g.stroke();
    g.setLineDash([]);
  }

  /** The agents' discs with their queued dot, late/absent ring and conflict triangle; recorded in `frame`. */
  private drawAgents(px: (x: number) => number, py: (y: number) => number, r: number, frame: DrawnFrame): number {
    const g = this.ctx;
    let drawnAgents = 0;
    for (const s of this.sprites.values()) {
      const x = px(s.x);
      const y = py(s.y);
      frame.agents.push({ id: s.id, x, y, r, colour: s.colour, queued: s.queued !== null, marked: s.late || s.absent || this.inConflict(s.id) });
      g.fillStyle = s.colour;
      g.beginPath();
      g.arc(x, y, r, 0, Math.PI * 2);
      g.fill();
      if (s.queued) {
        g.fillStyle = "#ffc45c";
        g.beginPath();
        g.arc(x, y, r * 0.35, 0, Math.PI * 2);
        g.fill();
      }
      if (s.late || s.absent) {
        g.strokeStyle = s.late ? "#ff4d4d" : "#6b7280";
        g.lineWidth = Math.max(1.5, r * 0.4);
        g.beginPath();
        g.arc(x, y, r + g.lineWidth, 0, Math.PI * 2);
        g.stroke();
      }
      if (this.inConflict(s.id)) {
        // A small warning triangle above the agent.
        g.fillStyle = "#ffb020";
        g.beginPath();
        g.moveTo(x, y - r * 2.4);
        g.lineTo(x - r * 0.8, y - r * 1.2);
        g.lineTo(x + r * 0.8, y - r * 1.2);
        g.closePath();
        g.fill();
      }
      drawnAgents++;
    }
    return drawnAgents;
  }

  /** Queue badges on top of the agents standing around the object. */
  private drawBadges(px: (x: number) => number, py: (y: number) => number, frame: DrawnFrame): void {
    const g = this.ctx;
    const t = this.tile;
    g.font = `bold ${Math.min(13, Math.max(9, Math.round(t * 0.55)))}px system-ui, sans-serif`;
    g.textAlign = "center";
    g.textBaseline = "middle";
    for (const o of this.objects) {
      if (o.queue.length === 0) continue;
      const bx = px(o.x + 1);
      const by = py(o.y);
      const br = Math.min(9, Math.max(6, t * 0.38));
      frame.overlays.push({ x: bx, y: by, r: br });
      g.fillStyle = "#ffc45c";
      g.beginPath();
      g.arc(bx, by, br, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = "#111";
      g.fillText(String(o.queue.length), bx, by + 0.5);
    }
  }

  /** Selection and hover rings. */
  private drawRings(px: (x: number) => number, py: (y: number) => number, r: number, frame: DrawnFrame): void {
    const g = this.ctx;
    for (const [id, colour] of [
      [this.hovered, "rgba(255,255,255,0.6)"],
      [this.selected, "#ffffff"],
    ] as const) {
      const s = id ? this.sprites.get(id) : undefined;
      if (!s) continue;
      frame.overlays.push({ x: px(s.x), y: py(s.y), r: r + 6 });
      g.strokeStyle = colour;
      g.lineWidth = 2;
      g.beginPath();
      g.arc(px(s.x), py(s.y), r + 5, 0, Math.PI * 2);
      g.stroke();
    }
  }

  lastDrawMs = 0;

  /** The agent nearest to a point (CSS pixels in the canvas), within a little more than its radius. */
  hit(cx: number, cy: number): string | null {
    const t = this.tile;
    let best: string | null = null;
    let bestD = Math.max(8, Math.min(t * 0.6, 20)) ** 2;
    for (const s of this.sprites.values()) {
      const dx = this.ox + s.x * t - cx;
      const dy = this.oy + s.y * t - cy;
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = s.id;
      }
    }
    return best;
  }

  /** An agent's drawn position in CSS pixels of the canvas, or null. */
  point(id: string): { x: number; y: number } | null {
    const s = this.sprites.get(id);
    if (!s) return null;
    return { x: this.ox + s.x * this.tile, y: this.oy + s.y * this.tile };
  }

  colour(id: string): string | null {
    return this.sprites.get(id)?.colour ?? null;
  }

  ids(): string[] {
    return [...this.sprites.keys()];
  }
}

/**
 * Offset (tile units) of the k-th agent on a tile: a sunflower spiral, so a crowd of any size
 * (a long queue stands on one tile) spreads out with every agent visible and clickable.
 */
function slot(k: number): [number, number] {
  if (k === 0) return [0, 0];
  const r = 0.34 * Math.sqrt(k);
  const a = k * 2.39996; // the golden angle, radians
  return [Math.cos(a) * r, Math.sin(a) * r];
}
