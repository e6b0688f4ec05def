// The observer end to end: the real `townlet serve` process on a free loopback port serves the
// page (no CDN, a CSP, no token in any URL), and headless Chromium (Debian's, driven by
// playwright-core; never a browser download) logs in as a viewer, sees agents drawn (canvas
// pixels), opens an agent's panel by clicking it, watches the charts advance and resyncs after a
// dropped diff; a viewer's forged admin commands are refused with `forbidden`; an admin triggers
// a perturbation from the page and sees its event in the feed, cancels it, pauses and resumes the
// loop and sets an agent's need from its panel; with 300 towns
// (aggregate mode) an anonymous viewer picks a town on the overview and sees its agents. Without
// /usr/bin/chromium the browser part is reported as skipped, with the reason.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import type { CommandOutcome, ObserverDebug, ObserverStatus } from "../../web/src/api.ts";
import { Harness, HAVE_CHROMIUM, SKIP_REASON, type Served } from "./harness.ts";

if (!HAVE_CHROMIUM) console.warn(`observer browser tests ${SKIP_REASON}`);

const VIEWER_TOKEN = "viewer-token-e2e-0123456789";
const ADMIN_TOKEN = "admin-token-e2e-0123456789";

// The page's globals, typed for the functions page.evaluate runs there (this file's lib has no DOM).
interface PageElement {
  value: string;
  getBoundingClientRect(): { left: number; top: number };
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}
declare const window: { __observer: ObserverDebug; devicePixelRatio: number };
declare const document: { getElementById(id: string): PageElement | null; querySelectorAll(sel: string): ArrayLike<PageElement> };

const h = new Harness();
const { serve, stop, launch } = h;
let dir: string;
let url = "";
let stdout = "";

beforeAll(async () => {
  dir = h.begin("townlet-observer-");
  const tokens = join(dir, "tokens.yaml");
  writeFileSync(tokens, `- {token: ${VIEWER_TOKEN}, role: viewer, label: alice}\n- {token: ${ADMIN_TOKEN}, role: admin, label: ops}\n`);
  // --speed 2: 8 ticks a second keeps the test short.
  const s = await serve("--tokens", tokens, "--speed", "2", "--agents", "40");
  url = s.url;
  stdout = s.stdout;
}, 90_000);

afterAll(() => h.end());

describe("townlet serve serves the observer page", () => {
  it("prints the URL with --open, and serves the page, its script and CSS from the package with a CSP", async () => {
    expect(stdout).toContain(`townlet serve: open ${url}/ to watch the town`);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/observer/app.js">');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await fetch(`${url}/observer/app.js`);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const css = await (await fetch(`${url}/observer/app.css`)).text();
    expect(css).toContain(".uplot");
    expect(await (await fetch(`${url}/observer/config.json`)).json()).toEqual({ auth: { tokens: true, anonymous_viewer: false } });
    expect((await fetch(`${url}/observer/nothing.js`)).status).toBe(404);
  });
});

