// `townlet bench`: agent-steps per second, ms per tick, bytes per agent, GC and a ratio against a
// bare typed-array loop, at several sizes (bench/sim.ts, one child process per size so that sizes
// do not pollute each other's heap and 1M agents fit), and with --suite policy the observation,
// inference and end-to-end figures (bench/policy.ts). Progress on stderr, tables on stdout; with
// --json the last stdout line is one JSON object: { tensor_backend, results: [...] } (sim suite).
import { parseBackendName } from "../engine/tensor.ts";
import { hugePagesEnv, runChild, SCRIPTS } from "../bench/child.ts";
import { isLayout, LAYOUTS, type Layout } from "../bench/layouts.ts";
import { formatPolicySuite, runPolicySuite, SECTIONS } from "../bench/policy.ts";
import { benchShards, runSim, runWorkersSim, type SimResult, type WorkersResult } from "../bench/sim.ts";
import { formatRepeat, repeatSummary, type RepeatSummary } from "../bench/repeat.ts";
import { formatDailyProfile } from "../bench/tick-stats.ts";
import { formatDayDrift } from "../bench/day-drift.ts";
import { AGENTS_PER_SMALL_TOWN, BIG_TOWN_CONFIG, MANY_TOWNS_CONFIG } from "../bench/layouts.ts";
import { FLAG, UsageError, configArg, parseCommand, type CommandSpec } from "./args.ts";
import { loadConfig } from "../engine/config/loader.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { corePlugins } from "../systems/index.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const BENCH_SPEC = {
  name: "bench",
  summary: "agent-steps/s, ms/tick, bytes/agent and GC counts at several sizes (see bench/README.md)",
  details: "Progress on stderr, tables on stdout; with --json the last stdout line is one JSON object. The bench builds its towns\nfrom --layout (configs/many-towns.yaml or configs/bench/big-town.yaml); with a CONFIG (--layout towns only) from that\nconfig instead, in towns of 8 agents, its `plugins:` and affordance hook modules loaded as `run` loads them: a mod's town benchmarked.",
  positionals: { name: "CONFIG", min: 0, max: 1, help: "the towns layout's config instead of configs/many-towns.yaml (towns of 8 agents; same as --config)" },
  flags: {
    agents: { kind: "ints", min: 1, default: "1000,10000,100000", help: "total agents per run, one run per size" },
    ticks: { kind: "int", min: 1, help: "measured ticks per size (default: by size)" },
    warmup: { kind: "int", min: 0, help: "ticks run before measuring (default: by size)" },
    policy: { kind: "string", choices: ["scripted", "random", "neural"], default: "scripted", help: "who decides" },
    backend: { kind: "string", arg: "NAME", help: "tensor backend for the neural policy (webgpu, cuda, native, wasm, cpu)" },
    layout: { kind: "string", choices: LAYOUTS, default: "towns", help: "many small towns, or one big town" },
    seed: FLAG.seed,
    suite: { kind: "string", choices: ["sim", "policy"], default: "sim", help: "the simulation, or observation/inference/end-to-end" },
    "in-process": { kind: "boolean", help: "run every size in this process (no child processes)" },
    workers: { kind: "ints", min: 1, help: "worker threads, one row per count (--layout towns, a sharded world of --shards blocks; speed-up against the first count). Absent: the one-block world on one thread" },
    shards: { ...FLAG.shards, help: "blocks of towns with --workers (default: the towns, at most 64)" },
    config: { ...FLAG.config, help: "the towns layout's config instead of configs/many-towns.yaml (towns of 8 agents); its plugins: and hook modules (affordances.runtime.hook_allowlist) are loaded" },
    plugin: { ...FLAG.plugin, help: "load a plug-in module (a file, or a package name) beside the core plug-ins, in every size's world (and every worker); repeatable" },
    clock: { kind: "string", choices: ["wall", "cpu"], default: "wall", help: "what the per-system latency view (system_latency, slowest_ticks) times: wall ms, or this process's CPU ms (a loaded machine). tick_ms_p50/p99 are wall ms either way" },
    "tick-csv": { kind: "string", arg: "FILE", help: "write one CSV line per timed tick (tick, tick of day, wall and CPU ms, ms outside the systems, GCs, heap, each system's ms on --clock) to FILE; with several sizes FILE-<agents>.csv per size, with --repeat FILE-run<k>.csv per run" },
    "huge-pages": { kind: "boolean", negatable: true, help: "start each size's child process with glibc's malloc on transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1; Linux, glibc 2.35+, transparent_hugepage \"madvise\" or \"always\"; elsewhere the variable does nothing): the columns on 2 MB pages; results[].huge_pages_mb says how many MB were. What `GLIBC_TUNABLES=glibc.malloc.hugetlb=1 townlet run` gets. Off by default (--no-huge-pages says so): 4 KB pages, what a plain `townlet run` gets" },
    repeat: { kind: "int", min: 1, max: 25, default: "1", help: "run each size N times, each in a fresh process with the first run's warm-up and timed ticks; adds a summary per size: every run's p50/p99, and p50/p99 of the per-tick median and minimum over the runs (the same ticks do the same work in every run: what differs is the machine)" },
    json: FLAG.json,
    quiet: FLAG.quiet,
  },
  examples: ["townlet bench --agents 1000 --ticks 50", "townlet bench --workers 1,2 --agents 10000 --ticks 20 --quiet", "townlet bench --agents 1000,10000 --policy random --json --quiet", "townlet bench --plugin ./my-mod.ts --agents 1000 --ticks 50", "townlet bench --config examples/mods/thirst/config.yaml --agents 2000 --ticks 20", "townlet bench --agents 10000 --ticks 200 --repeat 3"],
} as const satisfies CommandSpec;

