#!/usr/bin/env node
// Builds the published package into dist/: compiled JavaScript and type declarations
// (tsc -p tsconfig.build.json; relative `.ts` imports rewritten to `.js`, in the declarations too),
// the JSON files modules read next to themselves, and dist/BUILD, the stamp bin/townlet.mjs compares
// with the sources' times (a checkout whose sources changed since the build runs them through tsx).
// Run by `npm run build` and `prepack` (so `npm pack` ships it); the checkout itself needs no build.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, "dist");
export const SOURCE_DIRS = ["engine", "components", "systems", "env", "tools", "training", "bench"];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

const t0 = performance.now();
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
} catch {
  console.error("build: tsc reported errors (above); dist/ is not usable");
  rmSync(dist, { recursive: true, force: true });
  process.exit(1);
}
let assets = 0;
let declarations = 0;
for (const d of SOURCE_DIRS) {
  for (const file of walk(join(root, d))) {
    // Data read at run time next to the module (e.g. engine/config/original-spec.json).
    if (file.endsWith(".json")) {
      const to = join(dist, relative(root, file));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(file, to);
      assets++;
    }
  }
}
for (const file of walk(dist)) {
  if (!file.endsWith(".d.ts")) continue;
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g, "$1$2.js$3");
  if (fixed !== text) {
    writeFileSync(file, fixed);
    declarations++;
  }
}
// The CLI as one ES module with lazily loaded chunks (dist/cli/): a handful of files to read instead
// of hundreds, which is most of a compiled start-up. Packages with native parts, large optional ones
// (tfjs, vega, resvg: training and neural policies only) and esbuild itself stay in node_modules.
const esbuild = await import("esbuild");
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { townlet: "tools/cli.ts" },
  outdir: join(dist, "cli"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "[name]-[hash]",
  external: ["@tensorflow/*", "@resvg/*", "vega", "vega-lite", "esbuild", "playwright-core", "webgpu", "tsx", "uplot"],
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __townletRequire } from "node:module"; const require = __townletRequire(import.meta.url);' },
  logLevel: "warning",
});
for (const file of walk(dist)) {
  if (file.endsWith(".json") && !file.startsWith(join(dist, "cli"))) copyFileSync(file, join(dist, "cli", file.split("/").pop()));
}
// The observer page, bundled now: the package ships dist/observer/, not web/src and the sources it imports.
const { writeObserver } = await import(join(dist, "tools", "web.js"));
const pageFiles = await writeObserver(join(dist, "observer"), join(root, "web") + "/");
writeFileSync(join(dist, "BUILD"), `${new Date().toISOString()}\n`);
console.error(`build: dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s (${assets} JSON asset(s) copied, ${declarations} declaration file(s) with .ts imports rewritten, observer page: ${pageFiles} file(s))`);
