// Rewards (phase: needs, set NeedsSets.Rewards, after NeedsSets.Exits): one reward per agent per
// tick with its breakdown in Reward. Reads Needs, the reward terms other plug-ins declare
// (PluginDef.rewardTerms, e.g. employment's wage: systems/rewards/terms.ts), Employment (punctuality), Lifecycle (exit
// reason, replacement window), Personality (reward bias), Position (curiosity), ChatSuccess,
// ChatFailure and GuardrailBlock; writes Reward. Formula and order: see pass.ts.
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { World } from "../../engine/world.ts";
import type { MessageDef, MessageFields, MessageView } from "../../engine/message.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { Needs } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { Employment, Lifecycle, Personality, Reward } from "../../components/people.ts";
import { ChatFailure, ChatSuccess, GuardrailBlock } from "../../components/messages.ts";
import { NeedsSets } from "../../components/sets.ts";
import type { SocialLedger } from "../../components/social.ts";
import { sections } from "./config.ts";
import { SocialKey } from "../../components/social.ts";
import { rewardsTelemetry } from "./telemetry.ts";
import { RewardPass, type PassInputs } from "./pass.ts";
import { resolveTerms } from "./terms.ts";

/** Need deficit above which an agent earns no chat reward (the original's needs override). */
const CHAT_NEEDS_OVERRIDE = 0.85;

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
  /** The reward pass with this world's config (derived from settings: not saved, not hashed). */
  pass: RewardPass | null = null;

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

/** The Needs columns of the world's need table, in table order (refetched every tick: columns move when the store grows). */
type NeedCols = readonly Float32Array[];

/** Adds `v` to an agent's social scratch for this tick. */
function addSocial(st: RewardsState, eid: number, tick: number, v: number): void {
  if (st.stamp[eid] !== tick) {
    st.stamp[eid] = tick;
    st.social[eid] = 0;
  }
  st.social[eid] += v;
}

/** Whether any need's deficit is above the chat override (the agent earns no chat reward). */
function chatOverride(needs: NeedCols, eid: number): boolean {
  for (let k = 0; k < needs.length; k++) if (1 - needs[k][eid] > CHAT_NEEDS_OVERRIDE) return true;
  return false;
}

/** Gathers this tick's social terms (chats from stage C1, avoidance from C2) into the scratch. */
function gatherSocial(
  world: World,
  st: RewardsState,
  tick: number,
  settings: ConfigSections,
  needs: NeedCols,
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
      if (!world.isAgent(subject) || chatOverride(needs, subject)) continue;
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
  setup({ world, settings, state }) {
    // Other plug-ins' reward terms, resolved once every plug-in is registered.
    state.pass = new RewardPass(settings, resolveTerms(world));
  },
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
        const c = ctx.components;
        const pass = st.pass ?? (st.pass = new RewardPass(settings, resolveTerms(world)));
        const needs = pass.needColumns(c.Needs as unknown as Record<string, Float32Array>);
        pass.termColumns(world, c.Reward);
        gatherSocial(world, st, tick, settings, needs, ctx.read);
        let visits: Uint16Array | null = null;
        if (pass.curiosity > 0) {
          const [gw, gh] = settings.world.grid_size;
          visits = st.visits ?? (st.visits = new Uint16Array(world.towns * gw * gh));
        }
        const io: PassInputs = {
          tick,
          agents,
          R: c.Reward,
          primed: c.RewardMemo.primed,
          E: c.Employment,
          L: c.Lifecycle,
          profile: c.Personality.profile,
          social: st.social,
          stamp: st.stamp,
          visits,
          hasPos: world.components.flags(Position),
          town: world.columns(Town).id,
          pos: c.Position,
          cells: st.cells,
          width: st.width,
        };
        const sum = pass.compute(io);
        st.total += sum;
        st.lastMean = agents.length > 0 ? sum / agents.length : 0;
      },
    },
  ],
});