const POLICIES = ["scripted", "random", "neural"];

/** `--tick-csv FILE` with several sizes: FILE-<agents>.csv (the extension kept when FILE has one). */
export function perSizeFile(file: string, agents: number | string): string {
  const m = /^(.*?)(\.[^./\\]+)?$/.exec(file)!;
  return `${m[1]}-${agents}${m[2] ?? ""}`;
}

/** The brief's targets, checked where a run measured them. */
export const GOALS = {
  sim_agent_steps_per_sec_at_100k: 5_000_000,
  neural_end_to_end_agent_steps_per_sec_at_10k: 250_000,
  bytes_per_agent_at_1m: 512,
  major_gcs_in_steady_state: 0,
  tick_p99_over_p50_at_100k: 1.2,
  baseline_ratio_at_100k: 1.5,
};

interface Failure {
  agents: number;
  error: string;
}

export async function cmdBench(argv: string[], out: Out): Promise<number> {
  const { values: v, positionals } = parseCommand(BENCH_SPEC, argv);
  const config = configArg("bench", v.config, positionals);
  const values = { ...v, policy: v.policy ?? "scripted", layout: v.layout ?? "towns", suite: v.suite ?? "sim" };
  const sizes = v.agents ?? [1000, 10000, 100000];
  const { ticks, warmup, seed } = v;
  if (!isLayout(values.layout)) throw new UsageError(`--layout: expected one of ${LAYOUTS.join(", ")}, got "${values.layout}"`);
  const backend = values.backend !== undefined ? parseBackendName(values.backend) : undefined;
  const progress = values.quiet ? () => {} : (l: string) => out.err(l);
  const plugins = v.plugin ?? [];
  if (config !== undefined && (values.layout !== "towns" || values.suite !== "sim")) {
    throw new UsageError(`townlet bench: a config ("${config}") only with --layout towns and --suite sim (the big layout and the policy suite build their own worlds)`);
  }
  if (plugins.length && values.suite !== "sim") throw new UsageError("--plugin: only with --suite sim (the policy suite builds its own worlds)");
  if (v["huge-pages"] === true && (values["in-process"] || v.workers !== undefined || values.suite !== "sim")) throw new UsageError("--huge-pages: sets the environment of the size's child process at its start; not with --in-process, --workers or --suite policy");
  // Loaded here first: a missing plug-in, a bad config or a mod's refusal is one error naming it, before any size runs.
  if (plugins.length || config !== undefined) loadConfig(config ?? (values.layout === "big" ? BIG_TOWN_CONFIG : MANY_TOWNS_CONFIG), await resolvePlugins(corePlugins, config, plugins));

  if (values.suite === "policy") {
    const r = await runPolicySuite({ sections: SECTIONS, agents: sizes.length === 1 ? sizes[0] : 10_000, backends: backend ? [backend] : undefined, log: progress });
    out.log(values.json ? JSON.stringify(r) : formatPolicySuite(r));
    return 0;
  }

  const layout: Layout = values.layout;
  const clock = v.clock === "cpu" ? "cpu" : "wall";
  if (v.workers !== undefined) return benchWorkers(v.workers, sizes, { ...values, ticks, warmup, seed, shards: v.shards, plugins, config, backend }, out, progress);
  if (v.shards !== undefined) throw new UsageError("--shards: only with --workers");
  const repeat = v.repeat ?? 1;
  // Off by default: the bench measures what a plain `townlet run` gets (huge pages were faster at
  // 100k and slower at 1M on this VM, with no clear effect on p99/p50: bench/README.md).
  const childEnv = v["huge-pages"] === true ? hugePagesEnv() : undefined;
  if (repeat > 1 && values["in-process"]) throw new UsageError("--repeat: each run needs a fresh process (a second run in this one would start with the first run's compiled code); leave out --in-process");
  const results: SimResult[] = [];
  const failures: Failure[] = [];
  const repeats: RepeatSummary[] = [];
  for (const agents of sizes) {
    const tickCsv = v["tick-csv"] === undefined ? undefined : sizes.length === 1 ? v["tick-csv"] : perSizeFile(v["tick-csv"], agents);
    progress(`bench: ${agents.toLocaleString("en-US")} agents, layout ${layout}, policy ${values.policy}${values["in-process"] ? " (in this process)" : childEnv ? " (malloc on huge pages)" : ""}`);
    if (values["in-process"]) {
      results.push(await runSim({ agents, layout, ticks, warmup, policy: values.policy, backend, seed, plugins, config, clock, tickCsv, quiet: values.quiet, log: progress }));
      continue;
    }
    // With --repeat every run after the first times the first run's ticks (a time-based default
    // would end elsewhere), so that tick t is the same work in each.
    let runTicks = ticks;
    let runWarmup = warmup;
    const runs: SimResult[] = [];
    for (let k = 0; k < repeat; k++) {
      if (repeat > 1) progress(`bench: ${agents.toLocaleString("en-US")} agents, run ${k + 1} of ${repeat}`);
      const args = ["--agents", String(agents), "--layout", layout, "--policy", values.policy];
      if (runTicks !== undefined) args.push("--ticks", String(runTicks));
      if (runWarmup !== undefined) args.push("--warmup", String(runWarmup));
      if (backend !== undefined) args.push("--backend", backend);
      if (seed !== undefined) args.push("--seed", String(seed));
      for (const p of plugins) args.push("--plugin", p);
      if (config !== undefined) args.push("--config", config);
      if (clock !== "wall") args.push("--clock", clock);
      if (tickCsv !== undefined) args.push("--tick-csv", repeat > 1 ? perSizeFile(tickCsv, `run${k + 1}`) : tickCsv);
      if (repeat > 1) args.push("--tick-times");
      if (values.quiet) args.push("--quiet");
      const r = await runChild<SimResult>(SCRIPTS.sim, args, progress, childEnv);
      if (!r.ok) {
        failures.push({ agents, error: repeat > 1 ? `run ${k + 1}: ${r.error!}` : r.error! });
        out.err(`bench: ${agents} agents${repeat > 1 ? `, run ${k + 1},` : ""} failed after ${r.wall_s.toFixed(1)} s: ${r.error}`);
        continue;
      }
      const { tick_wall_ms: _times, tick_system_ms: _systems, ...rest } = r.value!;
      runs.push(r.value!);
      results.push(rest);
      runTicks ??= rest.ticks;
      runWarmup ??= rest.warmup_ticks;
    }
    if (runs.length > 1) repeats.push(repeatSummary(runs));
  }
  const tensorBackend = results.find((r) => r.tensor_backend !== "none")?.tensor_backend ?? "none";
  const goals = [...checkGoals(results), ...repeatGoals(repeats)];
  if (values.json) {
    out.log(JSON.stringify({ bench: "sim", layout, policy: values.policy, tensor_backend: tensorBackend, results, goals, ...(repeats.length ? { repeats } : {}), ...(failures.length ? { failures } : {}) }));
  } else {
    out.log(formatResults(layout, values.policy, tensorBackend, results));
    for (const f of failures) out.log(`  ${f.agents} agents: FAILED (${f.error})`);
    for (const r of repeats) for (const l of formatRepeat(r)) out.log(l);
    for (const g of goals) out.log(`  goal ${g.goal}: ${g.measured.toLocaleString("en-US")} (target ${g.target.toLocaleString("en-US")}) ${g.met ? "met" : "NOT met"}${g.note ? ` (${g.note})` : ""}${g.periodic ? `; ${g.periodic}` : ""}${g.days ? `; ${g.days}` : ""}`);
  }
  return failures.length ? 2 : 0;
}

