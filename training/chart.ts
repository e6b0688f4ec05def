// Learning curves to PNG, headless: a vega-lite spec (one small line chart per panel, each with
// its own legend and y scale) compiled to vega, rendered to SVG with renderer "none", rasterised
// by resvg. No browser, no canvas, no native build; text needs one font file (see chartFont).
import { existsSync } from "node:fs";
import { Resvg, type ResvgRenderOptions } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface CurveSeries {
  /** Legend label, unique within its panel. */
  name: string;
  /** [x, y] pairs; points with a non-finite coordinate are left out (a gap in the line). */
  points: [number, number][];
  /** Drawn dashed: for reference lines (a scripted or random baseline) beside a learning curve. */
  dashed?: boolean;
}

export interface CurvePanel {
  title: string;
  yLabel: string;
  series: CurveSeries[];
}

export interface CurveSpec {
  title: string;
  /** Shared by every panel (e.g. "epoch" or "environment steps"). */
  xLabel: string;
  panels: CurvePanel[];
}

export interface RenderCurvesOptions {
  /** Width of the whole image in pixels (default 720); each panel's plot area follows from it. */
  width?: number;
  /** Panels per row (default 1: a vertical stack). */
  columns?: number;
  /** A TTF/OTF file for all text, instead of the search in chartFont(). */
  fontFile?: string;
}

/** A font resvg can draw text with: the family name vega writes into the SVG, and its file. */
export interface ChartFont {
  family: string;
  /** null when the font came from resvg's own scan of the system font folders. */
  file: string | null;
}

/**
 * Sans-serif fonts tried in order. Debian/Ubuntu (fonts-dejavu-core, fonts-liberation: chromium
 * and most desktops pull these in), Fedora, Arch, macOS, Windows. A clean Debian image (CI)
 * has no font file at all. resvg reads font files itself; fontconfig plays no part.
 */
