// What the observer's browser tests share: the real `townlet serve` process on a free loopback
// port (its URL read from `--open`'s line), Debian's chromium driven by playwright-core (never a
// browser download), and a bounded wait that shows the servers' stderr when it runs out.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";

export const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));
/** Debian's chromium; TOWNLET_CHROMIUM points elsewhere (another distribution's path). */
export const CHROMIUM = process.env.TOWNLET_CHROMIUM || "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const SKIP_REASON = `skipped: ${CHROMIUM} not found; apt-get install chromium (or set TOWNLET_CHROMIUM)`;
/** Flags that work as root with no network (no background connections, no sandbox, no GPU). */
export const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Served {
  child: ChildProcess;
  url: string;
  stdout: string;
  stderr: string;
}

/** One test file's servers and browsers, in a temporary folder made by `begin` and removed by `end`. */
export class Harness {
  dir = "";
  readonly servers: Served[] = [];

  /** Makes the folder (audit files, tokens, browser profiles) and returns it. */
  begin(prefix: string): string {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    return this.dir;
  }

  /** Stops every server still running and removes the folder. */
  async end(): Promise<void> {
    for (const s of this.servers.splice(0)) await this.stop(s);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Polls `fn` until it returns something truthy, for at most `ms`. */
  until = async <T>(fn: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\nserver stderr:\n${this.servers.map((s) => s.stderr.slice(-2000)).join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Starts `townlet serve --port 0 --open ...` and resolves with the URL it prints. */
  serve = async (...args: string[]): Promise<Served> => {
    // --open only prints the URL here: no desktop, so no browser is launched.
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--host", "127.0.0.1", "--audit", join(this.dir, `audit-${this.servers.length}.ndjson`), "--open", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: this.dir,
      env: { ...process.env, DISPLAY: "", WAYLAND_DISPLAY: "" },
    });
    const s: Served = { child, url: "", stdout: "", stderr: "" };
    this.servers.push(s);
    child.stdout!.on("data", (d: Buffer) => (s.stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (s.stderr += d.toString()));
    const re = /open (http:\/\/127\.0\.0\.1:\d+)\//;
    await this.until(() => re.test(s.stdout) || child.exitCode !== null, 60_000, "the observer URL on stdout");
    if (child.exitCode !== null) throw new Error(`townlet serve exited with ${child.exitCode}:\n${s.stderr}`);
    s.url = re.exec(s.stdout)![1];
    return s;
  };

  /** SIGTERM, then SIGKILL after 5 s. */
  stop = async (s: Served): Promise<void> => {
    if (s.child.exitCode !== null) return;
    const exited = new Promise((r) => s.child.once("exit", r));
    s.child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (s.child.exitCode === null) s.child.kill("SIGKILL");
  };

  /** A fresh chromium profile and its page (page errors collected), optionally opened at `url`. */
  launch = async (url?: string): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> => {
    const { chromium } = await import("playwright-core");
    const ctx = await chromium.launchPersistentContext(mkdtempSync(join(this.dir, "chromium-")), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    if (url !== undefined) await page.goto(`${url}/`);
    return { ctx, page, errors };
  };
}
