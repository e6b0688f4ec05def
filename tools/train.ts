// `townlet train`: parses the command line into TrainSettings (training/trainer.ts), shows a
// progress bar per stage (SPS and the recent reward), and prints the summary: where the log,
// checkpoints and chart went, and PPO, BC, scripted and random on the same evaluation seeds.
import path from "node:path";
import { parseBackendName } from "../engine/tensor.ts";
import { createProgress, type Progress } from "./progress.ts";
import type { TrainSettings, TrainSummary } from "../training/trainer.ts";
import { formatEvalTable } from "../training/evaluate.ts";
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { DEFAULT_WATCHDOG_SECONDS } from "../engine/watchdog.ts";
import { FLAG, UsageError, configArg, parseCommand, threadsLine, type CommandSpec } from "./args.ts";
import type { PpoHyperparameters } from "../training/ppo.ts";


interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const TRAIN_SPEC = {
  name: "train",
  summary: "PPO after behaviour cloning of the scripted controller, with a log, checkpoints, a learning curve and an evaluation",
  details: `--set changes the config for training and evaluation (e.g. --set ppo.entropy_coef=0.001); --train-set changes the
training world only (default: rewards.clip.clip_per_episode=200, see DEFAULT_TRAIN_OVERRIDES in tools/train.ts);
evaluation always uses the config as it is. --quick is a tiny run for smoke tests (seconds, not minutes).`,
  positionals: { name: "CONFIG", min: 0, max: 1, help: "the config file (default configs/default.yaml); same as --config" },
  flags: {
    config: FLAG.config,
    out: { kind: "string", arg: "DIR", default: "runs/train", help: "where the log, checkpoints and chart go" },
    seed: { ...FLAG.seed, default: 7, help: "the training seed" },
    towns: { ...FLAG.towns, help: "towns in the training world (default 16; --quick 2)" },
    updates: { kind: "int", min: 1, help: "PPO updates (default 40; --quick 3)" },
    "rollout-ticks": { kind: "int", min: 1, help: "ticks per rollout (default 250; --quick 30)" },
    "episode-ticks": { kind: "int", min: 1, help: "ticks per episode (default 1000; --quick 50)" },
    hidden: { kind: "ints", min: 1, arg: "N,N", help: "hidden layer sizes (default 128,128; --quick 16)" },
    "bc-ticks": { kind: "int", min: 0, help: "ticks of scripted play recorded for behaviour cloning; 0 skips it (default 2000; --quick 60)" },
    "bc-epochs": { kind: "int", min: 1, help: "behaviour-cloning epochs (default: the config's training.bc.epochs)" },
    dataset: { kind: "string", arg: "DIR", help: "a recorded dataset to clone from (recorded there when absent)" },
    dagger: { kind: "int", min: 0, help: "DAgger rollouts after cloning (default 20; --quick 1)" },
    "dagger-epochs": { kind: "int", min: 1, default: 1, help: "epochs per DAgger rollout" },
    "dagger-pool": { kind: "int", min: 1, arg: "ROWS", default: 100000, help: "labelled states kept for DAgger and PPO's replay" },
    "replay-rows": { kind: "int", min: 0, arg: "ROWS", help: "rows of each DAgger / mixed replay epoch, a random subset of the pool; 0 = all (default 16384)" },
    "anneal-start": { kind: "number", min: 0, max: 1, arg: "R", help: "scripted share of decisions at the start of PPO (default 0.5 after cloning)" },
    "anneal-updates": { kind: "int", min: 0, help: "updates over which that share falls to 0 (default updates/5)" },
    mode: { kind: "string", choices: ["rollout", "mixed"], default: "mixed", help: "PPO on rollouts only, or also on the label pool" },
    "eval-seeds": { kind: "ints", min: 0, help: "evaluation seeds (default 101,...,105; --quick 101)" },
    "eval-ticks": { kind: "int", min: 1, help: "ticks per evaluation (default 1000; --quick 40)" },
    "eval-towns": { kind: "int", min: 1, help: "towns per evaluation seed (default 16; --quick 1)" },
    "no-eval": { kind: "boolean", help: "skip the evaluation" },
    "log-version": { kind: "string", choices: ["1.0", "1.1"], default: "1.1", help: "NDJSON epoch log version" },
    "max-log-entries": { kind: "int", min: 1, help: "rotate the log after N entries" },
    "checkpoint-every": { kind: "int", min: 0, help: "checkpoint every N updates; 0 only at the end (default 25; --quick 0)" },
    resume: { kind: "string", arg: "DIR", help: "resume from a checkpoint folder" },
    lr: { kind: "number", min: 1e-8, max: 1, help: "learning rate" },
    "entropy-coef": { kind: "number", min: 0, max: 10, help: "entropy bonus coefficient" },
    epochs: { kind: "int", min: 1, help: "PPO epochs per update (default 4)" },
    minibatches: { kind: "int", min: 1, help: "minibatches per epoch (default 4)" },
    backend: { kind: "string", arg: "NAME", help: "tensor backend (webgpu, cuda, native, wasm, cpu; default: the first that works, webgpu only on a GPU)" },
    set: { kind: "string", arg: "KEY=VALUE", multiple: true, help: "change the config for training and evaluation" },
    "train-set": { kind: "string", arg: "KEY=VALUE|none", multiple: true, help: "change the training world only" },
    "alive-bonus": { kind: "number", min: 0, max: 10, default: 0.2, help: "reward per live agent per tick in PPO's rewards" },
    shards: FLAG.shards,
    workers: FLAG.workers,
    watchdog: FLAG.watchdog,
    quick: { kind: "boolean", help: "a tiny run for smoke tests" },
    plugin: FLAG.plugin,
    json: FLAG.json,
    quiet: FLAG.quiet,
  },
  examples: ["townlet train --quick --out runs/quick", "townlet train configs/default.yaml --updates 80 --towns 32", "townlet train --quick --towns 4 --shards 4 --workers 2 --out runs/quick-sharded"],
} as const satisfies CommandSpec;

