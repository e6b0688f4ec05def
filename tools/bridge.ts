// `townlet serve --stdio`: the env contract over stdin/stdout for other languages (python/).
// One binary frame per request and per reply, never one per agent:
//   u32 LE body length (bytes after this field), u32 LE header length, header JSON (utf-8),
//   zero padding to an 8-byte boundary, then the arrays back to back at 8-byte-aligned offsets
//   (relative to the start of the frame) listed in header.arrays: [{ name, dtype, shape, offset }].
// Requests (header.type): hello, reset { seed?, options? }, step (array "actions" int32 [N]),
// close. Replies carry the same type (or "error" with a message) and `id` of the request.
// Step/reset replies: tick, count, joined, ids (reset) or joined_ids (step), sparse infos,
// and the arrays agents int32, uids uint32, obs [N, D] float32, masks [N, A] uint8, rewards float32,
// terminated, truncated, taken, invalid (uint8). A reset/step request may name a shared-memory
// slot (`shm`, and `shm_path` the first time): the reply's arrays then go into that file and
// only the header travels on the pipe. Stdout carries frames only: logs go to stderr.
// Version history: 1 first version (shared memory: two fixed slots named in hello);
// 2 the client names the slot per request (a slot is reused only when the client holds no view
// of it), a failed shared-memory write falls back to the pipe with `shm_error`; 3 `uids` is
// uint32 (it was int32, where the uids of a sharded world's upper blocks, >= 2^31, read negative).
// `--workers N [--shards K]`: a world of several blocks (world.shards) is served by
// env/sharded.ts (its blocks on N threads; default: the machine's cores, capped by the blocks); the replies are the same for any N (hello says N, the
// blocks, and any cap on N in `notes`), and a world of one block is served by TownletVectorEnv
// exactly as before. A worker thread that dies is a non-fatal error reply (EnvWorkerDied) naming
// it, repeated for every later reset/step. `--plugin` and the config's `plugins:` load in every thread.
import { FLAG, parseCommand, threadsLine, type CommandSpec } from "./args.ts";
import { join } from "node:path";
import { PROJECT_ROOT } from "../engine/paths.ts";
import { closeSync, openSync, readFileSync } from "node:fs";
import { ENV_NAME } from "../env/parallel.ts";
import { DEFAULT_ENV_CONFIG, TownletVectorEnv, type VectorStep } from "../env/vector.ts";
import { loadConfig } from "../engine/config/loader.ts";
import { corePlugins } from "../systems/index.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { ShardedVectorEnv } from "../env/sharded.ts";
import { shardsOf } from "../engine/shard-blocks.ts";
import { DEFAULT_WATCHDOG_SECONDS } from "../engine/watchdog.ts";
import { startTickWatchdog, type TickWatch } from "../engine/tick-watchdog.ts";
import {
  PROTOCOL_VERSION,
  encodeFrame,
  encodeShmFrame,
  FrameError,
  FrameReader,
  readArray,
  type Typed,
} from "./bridge-frames.ts";
// The frame encoding and reading live in bridge-frames.ts; this path keeps exporting them.
export { PROTOCOL_VERSION, encodeFrame, encodeShmFrame, FrameError, FrameReader, type ArrayDesc, type ReadFrame, type FrameReaderOptions } from "./bridge-frames.ts";

/** Largest request header (JSON): a step's is about 200 bytes plus a shared-memory path. */
export const MAX_REQUEST_HEADER = 64 * 1024;
/** Shared-memory slots a client may open (it adds one only while it holds views of all the others). */
export const MAX_SHM_SLOTS = 64;

interface Out {
  log(line: string): void;
  err(line: string): void;
}

function engineVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The envs the bridge drives: one World, or a sharded world's blocks on N threads (same replies for any N). */
export type BridgeEnv = TownletVectorEnv | ShardedVectorEnv;

/** The bridge state machine, separate from stdio so that tests can drive it. */
export class Bridge {
  readonly env: BridgeEnv;
  /** Shared-memory files by slot, opened when a request names them (`shm_path`). */
  private shm: (number | undefined)[] = [];
  /**
   * `notes`: what openBridgeEnv said about the setup (a --workers cap), repeated in hello so that
   * a client that does not read stderr sees it too.
   */
  constructor(
    env: BridgeEnv,
    private readonly notes: readonly string[] = [],
  ) {
    this.env = env;
  }

  /** Closes the shared-memory files and stops the env's worker threads (if any). */
  shutdown(): void {
    this.close();
    this.env.close();
  }

  close(): void {
    for (const fd of this.shm) if (fd !== undefined) closeSync(fd);
    this.shm = [];
  }

