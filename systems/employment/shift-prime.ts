// Priming of the employment/shifts kernel (shifts.ts): run at module load on made-up agents, so
// V8's first optimisation of the kernel has type feedback for every branch (issue #19, p99).
import { A_ABS, A_DIRTY } from "./state.ts";
import {
  EVENTS_PER_AGENT,
  F_ABSENT_PENALTY,
  F_ABSENT_SENT,
  F_STARTED,
  S_AWAIT_START,
  S_IDLE,
  S_LATE,
  S_ON_TIME,
  S_POST_SHIFT,
  ShiftKernel,
  UINT16_MAX,
  shiftKernel,
} from "./shifts.ts";

/** Calls of shiftKernel on made-up agents at module load (7-14 ms measured): with 40, V8 had not kept feedback for most branches (measured). */
const PRIME_CALLS = 400;

/**
 * Runs shiftKernel on ten made-up agents in two towns through three ticks of a shift (within the
 * grace, late, past the cutoff), a new day and a full event buffer, so that every branch has type
 * feedback before the first real pass: the first shift start, absence and shift end of a run
 * each deoptimised the optimised loop mid-pass before (+15 to +40 ms once each at 100k agents).
 */
export function primeShiftKernel(): void {
  const n = 10;
  const u8 = (...v: number[]) => Uint8Array.from(v);
  // One kernel for every call (each call sets every field below): a new one per call allocated its
  // 64 KB event buffer 400 times (26 MB of garbage, ~36 ms at every module load, measured).
  const K = new ShiftKernel();
  for (let call = 0; call < PRIME_CALLS; call++) {
    K.tick = 50 + call;
    K.t = [1, 4, 10][call % 3];
    K.newDay = call % 2;
    K.nJobs = 2;
    K.grace = 2;
    K.cutoff = 5;
    K.slack = 3;
    K.latePenalty = 0.01;
    K.absencePenalty = 0.2;
    K.objects = 1;
    K.outside = Int8Array.of(-1, S_POST_SHIFT, S_IDLE);
    K.steady = u8(0, 1, 1);
    K.start = Int32Array.of(0, 0);
    K.end = Int32Array.of(20, 0);
    K.jx = Int32Array.of(1, -1);
    K.jy = Int32Array.of(1, -1);
    K.wage = Float64Array.of(0.1, 0.2);
    K.penalty = Float64Array.of(0.3, 0);
    K.workplace = Int32Array.of(7, 0, 0, 0);
    K.attn = u8(0, A_ABS, A_DIRTY, A_DIRTY, 0, 0, 0, 0, 0, 0);
    K.absCount = u8(0, 1, 1, 0, 0, 0, 0, 0, 0, 0);
    K.job = Int16Array.of(1, 1, 1, -1, 0, 0, 0, 0, 0, 0);
    K.shiftState = u8(0, 0, S_ON_TIME, 0, 0, S_AWAIT_START, S_LATE, S_ON_TIME, S_LATE, 0);
    K.flags = u8(0, 0, F_STARTED, 0, 0, F_STARTED, F_STARTED, F_STARTED, F_STARTED | F_ABSENT_PENALTY | F_ABSENT_SENT, F_STARTED);
    K.onShift = new Uint8Array(n);
    K.wageThisTick = new Float32Array(n);
    K.absent7d = new Uint8Array(n);
    K.lateToday = Uint16Array.of(0, 0, 0, 0, 0, 0, 0, 0, UINT16_MAX, 0);
    K.withheld = new Float32Array(n);
    K.everOnTime = u8(0, 0, 1, 0, 0, 0, 0, 1, 0, 0);
    K.lastPresent = Int32Array.of(-1, -1, 40, -1, -1, -1, -1, 10, K.tick - 1, -1);
    K.onTimeTicks = Uint16Array.of(0, 0, 3, 0, 0, 0, 0, UINT16_MAX, 0, 0);
    K.scheduled = new Uint16Array(n);
    K.latenessCounter = Uint16Array.of(0, 0, 0, 0, 0, UINT16_MAX, 0, 0, 0, 0);
    K.wagesEarned = new Float32Array(n);
    K.money = Float32Array.of(1, 1, 1, 1, 1, 0.1, 1, 1, 1, 1);
    K.px = Int16Array.of(0, 0, 0, 0, 1, 5, 0, 9, 9, 9);
    K.py = Int16Array.of(0, 0, 0, 0, 1, 1, 1, 9, 9, 0);
    K.town = Uint32Array.of(0, 0, 0, 0, 0, 1, 1, 1, 1, 1);
    K.holding = Int32Array.of(0, 0, 0, 0, 7, 0, 0, 0, 0, 0);
    K.townWages = new Float32Array(2);
    K.wagesPaid = new Float64Array(2);
    // Room for a few events only: the kernel stops and is called again, as runShifts does.
    K.events = new Int32Array(4 * (EVENTS_PER_AGENT + 3));
    const agents = Int32Array.from({ length: n }, (_, i) => i);
    let i = 0;
    do {
      K.nEvents = 0;
      i = shiftKernel(K, agents, i);
    } while (i < agents.length);
  }
}