describe.skipIf(!HAVE_CHROMIUM)(HAVE_CHROMIUM ? "the observer in headless Chromium" : `the observer in headless Chromium (${SKIP_REASON})`, () => {
  let ctx: BrowserContext;
  let page: Page;
  let pageErrors: string[] = [];
  const socketUrls: string[] = [];
  /** Runs `fn(window.__observer)` in the page (its source is sent, so it may use nothing from here). */
  const obs = <T>(fn: (o: ObserverDebug) => T) => page.evaluate(`(${fn.toString()})(window.__observer)`) as Promise<Awaited<T>>;

  beforeAll(async () => {
    ({ ctx, page, errors: pageErrors } = await launch());
    page.on("websocket", (ws) => socketUrls.push(ws.url()));
    await page.goto(`${url}/`);
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
  });

  const login = async (token: string, role: "viewer" | "admin") => {
    await page.locator("#login").waitFor({ state: "visible" });
    await page.fill("#login-token", token);
    await page.click("#login-submit");
    await page.waitForFunction((r) => window.__observer.status().role === r && window.__observer.status().tick > 0, role, { timeout: 20_000 });
    await page.locator("#login").waitFor({ state: "hidden" });
  };

  /** A console command over HTTP (POST /commands) from the page, with `token`; its status and reply. */
  const consoleCommand = (token: string, name: string, args: Record<string, unknown> = {}) =>
    page.evaluate(
      async ([t, n, a]) => {
        const res = await fetch("/commands", { method: "POST", headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: JSON.stringify({ name: n, args: a }) });
        return { status: res.status, body: (await res.json()) as CommandOutcome };
      },
      [token, name, args] as const,
    );

  it("asks for a token (this server has no anonymous viewers) and refuses a wrong one", async () => {
    await page.locator("#login").waitFor({ state: "visible" });
    expect(await page.isHidden("#login-anon")).toBe(true);
    await page.fill("#login-token", "not-a-valid-token-000");
    await page.click("#login-submit");
    await expect.poll(() => page.textContent("#login-error"), { timeout: 10_000 }).toMatch(/refused: invalid token/);
  });

  it("a viewer sees the town's agents drawn on the map, read back from the canvas pixels", async () => {
    await login(VIEWER_TOKEN, "viewer");
    await page.waitForFunction(() => window.__observer.lastFrame().agents.length >= 40, null, { timeout: 10_000 });
    // One evaluate reads the last frame's record and the canvas together, so both describe the same
    // frame whatever payloads arrived since (under load a frame can lag the stream by ticks).
    const probe = await page.evaluate(() => {
      const frame = window.__observer.lastFrame();
      const g = document.getElementById("map")!.getContext("2d");
      const dpr = window.devicePixelRatio;
      const inside = (px: number, py: number, c: { x: number; y: number }, r: number) => (px - c.x) ** 2 + (py - c.y) ** 2 <= (r + 1.5) ** 2;
      return frame.agents.map((a, i) => {
        // The device pixel to read: its centre inside the disc, a pixel clear of the disc's
        // antialiased edge and, for a queued agent, of the marker dot (0.35 radii) drawn on it.
        // (Rounding a point to a pixel moved a queued agent's sample up to a pixel, into the dot's
        // antialiased rim, now and then.)
        const cx = a.x * dpr;
        const cy = a.y * dpr;
        const R = a.r * dpr;
        const lo = a.queued ? 0.35 * R + 1 : 0;
        const hi = R - 1;
        let best: { px: number; py: number; cost: number } | null = null;
        for (let py = Math.floor(cy - R); py <= Math.ceil(cy + R); py++) {
          for (let px = Math.floor(cx - R); px <= Math.ceil(cx + R); px++) {
            const dist = Math.hypot(px + 0.5 - cx, py + 0.5 - cy);
            const cost = a.queued ? Math.abs(dist - (lo + hi) / 2) : dist;
            if (dist >= lo && dist <= hi && (!best || cost < best.cost)) best = { px, py, cost };
          }
        }
        if (!best) return { id: a.id, colour: a.colour, covered: true, pixel: [0, 0, 0] };
        const sx = (best.px + 0.5) / dpr;
        const sy = (best.py + 0.5) / dpr;
        // Covered when something drawn later reaches the sample: another agent (its late ring and
        // conflict triangle reach 2.6 radii), a queue badge, a selection or hover ring.
        const covered =
          frame.agents.some((b, j) => j > i && inside(sx, sy, b, b.marked ? b.r * 2.6 : b.r)) || frame.overlays.some((o) => inside(sx, sy, o, o.r));
        const d = g.getImageData(best.px, best.py, 1, 1).data;
        return { id: a.id, colour: a.colour, covered, pixel: [d[0], d[1], d[2]] };
      });
    });
    expect(probe.length).toBe(40);
    const rgb = (c: string): number[] => (c.startsWith("#") ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) : c.match(/\d+/g)!.slice(0, 3).map(Number));
    const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 6);
    // Every agent that nothing covers shows its own colour where the frame drew it.
    const clear = probe.filter((p) => !p.covered);
    expect(clear.length, "agents with nothing drawn over them").toBeGreaterThanOrEqual(10);
    const wrong = clear.filter((p) => !near(p.pixel, rgb(p.colour)));
    expect(JSON.stringify(wrong), "agents whose pixel is not their colour").toEqual("[]");
    const matching = clear;
    // ...and not merely a uniform canvas: the background is another colour.
    const bg = await page.evaluate(() => Array.from(document.getElementById("map")!.getContext("2d").getImageData(2, 2, 1, 1).data).slice(0, 3));
    expect(near(bg, rgb(matching[0].colour!))).toBe(false);
    // The token never travels in a URL: the socket is plain /ws (the ticket rides as a subprotocol).
    expect(socketUrls.length).toBeGreaterThan(0);
    for (const u of socketUrls) expect(u).toBe(`${url.replace("http", "ws")}/ws`);
    expect(page.url()).toBe(`${url}/`);
  });

  it("clicking an agent opens its panel: needs, job, rewards by component", async () => {
    let clicked: string | null = null;
    // An agent may step away between reading its position and the click: try a few.
    for (let attempt = 0; attempt < 5 && clicked === null; attempt++) {
      const ids = await obs((o) => o.agents());
      const id = ids[(attempt * 7) % ids.length];
      const point = await page.evaluate((a) => window.__observer.agentPoint(a), id);
      if (!point) continue;
      await page.mouse.click(point.x, point.y);
      const sel = await obs((o) => o.status().selected);
      if (sel === id) clicked = id;
    }
    expect(clicked).not.toBeNull();
    const panel = page.locator(`#panel[data-agent="${clicked}"]`);
    await expect.poll(() => panel.locator("h2").textContent()).toContain(clicked!);
    for (const need of ["hunger", "hygiene", "energy"]) {
      const v = Number(await panel.locator(`.bar[data-label="${need}"] .val`).textContent());
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toMatch(/job.*shift.*attendance/s);
    // reward_breakdown follows the page's subscription to the selected agent.
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toMatch(/needs_penalty/);
    // A viewer cannot set needs from the panel.
    expect(await page.isDisabled("#btn-setneed")).toBe(true);
  });

  it("the KPI charts advance as ticks arrive", async () => {
    expect(await page.evaluate(() => document.querySelectorAll("#charts .uplot").length)).toBe(6);
    const before = await obs((o) => o.chartPoints());
    const tick0 = await obs((o) => o.status().tick);
    await page.waitForFunction((n) => window.__observer.chartPoints() >= n + 5, before, { timeout: 10_000 });
    expect(await obs((o) => o.status().tick)).toBeGreaterThan(tick0);
  });

  it("resyncs after a dropped diff (seq gap)", async () => {
    const s0 = await obs((o) => o.status());
    await obs((o) => o.dropNextDiff());
    await page.waitForFunction((n) => window.__observer.status().gaps === n + 1, s0.gaps, { timeout: 10_000 });
    await page.waitForFunction((n) => window.__observer.status().snapshots > n && window.__observer.drawn.agents >= 40, s0.snapshots, { timeout: 10_000 });
  });

  it("a viewer's forged admin commands are refused by the server with forbidden", async () => {
    expect(await page.isDisabled("#btn-trigger")).toBe(true);
    expect(await page.isDisabled("#btn-pause")).toBe(true);
    // Over the page's own socket, as the page would send it.
    const r = (await page.evaluate(() => window.__observer.command("pause", {}))) as CommandOutcome;
    expect(r).toMatchObject({ status: "error", error: { code: "forbidden" } });
    // A raw frame, cmd_id and all.
    await page.evaluate(() => window.__observer.send({ type: "command", name: "perturbation_trigger", args: { spec: "price_spike" }, cmd_id: "forged-1", id: "forged" }));
    await page.waitForFunction(() => window.__observer.results().some((x) => x.id === "forged"));
    expect((await obs((o) => o.results())).find((x) => x.id === "forged")).toMatchObject({ status: "error", error: { code: "forbidden" } });
    // Over HTTP with the viewer's token.
    const http = await consoleCommand(VIEWER_TOKEN, "resume");
    expect(http).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    // The loop never paused.
    const t = await obs((o) => o.status().tick);
    await page.waitForFunction((n) => window.__observer.status().tick > n + 2, t, { timeout: 5_000 });
  });

  it("an admin triggers a perturbation from the page and its event arrives in the feed; then cancels it", async () => {
    await page.click("#btn-logout");
    await login(ADMIN_TOKEN, "admin");
    expect(await page.isEnabled("#btn-trigger")).toBe(true);
    await page.selectOption("#sel-spec", "price_spike");
    await page.click("#btn-trigger");
    await expect.poll(() => page.textContent("#result"), { timeout: 10_000 }).toMatch(/perturbation_trigger: ok/);
    await page.waitForFunction(() => window.__observer.feed().some((t) => /perturbation_started.*price_spike/.test(t)), null, { timeout: 15_000 });
    const id = /\bid=(evt_\d+)/.exec((await page.textContent("#result"))!)?.[1];
    expect(id).toBeDefined();
    await page.waitForFunction((e) => Array.from(document.querySelectorAll("#sel-event option")).some((o) => o.value === e), id);
    await page.selectOption("#sel-event", id!);
    await page.click("#btn-cancel");
    await expect.poll(() => page.textContent("#result"), { timeout: 10_000 }).toMatch(/perturbation_cancel: ok/);
    await page.waitForFunction(() => window.__observer.feed().some((t) => /perturbation_(cancelled|ended)/.test(t)), null, { timeout: 15_000 });
    // Pause and resume the loop from the page. The button reads "Resume" once the server's `loop`
    // section says paused; that payload comes after the last tick's, so the page's tick is the paused one.
    await page.click("#btn-pause");
    await expect.poll(() => page.textContent("#btn-pause"), { timeout: 10_000 }).toBe("Resume");
    const paused = await obs((o) => o.status().tick);
    const seq = await obs((o) => o.status().seq);
    // While paused the admin sets the loop to run as fast as possible: a loop that still ticked
    // would now run many ticks between any two commands. Every command applied while paused makes
    // the server publish at once, so the page receives one payload per command (seq advances)
    // and the server's own status replies say where the loop is: still paused, at the same tick.
    await page.selectOption("#sel-speed", "max");
    await expect.poll(() => page.textContent("#result"), { timeout: 10_000 }).toMatch(/speed: ok/);
    for (let i = 0; i < 3; i++) {
      expect(await consoleCommand(ADMIN_TOKEN, "status")).toMatchObject({ status: 200, body: { status: "ok", result: { tick: paused, loop: { state: "paused", tick: paused, ticks_per_second: null } } } });
    }
    await page.waitForFunction((n) => window.__observer.status().seq >= n + 4, seq, { timeout: 10_000 });
    expect(await obs((o) => o.status().tick)).toBe(paused);
    // Back to 2x (8 ticks a second), still paused, then resume.
    await page.selectOption("#sel-speed", "2");
    await expect.poll(() => page.textContent("#result"), { timeout: 10_000 }).toMatch(/speed: ok/);
    expect(await consoleCommand(ADMIN_TOKEN, "status")).toMatchObject({ body: { result: { tick: paused, loop: { state: "paused", ticks_per_second: 8 } } } });
    await page.click("#btn-pause");
    await expect.poll(() => page.textContent("#btn-pause"), { timeout: 10_000 }).toBe("Pause");
    await page.waitForFunction((n) => window.__observer.status().tick > n, paused, { timeout: 5_000 });
    // Set a need of the selected agent from its panel.
    const agent = (await obs((o) => o.status().selected)) ?? (await obs((o) => o.agents()[0]));
    await page.evaluate((a) => window.__observer.selectAgent(a), agent);
    await page.selectOption(".setneed select", "hygiene");
    await page.fill(".setneed input[type=range]", "0.1");
    await page.click("#btn-setneed");
    await expect.poll(() => page.textContent("#result"), { timeout: 10_000 }).toMatch(/setneed: ok/);
    await expect
      .poll(async () => Number(await page.locator(`#panel[data-agent="${agent}"] .bar[data-label="hygiene"] .val`).textContent()), { timeout: 5_000 })
      .toBeLessThan(0.15);
    // The audit file names the issuer of each, never a token.
    const audit = readFileSync(join(dir, "audit-0.ndjson"), "utf8");
    const records = audit.trim().split("\n").map((l) => JSON.parse(l) as { command: string; label: string | null; status: string });
    expect(records).toContainEqual(expect.objectContaining({ command: "perturbation_trigger", label: "ops", status: "ok" }));
    expect(records).toContainEqual(expect.objectContaining({ command: "perturbation_trigger", label: "alice", status: "error" }));
    expect(audit).not.toContain(ADMIN_TOKEN);
    expect(audit).not.toContain(VIEWER_TOKEN);
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(!HAVE_CHROMIUM)(HAVE_CHROMIUM ? "the observer of many towns (aggregate mode)" : `the observer of many towns (${SKIP_REASON})`, () => {
  let ctx: BrowserContext;
  let page: Page;
  let errors: string[] = [];
  let many: Served;

  beforeAll(async () => {
    // 300 towns of 8 agents: above stream.aggregate_above_agents (2,000), so the page sees a town
    // only through its subscription to it. No tokens: everyone watches as an anonymous viewer.
    many = await serve("--config", fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url)), "--towns", "300", "--speed", "2");
    ({ ctx, page, errors } = await launch());
    await page.goto(`${many.url}/`);
  }, 90_000);

  afterAll(async () => {
    await ctx?.close();
    if (many) await stop(many);
  });

  it("shows the overview of every town, and the town picked on it, to an anonymous viewer", async () => {
    await page.waitForFunction(() => window.__observer.status().towns === 300 && window.__observer.drawn.agents > 0, null, { timeout: 20_000 });
    const s = (await page.evaluate(() => window.__observer.status())) as ObserverStatus;
    expect(s).toMatchObject({ role: "viewer", label: "anonymous", mode: "aggregate", town: 0 });
    expect(await page.isHidden("#login")).toBe(true);
    expect(await page.isDisabled("#btn-trigger")).toBe(true);
    // The overview sits below the map: bring it into the viewport before reading where town 123 is.
    await page.locator("#overview").scrollIntoViewIfNeeded();
    const p = await page.evaluate(() => window.__observer.townPoint(123));
    expect(p).not.toBeNull();
    await page.mouse.click(p!.x, p!.y);
    await page.waitForFunction(() => window.__observer.status().town === 123, null, { timeout: 5_000 });
    await page.waitForFunction(
      () => {
        const o = window.__observer;
        const ids = o.agents();
        return ids.length > 0 && ids.every((id) => o.agentTown(id) === 123);
      },
      null,
      { timeout: 10_000 },
    );
    expect(await page.inputValue("#town-input")).toBe("123");
    expect(errors).toEqual([]);
  });
});
