// `townlet train`: parses the command line into TrainSettings (training/trainer.ts), shows a
// progress bar per stage (SPS and the recent reward), and prints the summary: where the log,
// checkpoints and chart went, and PPO, BC, scripted and random on the same evaluation seeds.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseBackendName } from "../engine/tensor.ts";
import { createProgress, type Progress } from "./progress.ts";
import { train, type TrainSettings, type TrainSummary } from "../training/trainer.ts";
import { formatEvalTable } from "../training/evaluate.ts";
import type { PpoHyperparameters } from "../training/ppo.ts";

const DEFAULT_CONFIG = fileURLToPath(new URL("../configs/default.yaml", import.meta.url));

/** A mistake on the command line (exit 1); named like the CLI's own so it is treated the same. */
class TrainUsageError extends Error {
  override name = "UsageError";
}

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const TRAIN_USAGE = `townlet train [--config FILE] [--out DIR] [--seed N] [--towns N] [--updates N]
  [--rollout-ticks N] [--episode-ticks N] [--hidden 128,128] [--bc-ticks N] [--bc-epochs N]
  [--dataset DIR] [--dagger N] [--dagger-epochs N] [--dagger-pool ROWS]
  [--anneal-start R --anneal-updates N] [--mode rollout|mixed]
  [--eval-seeds 101,...,105] [--eval-ticks N] [--eval-towns N] [--no-eval]
  [--log-version 1.0|1.1] [--max-log-entries N] [--checkpoint-every N] [--resume DIR]
  [--lr X] [--entropy-coef X] [--epochs N] [--minibatches N] [--backend B]
  [--set KEY=VALUE ...] [--train-set KEY=VALUE ...|none] [--alive-bonus X] [--quick] [--json] [--quiet]
--set changes the config for training and evaluation (e.g. --set ppo.entropy_coef=0.001);
--train-set changes the training world only (default: rewards.clip.clip_per_episode=200, see
DEFAULT_TRAIN_OVERRIDES in tools/train.ts); evaluation always uses the config as it is.`;

function int(name: string, v: string | undefined, min: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new TrainUsageError(`--${name}: expected an integer >= ${min}, got "${v}"`);
  return Number(v);
}

function num(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < lo || n > hi) throw new TrainUsageError(`--${name}: expected a number in [${lo}, ${hi}], got "${v}"`);
  return n;
}

function ints(name: string, v: string, min: number): number[] {
  const parts = v.split(",").map((x) => x.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < min)) {
    throw new TrainUsageError(`--${name}: expected comma-separated integers >= ${min}, got "${v}"`);
  }
  return parts.map(Number);
}

