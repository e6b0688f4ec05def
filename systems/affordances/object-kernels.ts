// affordances/queues' and affordances/run's object loops generated for one world's columns
// (issue #19; the same reason as act-kernel.ts: typed arrays the only closure of a function
// literal sees as constants are loaded without the field, base and length loads of arrays held in
// object fields). Both walk every object each tick (62.5k at 100k agents) and touch a handful of
// its Obj columns; run also decrements the running agent's Activity.remaining.
//
// The generated source holds only the names and integer constants of this file: the settings
// (ghost_step_after, reservation_timeout_ticks) and the tick come in as arguments, each
// affordance's power/water needs as a Uint8Array made from the registry (the kernels are made again
// when the registry or a column changes). Every queue change, outage failure and finish calls the
// generic code (ObjectHelpers, objects-loop.ts), so the steps are the generic loops' in the same
// order and the hash stream is identical (test/unit/object-kernels.test.ts runs both). One
// difference of order: while every hook is a built-in one, run finishes up to FINISH_CHUNK
// affordances after checking their objects (and before an outage or a missing spec), not each
// right after its own check; a finish changes nothing those checks read (hooks.ts register). An
// outage or a finish one by one runs hooks, which may spawn entities and make the store replace
// the columns run closes over: run compares the store's generation after them and returns where
// to go on, and runPass (objects-loop.ts) makes the kernels again and calls run from there
// (queues calls no hook). Where code generation from strings is not allowed,
// compileObjectKernels returns undefined and the generic loops run. A new pair is primed before
// its first pass (object-prime.ts); the generated functions are named objectsQueues, objectsRun and
// objectsFlush, so that V8's traces tell them from the other kernels' loops.

import { compileKernel } from "../../engine/kernel-source.ts";
import type { ComponentStore } from "../../engine/component.ts";

/** What the generated loops call for every change they do not make themselves. */
export interface ObjectHelpers {
  /** rt.grantNext: a free object with waiters goes to the next one. */
  grantNext(obj: number): void;
  /** rt.ghostStep: the idle holder goes to the back of the queue. */
  ghostStep(obj: number): void;
  /** A reservation held idle too long: counted and released. */
  timeout(obj: number, holder: number): void;
  /** An outage: the running affordance fails. */
  outage(agent: number, obj: number, aff: number): void;
  /** The running affordance is done: effects, hooks, handover, release. */
  finish(agent: number, obj: number): void;
  /** finish for agents[j], objects[j], j < n, in that order (rt.finishChunk). */
  finishChunk(agents: Int32Array, objects: Int32Array, n: number): void;
  /** The running affordance index has no spec (the generic code's path, which throws). */
  missing(agent: number, obj: number, aff: number): void;
}

/** Bits of ObjectArrays.needs per affordance index. */
export const NEEDS_POWER = 1;
export const NEEDS_WATER = 2;
export const NO_SPEC = 4;

/** The arrays the kernels close over, in their parameter order (all of one world). */
export interface ObjectArrays {
  holder: Int32Array;
  running: Int16Array;
  queueHead: Int32Array;
  queueLen: Uint16Array;
  stall: Uint16Array;
  idleSince: Int32Array;
  powerOn: Uint8Array;
  waterOn: Uint8Array;
  town: Uint32Array;
  /** The towns' TownEconomy.power / water (empty arrays without economy: then always on). */
  townPower: Uint8Array;
  townWater: Uint8Array;
  remaining: Int16Array;
  /** NEEDS_POWER | NEEDS_WATER | NO_SPEC per affordance index. */
  needs: Uint8Array;
}

const ARRAY_NAMES = [
  "holder",
  "running",
  "queueHead",
  "queueLen",
  "stall",
  "idleSince",
  "powerOn",
  "waterOn",
  "town",
  "townPower",
  "townWater",
  "remaining",
  "needs",
] as const satisfies readonly (keyof ObjectArrays)[];

/** Whether kernels made for `made` still fit the arrays `now` (none of them moved). */
export function objectKernelsFit(made: ObjectArrays, now: ObjectArrays): boolean {
  for (const name of ARRAY_NAMES) if (made[name] !== now[name]) return false;
  return true;
}

