// The watchdog of a world that ticks on the main thread (`townlet run`, `serve`, `train`, the bridge
// on one block). A system that never returns (an endless loop in a plug-in) blocks the main thread,
// so no timer or handler of its own can fire: a small watcher thread reads the tick's heartbeat
// (engine/heartbeat.ts, shared words the tick loop writes once per system) and, when the same system
// has run for `seconds`, prints to stderr which system (and plug-in) in which tick, then ends the
// process with exit code WATCHDOG_EXIT_CODE. To say where the main thread was, the watcher asks it,
// through node:inspector (an interrupt a busy loop still takes), to print its stack and exit at once:
// no exit handler runs (the world is mid-tick); what is on disk (the last snapshot) stands. Should the
// main thread not answer within KILL_AFTER_MS (stuck outside JavaScript), the watcher kills the process
// (SIGKILL). Sharded worlds' worker threads have their own watch (engine/watchdog.ts).
import { closeSync, openSync, writeSync } from "node:fs";
import { url as inspectorUrl } from "node:inspector";
import { isMainThread, Worker } from "node:worker_threads";
import { BEAT_WORDS, heartbeat, watchSchedules } from "./heartbeat.ts";

/** The exit code of a process its watchdog ended (EX_SOFTWARE of sysexits.h; 1 and 2 mean other things here). */
export const WATCHDOG_EXIT_CODE = 70;
/** How long the watcher waits for the stuck main thread to exit before it kills the process. */
export const KILL_AFTER_MS = 3000;
/** The main thread's side: prints its stack and exits (the watcher evaluates it through the inspector). */
const HOOK = Symbol.for("townlet.tickWatchdog");

/** A running watch (or none: `active` false, and `note` says why when that is worth telling). */
export interface TickWatch {
  readonly active: boolean;
  readonly note?: string;
  /** Stops watching (idempotent); the watcher thread ends. */
  stop(): void;
}

const NONE: TickWatch = { active: false, stop() {} };
let running: TickWatch | undefined;

/**
 * Watches every world ticking on this (the main) thread until stop(): a system (or the end of a
 * tick: deferred tasks, tick listeners) that runs for `seconds` without returning ends the process.
 * `seconds` <= 0: no watch. Not on a worker thread (the inspector reaches the main thread only),
 * nor while a debugger is attached (a breakpoint in a system looks like a stall); one watch at a time.
 */
export function startTickWatchdog(seconds: number): TickWatch {
  if (!Number.isFinite(seconds)) throw new RangeError(`watchdog: seconds must be a finite number, got ${seconds}`);
  if (seconds <= 0 || !isMainThread || running !== undefined) return NONE;
  if (inspectorUrl() !== undefined) return { ...NONE, note: "the watchdog is off: a debugger is attached (a breakpoint would look like a stuck system)" };
  const words = new Int32Array(new SharedArrayBuffer(BEAT_WORDS * 4));
  words.set(heartbeat.words);
  const plain = heartbeat.words;
  heartbeat.words = words;
  (globalThis as Record<symbol, unknown>)[HOOK] = exitFromMainThread;
  let worker: Worker | undefined = new Worker(WATCHER_SOURCE, {
    eval: true,
    workerData: { buffer: words.buffer, schedules: watchSchedules((id, names) => worker?.postMessage({ id, names })), seconds, code: WATCHDOG_EXIT_CODE, killAfterMs: KILL_AFTER_MS },
    // Plain CommonJS whatever this process was started with (--input-type=module, a loader).
    execArgv: [],
  });
  worker.unref();
  // A watcher that fails leaves the run unwatched (one line says so), never stops it.
  worker.on("error", (e) => {
    if (worker !== undefined) process.stderr.write(`townlet: watchdog: the watcher thread failed (${e.message}); this run is not watched\n`);
  });
  const watch: TickWatch = {
    active: true,
    stop() {
      if (worker === undefined) return;
      const w = worker;
      worker = undefined;
      watchSchedules(undefined);
      heartbeat.words = plain;
      delete (globalThis as Record<symbol, unknown>)[HOOK];
      running = undefined;
      void w.terminate();
    },
  };
  running = watch;
  return watch;
}

/** Runs on the stuck main thread (an inspector interrupt): its stack to stderr, then exit at once. */
function exitFromMainThread(): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 14;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const frames = stack
    .split("\n")
    .slice(1)
    .filter((l) => !l.includes("tick-watchdog") && !/<anonymous>:\d+:\d+\)?$/.test(l))
    .slice(0, 10);
  try {
    writeSync(2, `townlet: watchdog: the main thread was at\n${frames.join("\n")}\n`);
  } catch {
    // stderr gone or full: the exit still comes
  }
  // The inspector session the watcher opened would add "Waiting for the debugger to disconnect..."
  // at exit: stderr (fd 2) becomes /dev/null first (the lowest free descriptor is 2 again).
  if (process.platform !== "win32") {
    try {
      closeSync(2);
      openSync("/dev/null", "w");
    } catch {
      // stderr stays as it was
    }
  }
  const reallyExit = (process as unknown as { reallyExit?: (code: number) => never }).reallyExit;
  if (typeof reallyExit === "function") reallyExit.call(process, WATCHDOG_EXIT_CODE);
  process.exit(WATCHDOG_EXIT_CODE);
}

/** The watcher thread (plain CommonJS: no TypeScript loader needed). */
const WATCHER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const { performance } = require("node:perf_hooks");
const w = new Int32Array(workerData.buffer);
const schedules = workerData.schedules;
const limitMs = workerData.seconds * 1000;
parentPort.on("message", (m) => { schedules[m.id] = m.names; });
// A stderr that is gone or full must not stop the exit.
const say = (line) => { try { writeSync(2, line); } catch {} };
let seen = Atomics.load(w, 0);
let since = performance.now();
const timer = setInterval(() => {
  const seq = Atomics.load(w, 0);
  const sys = Atomics.load(w, 2);
  const now = performance.now();
  if (sys === 0 || seq !== seen) { seen = seq; since = now; return; }
  if (now - since < limitMs) return;
  clearInterval(timer);
  const tick = Atomics.load(w, 1);
  const names = schedules[Atomics.load(w, 3)] || [];
  const at = sys <= names.length ? "system " + JSON.stringify(names[sys - 1].system) + " (plug-in " + JSON.stringify(names[sys - 1].plugin) + ")" : "the end of the tick (deferred tasks and tick listeners)";
  say("townlet: watchdog: " + at + " has not returned for " + ((now - since) / 1000).toFixed(1) + " s in tick " + tick +
    " (a system that never returns, e.g. an endless loop in a plug-in); the process ends with exit code " + workerData.code +
    " (limit " + workerData.seconds + " s: --watchdog SECONDS, 0 for none). Tick " + tick + " is lost: nothing of it is saved; the last snapshot written stands.\\n");
  try {
    const { Session } = require("node:inspector");
    const s = new Session();
    s.connectToMainThread();
    s.post("Runtime.evaluate", { expression: "globalThis[Symbol.for('townlet.tickWatchdog')]?.()" });
  } catch {}
  setTimeout(() => {
    say("townlet: watchdog: the main thread did not answer within " + workerData.killAfterMs + " ms (stuck outside JavaScript?); killing the process (SIGKILL)\\n");
    process.kill(process.pid, "SIGKILL");
  }, workerData.killAfterMs);
}, Math.max(20, Math.min(500, workerData.seconds * 250)));
`;
