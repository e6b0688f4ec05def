// The social plug-in's reward term (PluginDef.rewardTerms, engine/reward-term.ts): this tick's
// chats and avoided rivals, from the social_rewards stage named in each key of rewards.social.
//  - a successful chat (from C1) pays each side (C1_chat_base + C1_coeff_trust · trust +
//    C1_coeff_fam · familiarity) · quality, trust and familiarity being the side's ledger entry
//    for the other; nothing to an agent with a need deficit above 0.85 (the original's override);
//  - a failed chat (from C1) costs the speaker 0.5 · C1_chat_base and the listener 0.25 · it;
//  - a guardrail block (from C2: the agent kept away from a rival) pays C2_avoid_conflict.
// The term's update gathers them when rewards/compute starts (where rewards gathered them before,
// with its message reads) into a column of its own (only the agents it touched are written, and
// reset on the next tick); the term has weight 1 and the social profile bias, and is recorded in
// Reward.social.
import { defineRewardTerm, RewardColumn, type RewardTerm, type RewardTermContext } from "../../engine/reward-term.ts";
import type { World } from "../../engine/world.ts";
import { Agent } from "../../engine/core-components.ts";
import { Needs, needTable } from "../../components/needs.ts";
import { ChatFailure, ChatSuccess, GuardrailBlock } from "../../components/messages.ts";
import { SocialKey } from "../../components/social.ts";

/** Need deficit above which an agent earns no chat reward (the original's needs override). */
const CHAT_NEEDS_OVERRIDE = 0.85;

const social = new RewardColumn();

export const socialRewardTerms: RewardTerm[] = [
  defineRewardTerm({
    name: "social",
    weight: () => 1,
    update: (ctx) => gather(ctx),
    values: (world) => social.get(world),
    bias: "social",
    breakdown: "social",
  }),
];

/** The agents whose entry of the column is non-zero since the last reset, per world. */
class Touched {
  list = new Int32Array(16);
  count = 0;
  mark = new Uint8Array(16);
}
const touchedByWorld = new WeakMap<World, Touched>();

/** Adds `v` to an agent's social reward for this tick. */
function add(col: Float64Array, t: Touched, eid: number, v: number): void {
  if (t.mark[eid] === 0) {
    t.mark[eid] = 1;
    if (t.count === t.list.length) {
      const l = new Int32Array(t.list.length * 2);
      l.set(t.list);
      t.list = l;
    }
    t.list[t.count++] = eid;
  }
  col[eid] += v;
}

/** Whether any need's deficit is above the chat override (the agent earns no chat reward). */
function chatOverride(needs: readonly Float32Array[], eid: number): boolean {
  for (let k = 0; k < needs.length; k++) if (1 - needs[k][eid] > CHAT_NEEDS_OVERRIDE) return true;
  return false;
}

/** Resets last tick's entries, then gathers this tick's social terms into the column. */
function gather({ world, settings, read }: RewardTermContext): void {
  const ledger = world.resource(SocialKey).ledger;
  const col = social.ensure(world);
  let t = touchedByWorld.get(world);
  if (t === undefined) touchedByWorld.set(world, (t = new Touched()));
  if (t.mark.length < col.length) {
    const m = new Uint8Array(col.length);
    m.set(t.mark);
    t.mark = m;
  }
  for (let i = 0; i < t.count; i++) {
    col[t.list[i]] = 0;
    t.mark[t.list[i]] = 0;
  }
  t.count = 0;
  const stage = settings.features.stages.social_rewards;
  if (stage === "OFF") return;
  const s = settings.rewards.social;
  const base = s.C1_chat_base;
  const uid = world.columns(Agent).uid;
  const N = world.components.isRegistered(Needs) ? (world.columns(Needs) as unknown as Record<string, Float32Array>) : undefined;
  const needs = N === undefined ? [] : needTable(settings).names.map((n) => N[n]);

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
      if (world.isAgent(other)) {
        const slot = ledger.find(subject, uid[other]);
        if (slot >= 0) {
          trust = ledger.trust[slot];
          fam = ledger.familiarity[slot];
        }
      }
      add(col, t, subject, (base + s.C1_coeff_trust * trust + s.C1_coeff_fam * fam) * quality);
    }
  }
  const bad = read(ChatFailure);
  for (let i = bad.start; i < bad.end; i++) {
    if (world.isAgent(bad.speaker[i])) add(col, t, bad.speaker[i], -0.5 * base);
    if (world.isAgent(bad.listener[i])) add(col, t, bad.listener[i], -0.25 * base);
  }
  if (stage === "C1") return;
  const avoid = read(GuardrailBlock);
  for (let i = avoid.start; i < avoid.end; i++) if (world.isAgent(avoid.agent[i])) add(col, t, avoid.agent[i], s.C2_avoid_conflict);
}