/** The brief's target for --workers 2 against 1 on a 2-core machine. */
export const WORKERS_GOAL_SPEEDUP_AT_2 = 1.7;

/** `townlet bench --workers 1,2`: one row per size and worker count, each in its own child process. */
async function benchWorkers(
  counts: readonly number[],
  sizes: readonly number[],
  o: { layout: string; policy: string; backend?: string; ticks?: number; warmup?: number; seed?: number; shards?: number; plugins: readonly string[]; config?: string; json?: boolean; quiet?: boolean; "in-process"?: boolean },
  out: Out,
  progress: (l: string) => void,
): Promise<number> {
  if (o.layout !== "towns") throw new UsageError(`--workers: the ${o.layout} layout is one town, which cannot be split into blocks; use --layout towns`);
  // scripted and random run in each block; neural as one main-thread batch per tick (tools/shard-neural.ts, as townlet run --shards).
  const rows: (WorkersResult & { speedup: number })[] = [];
  const failures: (Failure & { workers: number })[] = [];
  for (const agents of sizes) {
    const towns = Math.max(1, Math.ceil(agents / AGENTS_PER_SMALL_TOWN));
    const shards = o.shards ?? benchShards(towns);
    if (shards > towns) throw new UsageError(`--shards ${shards}: more blocks than the ${towns} towns of ${agents} agents`);
    let base: number | undefined;
    let capNoted = false;
    // Every row of a size runs the first row's warm-up and timed ticks (a time-based warm-up would
    // end at another tick on another thread count), so their final state hashes must be equal.
    let ticks = o.ticks;
    let warmup = o.warmup;
    for (const workers of counts) {
      if (workers > shards && !capNoted) {
        out.err(`bench: --workers ${workers} capped at ${shards}: the world has ${shards} blocks`);
        capNoted = true;
      }
      progress(`bench: ${agents.toLocaleString("en-US")} agents, ${shards} blocks, ${Math.min(workers, shards)} worker(s)`);
      let r: WorkersResult | undefined;
      if (o["in-process"]) r = await runWorkersSim({ agents, workers, shards, ticks, warmup, seed: o.seed, policy: o.policy, backend: o.backend, plugins: o.plugins, config: o.config, quiet: o.quiet, log: progress });
      else {
        const args = ["--agents", String(agents), "--layout", "towns", "--workers", String(workers), "--shards", String(shards), "--policy", o.policy];
        if (o.backend !== undefined) args.push("--backend", o.backend);
        if (ticks !== undefined) args.push("--ticks", String(ticks));
        if (warmup !== undefined) args.push("--warmup", String(warmup));
        if (o.seed !== undefined) args.push("--seed", String(o.seed));
        for (const p of o.plugins) args.push("--plugin", p);
        if (o.config !== undefined) args.push("--config", o.config);
        if (o.quiet) args.push("--quiet");
        const c = await runChild<WorkersResult>(SCRIPTS.sim, args, progress);
        if (c.ok) r = c.value!;
        else {
          failures.push({ agents, workers, error: c.error! });
          out.err(`bench: ${agents} agents on ${workers} worker(s) failed after ${c.wall_s.toFixed(1)} s: ${c.error}`);
        }
      }
      if (!r) continue;
      ticks ??= r.ticks;
      warmup ??= r.warmup_ticks;
      base ??= r.agent_steps_per_sec;
      rows.push({ ...r, speedup: Math.round((r.agent_steps_per_sec / base) * 100) / 100 });
    }
  }
  // The same world whatever the number of threads: a differing hash is a determinism failure.
  const mismatched = [...new Set(rows.map((r) => r.agents))].filter((a) => new Set(rows.filter((r) => r.agents === a).map((r) => r.state_hash)).size > 1);
  for (const a of mismatched) out.err(`bench: ${a} agents: the final state hash differs between worker counts (a determinism failure)`);
  if (o.json) out.log(JSON.stringify({ bench: "workers", layout: "towns", policy: o.policy, results: rows, same_state_hash: mismatched.length === 0, ...(failures.length ? { failures } : {}) }));
  else out.log(formatWorkers(rows, failures, o.policy));
  return failures.length || mismatched.length ? 2 : 0;
}