/** The command line as settings. `--quick` is a tiny run for smoke tests (seconds, not minutes). */
export function parseTrainArgs(argv: string[]): { settings: TrainSettings; json: boolean; quiet: boolean; plugins: string[] } {
  const { values: v, positionals } = parseCommand(TRAIN_SPEC, argv);
  const config = configArg("train", v.config, positionals) ?? DEFAULT_CONFIG_FILE;
  const quick = v.quick === true;
  const mode = v.mode ?? "mixed";
  const logVersion = v["log-version"] ?? "1.1";
  const bcTicks = v["bc-ticks"] ?? (quick ? 60 : 2000);
  // Default: the config's training.bc.epochs.
  const bcEpochs = v["bc-epochs"] ?? (quick ? 2 : undefined);
  const updates = v.updates ?? (quick ? 3 : 40);
  const hp: Partial<PpoHyperparameters> = {};
  if (v.lr !== undefined) hp.learningRate = v.lr;
  if (v["entropy-coef"] !== undefined) hp.entropyCoef = v["entropy-coef"];
  if (v.epochs !== undefined) hp.numEpochs = v.epochs;
  if (v.minibatches !== undefined) hp.numMiniBatches = v.minibatches;
  let backend: TrainSettings["backend"];
  if (v.backend !== undefined) {
    try {
      backend = parseBackendName(v.backend);
    } catch (e) {
      throw new UsageError(`--backend: ${(e as Error).message}`);
    }
  }
  const settings: TrainSettings = {
    config: path.resolve(config),
    overrides: v.set === undefined ? undefined : parseSets(v.set, "set"),
    aliveBonus: v["alive-bonus"] ?? DEFAULT_ALIVE_BONUS,
    trainOverrides: v["train-set"] === undefined ? { ...DEFAULT_TRAIN_OVERRIDES } : parseSets(v["train-set"]),
    out: path.resolve(v.out ?? path.join("runs", "train")),
    seed: v.seed ?? 7,
    towns: v.towns ?? (quick ? 2 : 16),
    hidden: v.hidden ?? (quick ? [16] : [128, 128]),
    updates,
    rolloutTicks: v["rollout-ticks"] ?? (quick ? 30 : 250),
    episodeTicks: v["episode-ticks"] ?? (quick ? 50 : 1000),
    mode,
    bc: bcTicks > 0 ? { recordTicks: bcTicks, epochs: bcEpochs } : null,
    dataset: v.dataset ? path.resolve(v.dataset) : undefined,
    dagger: {
      iterations: v.dagger ?? (quick ? 1 : 20),
      epochs: v["dagger-epochs"] ?? 1,
      poolRows: v["dagger-pool"] ?? 100_000,
    },
    replayRows: v["replay-rows"] ?? DEFAULT_REPLAY_ROWS,
    anneal: {
      startRatio: v["anneal-start"] ?? (bcTicks > 0 ? 0.5 : 0),
      updates: v["anneal-updates"] ?? (bcTicks > 0 ? Math.max(1, Math.floor(updates / 5)) : 0),
    },
    eval: v["no-eval"] ? null : { seeds: v["eval-seeds"] ?? (quick ? [101] : [101, 102, 103, 104, 105]), ticks: v["eval-ticks"] ?? (quick ? 40 : 1000), towns: v["eval-towns"] ?? (quick ? 1 : 16) },
    logVersion,
    maxLogEntries: v["max-log-entries"] ?? null,
    checkpointEvery: v["checkpoint-every"] ?? (quick ? 0 : 25),
    resume: v.resume ? path.resolve(v.resume) : undefined,
    backend,
    hp,
    shards: v.shards,
    workers: v.workers,
    watchdogSeconds: v.watchdog,
  };
  if (settings.dataset && settings.bc === null) settings.bc = { recordTicks: 0, epochs: bcEpochs };
  return { settings, json: v.json === true, quiet: v.quiet === true, plugins: v.plugin ?? [] };
}

