// Agent ids, a part of the world (engine/world.ts): the uids a world hands out (uidBase + n, at
// most uidLimit of them), where each live agent's entity is (uid -> entity), and the names agents
// were given. An agent's external id is its name, or `agent_<uid>`.
import { UidIndex } from "./entities.ts";

/** Throws unless `base`/`limit` are a valid uid range (0 <= base, base + limit <= 2^32). */
export function checkUidRange(base: number, limit: number): void {
  if (!Number.isInteger(base) || base < 0 || !Number.isInteger(limit) || limit < 1 || base + limit > 2 ** 32) {
    throw new RangeError(`uidBase/uidLimit must be integers with 0 <= base and base + limit <= 2^32, got ${base}/${limit}`);
  }
}

export class AgentIds {
  /** Uids handed out so far: the next agent's uid is base + next. */
  next = 0;
  /** Chosen names by uid (agents without one are `agent_<uid>`). */
  names = new Map<number, string>();
  private byName = new Map<string, number>();
  private eids: UidIndex;

  /** `hint`: agents expected, to size the uid -> entity index up front. */
  constructor(
    readonly base: number,
    readonly limit: number,
    hint: number,
  ) {
    this.eids = new UidIndex(base, hint);
  }

  /** Checks a requested name and the id budget, then hands out the next uid. */
  claim(name?: string): number {
    if (name !== undefined) {
      if (this.byName.has(name)) throw new Error(`an agent named "${name}" already exists`);
      if (/^agent_\d+$/.test(name)) throw new Error(`agent name "${name}" is reserved for default ids (agent_<n>); choose another`);
    }
    if (this.next >= this.limit) throw new RangeError(`this world has handed out all of its ${this.limit} agent ids`);
    return this.base + this.next++;
  }

  /** Records a new live agent: its entity and, when given, its name. */
  place(uid: number, eid: number, name?: string): void {
    this.eids.set(uid, eid);
    if (name !== undefined) {
      this.names.set(uid, name);
      this.byName.set(name, uid);
    }
  }

  /** Forgets a removed agent's entity (its name stays taken, as before). */
  forget(uid: number): void {
    this.eids.delete(uid);
  }

  /** The external id of the agent with `uid`: its name, or `agent_<uid>`. */
  name(uid: number): string {
    return this.names.get(uid) ?? `agent_${uid}`;
  }

  /** The entity of a live agent by external id, or -1. */
  eid(name: string): number {
    let uid = this.byName.get(name);
    if (uid === undefined) {
      const m = /^agent_(0|[1-9]\d*)$/.exec(name);
      if (!m) return -1;
      uid = Number(m[1]);
      if (this.names.has(uid)) return -1;
    }
    return this.eids.get(uid);
  }

  /** [uid, name] pairs in uid order (what a snapshot carries). */
  namedList(): [number, string][] {
    return [...this.names.entries()].sort((a, b) => a[0] - b[0]);
  }

  /**
   * Replaces the ids with saved ones: `next`, the names, and the uid -> entity index re-derived
   * from the Agent columns (`isAgent` flags and `uid` column, entities 1..maxId).
   */
  restore(next: number, names: readonly [number, string][], isAgent: Uint8Array, uid: ArrayLike<number>, maxId: number): void {
    this.next = next;
    this.names = new Map(names);
    this.byName = new Map(names.map(([u, n]) => [n, u]));
    this.eids = new UidIndex(this.base, next);
    for (let eid = 1; eid <= maxId; eid++) if (isAgent[eid] === 1) this.eids.set(uid[eid], eid);
  }
}
