// Social (phase needs, set NeedsSets.Social): rivalry and relationships between agents. Reads
// this tick's queue conflicts, handovers and chats; decays rivalry; keeps at most
// conflict.rivalry.max_edges edges per agent. Behaviour, observations and rewards read the
// ledger through `ctx.resource(SocialKey).ledger` (components/social.ts).
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { StateHasher } from "../../engine/hash.ts";
import { Agent } from "../../engine/core-components.ts";
import { SocialLedger, SocialKey } from "../../components/social.ts";
import { NeedsSets } from "../../components/sets.ts";
import { ChatFailure, ChatSuccess, QueueConflict, QueueHandover } from "../../components/messages.ts";
import { socialCommands } from "./commands.ts";
import { socialTelemetry } from "./telemetry.ts";
import { socialObservations } from "./observations.ts";
import { socialRewardTerms } from "./reward.ts";
import { freshCopy } from "../../engine/kernel-source.ts";
import { decayFactory, type DecayArrays, type DecayKernel } from "./decay.ts";
import { relateFactory, type RelateArrays, type RelateKernel } from "./relate.ts";

export interface RivalryEvent {
  tick: number;
  a: number;
  b: number;
  intensity: number;
  reason: string;
}

export class SocialState implements PersistentState {
  ledger: SocialLedger;
  /** The last 256 rivalry events (uids), for telemetry. */
  events: RivalryEvent[] = [];
  conflicts = 0;
  /** The decay kernel (decay.ts) and the arrays it was made for (not state). */
  private decayKernel: DecayKernel | undefined;
  private decayFor: DecayArrays | undefined;
  /** The relationship-event kernel (relate.ts) and the arrays it was made for (not state). */
  private relateKernel: RelateKernel | undefined;
  private relateFor: RelateArrays | undefined;
  /** Rivalry's bounds for the kernel (kept while the settings stay the same). */
  private rivalryBounds: RivalryBounds | undefined;
  constructor(maxEdges: number, capacity: number) {
    this.ledger = new SocialLedger(maxEdges, capacity);
  }
  save(): unknown {
    return { ledger: this.ledger.save(), events: this.events, conflicts: this.conflicts };
  }
  load(data: unknown): void {
    const d = data as { ledger: unknown; events: RivalryEvent[]; conflicts: number };
    this.ledger.load(d.ledger);
    this.events = d.events.map((e) => ({ ...e }));
    this.conflicts = d.conflicts;
  }
  hash(h: StateHasher): void {
    this.ledger.hash(h);
    h.u32(this.conflicts).u32(this.events.length);
  }

  /** Whether one of the ledger's arrays a kernel was made for (`m`) has moved since (the pool grew). */
  private ledgerMoved(m: Pick<DecayArrays, "other" | "rivalry" | "trust" | "familiarity" | "count" | "hot">): boolean {
    const L = this.ledger;
    return m.other !== L.other || m.rivalry !== L.rivalry || m.trust !== L.trust || m.familiarity !== L.familiarity || m.count !== L.count || m.hot !== L.hot;
  }

  /** The decay kernel for the ledger's arrays now, remade when one moved. */
  decay(isAgent: Uint8Array): DecayKernel {
    const L = this.ledger;
    const m = this.decayFor;
    if (this.decayKernel === undefined || m === undefined || this.ledgerMoved(m) || m.hotList !== L.hotList || m.isAgent !== isAgent) {
      const arrays: DecayArrays = { other: L.other, rivalry: L.rivalry, trust: L.trust, familiarity: L.familiarity, count: L.count, hot: L.hot, hotList: L.hotList, isAgent };
      this.decayFor = arrays;
      this.decayKernel = freshCopy(decayFactory)(L, arrays);
    }
    return this.decayKernel;
  }

