// `townlet serve` of a sharded world (world.shards > 1 or --shards K, any --workers N): the
// blocks run on N threads (engine/shards.ts, host tools/serve-shard-host.ts; with --policy
// neural[:DIR] tools/shard-neural.ts, the runner of townlet run: one network batch over every
// block's agents per tick on the main thread, the same state hashes as that run; with
// --checkpoints DIR admins promote and roll back that network between ticks, tools/shard-release.ts); each block
// publishes its own telemetry in its thread and the main thread merges the blocks' payloads into
// one stream (tools/serve-shard-stream.ts); the main thread's console checks every command and
// routes it to the block that owns its target (tools/serve-shard-console.ts). The WebSocket
// server, the console gateway, tokens, the audit trail, GET /metrics and the observer page are
// those of a one-block world. Per tick only the blocks' payloads cross threads (what subscribers
// get: a diff of what changed), plus the loop's few numbers.
//
// A block that throws (or a worker that dies) stops the loop with the block's error and tick:
// the server stays up and says so (the `loop` section: state "stopped", error), and
// `townlet serve` exits 2 with that message.
import { resolve } from "node:path";
import { World } from "../engine/world.ts";
import { ShardedSim, defaultWorkers, type ShardedOptions } from "../engine/shards.ts";
import { loadShardedConfig } from "../engine/shard-blocks.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { AuditLog, ConsoleGateway, TokenTable } from "../systems/console/index.ts";
import { TelemetryServer, FileSink } from "../systems/telemetry/index.ts";
import { ServeMetrics } from "../systems/telemetry/metrics.ts";
import { TelemetrySection } from "../systems/telemetry/config.ts";
import { observerSite } from "./web.ts";
import { ServeLoop, makeServeLoop, type ServeTarget } from "./serve-loop.ts";
import { ShardStream } from "./serve-shard-stream.ts";
import { ShardConsole } from "./serve-shard-console.ts";
import { SERVE_SHARD_HOST, SERVE_SHARD_HOST_MODULE, corePlugins, extend, type BlockPayloads, type Published, type ServeRequest, type ServedBlocks } from "./serve-shard-host.ts";
import { ShardedInference, isNeuralSpec, type ShardedPolicyView } from "./shard-neural.ts";
import { ShardRelease } from "./shard-release.ts";
import { ShardPolicyError } from "./shard-host.ts";
import { frameOf } from "./serve-shard-ids.ts";
import type { ServeOptions } from "./serve.ts";
import type { ConsoleService } from "../systems/console/index.ts";

export interface ShardServeHandle {
  url: string;
  wsUrl: string;
  /** The blocks: ShardedSim (scripted or random in each block) or ShardedInference (a neural policy on the main thread). */
  sim: ServedBlocks;
  /** Who decides now: the main thread's network (tools/shard-neural.ts), or each block's own policy (as the `policy` section says). */
  readonly policy: PolicySection;
  console: ConsoleService;
  publisher: ShardStream;
  server: TelemetryServer;
  loop: ServeLoop;
  tokens: TokenTable;
  metrics: ServeMetrics;
  /** Per tick: bytes of block payloads that crossed to the main thread, when `measure` was asked for. */
  close(): Promise<void>;
}

/** What the threads answered (Published: their blocks and payloads), as one list per block of the world. */
function perBlock(answers: readonly unknown[], blocks: number): (BlockPayloads | undefined)[] {
  const out = new Array<BlockPayloads | undefined>(blocks);
  for (const a of answers as Published[]) a.blocks.forEach((b, i) => (out[b] = a.payloads[i]));
  return out;
}

