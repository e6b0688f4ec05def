// The observer's views in headless Chromium against the real `townlet serve` (anonymous viewers,
// no tokens): the in-game clock in the header; zoom about the pointer, drag to pan, fit, and
// following the selected agent; a hover tooltip that refreshes with the stream while the pointer
// rests; a viewer pausing their own view while the world goes on; distinct letters per object
// type in the map and the legend; axis labels inside the charts; a day of chart history; and with
// many towns, charts and a feed that follow the picked town, say so, and switch to all towns.
// Every wait is for a state the page reports (window.__observer), never a pixel count or a timing.
// Without /usr/bin/chromium the browser part is reported as skipped, with the reason.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import type { ObserverDebug } from "../../web/src/api.ts";
import { Harness, HAVE_CHROMIUM, SKIP_REASON } from "./harness.ts";

declare const window: { __observer: ObserverDebug };
declare const document: {
  getElementById(id: string): { textContent: string | null; clientWidth: number; clientHeight: number } | null;
  querySelectorAll(sel: string): ArrayLike<{ textContent: string | null; getAttribute(name: string): string | null }>;
};

const h = new Harness();
const { serve } = h;
const open = (url: string) => h.launch(url);

/** Runs `fn(window.__observer)` in the page (its source is sent, so it may use nothing from here). */
const inPage = <T>(page: Page, fn: (o: ObserverDebug) => T) => page.evaluate(`(${fn.toString()})(window.__observer)`) as Promise<Awaited<T>>;

beforeAll(() => {
  h.begin("townlet-observer-view-");
});

afterAll(() => h.end());

describe("pure helpers of the observer page", () => {
  it("gives object types distinct letters, the shortest prefix no other type shares", async () => {
    const { objectLabels } = await import("../../web/src/labels.ts");
    const l = objectLabels(["stove", "fridge", "shower", "bed", "bench", "stove"]);
    expect(Object.fromEntries(l)).toEqual({ bed: "Bed", bench: "Ben", fridge: "F", shower: "Sh", stove: "St" });
    // Names that are prefixes of others, or share three letters, still get distinct labels.
    const hard = ["a", "ab", "abc", "abcd", "abce", "A-b", "x_1", "x1"];
    const labels = [...objectLabels(hard).values()].map((s) => s.toLowerCase());
    expect(new Set(labels).size).toBe(new Set(hard).size);
  });

  it("reads the in-game clock: day from 1, 24 hours over a day's ticks", async () => {
    const { clock } = await import("../../web/src/town.ts");
    expect(clock(0, 1440)).toEqual({ day: 1, time: "00:00" });
    expect(clock(1439, 1440)).toEqual({ day: 1, time: "23:59" });
    expect(clock(1440 + 450, 1440)).toEqual({ day: 2, time: "07:30" });
    expect(clock(30, 120)).toEqual({ day: 1, time: "06:00" });
    expect(clock(5, null)).toBeNull();
  });

  it("finds the town of an event: its town field, an object's @town, a known agent's town; world-wide when it names none", async () => {
    const { recordTown } = await import("../../web/src/town.ts");
    const known = (id: string) => ({ agent_1: 4 })[id];
    expect(recordTown({ event: "agent_exit", agent: "agent_9", town: 7 }, known)).toBe(7);
    expect(recordTown({ event: "affordance_fail", agent: "agent_9", object: "stove_1@12" }, known)).toBe(12);
    expect(recordTown({ event: "job_late", agent: "agent_1" }, known)).toBe(4);
    expect(recordTown({ event: "job_late", agent: "agent_9" }, known)).toBe(-1);
    expect(recordTown({ event: "affordance_registry_reload", ok: 1 }, known)).toBeNull();
  });
});

