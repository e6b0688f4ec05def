// The stability monitor's pass over the agents (index.ts calls it once per tick): starvation
// streaks, option-switch deltas and reward sums in one loop over typed arrays, primed at module load.

/**
 * Calls of a kernel on made-up data before the first real pass: V8 allocates a function's type
 * feedback only after several calls, and feedback is what the priming is for.
 */
const PRIME_CALLS = 40;
export const NO_U8 = new Uint8Array(0);
export const NO_U32 = new Uint32Array(0);
export const NO_F32 = new Float32Array(0);

/**
 * The monitor's pass over the agents (typed arrays and numbers only, so V8 keeps one optimised
 * version of it): streaks (incidents returned), switch deltas and reward sums into `out`
 * [switches, n, sum, sum of squares]. `*On` = 0: that component is not registered.
 */
export function scanKernel(
  agents: Int32Array,
  hasNeeds: Uint8Array,
  hunger: Float32Array,
  threshold: number,
  minDuration: number,
  streak: Int32Array,
  switches: Uint32Array,
  last: Uint32Array,
  hasReward: Uint8Array,
  total: Float32Array,
  needsOn: number,
  optionsOn: number,
  rewardsOn: number,
  out: Float64Array,
): number {
  let incidents = 0;
  let sw = 0;
  let rn = 0;
  let rs = 0;
  let rq = 0;
  for (let i = 0; i < agents.length; i++) {
    const eid = agents[i];
    if (needsOn === 1) {
      if (hasNeeds[eid] === 1 && hunger[eid] <= threshold) {
        if (++streak[eid] === minDuration) incidents++;
      } else streak[eid] = 0;
    }
    if (optionsOn === 1) {
      const now = switches[eid];
      const was = last[eid];
      if (now > was) sw += now - was;
      last[eid] = now;
    }
    if (rewardsOn === 1 && hasReward[eid] === 1) {
      const r = total[eid];
      rn++;
      rs += r;
      rq += r * r;
    }
  }
  out[0] = sw;
  out[1] = rn;
  out[2] = rs;
  out[3] = rq;
  return incidents;
}

/**
 * Runs scanKernel once on four made-up agents that take every branch (a streak reaching the
 * duration, one recovering, a switch, rewards), so that the first real pass (optimised mid-loop
 * by V8) has type feedback everywhere: without it the code after the loop and the first incident
 * deoptimised it, every tick for the first ~160 ticks of the 100k bench world (issue #19, p99).
 */
function primeScanKernel(): void {
  const agents = Int32Array.of(0, 1, 2, 3);
  const has = Uint8Array.of(1, 1, 0, 1);
  const hunger = Float32Array.of(0, 1, 0, 0);
  const streak = Int32Array.of(1, 5, 0, 0);
  const switches = Uint32Array.of(3, 0, 1, 0);
  const last = Uint32Array.of(1, 0, 2, 0);
  const total = Float32Array.of(0.5, -0.25, 0, 1);
  const out = new Float64Array(4);
  for (let k = 0; k < PRIME_CALLS; k++) scanKernel(agents, has, hunger, 0.1, 2, streak.slice(), switches, last.slice(), has, total, 1, 1, 1, out);
}
primeScanKernel();
