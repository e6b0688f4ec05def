// Type feedback for a freshly generated shifts pass, on the world's own arrays, leaving them as
// they were (issue #19, p99). A generated pass (shift-kernel.ts) starts with no feedback: V8
// optimises it on the first ticks, where every agent is outside its window, and each branch
// first reached later (the first shift start, the first late and absent agents, the first shift
// end: ticks 180, 186, 211 and 361 of the bench world) deoptimised it once per process, +10-15 ms
// at 100k agents each. Feedback belongs to the closure, so a primed copy of the pass would not
// help the one the world runs (and a second closure of one literal loses the constant arrays).
// Here the pass itself runs every branch on one agent of the world under made-up inputs; every
// array value it can write (that agent's rows, its town's row, the per-job tables and the
// workplace cell set up here, its attendance samples) and the kernel's scalars are saved before
// and written back after, so the world's state is bit for bit what it was.
import type { ShiftArrays, ShiftCodes, ShiftPass, ShiftScalars } from "./shift-kernel.ts";

type Arrays = Record<string, ArrayLike<number> & { [i: number]: number; length: number }>;

/** Times every scene runs (enough for V8's lazy feedback allocation of the pass and its helpers). */
const PRIME_ROUNDS = 4;

const SCALARS = ["tick", "t", "newDay", "grace", "cutoff", "slack", "latePenalty", "absencePenalty", "objects", "window", "nEvents"] as const;

/** One made-up situation of the primed agent: the pass's inputs set before a call. */
interface Scene {
  /** Ticks after the job's start (the window's state); outside the window when `out` >= 0. */
  since: number;
  out: number;
  steadyAll: boolean;
  /** Every job outside its window in another state than last tick's (steady 2). */
  moved: boolean;
  attn: number;
  flags: number;
  prev: number;
  everOnTime: number;
  /** Ticks before the tick the agent was last present, -1 = never. */
  lastSeen: number;
  atLoc: boolean;
  /** 1 = the workplace object path (the agent holds it when atLoc). */
  objects: number;
  absences: number;
  newDay: number;
  job: number;
}

/**
 * Runs `pass` over agent `eid` through every branch (window states, penalties, events, the shift
 * end, absences kept, steady skips, newDay resets, no job), then restores every value it may
 * have changed. `K` holds this tick's inputs (fill() ran); `arrays` are the ones `pass` closes over.
 */
