// `townlet serve`: runs a town and serves its telemetry, its console and the observer page (web/,
// at /) on one port (HTTP + WebSocket), then prints the URL. This is where the plug-ins'
// operations meet: systems never import each other, so the employment, social, persistence and
// snapshot functions are bound here to the console and the telemetry publisher (`bindSystems`).
import { spawn } from "node:child_process";
import { basename, dirname, join, resolve, relative, isAbsolute, sep } from "node:path";
import { mkdirSync, realpathSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { World } from "../engine/world.ts";
import { MAX_TICK_INTERVAL_MS, MIN_TICKS_PER_SECOND, REALTIME_TICK_MS } from "../engine/loop.ts";
import { loadSnapshot, newestValidSnapshot, readSnapshotFile, saveSnapshot, SnapshotError, writeFileAtomic, writeSnapshotFile } from "../engine/snapshot.ts";
import { corePlugins } from "../systems/index.ts";
import { enablePolicyRelease, preparePolicy } from "../systems/policy/index.ts";
import { approveExit, deferExit, employmentStatus, reviewExits } from "../systems/employment/index.ts";
import { snapshotMeta, type PersistenceState } from "../systems/persistence/index.ts";
import { FileSink, TelemetryServer, type TelemetryPublisher } from "../systems/telemetry/index.ts";
import {
  AuditLog,
  CommandError,
  ConsoleAuthError,
  ConsoleGateway,
  TokenTable,
  type AuditSink,
  type ConsoleBindings,
  type ConsoleService,
  type GatewayOptions,
} from "../systems/console/index.ts";
import { ServeMetrics } from "../systems/telemetry/metrics.ts";
import { buildWorld } from "../engine/build.ts";
import { observerSite } from "./web.ts";
import { FLAG, UsageError, configArg, parseCommand, type CommandSpec } from "./args.ts";
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import type { AnyPlugin } from "../engine/plugin.ts";

export const DEFAULT_CONFIG = DEFAULT_CONFIG_FILE;
export const DEFAULT_PORT = 8765;


interface Out {
  log(line: string): void;
  err(line: string): void;
}

// ---- bindings -----------------------------------------------------------------------------------

export interface BindOptions {
  /** The config's hash, stamped on snapshots (and required to match on load). */
  configHash?: string | null;
  /** Folder snapshot_save/snapshot_load may use (default: snapshot.storage.root). */
  snapshotDir?: string;
}

/** `p` with every symlink of its existing part resolved (the part not yet created kept as written). */
function realPathOf(p: string): string {
  let head = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...rest.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return p;
      rest.push(basename(head));
      head = up;
    }
  }
}

const isInside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && !rel.split(sep).includes(".."));
};

/**
 * A path the console may touch: relative to `roots[0]` (the snapshot folder), or absolute inside
 * one of `roots` (that folder and snapshot.guardrails.allowed_paths), after symlinks are
 * resolved: a link inside the folder that points out of it is refused like "../x".
 */
function insideRoot(roots: readonly string[], path: string | undefined, arg = "path"): string {
  if (path !== undefined && path.includes("\0")) throw new CommandError("invalid_args", `${arg}: contains a NUL byte`);
  const p = resolve(roots[0], path ?? ".");
  const real = realPathOf(p);
  if (!roots.some((r) => isInside(r, p) && isInside(realPathOf(r), real))) {
    const where = roots.length > 1 ? `the snapshot folder ${roots[0]} or snapshot.guardrails.allowed_paths` : `the snapshot folder ${roots[0]}`;
    throw new CommandError("invalid_args", `${arg}: "${path}" is outside ${where}${real !== p ? ` (it leads to ${real})` : ""}`);
  }
  return p;
}

function snapshotFailure(e: unknown): never {
  if (e instanceof SnapshotError) {
    const code = e.code === "not_found" ? "not_found" : e.code === "config_mismatch" || e.code === "schema" || e.code === "state_mismatch" ? "conflict" : e.code === "io" ? "internal" : "invalid_args";
    throw new CommandError(code, `snapshot ${e.code}: ${e.message}`);
  }
  throw e;
}

/**
 * Binds other plug-ins' operations to the console of `world`: employment exits, snapshot files,
 * and the publisher's console snapshot (telemetry sections come from each plug-in's own part).
 */
