// Evaluation: runs a policy on fresh worlds built from the same config and seeds, and reports
// each agent's episode return and survival. Every policy (PPO, BC, scripted, random) is judged by
// the same loop, so the numbers compare. Reads Reward.total, the reward breakdown's terminal and
// clip_adjustment (asked for: systems/rewards/breakdown.ts) and AgentExit after each tick.
import type { AnyPlugin } from "../engine/plugin.ts";
import { Agent } from "../engine/core-components.ts";
import { AgentExit } from "../components/messages.ts";
import { Reward } from "../components/people.ts";
import { corePlugins } from "../systems/index.ts";
import { rewardsState } from "../systems/rewards/index.ts";
import { setPolicy, policyState, type Policy } from "../systems/policy/index.ts";
import { buildWorld } from "../engine/build.ts";
import type { World } from "../engine/world.ts";
import { DEFAULT_TICKS_PER_DAY, ticksPerDay } from "../engine/clock.ts";

export interface EvalOptions {
  config: string;
  overrides?: Record<string, unknown>;
  plugins?: readonly AnyPlugin[];
  seeds: readonly number[];
  /** Ticks per evaluation episode. */
  ticks: number;
  /** Towns per evaluation world (each a copy of the config's town). */
  towns?: number;
}

/** One policy's results over the evaluation seeds. */
export interface EvalResult {
  policy: string;
  seeds: number[];
  ticks: number;
  /** Agents present at tick 0, over all seeds. */
  agents: number;
  /** Mean over those agents of the sum of their rewards until they left or the episode ended. */
  return_mean: number;
  /** Standard deviation of the per-seed means. */
  return_std_seeds: number;
  /**
   * The same return with the per-episode clip lifted (the per-tick clip and the exit penalties
   * kept): the config's ±clip_per_episode binds for most agents within 1,000 ticks, which leaves
   * every policy near −50 on `return_mean`.
   */
  return_unclipped_mean: number;
  /** Standard deviation of the per-seed means of the unclipped return. */
  return_unclipped_std_seeds: number;
  /** Agent-steps simulated (every agent of every tick of every seed). */
  agent_steps: number;
  /** Share of those agents still present at the end. */
  survival: number;
  /** Standard deviation of the per-seed survival shares. */
  survival_std_seeds: number;
  /** Exits of any agent (replacements included) per agent-day (engine/clock.ts ticksPerDay). */
  exits_per_agent_day: number;
  /** Mean reward per agent-step, every agent included. */
  reward_per_step: number;
  /** Actions the masks refused (0 for a policy that honours them). */
  invalid_actions: number;
  wall_sec: number;
}

/** One seed's totals over its starting agents (summed over the blocks of a sharded world, in block order). */
export interface SeedTotals {
  /** Starting agents, and those of them that left. */
  agents: number;
  gone: number;
  /** Sums of their returns, clipped and with the per-episode clip lifted. */
  ret: number;
  free: number;
}

/** Counts over every tick of every seed (and block). */
export interface TickTotals {
  exits: number;
  rewardSum: number;
  agentSteps: number;
  invalid: number;
}

/**
 * The evaluation's bookkeeping of one world (a one-block world, or one block of a sharded world:
 * training/evaluate-blocks.ts): begin() before its first tick, tick() after each, end() for the
 * seed's totals. The tick totals run on across begin()s. Reads Reward.total, the reward breakdown's
 * terminal and clip_adjustment and AgentExit.
 */
export class EvalTally {
  readonly totals: TickTotals = { exits: 0, rewardSum: 0, agentSteps: 0, invalid: 0 };
  private initial = new Map<number, number>();
  private free = new Map<number, number>();
  private gone = new Set<number>();
  private clipTick = Infinity;

  begin(world: World): void {
    // The unclipped return needs each tick's terminal penalty and clip adjustment.
    rewardsState(world).wantBreakdown("evaluate", true);
    const U = world.columns(Agent).uid;
    // Initial agents by uid: return so far, and whether they are still present.
    this.initial = new Map<number, number>();
    for (const eid of world.agents) this.initial.set(U[eid], 0);
    // Return of the same agents with the per-episode clip lifted.
    this.free = new Map<number, number>();
    for (const eid of world.agents) this.free.set(U[eid], 0);
    this.clipTick = (world.settings as { rewards?: { clip?: { clip_per_tick?: number } } }).rewards?.clip?.clip_per_tick ?? Infinity;
    this.gone = new Set<number>();
  }

