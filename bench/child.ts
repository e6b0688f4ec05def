// Runs a benchmark script in a fresh Node process (`node --expose-gc --import tsx SCRIPT ...`):
// each size or tensor backend gets a clean heap, an exact memory reading and its own backend
// (TensorFlow.js allows one per process). The script prints one JSON object as its last stdout
// line; its stderr lines (progress) are handed to `onLine` as they arrive.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { totalmem } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { PROJECT_ROOT } from "../engine/paths.ts";

/** Compiled (the package's dist/, or its CLI bundle): children run dist/bench/*.js with no tsx. */
const COMPILED = !import.meta.url.endsWith(".ts");
const script = (name: string) => (COMPILED ? join(PROJECT_ROOT, "dist", "bench", `${name}.js`) : fileURLToPath(new URL(`./${name}.ts`, import.meta.url)));

/** Absolute paths of the benchmark scripts. */
export const SCRIPTS = {
  sim: script("sim"),
  policy: script("policy"),
};

export interface ChildResult<T> {
  ok: boolean;
  /** The last stdout line, parsed, when the script succeeded. */
  value?: T;
  /** Exit code (or signal) and the last stderr lines, when it did not. */
  error?: string;
  wall_s: number;
}

/** tsx's loader as a file URL, so the child finds it from any working folder. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
}

/** Old-space limit for children: three quarters of the machine's memory, at most 64 GiB. */
function heapLimitMb(): number {
  return Math.max(2048, Math.min(65536, Math.floor((totalmem() / 2 ** 20) * 0.75)));
}

/**
 * The environment that makes glibc's malloc ask for transparent huge pages (madvise) on the memory
 * it maps, typed arrays' stores included (GLIBC_TUNABLES glibc.malloc.hugetlb=1, glibc 2.35+; Linux
 * with transparent_hugepage "madvise" or "always"). Other tunables already set are kept.
 */
export function hugePagesEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const have = env.GLIBC_TUNABLES;
  if (have && /(^|:)glibc\.malloc\.hugetlb=/.test(have)) return env;
  return { ...env, GLIBC_TUNABLES: have ? `${have}:glibc.malloc.hugetlb=1` : "glibc.malloc.hugetlb=1" };
}

/**
 * Writes a child script's result as its last stdout line; resolves once the line has left the
 * process. Why: to a pipe, process.stdout.write is asynchronous on Linux, and the process.exit
 * right after it cut short a result longer than the pipe's 64 KB buffer (a --repeat run's
 * per-tick, per-system times: 0.9 MB at 96 agents over 5,332 ticks), which runChild then read as
 * "no output".
 */
export function writeResult(value: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(JSON.stringify(value) + "\n", (e) => (e ? reject(e) : resolve())));
}

export function runChild<T>(script: string, args: readonly string[], onLine: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<ChildResult<T>> {
  const t0 = performance.now();
  const nodeArgs = ["--expose-gc", `--max-old-space-size=${heapLimitMb()}`, ...(COMPILED ? [] : ["--import", tsxLoader()]), script, ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs, { stdio: ["ignore", "pipe", "pipe"], ...(env ? { env } : {}) });
    let stdout = "";
    let errBuf = "";
    const tail: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      errBuf += d;
      let i: number;
      while ((i = errBuf.indexOf("\n")) >= 0) {
        const line = errBuf.slice(0, i);
        errBuf = errBuf.slice(i + 1);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onLine(line);
      }
    });
    const done = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (errBuf) {
        tail.push(errBuf);
        onLine(errBuf);
      }
      const wall_s = (performance.now() - t0) / 1000;
      const last = stdout.trimEnd().split("\n").at(-1) ?? "";
      if (!spawnError && code === 0) {
        try {
          resolve({ ok: true, value: JSON.parse(last) as T, wall_s });
          return;
        } catch {
          // falls through: no JSON line
        }
      }
      const why = spawnError ? spawnError.message : signal ? `killed by ${signal}` : `exit code ${code}`;
      const hint = /heap out of memory|Allocation failed|Array buffer allocation failed/i.test(tail.join("\n")) ? " (out of memory)" : "";
      resolve({ ok: false, error: `${why}${hint}: ${tail.slice(-3).join(" | ") || "no output"}`, wall_s });
    };
    child.on("error", (e) => done(null, null, e));
    child.on("close", (code, signal) => done(code, signal));
  });
}
