// Priming a world's new object kernels (object-kernels.ts) before their first long pass (issue #19,
// twelfth session). Traced at 100k agents, affordances/run was deoptimised at the first finish
// (ticks 2-3: no type feedback for the finish store and the flush call), again at the first outage
// (tick ~144: the generation compare after it), and queues at the first reservation timeout (tick
// ~65); each time V8 dropped to the interpreter mid-pass and compiled again. Both loops also ran
// first as on-stack-replacement code, which V8 does not specialise on the kernel's closure (see
// engine/kernel-source.ts PRIME_CALLS). So a new pair is primed here: every branch of both loops
// runs PRIME_ROUNDS times on one object and one agent of the world, with the helpers switched to
// do nothing, then each function is called PRIME_CALLS times over the object repeated, so V8
// optimises the functions themselves. Every value a scene sets or a kernel writes is put back.
import { PRIME_CALLS, PRIME_SPANS } from "../../engine/kernel-source.ts";
import { NEEDS_POWER, NEEDS_WATER, NO_SPEC, type ObjectArrays, type ObjectKernels } from "./object-kernels.ts";

/** Times each primed situation runs (V8 gives a function its feedback vector after 8 calls). */
const PRIME_ROUNDS = 12;
const TICK = 10;
const TIMEOUT = 4;
const QUEUES_CALLS = 4 * PRIME_CALLS;

/** The helpers' switch: while `priming`, every helper returns at once (objects-loop.ts Helpers). */
export interface PrimedHelpers {
  priming: boolean;
}

/** `obj` repeated `n` times, in a list of the same kind as the pass's `objects` (slice keeps it). */
function repeated(objects: readonly number[], obj: number, n: number): number[] {
  const list = objects.slice(0, 0);
  for (let i = 0; i < n; i++) list.push(obj);
  return list;
}

/** Indices of an affordance with no outage checks and of one with power or water needs (-1: none). */
function pickAffordances(needs: Uint8Array): [free: number, needy: number] {
  let free = -1;
  let needy = -1;
  for (let i = needs.length - 1; i >= 0; i--) {
    if ((needs[i] & NO_SPEC) !== 0) continue;
    if ((needs[i] & (NEEDS_POWER | NEEDS_WATER)) === 0) free = i;
    else needy = i;
  }
  return [free, needy];
}

/**
 * Primes `k` (made over `a`) on object `objects[0]` and live agent `agent`: run's loop not
 * running, counting down, finishing one by one, in a chunk and in a full chunk, with and without
 * power/water needs, failing on an outage; queues' loop free with and without a waiter, held and
 * running, held idle with a queue (stalling, ghost-stepped) and without (waiting, timed out).
 * Does nothing without an object, an agent or an affordance with a spec.
 */
export function primeObjectKernels(k: ObjectKernels, a: ObjectArrays, h: PrimedHelpers, objects: readonly number[], agent: number, chunk: number): void {
  if (objects.length === 0 || agent <= 0 || agent >= a.remaining.length) return;
  const [free, needy] = pickAffordances(a.needs);
  if (free < 0 && needy < 0) return;
  const obj = objects[0];
  // A second object of the same town, for the outage that comes after a finish (or none).
  const pair = objects.length > 1 && a.town[objects[1]] === a.town[obj] ? objects[1] : undefined;
  const town = a.town[obj];
  const econ = town < a.townPower.length && town < a.townWater.length;
  const keep = (o: number) => [a.holder[o], a.running[o], a.queueHead[o], a.queueLen[o], a.stall[o], a.idleSince[o], a.powerOn[o], a.waterOn[o]];
  const put = (o: number, v: number[]) => ([a.holder[o], a.running[o], a.queueHead[o], a.queueLen[o], a.stall[o], a.idleSince[o], a.powerOn[o], a.waterOn[o]] = v);
  const savedObj = keep(obj);
  const savedPair = pair === undefined ? [] : keep(pair);
  const savedTown = econ ? [a.townPower[town], a.townWater[town]] : [];
  const savedRemaining = a.remaining[agent];
  const one = repeated(objects, obj, 1);
  const full = repeated(objects, obj, Math.max(1, chunk | 0));
  const many = repeated(objects, obj, PRIME_SPANS);
  const both = pair === undefined ? undefined : repeated(objects, pair, 1);
  both?.push(obj);
  const set = (o: number, holder: number, running: number, remaining: number, on: number): void => {
    a.holder[o] = holder;
    a.running[o] = running;
    a.remaining[agent] = remaining;
    a.powerOn[o] = on;
    a.waterOn[o] = on;
    if (econ) {
      a.townPower[town] = 1;
      a.townWater[town] = 1;
    }
  };
  const affs = [free, needy].filter((x) => x >= 0);
  h.priming = true;
  try {
    for (let r = 0; r < PRIME_ROUNDS; r++) {
      for (const aff of affs) {
        set(obj, agent, -1, 5, 1);
        k.run(one, true, 0);
        set(obj, agent, aff, 5, 1);
        k.run(one, true, 0);
        set(obj, agent, aff, 1, 1);
        k.run(one, true, 0);
        set(obj, agent, aff, 1, 1);
        k.run(full, true, 0);
        set(obj, agent, aff, 1, 1);
        k.run(one, false, 0);
      }
      if (needy >= 0) {
        set(obj, agent, needy, 5, 0);
        k.run(one, true, 0);
        k.run(one, false, 0);
        // An outage after a finish waiting in the chunk (flushed first): `pair` finishes, then obj fails.
        if (both !== undefined) {
          set(pair!, agent, free >= 0 ? free : needy, 1, 1);
          a.powerOn[obj] = 0;
          a.waterOn[obj] = 0;
          a.running[obj] = needy;
          a.holder[obj] = agent;
          k.run(both, true, 0);
        }
      }
      primeQueues(k, a, obj, agent, one);
    }
    // queues' loop body is shorter: V8's budget needs more of its calls.
    for (let r = 0; r < QUEUES_CALLS; r++) {
      if (r < PRIME_CALLS) {
        set(obj, agent, affs[0], 30_000, 1);
        k.run(many, true, 0);
      }
      a.holder[obj] = 0;
      a.queueHead[obj] = 0;
      k.queues(many, TICK, 0, TIMEOUT);
    }
  } finally {
    h.priming = false;
    put(obj, savedObj);
    if (pair !== undefined) put(pair, savedPair);
    if (econ) [a.townPower[town], a.townWater[town]] = savedTown;
    a.remaining[agent] = savedRemaining;
  }
}

/** queues' scenes (one round): holder, queue head, running, idle since, queue length, ghost-step after. */
function primeQueues(k: ObjectKernels, a: ObjectArrays, obj: number, agent: number, one: number[]): void {
  const scenes: [number, number, number, number, number, number][] = [
    [0, agent, -1, 0, 1, 0],
    [0, 0, -1, 0, 0, 0],
    [agent, 0, 0, 0, 0, 0],
    [agent, 0, -1, TICK, 0, 0],
    [agent, 0, -1, TICK - 1, 1, 1],
    [agent, 0, -1, TICK - 1, 1, 0],
    [agent, 0, -1, TICK - TIMEOUT, 0, 0],
    [agent, 0, -1, TICK - 1, 0, 0],
  ];
  for (const [holder, head, running, since, len, ghost] of scenes) {
    a.holder[obj] = holder;
    a.queueHead[obj] = head;
    a.running[obj] = running;
    a.idleSince[obj] = since;
    a.queueLen[obj] = len;
    a.stall[obj] = 0;
    k.queues(one, TICK, ghost, TIMEOUT);
  }
}