/** The --workers table: one row per size and worker count. */
export function formatWorkers(rows: readonly (WorkersResult & { speedup: number })[], failures: readonly (Failure & { workers: number })[] = [], policy = "scripted"): string {
  const fmt = (n: number) => n.toLocaleString("en-US");
  const cols: [string, number, (r: WorkersResult & { speedup: number }) => string][] = [
    ["agents", 9, (r) => fmt(r.agents)],
    ["towns", 7, (r) => fmt(r.towns)],
    ["blocks", 6, (r) => String(r.blocks)],
    ["workers", 7, (r) => String(r.workers)],
    ["ticks", 6, (r) => String(r.ticks)],
    ["agent-steps/s", 13, (r) => fmt(r.agent_steps_per_sec)],
    ["ms/tick", 9, (r) => r.ms_per_tick.toFixed(2)],
    ["cpu ms/tick", 11, (r) => r.cpu_ms_per_tick.toFixed(2)],
    ["speed-up", 8, (r) => r.speedup.toFixed(2) + "x"],
    ["load 1m", 7, (r) => r.load_avg_1m.toFixed(2)],
    ["state hash", 16, (r) => r.state_hash],
  ];
  const lines = [`townlet bench --workers: layout towns (8 agents a town), policy ${policy}${policy === "neural" ? " (one batch per tick on the main thread)" : ""}; speed-up against the first worker count of each size`];
  lines.push("  " + cols.map(([h, w]) => h.padStart(w)).join("  "));
  for (const r of rows) lines.push("  " + cols.map(([, w, f]) => f(r).padStart(w)).join("  "));
  for (const f of failures) lines.push(`  ${fmt(f.agents)} agents, ${f.workers} worker(s): FAILED (${f.error})`);
  for (const a of new Set(rows.map((r) => r.agents))) {
    const same = rows.filter((r) => r.agents === a);
    if (same.length > 1) lines.push(`  ${fmt(a)} agents: final state hash ${new Set(same.map((r) => r.state_hash)).size === 1 ? "the same" : "DIFFERS"} on every worker count (${same[0].ticks} timed ticks after ${same[0].warmup_ticks} warm-up)`);
  }
  for (const r of rows) {
    if (r.workers === 2 && rows.some((x) => x.agents === r.agents && x.workers === 1)) {
      lines.push(`  goal --workers 2 >= ${WORKERS_GOAL_SPEEDUP_AT_2}x one at ${fmt(r.agents)} agents: ${r.speedup.toFixed(2)}x ${r.speedup >= WORKERS_GOAL_SPEEDUP_AT_2 ? "met" : "NOT met"}`);
    }
  }
  return lines.join("\n");
}

