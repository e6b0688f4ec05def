// affordances/queues and affordances/run over the objects: the generic loops and the world's
// generated kernels (object-kernels.ts) with the helpers they call back into. index.ts runs
// `queuesPass` and `runPass` once per tick.
import type { World } from "../../engine/world.ts";
import type { AffordancesState } from "./state.ts";
import type { Runtime } from "./runtime.ts";
import type { AffordanceRegistry as Registry, RegisteredAffordance } from "./registry.ts";
import { compileObjectKernels, objectKernelsFit, NEEDS_POWER, NEEDS_WATER, NO_SPEC, type ObjectArrays, type ObjectHelpers, type ObjectKernels } from "./object-kernels.ts";
import { primeObjectKernels, type PrimedHelpers } from "./object-prime.ts";

/** The generated loops' calls into the runtime; none while the kernels are primed (object-prime.ts). */
class Helpers implements ObjectHelpers, PrimedHelpers {
  priming = false;
  constructor(
    private readonly rt: Runtime,
    private readonly st: AffordancesState,
  ) {}
  grantNext(obj: number): void {
    if (!this.priming) this.rt.grantNext(obj);
  }
  ghostStep(obj: number): void {
    if (!this.priming) this.rt.ghostStep(obj);
  }
  timeout(obj: number, holder: number): void {
    if (this.priming) return;
    this.st.counters.reservation_timeouts++;
    this.rt.release(obj, holder, false);
  }
  outage(agent: number, obj: number, aff: number): void {
    if (!this.priming) this.rt.fail(agent, obj, aff, "outage");
  }
  finish(agent: number, obj: number): void {
    if (!this.priming) this.rt.finish(agent, obj);
  }
  finishChunk(agents: Int32Array, objects: Int32Array, n: number): void {
    // Primed through the runtime itself, finishing none: the call every busy tick makes.
    this.rt.finishChunk(agents, objects, this.priming ? 0 : n);
  }
  missing(agent: number, obj: number, aff: number): void {
    if (!this.priming) runOne(this.rt, this.st, obj, aff, agent);
  }
}

interface Slot {
  kernels: ObjectKernels;
  arrays: ObjectArrays;
  /** The registry's specs the `needs` array was made from (registerAffordance replaces in place). */
  specs: readonly (RegisteredAffordance | undefined)[];
  economy: boolean;
  /** rt.finishChunkSize the kernels were made for. */
  chunk: number;
}
const slots = new WeakMap<Runtime, Slot | null>();
const EMPTY = new Uint8Array(0);

/** Each affordance's NEEDS_POWER | NEEDS_WATER, NO_SPEC where the registry has none. */
function needsOf(registry: Registry): Uint8Array {
  const list = registry.affordances;
  const needs = new Uint8Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const spec = list[i];
    needs[i] = spec ? (spec.needsPower ? NEEDS_POWER : 0) | (spec.needsWater ? NEEDS_WATER : 0) : NO_SPEC;
  }
  return needs;
}

/** Whether `specs` are still the registry's affordances, index by index. */
function sameSpecs(specs: readonly (RegisteredAffordance | undefined)[], registry: Registry): boolean {
  const list = registry.affordances;
  if (specs.length !== list.length) return false;
  for (let i = 0; i < list.length; i++) if (specs[i] !== list[i]) return false;
  return true;
}

