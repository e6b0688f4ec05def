// affordances/act's agent loop generated for one world's columns (issue #19).
//
// Why generated: V8 optimises a loop over typed arrays it sees as constants (the arrays of the
// only closure of a function literal: function-context specialisation; systems/needs/
// decay-kernel.ts) far better than the same loop over arrays held in object fields, where every
// access reloads the field, the array's base and its length. act touches ~15 columns of each of
// the ~10k agents it looks at per tick (at 100k agents) and scans the Intent kind and wake bit of
// every agent. The kernel closes over that world's columns (remade when one moves: the store
// grew) and inlines the frequent cases: Wait and None, Move, and Request/Start (the walk toward
// the object, a waiter's repeated request of the object it already queues for or holds, and a
// fresh request: rt.request's cooldown check, take or append, for an agent that holds and queues
// for nothing; issue #19: at the end of the shift, tod 367, ~30,000 agents request in one tick). Every
// other case calls the generic code (`ActHelpers`, index.ts), and so does the whole loop where
// code generation from strings is not allowed (node --disallow-code-generation-from-strings):
// compileAct returns undefined there.
//
// A hook (h.start and h.released run them: a plug-in's code) may spawn entities, and the store may
// replace the columns this kernel closes over: it compares the store's generation after those
// calls and, when it moved, finishes that agent's step through h.settle and returns where to go
// on; the caller makes the kernel again for the columns now and calls it from there (act.ts
// actKernelPass; as social's relate kernel does when the edge pool grows). The comparison follows
// only those calls, never the per-agent path.
//
// One walk call site for both walks (toward a requested object and Move's toward a tile): a Move
// only picks the goal arrays (Intent.x/y at the agent, where a request picks Position.x/y at the
// object), code without type feedback of its own. The first Move of a world comes late on the
// first day (tick 134 of the 100k bench, after ~130 ticks of requests); a Move branch with its own
// loads had none then, and the optimised loop was thrown away in that tick (deopt "insufficient
// type feedback", act +6-7 ms at 100k, issue #19).
//
// The generated source holds only the names of this file (positional column names and helper
// calls) and integer constants it defines: no config text. Its steps are the generic loop's, in
// the same order (index.ts `actGeneric` and `carryOut`): the columns, messages and the hash stream
// are identical (test/unit/act-kernel.test.ts runs both).
import { IntentKind } from "../../components/activity.ts";
import { Req } from "./runtime.ts";
import { compileKernel } from "../../engine/kernel-source.ts";
import type { ComponentStore } from "../../engine/component.ts";

/** What the generated loop calls for everything it does not inline. */
export interface ActHelpers {
  /** Carries out an intent of a kind the kernel does not inline (Release, Blocked, Chat ...); 1 = ok. */
  carry(eid: number, kind: number, held: number): number;
  /** rt.start: starts the pending/requested affordance; false when it failed. Runs hooks (a plug-in's code). */
  start(eid: number, obj: number, aff: number): boolean;
  /** rt.request for an agent that neither holds nor queues for `obj`. */
  request(eid: number, obj: number, aff: number): number;
  /** The object's type's first affordance, -1 = none (an Intent without an affordance). */
  firstAffordance(obj: number): number;
  leaveQueue(eid: number): void;
  /** rt.release(obj, eid, false). */
  release(obj: number, eid: number): void;
  /** A running affordance let go of: rt.fail(eid, obj, aff, "released"). Runs hooks (a plug-in's code). */
  released(eid: number, obj: number, aff: number): void;
  /**
   * The end of agent `eid`'s step (last_ok = `ok`, its wake bit) in the world's columns now, after
   * a hook replaced them (the generation moved) mid-step; returns eid + 1, where the pass goes on.
   */
  settle(eid: number, kind: number, ok: number): number;
  /** A blocked attempt at `obj` by a waiter (index.ts blockedAttempt). */
  blocked(obj: number, eid: number): void;
  /** space.place: the agent moved to (x, y) of its town. */
  place(eid: number, town: number, x: number, y: number): void;
}