describe.skipIf(!HAVE_CHROMIUM)(HAVE_CHROMIUM ? "the observer's views of one town in headless Chromium" : `the observer's views of one town (${SKIP_REASON})`, () => {
  let ctx: BrowserContext;
  let page: Page;
  let errors: string[] = [];
  const obs = <T>(fn: (o: ObserverDebug) => T) => inPage(page, fn);

  beforeAll(async () => {
    // --speed 20: 80 ticks a second, so a few hundred ticks of chart history come quickly.
    const s = await serve("--speed", "20", "--agents", "40");
    ({ ctx, page, errors } = await open(s.url));
    await page.waitForFunction(() => window.__observer.status().role === "viewer" && window.__observer.lastFrame().agents.length > 0, null, { timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await ctx?.close();
  });

  it("shows the in-game day and time of the tick on the map in the header", async () => {
    await page.waitForFunction(() => window.__observer.status().clock !== null, null, { timeout: 10_000 });
    // The header is written by the next animation frame after a tick arrives: wait for a read in
    // which the page shows the tick it holds (at 20 ticks/s most frames are such a moment).
    const expected = (tick: number) => {
      const minutes = tick % 1440;
      return `Day ${Math.floor(tick / 1440) + 1}, ${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
    };
    const read = () => page.evaluate(() => ({ s: window.__observer.status(), header: document.getElementById("clock")!.textContent }));
    let r = await read();
    for (let i = 0; i < 200 && r.header !== expected(r.s.viewTick); i++) r = await read();
    expect(r.header).toBe(expected(r.s.viewTick));
    expect(r.s.clock).toBe(r.header);
  });

  it("zooms with the wheel about the pointer, pans with a drag (not a click), and fits the town again", async () => {
    const box = (await page.locator("#map").boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const before = await obs((o) => o.lastFrame().view);
    expect(before.zoom).toBe(1);
    await page.mouse.move(cx, cy);
    await page.mouse.wheel(0, -600);
    await page.waitForFunction(() => window.__observer.lastFrame().view.zoom > 1.5, null, { timeout: 5_000 });
    // Zoomed about the pointer at the centre: the tile under it is still the centre.
    const zoomed = await obs((o) => o.lastFrame().view);
    expect(zoomed.cx).toBeCloseTo(before.cx, 1);
    expect(zoomed.cy).toBeCloseTo(before.cy, 1);
    // A drag to the right and down shows what lies left and above: the centre moves that way.
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx + 60, cy + 30, { steps: 4 });
    await page.mouse.move(cx + 120, cy + 60, { steps: 4 });
    await page.mouse.up();
    const panned = await page.waitForFunction((z) => {
      const v = window.__observer.lastFrame().view;
      return v.cx < z.cx - 0.5 && v.cy < z.cy - 0.2 ? v : null;
    }, zoomed, { timeout: 5_000 });
    const v = (await panned.jsonValue())!;
    // 120 px at the zoomed tile size: the centre moved by 120 / tile tiles; not a selection.
    expect(v.zoom).toBe(zoomed.zoom);
    expect(await obs((o) => o.status().selected)).toBeNull();
    await page.click("#btn-zoom-fit");
    await page.waitForFunction(() => window.__observer.lastFrame().view.zoom === 1, null, { timeout: 5_000 });
    const fit = await obs((o) => o.lastFrame().view);
    expect([fit.cx, fit.cy]).toEqual([before.cx, before.cy]);
  });

  it("follows the selected agent: frame after frame it is drawn at the centre of the map, until a drag", async () => {
    const id = await obs((o) => o.agents()[3]);
    await page.evaluate((a) => window.__observer.selectAgent(a), id);
    expect(await page.isEnabled("#btn-follow")).toBe(true);
    await page.click("#btn-follow");
    await page.waitForFunction((a) => window.__observer.lastFrame().view.following === a, id, { timeout: 5_000 });
    const size = await page.evaluate(() => ({ w: document.getElementById("map")!.clientWidth, h: document.getElementById("map")!.clientHeight }));
    const t0 = await obs((o) => o.lastFrame().tick);
    for (const ahead of [1, 10, 20]) {
      await page.waitForFunction((t) => window.__observer.lastFrame().tick >= t, t0 + ahead, { timeout: 10_000 });
      const f = await obs((o) => o.lastFrame());
      const me = f.agents.find((a) => a.id === id);
      expect(me, `${id} drawn at tick ${f.tick}`).toBeDefined();
      expect(Math.abs(me!.x - size.w / 2)).toBeLessThan(0.5);
      expect(Math.abs(me!.y - size.h / 2)).toBeLessThan(0.5);
      expect(f.view.zoom).toBeGreaterThanOrEqual(3);
    }
    expect(await page.textContent("#btn-follow")).toBe("Following");
    // A drag takes the view back from the agent.
    const box = (await page.locator("#map").boundingBox())!;
    await page.mouse.move(box.x + 40, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + 140, box.y + 90, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => window.__observer.lastFrame().view.following === null, null, { timeout: 5_000 });
    expect(await page.textContent("#btn-follow")).toBe("Follow selected");
    await page.click("#btn-zoom-fit");
    await page.evaluate(() => window.__observer.selectAgent(null));
  });

  it("the hover tooltip follows the stream while the pointer rests on an agent", async () => {
    await page.waitForFunction(() => window.__observer.lastFrame().view.zoom === 1, null, { timeout: 5_000 });
    let id: string | null = null;
    // An agent may step away between reading its position and the move: try a few.
    for (let k = 0; k < 8 && id === null; k++) {
      const a = await obs((o) => {
        const f = o.lastFrame();
        return f.agents[(f.agents.length * 7 + 3) % f.agents.length] ?? null;
      });
      if (!a) continue;
      const box = (await page.locator("#map").boundingBox())!;
      await page.mouse.move(box.x + a.x, box.y + a.y);
      const tip = await obs((o) => o.tip());
      if (!tip.hidden && tip.agent !== null) id = tip.agent;
    }
    expect(id).not.toBeNull();
    const first = await obs((o) => o.tip());
    expect(first.text.startsWith(`${id}:`)).toBe(true);
    expect(first.text).toMatch(/most urgent (hunger|hygiene|energy) \d\.\d\d/);
    // Without moving the pointer, the tooltip is rewritten from newer ticks.
    const later = await page.waitForFunction((t) => {
      const tip = window.__observer.tip();
      return tip.tick >= t + 5 && !tip.hidden ? tip : null;
    }, first.tick, { timeout: 10_000 });
    const tip = (await later.jsonValue())!;
    expect(tip.agent).toBe(id);
    expect(tip.text.startsWith(`${id}:`)).toBe(true);
    await page.mouse.move(2, 2);
    await page.waitForFunction(() => window.__observer.tip().hidden, null, { timeout: 5_000 });
  });

  it("a viewer pauses their own view: map, charts and feed stand still while the world goes on; resuming catches up", async () => {
    await page.waitForFunction(() => window.__observer.chartHistory().drawn > 5, null, { timeout: 10_000 });
    await page.click("#btn-view-pause");
    await page.waitForFunction(() => window.__observer.status().viewPaused, null, { timeout: 5_000 });
    expect(await page.textContent("#btn-view-pause")).toBe("Resume my view");
    const held = await obs((o) => ({ s: o.status(), frame: o.lastFrame().tick, drawn: o.chartHistory().drawn, feed: o.feed().length, feedTop: o.feed()[0] ?? null }));
    // The stream goes on (the world is not paused) while the views keep showing one tick.
    await page.waitForFunction((t) => window.__observer.status().tick >= t + 40, held.s.tick, { timeout: 15_000 });
    const still = await obs((o) => ({ s: o.status(), frame: o.lastFrame().tick, drawn: o.chartHistory().drawn, feedTop: o.feed()[0] ?? null, feed: o.feed().length }));
    expect(still.s.viewTick).toBe(held.s.viewTick);
    expect(still.frame).toBe(held.frame);
    expect(still.drawn).toBe(held.drawn);
    expect(still.feed).toBe(held.feed);
    expect(still.feedTop).toBe(held.feedTop);
    expect(still.s.tick).toBeGreaterThanOrEqual(held.s.tick + 40);
    expect(await page.textContent("#status")).toMatch(/view paused at tick \d+ \(world at \d+\)/);
    await page.click("#btn-view-pause");
    await page.waitForFunction((t) => {
      const o = window.__observer;
      return !o.status().viewPaused && o.status().viewTick >= t && o.lastFrame().tick >= t;
    }, still.s.tick, { timeout: 10_000 });
    await page.waitForFunction((n) => window.__observer.chartHistory().drawn > n, held.drawn, { timeout: 10_000 });
    expect(await page.textContent("#btn-view-pause")).toBe("Pause my view");
  });

  it("gives every object type its own letters, on the map and in the legend", async () => {
    const labels = await obs((o) => o.lastFrame().labels);
    expect(Object.keys(labels).sort()).toEqual(expect.arrayContaining(["bed", "fridge", "shower", "stove"]));
    const values = Object.values(labels).map((l) => l.toLowerCase());
    expect(new Set(values).size).toBe(values.length);
    expect(labels.shower).not.toBe(labels.stove);
    const legend = await page.evaluate(() => Array.from(document.querySelectorAll("#legend .obj"), (el) => [el.getAttribute("data-type"), el.textContent]));
    expect(legend.length).toBe(Object.keys(labels).length);
    for (const [type, text] of legend) expect(text).toBe(`${labels[type!]} ${type}`);
  });

  it("keeps at least an in-game day of chart history, past the old 600-point window", async () => {
    const h0 = await obs((o) => o.chartHistory());
    expect(h0.ticksPerDay).toBe(1440);
    expect(h0.window).toBeGreaterThanOrEqual(1440);
    await page.waitForFunction(() => window.__observer.chartHistory().held > 650, null, { timeout: 60_000 });
    await page.waitForFunction(() => window.__observer.chartHistory().drawn > 650, null, { timeout: 10_000 });
  });

  it("sizes chart axes to their labels: y labels fit beside the plot, x labels inside the chart", async () => {
    const axes = await obs((o) => o.chartAxes());
    expect(axes.length).toBe(12);
    for (const a of axes) {
      expect(a.labels.length, `${a.chart} ${a.axis} has labels`).toBeGreaterThan(0);
      expect(a.need, `${a.chart} ${a.axis} labels ${a.labels.join(" ")}`).toBeLessThanOrEqual(a.room + 0.5);
    }
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!HAVE_CHROMIUM)(HAVE_CHROMIUM ? "the observer of many towns: charts and feed per town" : `the observer of many towns (${SKIP_REASON})`, () => {
  let ctx: BrowserContext;
  let page: Page;
  let errors: string[] = [];
  const obs = <T>(fn: (o: ObserverDebug) => T) => inPage(page, fn);

  beforeAll(async () => {
    const s = await serve("--config", fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url)), "--towns", "300", "--speed", "8");
    ({ ctx, page, errors } = await open(s.url));
    await page.waitForFunction(() => window.__observer.status().towns === 300 && window.__observer.drawn.agents > 0, null, { timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await ctx?.close();
  });

  it("charts and feed follow the picked town and say so; 'all towns' shows every town's", async () => {
    expect(await obs((o) => o.status().scope)).toBe("town");
    expect(await page.textContent("#scope-text")).toBe("town 0");
    const pickedAt = await obs((o) => o.status().tick);
    await page.evaluate(() => window.__observer.selectTown(123));
    await page.waitForFunction(() => window.__observer.status().town === 123, null, { timeout: 5_000 });
    expect(await page.textContent("#scope-text")).toBe("town 123");
    expect(await page.textContent("#feed-scope")).toBe("(town 123 and world-wide)");
    const town = await obs((o) => o.chartHistory());
    expect(town.titles).toContain("Affordances (counted since picked)");
    // The town's history starts when it was picked.
    // (One read of both: until the next redraw the plot may still hold the previous town's points.)
    await page.waitForFunction((t) => ((h) => h.since >= t && h.drawn > 3)(window.__observer.chartHistory()), pickedAt, { timeout: 10_000 });
    expect((await obs((o) => o.chartHistory())).since).toBeGreaterThanOrEqual(pickedAt);

    // Every town: rows from other towns arrive (300 towns of late workers, exits, conflicts).
    await page.check("#chk-all-towns");
    await page.waitForFunction(() => window.__observer.status().scope === "all", null, { timeout: 5_000 });
    expect(await page.textContent("#scope-text")).toBe("all towns");
    expect((await obs((o) => o.chartHistory())).titles).toContain("Affordances (running totals)");
    await page.waitForFunction(() => window.__observer.feedTowns().some((t) => t !== null && t !== 123), null, { timeout: 30_000 });

    // Back to the town: only its rows and world-wide ones are shown.
    await page.uncheck("#chk-all-towns");
    await page.waitForFunction(() => window.__observer.status().scope === "town", null, { timeout: 5_000 });
    const towns = await obs((o) => o.feedTowns());
    expect(towns.filter((t) => t !== null && t !== 123)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("sizes chart axes to their labels with every town's totals too", async () => {
    await page.check("#chk-all-towns");
    await page.waitForFunction(() => window.__observer.chartHistory().drawn > 3, null, { timeout: 10_000 });
    const axes = await obs((o) => o.chartAxes());
    expect(axes.length).toBe(12);
    for (const a of axes) expect(a.need, `${a.chart} ${a.axis} labels ${a.labels.join(" ")}`).toBeLessThanOrEqual(a.room + 0.5);
  });
});