export function bindSystems(world: World, opts: BindOptions = {}): { console: ConsoleService; publisher: TelemetryPublisher } {
  const svc = world.state<ConsoleService>("console");
  const pub = world.state<TelemetryPublisher>("telemetry");
  const b: ConsoleBindings = {
    telemetry: { snapshot: (agents) => pub.consoleSnapshot(agents) },
  };
  if (world.hasPlugin("employment")) {
    b.employment = {
      status: (w) => employmentStatus(w),
      review: (w) => reviewExits(w),
      approve: (w, id) => approveExit(w, id),
      defer: (w, id) => deferExit(w, id),
    };
  }
  const persistence = world.hasPlugin("persistence") ? world.state<PersistenceState>("persistence") : undefined;
  const root = resolve(opts.snapshotDir ?? persistence?.dir ?? "snapshots");
  const roots = [root, ...(world.settings.snapshot?.guardrails.allowed_paths ?? []).map((p) => resolve(p))];
  const configHash = opts.configHash ?? persistence?.configHash ?? null;
  b.snapshots = {
    save(w, path) {
      const target = insideRoot(roots, path);
      const meta = snapshotMeta(w, configHash);
      try {
        if (target.endsWith(".snapshot")) {
          mkdirSync(dirname(target), { recursive: true });
          const bytes = saveSnapshot(w, meta);
          writeFileAtomic(target, bytes);
          return { path: target, tick: w.tick, bytes: bytes.length };
        }
        const file = writeSnapshotFile(target, w, meta);
        return { path: file, tick: w.tick, bytes: statSync(file).size };
      } catch (e) {
        return snapshotFailure(e);
      }
    },
    load(w, path) {
      const target = insideRoot(roots, path);
      try {
        let file = target;
        if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) {
          // The newest of the running config; only when there is none, the newest of any config.
          const found = newestValidSnapshot(target, { configId: String(w.settings.config_id) }) ?? newestValidSnapshot(target);
          if (!found) throw new SnapshotError("not_found", "no snapshot in this folder verifies", target);
          file = found.path;
        }
        const before = w.tick;
        const r = loadSnapshot(w, readSnapshotFile(file), { configHash, path: file });
        return { path: file, from_tick: before, tick: w.tick, config_id: r.header.config_id, ...(r.migrated ? { migrated: r.migrated } : {}) };
      } catch (e) {
        return snapshotFailure(e);
      }
    },
  };
  svc.bind(b);
  return { console: svc, publisher: pub };
}

// ---- the loop -----------------------------------------------------------------------------------

/** Steps the world: flat out, or paced; pausable; applies commands while paused. */
export class ServeLoop {
  paused = false;
  /** Ticks per second; null = as fast as possible. */
  tps: number | null;
  stopped = false;
  /** Set when a tick threw: the loop stops and the server reports it. */
  error: unknown;
  /** Told each tick's wall time, ms (GET /metrics). */
  onStep: ((ms: number) => void) | undefined;
  private done: Promise<void> | undefined;
  private reachedLogged = false;
  /** The loop's state changed between ticks (a pause applies after the tick's publish). */
  private changed = false;

  constructor(
    readonly world: World,
    readonly until: number | null,
    tps: number | null,
    private readonly onReached?: () => void,
  ) {
    this.tps = tps;
  }

  status() {
    const reached = this.until !== null && this.world.tick >= this.until;
    return {
      state: this.stopped ? "stopped" : this.paused ? "paused" : reached ? "finished" : "running",
      tick: this.world.tick,
      until: this.until,
      ticks_per_second: this.tps,
      speed: this.tps === null ? null : this.tps / (1000 / REALTIME_TICK_MS),
    };
  }

  /** Says the state changed, so that a paused loop still publishes it (the `loop` section). */
  announce(): void {
    this.changed = true;
  }

  start(): Promise<void> {
    this.done ??= this.run();
    return this.done;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done ?? Promise.resolve();
  }

