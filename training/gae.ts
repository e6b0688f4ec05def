// Generalised advantage estimation over decisions, and the reward/advantage correlation the
// epoch log reports.
//
// Decisions, not ticks: an agent chooses an option only when its commitment window is open, so
// a transition runs from one decision to the agent's next one and spans k ticks. Its reward is
// the discounted sum of the k per-tick rewards and its discount is γ^k (the semi-MDP form of
// Sutton, Precup & Singh 1999); GAE (Schulman et al. 2016, eq. 16) then runs over decisions:
//   δ_t = R_t + γ^k_t · (1 − term_t) · V(s_next) − V(s_t)
//   A_t = δ_t + γ^k_t · λ · (1 − term_t) · (1 − trunc_t) · A_next
// A termination (the agent left) bootstraps nothing; a truncation (the rollout or the episode
// ended with the agent alive) bootstraps V(s_next) but cuts the advantage chain there.

/** The fields of a batch of decisions that GAE reads. */
export interface GaeInput {
  /** Decisions in the batch. */
  count: number;
  /** Discounted reward from the decision to the next one (or to the end) [N]. */
  rewards: Float32Array;
  /** γ^k for the k ticks the decision lasted [N]. */
  discounts: Float32Array;
  /** V(s) of the decision, under the policy that chose [N]. */
  values: Float32Array;
  /** V of the state the decision ended in: the next decision's value, the bootstrap at truncation, 0 at termination [N]. */
  nextValues: Float32Array;
  /** Index of the agent's next decision in the batch, or −1 (terminated, truncated) [N]. */
  next: Int32Array;
  /** 1 = the agent left during the decision [N]. */
  terminated: Uint8Array;
  /** 1 = the decision was cut by the end of the rollout or episode with the agent alive [N]. */
  truncated: Uint8Array;
}

/**
 * Advantages and returns (advantage + value) of every decision. A decision's next decision sits
 * later in the batch, so one backward pass settles every chain.
 */
export function computeGae(b: GaeInput, lambda: number, advantages: Float32Array, returns: Float32Array): void {
  for (let i = b.count - 1; i >= 0; i--) {
    const live = b.terminated[i] === 1 ? 0 : 1;
    const delta = b.rewards[i] + b.discounts[i] * live * b.nextValues[i] - b.values[i];
    const n = b.next[i];
    const chain = live === 1 && b.truncated[i] === 0 && n >= 0 ? advantages[n] : 0;
    if (n >= 0 && n <= i) throw new Error(`GAE: decision ${i}'s next decision ${n} is not later in the batch (please report a bug)`);
    advantages[i] = delta + b.discounts[i] * lambda * chain;
    returns[i] = advantages[i] + b.values[i];
  }
}

/** Pearson correlation of two equally long arrays (0 when either has no variance). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>, n = x.length): number {
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}
