// Rewards (phase: needs, set NeedsSets.Rewards, after NeedsSets.Exits): one reward per agent per
// tick in Reward (total, episode, and the shaping potential the next tick needs); the reward by
// term (breakdown.ts) only in ticks some consumer asks for it (RewardsState.wantBreakdown). The plug-in sums, clips and records: its own terms are
// survival, shaping (from the declared potential Φ), curiosity and the terminal penalties (its
// `rewards`, `shaping` and `curiosity` sections); every other term is declared by the plug-in
// that computes it (PluginDef.rewardTerms: the needs plug-in's need term, which is the
// potential Φ, employment's wage and punctuality, social's chat and avoidance term;
// systems/rewards/terms.ts). Reads the declared terms' columns,
// Lifecycle (exit reason, replacement window), Personality (reward bias) and Position
// (curiosity); writes Reward (and the breakdown when asked). Formula and order: see pass.ts.
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Needs } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { Lifecycle, Personality, Reward } from "../../components/people.ts";
import { ChatFailure, ChatSuccess, GuardrailBlock } from "../../components/messages.ts";
import { NeedsSets } from "../../components/sets.ts";
import { sections } from "./config.ts";
import { rewardsTelemetry } from "./telemetry.ts";
import { RewardPass, type PassInputs } from "./pass.ts";
import { resolveTerms } from "./terms.ts";
import type { RewardBreakdown } from "./breakdown.ts";

/**
 * Reward state that survives snapshots: tile visit counts for curiosity (one counter per town
 * tile, allocated when curiosity is first used, saturating at 65535) and the KPI sums.
 */
export class RewardsState implements PersistentState {
  visits: Uint16Array | null = null;
  /** Sum of every reward given since start. */
  total = 0;
  /** Mean reward of the last tick's agents. */
  lastMean = 0;
  /** The reward pass with this world's config (derived from settings: not saved, not hashed). */
  pass: RewardPass | null = null;
  /** Who wants the reward breakdown by term, and while what holds. */
  private readonly wanted = new Map<string, () => boolean>();

  /**
   * Asks for the reward breakdown by term (breakdown.ts: survival, needs_penalty, wage,
   * punctuality, social, shaping, curiosity, terminal, clip_adjustment and each declared term
   * recorded under its name; telemetry's reward_breakdown) for `consumer`: always (true), while
   * `when()` holds (checked when each tick's rewards start), or no longer (false). Recorded in
   * every tick that starts with some consumer wanting it, so one that starts asking mid-run has
   * it from that tick on; otherwise the terms only add into each agent's reward and the
   * breakdown's columns are not kept. Not hashed, not snapshotted: asking changes no reward.
   */
  wantBreakdown(consumer: string, when: boolean | (() => boolean)): void {
    if (when === false) this.wanted.delete(consumer);
    else this.wanted.set(consumer, when === true ? () => true : when);
  }

  /** Whether some consumer wants the breakdown now. */
  breakdownWanted(): boolean {
    for (const when of this.wanted.values()) if (when()) return true;
    return false;
  }

  /** The tick rewards/compute last ran in (-1: not since start or the last load). */
  lastTick = -1;

  /**
   * The breakdown of the last tick's rewards, or undefined if that tick did not record it (nobody
   * asked when it started) or no rewards ran since start or the last load.
   */
  lastBreakdown(): RewardBreakdown | undefined {
    return this.breakdownAt(this.lastTick);
  }

  /** The breakdown recorded in `tick` (rewards/compute's tick), or undefined if that tick did not record it. */
  breakdownAt(tick: number): RewardBreakdown | undefined {
    const bd = this.pass?.breakdown;
    return tick >= 0 && bd !== undefined && bd.recordedAt(tick) ? bd : undefined;
  }

  constructor(
    readonly cells: number,
    readonly width: number,
  ) {}

  save(): unknown {
    const used: number[] = [];
    if (this.visits) for (let i = 0; i < this.visits.length; i++) if (this.visits[i] !== 0) used.push(i, this.visits[i]);
    return { visits: this.visits ? { size: this.visits.length, used } : null, total: this.total, lastMean: this.lastMean };
  }

