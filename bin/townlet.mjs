#!/usr/bin/env node
// Entry point of the `townlet` command. The installed package (and a checkout after `npm run build`)
// runs the compiled CLI in dist/ (start-up in a fraction of a second); a checkout without a build,
// or whose TypeScript changed since it, runs the sources through tsx. TOWNLET_TSX=1 forces tsx.
import { readdirSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);
const SOURCE_DIRS = ["engine", "components", "systems", "env", "tools", "training", "bench"];

/** True when dist/BUILD exists and no source file (where there are sources) is newer. */
function distIsFresh() {
  let stamp;
  try {
    stamp = statSync(new URL("dist/BUILD", root)).mtimeMs;
  } catch {
    return false;
  }
  const newer = (dir) => {
    let names;
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false; // an installed package ships no sources
    }
    for (const e of names) {
      const p = new URL(e.name + (e.isDirectory() ? "/" : ""), dir);
      if (e.isDirectory() ? newer(p) : e.name.endsWith(".ts") && statSync(p).mtimeMs > stamp) return true;
    }
    return false;
  };
  return !SOURCE_DIRS.some((d) => newer(new URL(`${d}/`, root)));
}

let main;
if (process.env.TOWNLET_TSX !== "1" && distIsFresh()) {
  ({ main } = await import("../dist/cli/townlet.js"));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../tools/cli.ts"));
}
process.exitCode = await main(process.argv.slice(2));
