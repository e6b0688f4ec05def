// lifecycle's passes over the agents (issue #19): exits (broke ticks, faints, unemployment) and
// finalize's scan for the agents leaving, as kernels made per world: a fresh copy of each
// factory's source (new Function) closing over that world's columns. V8 specialises a loop over
// the arrays of the only closure of a function literal (constants: base pointers and lengths
// embedded, bounds checks dropped), which a loop over arrays passed as arguments does not get
// (the lead's finding, systems/needs/decay-kernel.ts). Remade when a column moves (a store grew).
// Where code generation from strings is not allowed, the factories themselves are used (the same
// arithmetic, unspecialised). The loops walk the agents' spans (runs of consecutive ids, in agent
// order), the same agents in the same order as the agent list.
//
// Issue #19, tenth session (as stability's scan, c88ba1f): V8 does not specialise on-stack-
// replacement code on the function's context. When a loop function running once per tick over a
// whole span was first found hot inside that one long call, V8 compiled only OSR code and kept
// entering it for thousands of ticks (10k bench world: exits 0.058-0.062 instead of 0.027-0.029 ms,
// finalize 0.013-0.017 instead of 0.009-0.011; exits in 3 and leaving in 6 of 22 harness runs). So
// each loop function runs over chunks of at most LIFE_CHUNK agents (entered often: a request to
// optimise it is served at its next entry), and a new exits or leaving kernel is primed over one
// agent repeated in PRIME_SPANS spans per call, PRIME_CALLS calls, so V8 optimises the function
// itself before its first long run (the raise kernel: passes over up to 4,096 agents, primeRaise).
import { compileKernel, PRIME_CALLS, repeatedSpans } from "../../engine/kernel-source.ts";

/** One exits pass over the agents' spans. */
export type ExitsKernel = (spans: Int32Array, faint: number, grace: number) => void;
/** Agents with an exit reason, in agent order, into the factory's `leaving`; returns how many, -1 when they do not fit. */
export type LeavingKernel = (spans: Int32Array) => number;

/**
 * lifecycle/exits' pass: broke_ticks counts ticks with no money and no wage; an agent not yet
 * leaving (reason `none`) faints (hunger <= faint, mortality on, its town not holding exits:
 * `holdOn` = 1 when the hold column exists) or leaves unemployed (broke_ticks >= grace).
 * Self-contained (no module bindings): compiled per world from its source.
 */
export function exitsFactory(
  hasWallet: Uint8Array,
  money: Float32Array,
  wage: Float32Array,
  broke: Uint16Array,
  exitReason: Uint8Array,
  hunger: Float32Array,
  townOf: Uint32Array,
  hold: Uint8Array,
  holdOn: number,
  mortality: number,
  none: number,
  fainted: number,
  unemployed: number,
): ExitsKernel {
  // Agents per call of exitsRun (LIFE_CHUNK; a literal: the factory is compiled from its source).
  const chunk = 1024;
  function exitsRun(start: number, end: number, faint: number, grace: number): void {
    for (let eid = start; eid < end; eid++) {
      if (hasWallet[eid] === 1) {
        if (money[eid] <= 0 && wage[eid] <= 0) {
          if (broke[eid] < 0xffff) broke[eid]++;
        } else broke[eid] = 0;
      }
      if (exitReason[eid] !== none) continue;
      if (mortality === 1 && hunger[eid] <= faint && !(holdOn === 1 && hold[townOf[eid]] === 1)) exitReason[eid] = fainted;
      else if (broke[eid] >= grace) exitReason[eid] = unemployed;
    }
  }
  return function exits(spans: Int32Array, faint: number, grace: number): void {
    for (let s = 0; s < spans.length; s += 2) {
      const end = spans[s + 1];
      for (let from = spans[s]; from < end; from += chunk) exitsRun(from, from + chunk < end ? from + chunk : end, faint, grace);
    }
  };
}

/**
 * finalize's scan: the agents whose exit reason is not `none`, in order, into `leaving`; returns
 * how many, or -1 when they do not fit (the caller grows `leaving` and scans again: the scan
 * changes nothing).
 */
