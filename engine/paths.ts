// Where the project's own files are: the folder holding package.json and configs/, found by walking
// up from this module. The same answer from the sources (engine/paths.ts, run through tsx) and from
// the compiled package (dist/engine/paths.js), so shipped configs resolve in both.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(from: string): string {
  for (let d = from; ; d = dirname(d)) {
    if (existsSync(join(d, "package.json")) && existsSync(join(d, "configs"))) return d;
    if (dirname(d) === d) return dirname(from);
  }
}

/** The project (or installed package) root. */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/** The shipped configs. */
export const CONFIGS_DIR = join(PROJECT_ROOT, "configs");
/** The default town. */
export const DEFAULT_CONFIG_FILE = join(CONFIGS_DIR, "default.yaml");