/** The world's kernels for the columns bound now (made again when one moved), or undefined. */
function kernels(rt: Runtime, st: AffordancesState): ObjectKernels | undefined {
  let slot = slots.get(rt);
  if (slot === null || !rt.useObjectKernels) return undefined;
  const { O, A, T, econ } = rt;
  const economy = econ !== undefined;
  const arrays: ObjectArrays = {
    holder: O.holder,
    running: O.running,
    queueHead: O.queue_head,
    queueLen: O.queue_len,
    stall: O.stall,
    idleSince: O.idle_since,
    powerOn: O.power_on,
    waterOn: O.water_on,
    town: T,
    townPower: econ ? econ.power : EMPTY,
    townWater: econ ? econ.water : EMPTY,
    remaining: A.remaining,
    needs: slot && sameSpecs(slot.specs, st.registry) ? slot.arrays.needs : needsOf(st.registry),
  };
  if (slot === undefined || slot.economy !== economy || slot.chunk !== rt.finishChunkSize || !objectKernelsFit(slot.arrays, arrays)) {
    const helpers = new Helpers(rt, st);
    const made = compileObjectKernels(arrays, helpers, rt.world.components, economy, rt.finishChunkSize);
    if (made === undefined) {
      slots.set(rt, null);
      return undefined;
    }
    const agents = rt.world.agents;
    primeObjectKernels(made, arrays, helpers, st.objects, agents.length > 0 ? agents[0] : 0, rt.finishChunkSize);
    slot = { kernels: made, arrays, specs: [...st.registry.affordances], economy, chunk: rt.finishChunkSize };
    slots.set(rt, slot);
  }
  return slot.kernels;
}

/** Which loops affordances/queues and run ran last ("kernel" or "generic"). */
export function objectsPath(rt: Runtime): "kernel" | "generic" {
  return slots.get(rt) && rt.useObjectKernels ? "kernel" : "generic";
}

/** affordances/queues: free objects go to their next waiter, idle holders are ghost-stepped or time out. */
export function queuesPass(world: World, rt: Runtime, st: AffordancesState, tick: number): void {
  const q = world.settings.queue_fairness;
  const k = kernels(rt, st);
  // The objects of the pass's start: registerObject replaces st.objects, never changes it in place.
  const objects = st.objects;
  if (k !== undefined) {
    k.queues(objects, tick, q.ghost_step_after, q.reservation_timeout_ticks);
    return;
  }
  const O = rt.O;
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    const holder = O.holder[obj];
    if (holder === 0) {
      if (O.queue_head[obj] !== 0) rt.grantNext(obj);
      continue;
    }
    if (O.running[obj] >= 0 || O.idle_since[obj] >= tick) continue;
    if (O.queue_len[obj] > 0) {
      // The head of the queue is blocked by a holder who is not using the object.
      O.stall[obj]++;
      if (q.ghost_step_after > 0 && O.stall[obj] >= q.ghost_step_after) rt.ghostStep(obj);
    } else if (tick - O.idle_since[obj] >= q.reservation_timeout_ticks) {
      st.counters.reservation_timeouts++;
      rt.release(obj, holder, false);
    }
  }
}

/** affordances/run: each running affordance fails on an outage or counts down and finishes. */
export function runPass(rt: Runtime, st: AffordancesState): void {
  const k = kernels(rt, st);
  const objects = st.objects;
  if (k !== undefined) {
    // Finishes in chunks only while every hook is a built-in one (hooks.ts register): a plug-in's
    // after hook could change what run checks of the objects after its own. A hook that made the
    // store replace columns (it spawned entities) stops the kernel: made again, it goes on, over
    // the objects of the pass's start (a hook that registers an object replaces st.objects: the
    // index `at` is into the list the pass started with, and the new object waits for the next pass).
    const chunked = st.hooks.onlyBuiltins();
    // Made before in this process: code generation is allowed, so kernels are made again.
    for (let at = k.run(objects, chunked, 0); at >= 0; ) at = kernels(rt, st)!.run(objects, chunked, at);
    return;
  }
  // O is the live Obj record (the store replaces its entries in place) and runOne reads rt's
  // arrays, which follow the columns after hooks (runtime.ts follow): nothing here goes stale.
  // `objects` is the list of the pass's start (registerObject replaces st.objects).
  const O = rt.O;
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    const aff = O.running[obj];
    if (aff >= 0) runOne(rt, st, obj, aff, O.holder[obj]);
  }
}

/** One running affordance's tick (the generic loop's body). */
function runOne(rt: Runtime, st: AffordancesState, obj: number, aff: number, agent: number): void {
  const spec = st.registry.affordances[aff];
  if ((spec.needsPower && !rt.powered(obj)) || (spec.needsWater && !rt.watered(obj))) {
    rt.fail(agent, obj, aff, "outage");
    return;
  }
  const A = rt.A;
  A.remaining[agent]--;
  if (A.remaining[agent] <= 0) rt.finish(agent, obj);
}
