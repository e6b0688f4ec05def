// The observer over a sharded world on worker threads: the real `townlet serve --config
// configs/default.yaml --towns 5 --agents 4 --shards 3 --workers 2` (blocks of towns 0 | 1..2 |
// 3..4, each a World of its own in a worker; the main thread merges their telemetry into one stream
// and routes console commands to the block that owns the target), watched in headless Chromium
// by an admin. The page must show what it shows for one world: every town of every block on the
// town picker and the overview, each town's agents on the map; an agent of the last block can
// be clicked, its panel shows its needs, and a setneed from that panel reaches the agent's block
// and comes back in the stream to the panel; the page raises no error. Waits are for states only.
// Without /usr/bin/chromium the browser part is reported as skipped, with the reason.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import type { CommandOutcome, ObserverDebug } from "../../web/src/api.ts";
import { Harness, HAVE_CHROMIUM, SKIP_REASON, type Served } from "./harness.ts";

if (!HAVE_CHROMIUM) console.warn(`observer browser tests over worker threads ${SKIP_REASON}`);

const ADMIN_TOKEN = "admin-token-e2e-workers-0123456789";
const CONFIG = fileURLToPath(new URL("../../configs/default.yaml", import.meta.url));
const TOWNS = 5;
const AGENTS_PER_TOWN = 4;
const SHARDS = 3;
/** The blocks' towns: the planner splits 5 towns into 3 blocks as 0 | 1..2 | 3..4. */
const BLOCK_OF_TOWN = [0, 1, 1, 2, 2];
/** Each block hands out uids from its own range: block b's start at b * floor(2^32 / blocks). */
const uidBlock = (id: string) => Math.floor(Number(id.slice("agent_".length)) / Math.floor(2 ** 32 / SHARDS));

declare const window: { __observer: ObserverDebug };

const h = new Harness();

