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

/**
 * The agents whose entry of the column may be non-zero since the last reset, per world: every
 * agent a reward was added to, once per addition (an agent twice on the list is reset twice;
 * no per-agent mark to read and write, issue #19).
 */
class Touched {
  list = new Int32Array(16);
  count = 0;
}
const touchedByWorld = new WeakMap<World, Touched>();

/** Adds `v` to an agent's social reward for this tick. */
function add(col: Float64Array, t: Touched, eid: number, v: number): void {
  if (t.count === t.list.length) {
    const l = new Int32Array(t.list.length * 2);
    l.set(t.list);
    t.list = l;
  }
  t.list[t.count++] = eid;
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
  for (let i = 0; i < t.count; i++) col[t.list[i]] = 0;
  t.count = 0;
  const stage = settings.features.stages.social_rewards;
  if (stage === "OFF") return;
  const s = settings.rewards.social;
  const base = s.C1_chat_base;
  const uid = world.columns(Agent).uid;
  const N = world.components.isRegistered(Needs) ? (world.columns(Needs) as unknown as Record<string, Float32Array>) : undefined;
  // Pushed, not Array.prototype.map: map's result had one elements kind from the builtin and
  // another from gather's optimised code, so chatOverride, optimised on the first, deoptimised
  // on the second (#19, ticks 9-10 at 100k agents).
  const needs: Float32Array[] = [];
  if (N !== undefined) for (const n of needTable(settings).names) needs.push(N[n]);

  // Agent membership by its flags (world.isAgent looks the store up on every call), the
  // ledger's arrays and the coefficients read once (issue #19: this gather is the part of
  // rewards/compute that grows with the tick's chats; most of a chat's cost is the cache misses
  // of its two ledger lookups).
  const isA = world.components.flags(Agent);
  const other = ledger.other;
  const trustOf = ledger.trust;
  const famOf = ledger.familiarity;
  const K = ledger.maxEdges;
  const cTrust = s.C1_coeff_trust;
  const cFam = s.C1_coeff_fam;
  const ok = read(ChatSuccess);
  const speaker = ok.speaker;
  const listener = ok.listener;
  for (let i = ok.start; i < ok.end; i++) {
    const q = ok.quality[i];
    const quality = q < 0 ? 0 : q > 1 ? 1 : q;
    // Each side: the subject's edge toward the other (ledger.find: the first slot holding its uid).
    for (let side = 0; side < 2; side++) {
      const subject = side === 0 ? speaker[i] : listener[i];
      const to = side === 0 ? listener[i] : speaker[i];
      if (isA[subject] !== 1 || chatOverride(needs, subject)) continue;
      let trust = 0;
      let fam = 0;
      const at = isA[to] === 1 ? ledger.base(subject) : -1;
      if (at >= 0) {
        const u = uid[to];
        for (let k = at, end = at + K; k < end; k++) {
          if (other[k] === u) {
            trust = trustOf[k];
            fam = famOf[k];
            break;
          }
        }
      }
      add(col, t, subject, (base + cTrust * trust + cFam * fam) * quality);
    }
  }
  const bad = read(ChatFailure);
  for (let i = bad.start; i < bad.end; i++) {
    if (isA[bad.speaker[i]] === 1) add(col, t, bad.speaker[i], -0.5 * base);
    if (isA[bad.listener[i]] === 1) add(col, t, bad.listener[i], -0.25 * base);
  }
  if (stage === "C1") return;
  const avoid = read(GuardrailBlock);
  for (let i = avoid.start; i < avoid.end; i++) if (isA[avoid.agent[i]] === 1) add(col, t, avoid.agent[i], s.C2_avoid_conflict);
}
