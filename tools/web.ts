// The observer page's assets (web/): bundled in memory by esbuild once per process (started when
// townlet serve starts, so the first page load does not wait) and served at / by townlet serve
// through the telemetry server's `site` hook. Nothing is fetched from elsewhere: the page, its
// script, its CSS and uPlot's CSS all come from this package.
import type { IncomingMessage, ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import { PROJECT_ROOT } from "../engine/paths.ts";
import type { TokenTable } from "../systems/console/index.ts";

export const WEB_ROOT = join(PROJECT_ROOT, "web") + sep;
/** The page as `npm run build` bundled it (tools/build-package.mjs): the package ships this, not web/src. */
export const PREBUILT_OBSERVER = join(PROJECT_ROOT, "dist", "observer");

interface Asset {
  type: string;
  body: Buffer;
}

/** The page may talk to its own origin only (its WebSocket included), and load nothing else. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const builds = new Map<string, Promise<Map<string, Asset>>>();

/** The assets of `root`, built on first use and kept for the life of the process (serve restarts rebuild). */
export function observerAssets(root = WEB_ROOT): Promise<Map<string, Asset>> {
  let b = builds.get(root);
  if (!b) {
    const prebuilt = root === WEB_ROOT && !existsSync(`${root}src/main.ts`) && existsSync(PREBUILT_OBSERVER);
    b = prebuilt ? loadPrebuiltObserver() : buildObserver(root);
    builds.set(root, b);
    // Reported on request; an unobserved rejection must not bring the server down.
    b.catch(() => {});
  }
  return b;
}

/** Builds web/src/main.ts and web/style.css (which @imports uPlot's CSS) into app.js and app.css. */
export async function buildObserver(root = WEB_ROOT): Promise<Map<string, Asset>> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [
      { in: `${root}src/main.ts`, out: "app" },
      { in: `${root}style.css`, out: "app" },
    ],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: "linked",
    outdir: "/observer",
    write: false,
    logLevel: "silent",
    legalComments: "none",
  });
  const assets = new Map<string, Asset>();
  for (const f of result.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf("/") + 1);
    const type = name.endsWith(".js") ? "text/javascript; charset=utf-8" : name.endsWith(".css") ? "text/css; charset=utf-8" : "application/json";
    assets.set(`/observer/${name}`, { type, body: Buffer.from(f.contents) });
  }
  assets.set("/", { type: "text/html; charset=utf-8", body: await readFile(`${root}index.html`) });
  return assets;
}

/** The assets of a build written out by writeObserver (an installed package has no web/src to bundle). */
export async function loadPrebuiltObserver(dir = PREBUILT_OBSERVER): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = name.endsWith(".html") ? "text/html; charset=utf-8" : name.endsWith(".js") ? "text/javascript; charset=utf-8" : name.endsWith(".css") ? "text/css; charset=utf-8" : "application/json";
    assets.set(name === "index.html" ? "/" : `/observer/${name}`, { type, body: await readFile(join(dir, name)) });
  }
  return assets;
}

/** Writes the observer's build to `dir` (index.html and /observer/* by their names): the package's prebuilt page. */
export async function writeObserver(dir = PREBUILT_OBSERVER, root = WEB_ROOT): Promise<number> {
  const assets = await buildObserver(root);
  mkdirSync(dir, { recursive: true });
  for (const [path, a] of assets) writeFileSync(join(dir, path === "/" ? "index.html" : path.slice("/observer/".length)), a.body);
  return assets.size;
}

export interface ObserverSiteOptions {
  /** Decides what the login form offers (anonymous viewing or a token). */
  tokens: TokenTable;
  root?: string;
}

/**
 * The `site` hook of the telemetry server: GET / (the page), /observer/app.js, /observer/app.css,
 * their source maps, and /observer/config.json (how to log in). `ready` settles when the bundle
 * is built; a failed build answers 500 with esbuild's message instead of the page.
 */
export function observerSite(o: ObserverSiteOptions): { handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>; ready: Promise<void> } {
  const built = observerAssets(o.root);
  const config = Buffer.from(
    JSON.stringify({
      auth: {
        tokens: o.tokens.enabled,
        anonymous_viewer: !o.tokens.enabled || !o.tokens.requireAuthForViewer,
      },
    }),
  );
  return {
    ready: built.then(() => undefined),
    async handle(req, res) {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === "/observer/config.json") return send(req, res, 200, "application/json", config);
      if (path !== "/" && path !== "/index.html" && !path.startsWith("/observer/")) return false;
      let assets: Map<string, Asset>;
      try {
        assets = await built;
      } catch (e) {
        const msg = `the observer page (web/) failed to build: ${e instanceof Error ? e.message : String(e)}`;
        return send(req, res, 500, "text/plain; charset=utf-8", Buffer.from(msg));
      }
      const a = assets.get(path === "/index.html" ? "/" : path);
      if (!a) return false;
      return send(req, res, 200, a.type, a.body);
    },
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer): true {
  res.writeHead(status, {
    "content-type": type,
    "content-length": body.length,
    // The bundle is rebuilt when serve restarts; revalidating keeps a reload current.
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...(type.startsWith("text/html") ? { "content-security-policy": CSP } : {}),
  });
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}
