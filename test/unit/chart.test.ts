// Learning-curve charts (training/chart.ts): a PNG of plausible size with lines drawn in it, text
// drawn when the machine has a font, and the spec's mistakes refused.
import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";

import { chartFont, renderCurves, renderCurvesSvg, resvgOptions, type CurveSpec } from "../../training/chart.ts";

const epochs = Array.from({ length: 40 }, (_, i) => i + 1);
const SPEC: CurveSpec = {
  title: "PPO learning curves",
  xLabel: "epoch",
  panels: [
    {
      title: "episode return",
      yLabel: "return",
      series: [
        { name: "ppo", points: epochs.map((e) => [e, -5 + 4 * (1 - Math.exp(-e / 10))]) },
        { name: "scripted", points: [[1, -0.8], [40, -0.8]], dashed: true },
        { name: "random", points: [[1, -5.5], [40, -5.5]], dashed: true },
      ],
    },
    { title: "survival", yLabel: "ticks alive", series: [{ name: "ppo", points: epochs.map((e) => [e, 100 + 5 * e]) }] },
    {
      title: "losses",
      yLabel: "loss",
      series: [
        { name: "policy", points: epochs.map((e) => [e, 0.1 / e]) },
        { name: "value", points: epochs.map((e) => [e, 1 / Math.sqrt(e)]) },
        { name: "entropy", points: epochs.map((e) => [e, 1.1 - e / 100]) },
      ],
    },
  ],
};

/** Width and height from the IHDR chunk, which a PNG must start with after its signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Pixels (RGBA, straight from resvg) that are not the white background, and those near a colour. */
function countPixels(svg: string, withText: boolean, rgb?: [number, number, number]): { inked: number; coloured: number } {
  const img = new Resvg(svg, resvgOptions(withText ? chartFont() : null)).render();
  const px = img.pixels;
  let inked = 0;
  let coloured = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240) inked++;
    if (rgb && Math.abs(px[i] - rgb[0]) < 12 && Math.abs(px[i + 1] - rgb[1]) < 12 && Math.abs(px[i + 2] - rgb[2]) < 12) coloured++;
  }
  return { inked, coloured };
}

describe("renderCurves", () => {
  it("returns a PNG of at most the asked width, one panel height per panel, under 150 KB", async () => {
    const png = await renderCurves(SPEC);
    const { width, height } = pngSize(png);
    expect(width).toBeGreaterThan(600);
    expect(width).toBeLessThanOrEqual(720);
    expect(height).toBeGreaterThan(3 * 160);
    expect(height).toBeLessThan(1200);
    expect(png.length).toBeLessThan(150_000);
    const wide = pngSize(await renderCurves(SPEC, { width: 1000, columns: 2 }));
    expect(wide.width).toBeGreaterThan(width);
    expect(wide.height).toBeLessThan(height);
  });

  it("draws the series: many pixels in vega's first category colour, not a blank page", async () => {
    const svg = await renderCurvesSvg(SPEC);
    // #4c78a8: the first colour of vega's default "tableau10" scheme (ppo / policy lines).
    const { inked, coloured } = countPixels(svg, false, [0x4c, 0x78, 0xa8]);
    expect(coloured).toBeGreaterThan(500);
    expect(inked).toBeGreaterThan(5000);
  });

  it.skipIf(chartFont() === null)("draws the text with the font it found", async () => {
    const svg = await renderCurvesSvg(SPEC);
    expect(svg).toContain("episode return");
    const withText = countPixels(svg, true).inked;
    const without = countPixels(svg, false).inked;
    // Titles, axis titles, tick labels and legends: thousands of glyph pixels.
    expect(withText - without).toBeGreaterThan(3000);
  });

  it.skipIf(chartFont()?.file == null)("draws the text with a font file given in the options", async () => {
    const png = await renderCurves(SPEC, { fontFile: chartFont()!.file! });
    expect(pngSize(png).width).toBeGreaterThan(600);
  });

  it("renders a panel with no points yet, and leaves out non-finite points", async () => {
    const png = await renderCurves({
      title: "early",
      xLabel: "epoch",
      panels: [
        { title: "nothing yet", yLabel: "return", series: [{ name: "ppo", points: [] }] },
        { title: "one NaN", yLabel: "loss", series: [{ name: "value", points: [[1, 1], [2, NaN], [3, 0.5]] }] },
      ],
    });
    expect(pngSize(png).width).toBeGreaterThan(0);
  });

  it("refuses two series of one name in a panel and a width too small to draw in", async () => {
    const twice: CurveSpec = { title: "t", xLabel: "x", panels: [{ title: "losses", yLabel: "y", series: [{ name: "a", points: [] }, { name: "a", points: [] }] }] };
    await expect(renderCurves(twice)).rejects.toThrow('renderCurves: panels[0] "losses": series "a" appears twice');
    await expect(renderCurves(SPEC, { width: 50 })).rejects.toThrow("renderCurves: width: expected a number >= 200, got 50");
    await expect(renderCurves(SPEC, { fontFile: "/no/such/font.ttf" })).rejects.toThrow('renderCurves: fontFile: no such file "/no/such/font.ttf"');
  });
});