  /** The relationship-event kernel for the ledger's arrays now, remade when one moved. */
  relate(isAgent: Uint8Array, uid: Uint32Array): RelateKernel {
    const L = this.ledger;
    const m = this.relateFor;
    if (this.relateKernel === undefined || m === undefined || this.ledgerMoved(m) || m.isAgent !== isAgent || m.uid !== uid) {
      const arrays: RelateArrays = { other: L.other, rivalry: L.rivalry, trust: L.trust, familiarity: L.familiarity, count: L.count, hot: L.hot, isAgent, uid };
      this.relateFor = arrays;
      this.relateKernel = freshCopy(relateFactory)(L, arrays);
    }
    return this.relateKernel;
  }

  /** Rivalry's range and rest value for the settings `r` (the same object while they stay the same). */
  bounds(r: { min_value: number; max_value: number; decay_per_tick: number }): RivalryBounds {
    const b = this.rivalryBounds;
    if (b !== undefined && b.min === r.min_value && b.max === r.max_value && b.decay === r.decay_per_tick) return b;
    return (this.rivalryBounds = rivalryBounds(r));
  }

  /**
   * Relationship events [start, end) of one channel through the kernel (relate.ts), remade and
   * called again from where it stopped whenever an entity's first edge moved the ledger's arrays.
   */
  relateAll(isAgent: Uint8Array, uid: Uint32Array, src: Float64Array, dst: Float64Array, quality: Float64Array, useQ: number, start: number, end: number, tc: number, fc: number, rc: number, r: RivalryBounds): void {
    let at = 2 * start;
    while (at < 2 * end) at = this.relate(isAgent, uid)(src, dst, quality, useQ, at, end, tc, fc, rc, r.min, r.max, r.rest, r.settles);
  }
}

/** Rivalry's range, its rest value and whether the decay leaves the rest value as it is. */
interface RivalryBounds {
  min: number;
  max: number;
  decay: number;
  /** The rest value as the ledger holds it (Float32). */
  rest: number;
  /** 1 when a decay pass rewrites the rest value unchanged (relate.ts then leaves edges at rest off the hot list). */
  settles: number;
}

function rivalryBounds(r: { min_value: number; max_value: number; decay_per_tick: number }): RivalryBounds {
  const rest = Math.fround(r.min_value);
  const v = rest - r.decay_per_tick;
  const after = Math.fround(v < r.min_value ? r.min_value : v);
  return { min: r.min_value, max: r.max_value, decay: r.decay_per_tick, rest, settles: Object.is(after, rest) ? 1 : 0 };
}

const MAX_EVENTS = 256;