/** The command line as settings. `--quick` is a tiny run for smoke tests (seconds, not minutes). */
export function parseTrainArgs(argv: string[]): { settings: TrainSettings; json: boolean; quiet: boolean } {
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string" },
        out: { type: "string" },
        seed: { type: "string" },
        towns: { type: "string" },
        updates: { type: "string" },
        "rollout-ticks": { type: "string" },
        "episode-ticks": { type: "string" },
        hidden: { type: "string" },
        "bc-ticks": { type: "string" },
        "bc-epochs": { type: "string" },
        dataset: { type: "string" },
        dagger: { type: "string" },
        "dagger-epochs": { type: "string" },
        "dagger-pool": { type: "string" },
        "anneal-start": { type: "string" },
        "anneal-updates": { type: "string" },
        mode: { type: "string" },
        "eval-seeds": { type: "string" },
        "eval-ticks": { type: "string" },
        "eval-towns": { type: "string" },
        "no-eval": { type: "boolean" },
        "log-version": { type: "string" },
        "max-log-entries": { type: "string" },
        "checkpoint-every": { type: "string" },
        resume: { type: "string" },
        lr: { type: "string" },
        "entropy-coef": { type: "string" },
        epochs: { type: "string" },
        minibatches: { type: "string" },
        backend: { type: "string" },
        quick: { type: "boolean" },
        "train-set": { type: "string", multiple: true },
        set: { type: "string", multiple: true },
        "alive-bonus": { type: "string" },
        json: { type: "boolean" },
        quiet: { type: "boolean" },
      },
    }));
  } catch (e) {
    throw new TrainUsageError(`${(e as Error).message}\nusage: ${TRAIN_USAGE}`);
  }
  if (positionals.length) throw new TrainUsageError(`townlet train: unexpected argument "${positionals[0]}" (the config goes after --config)\nusage: ${TRAIN_USAGE}`);
  const v = values as Record<string, string | undefined>;
  const trainSet = values["train-set"] as string[] | undefined;
  const sets = values.set as string[] | undefined;
  const quick = values.quick === true;
  const mode = v.mode ?? "mixed";
  if (mode !== "rollout" && mode !== "mixed") throw new TrainUsageError(`--mode: expected rollout or mixed, got "${mode}"`);
  const logVersion = v["log-version"] ?? "1.1";
  if (logVersion !== "1.0" && logVersion !== "1.1") throw new TrainUsageError(`--log-version: expected 1.0 or 1.1, got "${logVersion}"`);
  const bcTicks = int("bc-ticks", v["bc-ticks"], 0, quick ? 60 : 2000);
  // Default: the config's training.bc.epochs.
  const bcEpochs = v["bc-epochs"] === undefined ? (quick ? 2 : undefined) : int("bc-epochs", v["bc-epochs"], 1, 1);
  const evalTicks = int("eval-ticks", v["eval-ticks"], 1, quick ? 40 : 1000);
  const updates = int("updates", v.updates, 1, quick ? 3 : 40);
  const hp: Partial<PpoHyperparameters> = {};
  const lr = num("lr", v.lr, 1e-8, 1);
  if (lr !== undefined) hp.learningRate = lr;
  const ent = num("entropy-coef", v["entropy-coef"], 0, 10);
  if (ent !== undefined) hp.entropyCoef = ent;
  if (v.epochs !== undefined) hp.numEpochs = int("epochs", v.epochs, 1, 4);
  if (v.minibatches !== undefined) hp.numMiniBatches = int("minibatches", v.minibatches, 1, 4);
  const maxLog = v["max-log-entries"] === undefined ? null : int("max-log-entries", v["max-log-entries"], 1, 0);
  let backend: TrainSettings["backend"];
  if (v.backend !== undefined) {
    try {
      backend = parseBackendName(v.backend);
    } catch (e) {
      throw new TrainUsageError(`--backend: ${(e as Error).message}`);
    }
  }
  const settings: TrainSettings = {
    config: path.resolve(v.config ?? DEFAULT_CONFIG),
    overrides: sets === undefined ? undefined : parseSets(sets, "set"),
    aliveBonus: num("alive-bonus", v["alive-bonus"], 0, 10) ?? DEFAULT_ALIVE_BONUS,
    trainOverrides: trainSet === undefined ? { ...DEFAULT_TRAIN_OVERRIDES } : parseSets(trainSet),
    out: path.resolve(v.out ?? path.join("runs", "train")),
    seed: int("seed", v.seed, 0, 7),
    towns: int("towns", v.towns, 1, quick ? 2 : 16),
    hidden: v.hidden ? ints("hidden", v.hidden, 1) : quick ? [16] : [128, 128],
    updates,
    rolloutTicks: int("rollout-ticks", v["rollout-ticks"], 1, quick ? 30 : 250),
    episodeTicks: int("episode-ticks", v["episode-ticks"], 1, quick ? 50 : 1000),
    mode,
    bc: bcTicks > 0 ? { recordTicks: bcTicks, epochs: bcEpochs } : null,
    dataset: v.dataset ? path.resolve(v.dataset) : undefined,
    dagger: {
      iterations: int("dagger", v.dagger, 0, quick ? 1 : 20),
      epochs: int("dagger-epochs", v["dagger-epochs"], 1, 1),
      poolRows: int("dagger-pool", v["dagger-pool"], 1, 100_000),
    },
    anneal: {
      startRatio: num("anneal-start", v["anneal-start"], 0, 1) ?? (bcTicks > 0 ? 0.5 : 0),
      updates: int("anneal-updates", v["anneal-updates"], 0, bcTicks > 0 ? Math.max(1, Math.floor(updates / 5)) : 0),
    },
    eval: values["no-eval"] ? null : { seeds: v["eval-seeds"] ? ints("eval-seeds", v["eval-seeds"], 0) : quick ? [101] : [101, 102, 103, 104, 105], ticks: evalTicks, towns: int("eval-towns", v["eval-towns"], 1, quick ? 1 : 16) },
    logVersion,
    maxLogEntries: maxLog,
    checkpointEvery: int("checkpoint-every", v["checkpoint-every"], 0, quick ? 0 : 25),
    resume: v.resume ? path.resolve(v.resume) : undefined,
    backend,
    hp,
  };
  if (settings.dataset && settings.bc === null) settings.bc = { recordTicks: 0, epochs: bcEpochs };
  return { settings, json: values.json === true, quiet: values.quiet === true };
}

/**
 * What the training world changes by default. The per-episode reward clip (±50) is an operator's
 * guardrail: once an agent's summed reward reaches −50, every later tick gives 0 whatever it does,
 * which leaves PPO nothing to learn from for most of an episode. Training lifts it to the schema's
 * maximum; evaluation keeps the config's, so the returns compare with scripted and random.
 */
export const DEFAULT_TRAIN_OVERRIDES: Readonly<Record<string, unknown>> = { "rewards.clip.clip_per_episode": 200 };

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
    if (eq <= 0) throw new TrainUsageError(`--${flag}: expected KEY=VALUE (e.g. ppo.entropy_coef=0.001)${flag === "train-set" ? " or none" : ""}, got "${item}"`);
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
  if (argv.includes("--help") || argv.includes("-h")) {
    out.log(`usage: ${TRAIN_USAGE}`);
    return 0;
  }
  const { settings, json, quiet } = parseTrainArgs(argv);
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
  const summary = await train(settings);
  bar?.stop();
  if (json) out.log(JSON.stringify(summary, null, 2));
  else out.log(formatSummary(summary));
  return 0;
}

/** The closing summary: what was trained, how fast, where it went, and how it compares. */
export function formatSummary(s: TrainSummary): string {
  const rel = (p: string | null) => (p ? path.relative(process.cwd(), p) || p : "-");
  const lines = [
    `townlet train: ${s.config_id} (${s.observation_variant}), ${s.parameters.toLocaleString("en-US")} parameters, backend ${s.backend}`,
    `  ${s.updates} PPO updates, ${s.agent_steps.toLocaleString("en-US")} agent-steps, ${s.decisions.toLocaleString("en-US")} decisions in ${s.wall_sec.toFixed(1)} s (${fmtRate(s.train_sps)} training agent-steps/s)`,
  ];
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
    lines.push(`evaluation: seeds ${e.seeds.join(", ")}, ${e.ticks} ticks, ${e.agents / Math.max(1, e.seeds.length)} agents per seed (return = each starting agent's reward until it left or the episode ended)`);
    lines.push(
      formatEvalTable(s.evaluation)
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
  }
  return lines.join("\n");
}