export function primeShiftPass(pass: ShiftPass, K: ShiftScalars, arrays: ShiftArrays, keys: readonly (keyof ShiftArrays)[], codes: ShiftCodes, eid: number): void {
  const nJobs = K.nJobs;
  if (nJobs < 1) return;
  const A = arrays as unknown as Arrays;
  const tw = arrays.town[eid];
  const w = K.window;
  const cell = tw * nJobs;
  // Every index the pass can write for this agent, in every array (more is harmless).
  const idx: number[] = [eid, tw, cell];
  for (let j = 0; j <= nJobs; j++) idx.push(j);
  for (let k = 0; k < w; k++) idx.push(eid * w + k);
  const saved: Float64Array[] = [];
  for (const key of keys) {
    if (key === "events") continue;
    const a = A[key];
    const s = new Float64Array(idx.length);
    for (let i = 0; i < idx.length; i++) s[i] = idx[i] < a.length ? a[idx[i]] : 0;
    saved.push(s);
  }
  const scalars = SCALARS.map((k) => K[k]);
  try {
    const job = 0;
    const s0 = arrays.start[job];
    const base: Scene = { since: 0, out: -1, steadyAll: false, moved: false, attn: codes.A_DIRTY, flags: 0, prev: 0, everOnTime: 0, lastSeen: -1, atLoc: true, objects: 0, absences: 0, newDay: 0, job };
    const scenes: Partial<Scene>[] = [
      { newDay: 1 }, // on time at the start, daily resets
      { atLoc: false }, // awaiting the start
      { since: K.grace + 1, flags: codes.F_STARTED, prev: codes.S_AWAIT_START }, // late arrival: penalty, event
      { since: K.grace + 1, flags: codes.F_STARTED, atLoc: false, lastSeen: 1, prev: codes.S_LATE }, // late, away within the slack
      { since: K.cutoff + 1, flags: codes.F_STARTED, atLoc: false }, // absent: penalty, event
      { since: K.cutoff + 1, flags: codes.F_STARTED, atLoc: false, lastSeen: K.slack + 5, everOnTime: 1, prev: codes.S_ON_TIME }, // left: departed
      { since: 1, flags: codes.F_STARTED, everOnTime: 1, prev: codes.S_ON_TIME, objects: 1 }, // at the workplace object
      { since: 1, flags: codes.F_STARTED, everOnTime: 1, prev: codes.S_ON_TIME, objects: 1, atLoc: false }, // not holding it
      { out: 6, flags: codes.F_STARTED, absences: 1 }, // the shift's end (attendance), absences kept
      { out: 6, steadyAll: true, attn: 0, absences: 1 }, // steady, absences kept
      { out: 6, steadyAll: true, attn: 0 }, // steady, nothing to do
      { out: 6, moved: true, attn: 0, absences: 1 }, // another state outside the window, absences kept
      { out: 6, moved: true, attn: 0 }, // another state outside the window
      { out: 6, moved: true, attn: 0, newDay: 1 }, // ... on a new day: the daily resets
      { out: 6, steadyAll: true, attn: 0, newDay: 1 }, // steady on a new day
      { out: 0, job: -1 }, // no job
    ];
    const one = Int32Array.of(eid);
    // V8 gives a function its feedback vector only after several calls (8 in Node 20's V8): the
    // scenes run until every branch has been seen with one.
    for (let round = 0; round < PRIME_ROUNDS; round++) for (const part of scenes) {
      const sc: Scene = { ...base, ...part };
      if (sc.objects === 1 && arrays.holding.length <= eid) continue;
      K.tick = s0 + sc.since + 10;
      K.t = s0 + sc.since;
      K.newDay = sc.newDay;
      K.objects = sc.objects;
      K.nEvents = 0;
      for (let j = 0; j <= nJobs; j++) {
        arrays.outside[j] = j === job ? sc.out : 0;
        arrays.steady[j] = sc.steadyAll ? 1 : sc.moved ? 2 : 0;
      }
      arrays.job[eid] = sc.job;
      arrays.attn[eid] = sc.attn;
      arrays.flags[eid] = sc.flags;
      arrays.shiftState[eid] = sc.prev;
      arrays.everOnTime[eid] = sc.everOnTime;
      arrays.lastPresent[eid] = sc.lastSeen < 0 ? -1 : K.tick - sc.lastSeen;
      arrays.scheduled[eid] = 10;
      arrays.onTimeTicks[eid] = 5;
      arrays.workplace[cell + job] = sc.objects === 1 ? 1 : 0;
      arrays.holding[eid] = sc.atLoc ? 1 : 0;
      const x = arrays.jx[job] >= 0 ? arrays.jx[job] : 0;
      const y = arrays.jy[job] >= 0 ? arrays.jy[job] : 0;
      // Away on either side (both signs of the distance's terms).
      const away = round % 2 === 0 ? 5 : -5;
      arrays.px[eid] = sc.atLoc ? x : x + away;
      arrays.py[eid] = sc.atLoc ? y : y - away;
      arrays.absCount[eid] = sc.absences;
      arrays.absent7d[eid] = sc.absences;
      pass(one, 0);
    }
  } finally {
    let n = 0;
    for (const key of keys) {
      if (key === "events") continue;
      const a = A[key];
      const s = saved[n++];
      for (let i = 0; i < idx.length; i++) if (idx[i] < a.length) a[idx[i]] = s[i];
    }
    SCALARS.forEach((k, i) => ((K as unknown as Record<string, number>)[k] = scalars[i]));
  }
}
