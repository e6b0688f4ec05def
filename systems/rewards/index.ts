// Rewards (phase: needs, set NeedsSets.Rewards, after NeedsSets.Exits): one reward per agent per
// tick with its breakdown in Reward. Reads Needs, Employment (wage, punctuality), Lifecycle (exit
// reason, replacement window), Personality (reward bias), Position (curiosity), ChatSuccess,
// ChatFailure and GuardrailBlock; writes Reward. Formula and order: see `rewards/compute`.
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { World } from "../../engine/world.ts";
import type { MessageDef, MessageFields, MessageView } from "../../engine/message.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { Needs } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { Employment, ExitReason, Lifecycle, Personality, Reward } from "../../components/people.ts";
import { PROFILES } from "../../components/profiles.ts";
import { ChatFailure, ChatSuccess, GuardrailBlock } from "../../components/messages.ts";
import { NeedsSets } from "../../components/sets.ts";
import type { SocialLedger } from "../../components/social.ts";
import { sections } from "./config.ts";
import { SocialKey } from "../../components/social.ts";
import { rewardsTelemetry } from "./telemetry.ts";

// Exit reasons as module constants: plain loads in the per-agent loop.
const EXIT_NONE = ExitReason.None;
const EXIT_FAINT = ExitReason.Faint;
const EXIT_EVICTION = ExitReason.Eviction;
const EXIT_UNEMPLOYMENT = ExitReason.Unemployment;

/** Reward bias factors by profile index (components/profiles.ts). */
const BIAS_SOCIAL = Float64Array.from(PROFILES, (p) => p.reward.social);
const BIAS_EMPLOYMENT = Float64Array.from(PROFILES, (p) => p.reward.employment);
const BIAS_SURVIVAL = Float64Array.from(PROFILES, (p) => p.reward.survival);

/** A profile's reward bias: a gain grows by the factor, a loss shrinks by it (the original's rule). */
function bias(value: number, factor: number): number {
  return value >= 0 ? value * factor : value / factor;
}

/** Need deficit above which an agent earns no chat reward (the original's needs override). */
const CHAT_NEEDS_OVERRIDE = 0.85;
const VISITS_MAX = 0xffff;

/**
 * The shaping potential of a need state: Φ(s) = −Σ w·(1−need)², the negated needs penalty.
 * Shaping adds F = γ·Φ(s′) − Φ(s) (Ng, Harada & Russell 1999), which leaves optimal policies unchanged.
 */
export function potential(hunger: number, hygiene: number, energy: number, w: { hunger: number; hygiene: number; energy: number }): number {
  const a = hunger < 1 ? 1 - hunger : 0;
  const b = hygiene < 1 ? 1 - hygiene : 0;
  const c = energy < 1 ? 1 - energy : 0;
  return -(w.hunger * a * a + w.hygiene * b * b + w.energy * c * c);
}

/**
 * Reward state that survives snapshots: tile visit counts for curiosity (one counter per town
 * tile, allocated when curiosity is first used, saturating at 65535) and the KPI sums. The chat
 * accumulators are scratch, empty between ticks.
 */
export class RewardsState implements PersistentState {
  visits: Uint16Array | null = null;
  /** Sum of every reward given since start. */
  total = 0;
  /** Mean reward of the last tick's agents. */
  lastMean = 0;
  /** Scratch (per entity): social reward gathered from this tick's messages, valid where stamp = tick. */
  social: Float64Array;
  stamp: Int32Array;

  constructor(
    readonly cells: number,
    readonly width: number,
    capacity = 16,
  ) {
    this.social = new Float64Array(capacity);
    this.stamp = new Int32Array(capacity);
  }

  ensure(n: number): void {
    if (n <= this.social.length) return;
    const cap = Math.max(n, Math.ceil(this.social.length * 1.25));
    const s = new Float64Array(cap);
    s.set(this.social);
    this.social = s;
    const t = new Int32Array(cap);
    t.set(this.stamp);
    this.stamp = t;
  }

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
    // The scratch is keyed by tick: a world loaded back to an earlier tick must not find stale entries.
    this.social.fill(0);
    this.stamp.fill(0);
  }

  hash(h: StateHasher): void {
    h.f64(this.total).f64(this.lastMean).u32(this.visits ? this.visits.length : 0);
    if (!this.visits) return;
    for (let i = 0; i < this.visits.length; i++) if (this.visits[i] !== 0) h.u32(i).u32(this.visits[i]);
  }
}

function makeState(world: World): RewardsState {
  const [w, h] = world.settings.world?.grid_size ?? [48, 48];
  return new RewardsState(w * h, w, world.components.capacity);
}