export function leavingFactory(exitReason: Uint8Array, leaving: Int32Array, none: number): LeavingKernel {
  const room = leaving.length;
  // Agents per call of leavingRun (LIFE_CHUNK).
  const chunk = 1024;
  function leavingRun(start: number, end: number, n0: number): number {
    let n = n0;
    for (let eid = start; eid < end; eid++) {
      if (exitReason[eid] === none) continue;
      if (n === room) return -1;
      leaving[n++] = eid;
    }
    return n;
  }
  return function collect(spans: Int32Array): number {
    let n = 0;
    for (let s = 0; s < spans.length && n >= 0; s += 2) {
      const end = spans[s + 1];
      for (let from = spans[s]; from < end && n >= 0; from += chunk) n = leavingRun(from, from + chunk < end ? from + chunk : end, n);
    }
    return n;
  };
}

/** The nightly reset's pass: every need column raised to at least `floor` over the agents' spans. */
export type RaiseKernel = (spans: Int32Array, floor: number) => void;

/**
 * The nightly reset as a kernel generated for one world's need columns (issue #19: the reset over
 * the agent list, column by column through its ids, cost +1.1-1.3 ms at 100k every midnight).
 * The source holds positional names only (c0, c1 ...): nothing a user writes reaches it. The agent
 * loop is its own inner function (decay-kernel.ts: a loop nested in the spans loop did not get the
 * specialisation). Undefined where code generation from strings is not allowed (raiseSpans runs).
 */
export function compileRaise(cols: readonly Float32Array[]): RaiseKernel | undefined {
  const params = cols.map((_, k) => `c${k}`);
  let body = "";
  for (let k = 0; k < cols.length; k++) body += `    if (c${k}[e] < f) c${k}[e] = f;\n`;
  const source = `"use strict";
function raiseRun(start, end, f) {
  for (let e = start; e < end; e++) {
${body}  }
}
return function raise(spans, f) {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let from = spans[s]; from < end; from += ${LIFE_CHUNK}) raiseRun(from, from + ${LIFE_CHUNK} < end ? from + ${LIFE_CHUNK} : end, f);
  }
};`;
  return compileKernel<RaiseKernel>(params, source, cols);
}

/** compileRaise's pass without code generation: column by column over the spans. */
export function raiseSpans(cols: readonly Float32Array[], spans: Int32Array, floor: number): void {
  for (let k = 0; k < cols.length; k++) raiseColumn(cols[k], spans, floor);
}

function raiseColumn(col: Float32Array, spans: Int32Array, floor: number): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let e = spans[s]; e < end; e++) if (col[e] < floor) col[e] = floor;
  }
}

/**
 * Gives a new raise kernel type feedback and optimised code before its first nightly run (it runs
 * once a simulated day, so it would run cold at 100k agents every time it is remade), on the
 * world's own columns with every value left as it was: on one agent whose needs are set to 0 and
 * put back (the store's feedback), then passes over up to 4,096 agents with a floor of -1 (needs
 * are in [0, 1]: nothing is written).
 */
export function primeRaise(raise: RaiseKernel, cols: readonly Float32Array[], spans: Int32Array): void {
  if (spans.length < 2) return;
  const e = spans[0];
  const one = Int32Array.of(e, e + 1);
  const saved = cols.map((c) => c[e]);
  for (let r = 0; r < 12; r++) {
    for (const c of cols) c[e] = 0;
    raise(one, 0.5);
  }
  cols.forEach((c, k) => (c[e] = saved[k]));
  // Passes over up to 4,096 agents: the loop function called per chunk of LIFE_CHUNK agents (issue
  // #19, tenth session: as one call over 4,096 agents it could be left with only OSR code; the file
  // comment), enough work for V8 to mark it hot and optimise the function itself.
  const some = Int32Array.of(e, Math.min(spans[1], e + 4096));
  for (let r = 0; r < 8; r++) raise(some, -1);
}

/** The arrays an exits kernel was made for (exitsFactory's first eight arguments). */
export interface ExitsArrays {
  hasWallet: Uint8Array;
  money: Float32Array;
  wage: Float32Array;
  broke: Uint16Array;
  exitReason: Uint8Array;
  hunger: Float32Array;
  townOf: Uint32Array;
  hold: Uint8Array;
}

