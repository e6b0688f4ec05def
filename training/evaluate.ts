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

/**
 * Evaluates `make(world)`'s policy. `make` runs once per seed on a fresh world (a neural policy
 * may be shared; its sampling draws from each world's own `policy` stream).
 */
export async function evaluatePolicy(name: string, make: (world: World) => Policy | Promise<Policy>, opts: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const perSeed: number[] = [];
  const perSeedFree: number[] = [];
  let freeSum = 0;
  const perSeedSurvival: number[] = [];
  let agents0 = 0;
  let alive0 = 0;
  let retSum = 0;
  let exits = 0;
  let rewardSum = 0;
  let agentSteps = 0;
  let invalid = 0;
  let dayTicks = DEFAULT_TICKS_PER_DAY;
  for (const seed of opts.seeds) {
    const { world } = buildWorld(opts.config, opts.plugins ?? corePlugins, { seed, towns: opts.towns, overrides: opts.overrides });
    dayTicks = ticksPerDay(world.settings);
    setPolicy(world, await make(world));
    // The unclipped return needs each tick's terminal penalty and clip adjustment.
    const rewards = rewardsState(world);
    rewards.wantBreakdown("evaluate", true);
    const U = world.columns(Agent).uid;
    // Initial agents by uid: return so far, and whether they are still present.
    const initial = new Map<number, number>();
    for (const eid of world.agents) initial.set(U[eid], 0);
    // Return of the same agents with the per-episode clip lifted.
    const free = new Map<number, number>();
    for (const eid of world.agents) free.set(U[eid], 0);
    const clipTick = (world.settings as { rewards?: { clip?: { clip_per_tick?: number } } }).rewards?.clip?.clip_per_tick ?? Infinity;
    const gone = new Set<number>();
    for (let t = 0; t < opts.ticks; t++) {
      world.step();
      const ex = world.lastTick(AgentExit);
      for (let i = ex.start; i < ex.end; i++) {
        exits++;
        rewardSum += ex.reward[i];
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
      const bd = rewards.lastBreakdown();
      if (bd === undefined) throw new Error(`evaluate: tick ${world.tick} recorded no reward breakdown`);
      const terminal = bd.column("terminal");
      const clipAdjustment = bd.column("clip_adjustment");
      const Uc = world.columns(Agent).uid;
      const live = world.agents;
      for (let i = 0; i < live.length; i++) {
        const eid = live[i];
        const r = R[eid];
        rewardSum += r;
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
      agentSteps += live.length;
    }
    let s = 0;
    for (const r of initial.values()) s += r;
    perSeed.push(initial.size > 0 ? s / initial.size : 0);
    let f = 0;
    for (const r of free.values()) f += r;
    perSeedFree.push(free.size > 0 ? f / free.size : 0);
    freeSum += f;
    retSum += s;
    agents0 += initial.size;
    alive0 += initial.size - gone.size;
    perSeedSurvival.push(initial.size > 0 ? (initial.size - gone.size) / initial.size : 0);
    invalid += policyState(world).invalid;
  }
  const sd = stdev(perSeed);
  return {
    policy: name,
    seeds: [...opts.seeds],
    ticks: opts.ticks,
    agents: agents0,
    return_mean: agents0 > 0 ? retSum / agents0 : 0,
    return_std_seeds: sd,
    return_unclipped_mean: agents0 > 0 ? freeSum / agents0 : 0,
    return_unclipped_std_seeds: stdev(perSeedFree),
    agent_steps: agentSteps,
    survival: agents0 > 0 ? alive0 / agents0 : 0,
    survival_std_seeds: stdev(perSeedSurvival),
    exits_per_agent_day: agentSteps > 0 ? (exits * dayTicks) / agentSteps : 0,
    reward_per_step: agentSteps > 0 ? rewardSum / agentSteps : 0,
    invalid_actions: invalid,
    wall_sec: (performance.now() - t0) / 1000,
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