export interface ObjectKernels {
  /** affordances/queues over `objects` (entity order). */
  queues(objects: readonly number[], tick: number, ghostAfter: number, timeout: number): void;
  /**
   * affordances/run over `objects` (entity order) from index `from`. `chunked`: the finishes of up
   * to FINISH_CHUNK objects are made after those objects' checks (h.finishChunk), not one by one.
   * Returns -1 when done, or the index to go on from when an outage or a finish (hooks: a
   * plug-in's code) made the store replace columns: the caller makes the kernels again for the
   * columns now and calls run from there.
   */
  run(objects: readonly number[], chunked: boolean, from: number): number;
}

/**
 * Finishes collected before h.finishChunk makes them (see run). A chunk's finishes read and write
 * ~20 columns of scattered agents and objects each; made together, their rows are fetched
 * together (rt.finishChunk) instead of one miss after another (issue #19: run's cost per finish
 * in the busy hours, when thousands finish in one tick). 256, not 64 (eighth session): replays of
 * run's pass at the finish waves of the 100k bench (ticks 2034, 2064, 2094) 4.25/4.06, 3.82/3.92,
 * 3.96/4.29 -> 3.71/3.78, 3.87/3.94, 3.91/3.94 CPU ms; 1024 was slower.
 */
export const FINISH_CHUNK = 256;

/**
 * Generates both loops for these arrays; `economy`: the world has town power and water columns;
 * `chunk`: finishes per h.finishChunk call (tests make it small).
 * Returns undefined when code generation is not allowed here.
 */
export function compileObjectKernels(a: ObjectArrays, h: ObjectHelpers, store: Pick<ComponentStore, "generation">, economy: boolean, chunk = FINISH_CHUNK): ObjectKernels | undefined {
  const on = (obj: string, col: string, townCol: string) => (economy ? `(${col}[${obj}] === 1 && ${townCol}[town[${obj}]] === 1)` : `${col}[${obj}] === 1`);
  const source = `"use strict";
function objectsQueues(objects, tick, ghostAfter, timeout) {
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    const hold = holder[obj];
    if (hold === 0) {
      if (queueHead[obj] !== 0) h.grantNext(obj);
      continue;
    }
    if (running[obj] >= 0 || idleSince[obj] >= tick) continue;
    if (queueLen[obj] > 0) {
      stall[obj]++;
      if (ghostAfter > 0 && stall[obj] >= ghostAfter) h.ghostStep(obj);
    } else if (tick - idleSince[obj] >= timeout) h.timeout(obj, hold);
  }
}
function objectsRun(objects, chunked, from) {
  const n = needs.length;
  const g = store.generation;
  let m = 0;
  for (let i = from; i < objects.length; i++) {
    const obj = objects[i];
    const aff = running[obj];
    if (aff < 0) continue;
    const agent = holder[obj];
    const need = aff < n ? needs[aff] : ${NO_SPEC};
    if ((need & ${NO_SPEC}) !== 0) {
      if (m > 0) m = objectsFlush(m);
      h.missing(agent, obj, aff);
      continue;
    }
    if (((need & ${NEEDS_POWER}) !== 0 && !${on("obj", "powerOn", "townPower")}) || ((need & ${NEEDS_WATER}) !== 0 && !${on("obj", "waterOn", "townWater")})) {
      if (m > 0) m = objectsFlush(m);
      h.outage(agent, obj, aff);
      if (store.generation !== g) return i + 1;
      continue;
    }
    remaining[agent]--;
    if (remaining[agent] <= 0) {
      if (!chunked) {
        h.finish(agent, obj);
        if (store.generation !== g) return i + 1;
      } else {
        finAgents[m] = agent;
        finObjects[m] = obj;
        if (++m === ${Math.max(1, chunk | 0)}) m = objectsFlush(m);
      }
    }
  }
  if (m > 0) objectsFlush(m);
  return -1;
}
function objectsFlush(m) {
  h.finishChunk(finAgents, finObjects, m);
  return 0;
}
return { queues: objectsQueues, run: objectsRun };`;
  const finAgents = new Int32Array(Math.max(1, chunk | 0));
  const finObjects = new Int32Array(Math.max(1, chunk | 0));
  return compileKernel<ObjectKernels>([...ARRAY_NAMES, "h", "store", "finAgents", "finObjects"], source, [...ARRAY_NAMES.map((n) => a[n]), h, store, finAgents, finObjects]);
}