  /**
   * A paced loop's wait after the tick scheduled at `tickAt`: in slices of at most
   * WAIT_SLICE_MS, applying boundary commands (pause, speed, snapshots) between them, so they
   * never wait for a slow tick and a speed change takes effect at once; no single timer is long
   * (Node's overflow above 2^31-1 ms cannot happen). Resolves with when the next tick is due.
   */
  private async waitForNextTick(tickAt: number, svc: ConsoleService, pub: TelemetryPublisher): Promise<number> {
    let yielded = false;
    for (;;) {
      if (this.stopped || this.paused || this.tps === null) return performance.now();
      const interval = tickIntervalMs(this.tps);
      const due = tickAt + interval;
      const now = performance.now();
      if (due <= now) {
        if (!yielded) await yieldNow();
        // Late by more than an interval: start afresh rather than run a burst of ticks.
        return now - due < interval ? due : now;
      }
      await sleep(Math.min(due - now, WAIT_SLICE_MS));
      yielded = true;
      if (svc.drain("boundary") > 0) pub.publishNow();
    }
  }

  private async run(): Promise<void> {
    const w = this.world;
    const svc = w.state<ConsoleService>("console");
    const pub = w.state<TelemetryPublisher>("telemetry");
    let next = performance.now();
    let lastYield = performance.now();
    while (!this.stopped) {
      const reached = this.until !== null && w.tick >= this.until;
      if (reached && !this.reachedLogged) {
        this.reachedLogged = true;
        this.changed = true;
        this.onReached?.();
        if (this.stopped) break;
      }
      if (this.paused || reached) {
        // Between ticks: commands apply now, and clients see their effect at once.
        if (svc.drain("all") > 0 || this.changed) pub.publishNow();
        this.changed = false;
        await sleep(10);
        next = performance.now();
        continue;
      }
      try {
        const t0 = performance.now();
        w.step();
        this.onStep?.(performance.now() - t0);
      } catch (e) {
        this.error = e;
        this.stopped = true;
        break;
      }
      const now = performance.now();
      if (this.tps !== null) {
        next = await this.waitForNextTick(next, svc, pub);
        lastYield = performance.now();
      } else if (now - lastYield >= 10) {
        await yieldNow();
        lastYield = performance.now();
      }
    }
  }
}

/**
 * Opens a URL in the desktop's browser when there is a desktop (never on a headless machine);
 * the URL is printed either way, and any failure here is silent.
 */
