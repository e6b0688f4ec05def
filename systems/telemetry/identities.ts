// Stable published ids for the telemetry stream: an agent's id (a salted hash in privacy mode)
// and back, and the names of agents as of the last publish, so that events about agents removed
// since still name the agent they were.
import { createHash } from "node:crypto";
import type { World } from "../../engine/world.ts";
import { Agent } from "../../engine/core-components.ts";
import type { TelemetryConfig } from "./config.ts";

export class AgentIds {
  // Stable names per entity as of the last publish (events about agents removed since use them).
  private knownUid = new Int32Array(0);
  private knownName: (string | undefined)[] = [];
  private knownList = new Int32Array(0);
  private knownCount = 0;
  private namedUids = new Map<number, string>();
  private hashCache = new Map<string, string>();
  private unhash = new Map<string, string>();

  constructor(
    private readonly world: World,
    private readonly cfg: TelemetryConfig,
  ) {}

  /** The published id of a live agent entity, by its name as of the last refresh. */
  known(eid: number): string {
    return this.publicId(this.knownName[eid]!);
  }

  /** The id published for an agent name (a salted hash in privacy mode). */
  publicId(name: string): string {
    if (!this.cfg.privacy.hash_agent_ids) return name;
    let h = this.hashCache.get(name);
    if (h === undefined) {
      h = "anon_" + createHash("sha256").update(`${this.cfg.privacy.salt}\u0000${name}`).digest("hex").slice(0, 16);
      this.hashCache.set(name, h);
      this.unhash.set(h, name);
    }
    return h;
  }

  /** The live agent entity behind a published id, or -1. */
  agentByPublicId(id: string): number {
    if (!this.cfg.privacy.hash_agent_ids) return this.world.agentEid(id);
    let name = this.unhash.get(id);
    if (name === undefined) {
      // Hash every live agent once (rare: a subscription to an agent not yet seen).
      const agents = this.world.agents;
      for (let i = 0; i < agents.length; i++) this.publicId(this.world.agentName(agents[i]));
      name = this.unhash.get(id);
    }
    return name === undefined ? -1 : this.world.agentEid(name);
  }

  /** Name of an agent entity in an event: the agent it was at the last publish, unless `uid` says otherwise. */
  eventAgent(eid: number, uid: number | undefined): string | null {
    const w = this.world;
    const alive = w.isAgent(eid);
    const liveUid = alive ? w.columns(Agent).uid[eid] : -1;
    if (uid !== undefined) {
      if (eid < this.knownUid.length && this.knownUid[eid] === uid) return this.publicId(this.knownName[eid]!);
      if (alive && liveUid === uid) return this.publicId(w.agentName(eid));
      return this.publicId(this.namedUids.get(uid) ?? `agent_${uid}`);
    }
    if (eid < this.knownUid.length && this.knownUid[eid] >= 0) return this.publicId(this.knownName[eid]!);
    if (alive) return this.publicId(w.agentName(eid));
    return null;
  }

  /** Refreshes the names known per entity (after the events that may name agents gone since). */
  refresh(): void {
    const w = this.world;
    const agents = w.agents;
    const uid = w.columns(Agent).uid;
    const max = w.maxEntityId() + 1;
    if (this.knownUid.length < max) {
      const g = new Int32Array(Math.max(16, max * 2)).fill(-1);
      g.set(this.knownUid);
      this.knownUid = g;
    }
    // Entities known before and no longer agents: forget them (a merge over two sorted lists).
    let j = 0;
    for (let i = 0; i < this.knownCount; i++) {
      const e = this.knownList[i];
      while (j < agents.length && agents[j] < e) j++;
      if (j < agents.length && agents[j] === e) continue;
      const name = this.knownName[e];
      if (name !== undefined) this.forget(name, this.knownUid[e]);
      this.knownUid[e] = -1;
      this.knownName[e] = undefined;
    }
    for (let i = 0; i < agents.length; i++) {
      const e = agents[i];
      const u = uid[e];
      if (this.knownUid[e] !== u) {
        const old = this.knownName[e];
        if (old !== undefined) this.forget(old, this.knownUid[e]);
        this.knownUid[e] = u;
        const name = w.agentName(e);
        this.knownName[e] = name;
        if (name !== `agent_${u}`) this.namedUids.set(u, name);
      }
    }
    if (this.knownList.length < agents.length) this.knownList = new Int32Array(Math.max(16, agents.length * 2));
    this.knownList.set(agents);
    this.knownCount = agents.length;
  }

  private forget(name: string, uid: number): void {
    const h = this.hashCache.get(name);
    if (h !== undefined) {
      this.hashCache.delete(name);
      this.unhash.delete(h);
    }
    this.namedUids.delete(uid);
  }
}