export const socialPlugin = definePlugin({
  name: "social",
  telemetry: socialTelemetry,
  observations: socialObservations,
  rewardTerms: socialRewardTerms,
  commands: socialCommands,
  provides: [SocialKey],
  doc: "rivalry ledger and relationships (trust, familiarity)",
  // Per-agent rows: agents take the low entity ids (issue #19); the ledger grows past on a higher one.
  state: (world: World) => new SocialState(world.settings.conflict.rivalry.max_edges, world.agentIdLimit()),
  onAgentRemove({ state }, eid) {
    state.ledger.clear(eid);
  },
  kpis({ world, state }) {
    const agents = world.agents;
    const avoid = world.settings.conflict.rivalry.avoid_threshold;
    let maxSum = 0;
    let maxMax = 0;
    let avoidSum = 0;
    let avoidMax = 0;
    for (let i = 0; i < agents.length; i++) {
      const m = state.ledger.maxRivalry(agents[i]);
      const c = state.ledger.countAbove(agents[i], avoid);
      maxSum += m;
      if (m > maxMax) maxMax = m;
      avoidSum += c;
      if (c > avoidMax) avoidMax = c;
    }
    const n = Math.max(1, agents.length);
    return {
      rivalry: { max_mean: maxSum / n, max_max: maxMax, avoid_count_mean: avoidSum / n, avoid_count_max: avoidMax, conflicts: state.conflicts },
    };
  },
  systems: [
    {
      name: "social/update",
      phase: "needs",
      sets: [NeedsSets.Social],
      after: [NeedsSets.Employment],
      reads: ["queue_conflict", "queue_interaction", "chat_success", "chat_failure"],
      writes: ["social ledger"],
      run({ world, tick, agents, state, read, settings }) {
        const L = state.ledger;
        if (agents.length > 0) L.ensure(agents[agents.length - 1] + 1);
        const r = settings.conflict.rivalry;
        const relationships = settings.features.stages.relationships !== "OFF";
        const uid = world.columns(Agent).uid;
        // Agent membership by its flags (world.isAgent looks the store up on every call).
        const isA = world.components.flags(Agent);
        const qc = read(QueueConflict);
        for (let i = qc.start; i < qc.end; i++) {
          const a = qc.actor[i];
          const b = qc.rival[i];
          const delta = r.increment_per_conflict * qc.intensity[i];
          rival(L, isA, uid, a, b, delta, r.min_value, r.max_value);
          rival(L, isA, uid, b, a, delta, r.min_value, r.max_value);
          state.conflicts++;
          if (isA[a] === 1 && isA[b] === 1) {
            state.events.push({ tick, a: uid[a], b: uid[b], intensity: qc.intensity[i], reason: world.text(qc.reason[i]) });
            if (state.events.length > MAX_EVENTS) state.events.shift();
          }
        }
        // Relationship events, both directions each (the first's edge first), through the
        // kernel (relate.ts): handovers, chats (trust and familiarity by quality), failed chats.
        const ho = read(QueueHandover);
        const ok = read(ChatSuccess);
        const bad = read(ChatFailure);
        if (relationships) {
          const bounds = state.bounds(r);
          state.relateAll(isA, uid, ho.actor, ho.rival, ok.quality, 0, ho.start, ho.end, 0.05, 0.05, -0.05, bounds);
          state.relateAll(isA, uid, ok.speaker, ok.listener, ok.quality, 1, ok.start, ok.end, 0.05, 0.1, 0, bounds);
          state.relateAll(isA, uid, bad.speaker, bad.listener, ok.quality, 0, bad.start, bad.end, 0, -0.05, 0.05, bounds);
        }

        // Decay rivalry; an edge with nothing left is forgotten. Only the ledger's hot entities
        // are visited (issue #19): an edge whose rivalry is at min_value and whose trust or
        // familiarity is non-zero is at rest (decay leaves it as it is and it cannot be evicted),
        // and every edge that changes otherwise goes through slot(), which marks its entity, or
        // through the relate kernel, which marks it unless the event left the edge at rest
        // (relate.ts). Edges are independent, so the order of visits does not matter. A kernel
        // generated per world over the ledger's arrays (decay.ts).
        const decay = state.decay(isA);
        L.hotCount = decay(L.hotCount, L.maxEdges, r.decay_per_tick, r.min_value, Math.fround(r.min_value), r.eviction_threshold);
      },
    },
  ],
});

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Rivalry from a queue conflict, a's edge to b (both live agents, not the same). */
function rival(L: SocialLedger, isA: Uint8Array, uid: Uint32Array, a: number, b: number, delta: number, lo: number, hi: number): void {
  if (isA[a] !== 1 || isA[b] !== 1 || a === b) return;
  const s = L.slot(a, uid[b], delta);
  if (s < 0) return;
  L.rivalry[s] = clamp(L.rivalry[s] + delta, lo, hi);
}

/** Rivalry as the telemetry sample has it: { agent: { other: value } } (edges above 0). */
export function rivalrySnapshot(world: World): Record<string, Record<string, number>> {
  const L = world.state<SocialState>("social").ledger;
  const out: Record<string, Record<string, number>> = {};
  const agents = world.agents;
  const byUid = new Map<number, number>();
  const uid = world.columns(Agent).uid;
  for (let i = 0; i < agents.length; i++) byUid.set(uid[agents[i]], agents[i]);
  for (let i = 0; i < agents.length; i++) {
    const e = agents[i];
    const base = L.base(e);
    for (let k = 0; base >= 0 && k < L.maxEdges; k++) {
      const s = base + k;
      if (L.other[s] === -1 || L.rivalry[s] <= 0) continue;
      const other = byUid.get(L.other[s]);
      const name = other !== undefined ? world.agentName(other) : `agent_${L.other[s]}`;
      (out[world.agentName(e)] ??= {})[name] = L.rivalry[s];
    }
  }
  return out;
}
