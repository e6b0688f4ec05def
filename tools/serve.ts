// `townlet serve`: runs a town and serves its telemetry, its console and the observer page (web/,
// at /) on one port (HTTP + WebSocket), then prints the URL. This is where the plug-ins'
// operations meet: systems never import each other, so the employment, social, persistence and
// snapshot functions are bound here to the console and the telemetry publisher (`bindSystems`,
// tools/serve-bind.ts); the stepping loop is tools/serve-loop.ts.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { World } from "../engine/world.ts";
import { fileURLToPath } from "node:url";
import { MAX_TICK_INTERVAL_MS, MIN_TICKS_PER_SECOND, REALTIME_TICK_MS } from "../engine/loop.ts";
import { corePlugins } from "../systems/index.ts";
import { enablePolicyRelease, preparePolicy } from "../systems/policy/index.ts";
import { PersistenceKey } from "../systems/persistence/index.ts";
import { FileSink, TelemetryServer, type TelemetryPublisher } from "../systems/telemetry/index.ts";
import {
  AuditLog,
  ConsoleAuthError,
  ConsoleGateway,
  TokenTable,
  type AuditSink,
  type ConsoleService,
  type GatewayOptions,
} from "../systems/console/index.ts";
import { ServeMetrics } from "../systems/telemetry/metrics.ts";
import { buildWorld, loadBuildConfig } from "../engine/build.ts";
import { ShardPlanError } from "../engine/shard-blocks.ts";
import { startShardedServe, type PolicySection, type ShardServeHandle } from "./serve-shards.ts";
import { observerSite } from "./web.ts";
import { FLAG, UsageError, configArg, parseCommand, threadsLine, type CommandSpec } from "./args.ts";
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { DEFAULT_WATCHDOG_SECONDS } from "../engine/watchdog.ts";
import { startTickWatchdog } from "../engine/tick-watchdog.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { bindSystems } from "./serve-bind.ts";
import { ServeLoop, makeServeLoop } from "./serve-loop.ts";

// The bindings and the loop live beside this file; every name it exported is still exported here.
export { bindSystems, ServeLoop };
export type { BindOptions } from "./serve-bind.ts";

export const DEFAULT_CONFIG = DEFAULT_CONFIG_FILE;
export const DEFAULT_PORT = 8765;