/** The social plug-in's relationship ledger, when there is one. */
function ledgerOf(world: World): SocialLedger | undefined {
  return world.optionalResource(SocialKey)?.ledger;
}

type NeedsCols = { hunger: Float32Array; hygiene: Float32Array; energy: Float32Array };

/** Adds `v` to an agent's social scratch for this tick. */
function addSocial(st: RewardsState, eid: number, tick: number, v: number): void {
  if (st.stamp[eid] !== tick) {
    st.stamp[eid] = tick;
    st.social[eid] = 0;
  }
  st.social[eid] += v;
}

function chatOverride(N: NeedsCols, eid: number): boolean {
  return 1 - N.hunger[eid] > CHAT_NEEDS_OVERRIDE || 1 - N.hygiene[eid] > CHAT_NEEDS_OVERRIDE || 1 - N.energy[eid] > CHAT_NEEDS_OVERRIDE;
}

/** Gathers this tick's social terms (chats from stage C1, avoidance from C2) into the scratch. */
function gatherSocial(
  world: World,
  st: RewardsState,
  tick: number,
  settings: ConfigSections,
  N: NeedsCols,
  read: <F extends MessageFields>(def: MessageDef<F>) => MessageView<F>,
): void {
  const stage = settings.features.stages.social_rewards;
  if (stage === "OFF") return;
  const s = settings.rewards.social;
  const base = s.C1_chat_base;
  st.ensure(world.maxEntityId() + 1);
  const ledger = ledgerOf(world);
  const uid = world.columns(Agent).uid;

  const ok = read(ChatSuccess);
  for (let i = ok.start; i < ok.end; i++) {
    const q = ok.quality[i];
    const quality = q < 0 ? 0 : q > 1 ? 1 : q;
    for (let side = 0; side < 2; side++) {
      const subject = side === 0 ? ok.speaker[i] : ok.listener[i];
      const other = side === 0 ? ok.listener[i] : ok.speaker[i];
      if (!world.isAgent(subject) || chatOverride(N, subject)) continue;
      let trust = 0;
      let fam = 0;
      if (ledger && world.isAgent(other)) {
        const slot = ledger.find(subject, uid[other]);
        if (slot >= 0) {
          trust = ledger.trust[slot];
          fam = ledger.familiarity[slot];
        }
      }
      addSocial(st, subject, tick, (base + s.C1_coeff_trust * trust + s.C1_coeff_fam * fam) * quality);
    }
  }
  const bad = read(ChatFailure);
  for (let i = bad.start; i < bad.end; i++) {
    if (world.isAgent(bad.speaker[i])) addSocial(st, bad.speaker[i], tick, -0.5 * base);
    if (world.isAgent(bad.listener[i])) addSocial(st, bad.listener[i], tick, -0.25 * base);
  }
  if (stage === "C1") return;
  const avoid = read(GuardrailBlock);
  for (let i = avoid.start; i < avoid.end; i++) if (world.isAgent(avoid.agent[i])) addSocial(st, avoid.agent[i], tick, s.C2_avoid_conflict);
}