  /**
   * The reply frame of a reset/step: arrays into the slot the request named, else inline. A
   * slot that cannot be opened or written (no space left, ...) sends this reply inline with
   * `shm_error`, and every slot is closed (the client stops asking).
   */
  private reply(request: Record<string, unknown>, header: Record<string, unknown>, arrays: [string, Typed, number[]][]): Buffer[] {
    const slot = request.shm;
    if (slot === undefined || slot === null) return encodeFrame(header, arrays);
    if (!Number.isInteger(slot) || (slot as number) < 0 || (slot as number) >= MAX_SHM_SLOTS) {
      throw new FrameError(`malformed frame: shm must be a slot number in [0, ${MAX_SHM_SLOTS}), got ${JSON.stringify(slot)}`);
    }
    const k = slot as number;
    const path = request.shm_path;
    if (path !== undefined && path !== null && typeof path !== "string") throw new FrameError("malformed frame: shm_path must be a file path");
    try {
      if (typeof path === "string") {
        const old = this.shm[k];
        if (old !== undefined) closeSync(old);
        this.shm[k] = undefined;
        this.shm[k] = openSync(path, "r+");
      }
      const fd = this.shm[k];
      if (fd === undefined) throw new FrameError(`malformed frame: shared-memory slot ${k} was never opened (send shm_path with its first use)`);
      return encodeShmFrame(header, arrays, fd, k);
    } catch (e) {
      if (e instanceof FrameError) throw e;
      this.close();
      return encodeFrame({ ...header, shm_error: (e as Error).message }, arrays);
    }
  }

  /**
   * The most bytes a request may take now: a step carries one int32 action per row of the last
   * result, after a header of at most MAX_REQUEST_HEADER bytes. A longer frame is refused unread
   * (FrameReader's `limit`), so a wrong-length request costs no buffering.
   */
  requestLimit(): number {
    return 8 + MAX_REQUEST_HEADER + 8 + 4 * this.env.rowIds.length;
  }

  /** The non-fatal reply to a request the reader refused for its length (the session goes on). */
  refuse(header: Record<string, unknown>, why: string): Buffer[] {
    const rows = this.env.rowIds.length;
    const message = `${JSON.stringify(header.type ?? null)} request refused: ${why} (the last result has ${rows} rows; a step carries one int32 action per row)`;
    return encodeFrame({ type: "error", id: header.id ?? null, fatal: false, error: "RangeError", message });
  }

  hello(): Record<string, unknown> {
    const v = this.env;
    return {
      protocol: PROTOCOL_VERSION,
      env: ENV_NAME,
      engine_version: engineVersion(),
      config_id: v.config.configId,
      config_hash: v.config.configHash,
      max_cycles: v.maxCycles,
      // The world's size and first seed (RayVectorEnv splits the towns over its actors).
      towns: v instanceof ShardedVectorEnv ? v.towns : v.world.towns,
      agents: v instanceof ShardedVectorEnv ? v.startAgents : v.world.agents.length,
      seed: v instanceof ShardedVectorEnv ? v.seed : v.world.seed,
      // Threads running the world's blocks, the blocks (world.shards), and any cap on --workers.
      workers: v instanceof ShardedVectorEnv ? v.workers : 1,
      blocks: v instanceof ShardedVectorEnv ? v.blocks : 1,
      notes: [...this.notes],
      spaces: {
        observation: { shape: [v.observationSize], dtype: "float32", low: null, high: null, features: v.featureCount, map: v.mapShape },
        action_mask: { shape: [v.actionCount], dtype: "uint8", low: 0, high: 1 },
        action: { n: v.actionCount, start: 0 },
      },
    };
  }

  /** Header fields and arrays of a reset/step result. */
  result(r: VectorStep, fresh: boolean): [Record<string, unknown>, [string, Typed, number[]][]] {
    const v = this.env;
    const n = r.count;
    const infos: Record<string, Record<string, unknown>> = {};
    for (const e of r.exits) infos[e.row] = { exit_reason: e.reason };
    for (let i = n - r.joined; i < n; i++) {
      const info: Record<string, unknown> = (infos[i] ??= {});
      info.joined = true;
      const replaces = v.replacesOf(i);
      if (replaces !== undefined) info.replaces = replaces;
    }
    const header = {
      tick: v instanceof ShardedVectorEnv ? v.tick : v.world.tick,
      cycles: v.cycles,
      count: n,
      joined: r.joined,
      done: v.done,
      // Ids: every row's on reset; after a step only the joined rows' (the other rows are the
      // previous result's rows that were not done, in order: the client rebuilds the list).
      ids: fresh ? [...v.rowIds] : undefined,
      joined_ids: fresh ? undefined : v.rowIds.slice(n - r.joined),
      invalid_total: r.invalidTotal,
      infos,
    };
    return [
      header,
      [
        ["agents", r.agents, [n]],
        ["uids", r.uids, [n]],
        ["obs", r.obs, [n, v.observationSize]],
        ["masks", r.masks, [n, v.actionCount]],
        ["rewards", r.rewards, [n]],
        ["terminated", r.terminated, [n]],
        ["truncated", r.truncated, [n]],
        ["taken", r.taken, [n]],
        ["invalid", r.invalid, [n]],
      ],
    ];
  }

