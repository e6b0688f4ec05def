// The option executor's per-agent loop generated for one world's columns (issue #19).
//
// Why generated: V8 optimises a loop over typed arrays it sees as constants (the arrays captured
// by the only closure of a function literal: function-context specialisation, base pointers and
// lengths embedded, bounds checks dropped) far better than the same loop over arrays held in
// locals or fields (systems/needs/decay-kernel.ts, systems/rewards/kernel.ts). The kernel closes
// over the 20-odd columns the common branches touch and walks the agents' spans in calls of at
// most CHUNK agents (a 100k-iteration loop entered once a tick only ever runs as on-stack
// replacement code, compiled without the specialisation).
//
// What it does itself: the quiet and parked tests (quiet.ts), None and external options, a done
// option or a Wait (Wait intent), a Use whose affordance runs (Wait) or whose object is kept
// (Start), and a Work option (Move to the workplace, or Wait, or done at the shift's end); a
// Use's object choice is `choose` (choose-kernel.ts, or the generic body's). Everything else
// (Chat, Avoid, another plug-in's option kind) goes to `slow`, the generic per-agent body
// (index.ts `visit`), which decides that agent from the start: the
// branches here are that body's, written for these columns, so the intents, the options and the
// quiet bits are the same to the bit (test/unit/options-kernel.test.ts runs both). The source
// holds only positional names and constants of this file and components/activity.ts, never
// config text. Where the runtime forbids code generation from strings, compileExec returns
// undefined and the generic loop runs.
import { IntentKind, OptionKind } from "../../components/activity.ts";
import { compileKernel } from "../../engine/kernel-source.ts";

/** Every array the kernel closes over. */
export interface ExecArrays {
  /** The quiet bitset (quiet.ts). */
  readonly quiet: Uint32Array;
  /** The parked bitset (quiet.ts). */
  readonly parked: Uint32Array;
  readonly since: Int32Array;
  readonly kind: Uint8Array;
  readonly done: Uint8Array;
  readonly external: Uint8Array;
  readonly affordance: Int16Array;
  readonly object: Int32Array;
  readonly intent: Uint8Array;
  readonly blocked: Uint8Array;
  readonly iObject: Int32Array;
  readonly iAffordance: Int16Array;
  readonly ix: Int16Array;
  readonly iy: Int16Array;
  readonly running: Int16Array;
  readonly holding: Int32Array;
  readonly queued: Int32Array;
  readonly px: Int16Array;
  readonly py: Int16Array;
  /** Employment.job, undefined when the world has no employment plug-in (every Work option ends). */
  readonly job: Int16Array | undefined;
  readonly jobEnd: Int32Array;
  readonly jobX: Int32Array;
  readonly jobY: Int32Array;
}

const NAMES: readonly (keyof ExecArrays)[] = [
  "quiet",
  "parked",
  "since",
  "kind",
  "done",
  "external",
  "affordance",
  "object",
  "intent",
  "blocked",
  "iObject",
  "iAffordance",
  "ix",
  "iy",
  "running",
  "holding",
  "queued",
  "px",
  "py",
  "job",
  "jobEnd",
  "jobX",
  "jobY",
];