interface GoalCheck {
  goal: string;
  agents: number;
  measured: number;
  target: number;
  met: boolean;
  /** Why this run's figure is weak evidence for the goal (a window shorter than the goal's). */
  note?: string;
  /** The tick-latency goal's "no periodic spikes": the ticks of the day whose median over the days timed is over the limit. */
  periodic?: string;
  /** The tick-latency goal's drift from day to day: the whole days' medians' spread and the p99 over each tick's own day's median. */
  days?: string;
}

/** The goals a run's sizes speak to (sizes within 10% of the goal's). */
export function checkGoals(results: readonly SimResult[]): GoalCheck[] {
  const near = (n: number, target: number) => Math.abs(n - target) <= target * 0.1;
  const out: GoalCheck[] = [];
  for (const r of results) {
    if (r.policy === "scripted" && near(r.agents, 100_000)) {
      const t = GOALS.sim_agent_steps_per_sec_at_100k;
      out.push({ goal: `sim-only agent-steps/s at 100k (${r.layout})`, agents: r.agents, measured: r.agent_steps_per_sec, target: t, met: r.agent_steps_per_sec >= t });
      const j = GOALS.tick_p99_over_p50_at_100k;
      const day = r.ticks_per_day ?? 0;
      const short = day > 0 && r.ticks < day ? { note: `${r.ticks} ticks are less than a simulated day (${day}): the p99 is the few slowest ticks of part of a day (one-time JIT and first-use ticks early in a run); measure over 10,000 ticks` } : {};
      const d = r.daily_profile;
      const periodic = d ? { periodic: `${d.over_limit_count} tick${d.over_limit_count === 1 ? "" : "s"} of the day over ${d.limit}x p50 by their median over ${d.days} days${d.over_limit_count ? ` (${d.over_limit.slice(0, 4).map((t) => `${t.tick_of_day}: ${t.over_p50}x`).join(", ")})` : ""}` } : {};
      const dd = r.day_drift;
      const days = dd ? { days: `${dd.whole_days} whole days' median ticks spread ${dd.spread}x; p99 over each tick's own day's median ${dd.p99_over_day_median}` } : {};
      out.push({ goal: `tick p99 / p50 at 100k over ${r.ticks} ticks`, agents: r.agents, measured: r.p99_over_p50, target: j, met: r.p99_over_p50 <= j, ...short, ...periodic, ...days });
      const b = GOALS.baseline_ratio_at_100k;
      out.push({ goal: "needs/decay over a bare typed-array loop (baseline_ratio) at 100k", agents: r.agents, measured: r.baseline_ratio, target: b, met: r.baseline_ratio <= b });
    }
    if (r.policy === "neural" && near(r.agents, 10_000)) {
      const t = GOALS.neural_end_to_end_agent_steps_per_sec_at_10k;
      out.push({ goal: "end-to-end neural agent-steps/s at 10k", agents: r.agents, measured: r.agent_steps_per_sec, target: t, met: r.agent_steps_per_sec >= t });
    }
    if (near(r.agents, 1_000_000)) {
      const t = GOALS.bytes_per_agent_at_1m;
      out.push({ goal: "bytes of engine state per agent at 1M", agents: r.agents, measured: r.bytes_per_agent, target: t, met: r.bytes_per_agent <= t });
    }
    if (r.agents >= 10_000) {
      const at = (r.major_gc_list ?? []).map((g) => g.tick);
      const few = r.ticks < 10_000 ? { note: `the goal is 0 per 10,000 ticks; this run timed ${r.ticks}` } : {};
      out.push({ goal: `major GCs in ${r.ticks} ticks at ${r.agents}${at.length ? ` (at ticks ${at.join(", ")})` : ""}`, agents: r.agents, measured: r.major_gcs, target: 0, met: r.major_gcs === 0, ...few });
    }
  }
  return out;
}