/** Builds the blocks on their threads, binds the merged stream and console, starts the server and the loop. */
export async function startShardedServe(o: ServeOptions & { configFile: string }): Promise<ShardServeHandle> {
  const build = { seed: o.seed, towns: o.towns, agentsPerTown: o.agents, shards: o.shards, overrides: o.overrides };
  const plugins = o.plugins ?? (await resolvePlugins(corePlugins, o.configFile, o.pluginSpecs ?? []));
  const spec = o.policy ?? loadShardedConfig(o.configFile, plugins, build).settings.runtime.policy.provider;
  // Promotion swaps the one network the main thread runs over every block; refused rather than ignored otherwise.
  if ((o.checkpointRoot !== undefined || o.adoptRelease) && !isNeuralSpec(spec)) {
    throw new ShardPolicyError(
      `--checkpoints: promote_policy/rollback_policy swap the network the main thread runs over every block (--policy neural[:DIR]); with --policy ${spec} each block runs its own policy, which a sharded world (world.shards > 1) does not swap; serve with --policy neural[:DIR] --checkpoints DIR, or with --shards 1`,
    );
  }
  let sim: ServedBlocks;
  let neural: ShardedInference | undefined;
  if (isNeuralSpec(spec)) {
    // One network over every block's agents per tick on this thread (the runner of townlet run --shards).
    const blocks = loadShardedConfig(o.configFile, plugins, build).settings.world.shards ?? 1;
    sim = neural = await ShardedInference.open({
      configFile: o.configFile,
      build,
      plugins,
      pluginSpecs: o.pluginSpecs ?? [],
      workers: o.workers ?? defaultWorkers(blocks),
      ...(o.watchdog !== undefined ? { watchdogSeconds: o.watchdog } : {}),
      spec,
      extension: { module: SERVE_SHARD_HOST_MODULE, extend },
    });
  } else {
    const opts: ShardedOptions = {
      configFile: o.configFile,
      build,
      pluginSpecs: o.pluginSpecs ?? [],
      host: SERVE_SHARD_HOST,
      hostModule: SERVE_SHARD_HOST_MODULE,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      ...(o.policy !== undefined ? { policy: o.policy } : {}),
      ...(o.watchdog !== undefined ? { watchdogSeconds: o.watchdog } : {}),
    };
    sim = await ShardedSim.open(opts);
  }
  try {
    // The release pointer of --checkpoints (with --adopt-release, its live checkpoint decides from the first tick).
    const release = neural && (await ShardRelease.open(neural, { ...(o.checkpointRoot !== undefined ? { checkpointRoot: o.checkpointRoot } : {}), adoptLive: o.adoptRelease ?? false }));
    const section = (): PolicySection => {
      if (!neural) return { policy: spec, batch: "each block" };
      const kpi = release?.kpi();
      return kpi ? { ...neural.view, release: kpi } : neural.view;
    };
    return await serveSim(sim, { ...o, plugins }, section, neural ? { view: () => neural.view, release: release! } : undefined);
  } catch (e) {
    await sim.close();
    throw e;
  }
}

/**
 * Who decides, as the `policy` telemetry section names it: the main thread's network (with
 * --checkpoints, `release`: which release decides, as a one-block world's policy_release KPI), or
 * each block's own policy.
 */
export type PolicySection = (ShardedPolicyView & { release?: { seq: number; checkpoint: string | null; policy_hash: string | null } }) | { policy: string; batch: "each block" };

async function serveSim(
  sim: ServedBlocks,
  o: ServeOptions & { configFile: string; plugins: readonly AnyPlugin[] },
  policy: () => PolicySection,
  neural: { view: () => ShardedPolicyView; release: ShardRelease } | undefined,
): Promise<ShardServeHandle> {
  const config = sim.config;
  const settings = config.settings;
  const plugins = o.plugins;
  const frames = sim.plans.map((p) => frameOf(p, sim.towns));
  // A copy: with one thread the blocks share these settings, and their publishers are set to full mode.
  const tcfg = structuredClone((settings as { telemetry?: ReturnType<typeof TelemetrySection.parse> }).telemetry ?? TelemetrySection.parse(undefined));
  const stream = new ShardStream(tcfg, config.configId, sim.blocks, sim.towns, frames);
  stream.measure = o.measureCrossing ?? false;
  stream.routeAgent = agentRouter(sim);
  stream.addSection("policy", policy);
  const init: ServeRequest = { op: "init", configHash: config.configHash, worldTowns: sim.towns, mode: stream.wantedMode(sim.agents) };
  const first = perBlock(await sim.ext("init", init), sim.blocks);
  // The console's own world: no plug-ins, the served world's towns; its tick follows the blocks'.
  const front = new World({ settings, plugins: [], towns: sim.towns, seed: sim.seed });
  const flush = async (force: boolean) => {
    const req: ServeRequest = { op: "flush", force };
    stream.ingest(perBlock(await sim.ext("flush", req), sim.blocks), sim.tick);
  };
  const persistenceDir = (settings as { snapshot?: { storage?: { root?: string } } }).snapshot?.storage?.root;
  const roots = [resolve(persistenceDir ?? "snapshots"), ...(settings.snapshot?.guardrails.allowed_paths ?? []).map((p) => resolve(p))];
  const router = new ShardConsole({ sim, plugins, front, frames, stream, snapshotRoots: roots, flush, ...(neural ? { neural: neural.view, release: neural.release } : {}) });
  const svc = router.service;
  const tokens = o.tokensFile ? TokenTable.fromFile(o.tokensFile) : TokenTable.fromConfig(settings.console_auth);
  svc.audit = typeof o.audit === "object" ? o.audit : new AuditLog(resolve(o.audit ?? "townlet-audit.ndjson"));

  const target = shardTarget(sim, router, stream, front, flush);
  stream.ingest(first, sim.tick);
  connectStream(sim, stream);

  const metrics: ServeMetrics = new ServeMetrics({
    world: {
      get tick() {
        return sim.tick;
      },
      towns: sim.towns,
      get agents() {
        return { length: stream.agents };
      },
      kpis: () => stream.kpis(),
    },
    configId: config.configId,
    loop: () => loop.status(),
    clients: () => server.conns,
    server: () => server.stats,
    eventsDropped: () => stream.eventsDropped,
    consoleQueue: () => svc.queued,
  });
  svc.audit = metrics.countingSink(svc.audit);
  const loop = makeServeLoop(target, o, svc, (ms) => metrics.tickDone(ms), (name, fn) => stream.addSection(name, fn));
  const gateway = new ConsoleGateway(svc, tokens, o.gateway);
  const site = o.observer === false ? undefined : observerSite({ tokens });
  const metricsRoute = metrics.route({ tokens, public: o.metricsPublic });
  const server: TelemetryServer = new TelemetryServer(stream, gateway, {
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 8765,
    site: (req, res) => metricsRoute(req, res) || (site?.handle(req, res) ?? false),
    ...o.server,
  });
  const url = await server.listen();
  let detachFile: (() => void) | undefined;
  let fileSink: FileSink | undefined;
  const telemetryFile = o.telemetryFile ?? (tcfg.transport.type === "file" ? (tcfg.transport.file_path ?? undefined) : undefined);
  if (telemetryFile) {
    fileSink = new FileSink(stream, resolve(telemetryFile));
    detachFile = stream.addSink(fileSink);
  }
  // A block that failed stopped the loop: clients hear of it (the loop section says stopped, with the error).
  // Commands still apply (those needing the world answer that it stopped) until the server closes.
  let afterStop: NodeJS.Timeout | undefined;
  const running = loop.start().then(() => {
    if (loop.error === undefined) return;
    router.abort(`the world stopped: ${loop.error instanceof Error ? loop.error.message : String(loop.error)}`);
    stream.publishNow();
    afterStop = setInterval(() => void target.between("all", false).catch(() => {}), 50);
    afterStop.unref();
  });
  let closing: Promise<void> | undefined;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws") + "/ws",
    sim,
    get policy() {
      return policy();
    },
    console: svc,
    publisher: stream,
    server,
    loop,
    tokens,
    metrics,
    close() {
      closing ??= (async () => {
        await loop.stop();
        await running;
        clearInterval(afterStop);
        router.abort("the server is shutting down");
        await router.idle();
        svc.cancelAll();
        await server.close();
        detachFile?.();
        fileSink?.close();
        await sim.close();
      })();
      return closing;
    },
  };
}