interface Out {
  log(line: string): void;
  err(line: string): void;
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

/** How long a stop waits for the server to close before the CLI exits anyway, ms. */
const CLOSE_DEADLINE_MS = 800;

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
  /** world.shards (--shards): blocks of towns; above 1 the world is served by startShardedServe (tools/serve-shards.ts). */
  shards?: number;
  /** Threads simulating a sharded world's blocks (default: the machine's cores, capped by the blocks). */
  workers?: number;
  /** --watchdog: seconds a worker thread may go without finishing a block's tick (engine/watchdog.ts; default 60, 0: never). */
  watchdog?: number;
  /** --plugin specs, which a sharded world's worker threads load themselves. */
  pluginSpecs?: readonly string[];
  /** A sharded world: count the bytes of the blocks' telemetry crossing threads (ShardStream.bytesIn; for measuring). */
  measureCrossing?: boolean;
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
  const loaded = loadBuildConfig(o.config ?? DEFAULT_CONFIG, o.plugins ?? corePlugins, { seed: o.seed, towns: o.towns, agentsPerTown: o.agents, shards: o.shards, overrides: o.overrides });
  const shards = loaded.settings.world.shards ?? 1;
  if (shards > 1) throw new ShardPlanError(`world.shards is ${shards}: a sharded world is served by startShardedServe (tools/serve-shards.ts); townlet serve picks it itself`);
  const { world, config } = buildWorld(o.config ?? DEFAULT_CONFIG, o.plugins ?? corePlugins, {}, loaded);
  const tokens = o.tokensFile ? TokenTable.fromFile(o.tokensFile) : TokenTable.fromConfig(world.settings.console_auth);
  const { console: svc, publisher } = bindSystems(world, { configHash: config.configHash });
  const persistence = world.optionalResource(PersistenceKey);
  if (persistence) persistence.configHash = config.configHash;
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
  // What the observer page shows beyond the world: the loop's state (a section), and figures per
  // town for its overview of many towns.
  const loop = makeServeLoop(world, o, svc, (ms) => metrics.tickDone(ms), (name, fn) => publisher.addSection(name, fn));
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
With --shards K, --policy neural[:DIR] runs one network batch over every block per tick on the main thread (the state hashes
of townlet run --shards K with that checkpoint); --checkpoints swaps that network, once every block's promotion gate is ready
(scripted or random blocks refuse --checkpoints).
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
    shards: FLAG.shards,
    workers: FLAG.workers,
    watchdog: FLAG.watchdog,
    stdio: { kind: "boolean", help: "the Python bridge protocol on stdin/stdout (see townlet serve --stdio --help)" },
    quiet: FLAG.quiet,
  },
  examples: ["townlet serve", "townlet serve configs/many-towns.yaml --port 8080 --realtime", "townlet serve configs/many-towns.yaml --shards 8 --workers 2", "townlet serve --ticks 500 --exit --quiet"],
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
  const plugins = await resolvePlugins(corePlugins, config ?? DEFAULT_CONFIG, values.plugin);
  // A world of several blocks (world.shards or --shards) runs on worker threads; one block is today's world.
  const shards = values.shards ?? loadBuildConfig(config ?? DEFAULT_CONFIG, plugins, { towns: values.towns }).settings.world.shards ?? 1;
  if (shards === 1 && values.workers !== undefined && values.workers > 1) out.err(`townlet serve: --workers ${values.workers} capped at 1: the world has 1 block (give --shards K or world.shards to split its towns)`);
  let handle: ServeHandle | ShardServeHandle;
  // A one-block world ticks on this thread, from its first tick: a system that never returns ends
  // the process naming it (engine/tick-watchdog.ts); a sharded world's workers have their own watch.
  const stuck = shards > 1 ? undefined : startTickWatchdog(values.watchdog ?? DEFAULT_WATCHDOG_SECONDS);
  if (stuck?.note) out.err(`townlet serve: ${stuck.note}`);
  try {
    const start = shards > 1 ? (o: ServeOptions) => startShardedServe({ ...o, configFile: config ?? DEFAULT_CONFIG }) : startServe;
    handle = await start({
      config,
      plugins,
      shards: values.shards,
      workers: values.workers,
      watchdog: values.watchdog,
      pluginSpecs: values.plugin,
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
    stuck?.stop();
    if (e instanceof ConsoleAuthError || e instanceof ShardPlanError || (e instanceof Error && e.name === "ShardPolicyError")) throw new UsageError(e.message);
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
  const view = "sim" in h ? { agents: () => h.publisher.agents, towns: h.sim.towns, tick: () => h.sim.tick } : { agents: () => h.world.agents.length, towns: h.world.towns, tick: () => h.world.tick };
  const blocks = "sim" in h ? ` in ${threadsLine(h.sim.blocks, h.sim.workers, values.workers === undefined)}${mainThreadPolicy(h.policy)}` : "";
  if ("sim" in h && h.sim.requestedWorkers > h.sim.workers) out.err(`townlet serve: --workers ${h.sim.requestedWorkers} capped at ${h.sim.workers}: the world has ${h.sim.blocks} blocks (world.shards)`);
  out.err(
    `townlet serve: ${view.agents()} agents in ${view.towns} town(s)${blocks}, ${h.tokens.enabled ? `${h.tokens.size} token(s)` : "no tokens: everyone is a viewer"}, ` +
      `${h.loop.tps === null ? "as fast as possible" : `${h.loop.tps} ticks/s`}${ticks !== undefined ? `, until tick ${ticks}` : ""}`,
  );
  // A tick that throws stops the loop: report it and exit 2.
  const watchdog = setInterval(() => {
    if (h.loop.error !== undefined) finish(2);
  }, 50);
  const code = await finished;
  clearInterval(watchdog);
  stuck?.stop();
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
    // A sharded world's block names itself, its towns and the tick (ShardError).
    if (e instanceof Error && e.name === "ShardError") out.err(`townlet serve: the world stopped: ${e.message}`);
    else out.err(`internal error (please report a bug): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 2;
  }
  out.err(`townlet serve: stopped at tick ${view.tick()}`);
  return code;
}

/** The start line's words for a network on the main thread: its spec and, when a release adopted at start decides, which one. */
function mainThreadPolicy(p: PolicySection): string {
  if (p.batch !== "main thread") return "";
  const live = "release" in p && p.release !== undefined && p.release.checkpoint !== null ? ` (release ${p.release.seq} live: ${p.release.checkpoint})` : "";
  return `, policy ${p.spec}${live}: one batch per tick on this thread`;
}