/**
 * The tick-latency goal on the per-tick median of --repeat's runs at 100k: the tick's own work with
 * one run's interference left out. Every run's own figure is a goal row of checkGoals beside it.
 */
export function repeatGoals(repeats: readonly RepeatSummary[]): GoalCheck[] {
  const j = GOALS.tick_p99_over_p50_at_100k;
  return repeats
    .filter((r) => Math.abs(r.agents - 100_000) <= 10_000)
    .map((r) => ({
      goal: `tick p99 / p50 at 100k over ${r.ticks} ticks, per-tick median of ${r.runs} runs`,
      agents: r.agents,
      measured: r.tick_median.p99_over_p50,
      target: j,
      met: r.same_state_hash && r.tick_median.p99_over_p50 <= j,
      note: r.same_state_hash
        ? `each run alone: ${r.per_run.map((p) => p.p99_over_p50).join(", ")}; the machine alone, p99 of each run's ticks over the per-tick median (the same work): ${r.per_run.map((p) => p.over_tick_median_p99).join(", ")}`
        : "the runs ended in different state hashes: their ticks did not do the same work",
      ...(r.tick_median_daily ? { periodic: `${r.tick_median_daily.over_limit_count} tick${r.tick_median_daily.over_limit_count === 1 ? "" : "s"} of the day over ${r.tick_median_daily.limit}x p50 by the per-tick median's median over ${r.tick_median_daily.days} days` } : {}),
      ...(r.tick_median_days ? { days: `the per-tick median's ${r.tick_median_days.whole_days} whole days' median ticks spread ${r.tick_median_days.spread}x; its p99 over each tick's own day's median ${r.tick_median_days.p99_over_day_median}` } : {}),
    }));
}

