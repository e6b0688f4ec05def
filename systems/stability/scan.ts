// The stability monitor's pass over the agents (index.ts calls it once per tick): starvation
// streaks, option-switch deltas and reward sums in one loop over typed arrays.
//
// Issue #19: the pass is a kernel made per world (ScanKernels.get): a fresh copy of scanFactory's
// source (new Function), closing over that world's arrays. V8 specialises a loop over the arrays
// of the only closure of a function literal (constants: base pointers and lengths embedded, bounds
// checks dropped), which a loop over arrays passed as arguments does not get (the lead's finding,
// systems/needs/decay-kernel.ts). Remade when one of the arrays moves (a store or the streaks
// grew). Where code generation from strings is not allowed, scanFactory itself is used (the same
// arithmetic, unspecialised).
//
// Issue #19, tenth session: the specialisation is lost where the loop runs as on-stack-replacement
// code (V8 does not specialise OSR code on the function's context): 0.13 instead of 0.04 ms at 10k
// agents, in about one run in four, for up to ~7,800 ticks. That happened when the loop's function
// was first found hot inside one long call (the whole 10k-agent span): V8 then compiled only the
// OSR code, entered at the loop's back edge on every later call, and the function's regular
// (specialised) code waited until its few baseline instructions per call had used up the tier-up
// budget again. So the loop now runs over chunks of at most SCAN_CHUNK agents (a call per chunk:
// the function is entered often, and a request to optimise it is served at its next entry), and
// a new kernel is primed over one agent repeated in PRIME_SPANS spans per call, enough calls for
// V8 to mark the loop's function hot before its first long run.
import { freshCopy, repeatedSpans } from "../../engine/kernel-source.ts";

export const NO_U8 = new Uint8Array(0);
export const NO_U32 = new Uint32Array(0);
export const NO_F32 = new Float32Array(0);

/** One world's pass: the incidents this tick; sums into the factory's `out` [switches, n, sum, sum of squares]. */
export type ScanKernel = (spans: Int32Array, threshold: number, minDuration: number) => number;

/**
 * The pass over the agents' spans (runs of consecutive ids, in agent order), closing over one
 * world's arrays: streaks (incidents returned), switch deltas and reward sums into `out`
 * [switches, n, sum, sum of squares]; the sums run in agent order as one sequence (the same
 * floating-point result as one loop over the agents). `*On` = 0: that component is not registered.
 * Self-contained (no module bindings): compiled per world from its source.
 */
