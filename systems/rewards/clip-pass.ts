// The last pass of the reward passes (pass.ts, the path without code generation): the guard,
// both clips and the terminal penalty, in the same order and precision as the fused kernel's.
import { ExitReason } from "../../components/people.ts";
import type { PassInputs } from "./pass.ts";

const EXIT_NONE = ExitReason.None;
const EXIT_FAINT = ExitReason.Faint;
const EXIT_EVICTION = ExitReason.Eviction;
const EXIT_UNEMPLOYMENT = ExitReason.Unemployment;
const EMPTY = new Float32Array(0);
/** Scratch for the constants (clip per tick, per episode, faint and eviction penalties). */
const LIMITS = new Float64Array(4);

/** The clip and penalty settings (rewards.clip, faint_penalty, eviction_penalty). */
export interface ClipRules {
  readonly clipTick: number;
  readonly clipEpisode: number;
  readonly faintPenalty: number;
  readonly evictionPenalty: number;
  /** no_positive_within_death_ticks. */
  readonly window: number;
}

/**
 * The guard, both clips and the terminal penalty, from each agent's raw reward in `part`;
 * writes Reward.total and episode and (with `out`) the breakdown's terminal and clip_adjustment.
 * Returns the sum of the totals, in agent order.
 */
export function clipsAndTerminal(io: PassInputs, part: Float64Array, c: ClipRules, out: { terminal: Float32Array; clip: Float32Array } | null): number {
  const { agents, tick } = io;
  const exitReason = io.L.exit_reason;
  const replaces = io.L.replaces_uid;
  const spawned = io.L.spawned_tick;
  const episodeCol = io.R.episode;
  const totalCol = io.R.total;
  const record = out !== null;
  const terminalCol = out !== null ? out.terminal : EMPTY;
  const clipCol = out !== null ? out.clip : EMPTY;
  // The constants go through a Float64Array so that they are float64 in optimised code: a
  // Smi-valued field (clip_per_episode = 50, penalties -1 and -2) made the clamps' results
  // tagged, one HeapNumber per agent and value (~3 MB of garbage a tick at 100k agents, most
  // of a tick's allocation: issue #19). The negations are made here, not in the loop: a unary
  // minus first reached mid-run (the first reward clipped low) deoptimised the loop.
  const k = LIMITS;
  k[0] = c.clipTick;
  k[1] = c.clipEpisode;
  k[2] = c.faintPenalty;
  k[3] = c.evictionPenalty;
  const clipTick = k[0];
  const clipEpisode = k[1];
  const faintPenalty = k[2];
  const evictionPenalty = k[3];
  const loTick = -clipTick;
  const loEpisode = -clipEpisode;
  const window = c.window;
  let sum = 0;
  for (let i = 0; i < agents.length; i++) {
    const eid = agents[i];
    const raw = part[eid];
    let total = raw;
    const reason = exitReason[eid];
    // Guard: nothing positive on the exit tick, nor in a replacement's first ticks. The rare,
    // predictable conditions first: the sign of the total changes from agent to agent.
    if ((reason !== EXIT_NONE || (replaces[eid] >= 0 && tick - spawned[eid] <= window)) && total > 0) total = 0;
    total = total > clipTick ? clipTick : total < loTick ? loTick : total;
    const before = episodeCol[eid];
    let episode = before + total;
    episode = episode > clipEpisode ? clipEpisode : episode < loEpisode ? loEpisode : episode;
    total = episode - before;
    // The terminal penalty comes after both clips, so an exit costs its full penalty.
    const terminal =
      reason === EXIT_NONE ? 0 : reason === EXIT_FAINT ? faintPenalty : reason === EXIT_EVICTION || reason === EXIT_UNEMPLOYMENT ? evictionPenalty : 0;
    if (record) {
      terminalCol[eid] = terminal;
      clipCol[eid] = total - raw;
    }
    episodeCol[eid] = episode + terminal;
    totalCol[eid] = total + terminal;
    sum += total + terminal;
  }
  return sum;
}
