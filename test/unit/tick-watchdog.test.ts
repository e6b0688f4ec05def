// The watchdog of a world on one thread (engine/tick-watchdog.ts, engine/heartbeat.ts): the tick
// loop names the running system in shared words; a watcher thread that sees one system run past
// `--watchdog SECONDS` prints which system of which plug-in in which tick and ends the process with
// WATCHDOG_EXIT_CODE (a stuck main thread runs no handler of its own). Runs with the watchdog on
// give the same state hash as without it; the watcher never keeps a process alive.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { BEAT_SCHEDULE, BEAT_SEQ, BEAT_SYSTEM, BEAT_TICK, heartbeat, watchSchedules } from "../../engine/heartbeat.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { startTickWatchdog, WATCHDOG_EXIT_CODE } from "../../engine/tick-watchdog.ts";
import { World } from "../../engine/world.ts";
import { encodeFrame, FrameReader } from "../../tools/bridge.ts";
import { main } from "../../tools/cli.ts";
import { makeSettings } from "../helpers/world.ts";

const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));
const SPIN = fileURLToPath(new URL("../fixtures/spin-main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "townlet-tick-watchdog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node args...` in the repository; a child still running after 90 s is killed (then the test
 * fails on its code). `talk`: sees each chunk of stdout and may answer on stdin (the bridge's frames).
 */
function child(args: string[], talk?: { first: Buffer[]; answer: (chunk: Buffer) => Buffer[] }): Promise<Exit> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdin.on("error", () => {}); // an answer written after the child ended
    p.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      if (talk) for (const b of talk.answer(c)) p.stdin.write(b);
    });
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const guard = setTimeout(() => p.kill("SIGKILL"), 90_000);
    p.on("exit", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
    if (talk) for (const b of talk.first) p.stdin.write(b);
    else p.stdin.end();
  });
}

const STUCK_LINE = /townlet: watchdog: system "spin-main\/forever" \(plug-in "spin-main"\) has not returned for \d+\.\d s in tick 5 \(a system that never returns, e\.g\. an endless loop in a plug-in\); the process ends with exit code 70 \(limit 1 s: --watchdog SECONDS, 0 for none\)\. Tick 5 is lost: nothing of it is saved; the last snapshot written stands\./;

describe("the heartbeat a tick writes", () => {
  it("names the running system (flat schedule index + 1, its schedule and tick) and is 0 between ticks", () => {
    const seen: number[][] = [];
    const probe = definePlugin({
      name: "probe",
      systems: [{ name: "probe/look", phase: "needs", run: () => void seen.push(Array.from(heartbeat.words)) }],
    });
    const w = new World({ settings: makeSettings({}, [probe]), plugins: [probe] });
    const before = heartbeat.words[BEAT_SEQ];
    w.step();
    w.step();
    expect(heartbeat.words[BEAT_SYSTEM]).toBe(0);
    // One bump as the system starts, one as the tick's end starts, one as the tick returns.
    expect((heartbeat.words[BEAT_SEQ] - before) | 0).toBe(6);
    expect(seen.map((b) => b[BEAT_TICK])).toEqual([1, 2]);
    const names = watchSchedules(undefined)[seen[0][BEAT_SCHEDULE]];
    expect(names[seen[0][BEAT_SYSTEM] - 1]).toEqual({ system: "probe/look", plugin: "probe" });
  });

  it("is 0 again after a system throws", () => {
    const boom = definePlugin({ name: "boom", systems: [{ name: "boom/throw", phase: "needs", run: () => { throw new Error("no"); } }] });
    const w = new World({ settings: makeSettings({}, [boom]), plugins: [boom] });
    expect(() => w.step()).toThrow(/no/);
    expect(heartbeat.words[BEAT_SYSTEM]).toBe(0);
  });
});

describe("a one-thread world stuck in a plug-in's endless loop", () => {
  it("townlet run --watchdog 1 exits with the watchdog's code, naming the plug-in's system, the tick and where it spins", async () => {
    const r = await child([BIN, "run", "--ticks", "50", "--plugin", SPIN, "--watchdog", "1", "--quiet"]);
    expect(r.code).toBe(WATCHDOG_EXIT_CODE);
    expect(r.stderr).toMatch(STUCK_LINE);
    // The main thread's own stack, printed through the inspector's interrupt: the loop's file and line.
    expect(r.stderr).toMatch(/townlet: watchdog: the main thread was at\n\s+at .*spin-main\.ts:\d+:\d+/);
    expect(r.stderr).not.toMatch(/Waiting for the debugger/);
  }, 120_000);

  it("townlet serve on one block exits the same way", async () => {
    const r = await child([BIN, "serve", "--port", "0", "--host", "127.0.0.1", "--audit", join(dir, "audit.ndjson"), "--ticks", "50", "--exit", "--plugin", SPIN, "--watchdog", "1", "--quiet"]);
    expect(r.code).toBe(WATCHDOG_EXIT_CODE);
    expect(r.stderr).toMatch(STUCK_LINE);
  }, 120_000);

  it("townlet train on one block exits the same way (here while recording scripted play)", async () => {
    const r = await child([BIN, "train", "--quick", "--plugin", SPIN, "--watchdog", "1", "--out", join(dir, "train"), "--quiet"]);
    expect(r.code).toBe(WATCHDOG_EXIT_CODE);
    expect(r.stderr).toMatch(STUCK_LINE);
  }, 120_000);

  it("townlet serve --stdio (the bridge) on one block exits the same way, mid-step", async () => {
    // Reset, then a step (every row's action 0) after each reply: the world reaches tick 5.
    const reader = new FrameReader();
    let id = 1;
    const step = (n: number) => Buffer.concat(encodeFrame({ type: "step", id: ++id }, [["actions", new Int32Array(n), [n]]]));
    const r = await child([BIN, "serve", "--stdio", "--plugin", SPIN, "--watchdog", "1"], {
      first: [Buffer.concat(encodeFrame({ type: "reset", id: 1, seed: 1 }))],
      answer: (chunk) => reader.push(chunk).map((f) => step(f.header.count as number)),
    });
    expect(r.code).toBe(WATCHDOG_EXIT_CODE);
    expect(r.stderr).toMatch(STUCK_LINE);
  }, 120_000);
});

describe("a run with the watchdog on", () => {
  it("ends normally with the state hash of a run without it, and stops its watcher", async () => {
    const hashes: string[] = [];
    for (const dog of ["0", "5"]) {
      const lines: string[] = [];
      const code = await main(["run", "--ticks", "120", "--seed", "3", "--watchdog", dog, "--json", "--quiet"], { log: (l) => lines.push(l), err: () => {} });
      expect(code).toBe(0);
      hashes.push((JSON.parse(lines[0]) as { state_hash: string }).state_hash);
    }
    expect(hashes[1]).toBe(hashes[0]);
    // Stopped: a new watch may start (one at a time), and the words are this thread's plain ones again.
    expect(heartbeat.words.buffer).toBeInstanceOf(ArrayBuffer);
    const next = startTickWatchdog(5);
    expect(next.active).toBe(true);
    next.stop();
  });

  it("never keeps the process alive (a script that starts one and returns exits at once, code 0)", async () => {
    const script = `import(${JSON.stringify(new URL("../../engine/tick-watchdog.ts", import.meta.url).href)}).then((m) => { if (!m.startTickWatchdog(30).active) process.exit(3); });`;
    const r = await child(["--import", "tsx", "--input-type=module", "-e", script]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  }, 120_000);
});

describe("--watchdog values", () => {
  const refused = async (argv: string[]) => {
    const errs: string[] = [];
    const code = await main(argv, { log: () => {}, err: (l) => errs.push(l) });
    return { code, err: errs.join("\n") };
  };

  it("refuses a negative, non-numeric or infinite number of seconds on run, serve, train and the bridge", async () => {
    for (const cmd of [["run"], ["serve"], ["train", "--quick"], ["serve", "--stdio"]]) {
      for (const [raw, why] of [["-1", /--watchdog: expected a number >= 0, got "-1"/], ["soon", /--watchdog: expected a number.*got "soon"/], ["Infinity", /--watchdog: expected a number.*got "Infinity"/]] as const) {
        const r = await refused([...cmd, "--watchdog", raw]);
        expect(r.code, `${cmd.join(" ")} --watchdog ${raw}`).not.toBe(0);
        expect(r.err, `${cmd.join(" ")} --watchdog ${raw}`).toMatch(why);
      }
    }
  });

  it("the library refuses a non-finite limit", () => {
    expect(() => startTickWatchdog(Number.NaN)).toThrow(/finite number/);
    expect(startTickWatchdog(0).active).toBe(false);
  });
});