export function scanFactory(
  hasNeeds: Uint8Array,
  hunger: Float32Array,
  streak: Int32Array,
  switches: Uint32Array,
  last: Uint32Array,
  hasReward: Uint8Array,
  total: Float32Array,
  needsOn: number,
  optionsOn: number,
  rewardsOn: number,
  out: Float64Array,
): ScanKernel {
  // acc: incidents, switches, reward count, sum, sum of squares, carried from chunk to chunk.
  const acc = new Float64Array(5);
  // Agents per call of stabilityRun (SCAN_CHUNK; a literal: the factory is compiled from its source).
  const chunk = 1024;
  function stabilityRun(start: number, end: number, threshold: number, minDuration: number): void {
    let incidents = acc[0];
    let sw = acc[1];
    let rn = acc[2];
    let rs = acc[3];
    let rq = acc[4];
    for (let eid = start; eid < end; eid++) {
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
    acc[0] = incidents;
    acc[1] = sw;
    acc[2] = rn;
    acc[3] = rs;
    acc[4] = rq;
  }
  return function stabilityScan(spans: Int32Array, threshold: number, minDuration: number): number {
    acc.fill(0);
    for (let s = 0; s < spans.length; s += 2) {
      const end = spans[s + 1];
      for (let from = spans[s]; from < end; from += chunk) stabilityRun(from, from + chunk < end ? from + chunk : end, threshold, minDuration);
    }
    out[0] = acc[1];
    out[1] = acc[2];
    out[2] = acc[3];
    out[3] = acc[4];
    return acc[0];
  };
}

/** The world's scan kernel, remade when one of its arrays moved. */
export class ScanKernels {
  private kernel: ScanKernel | undefined;
  private key: ArrayBufferView[] = [];
  private readonly out = new Float64Array(4);
  /** The kernel's sums after a call: switches, reward count, sum, sum of squares. */
  get sums(): Float64Array {
    return this.out;
  }

  /** The kernel for these arrays; a new one is primed (primeScan) on the first agent of `spans` with the pass's threshold and duration. */
  get(hasNeeds: Uint8Array, hunger: Float32Array, streak: Int32Array, switches: Uint32Array, last: Uint32Array, hasReward: Uint8Array, total: Float32Array, needsOn: number, optionsOn: number, rewardsOn: number, spans: Int32Array, threshold: number, minDuration: number): ScanKernel {
    const key = this.key;
    if (
      this.kernel === undefined ||
      key[0] !== hasNeeds ||
      key[1] !== hunger ||
      key[2] !== streak ||
      key[3] !== switches ||
      key[4] !== last ||
      key[5] !== hasReward ||
      key[6] !== total ||
      this.flags !== needsOn * 4 + optionsOn * 2 + rewardsOn
    ) {
      this.key = [hasNeeds, hunger, streak, switches, last, hasReward, total];
      this.flags = needsOn * 4 + optionsOn * 2 + rewardsOn;
      this.kernel = freshCopy(scanFactory)(hasNeeds, hunger, streak, switches, last, hasReward, total, needsOn, optionsOn, rewardsOn, this.out);
      if (spans.length >= 2) primeScan(this.kernel, { hasNeeds, hunger, streak, switches, last }, spans[0], needsOn, optionsOn, threshold, minDuration);
    }
    return this.kernel;
  }
  private flags = -1;
}

/** Times each primed situation runs (V8 gives a function its feedback vector after 8 calls). */
const PRIME_ROUNDS = 12;
/** Agents per call of a kernel's loop function (its `chunk`, checked by a test). */
export const SCAN_CHUNK = 1024;

/**
 * Type feedback for a new scan kernel's branches before they first run (issue #19: the first
 * hungry agent, tick 442 of the 100k bench, deoptimised the pass, stability/monitor +3-4.7 ms at
 * ticks 442-443), on agent `eid`: hungry with a streak below, at and past the incident's
 * duration, not hungry, without needs, a switch count that rose and one that did not. The
 * agent's values the kernel writes or the priming sets (needs flag, hunger, streak, switch counts)
 * are put back; the kernel's sums are scratch (the caller's own call rewrites them).
 */
function primeScan(
  scan: ScanKernel,
  a: { hasNeeds: Uint8Array; hunger: Float32Array; streak: Int32Array; switches: Uint32Array; last: Uint32Array },
  eid: number,
  needsOn: number,
  optionsOn: number,
  threshold: number,
  minDuration: number,
): void {
  // The agent repeated: each call runs the loop's function PRIME_SPANS times. The sums run over
  // it that often, the streak rises that often (set again before each call) and the switch delta
  // counts once (the baseline is written at the first visit).
  const one = repeatedSpans(eid);
  const saved = [
    needsOn === 1 ? a.hasNeeds[eid] : 0,
    needsOn === 1 ? a.hunger[eid] : 0,
    needsOn === 1 ? a.streak[eid] : 0,
    optionsOn === 1 ? a.switches[eid] : 0,
    optionsOn === 1 ? a.last[eid] : 0,
  ];
  // needs flag, hunger below the threshold, streak before the call, switch count rise
  const scenes: [number, number, number, number][] = [
    [1, 1, minDuration - 2, 1],
    [1, 1, minDuration - 1, 0],
    [1, 1, minDuration + 3, 1],
    [1, 0, 4, 0],
    [0, 1, 4, 1],
  ];
  try {
    for (let r = 0; r < PRIME_ROUNDS; r++) {
      for (const [flag, low, streak, rise] of scenes) {
        if (needsOn === 1) {
          a.hasNeeds[eid] = flag;
          a.hunger[eid] = low === 1 ? threshold - 1 : threshold + 1;
          a.streak[eid] = streak < 0 ? 0 : streak;
        }
        if (optionsOn === 1) {
          a.last[eid] = 3;
          a.switches[eid] = 3 + rise;
        }
        scan(one, threshold, minDuration);
      }
    }
  } finally {
    if (needsOn === 1) {
      a.hasNeeds[eid] = saved[0];
      a.hunger[eid] = saved[1];
      a.streak[eid] = saved[2];
    }
    if (optionsOn === 1) {
      a.switches[eid] = saved[3];
      a.last[eid] = saved[4];
    }
  }
}