/** Times each primed situation runs (V8 gives a function its feedback vector after 8 calls). */
const PRIME_ROUNDS = 12;
/** Agents per call of a kernel's loop function (exitsRun's and leavingRun's `chunk`, checked by a test). */
export const LIFE_CHUNK = 1024;

/**
 * Type feedback for every branch of a new exits kernel before the tick where it is first needed
 * (issue #19: the first faint, tick 455 of the 100k bench, deoptimised the pass mid-loop, +2 ms
 * that tick and +1.5 the next), on agent `eid` of the world: broke with and without a wallet,
 * with money, at the counter's cap, leaving already, fainting, held by its town, unemployed.
 * Every value the kernel can write (the agent's broke_ticks and exit_reason) or the priming sets
 * (its wallet flag, money, wage, hunger, its town's hold) is put back.
 */
export function primeExits(exits: ExitsKernel, a: ExitsArrays, eid: number, faint: number, grace: number, none: number, leaving: number): void {
  const town = a.townOf[eid];
  const hasHold = town < a.hold.length;
  const saved = [a.hasWallet[eid], a.money[eid], a.wage[eid], a.broke[eid], a.exitReason[eid], a.hunger[eid], hasHold ? a.hold[town] : 0];
  const one = Int32Array.of(eid, eid + 1);
  const low = faint - 1;
  // wallet, money, broke, reason, hunger, hold
  const scenes: [number, number, number, number, number, number][] = [
    [1, 0, 0, none, 1, 0],
    [1, 1, 5, none, 1, 0],
    [1, 0, 0xffff, none, 1, 0],
    [0, 0, 0, none, 1, 0],
    [1, 1, 0, leaving, 1, 0],
    [1, 1, 0, none, low, 0],
    [1, 1, 0xffff, none, low, 1],
    [1, 0, 0xffff, none, 1, 0],
  ];
  try {
    for (let r = 0; r < PRIME_ROUNDS; r++) {
      for (const [wallet, money, broke, reason, hunger, hold] of scenes) {
        a.hasWallet[eid] = wallet;
        a.money[eid] = money;
        a.wage[eid] = 0;
        a.broke[eid] = broke;
        a.exitReason[eid] = reason;
        a.hunger[eid] = hunger;
        if (hasHold) a.hold[town] = hold;
        exits(one, faint, grace);
      }
    }
    // The loop function called often enough to be optimised itself (a wallet with money, nothing to leave for).
    const many = repeatedSpans(eid);
    for (let r = 0; r < PRIME_CALLS; r++) {
      a.hasWallet[eid] = 1;
      a.money[eid] = 1;
      a.broke[eid] = 0;
      a.exitReason[eid] = none;
      a.hunger[eid] = 1;
      if (hasHold) a.hold[town] = 0;
      exits(many, faint, grace);
    }
  } finally {
    a.hasWallet[eid] = saved[0];
    a.money[eid] = saved[1];
    a.wage[eid] = saved[2];
    a.broke[eid] = saved[3];
    a.exitReason[eid] = saved[4];
    a.hunger[eid] = saved[5];
    if (hasHold) a.hold[town] = saved[6];
  }
}

/**
 * Type feedback for a new leaving kernel's branch of an agent leaving (issue #19: the first exit
 * deoptimised the scan), on agent `eid` given a reason and put back; what the kernel writes is
 * the scratch list of leaving agents. Then PRIME_CALLS calls over the agent repeated, its reason
 * `none` (ExitReason.None) meanwhile, so the loop function is optimised before its first long run.
 */
export function primeLeaving(collect: LeavingKernel, exitReason: Uint8Array, eid: number, leaving: number, none = 0): void {
  const saved = exitReason[eid];
  const one = Int32Array.of(eid, eid + 1);
  try {
    for (let r = 0; r < PRIME_ROUNDS; r++) {
      exitReason[eid] = leaving;
      collect(one);
      exitReason[eid] = saved;
      collect(one);
    }
    // The loop function called often enough to be optimised itself (the agent not leaving).
    const many = repeatedSpans(eid);
    exitReason[eid] = none;
    for (let r = 0; r < PRIME_CALLS; r++) collect(many);
  } finally {
    exitReason[eid] = saved;
  }
}