/**
 * What the training world changes by default. The per-episode reward clip (±50) is an operator's
 * guardrail: once an agent's summed reward reaches −50, every later tick gives 0 whatever it does,
 * which leaves PPO nothing to learn from for most of an episode. Training lifts it to the schema's
 * maximum; evaluation keeps the config's, so the returns compare with scripted and random.
 */
export const DEFAULT_TRAIN_OVERRIDES: Readonly<Record<string, unknown>> = { "rewards.clip.clip_per_episode": 200 };

/**
 * Rows of each DAgger and mixed-mode replay epoch (a random subset of the pool; 0 = all). A full
 * epoch over the 100,000-row pool after every PPO update cost four times the update itself.
 */
export const DEFAULT_REPLAY_ROWS = 16_384;

/**
 * The trainer's alive bonus (reward per live agent per tick, PPO's rewards only). The town's
 * rewards are mostly penalties (needs deficits, clipped at −0.2 a tick) and leaving costs −1 or
 * −2: without a bonus, fainting early is the cheapest way out and PPO finds it. A bonus as large
 * as the per-tick clip makes every tick alive worth at least 0.
 */
export const DEFAULT_ALIVE_BONUS = 0.2;

/** `--train-set KEY=VALUE` (repeatable; `--train-set none` for no change): values parsed as YAML scalars would be. */
function parseSets(items: string[], flag = "train-set"): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    if (item === "none") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag}: expected KEY=VALUE (e.g. ppo.entropy_coef=0.001)${flag === "train-set" ? " or none" : ""}, got "${item}"`);
    const key = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    const n = Number(raw);
    out[key] = raw === "true" ? true : raw === "false" ? false : raw !== "" && Number.isFinite(n) ? n : raw;
  }
  return out;
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

export async function cmdTrain(argv: string[], out: Out): Promise<number> {
  const { settings, json, quiet, plugins } = parseTrainArgs(argv);
  const { corePlugins } = await import("../systems/index.ts");
  settings.plugins = await resolvePlugins(corePlugins, settings.config, plugins);
  settings.pluginSpecs = plugins;
  let bar: Progress | undefined;
  settings.onStage = (stage, total) => {
    bar?.stop();
    const label = { record: "recording scripted play (ticks)", bc: "behaviour cloning (epochs)", dagger: "DAgger (rollouts labelled by the scripted controller)", ppo: "PPO (updates)", eval: "evaluating (policies)" }[stage] ?? stage;
    bar = createProgress(label, total, { quiet });
  };
  settings.onCycle = (c) => {
    const extra =
      c.stage === "bc"
        ? `accuracy ${(100 * (c.accuracy ?? 0)).toFixed(1)}% | ${fmtRate(c.sps)} samples/s`
        : c.stage === "dagger"
        ? `accuracy ${(100 * (c.accuracy ?? 0)).toFixed(1)}% | reward/1k ticks ${c.rewardPer1k.toFixed(2)} | exits/agent-day ${c.exitsPerAgentDay.toFixed(3)}`
        : `${fmtRate(c.sps)} agent-steps/s | reward/1k ticks ${c.rewardPer1k.toFixed(2)} | exits/agent-day ${c.exitsPerAgentDay.toFixed(3)}`;
    bar?.update(c.done, extra);
  };
  await checkShards(settings, out, quiet);
  const { train } = await import("../training/trainer.ts");
  // Worlds ticking on this thread (a one-block training world, evaluation): a system that never
  // returns ends the process naming it (engine/tick-watchdog.ts); a sharded world's workers have their own watch.
  const { startTickWatchdog } = await import("../engine/tick-watchdog.ts");
  const watch = startTickWatchdog(settings.watchdogSeconds ?? DEFAULT_WATCHDOG_SECONDS);
  if (watch.note && !quiet) out.err(`townlet train: ${watch.note}`);
  let summary: TrainSummary;
  try {
    summary = await train(settings);
  } finally {
    watch.stop();
  }
  bar?.stop();
  if (json) out.log(JSON.stringify(summary, null, 2));
  else out.log(formatSummary(summary));
  return 0;
}

/** The closing summary: what was trained, how fast, where it went, and how it compares. */
export function formatSummary(s: TrainSummary): string {
  const rel = (p: string | null) => (p ? path.relative(process.cwd(), p) || p : "-");
  const lines = [
    `townlet train: ${s.config_id} (${s.observation_variant}), ${s.parameters.toLocaleString("en-US")} parameters, backend ${s.backend} on ${s.tensor_device}`,
    `  ${s.updates} PPO updates, ${s.agent_steps.toLocaleString("en-US")} agent-steps, ${s.decisions.toLocaleString("en-US")} decisions in ${s.wall_sec.toFixed(1)} s (${fmtRate(s.train_sps)} training agent-steps/s)`,
  ];
  if (s.shards) lines.push(`  training world: ${s.shards.blocks} blocks of towns on ${s.shards.workers} thread(s), one policy batch per tick over every block`);
  if (s.stages.length > 0) {
    const part = (t: TrainSummary["stages"][number]) =>
      `${t.stage} ${t.sec.toFixed(1)} s` +
      (t.agent_steps > 0 ? ` ${fmtRate(t.agent_steps_per_sec)} agent-steps/s` : "") +
      (t.samples > 0 ? ` ${fmtRate(t.samples_per_sec)} rows/s` : "");
    lines.push(`  stages: ${s.stages.map(part).join("; ")}`);
  }
  if (s.bc) {
    const dagger = s.bc.dagger_iterations > 0 ? `, then ${s.bc.dagger_iterations} DAgger rollouts adding ${s.bc.dagger_rows.toLocaleString("en-US")} labelled states` : "";
    lines.push(`  behaviour cloning: ${s.bc.samples.toLocaleString("en-US")} scripted decisions, ${s.bc.epochs} epochs${dagger}, accuracy ${(100 * s.bc.accuracy).toFixed(1)}% (dataset ${rel(s.bc.dataset)})`);
  }
  lines.push(`  log ${rel(s.log)}; checkpoints ${rel(s.checkpoints.final)}${s.checkpoints.bc ? `, ${rel(s.checkpoints.bc)}` : ""}; chart ${rel(s.chart)}`);
  lines.push(`  policy hash ${s.policy_hash}`);
  const sets = Object.entries(s.train_overrides);
  if (sets.length || s.alive_bonus) {
    const what = [...sets.map(([k, x]) => `${k}=${String(x)}`), ...(s.alive_bonus ? [`alive bonus ${s.alive_bonus} per agent-tick in PPO's rewards`] : [])];
    lines.push(`  training reward: ${what.join(", ")} (evaluation used the config as it is)`);
  }
  if (s.evaluation.length > 0) {
    const e = s.evaluation[0];
    const w = s.evaluation_world;
    const where = w && w.blocks > 1 ? `, ${w.towns} towns in ${w.blocks} blocks on ${w.workers} thread${w.workers === 1 ? "" : "s"}` : "";
    lines.push(`evaluation: seeds ${e.seeds.join(", ")}, ${e.ticks} ticks, ${e.agents / Math.max(1, e.seeds.length)} agents per seed${where} (return = each starting agent's reward until it left or the episode ended)`);
    lines.push(
      formatEvalTable(s.evaluation)
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
  }
  return lines.join("\n");
}

