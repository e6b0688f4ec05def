// One size of the simulation benchmark (what `townlet bench` runs in a child process per size,
// so sizes do not pollute each other's heap): builds a world, measures the engine memory it took,
// warms up, times N ticks with per-system timing, counts garbage collections during them, and
// compares the need-decay system with a bare Float32Array loop doing the same arithmetic.
// Run alone: node --expose-gc --import tsx bench/sim.ts --agents 100000 [--layout towns|big]
//   [--ticks N] [--warmup N] [--policy scripted|random|neural] [--backend B] [--seed N] [--plugin PATH]... [--config FILE]
// Prints one JSON object (a SimResult) as its last stdout line; progress goes to stderr.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { currentTensorBackend, initTensorBackend, parseBackendName } from "../engine/tensor.ts";
import type { World } from "../engine/world.ts";
import type { TimingClock } from "../engine/world-tick.ts";
import { preparePolicy } from "../systems/policy/index.ts";
import { createProgress } from "../tools/progress.ts";
import { loadavg } from "node:os";
import { writeFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import { ShardedSim } from "../engine/shards.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../tools/shard-host.ts";
import { isNeuralSpec } from "../tools/shard-neural.ts";
import { openNeuralWorkers } from "./workers-neural.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { corePlugins } from "../systems/index.ts";
import { AGENTS_PER_SMALL_TOWN, buildBenchWorld, isLayout, LAYOUTS, MANY_TOWNS_CONFIG, type Layout } from "./layouts.ts";
import { hugePagesMb, columnTable, memory, memoryFields, stateTable, type ColumnRow } from "./memory.ts";
import { dayDrift, type DayDrift } from "./day-drift.ts";
import { attributionFields, cpuDelta, cpuLatencyFields, dailyProfile, GcCounter, gcFields, latencyFields, majorGcList, tickCsv, type DailyProfile, type MajorGc, type SlowContributor, type SlowTick, type SystemLatency } from "./tick-stats.ts";
import { ticksPerDay } from "../engine/clock.ts";
import { bareDecay } from "./bare-decay.ts";
import { writeResult } from "./child.ts";
import { tickSystemMs, type TickSystemMs } from "./slow-ticks.ts";
import { tuneHeap } from "../engine/heap.ts";

export type { ColumnRow };

export interface SimOptions {
  agents: number;
  layout: Layout;
  /** Timed ticks; default: enough for about `seconds`, at least 20. */
  ticks?: number;
  /** Warm-up ticks; default: about 0.5 s worth, 10 to 200. */
  warmup?: number;
  /** Target length of the timed part when `ticks` is not given (seconds). */
  seconds?: number;
  policy?: string;
  backend?: string;
  seed?: number;
  /** --plugin specs (files relative to the working folder, or packages) loaded beside the core plug-ins. */
  plugins?: readonly string[];
  /** The towns layout's config instead of many-towns.yaml (its own `plugins:` are loaded too). */
  config?: string;
  /** What the per-system latency view and its slow ticks time: wall ms (default) or process CPU ms. */
  clock?: TimingClock;
  /**
   * Write one CSV line per timed tick to this file after the run (tickCsv: tick, tick of day, wall
   * and CPU ms, ms outside the systems, GCs, heap, each system's ms, messages per channel). Off by
   * default; written from the arrays the loop fills, the channels' counts read outside the timing.
   */
  tickCsv?: string;
  /** Return each timed tick's wall ms in the result (tick_wall_ms: `townlet bench --repeat` compares runs tick by tick). */
  tickTimes?: boolean;
  quiet?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface SimResult {
  agents: number;
  towns: number;
  layout: Layout;
  policy: string;
  grid: number;
  objects: number;
  config_id: string;
  tensor_backend: string;
  warmup_ticks: number;
  ticks: number;
  /** Agent-steps (live agents summed over the timed ticks) per wall-clock second. */
  agent_steps_per_sec: number;
  ms_per_tick: number;
  /** Median, 99th percentile and largest wall-clock ms of one timed tick (world.step() alone). */
  tick_ms_p50: number;
  tick_ms_p99: number;
  tick_ms_max: number;
  /** tick_ms_p99 / tick_ms_p50: periodic spikes (daily resets, GC) show here. Goal <= 1.2 at 100k. */
  p99_over_p50: number;
  /**
   * CPU time of this process per timed tick (user + system, all its threads): close to
   * ms_per_tick on an idle machine; much lower when other processes share the cores.
   */
  cpu_ms_per_tick: number;
  /** heapUsed + arrayBuffers grown by building the world, per agent (objects and towns included). */
  bytes_per_agent: number;
  /** The same split: JS heap (objects, Maps, plain arrays) and typed-array buffers. */
  heap_bytes_per_agent: number;
  buffer_bytes_per_agent: number;
  /** Bytes of component and town-state columns, per agent (capacity, not just live rows). */
  column_bytes_per_agent: number;
  /**
   * bytes_per_agent (and its split) again after the timed ticks (two forced GCs; the bare loop's
   * arrays left out), over the agents then live: what pools, caches and message buffers add once
   * the world runs.
   */
  ticked_bytes_per_agent: number;
  ticked_heap_bytes_per_agent: number;
  ticked_buffer_bytes_per_agent: number;
  /** Whether a forced GC preceded the memory readings (node --expose-gc). */
  gc_exposed: boolean;
  /** Garbage collections that started during the timed ticks, by kind, and their total pause. */
  major_gcs: number;
  minor_gcs: number;
  gc_ms: number;
  /** major_gcs scaled to 10,000 ticks (goal: 0). */
  major_gcs_per_10k_ticks: number;
  /**
   * Each major GC of the timed ticks: the tick it fell in, its pause, and the JS heap used and
   * V8's external memory (typed arrays' stores) at that tick's start and their growth before it
   * (since the previous major or the first timed tick): which of V8's two triggers it was.
   */
  major_gc_list: MajorGc[];
  /** Heap growth over the timed ticks per tick (bytes; allocation that survived). */
  heap_growth_per_tick: number;
  /** needs/decay ms per tick in the engine over the bare loop's (same arithmetic, same agent count). */
  baseline_ratio: number;
  decay_ms_per_tick: number;
  bare_ms_per_tick: number;
  build_s: number;
  /** Milliseconds per tick of each system over the timed ticks, in schedule order. */
  system_ms: Record<string, number>;
  /** CPU ms (this process, process.cpuUsage) of one timed tick: median, 99th percentile, their ratio. */
  tick_cpu_ms_p50: number;
  tick_cpu_ms_p99: number;
  cpu_p99_over_p50: number;
  /** What system_latency and slowest_ticks time: "wall" ms or process "cpu" ms (--clock). */
  system_clock: TimingClock;
  /** Ticks per simulated day of the world (tick_of_day of the slow ticks is tick mod this). */
  ticks_per_day: number | null;
  /** Each system's median, 99th percentile, largest and mean wall ms per timed tick, in schedule order. */
  system_latency: SystemLatency[];
  /**
   * The slowest timed ticks (the top 1%: 5 to 100), slowest first: wall ms, the systems at least
   * 0.25 ms over their own median in that tick, time outside the systems, GCs that started in it.
   */
  slowest_ticks: SlowTick[];
  /** Over slowest_ticks: per system (and "(gc)", whose pauses are also inside a system's time), in how many it was over its median and by how much in all. */
  slow_tick_contributors: SlowContributor[];
  /**
   * Every component column, membership flag array and town-state column with its element type
   * and bytes per agent (allocated capacity), largest first; plus the entity index.
   */
  column_table: ColumnRow[];
  /**
   * Typed-array bytes reachable from each plug-in's state after the timed ticks (columns left
   * out: they are column_table's), per agent, largest first.
   */
  state_table: { plugin: string; bytes: number; bytes_per_agent: number }[];
  /** The world's state hash after the last timed tick (computed outside the timing). */
  state_hash: string;
  /**
   * MB of the process on transparent huge pages after the timed ticks (null: not Linux). About the
   * columns' size with `townlet bench --huge-pages`, near 0 without it where transparent_hugepage is
   * "madvise".
   */
  huge_pages_mb: number | null;
  /** Each timed tick's wall ms, in order (only with the tickTimes option). */
  tick_wall_ms?: number[];
  /** Each timed tick's ms per system on the system clock (only with the tickTimes option; bench/slow-ticks.ts). */
  tick_system_ms?: TickSystemMs;
  /** Each tick of the day's median over the days timed against p50: the periodic spikes (null under three days). */
  daily_profile: DailyProfile | null;
  /** Each simulated day's median tick and each system's growth from the first whole day to the last (null under two whole days). */
  day_drift: DayDrift | null;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/**
 * Warm-up: JIT, and agents leave their spawn tiles, queue and start affordances (`o.warmup` ticks,
 * default 10 to 200 in about 0.5 s). The length of the timed part (`o.ticks`, default about
 * `o.seconds`) is estimated from the second half of the warm-up (the first is JIT-cold).
 */
function warmUp(world: World, o: SimOptions): { warmup: number; tickMsGuess: number; ticks: number } {
  const times: number[] = [];
  let warmup = 0;
  const tw = performance.now();
  const stepTimed = () => {
    const t = performance.now();
    world.step();
    times.push(performance.now() - t);
    warmup++;
  };
  if (o.warmup === undefined) while (warmup < 10 || (warmup < 200 && performance.now() - tw < 500)) stepTimed();
  else while (warmup < o.warmup) stepTimed();
  const late = times.slice(Math.floor(times.length / 2));
  const tickMsGuess = late.length ? late.reduce((a, b) => a + b, 0) / late.length : 1;
  const ticks = o.ticks ?? Math.max(20, Math.ceil(((o.seconds ?? 2) * 1000) / Math.max(tickMsGuess, 1e-3)));
  return { warmup, tickMsGuess, ticks };
}

/** Runs one size. */
/** What a result reads from the world and the process once the timed ticks are over. */
function endFields(world: World, o: SimOptions, tickTimes: Float64Array, warmup: number, perTick: { systems: string[]; ms: Float64Array }): Pick<SimResult, "state_hash" | "huge_pages_mb" | "tick_wall_ms" | "tick_system_ms" | "daily_profile" | "day_drift"> {
  return {
    daily_profile: dailyProfile(tickTimes, warmup + 1, ticksPerDay(world.settings)),
    day_drift: dayDrift(tickTimes, warmup + 1, ticksPerDay(world.settings), perTick.systems, perTick.ms),
    state_hash: world.stateHash(),
    huge_pages_mb: hugePagesMb(),
    ...(o.tickTimes ? { tick_wall_ms: Array.from(tickTimes, (x) => round(x, 4)), tick_system_ms: tickSystemMs(perTick.systems, perTick.ms) } : {}),
  };
}

export async function runSim(o: SimOptions): Promise<SimResult> {
  const log = o.quiet ? () => {} : (o.log ?? ((l: string) => process.stderr.write(l + "\n")));
  const label = `bench ${o.agents} agents (${o.layout}, ${o.policy ?? "scripted"})`;
  if (o.backend !== undefined) await initTensorBackend(parseBackendName(o.backend));
  const plugins = await resolvePlugins(corePlugins, o.config, o.plugins ?? []);
  // A tiny world first: loads modules and lazily built tables, so the reading below is the world's.
  buildBenchWorld(o.layout, 8, { seed: o.seed, plugins, config: o.config }).dispose();
  const before = memory();
  const t0 = performance.now();
  log(`${label}: building`);
  const bw = buildBenchWorld(o.layout, o.agents, { seed: o.seed, plugins, config: o.config });
  const { world } = bw;
  try {
    const buildS = (performance.now() - t0) / 1000;
    const after = memory();
    const agents = world.agents.length;
    log(`${label}: built in ${buildS.toFixed(1)} s (${world.towns} town(s), ${bw.grid}x${bw.grid} grid, ${bw.objects} objects)`);
    const policy = await preparePolicy(world, o.policy ?? "scripted");

    const { warmup, tickMsGuess, ticks } = warmUp(world, o);
    log(`${label}: ${warmup} warm-up ticks (${tickMsGuess.toFixed(2)} ms/tick), timing ${ticks}`);

    // The bare loop runs after each tick, timed apart: both sides of baseline_ratio then see the
    // same machine load and a cache that the rest of the tick has just churned.
    const rates = world.settings.rewards.decay_rates;
    const bare = bareDecay(agents, rates, world.settings.features.behavior.reward_multipliers);
    const progress = createProgress(label, ticks, { quiet: o.quiet });
    const clock = o.clock ?? "wall";
    world.enableTiming(ticks, clock);
    const tickStart = new Float64Array(ticks);
    const tickCpu = new Float64Array(ticks);
    // The heap before each tick (one small object per tick from getHeapStatistics), for major_gc_list.
    const heapUsed = new Float64Array(ticks);
    const external = new Float64Array(ticks);
    // Not memory(): its two forced full GCs right before the timed ticks made the first timed tick
    // ~2.5x a normal one (CPU 104 vs 38 ms at 100k: decide and employment slowed after a forced
    // GC), a spike of the bench's own in every p99. Both ends of heap_growth_per_tick are unforced.
    const heap0 = process.memoryUsage().heapUsed;
    const gcs = new GcCounter();
    gcs.start();
    let steps = 0;
    let tickMs = 0;
    let bareMs = 0;
    const tickTimes = new Float64Array(ticks);
    // With --tick-csv: each tick's messages per channel (the events of that tick: affordance
    // starts and finishes, chats, exits ...), read after the tick, outside its timing.
    const channels = o.tickCsv !== undefined ? world.messages.channels : [];
    const events = new Int32Array(ticks * channels.length);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < ticks; i++) {
      const h = getHeapStatistics();
      heapUsed[i] = h.used_heap_size;
      external[i] = h.external_memory;
      const c = process.cpuUsage();
      const t = performance.now();
      world.step();
      const dt = performance.now() - t;
      tickCpu[i] = cpuDelta(c);
      for (let k = 0; k < channels.length; k++) events[i * channels.length + k] = channels[k].lastTick().count;
      tickStart[i] = t;
      tickTimes[i] = dt;
      tickMs += dt;
      steps += world.agents.length;
      bareMs += bare.pass();
      // Every 16th tick: a progress bar's update allocates, and its garbage would count in the GCs.
      if ((i & 15) === 15 || i + 1 === ticks) progress.update(i + 1);
    }
    const end = performance.now();
    const cpu = process.cpuUsage(cpu0);
    progress.stop();
    const g = await gcs.stop(start, end);
    const heapGrowth = (process.memoryUsage().heapUsed - heap0) / ticks;
    const ticked = memory();
    const ms = tickMs / ticks;
    const system_ms: Record<string, number> = {};
    for (const s of world.systemTimes()) system_ms[s.system] = round(s.ms / ticks, 4);
    const decayMs = system_ms["needs/decay"] ?? NaN;
    const perTick = world.systemTickTimes()!;
    const attribution = attributionFields({ tickMs: clock === "cpu" ? tickCpu : tickTimes, tickStart, tickWallMs: tickTimes, ticks: perTick.ticks, systems: perTick.systems, ms: perTick.ms, gcs: gcs.events, ticksPerDay: ticksPerDay(world.settings) });
    const barePerTick = bareMs / ticks;
    if (o.tickCsv !== undefined) {
      writeFileSync(o.tickCsv, tickCsv({ tickWallMs: tickTimes, tickCpuMs: tickCpu, tickMs: tickTimes, tickStart, heapUsed, ticks: perTick.ticks, systems: perTick.systems, ms: perTick.ms, gcs: gcs.events, ticksPerDay: ticksPerDay(world.settings), clock, events: { names: channels.map((ch) => ch.def.name), counts: events } }));
      log(`${label}: per-tick CSV written to ${o.tickCsv}`);
    }
    return {
      agents,
      towns: world.towns,
      layout: o.layout,
      policy: policy.name,
      grid: bw.grid,
      objects: bw.objects,
      config_id: bw.configId,
      tensor_backend: currentTensorBackend()?.name ?? "none",
      warmup_ticks: warmup,
      ticks,
      agent_steps_per_sec: Math.round((steps * 1000) / tickMs),
      ms_per_tick: round(ms, 4),
      ...latencyFields(tickTimes),
      ...cpuLatencyFields(tickCpu),
      system_clock: clock,
      cpu_ms_per_tick: round(Math.max(0, (cpu.user + cpu.system) / 1000 - bareMs) / ticks, 4),
      ...memoryFields(world, agents, before, after, ticked, bare.bytes),
      ...gcFields(g, ticks),
      major_gc_list: majorGcList({ tickStart, tickWallMs: tickTimes, ticks: perTick.ticks, heapUsed, external, gcs: gcs.events, ticksPerDay: ticksPerDay(world.settings) }),
      heap_growth_per_tick: Math.round(heapGrowth),
      baseline_ratio: round(decayMs / barePerTick, 3),
      decay_ms_per_tick: round(decayMs, 4),
      bare_ms_per_tick: round(barePerTick, 4),
      build_s: round(buildS, 2),
      system_ms,
      ...attribution,
      column_table: columnTable(world),
      state_table: stateTable(world),
      ...endFields(world, o, tickTimes, warmup, perTick),
    };
  } finally {
    bw.dispose();
  }
}

/** One row of `townlet bench --workers`: a sharded world of `blocks` blocks on `workers` threads. */
export interface WorkersResult {
  agents: number;
  towns: number;
  blocks: number;
  workers: number;
  warmup_ticks: number;
  ticks: number;
  agent_steps_per_sec: number;
  ms_per_tick: number;
  /** CPU time of the whole process (every thread) per timed tick. */
  cpu_ms_per_tick: number;
  /** The 1-minute load average of the machine when the row finished. */
  load_avg_1m: number;
  build_s: number;
  /** The state hash after the last tick: the same for every number of workers. */
  state_hash: string;
}

/** Default blocks of a workers bench: one per town up to 64. */
export function benchShards(towns: number): number {
  return Math.min(towns, 64);
}

/**
 * Runs the `towns` layout (many-towns.yaml, 8 agents a town) as a sharded world of `shards`
 * blocks (default benchShards) on `workers` threads: warm-up, then timed ticks.
 */
export async function runWorkersSim(o: { agents: number; workers: number; shards?: number; ticks?: number; warmup?: number; seconds?: number; seed?: number; policy?: string; backend?: string; plugins?: readonly string[]; config?: string; quiet?: boolean; log?: (line: string) => void }): Promise<WorkersResult> {
  const log = o.quiet ? () => {} : (o.log ?? ((l: string) => process.stderr.write(l + "\n")));
  const towns = Math.max(1, Math.ceil(o.agents / AGENTS_PER_SMALL_TOWN));
  const shards = o.shards ?? benchShards(towns);
  const label = `bench ${o.agents} agents, ${shards} blocks, ${o.workers} worker(s)`;
  const t0 = performance.now();
  // A neural policy: one main-thread batch per tick (bench/workers-neural.ts); else each block's own.
  const sim = isNeuralSpec(o.policy ?? "") ? await openNeuralWorkers({ ...o, policy: o.policy!, towns, shards }) : await ShardedSim.open({
    configFile: o.config ?? MANY_TOWNS_CONFIG,
    policy: o.policy,
    build: { seed: o.seed, towns, agentsPerTown: AGENTS_PER_SMALL_TOWN, shards },
    host: SHARD_HOST,
    hostModule: SHARD_HOST_MODULE,
    workers: o.workers,
    pluginSpecs: o.plugins, // every worker loads them too
  });
  try {
    const buildS = (performance.now() - t0) / 1000;
    log(`${label}: built in ${buildS.toFixed(1)} s on ${sim.workers} thread(s)`);
    // Threads run chunks of ticks on alone (ShardedSim.advance: blocks do not interact).
    const tw = performance.now();
    let warmup = 0;
    if (o.warmup === undefined) while (warmup < 10 || (warmup < 200 && performance.now() - tw < 1000)) (await sim.advance(5), (warmup += 5));
    else if (o.warmup > 0) (await sim.advance(o.warmup), (warmup = o.warmup));
    const tickMsGuess = (performance.now() - tw) / Math.max(1, warmup);
    const ticks = o.ticks ?? Math.max(20, Math.ceil(((o.seconds ?? 3) * 1000) / Math.max(tickMsGuess, 1e-3)));
    log(`${label}: ${warmup} warm-up ticks (${tickMsGuess.toFixed(2)} ms/tick), timing ${ticks}`);
    const progress = createProgress(label, ticks, { quiet: o.quiet });
    let steps = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const chunk = Math.max(1, Math.ceil(ticks / 10));
    for (let done = 0; done < ticks; ) {
      const n = Math.min(chunk, ticks - done);
      const r = await sim.advance(n);
      for (const a of r.agents) steps += a;
      done += n;
      progress.update(done);
    }
    const wall = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    progress.stop();
    return {
      agents: sim.agents,
      towns: sim.towns,
      blocks: sim.blocks,
      workers: sim.workers,
      warmup_ticks: warmup,
      ticks,
      agent_steps_per_sec: Math.round((steps * 1000) / wall),
      ms_per_tick: round(wall / ticks, 4),
      cpu_ms_per_tick: round((cpu.user + cpu.system) / 1000 / ticks, 4),
      load_avg_1m: round(loadavg()[0], 2),
      build_s: round(buildS, 2),
      state_hash: await sim.stateHash(),
    };
  } finally {
    await sim.close();
  }
}

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`--${name}: expected a non-negative integer, got "${v}"`);
  return Number(v);
}