  tick(world: World): void {
    const { initial, free, gone, clipTick, totals } = this;
    const ex = world.lastTick(AgentExit);
    for (let i = ex.start; i < ex.end; i++) {
      totals.exits++;
      totals.rewardSum += ex.reward[i];
      const uid = ex.uid[i];
      const r = initial.get(uid);
      if (r !== undefined && !gone.has(uid)) {
        initial.set(uid, r + ex.reward[i]);
        // The exit tick's reward as the world gave it (its terminal penalty is never clipped).
        free.set(uid, free.get(uid)! + ex.reward[i]);
        gone.add(uid);
      }
    }
    const R = world.columns(Reward).total;
    const bd = rewardsState(world).lastBreakdown();
    if (bd === undefined) throw new Error(`evaluate: tick ${world.tick} recorded no reward breakdown`);
    const terminal = bd.column("terminal");
    const clipAdjustment = bd.column("clip_adjustment");
    const Uc = world.columns(Agent).uid;
    const live = world.agents;
    for (let i = 0; i < live.length; i++) {
      const eid = live[i];
      const r = R[eid];
      totals.rewardSum += r;
      const uid = Uc[eid];
      const cur = initial.get(uid);
      if (cur !== undefined && !gone.has(uid)) {
        initial.set(uid, cur + r);
        // Before the clips: total − terminal − clip_adjustment; then the per-tick clip alone.
        const raw = R[eid] - terminal[eid] - clipAdjustment[eid];
        const tickOnly = raw > clipTick ? clipTick : raw < -clipTick ? -clipTick : raw;
        free.set(uid, free.get(uid)! + tickOnly + terminal[eid]);
      }
    }
    totals.agentSteps += live.length;
  }

  /** The seed's totals; the policy's refused actions added to the tick totals. */
  end(world: World): SeedTotals {
    let s = 0;
    for (const r of this.initial.values()) s += r;
    let f = 0;
    for (const r of this.free.values()) f += r;
    this.totals.invalid += policyState(world).invalid;
    return { agents: this.initial.size, gone: this.gone.size, ret: s, free: f };
  }
}

/**
 * Evaluates `make(world)`'s policy. `make` runs once per seed on a fresh world (a neural policy
 * may be shared; its sampling draws from each world's own `policy` stream). A sharded evaluation
 * (world.shards > 1) is training/evaluate-blocks.ts; both end in evalResult().
 */
export async function evaluatePolicy(name: string, make: (world: World) => Policy | Promise<Policy>, opts: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const seeds: SeedTotals[] = [];
  const tally = new EvalTally();
  let dayTicks = DEFAULT_TICKS_PER_DAY;
  for (const seed of opts.seeds) {
    const { world } = buildWorld(opts.config, opts.plugins ?? corePlugins, { seed, towns: opts.towns, overrides: opts.overrides });
    dayTicks = ticksPerDay(world.settings);
    setPolicy(world, await make(world));
    tally.begin(world);
    for (let t = 0; t < opts.ticks; t++) {
      world.step();
      tally.tick(world);
    }
    seeds.push(tally.end(world));
  }
  return evalResult(name, opts, seeds, tally.totals, dayTicks, (performance.now() - t0) / 1000);
}

/** The EvalResult of per-seed totals (in seed order) and the tick totals over every seed. */
export function evalResult(name: string, opts: Pick<EvalOptions, "seeds" | "ticks">, seeds: readonly SeedTotals[], t: TickTotals, dayTicks: number, wallSec: number): EvalResult {
  const perSeed: number[] = [];
  const perSeedFree: number[] = [];
  const perSeedSurvival: number[] = [];
  let agents0 = 0;
  let alive0 = 0;
  let retSum = 0;
  let freeSum = 0;
  for (const x of seeds) {
    perSeed.push(x.agents > 0 ? x.ret / x.agents : 0);
    perSeedFree.push(x.agents > 0 ? x.free / x.agents : 0);
    freeSum += x.free;
    retSum += x.ret;
    agents0 += x.agents;
    alive0 += x.agents - x.gone;
    perSeedSurvival.push(x.agents > 0 ? (x.agents - x.gone) / x.agents : 0);
  }
  const agentSteps = t.agentSteps;
  return {
    policy: name,
    seeds: [...opts.seeds],
    ticks: opts.ticks,
    agents: agents0,
    return_mean: agents0 > 0 ? retSum / agents0 : 0,
    return_std_seeds: stdev(perSeed),
    return_unclipped_mean: agents0 > 0 ? freeSum / agents0 : 0,
    return_unclipped_std_seeds: stdev(perSeedFree),
    agent_steps: agentSteps,
    survival: agents0 > 0 ? alive0 / agents0 : 0,
    survival_std_seeds: stdev(perSeedSurvival),
    exits_per_agent_day: agentSteps > 0 ? (t.exits * dayTicks) / agentSteps : 0,
    reward_per_step: agentSteps > 0 ? t.rewardSum / agentSteps : 0,
    invalid_actions: t.invalid,
    wall_sec: wallSec,
  };
}

/** Population standard deviation (0 for fewer than two values). */
function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
}

/** A fixed-width table of evaluation results (for the summary). */
export function formatEvalTable(rows: readonly EvalResult[]): string {
  const head = ["policy", "return/agent", "± (seeds)", "unclipped", "± (seeds)", "survival", "± (seeds)", "exits/agent-day", "reward/step"];
  const body = rows.map((r) => [
    r.policy,
    r.return_mean.toFixed(2),
    r.return_std_seeds.toFixed(2),
    r.return_unclipped_mean.toFixed(2),
    r.return_unclipped_std_seeds.toFixed(2),
    `${(100 * r.survival).toFixed(1)}%`,
    `${(100 * r.survival_std_seeds).toFixed(1)}`,
    r.exits_per_agent_day.toFixed(3),
    r.reward_per_step.toFixed(4),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}