/**
 * --shards / --workers against the training world: blocks that cannot split the towns are a usage
 * error; workers beyond the blocks (or on a one-block world) are capped, with a note.
 */
async function checkShards(settings: TrainSettings, out: Out, quiet: boolean): Promise<void> {
  const { loadBuildConfig } = await import("../engine/build.ts");
  const { planBlocks, shardsOf, ShardPlanError } = await import("../engine/shard-blocks.ts");
  const build = { seed: settings.seed, towns: settings.towns, shards: settings.shards, overrides: { ...settings.overrides, ...settings.trainOverrides } };
  const s = loadBuildConfig(settings.config, settings.plugins ?? [], build).settings;
  const blocks = shardsOf(s);
  try {
    planBlocks(s.world.towns, blocks, s.seed);
  } catch (e) {
    if (e instanceof ShardPlanError) throw new UsageError(`townlet train: ${e.message}`);
    throw e;
  }
  const w = settings.workers;
  if (w !== undefined && w > blocks && !quiet) {
    out.err(
      blocks === 1
        ? `townlet train: --workers ${w} capped at 1: this training world is one block (set world.shards or --shards to split its towns)`
        : `townlet train: --workers ${w} capped at ${blocks}: the training world has ${blocks} blocks (world.shards)`,
    );
  }
  // The default count (the same function the rollout uses), said once before training starts.
  if (w === undefined && blocks > 1 && !quiet) {
    const { defaultWorkers } = await import("../engine/shards.ts");
    out.err(`townlet train: ${threadsLine(blocks, defaultWorkers(blocks), true)}`);
  }
}
