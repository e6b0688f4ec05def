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

  /** The decay kernel for the ledger's arrays now, remade when one moved. */
  decay(isAgent: Uint8Array): DecayKernel {
    const L = this.ledger;
    const m = this.decayFor;
    if (
      this.decayKernel === undefined ||
      m === undefined ||
      m.other !== L.other ||
      m.rivalry !== L.rivalry ||
      m.trust !== L.trust ||
      m.familiarity !== L.familiarity ||
      m.count !== L.count ||
      m.hot !== L.hot ||
      m.hotList !== L.hotList ||
      m.isAgent !== isAgent
    ) {
      const arrays: DecayArrays = { other: L.other, rivalry: L.rivalry, trust: L.trust, familiarity: L.familiarity, count: L.count, hot: L.hot, hotList: L.hotList, isAgent };
      this.decayFor = arrays;
      this.decayKernel = freshCopy(decayFactory)(L, arrays);
    }
    return this.decayKernel;
  }
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
        const rival = (a: number, b: number, delta: number) => {
          if (isA[a] !== 1 || isA[b] !== 1 || a === b) return;
          const s = L.slot(a, uid[b], delta);
          if (s < 0) return;
          L.rivalry[s] = clamp(L.rivalry[s] + delta, r.min_value, r.max_value);
        };
        // One direction of a relationship event (x's edge to y).
        const relateEdge = (x: number, y: number, trust: number, fam: number, riv: number) => {
          const s = L.slot(x, uid[y], Math.abs(trust) + Math.abs(fam) + Math.max(0, riv));
          if (s < 0) return;
          L.trust[s] = clamp(L.trust[s] + trust, -1, 1);
          L.familiarity[s] = clamp(L.familiarity[s] + fam, -1, 1);
          L.rivalry[s] = clamp(L.rivalry[s] + riv, r.min_value, r.max_value);
        };
        // Both directions, a's edge first (two calls, not a loop over [[a, b], [b, a]]: that
        // allocated three arrays per event, ~80 KB a tick at 100k agents, issue #19).
        const relate = (a: number, b: number, trust: number, fam: number, riv: number) => {
          if (!relationships || isA[a] !== 1 || isA[b] !== 1 || a === b) return;
          relateEdge(a, b, trust, fam, riv);
          relateEdge(b, a, trust, fam, riv);
        };
        const qc = read(QueueConflict);
        for (let i = qc.start; i < qc.end; i++) {
          const a = qc.actor[i];
          const b = qc.rival[i];
          const delta = r.increment_per_conflict * qc.intensity[i];
          rival(a, b, delta);
          rival(b, a, delta);
          state.conflicts++;
          if (isA[a] === 1 && isA[b] === 1) {
            state.events.push({ tick, a: uid[a], b: uid[b], intensity: qc.intensity[i], reason: world.text(qc.reason[i]) });
            if (state.events.length > MAX_EVENTS) state.events.shift();
          }
        }
        const ho = read(QueueHandover);
        for (let i = ho.start; i < ho.end; i++) relate(ho.actor[i], ho.rival[i], 0.05, 0.05, -0.05);
        const ok = read(ChatSuccess);
        for (let i = ok.start; i < ok.end; i++) {
          const q = clamp(ok.quality[i], 0, 1);
          relate(ok.speaker[i], ok.listener[i], 0.05 * q, 0.1 * q, 0);
        }
        const bad = read(ChatFailure);
        for (let i = bad.start; i < bad.end; i++) relate(bad.speaker[i], bad.listener[i], 0, -0.05, 0.05);

        // Decay rivalry; an edge with nothing left is forgotten. Only the ledger's hot entities
        // are visited (issue #19): an edge whose rivalry is at min_value and whose trust or
        // familiarity is non-zero is at rest (decay leaves it as it is and it cannot be evicted),
        // and every edge that changes otherwise goes through slot(), which marks its entity.
        // Edges are independent, so the order of visits does not matter. A kernel generated per
        // world over the ledger's arrays (decay.ts).
        const decay = state.decay(isA);
        L.hotCount = decay(L.hotCount, L.maxEdges, r.decay_per_tick, r.min_value, Math.fround(r.min_value), r.eviction_threshold);
      },
    },
  ],
});

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
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
