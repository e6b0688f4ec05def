// The per-term breakdown of the rewards (issue #19): what each term added to each agent's reward
// in one tick (survival, the declared terms, shaping, curiosity, the terminal penalty, what the
// clips removed). It is derived, not state: the Reward component keeps only what the next tick
// needs (total, episode, potential, primed), and the breakdown is recorded, in plain Float32
// columns of the rewards plug-in (not hashed, not snapshotted), only in ticks that start with some
// consumer asking for it (RewardsState.wantBreakdown: telemetry while a client watches an agent,
// the evaluation harness, tests). Nobody asking: the fused pass writes none of it and the columns
// are not even allocated.

/** The breakdown columns the rewards plug-in writes itself (no declared term may record into them). */
export const OWN_BREAKDOWN = ["survival", "shaping", "curiosity", "terminal", "clip_adjustment"] as const;

/** The columns a declared term may name as its `breakdown` (the core terms' columns). */
export const TERM_BREAKDOWN = ["needs_penalty", "wage", "punctuality", "social"] as const;

/**
 * The order the breakdown is published in (telemetry's reward_breakdown, between `total` and
 * `episode`); terms recorded under their own name follow, in declaration order.
 */
export const BREAKDOWN_ORDER = ["survival", "needs_penalty", "wage", "punctuality", "social", "shaping", "curiosity", "terminal", "clip_adjustment"] as const;

/** One tick's breakdown: a Float32 column per term, indexed by entity id. */
export class RewardBreakdown {
  /** The tick the columns were last recorded in (-1: never). */
  tick = -1;
  private readonly cols = new Map<string, Float32Array>();

  /** `names`: every column this world records (its own, then each declared term's). */
  constructor(readonly names: readonly string[]) {}

  /** The columns, sized for entity ids below `size` (grown, their values kept, when the store grew). */
  ensure(size: number): void {
    for (const name of this.names) {
      const old = this.cols.get(name);
      if (old !== undefined && old.length >= size) continue;
      const grown = new Float32Array(size);
      if (old !== undefined) grown.set(old);
      this.cols.set(name, grown);
    }
  }

  /** The column of `name` (ensure first); throws for a name this world does not record. */
  column(name: string): Float32Array {
    const col = this.cols.get(name);
    if (col === undefined) throw new Error(`reward breakdown: no column "${name}" (this world records ${this.names.join(", ")})`);
    return col;
  }

  /** The column of `name` if this world records it and it was recorded in `tick`, else undefined. */
  at(name: string, tick: number): Float32Array | undefined {
    return this.tick === tick ? this.cols.get(name) : undefined;
  }

  /** Whether the columns hold `tick`'s breakdown. */
  recordedAt(tick: number): boolean {
    return this.tick === tick && this.cols.size > 0;
  }

  /** Bytes held by the columns. */
  get bytes(): number {
    let n = 0;
    for (const c of this.cols.values()) n += c.byteLength;
    return n;
  }

  /** Frees the columns (nobody asks any more); the next recording allocates them again. */
  release(): void {
    this.cols.clear();
    this.tick = -1;
  }
}
