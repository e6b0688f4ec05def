// The map's background layer: the town's tiles and grid lines, workplaces (a dashed outline and
// the job's name) and objects (a rounded tile in the type's colour, its letters, crossed out
// without power or water). Drawn only when the view or the objects change (map.ts keys it).
import { objectColour } from "./dom.ts";
import type { Layout, ObjectRecordT } from "./model.ts";

/** What the background shows, in CSS pixels of the canvas (the tile size and the town's origin). */
export interface BackgroundView {
  cssW: number;
  cssH: number;
  tile: number;
  ox: number;
  oy: number;
  grid: { width: number; height: number };
  jobs: Layout["jobs"];
  objects: readonly ObjectRecordT[];
  labels: ReadonlyMap<string, string>;
}

export function paintBackground(g: CanvasRenderingContext2D, v: BackgroundView): void {
  g.fillStyle = "#101317";
  g.fillRect(0, 0, v.cssW, v.cssH);
  const t = v.tile;
  g.fillStyle = "#181c22";
  g.fillRect(v.ox, v.oy, t * v.grid.width, t * v.grid.height);
  if (t >= 6) {
    g.strokeStyle = "#1f242b";
    g.lineWidth = 1;
    g.beginPath();
    for (let x = 0; x <= v.grid.width; x++) {
      g.moveTo(v.ox + x * t, v.oy);
      g.lineTo(v.ox + x * t, v.oy + v.grid.height * t);
    }
    for (let y = 0; y <= v.grid.height; y++) {
      g.moveTo(v.ox, v.oy + y * t);
      g.lineTo(v.ox + v.grid.width * t, v.oy + y * t);
    }
    g.stroke();
  }
  // Workplaces: a dashed outline and the job's name.
  g.font = `${Math.min(14, Math.max(9, Math.round(t * 0.8)))}px system-ui, sans-serif`;
  g.textBaseline = "bottom";
  for (const j of v.jobs) {
    if (j.x < 0 || j.y < 0) continue;
    const x = v.ox + j.x * t;
    const y = v.oy + j.y * t;
    g.strokeStyle = "#c9b458";
    g.setLineDash([3, 2]);
    g.strokeRect(x - t * 0.25, y - t * 0.25, t * 1.5, t * 1.5);
    g.setLineDash([]);
    g.fillStyle = "#c9b458";
    g.fillText(j.job, x - t * 0.25, y - t * 0.3);
  }
  g.textAlign = "center";
  g.textBaseline = "middle";
  for (const o of v.objects) {
    const x = v.ox + o.x * t;
    const y = v.oy + o.y * t;
    g.fillStyle = objectColour(o.type);
    roundRect(g, x + 1, y + 1, t - 2, t - 2, Math.min(4, t / 4));
    g.fill();
    if (!o.power_on || !o.water_on) {
      g.strokeStyle = "#101317";
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(x + 2, y + 2);
      g.lineTo(x + t - 2, y + t - 2);
      g.moveTo(x + t - 2, y + 2);
      g.lineTo(x + 2, y + t - 2);
      g.stroke();
    }
    g.fillStyle = "#0d0f12";
    const label = v.labels.get(o.type) ?? "?";
    // Two or three letters get a smaller font so they stay inside the tile.
    const size = Math.min(16, Math.max(7, Math.round((t * (label.length === 1 ? 0.62 : label.length === 2 ? 0.5 : 0.38)))));
    g.font = `bold ${size}px system-ui, sans-serif`;
    g.fillText(label, x + t / 2, y + t / 2 + 0.5);
  }
}

function roundRect(g: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  g.beginPath();
  g.moveTo(x + r, y);
  g.arcTo(x + w, y, x + w, y + h, r);
  g.arcTo(x + w, y + h, x, y + h, r);
  g.arcTo(x, y + h, x, y, r);
  g.arcTo(x, y, x + w, y, r);
  g.closePath();
}