async function cli(): Promise<void> {
  tuneHeap(); // as townlet's CLI does (tools/cli.ts): the child measures what a user's run gets
  const { values } = parseArgs({
    options: {
      agents: { type: "string", default: "10000" },
      layout: { type: "string", default: "towns" },
      ticks: { type: "string" },
      warmup: { type: "string" },
      seconds: { type: "string" },
      policy: { type: "string", default: "scripted" },
      backend: { type: "string" },
      seed: { type: "string" },
      workers: { type: "string" },
      shards: { type: "string" },
      plugin: { type: "string", multiple: true },
      config: { type: "string" },
      clock: { type: "string" },
      "tick-csv": { type: "string" },
      "tick-times": { type: "boolean" },
      quiet: { type: "boolean" },
    },
  });
  if (values.clock !== undefined && values.clock !== "wall" && values.clock !== "cpu") throw new Error(`--clock: expected wall or cpu, got "${values.clock}"`);
  if (values.workers !== undefined) {
    if (values.layout !== "towns") throw new Error(`--workers: the ${values.layout} layout is one town (one block); use --layout towns`);
    const w = await runWorkersSim({
      agents: intArg("agents", values.agents)!,
      workers: intArg("workers", values.workers)!,
      shards: intArg("shards", values.shards),
      ticks: intArg("ticks", values.ticks),
      warmup: intArg("warmup", values.warmup),
      seconds: values.seconds !== undefined ? Number(values.seconds) : undefined,
      seed: intArg("seed", values.seed),
      policy: values.policy, backend: values.backend,
      plugins: values.plugin,
      config: values.config,
      quiet: values.quiet,
    });
    await writeResult(w);
    return;
  }
  if (!isLayout(values.layout!)) throw new Error(`--layout: expected one of ${LAYOUTS.join(", ")}, got "${values.layout}"`);
  const r = await runSim({
    agents: intArg("agents", values.agents)!,
    layout: values.layout,
    ticks: intArg("ticks", values.ticks),
    warmup: intArg("warmup", values.warmup),
    seconds: values.seconds !== undefined ? Number(values.seconds) : undefined,
    policy: values.policy,
    backend: values.backend,
    seed: intArg("seed", values.seed),
    plugins: values.plugin,
    config: values.config,
    clock: values.clock as TimingClock | undefined,
    tickCsv: values["tick-csv"],
    tickTimes: values["tick-times"],
    quiet: values.quiet,
  });
  await writeResult(r);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`bench/sim: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(e instanceof Error && /^(--|tensor backend|unknown)/.test(e.message) ? 1 : 2);
    },
  );
}