/** The columns the kernel closes over, in its parameter order (all of one world). */
export interface ActArrays {
  kind: Uint8Array;
  object: Int32Array;
  affordance: Int16Array;
  tx: Int16Array;
  ty: Int16Array;
  blocked: Uint8Array;
  lastIntent: Uint8Array;
  lastOk: Uint8Array;
  holding: Int32Array;
  running: Int16Array;
  pending: Int16Array;
  queued: Int32Array;
  x: Int16Array;
  y: Int16Array;
  town: Uint32Array;
  isObj: Uint8Array;
  wake: Uint32Array;
  // A fresh request's columns (rt.request's cooldown check, take and append, inlined).
  cooldownObj: Int32Array;
  cooldownUntil: Int32Array;
  queueNext: Int32Array;
  joinedTick: Int32Array;
  holder: Int32Array;
  queueHead: Int32Array;
  queueLen: Uint16Array;
  idleSince: Int32Array;
  stall: Uint16Array;
}

/** The order of ActArrays' fields as the kernel's parameters. */
const ARRAY_NAMES = [
  "kind",
  "object",
  "affordance",
  "tx",
  "ty",
  "blocked",
  "lastIntent",
  "lastOk",
  "holding",
  "running",
  "pending",
  "queued",
  "x",
  "y",
  "town",
  "isObj",
  "wake",
  "cooldownObj",
  "cooldownUntil",
  "queueNext",
  "joinedTick",
  "holder",
  "queueHead",
  "queueLen",
  "idleSince",
  "stall",
] as const satisfies readonly (keyof ActArrays)[];

/**
 * Agents per call of the generated loop function (actRun). Issue #19, tenth session: V8 does not
 * specialise on-stack-replacement code on the function's context, and a loop function made hot
 * inside one long call (the whole span, once per tick) could be left running only OSR code: seen
 * on the 10k bench world after a deoptimisation (an intent's first helper call), act 0.14-0.17
 * instead of 0.10-0.11 ms. A call per chunk this short (its loop body ~1 KB of bytecode) stays
 * under V8's tier-up interrupt budget, so a request to optimise the function is served at its next
 * entry and no OSR is needed. The agents run in the same order.
 */
export const ACT_CHUNK = 256;

/**
 * A compiled act pass over the agents' spans (pairs [start, end) in entity order) at `tick`, from
 * entity `from` on (0: all). Returns -1 when done, or the entity to go on from when a hook
 * (h.start, h.released: a plug-in's code) made the store replace columns: that agent's step was
 * finished by h.settle, and the caller makes the kernel again for the columns now and calls it
 * from there, over the same spans.
 */
export type ActKernel = (spans: Int32Array, tick: number, from: number) => number;

/** Whether a kernel made for `made` still fits the columns `now` (none of them moved). */
export function actKernelFits(made: ActArrays, now: ActArrays): boolean {
  for (const name of ARRAY_NAMES) if (made[name] !== now[name]) return false;
  return true;
}

// The enum values the source embeds (numbers, not config).
const K = IntentKind;

/**
 * Generates the kernel for these columns and a grid of `width` x `height` tiles per town.
 * Returns undefined when code generation is not allowed here.
 */
