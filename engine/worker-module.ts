// Where a worker thread's entry module is, for the three thread groups (engine/shard-groups.ts,
// env/shard-groups.ts, training/sharded-groups.ts): beside the caller as sources (run through
// tsx) or compiled (dist/), found from the caller's own import.meta.url.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The entry module `name` (no extension) of folder `dir` (engine, env, training), looked up from `here` (the caller's import.meta.url). */
export function workerModule(here: string, dir: string, name: string): { url: string; tsx: boolean } {
  if (here.endsWith(".ts")) return { url: new URL(`./${name}.ts`, here).href, tsx: true };
  for (const rel of [`./${name}.js`, `../${dir}/${name}.js`]) {
    const u = new URL(rel, here);
    if (existsSync(fileURLToPath(u))) return { url: u.href, tsx: false };
  }
  throw new Error(`the worker module ${dir}/${name}.js was not found next to ${fileURLToPath(here)}`);
}