  /** Handles one request; returns the reply frame's parts and whether to stop. */
  handle(header: Record<string, unknown>, frame: Buffer): { reply: Buffer[]; stop: boolean } {
    const id = header.id ?? null;
    if (header.v !== PROTOCOL_VERSION) {
      throw new FrameError(
        `protocol version mismatch: the engine speaks ${PROTOCOL_VERSION}, the request says ${JSON.stringify(header.v)}; use the python/ package of the same Townlet checkout`,
      );
    }
    try {
      switch (header.type) {
        case "hello":
          return { reply: encodeFrame({ type: "hello", id, ...this.hello() }), stop: false };
        case "reset": {
          const opts = header.options;
          if (opts !== undefined && opts !== null) {
            if (typeof opts !== "object" || Array.isArray(opts)) throw new Error("reset: options must be an object");
            const keys = Object.keys(opts);
            if (keys.length) throw new Error(`reset: unknown option(s) ${keys.map((k) => `"${k}"`).join(", ")}; ${ENV_NAME} defines no reset options`);
          }
          const seed = header.seed === undefined || header.seed === null ? undefined : (header.seed as number);
          const [h, arrays] = this.result(this.env.reset(seed), true);
          return { reply: this.reply(header, { type: "reset", id, ...h }, arrays), stop: false };
        }
        case "step": {
          const actions = readArray(header, frame, "actions", "int32");
          const [h, arrays] = this.result(this.env.step(actions), false);
          return { reply: this.reply(header, { type: "step", id, ...h }, arrays), stop: false };
        }
        case "close":
          return { reply: encodeFrame({ type: "close", id }), stop: true };
        default:
          throw new FrameError(`unknown request type ${JSON.stringify(header.type)} (expected hello, reset, step or close)`);
      }
    } catch (e) {
      if (e instanceof FrameError) throw e;
      // A refused request (bad seed, wrong action count, step after done): the session goes on.
      return { reply: encodeFrame({ type: "error", id, fatal: false, error: (e as Error).name, message: (e as Error).message }), stop: false };
    }
  }
}

export const BRIDGE_SPEC = {
  name: "serve --stdio",
  summary: "the Python bridge: length-prefixed frames on stdin/stdout, one per tick (python/, docs/python.md)",
  flags: {
    config: { kind: "string", arg: "FILE", help: "the config file (default configs/default.yaml)" },
    overrides: { kind: "string", arg: "JSON", help: "config values by dotted key, as one JSON object" },
    "max-cycles": { kind: "int", min: 1, help: "truncate episodes after N steps" },
    workers: { ...FLAG.workers, help: "threads running the world's blocks (default: the machine's cores, capped by the blocks, see world.shards; 1 = one thread); replies do not depend on it" },
    shards: FLAG.shards,
    watchdog: FLAG.watchdog,
    plugin: FLAG.plugin,
  },
  examples: ["townlet serve --stdio --config configs/default.yaml --max-cycles 200", "townlet serve --stdio --shards 4 --workers 2"],
} as const satisfies CommandSpec;