/** The results table and the per-system table (ms per tick, one column per size). */
export function formatResults(layout: string, policy: string, tensorBackend: string, results: readonly SimResult[]): string {
  const fmt = (n: number) => n.toLocaleString("en-US");
  const cols: [string, number, (r: SimResult) => string][] = [
    ["agents", 9, (r) => fmt(r.agents)],
    ["towns", 7, (r) => fmt(r.towns)],
    ["ticks", 6, (r) => String(r.ticks)],
    ["agent-steps/s", 13, (r) => fmt(r.agent_steps_per_sec)],
    ["ms/tick", 9, (r) => r.ms_per_tick.toFixed(3)],
    ["p50 ms", 8, (r) => r.tick_ms_p50.toFixed(2)],
    ["p99 ms", 8, (r) => r.tick_ms_p99.toFixed(2)],
    ["cpu ms/tick", 11, (r) => r.cpu_ms_per_tick.toFixed(3)],
    ["B/agent", 8, (r) => fmt(r.bytes_per_agent)],
    ["col B/agent", 11, (r) => fmt(r.column_bytes_per_agent)],
    ["B/agent ticked", 14, (r) => fmt(r.ticked_bytes_per_agent)],
    ["major GC", 8, (r) => String(r.major_gcs)],
    ["minor GC", 8, (r) => String(r.minor_gcs)],
    ["baseline", 8, (r) => r.baseline_ratio.toFixed(2)],
    ["build s", 7, (r) => r.build_s.toFixed(1)],
  ];
  const lines = [`townlet bench: layout ${layout}, policy ${policy}, tensor backend ${tensorBackend}`];
  lines.push("  " + cols.map(([h, w]) => h.padStart(w)).join("  "));
  for (const r of results) lines.push("  " + cols.map(([, w, f]) => f(r).padStart(w)).join("  "));
  if (results.length) {
    lines.push("  baseline = needs/decay ms per tick over a bare Float32Array loop doing the same arithmetic");
    lines.push("  system times, ms per tick:");
    lines.push("    " + "system".padEnd(26) + results.map((r) => fmt(r.agents).padStart(11)).join(""));
    for (const name of Object.keys(results[0].system_ms)) {
      lines.push("    " + name.padEnd(26) + results.map((r) => (r.system_ms[name] ?? 0).toFixed(3).padStart(11)).join(""));
    }
    for (const r of results) {
      if (!r.major_gc_list?.length) continue;
      const each = r.major_gc_list.map((g) => `tick ${g.tick} (heap ${g.heap_used_change_mb >= 0 ? "+" : ""}${g.heap_used_change_mb} MB, external ${g.external_change_mb >= 0 ? "+" : ""}${g.external_change_mb} MB before it)`);
      lines.push(`  major GCs at ${fmt(r.agents)}: ${each.join("; ")}`);
    }
    for (const r of results) if (r.daily_profile) lines.push(`  ${fmt(r.agents)} agents, ${formatDailyProfile(r.daily_profile)}`);
    for (const r of results) if (r.day_drift) lines.push(`  ${fmt(r.agents)} agents, ${formatDayDrift(r.day_drift)}`);
  }
  return lines.join("\n");
}