  load(data: unknown): void {
    const d = data as { visits: { size: number; used: number[] } | null; total: number; lastMean: number };
    this.visits = null;
    if (d.visits) {
      this.visits = new Uint16Array(d.visits.size);
      for (let i = 0; i < d.visits.used.length; i += 2) this.visits[d.visits.used[i]] = d.visits.used[i + 1];
    }
    this.total = d.total;
    this.lastMean = d.lastMean;
    // The breakdown (not saved) belonged to the state before the load.
    this.lastTick = -1;
    this.pass?.breakdown.release();
  }

  hash(h: StateHasher): void {
    h.f64(this.total).f64(this.lastMean).u32(this.visits ? this.visits.length : 0);
    if (!this.visits) return;
    for (let i = 0; i < this.visits.length; i++) if (this.visits[i] !== 0) h.u32(i).u32(this.visits[i]);
  }
}

function makeState(world: World): RewardsState {
  const [w, h] = world.settings.world?.grid_size ?? [48, 48];
  return new RewardsState(w * h, w);
}

export const rewardsPlugin = definePlugin({
  name: "rewards",
  telemetry: rewardsTelemetry,
  doc: "per-agent rewards: survival, the terms other plug-ins declare (needs, wage, punctuality, social), shaping, curiosity, terminal penalties, clips",
  sections,
  components: {
    Reward,
    // Read by nobody here any more (the needs plug-in declares the need term), but registered
    // here first: the state hash covers components in registration order, so it stays.
    Needs,
    Lifecycle,
    Personality,
    Position,
  },
  // The rewards plug-in reads none of these any more (social's term does), but it registered
  // their channels first, and the state hash covers every channel in registration order:
  // declaring them here keeps the channel order, and so the hash stream, as it was.
  messages: [ChatSuccess, ChatFailure, GuardrailBlock],
  state: makeState,
  setup({ world, settings, state }) {
    // Other plug-ins' reward terms, resolved once every plug-in is registered.
    state.pass = new RewardPass(settings, resolveTerms(world));
  },
  onAgentSpawn({ world }, eid) {
    world.addComponent(eid, Reward);
  },
  kpis({ state }) {
    return { reward_mean: state.lastMean, reward_total: state.total };
  },
  systems: [
    {
      name: "rewards/compute",
      phase: "needs",
      sets: [NeedsSets.Rewards],
      after: [NeedsSets.Exits],
      reads: ["declared reward terms' columns and what their update reads (Needs, Employment, chat_success, chat_failure, policy_guardrail_block, social ledger)", "Lifecycle", "Personality.profile", "Position", "rewards.*", "shaping", "curiosity", "ppo.gamma", "features"],
      writes: ["Reward", "tile visits", "reward breakdown (when asked)"],
      run(ctx) {
        const { world, tick, agents, spans, settings, state: st } = ctx;
        const c = ctx.components;
        const pass = st.pass ?? (st.pass = new RewardPass(settings, resolveTerms(world)));
        // The declared terms compute this tick's values (their plug-ins' code), then are read.
        pass.updateTerms(ctx);
        pass.termColumns(world, c.Reward, st.breakdownWanted());
        let visits: Uint16Array | null = null;
        if (pass.curiosity > 0) {
          const [gw, gh] = settings.world.grid_size;
          visits = st.visits ?? (st.visits = new Uint16Array(world.towns * gw * gh));
        }
        const io: PassInputs = {
          tick,
          agents,
          spans,
          R: c.Reward,
          L: c.Lifecycle,
          profile: c.Personality.profile,
          visits,
          hasPos: world.components.flags(Position),
          town: world.columns(Town).id,
          pos: c.Position,
          cells: st.cells,
          width: st.width,
        };
        const sum = pass.compute(io);
        st.lastTick = tick;
        st.total += sum;
        st.lastMean = agents.length > 0 ? sum / agents.length : 0;
      },
    },
  ],
});

/** The rewards plug-in's state in `world` (wantBreakdown, breakdownAt, the KPI sums). */
export function rewardsState(world: World): RewardsState {
  return world.state<RewardsState>("rewards");
}