export async function cmdBridge(argv: string[], out: Out): Promise<number> {
  const { values } = parseCommand(BRIDGE_SPEC, argv);
  // Stdout carries frames only: anything the engine logs goes to stderr.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
  let overrides: Record<string, unknown> | undefined;
  if (values.overrides) {
    try {
      overrides = JSON.parse(values.overrides) as Record<string, unknown>;
    } catch (e) {
      out.err(`--overrides: not JSON (${(e as Error).message})`);
      return 1;
    }
  }
  const maxCycles = values["max-cycles"];
  const stdout = process.stdout;
  const send = (parts: Buffer[]) => {
    stdout.cork();
    for (const p of parts) stdout.write(p);
    stdout.uncork();
  };
  const workers = values.workers;
  if (values.shards !== undefined) overrides = { ...overrides, "world.shards": values.shards };
  let bridge: Bridge;
  let watch: TickWatch | undefined;
  const notes: string[] = [];
  try {
    // The config's plugins: and each --plugin (the sharded env's workers load the same specs).
    const pluginSpecs = values.plugin ?? [];
    const plugins = await resolvePlugins(corePlugins, values.config ?? DEFAULT_ENV_CONFIG, pluginSpecs);
    const env = openBridgeEnv({ config: values.config, overrides, maxCycles, workers, plugins, pluginSpecs, watchdogSeconds: values.watchdog }, {
      log: (l) => out.log(l),
      err: (l) => {
        notes.push(l);
        out.err(l);
      },
    });
    bridge = new Bridge(env, notes);
    if (env instanceof ShardedVectorEnv) out.err(`townlet serve --stdio: ${threadsLine(env.blocks, env.workers, workers === undefined)}`);
    // A one-block env ticks on this thread: a system that never returns ends the process naming it
    // (engine/tick-watchdog.ts); a sharded env's workers have their own watch.
    else watch = startTickWatchdog(values.watchdog ?? DEFAULT_WATCHDOG_SECONDS);
    if (watch?.note) out.err(`townlet serve --stdio: ${watch.note}`);
  } catch (e) {
    send(encodeFrame({ type: "error", id: null, fatal: true, error: (e as Error).name, message: (e as Error).message }));
    out.err((e as Error).message);
    return 1;
  }
  const reader = new FrameReader({ maxHeader: MAX_REQUEST_HEADER, limit: () => bridge.requestLimit() });
  return await new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      watch?.stop();
      bridge.shutdown();
      process.stdin.removeAllListeners("data");
      process.stdin.destroy();
      // Let stdout drain before the exit code is used.
      stdout.write("", () => resolve(code));
    };
    process.stdin.on("data", (chunk: Buffer) => {
      if (finished) return;
      try {
        for (const { header, frame, refused } of reader.push(chunk)) {
          if (refused !== undefined) {
            send(bridge.refuse(header, refused));
            continue;
          }
          const { reply, stop } = bridge.handle(header, frame);
          send(reply);
          if (stop) return finish(0);
        }
      } catch (e) {
        const msg = e instanceof FrameError ? e.message : `internal error (please report a bug): ${(e as Error).stack ?? String(e)}`;
        send(encodeFrame({ type: "error", id: null, fatal: true, error: (e as Error).name, message: msg }));
        out.err(`townlet bridge: ${msg}`);
        finish(2);
      }
    });
    process.stdin.on("end", () => finish(0));
    process.stdin.on("error", () => finish(0));
    stdout.on("error", () => finish(0));
  });
}

/**
 * The env of `serve --stdio`: a world of one block (no world.shards, or 1) is today's
 * TownletVectorEnv, whatever --workers says (one stderr line says so when N > 1); a sharded world
 * runs its blocks on min(N, blocks) threads.
 */
export function openBridgeEnv(
  o: {
    config?: string;
    overrides?: Record<string, unknown>;
    maxCycles?: number;
    /** Threads for a sharded world's blocks (default: defaultWorkers, the machine's cores capped by the blocks). */
    workers?: number;
    /** The plug-ins, resolved (default: the core ones); `pluginSpecs` are the modules beyond the config's, for the worker threads. */
    plugins?: readonly AnyPlugin[];
    pluginSpecs?: readonly string[];
    /** --watchdog: seconds a worker may go without finishing a block (engine/watchdog.ts; default 60, 0: never). */
    watchdogSeconds?: number;
  },
  out: Out,
): BridgeEnv {
  const plugins = o.plugins ?? corePlugins;
  const blocks = shardsOf(loadConfig(o.config ?? DEFAULT_ENV_CONFIG, plugins, { overrides: o.overrides }).settings);
  if (blocks <= 1) {
    if (o.workers !== undefined && o.workers > 1) out.err(`--workers ${o.workers}: capped at 1: this world is one block (set world.shards or --shards to split its towns)`);
    return new TownletVectorEnv({ config: o.config, overrides: o.overrides, maxCycles: o.maxCycles, plugins });
  }
  if (o.workers !== undefined && o.workers > blocks) out.err(`--workers ${o.workers}: capped at ${blocks}: the world has ${blocks} blocks`);
  return new ShardedVectorEnv({ config: o.config, overrides: o.overrides, maxCycles: o.maxCycles, workers: o.workers, pluginSpecs: o.pluginSpecs, watchdogSeconds: o.watchdogSeconds }, plugins);
}
