// The policy the batch env drives (env/vector.ts): actions set from outside (ExternalPolicy), and
// per entity the stamp of the tick at which its action was read and at which it was refused.
import type { World } from "../engine/world.ts";
import { ExternalPolicy, KEEP, type ObservationBatch } from "../systems/policy/index.ts";

/** The ExternalPolicy the env drives; records which agents could choose and which choices were refused. */
export class EnvPolicy extends ExternalPolicy {
  /** Set by the env before each tick; never repeats across resets. */
  stamp = 0;
  takenAt: Int32Array<ArrayBuffer> = new Int32Array(16);
  invalidAt: Int32Array<ArrayBuffer> = new Int32Array(16);

  override act(world: World, obs: ObservationBatch | undefined, masks: Uint8Array, agents: Int32Array, out: Int32Array): void {
    super.act(world, obs, masks, agents, out);
    const n = agents.length;
    if (n === 0) return;
    const A = masks.length / n;
    const need = world.maxEntityId() + 1;
    if (this.takenAt.length < need) {
      this.takenAt = grow(this.takenAt, need);
      this.invalidAt = grow(this.invalidAt, need);
    }
    // The same test as applyActions (systems/policy), which then replaces the action by wait.
    for (let i = 0; i < n; i++) {
      const a = out[i];
      if (a === KEEP) continue;
      const eid = agents[i];
      this.takenAt[eid] = this.stamp;
      if (!(a >= 0 && a < A) || masks[i * A + a] === 0) this.invalidAt[eid] = this.stamp;
    }
  }
}

function grow(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const g = new Int32Array(Math.max(16, n * 2));
  g.set(a);
  return g;
}