export const rewardsPlugin = definePlugin({
  name: "rewards",
  telemetry: rewardsTelemetry,
  optional: [SocialKey],
  doc: "per-agent rewards: survival, needs, wage, punctuality, social, shaping, curiosity, terminal penalties, clips",
  sections,
  components: {
    Reward,
    Needs,
    Employment,
    Lifecycle,
    Personality,
    Position,
    /** 1 once the agent has a shaping potential (its first rewarded tick has passed). */
    RewardMemo: { primed: { type: Uint8Array, doc: "1 after the agent's first rewarded tick" } },
  },
  messages: [ChatSuccess, ChatFailure, GuardrailBlock],
  state: makeState,
  onAgentSpawn({ world, defs }, eid) {
    world.addComponent(eid, Reward);
    world.addComponent(eid, defs.RewardMemo);
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
      reads: ["Needs", "Employment", "Lifecycle", "Personality.profile", "Position", "ChatSuccess", "ChatFailure", "GuardrailBlock", "rewards.*", "shaping", "curiosity", "ppo.gamma", "features"],
      writes: ["Reward", "tile visits"],
      run(ctx) {
        const { world, tick, agents, settings, state: st } = ctx;
        const { Reward: R, Needs: N, Employment: E, Lifecycle: L, Personality: P, Position: Pos, RewardMemo: M } = ctx.components;
        const rw = settings.rewards;
        const w = rw.needs_weights;

        gatherSocial(world, st, tick, settings, N, ctx.read);

        const useBias = settings.features.behavior.reward_multipliers;
        const survivalTick = rw.survival_tick;
        const wageOn = rw.wage_rate > 0;
        const punctuality = rw.punctuality_bonus;
        const shapingOn = settings.shaping.use_potential;
        const gamma = settings.ppo.gamma;
        const curiosity = settings.features.training.curiosity === "phase_A" ? settings.curiosity.phase_A_weight : 0;
        const clipTick = rw.clip.clip_per_tick;
        const clipEpisode = rw.clip.clip_per_episode;
        const window = rw.clip.no_positive_within_death_ticks;

        let visits: Uint16Array | null = null;
        let hasPos: Uint8Array | null = null;
        let town: Uint32Array | null = null;
        if (curiosity > 0) {
          const [gw, gh] = settings.world.grid_size;
          if (!st.visits) st.visits = new Uint16Array(world.towns * gw * gh);
          visits = st.visits;
          hasPos = world.components.flags(Position);
          town = world.columns(Town).id;
        }

        const wh = w.hunger;
        const wy = w.hygiene;
        const we = w.energy;
        const faintPenalty = rw.faint_penalty;
        const evictionPenalty = rw.eviction_penalty;
        let sum = 0;
        for (let i = 0; i < agents.length; i++) {
          const eid = agents[i];
          const dh = 1 - N.hunger[eid];
          const dy = 1 - N.hygiene[eid];
          const de = 1 - N.energy[eid];
          // Φ(s) = −Σ w·(1−need)², as `potential` (needs never exceed 1).
          const phi = -(wh * dh * dh + wy * dy * dy + we * de * de);

          let survival = survivalTick;
          let wage = wageOn ? E.wage_this_tick[eid] : 0;
          const sched = E.scheduled_ticks[eid];
          let punct = E.on_shift[eid] === 1 && sched > 0 ? (punctuality * E.on_time_ticks[eid]) / sched : 0;
          let social = st.stamp.length > eid && st.stamp[eid] === tick ? st.social[eid] : 0;
          if (useBias) {
            const p = P.profile[eid];
            survival = bias(survival, BIAS_SURVIVAL[p]);
            wage = bias(wage, BIAS_EMPLOYMENT[p]);
            punct = bias(punct, BIAS_EMPLOYMENT[p]);
            social = bias(social, BIAS_SOCIAL[p]);
          }

          let shaping = 0;
          if (shapingOn) {
            // No transition before an agent's first rewarded tick: its shaping starts at 0.
            if (M.primed[eid] === 1) shaping = gamma * phi - R.potential[eid];
            R.potential[eid] = phi;
          }
          M.primed[eid] = 1;

          let cur = 0;
          if (visits !== null && hasPos![eid] === 1) {
            const tile = town![eid] * st.cells + Pos.y[eid] * st.width + Pos.x[eid];
            const v = visits[tile];
            cur = curiosity / Math.sqrt(1 + v);
            if (v < VISITS_MAX) visits[tile] = v + 1;
          }

          const raw = survival + phi + wage + punct + social + shaping + cur;
          let total = raw;
          const reason = L.exit_reason[eid];
          // Guard: nothing positive on the exit tick, nor in a replacement's first ticks.
          if (total > 0 && (reason !== EXIT_NONE || (L.replaces_uid[eid] >= 0 && tick - L.spawned_tick[eid] <= window))) total = 0;
          total = total > clipTick ? clipTick : total < -clipTick ? -clipTick : total;
          const before = R.episode[eid];
          let episode = before + total;
          episode = episode > clipEpisode ? clipEpisode : episode < -clipEpisode ? -clipEpisode : episode;
          total = episode - before;

          // The terminal penalty comes after both clips, so an exit costs its full penalty.
          const terminal =
            reason === EXIT_NONE ? 0 : reason === EXIT_FAINT ? faintPenalty : reason === EXIT_EVICTION || reason === EXIT_UNEMPLOYMENT ? evictionPenalty : 0;

          R.survival[eid] = survival;
          R.needs_penalty[eid] = phi;
          R.wage[eid] = wage;
          R.punctuality[eid] = punct;
          R.social[eid] = social;
          R.shaping[eid] = shaping;
          R.curiosity[eid] = cur;
          R.terminal[eid] = terminal;
          R.clip_adjustment[eid] = total - raw;
          R.episode[eid] = episode + terminal;
          R.total[eid] = total + terminal;
          sum += total + terminal;
        }
        st.total += sum;
        st.lastMean = agents.length > 0 ? sum / agents.length : 0;
      },
    },
  ],
});