/** agent_<uid> names its block by the block's uid range (aggregate mode publishes few agents). */
function agentRouter(sim: ServedBlocks): (id: string) => number {
  return (id) => {
    const m = /^agent_(\d+)$/.exec(id);
    const uid = m ? Number(m[1]) : -1;
    return sim.plans.find((p) => uid >= p.uidBase && uid < p.uidBase + p.uidLimit)?.index ?? -1;
  };
}

/** Subscriptions and the mode reach the blocks; what a block publishes at once comes back as any payload. */
function connectStream(sim: ServedBlocks, stream: ShardStream): void {
  const publishedBy = (p: Promise<unknown[]>) =>
    void p.then(
      (answers) => stream.ingest(perBlock(answers, sim.blocks), sim.tick),
      () => {},
    );
  stream.onWatch = (block, ids, on) => publishedBy(sim.ext("watch", { op: "watch", block, ids, on } satisfies ServeRequest, block));
  stream.onWatchTowns = (block, towns, on) => publishedBy(sim.ext("watchTowns", { op: "watchTowns", block, towns, on } satisfies ServeRequest, block));
  stream.onMode = (mode) => void sim.ext("mode", { op: "mode", mode } satisfies ServeRequest).catch(() => {});
}

interface ShardTarget extends ServeTarget {
  between(at: "boundary" | "all", force: boolean): Promise<void>;
}

/**
 * The loop's view of the sharded world: a tick is the commands routed to the blocks, the blocks'
 * step, the merged publish and the boundary commands; between ticks, queued commands apply.
 */
function shardTarget(sim: ServedBlocks, router: ShardConsole, stream: ShardStream, front: World, flush: (force: boolean) => Promise<void>): ShardTarget {
  const svc = router.service;
  /** Queued commands of `at` applied between ticks; blocks apply what was routed to them at once. */
  const between = async (at: "boundary" | "all", force: boolean) => {
    front.tick = sim.tick;
    router.routed = 0;
    const ran = svc.drain(at, sim.tick);
    if (router.routed > 0) await flush(false);
    await router.idle();
    if ((ran > 0 || force) && router.routed === 0) stream.publishNow();
  };
  return {
    get tick() {
      return sim.tick;
    },
    async step() {
      // Commands of the last boundary (a snapshot being written) finish before the next tick.
      await router.idle();
      front.tick = sim.tick;
      // Routed commands reach their blocks before the step does (one message queue per thread).
      svc.drain("tick", sim.tick + 1);
      await sim.step();
      front.tick = sim.tick;
      stream.ingest(sim.extras as BlockPayloads[], sim.tick);
      // Boundary commands run after the tick (as a world's onTick drain): snapshots here, a
      // block's own at once; their effects are published with the next tick.
      router.routed = 0;
      if (svc.drain("boundary", sim.tick) > 0 && router.routed > 0) await flush(false);
    },
    between,
  };
}