export function compileAct(a: ActArrays, h: ActHelpers, store: Pick<ComponentStore, "generation">, width: number, height: number): ActKernel | undefined {
  // After a call that runs hooks: columns replaced since the call began end this run (see ActKernel).
  const moved = "if (store.generation !== g) return h.settle(e, k, ok);";
  const source = `"use strict";
const W = ${width | 0}, H = ${height | 0};
function actRun(start, end, tick) {
  const g = store.generation;
  for (let e = start; e < end; e++) {
    const k = kind[e];
    if (k === ${K.Wait} && (wake[e >>> 5] & (1 << (e & 31))) === 0) continue;
    lastIntent[e] = k;
    let ok = 1;
    let gi = -1, gx = x, gy = y;
    const held = holding[e];
    if (running[e] >= 0) {
      if (k === ${K.Release} && (object[e] === 0 || object[e] === held)) {
        h.released(e, held, running[e]);
        ${moved}
      } else if (k !== ${K.None} && k !== ${K.Wait}) ok = 0;
    } else if (held !== 0 && pending[e] >= 0 && k !== ${K.Release} && k !== ${K.Blocked} &&
        Math.abs(x[e] - x[held]) + Math.abs(y[e] - y[held]) <= 1) {
      if (!h.start(e, held, pending[e])) ok = 0;
      ${moved}
    } else if (k === ${K.Start} || k === ${K.Request}) {
      const obj = object[e];
      if (obj <= 0 || isObj[obj] !== 1 || town[obj] !== town[e]) ok = 0;
      else {
        let aff = affordance[e];
        if (aff < 0) aff = h.firstAffordance(obj);
        const q = queued[e];
        if (q !== 0 && q !== obj) h.leaveQueue(e);
        if (held !== 0 && held !== obj) h.release(held, e);
        const ax = x[e], ay = y[e], ox = x[obj], oy = y[obj];
        if (Math.abs(ax - ox) + Math.abs(ay - oy) > 1) gi = obj;
        else {
          let r = 0;
          if (holding[e] === obj) {
            if (aff >= 0) pending[e] = aff;
            r = ${Req.Held};
          } else if (queued[e] === obj) {
            if (aff >= 0) pending[e] = aff;
            r = ${Req.Queued};
          } else if (holding[e] === 0 && queued[e] === 0 && (cooldownObj[e] !== obj || tick >= cooldownUntil[e])) r = fresh(e, obj, aff, tick);
          else r = h.request(e, obj, aff);
          if ((r === ${Req.Granted} || r === ${Req.Held}) && k === ${K.Start} && aff >= 0) {
            if (!h.start(e, obj, aff)) ok = 0;
            ${moved}
          } else if (r === ${Req.Queued} && blocked[e] === 1) h.blocked(obj, e);
          else if (r < 0) ok = 0;
        }
      }
    } else if (k === ${K.Move}) {
      gx = tx;
      gy = ty;
      gi = e;
    } else if (k !== ${K.Wait} && k !== ${K.None}) ok = h.carry(e, k, held);
    if (gi >= 0) walk(e, x[e], y[e], gx[gi], gy[gi]);
    lastOk[e] = ok;
    if (k === ${K.Wait} && ok === 1 && (running[e] >= 0 || holding[e] === 0 || pending[e] < 0)) wake[e >>> 5] &= ~(1 << (e & 31));
    else wake[e >>> 5] |= 1 << (e & 31);
  }
  return -1;
}
// rt.request for an agent that holds and queues for nothing, out of cooldown.
function fresh(e, obj, aff, tick) {
  wake[e >>> 5] |= 1 << (e & 31);
  pending[e] = aff;
  if (holder[obj] === 0 && queueHead[obj] === 0) {
    holder[obj] = e;
    idleSince[obj] = tick;
    stall[obj] = 0;
    holding[e] = obj;
    return ${Req.Granted};
  }
  queueNext[e] = 0;
  queued[e] = obj;
  joinedTick[e] = tick;
  let cur = queueHead[obj];
  if (cur === 0) queueHead[obj] = e;
  else {
    while (queueNext[cur] !== 0) cur = queueNext[cur];
    queueNext[cur] = e;
  }
  queueLen[obj]++;
  return ${Req.Queued};
}
function walk(e, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  if (dx === 0 && dy === 0) return;
  let nx = ax, ny = ay;
  if (Math.abs(dx) >= Math.abs(dy)) nx += dx < 0 ? -1 : 1;
  else ny += dy < 0 ? -1 : 1;
  if (nx < 0 || ny < 0 || nx >= W || ny >= H) return;
  x[e] = nx;
  y[e] = ny;
  h.place(e, town[e], nx, ny);
}
return function act(spans, tick, from) {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let i = spans[s] > from ? spans[s] : from; i < end; i += ${ACT_CHUNK}) {
      const at = actRun(i, i + ${ACT_CHUNK} < end ? i + ${ACT_CHUNK} : end, tick);
      if (at >= 0) return at;
    }
  }
  return -1;
};`;
  return compileKernel<ActKernel>([...ARRAY_NAMES, "h", "store"], source, [...ARRAY_NAMES.map((n) => a[n]), h, store]);
}