function openBrowser(url: string): void {
  const linux = process.platform !== "darwin" && process.platform !== "win32";
  if (linux && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const [cmd, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  try {
    const child = spawn(cmd, args, { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch {
    // No opener: the URL was printed.
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Longest single wait of a paced loop, ms: boundary commands and a stop apply within it. */
const WAIT_SLICE_MS = 50;
const tickIntervalMs = (tps: number) => Math.min(1000 / tps, MAX_TICK_INTERVAL_MS);
/** How long a stop waits for the server to close before the CLI exits anyway, ms. */
const CLOSE_DEADLINE_MS = 800;
const yieldNow = () => new Promise<void>((r) => setImmediate(r));

// ---- the server ---------------------------------------------------------------------------------

export interface ServeOptions {
  config?: string;
  /** The plug-ins of the world (default: the core ones). */
  plugins?: readonly AnyPlugin[];
  host?: string;
  /** 0 = any free port. */
  port?: number;
  tokensFile?: string;
  /** Ticks per second (null = as fast as possible). */
  ticksPerSecond?: number | null;
  /** Tick to stop simulating at (the server stays up unless exitAtEnd). */
  ticks?: number | null;
  exitAtEnd?: boolean;
  seed?: number;
  towns?: number;
  agents?: number;
  /** Config values by dotted key path, replaced before validation ({"telemetry.stream.max_clients": 4}). */
  overrides?: Record<string, unknown>;
  /** Audit NDJSON file (default townlet-audit.ndjson in the working folder); or a sink. */
  audit?: string | AuditSink;
  /** Also write telemetry NDJSON here (rotated). */
  telemetryFile?: string;
  /** Start paused. */
  paused?: boolean;
  gateway?: GatewayOptions;
  server?: { highWaterBytes?: number; hardLimitBytes?: number; pingIntervalMs?: number; maxPayload?: number; maxClients?: number };
  /** Called when the loop reaches `ticks`. */
  onReached?: () => void;
  /** Serve the observer page at / (default true). */
  observer?: boolean;
  /** The policy to run: scripted, random, neural, neural:DIR (default: the config's runtime.policy). */
  policy?: string;
  /** Folder promote_policy / rollback_policy may load checkpoints from; its release.json is the release pointer. */
  checkpointRoot?: string;
  /** At start, make the release pointer's live checkpoint live again. */
  adoptRelease?: boolean;
  /** GET /metrics without a token even when the server has tokens. */
  metricsPublic?: boolean;
}

export interface ServeHandle {
  url: string;
  wsUrl: string;
  world: World;
  console: ConsoleService;
  publisher: TelemetryPublisher;
  server: TelemetryServer;
  loop: ServeLoop;
  tokens: TokenTable;
  /** What GET /metrics reports. */
  metrics: ServeMetrics;
  /** Stops the loop, refuses queued commands, closes clients, sinks and the server. */
  close(): Promise<void>;
}

/** Builds the world, binds the plug-ins, starts the server and the loop. */
export async function startServe(o: ServeOptions = {}): Promise<ServeHandle> {
  const { world, config } = buildWorld(o.config ?? DEFAULT_CONFIG, o.plugins ?? corePlugins, { seed: o.seed, towns: o.towns, agentsPerTown: o.agents, overrides: o.overrides });
  const tokens = o.tokensFile ? TokenTable.fromFile(o.tokensFile) : TokenTable.fromConfig(world.settings.console_auth);
  const { console: svc, publisher } = bindSystems(world, { configHash: config.configHash });
  if (world.hasPlugin("persistence")) world.state<PersistenceState>("persistence").configHash = config.configHash;
  svc.audit = typeof o.audit === "object" ? o.audit : new AuditLog(resolve(o.audit ?? "townlet-audit.ndjson"));
  // GET /metrics reads these at scrape time; commands are counted on their way to the audit trail.
  const metrics: ServeMetrics = new ServeMetrics({
    world,
    configId: publisher.configId,
    loop: () => loop.status(),
    clients: () => server.conns,
    server: () => server.stats,
    eventsDropped: () => publisher.eventsDropped,
    consoleQueue: () => svc.queued,
  });
  svc.audit = metrics.countingSink(svc.audit);
  // A neural policy loads asynchronously: before the loop's first tick.
  if (o.policy !== undefined || world.settings.runtime.policy.provider.startsWith("neural")) await preparePolicy(world, o.policy);
  if (o.checkpointRoot) await enablePolicyRelease(world, { checkpointRoot: resolve(o.checkpointRoot), adoptLive: o.adoptRelease ?? false });
  const loop = new ServeLoop(world, o.ticks ?? null, o.ticksPerSecond ?? null, o.onReached);
  loop.paused = o.paused ?? false;
  loop.onStep = (ms) => metrics.tickDone(ms);
  svc.bind({
    loop: {
      pause: () => {
        loop.paused = true;
        loop.announce();
        return loop.status();
      },
      resume: () => {
        loop.paused = false;
        loop.announce();
        return loop.status();
      },
      speed: (tps) => {
        loop.tps = tps;
        loop.announce();
        return loop.status();
      },
      status: () => loop.status(),
    },
  });
  // What the observer page shows beyond the world: the loop's state, and figures per town for its
  // overview of many towns.
  publisher.addSection("loop", () => {
    const { tick: _tick, ...rest } = loop.status();
    void _tick;
    return rest;
  });
  publisher.townOverview = true;
  const gateway = new ConsoleGateway(svc, tokens, o.gateway);
  const site = o.observer === false ? undefined : observerSite({ tokens });
  const metricsRoute = metrics.route({ tokens, public: o.metricsPublic });
  const server: TelemetryServer = new TelemetryServer(publisher, gateway, {
    host: o.host ?? "127.0.0.1",
    port: o.port ?? DEFAULT_PORT,
    site: (req, res) => metricsRoute(req, res) || (site?.handle(req, res) ?? false),
    ...o.server,
  });
  const url = await server.listen();
  let fileSink: FileSink | undefined;
  let detachFile: (() => void) | undefined;
  const tcfg = world.settings.telemetry;
  const telemetryFile = o.telemetryFile ?? (tcfg.transport.type === "file" ? (tcfg.transport.file_path ?? undefined) : undefined);
  if (telemetryFile) {
    fileSink = new FileSink(publisher, resolve(telemetryFile));
    detachFile = publisher.addSink(fileSink);
  }
  void loop.start();
  let closing: Promise<void> | undefined;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws") + "/ws",
    world,
    console: svc,
    publisher,
    server,
    loop,
    tokens,
    metrics,
    close() {
      closing ??= (async () => {
        await loop.stop();
        svc.cancelAll();
        await server.close();
        detachFile?.();
        fileSink?.close();
      })();
      return closing;
    },
  };
}

export const SERVE_SPEC = {
  name: "serve",
  summary: "run a town and serve the observer page, telemetry and the console on one port",
  details: `Serves the observer page (/), telemetry (WebSocket /ws) and the console (WebSocket frames, POST /commands,
POST /auth/ticket). --realtime paces ticks at ${REALTIME_TICK_MS} ms, --speed X at X times that, --tps N at N ticks per second;
the default is as fast as possible (give at most one). --ticks N stops simulating at tick N (the server stays up; --exit
quits). Without --tokens (or console_auth in the config) everyone is a viewer. --checkpoints DIR lets admins swap the live
policy between ticks with promote_policy {checkpoint} / rollback_policy {to?} (DIR/release.json records which one is live).
--stdio speaks the Python bridge's binary protocol on stdin/stdout instead (python/, docs/python.md; its flags:
townlet serve --stdio --help).`,
  positionals: { name: "CONFIG", min: 0, max: 1, help: "the config file (default configs/default.yaml); same as --config" },
  flags: {
    config: FLAG.config,
    port: { kind: "int", min: 0, max: 65535, default: DEFAULT_PORT, help: "TCP port (0: any free port)" },
    host: { kind: "string", arg: "ADDR", default: "127.0.0.1", help: "address to listen on" },
    tokens: { kind: "string", arg: "FILE", help: "token table (YAML/JSON): who may view, operate, administer" },
    realtime: { kind: "boolean", help: `pace ticks at ${REALTIME_TICK_MS} ms` },
    speed: { kind: "number", above: 0, help: "pace at X times real time" },
    tps: { kind: "number", above: 0, help: "pace at N ticks per second" },
    ticks: { ...FLAG.ticks, help: "stop simulating at tick N (the server stays up)" },
    exit: { kind: "boolean", help: "quit when --ticks is reached" },
    paused: { kind: "boolean", help: "start paused (resume from the console)" },
    seed: FLAG.seed,
    towns: FLAG.towns,
    agents: FLAG.agents,
    audit: { kind: "string", arg: "FILE", default: "townlet-audit.ndjson", help: "the console's audit trail" },
    "telemetry-file": { kind: "string", arg: "FILE", help: "also write the telemetry stream to FILE (NDJSON)" },
    open: { kind: "boolean", help: "print the page's URL and open it in a browser where a desktop is available" },
    policy: { kind: "string", arg: "SPEC", help: "who decides: scripted, random, neural, neural:fresh or neural:DIR" },
    checkpoints: { kind: "string", arg: "DIR", help: "checkpoints admins may promote and roll back to" },
    "adopt-release": { kind: "boolean", help: "make DIR/release.json's live checkpoint live again at start" },
    "metrics-public": { kind: "boolean", help: "serve GET /metrics without a token" },
    plugin: FLAG.plugin,
    stdio: { kind: "boolean", help: "the Python bridge protocol on stdin/stdout (see townlet serve --stdio --help)" },
    quiet: FLAG.quiet,
  },
  examples: ["townlet serve", "townlet serve configs/many-towns.yaml --port 8080 --realtime", "townlet serve --ticks 500 --exit --quiet"],
} as const satisfies CommandSpec;

/** `townlet serve ...`: resolves with the exit code when stopped (SIGINT/SIGTERM, or --exit). */
export async function cmdServe(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(SERVE_SPEC, argv);
  const config = configArg("serve", values.config, positionals);
  if (values.stdio) throw new UsageError("townlet serve: --stdio goes first: townlet serve --stdio [--config FILE]");
  if (values.quiet) out = { log: out.log, err: () => {} };
  const paceFlags = [values.realtime, values.speed, values.tps].filter((v) => v !== undefined && v !== false).length;
  if (paceFlags > 1) throw new UsageError("--realtime, --speed and --tps: give at most one");
  const realtimeTps = 1000 / REALTIME_TICK_MS;
  const speed = values.speed;
  const tps = values.realtime ? realtimeTps : speed !== undefined ? speed * realtimeTps : (values.tps ?? null);
  if (tps !== null && tps < MIN_TICKS_PER_SECOND) {
    throw new UsageError(`--${speed !== undefined ? `speed ${speed}` : `tps ${tps}`}: slower than ${MIN_TICKS_PER_SECOND} ticks per second (one tick every ${MAX_TICK_INTERVAL_MS / 1000} s at most)`);
  }
  const port = values.port;
  const ticks = values.ticks;
  if (values.exit && ticks === undefined) throw new UsageError("--exit: give --ticks N (the tick to stop at)");
  if (values["adopt-release"] && values.checkpoints === undefined) throw new UsageError("--adopt-release: give --checkpoints DIR (the folder holding release.json)");

  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  let handle: ServeHandle;
  try {
    handle = await startServe({
      config,
      plugins: await resolvePlugins(corePlugins, config ?? DEFAULT_CONFIG, values.plugin),
      host: values.host,
      port: port ?? DEFAULT_PORT,
      tokensFile: values.tokens,
      ticksPerSecond: tps,
      ticks: ticks ?? null,
      exitAtEnd: values.exit,
      paused: values.paused,
      seed: values.seed,
      towns: values.towns,
      agents: values.agents,
      audit: values.audit,
      telemetryFile: values["telemetry-file"],
      policy: values.policy,
      checkpointRoot: values.checkpoints,
      adoptRelease: values["adopt-release"],
      metricsPublic: values["metrics-public"],
      onReached: () => {
        if (values.exit) finish(0);
        else out.err(`townlet serve: reached tick ${ticks}; still serving (commands apply between ticks; Ctrl-C stops)`);
      },
    });
  } catch (e) {
    if (e instanceof ConsoleAuthError) throw new UsageError(e.message);
    if (e instanceof Error && ["PolicyReleaseError", "CheckpointError", "PolicySpecError", "TensorBackendError"].includes(e.name)) throw new UsageError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      throw new UsageError(`--port/--host: cannot listen on ${values.host ?? "127.0.0.1"}:${port ?? DEFAULT_PORT} (${code})`);
    }
    throw e;
  }
  const h = handle;
  // Handlers before the first line a supervisor may act on: until a listener exists, SIGTERM's
  // default action would kill the process at once, before it could close anything.
  const onSignal = () => finish(0);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  out.log(`townlet serve: listening on ${h.url} (telemetry and console: ${h.wsUrl}; POST ${h.url}/commands)`);
  if (values.open) {
    out.log(`townlet serve: open ${h.url}/ to watch the town`);
    openBrowser(`${h.url}/`);
  } else out.err(`townlet serve: the observer page is at ${h.url}/`);
  out.err(
    `townlet serve: ${h.world.agents.length} agents in ${h.world.towns} town(s), ${h.tokens.enabled ? `${h.tokens.size} token(s)` : "no tokens: everyone is a viewer"}, ` +
      `${h.loop.tps === null ? "as fast as possible" : `${h.loop.tps} ticks/s`}${ticks !== undefined ? `, until tick ${ticks}` : ""}`,
  );
  // A tick that throws stops the loop: report it and exit 2.
  const watchdog = setInterval(() => {
    if (h.loop.error !== undefined) finish(2);
  }, 50);
  const code = await finished;
  clearInterval(watchdog);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  // A signal is honoured within a second: a close that hangs (a client holding its connection,
  // a slow disk) is left behind and the CLI exits.
  let late: NodeJS.Timeout | undefined;
  const closedInTime = await Promise.race([h.close().then(() => true), new Promise<boolean>((r) => (late = setTimeout(() => r(false), CLOSE_DEADLINE_MS)))]);
  clearTimeout(late);
  if (!closedInTime) out.err(`townlet serve: the server did not close within ${CLOSE_DEADLINE_MS} ms; exiting anyway`);
  if (h.loop.error !== undefined) {
    const e = h.loop.error;
    out.err(`internal error (please report a bug): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 2;
  }
  out.err(`townlet serve: stopped at tick ${h.world.tick}`);
  return code;
}
