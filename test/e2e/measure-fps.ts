// Measures the observer's frame rate in headless Chromium against a real `townlet serve` (not a
// test: the e2e suite checks behaviour, this prints figures), and optionally saves a screenshot.
//   npx tsx test/e2e/measure-fps.ts --agents 100 --speed 1 [--seconds 10] [--screenshot docs/observer.png]
//   npx tsx test/e2e/measure-fps.ts --config configs/many-towns.yaml --speed 1
// The README's pictures: --agents 40 --speed 4 --warmup 25 --perturb price_spike --screenshot docs/observer.png
//   --config configs/many-towns.yaml --towns 300 --speed 4 --town 42 --warmup 25 --screenshot docs/observer-many-towns.png
// Logs in as admin, selects an agent (its panel renders too), waits, then samples window.__observer
// once a second: animation frames per second, work per frame, and socket load.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import type { ObserverDebug } from "../../web/src/api.ts";

declare const window: { __observer: ObserverDebug };

const { values: o } = parseArgs({
  options: {
    config: { type: "string" },
    agents: { type: "string" },
    towns: { type: "string" },
    speed: { type: "string", default: "1" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "4" },
    screenshot: { type: "string" },
    perturb: { type: "string" },
    town: { type: "string" },
    width: { type: "string", default: "1280" },
    height: { type: "string", default: "900" },
    chromium: { type: "string", default: process.env.TOWNLET_CHROMIUM || "/usr/bin/chromium" },
  },
});

const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));
const ADMIN = "admin-token-measure-0123456789";
const dir = mkdtempSync(join(tmpdir(), "townlet-fps-"));
writeFileSync(join(dir, "tokens.yaml"), `- {token: ${ADMIN}, role: admin, label: ops}\n`);
const args = ["serve", "--port", "0", "--tokens", join(dir, "tokens.yaml"), "--audit", join(dir, "audit.ndjson"), "--speed", o.speed!, "--open"];
if (o.config) args.push("--config", o.config);
if (o.agents) args.push("--agents", o.agents);
if (o.towns) args.push("--towns", o.towns);
const server = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, DISPLAY: "", WAYLAND_DISPLAY: "" } });
let out = "";
server.stdout!.on("data", (d: Buffer) => (out += d.toString()));
const ctxDir = join(dir, "chromium");
try {
  const deadline = Date.now() + 60_000;
  while (!/open (http:\/\/[^\s]+)\//.test(out)) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`townlet serve did not print its URL:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /open (http:\/\/[^\s]+)\//.exec(out)![1];
  const ctx = await chromium.launchPersistentContext(ctxDir, {
    executablePath: o.chromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: Number(o.width), height: Number(o.height) },
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`${url}/`);
  await page.fill("#login-token", ADMIN);
  await page.click("#login-submit");
  await page.waitForFunction(() => window.__observer.status().role === "admin" && window.__observer.drawn.agents > 0, null, { timeout: 30_000 });
  if (o.town) {
    await page.evaluate((t) => window.__observer.selectTown(t), Number(o.town));
    await page.waitForFunction((t) => {
      const ob = window.__observer;
      const ids = ob.agents();
      return ob.status().town === t && ids.length > 0 && ids.every((a) => ob.agentTown(a) === t);
    }, Number(o.town), { timeout: 30_000 });
  }
  // Select the agent with the most to show (a job), by clicking it.
  const id = await page.evaluate(() => window.__observer.agents()[0]);
  const p = await page.evaluate((a) => window.__observer.agentPoint(a), id);
  if (p) await page.mouse.click(p.x, p.y);
  await page.waitForTimeout(Number(o.warmup) * 1000);
  if (o.perturb) {
    await page.selectOption("#sel-spec", o.perturb);
    await page.click("#btn-trigger");
  }
  const samples: { fps: number; frameMs: number; gap: number; netMs: number; kb: number; frames: number; tps: number }[] = [];
  for (let i = 0; i < Number(o.seconds); i++) {
    await page.waitForTimeout(1000);
    samples.push(
      await page.evaluate(() => {
        const ob = window.__observer;
        return { fps: ob.fps, frameMs: ob.frameMs, gap: ob.worstGapMs, netMs: ob.net.msPerSecond, kb: ob.net.kbPerSecond, frames: ob.net.framesPerSecond, tps: ob.status().tps };
      }),
    );
  }
  const st = await page.evaluate(() => ({ s: window.__observer.status(), drawn: window.__observer.drawn }));
  if (o.screenshot) {
    // Let the panel and charts settle on a moment with the agent selected.
    await page.mouse.move(5, 5);
    await page.screenshot({ path: o.screenshot, fullPage: true });
  }
  await ctx.close();
  const mean = (k: keyof (typeof samples)[0]) => samples.reduce((n, s) => n + s[k], 0) / samples.length;
  const min = (k: keyof (typeof samples)[0]) => Math.min(...samples.map((s) => s[k]));
  const max = (k: keyof (typeof samples)[0]) => Math.max(...samples.map((s) => s[k]));
  console.log(
    JSON.stringify({
      setup: { config: o.config ?? "configs/default.yaml", agents: o.agents ?? null, towns: st.s.towns, mode: st.s.mode, speed: Number(o.speed), agents_drawn: st.drawn.agents, selected: st.s.selected },
      fps_mean: +mean("fps").toFixed(1),
      fps_min: min("fps"),
      frame_work_ms_mean: +mean("frameMs").toFixed(3),
      worst_frame_gap_ms: +max("gap").toFixed(1),
      socket_ms_per_s: +mean("netMs").toFixed(1),
      socket_kb_per_s: +mean("kb").toFixed(1),
      payloads_per_s: +mean("frames").toFixed(1),
      ticks_per_s: +mean("tps").toFixed(2),
      gaps: st.s.gaps,
      samples: samples.length,
    }),
  );
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  rmSync(dir, { recursive: true, force: true });
}