const FONT_CANDIDATES: ChartFont[] = [
  { family: "DejaVu Sans", file: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" },
  { family: "Liberation Sans", file: "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf" },
  { family: "Liberation Sans", file: "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf" },
  { family: "DejaVu Sans", file: "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf" },
  { family: "DejaVu Sans", file: "/usr/share/fonts/dejavu/DejaVuSans.ttf" },
  { family: "DejaVu Sans", file: "/usr/share/fonts/TTF/DejaVuSans.ttf" },
  { family: "Arial", file: "/System/Library/Fonts/Supplemental/Arial.ttf" },
  { family: "Arial", file: "/Library/Fonts/Arial.ttf" },
  { family: "Arial", file: "C:\\Windows\\Fonts\\arial.ttf" },
];

let systemFontProbe: ChartFont | null | undefined;

/**
 * The font text will be drawn with: the first known file that exists, else the first family
 * resvg finds in the system font folders, else null (the chart then renders without any text:
 * lines, axes and ticks only; install fonts-dejavu-core to get labels).
 */
export function chartFont(fontFile?: string): ChartFont | null {
  if (fontFile !== undefined) {
    if (!existsSync(fontFile)) throw new Error(`renderCurves: fontFile: no such file "${fontFile}"`);
    // With one font loaded and no system scan, resvg draws every family name with it.
    return { family: "sans-serif", file: fontFile };
  }
  const known = FONT_CANDIDATES.find((f) => f.file !== null && existsSync(f.file));
  if (known) return known;
  if (systemFontProbe === undefined) systemFontProbe = probeSystemFont();
  return systemFontProbe;
}

function probeSystemFont(): ChartFont | null {
  // resvg exposes no font list; a text element's bounding box tells whether any font matched.
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40"><text x="5" y="30" font-size="20">Ag</text></svg>';
  const r = new Resvg(svg, { font: { loadSystemFonts: true }, logLevel: "off" });
  return r.getBBox() ? { family: "sans-serif", file: null } : null;
}

const DEFAULT_WIDTH = 720;
/** Room beside each plot for the y axis title and tick labels, and the legend on the right. */
const AXIS_ROOM = 70;
const LEGEND_ROOM = 130;
const PANEL_HEIGHT = 160;

/** Builds the vega-lite spec; exported for tests and for anyone who wants the SVG instead. */
export function curvesToVegaLite(spec: CurveSpec, opts: RenderCurvesOptions = {}, font = "sans-serif"): TopLevelSpec {
  const width = opts.width ?? DEFAULT_WIDTH;
  const columns = Math.max(1, Math.min(opts.columns ?? 1, spec.panels.length || 1));
  if (!Number.isFinite(width) || width < 200) throw new RangeError(`renderCurves: width: expected a number >= 200, got ${width}`);
  const plotWidth = Math.max(60, Math.floor(width / columns) - AXIS_ROOM - LEGEND_ROOM);
  const panels = spec.panels.map((panel, pi) => {
    const values: { series: string; x: number; y: number; dashed: boolean }[] = [];
    const names = new Set<string>();
    for (const s of panel.series) {
      if (names.has(s.name)) throw new Error(`renderCurves: panels[${pi}] "${panel.title}": series "${s.name}" appears twice`);
      names.add(s.name);
      for (const [x, y] of s.points) {
        if (Number.isFinite(x) && Number.isFinite(y)) values.push({ series: s.name, x, y, dashed: s.dashed === true });
      }
    }
    return {
      title: panel.title,
      width: plotWidth,
      height: PANEL_HEIGHT,
      data: { values },
      mark: { type: "line" as const, strokeWidth: 1.5, clip: true },
      encoding: {
        x: { field: "x", type: "quantitative" as const, title: spec.xLabel, scale: { zero: false, nice: false } },
        y: { field: "y", type: "quantitative" as const, title: panel.yLabel, scale: { zero: false } },
        // The domain keeps the panel's series order in the legend (vega-lite sorts otherwise).
        color: { field: "series", type: "nominal" as const, title: null, scale: { domain: panel.series.map((s) => s.name) } },
        strokeDash: {
          field: "dashed",
          type: "nominal" as const,
          legend: null,
          scale: { domain: [false, true], range: [[1, 0], [5, 3]] },
        },
      },
    };
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: spec.title, anchor: "start", fontSize: 15, offset: 10 },
    background: "white",
    padding: 12,
    columns,
    concat: panels,
    resolve: { scale: { color: "independent", y: "independent", strokeDash: "independent" }, legend: { color: "independent" } },
    config: { font, view: { stroke: "#ccc" }, axis: { labelFontSize: 10, titleFontSize: 11 }, legend: { labelFontSize: 10, labelLimit: LEGEND_ROOM - 30 } },
  } as TopLevelSpec;
}

/** The chart as SVG text (vega's own output, before rasterising). */
export async function renderCurvesSvg(spec: CurveSpec, opts: RenderCurvesOptions = {}): Promise<string> {
  const font = chartFont(opts.fontFile);
  const vl = curvesToVegaLite(spec, opts, font ? `${font.family}, sans-serif` : "sans-serif");
  const view = new vega.View(vega.parse(compile(vl).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Renders learning curves to PNG bytes: `spec.title` on top, then one line chart per panel
 * (own y scale, own legend), `opts.columns` to a row. The image is at most `opts.width` wide
 * (a little less when legends are short): three panels stacked at the default 720 are about
 * 690 x 720 px and 50 KB.
 */
export async function renderCurves(spec: CurveSpec, opts: RenderCurvesOptions = {}): Promise<Buffer> {
  const svg = await renderCurvesSvg(spec, opts);
  return rasterise(svg, chartFont(opts.fontFile)).asPng();
}

/** resvg options that draw the SVG's text with `font` (or with no text when null). */
export function resvgOptions(font: ChartFont | null): ResvgRenderOptions {
  const base: ResvgRenderOptions = { background: "white", logLevel: "off" };
  if (font === null) return { ...base, font: { loadSystemFonts: false } };
  if (font.file === null) return { ...base, font: { loadSystemFonts: true } };
  // One known file instead of a scan of every system font: faster, and the same glyphs each run.
  return {
    ...base,
    font: { loadSystemFonts: false, fontFiles: [font.file], defaultFontFamily: font.family, sansSerifFamily: font.family },
  };
}

function rasterise(svg: string, font: ChartFont | null) {
  return new Resvg(svg, resvgOptions(font)).render();
}