describe.skipIf(!HAVE_CHROMIUM)(HAVE_CHROMIUM ? "the observer of a sharded world on worker threads" : `the observer of a sharded world on worker threads (${SKIP_REASON})`, () => {
  let ctx: BrowserContext;
  let page: Page;
  let errors: string[] = [];
  let served: Served;
  /** An agent of the last block, picked on the map. */
  let agent = "";
  const obs = <T>(fn: (o: ObserverDebug) => T) => page.evaluate(`(${fn.toString()})(window.__observer)`) as Promise<Awaited<T>>;

  beforeAll(async () => {
    const dir = h.begin("townlet-observer-workers-");
    const tokens = join(dir, "tokens.yaml");
    writeFileSync(tokens, `- {token: ${ADMIN_TOKEN}, role: admin, label: ops}\n`);
    // --speed 2: 8 ticks a second.
    const s = await h.serve("--config", CONFIG, "--towns", String(TOWNS), "--agents", String(AGENTS_PER_TOWN), "--shards", String(SHARDS), "--workers", "2", "--tokens", tokens, "--speed", "2");
    served = s;
    ({ ctx, page, errors } = await h.launch(s.url));
    await page.locator("#login").waitFor({ state: "visible" });
    await page.fill("#login-token", ADMIN_TOKEN);
    await page.click("#login-submit");
    await page.waitForFunction(() => window.__observer.status().role === "admin" && window.__observer.status().tick > 0, null, { timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await h.end();
  });

  it("serves the world in its blocks on two threads, and the page logs an admin in to it", async () => {
    // tools/args.ts threadsLine: "<blocks> blocks of towns on <threads> threads".
    const line = new RegExp(`${TOWNS * AGENTS_PER_TOWN} agents in ${TOWNS} town\\(s\\) in ${SHARDS} blocks of towns on 2 threads`);
    await h.until(() => line.test(served.stderr), 10_000, "the server's line on its blocks and threads");
    expect(await obs((o) => o.status())).toMatchObject({ connected: true, role: "admin", label: "ops", mode: "full", towns: TOWNS, town: 0 });
    // The server's status, asked from the page's own session, is the whole world's.
    const st = (await page.evaluate(() => window.__observer.command("status", {}))) as CommandOutcome;
    expect(st).toMatchObject({ status: "ok", result: { towns: TOWNS, agents: TOWNS * AGENTS_PER_TOWN, blocks: SHARDS, workers: 2 } });
    expect(errors).toEqual([]);
  });

  it("shows every town of every block: the picker counts them, the overview has a cell for each with its agents", async () => {
    expect(await page.isVisible("#town-picker")).toBe(true);
    expect(await page.textContent("#town-count")).toBe(`of ${TOWNS}`);
    await page.locator("#overview").scrollIntoViewIfNeeded();
    // Coloured by agents, the overview's scale spans every town's count: 4 in each (a missing
    // block's towns would count 0).
    await page.selectOption("#sel-kpi", "agents");
    await expect.poll(() => page.textContent("#overview-scale"), { timeout: 10_000 }).toMatch(new RegExp(`^agents: ${AGENTS_PER_TOWN}(\\.0+)? \\.\\. ${AGENTS_PER_TOWN}(\\.0+)?$`));
    // Picking each town's cell shows that town's own agents on the map, whichever block runs it.
    for (const town of [4, 1, 3, 2, 0]) {
      const p = await page.evaluate((t) => window.__observer.townPoint(t), town);
      expect(p, `town ${town}'s cell in the overview`).not.toBeNull();
      await page.mouse.click(p!.x, p!.y);
      await page.waitForFunction((t) => window.__observer.status().town === t, town, { timeout: 5_000 });
      await page.waitForFunction(
        ([t, n]) => {
          const o = window.__observer;
          const ids = o.agents();
          return ids.length === n && ids.every((id) => o.agentTown(id) === t) && o.lastFrame().agents.length === n;
        },
        [town, AGENTS_PER_TOWN] as const,
        { timeout: 10_000 },
      );
      const ids = await obs((o) => o.agents());
      expect(ids.map(uidBlock), `town ${town}'s agents come from block ${BLOCK_OF_TOWN[town]}'s uids`).toEqual(ids.map(() => BLOCK_OF_TOWN[town]));
    }
    expect(errors).toEqual([]);
  });

  it("clicking an agent of the last block opens its panel with its needs", async () => {
    // Town 4 with the picker's own controls (the last town, in block 2).
    await page.fill("#town-input", "4");
    await page.dispatchEvent("#town-input", "change");
    await page.waitForFunction(() => {
      const o = window.__observer;
      return o.status().town === 4 && o.agents().length > 0 && o.agents().every((id) => o.agentTown(id) === 4);
    }, null, { timeout: 10_000 });
    // An agent may step away between reading its position and the click: try a few.
    let clicked: string | null = null;
    for (let attempt = 0; attempt < 8 && clicked === null; attempt++) {
      const ids = await obs((o) => o.agents());
      const id = ids[attempt % ids.length];
      const point = await page.evaluate((a) => window.__observer.agentPoint(a), id);
      if (!point) continue;
      await page.mouse.click(point.x, point.y);
      if ((await obs((o) => o.status().selected)) === id) clicked = id;
    }
    expect(clicked).not.toBeNull();
    agent = clicked!;
    expect(uidBlock(agent)).toBe(2);
    const panel = page.locator(`#panel[data-agent="${agent}"]`);
    await expect.poll(() => panel.locator("h2").textContent(), { timeout: 10_000 }).toContain(agent);
    for (const need of ["hunger", "hygiene", "energy"]) {
      const v = Number(await panel.locator(`.bar[data-label="${need}"]`).getAttribute("data-value"));
      expect(v, need).toBeGreaterThanOrEqual(0);
      expect(v, need).toBeLessThanOrEqual(1);
    }
    // The panel's job and its reward breakdown come from the agent's block too (the breakdown
    // only for agents a client subscribed to: the page subscribes to the selected one).
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toMatch(/job.*shift.*attendance/s);
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toMatch(/needs_penalty/);
    expect(await page.isEnabled("#btn-setneed")).toBe(true);
    expect(errors).toEqual([]);
  });

  it("an admin's setneed from the panel reaches the agent's block and the panel shows the new value", async () => {
    expect(agent).not.toBe("");
    const panel = page.locator(`#panel[data-agent="${agent}"]`);
    const bar = panel.locator('.bar[data-label="hygiene"]');
    const before = Number(await bar.getAttribute("data-value"));
    // A value far from the current one, so that the change cannot be mistaken for decay.
    const target = before > 0.5 ? 0.1 : 0.9;
    await page.selectOption(".setneed select", "hygiene");
    await page.fill(".setneed input[type=range]", String(target));
    await page.click("#btn-setneed");
    await expect.poll(() => page.textContent("#result"), { timeout: 10_000 }).toMatch(/setneed: ok/);
    const result = (await obs((o) => o.results())).filter((r) => r.name === "setneed").at(-1);
    expect(result).toMatchObject({ status: "ok", result: { agent_id: agent } });
    // The value comes back in the stream: the bar shows it (a few ticks of decay aside).
    await expect.poll(async () => Math.abs(Number(await bar.getAttribute("data-value")) - target), { timeout: 10_000 }).toBeLessThan(0.05);
    // The main thread's console checked and audited it, naming the issuer.
    const audit = readFileSync(join(h.dir, "audit-0.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toContainEqual(expect.objectContaining({ command: "setneed", label: "ops", status: "ok" }));
    expect(errors).toEqual([]);
  });
});

// Added by A: aggregate mode over the whole world (300 towns of 8 agents, above
// stream.aggregate_above_agents), decided by the main thread and passed on to the blocks; a town
// of the last block picked on the overview reaches that block as a subscription to its local town.
const many = new Harness();

describe.skipIf(!HAVE_CHROMIUM)(HAVE_CHROMIUM ? "the observer of many towns in 6 blocks (aggregate mode)" : `the observer of many towns in 6 blocks (${SKIP_REASON})`, () => {
  let ctx: BrowserContext | undefined;
  let page: Page;
  let errors: string[] = [];

  beforeAll(async () => {
    many.begin("townlet-observer-workers-many-");
    const s = await many.serve("--config", fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url)), "--towns", "300", "--shards", "6", "--workers", "2", "--speed", "2");
    ({ ctx, page, errors } = await many.launch(s.url));
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await many.end();
  });

  it("shows the overview of every town to an anonymous viewer, and a town of the last block picked on it", async () => {
    await page.waitForFunction(() => window.__observer.status().towns === 300 && window.__observer.drawn.agents > 0, null, { timeout: 30_000 });
    expect(await page.evaluate(() => window.__observer.status())).toMatchObject({ role: "viewer", label: "anonymous", mode: "aggregate", town: 0 });
    await page.locator("#overview").scrollIntoViewIfNeeded();
    // Town 287 is block 5's (towns 250..299): its local town 37.
    const p = await page.evaluate(() => window.__observer.townPoint(287));
    expect(p).not.toBeNull();
    await page.mouse.click(p!.x, p!.y);
    await page.waitForFunction(() => window.__observer.status().town === 287, null, { timeout: 10_000 });
    await page.waitForFunction(
      () => {
        const o = window.__observer;
        const ids = o.agents();
        return ids.length === 8 && ids.every((id) => o.agentTown(id) === 287);
      },
      null,
      { timeout: 15_000 },
    );
    expect(errors).toEqual([]);
  });
});
