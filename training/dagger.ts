// The behaviour-cloning pool of DAgger (Ross, Gordon and Bagnell 2011, "A Reduction of Imitation
// Learning and Structured Prediction to No-Regret Online Learning"): the recorded scripted play,
// plus every state the learned policy has since visited where the scripted controller, run on the
// same state, made a choice (its label). A clone trained on the recording alone drifts into states
// the recording never shows (an agent hungrier than the scripted controller ever lets one get) and
// does not know what to do there; the pool teaches it. Rows are kept in preallocated arrays; the
// recording stays, the visited rows form a ring that overwrites its oldest rows when full.
import type { Dataset } from "./dataset.ts";
import type { UpdateBatch } from "./ppo.ts";
import type { RolloutBuffer } from "./rollout.ts";

export class LabelPool implements UpdateBatch {
  /** Rows in the pool (recording + visited). */
  count = 0;
  readonly obs: Float32Array;
  readonly masks: Uint8Array;
  readonly actions: Int32Array;
  /** Unused by behaviour cloning (it has no PPO rows); zeros. */
  readonly logp: Float32Array;
  /** Value targets double as the "old values" (the BC update does not clip the value). */
  readonly values: Float32Array;
  readonly advantages: Float32Array;
  readonly returns: Float32Array;
  /** All 0: every row is a behaviour-cloning row. */
  readonly ppoRows: Uint8Array;
  /** Rows of the recording (never overwritten). */
  private base = 0;
  /** Next ring slot for a visited row (from `base` to `capacity`). */
  private cursor = 0;
  /** Visited rows added since the pool was made (including overwritten ones). */
  added = 0;
  /** Bumped whenever rows change (the optimiser's device copy follows it). */
  version = 0;

  constructor(
    readonly obsSize: number,
    readonly actionCount: number,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a label pool needs a capacity >= 1 row, got ${capacity}`);
    this.obs = new Float32Array(capacity * obsSize);
    this.masks = new Uint8Array(capacity * actionCount);
    this.actions = new Int32Array(capacity);
    this.logp = new Float32Array(capacity);
    this.values = new Float32Array(capacity);
    this.advantages = new Float32Array(capacity);
    this.returns = new Float32Array(capacity);
    this.ppoRows = new Uint8Array(capacity);
  }

  /** Starts the pool with a recording (kept for good). Must come before any visited rows. */
  addRecording(d: Dataset): void {
    if (this.count > 0) throw new Error("the recording goes into an empty label pool");
    if (d.obsSize !== this.obsSize || d.actionCount !== this.actionCount) {
      throw new Error(`the recording has ${d.obsSize} floats and ${d.actionCount} actions per row, the pool ${this.obsSize} and ${this.actionCount}`);
    }
    const n = Math.min(d.count, this.capacity);
    this.obs.set(d.obs.subarray(0, n * this.obsSize));
    this.masks.set(d.masks.subarray(0, n * this.actionCount));
    this.actions.set(d.actions.subarray(0, n));
    this.returns.set(d.returns.subarray(0, n));
    this.values.set(d.returns.subarray(0, n));
    this.base = n;
    this.cursor = n;
    this.count = n;
    this.version++;
  }

  /** Adds the labelled rows of a rollout (after GAE: its returns are the value targets); returns how many. */
  addVisited(b: RolloutBuffer): number {
    if (b.obsSize !== this.obsSize || b.actionCount !== this.actionCount) throw new Error("the rollout's rows do not fit the label pool");
    if (this.base >= this.capacity) return 0;
    const D = this.obsSize;
    const A = this.actionCount;
    let added = 0;
    for (let k = 0; k < b.count; k++) {
      const label = b.labels[k];
      if (label < 0) continue;
      const r = this.cursor;
      this.obs.set(b.obs.subarray(k * D, k * D + D), r * D);
      this.masks.set(b.masks.subarray(k * A, k * A + A), r * A);
      this.actions[r] = label;
      this.returns[r] = b.returns[k];
      this.values[r] = b.returns[k];
      this.cursor = r + 1 >= this.capacity ? this.base : r + 1;
      if (this.count < this.capacity) this.count++;
      added++;
    }
    this.added += added;
    if (added > 0) this.version++;
    return added;
  }
}