/** True when both sets hold the same arrays (a kernel made for `a` serves `b`). */
export function sameArrays(a: ExecArrays, b: ExecArrays): boolean {
  for (const k of NAMES) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Runs the executor for the agents of the spans (pairs [start, end)) at this tick and time of
 * day; `work` 1 on a tick a shift ends (quiet agents with a Work option are looked at), else 0;
 * `avoid` the rivalry threshold and `calm` (choose-kernel.ts calmAt), passed to `choose`.
 */
export type ExecKernel = (spans: Int32Array, tick: number, tod: number, work: number, avoid: number, calm: number) => void;

/** Agents per call of the inner loop (see the file comment). */
const CHUNK = 4096;

/**
 * Generates the executor loop for these arrays. `slow(eid)` decides an agent the kernel does not
 * (the generic body, from the option's kind on); `choose(eid, aff, avoid, calm)` is the object choice
 * for a Use (the generated one of choose-kernel.ts, or the generic body's: chooseObject, and the
 * queue_rival guardrail message when a rival ruled the objects out), 0 when none; `rechoose` is the ticks between two object choices of a walking
 * agent. Returns undefined when code generation is not allowed here.
 */
export function compileExec(a: ExecArrays, slow: (eid: number) => void, choose: (eid: number, aff: number, avoid: number, calm: number) => number, rechoose: number): ExecKernel | undefined {
  const W = IntentKind.Wait;
  const jobLoad = a.job !== undefined ? "job[e]" : "-1";
  const source = `"use strict";
function run(s, end, tick, tod, wake, avoid, calm) {
  for (let e = s; e < end; e++) {
    const word = e >>> 5;
    const bit = 1 << (e & 31);
    if ((quiet[word] & bit) === 0 && intent[e] === ${W} && (tick - since[e] > 1 || kind[e] === ${OptionKind.Wait} || done[e] === 1) && kind[e] !== wake) continue;
    if ((parked[word] & bit) !== 0) {
      if (done[e] === 0 && tick - since[e] > 1 && queued[e] === object[e]) continue;
      parked[word] &= ~bit;
    }
    const k = kind[e];
    if (k === ${OptionKind.None} || external[e] === 1) continue;
    let ik = ${W};
    let ends = false;
    if (k === ${OptionKind.Use}) {
      if (done[e] !== 1) {
        const aff = affordance[e];
        if (running[e] !== aff) {
          let obj = object[e];
          if (obj === 0 || (holding[e] !== obj && queued[e] !== obj && (tick - since[e]) % ${rechoose} === 0)) {
            obj = choose(e, aff, avoid, calm);
            if (obj !== 0) object[e] = obj;
          }
          if (obj === 0) {
            ends = true;
          } else {
            ik = ${IntentKind.Start};
            iObject[e] = obj;
            iAffordance[e] = aff;
            if (queued[e] === obj) parked[word] |= bit;
          }
        }
      }
    } else if (k === ${OptionKind.Work}) {
      if (done[e] !== 1) {
        const j = ${jobLoad};
        if (j < 0 || tod >= jobEnd[j]) {
          ends = true;
        } else {
          const jx = jobX[j];
          if (jx >= 0 && Math.abs(px[e] - jx) + Math.abs(py[e] - jobY[j]) > 1) {
            ik = ${IntentKind.Move};
            ix[e] = jx;
            iy[e] = jobY[j];
          }
        }
      }
    } else if (k !== ${OptionKind.Wait}) {
      slow(e);
      continue;
    }
    blocked[e] = 0;
    intent[e] = ik;
    if (ends) done[e] = 1;
    if (ik === ${W}) quiet[word] &= ~bit;
    else quiet[word] |= bit;
  }
}
return function execute(spans, tick, tod, work, avoid, calm) {
  // The option kind a quiet agent is woken by: Work on a shift's end, else none (-1: no Uint8).
  // Read for every quiet agent on every tick: a load first reached on the first shift end had
  // no type feedback and deoptimised the loop there (issue #19, p99).
  const wake = work === 1 ? ${OptionKind.Work} : -1;
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let from = spans[s]; from < end; from += ${CHUNK}) run(from, Math.min(from + ${CHUNK}, end), tick, tod, wake, avoid, calm);
  }
};`;
  const params = NAMES.filter((k) => a[k] !== undefined);
  return compileKernel<ExecKernel>([...params, "slow", "choose"], source, [...params.map((k) => a[k]), slow, choose]);
}

/**
 * Runs a new kernel's Work branch once on agent `e` and puts every value back (issue #19, p99).
 *
 * Why: a branch no agent has taken yet has no type feedback, so the optimised loop leaves it with
 * a deoptimisation, and the first agent to take it sends the rest of that tick's chunks through
 * the interpreter. On day 1 of the 100k bench world no agent works before tick 135: that tick's
 * options/execute took 8-11 ms against ~1.3 around it. Call it after the kernel's first real
 * call (the loop's feedback vector is made lazily, after some bytecode has run). It walks the
 * branch three times (the shift over, a walk to the workplace, a done option) on e's columns and
 * restores them (the agent's row of every per-agent array, its words of the two bitsets): the
 * world is left as it was to the bit, and `slow` and `choose` are not called (a Work option
 * reaches neither).
 */
export function primeWork(kernel: ExecKernel, a: ExecArrays, e: number, tick: number): void {
  if (!(e >= 0 && e < a.kind.length) || a.jobEnd.length === 0) return;
  const rows = PER_AGENT.map((k) => a[k]).filter((c): c is NonNullable<typeof c> => c !== undefined);
  const saved = rows.map((c) => c[e]);
  const word = e >>> 5;
  const quiet = a.quiet[word];
  const parked = a.parked[word];
  const span = Int32Array.of(e, e + 1);
  const j = 0;
  const jx = a.jobX[j];
  const jy = a.jobY[j];
  try {
    for (let r = 0; r < 3; r++) {
      a.kind[e] = OptionKind.Work;
      a.done[e] = r === 2 ? 1 : 0;
      a.external[e] = 0;
      a.intent[e] = IntentKind.Move;
      a.parked[word] &= ~(1 << (e & 31));
      if (a.job !== undefined) a.job[e] = j;
      // r 1: on the way, two tiles from the workplace (when it has a place).
      if (jx >= 0) {
        a.px[e] = r === 1 ? jx + 2 : jx;
        a.py[e] = jy;
      }
      kernel(span, tick, r === 1 ? a.jobEnd[j] - 1 : a.jobEnd[j], 0, 0, 0);
    }
  } finally {
    rows.forEach((c, i) => (c[e] = saved[i]));
    a.quiet[word] = quiet;
    a.parked[word] = parked;
  }
}

/** The per-agent arrays of ExecArrays (the rest are bitsets and the job table). */
const PER_AGENT: readonly (keyof ExecArrays)[] = NAMES.filter((k) => k !== "quiet" && k !== "parked" && k !== "jobEnd" && k !== "jobX" && k !== "jobY");
