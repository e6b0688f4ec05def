// The rows of a batch env's result: one typed array per field, grown (never shrunk) to the rows
// a step needs, and the views a step's result hands out. Shared by the one-world env
// (env/vector.ts) and the sharded one (env/sharded.ts), which fill the same arrays their own ways.
import type { VectorStep } from "./vector.ts";

export class StepRows {
  cap = 0;
  eidBuf = new Int32Array(0);
  uidBuf = new Uint32Array(0);
  obsBuf = new Float32Array(0);
  maskBuf = new Uint8Array(0);
  rewardBuf = new Float32Array(0);
  termBuf = new Uint8Array(0);
  truncBuf = new Uint8Array(0);
  takenBuf = new Uint8Array(0);
  invalidBuf = new Uint8Array(0);
  /** The ids last handed out (a result carries `ids` only when they changed). */
  private lastIds: string[] = [];

  constructor(
    private readonly observationSize: number,
    private readonly actionCount: number,
  ) {}

  /**
   * Room for n rows; true when the arrays grew. Rows of the previous result are read while a step
   * writes the new ones, so ids, uids and the done/taken/invalid flags keep their values;
   * rewards, observations and masks are rewritten by every step.
   */
  ensure(n: number): boolean {
    if (n <= this.cap) return false;
    const cap = Math.max(16, n * 2);
    this.eidBuf = growInt32(this.eidBuf, cap);
    this.uidBuf = growUint32(this.uidBuf, cap);
    this.termBuf = growUint8(this.termBuf, cap);
    this.truncBuf = growUint8(this.truncBuf, cap);
    this.takenBuf = growUint8(this.takenBuf, cap);
    this.invalidBuf = growUint8(this.invalidBuf, cap);
    this.rewardBuf = new Float32Array(cap);
    this.obsBuf = new Float32Array(cap * this.observationSize);
    this.maskBuf = new Uint8Array(cap * this.actionCount);
    this.cap = cap;
    return true;
  }

  /** A result of no rows, over these arrays (a step's result object, reused by every step). */
  empty(): VectorStep {
    return {
      count: 0,
      agents: this.eidBuf,
      uids: this.uidBuf,
      ids: undefined,
      obs: this.obsBuf,
      masks: this.maskBuf,
      rewards: this.rewardBuf,
      terminated: this.termBuf,
      truncated: this.truncBuf,
      taken: this.takenBuf,
      invalid: this.invalidBuf,
      joined: 0,
      exits: [],
      invalidTotal: 0,
    };
  }

  /** Points `r` at rows [0, n); `ids` only when `names` differ from the last ones handed out (or `force`). */
  view(r: VectorStep, n: number, joined: number, invalidTotal: number, names: readonly string[], force: boolean): VectorStep {
    const D = this.observationSize;
    const A = this.actionCount;
    r.count = n;
    r.agents = this.eidBuf.subarray(0, n);
    r.uids = this.uidBuf.subarray(0, n);
    r.obs = this.obsBuf.subarray(0, n * D);
    r.masks = this.maskBuf.subarray(0, n * A);
    r.rewards = this.rewardBuf.subarray(0, n);
    r.terminated = this.termBuf.subarray(0, n);
    r.truncated = this.truncBuf.subarray(0, n);
    r.taken = this.takenBuf.subarray(0, n);
    r.invalid = this.invalidBuf.subarray(0, n);
    r.joined = joined;
    r.invalidTotal = invalidTotal;
    let changed = force || this.lastIds.length !== n;
    for (let i = 0; !changed && i < n; i++) changed = this.lastIds[i] !== names[i];
    if (changed) this.lastIds = names.slice();
    r.ids = changed ? this.lastIds : undefined;
    return r;
  }
}

/** A larger copy of `a` (its values kept). */
export function growInt32(a: Int32Array, cap: number): Int32Array<ArrayBuffer> {
  const g = new Int32Array(cap);
  g.set(a);
  return g;
}

function growUint32(a: Uint32Array, cap: number): Uint32Array<ArrayBuffer> {
  const g = new Uint32Array(cap);
  g.set(a);
  return g;
}

function growUint8(a: Uint8Array, cap: number): Uint8Array<ArrayBuffer> {
  const g = new Uint8Array(cap);
  g.set(a);
  return g;
}
