// affordances/act's per-agent code: the generic loop (actGeneric, carryOut) and the world's
// generated kernel (act-kernel.ts) with the helpers it calls back into. index.ts runs one of them
// per tick.
import type { World } from "../../engine/world.ts";
import type { Columns } from "../../engine/component.ts";
import type { MessageDef } from "../../engine/message.ts";
import type { SocialLedger } from "../../components/social.ts";
import { Intent, IntentKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { STEPS, stepToward, type SpatialIndex } from "../../components/grid.ts";
import { ChatFailure, ChatSuccess } from "../../components/messages.ts";
import type { AffordancesState } from "./state.ts";
import { Req, type Runtime } from "./runtime.ts";
import { compileAct, actKernelFits, type ActArrays, type ActHelpers, type ActKernel } from "./act-kernel.ts";

// Enum members as module constants: plain loads in the per-agent loops.
const INT_BLOCKED = IntentKind.Blocked;
const INT_CHAT = IntentKind.Chat;
const INT_MOVE = IntentKind.Move;
const INT_NONE = IntentKind.None;
const INT_RELEASE = IntentKind.Release;
const INT_REQUEST = IntentKind.Request;
const INT_START = IntentKind.Start;
const INT_WAIT = IntentKind.Wait;

/** What affordances/act reads besides the agent (made once per tick). */
export interface ActCtx {
  world: World;
  rt: Runtime;
  st: AffordancesState;
  I: Columns<(typeof Intent)["schema"]>;
  space: SpatialIndex;
  isObj: Uint8Array;
  isAgent: Uint8Array;
  uid: Uint32Array;
  social: SocialLedger | undefined;
  avoid: number;
  ghostAfter: number;
  send: (def: MessageDef, ...values: number[]) => void;
}

/**
 * affordances/act's loop without a generated kernel (act-kernel.ts has the same steps): carries
 * out each agent's intent in entity order.
 */
export function actGeneric(c: ActCtx, agents: Int32Array): void {
  const { rt, I } = c;
  const A = rt.A;
  // last_ok is decided in the branches (`ok`) and written once at the end of an iteration,
  // a site every tick reaches: a store first reached mid-run (the first failed start, tick
  // ~311 in the bench world) had no type feedback and deoptimised this loop (issue #19,
  // p99). Nothing the loop calls reads last_ok.
  let lastOk = A.last_ok;
  let intentKind = I.kind;
  // The store's generation: a call that ran hooks (a plug-in's code) may have spawned entities
  // and replaced the columns; the arrays held here are taken again then (A and I are live records).
  const store = c.world.components;
  let g = store.generation;
  // An agent whose Intent is Wait is skipped unless its bit in rt.actWake is set: with last
  // intent Wait and ok, and no reservation with an affordance pending, carrying out Wait
  // writes the values the columns hold (issue #19; runtime.ts says who sets the bit).
  const wake = rt.actWake;
  for (let i = 0; i < agents.length; i++) {
    const eid = agents[i];
    const kind = intentKind[eid];
    if (kind === INT_WAIT && (wake[eid >>> 5] & (1 << (eid & 31))) === 0) continue;
    A.last_intent[eid] = kind;
    let ok = 1;
    const held = A.holding[eid];
    if (A.running[eid] >= 0) {
      // Busy: only letting go of the object interrupts a running affordance.
      if (kind === INT_RELEASE && (I.object[eid] === 0 || I.object[eid] === held)) rt.fail(eid, held, A.running[eid], "released");
      else if (kind !== INT_NONE && kind !== INT_WAIT) ok = 0;
    } else if (held !== 0 && A.pending[eid] >= 0 && kind !== INT_RELEASE && kind !== INT_BLOCKED && rt.adjacent(eid, held)) {
      if (!rt.start(eid, held, A.pending[eid])) ok = 0;
    } else ok = carryOut(c, eid, kind, held);
    if (store.generation !== g) {
      g = store.generation;
      followColumns(c);
      lastOk = A.last_ok;
      intentKind = I.kind;
    }
    lastOk[eid] = ok;
    // Quiet now (a Wait carried out, nothing pending): skipped while its Intent stays Wait.
    if (kind === INT_WAIT && ok === 1 && (A.running[eid] >= 0 || A.holding[eid] === 0 || A.pending[eid] < 0)) wake[eid >>> 5] &= ~(1 << (eid & 31));
    else wake[eid >>> 5] |= 1 << (eid & 31);
  }
}

/** Takes the tick context's arrays again (the store replaced columns: a hook spawned entities). */
export function followColumns(c: ActCtx): void {
  const w = c.world;
  c.isObj = w.components.flags(Obj);
  c.isAgent = w.components.flags(w.componentDef("Agent"));
  c.uid = w.columns(w.componentDef("Agent")).uid as Uint32Array;
}

/**
 * affordances/act through the world's kernel, from the first agent of `spans`: made again for the
 * columns now and called on from where it stopped whenever a hook replaced them (act-kernel.ts
 * ActKernel), over the same spans (the agents of the tick's start: not the newcomers).
 */
export function actKernelPass(c: ActCtx, kernel: ActKernel, spans: Int32Array, tick: number): void {
  for (let at = kernel(spans, tick, 0); at >= 0; ) {
    followColumns(c);
    // Made before in this process: code generation is allowed, so a kernel is made again.
    at = actKernel(c)!(spans, tick, at);
  }
}

/** The generated kernel's calls into the generic code, for the tick's context `c`. */
class Helpers implements ActHelpers {
  c!: ActCtx;
  carry(eid: number, kind: number, held: number): number {
    return carryOut(this.c, eid, kind, held);
  }
  start(eid: number, obj: number, aff: number): boolean {
    return this.c.rt.start(eid, obj, aff);
  }
  request(eid: number, obj: number, aff: number): number {
    return this.c.rt.request(eid, obj, aff);
  }
  firstAffordance(obj: number): number {
    const c = this.c;
    return c.st.registry.ofType(c.rt.O.type[obj])[0] ?? -1;
  }
  leaveQueue(eid: number): void {
    this.c.rt.leaveQueue(eid);
  }
  release(obj: number, eid: number): void {
    this.c.rt.release(obj, eid, false);
  }
  released(eid: number, obj: number, aff: number): void {
    this.c.rt.fail(eid, obj, aff, "released");
  }
  settle(eid: number, kind: number, ok: number): number {
    const { A, actWake: wake } = this.c.rt;
    A.last_ok[eid] = ok;
    // The loops' rule (actGeneric's last lines, the kernel's).
    if (kind === INT_WAIT && ok === 1 && (A.running[eid] >= 0 || A.holding[eid] === 0 || A.pending[eid] < 0)) wake[eid >>> 5] &= ~(1 << (eid & 31));
    else wake[eid >>> 5] |= 1 << (eid & 31);
    return eid + 1;
  }
  blocked(obj: number, eid: number): void {
    blockedAttempt(this.c.rt, obj, eid, this.c.ghostAfter);
  }
  place(eid: number, town: number, x: number, y: number): void {
    this.c.space.place(eid, town, x, y);
  }
}

/** A world's generated act kernel, the arrays it closes over and its helpers. */
interface ActKernelSlot {
  kernel: ActKernel;
  arrays: ActArrays;
  space: SpatialIndex;
  helpers: Helpers;
}
const actKernels = new WeakMap<Runtime, ActKernelSlot | null>();

/**
 * The world's act kernel for this tick's columns (generated again when one moved), undefined
 * where code generation from strings is not allowed (then the generic loop runs).
 */
export function actKernel(c: ActCtx): ActKernel | undefined {
  const { rt, I } = c;
  let slot = actKernels.get(rt);
  if (slot === null) return undefined;
  const A = rt.A;
  const arrays: ActArrays = {
    kind: I.kind,
    object: I.object,
    affordance: I.affordance,
    tx: I.x,
    ty: I.y,
    blocked: I.blocked,
    lastIntent: A.last_intent,
    lastOk: A.last_ok,
    holding: A.holding,
    running: A.running,
    pending: A.pending,
    queued: A.queued,
    x: rt.P.x,
    y: rt.P.y,
    town: rt.T,
    isObj: c.isObj,
    wake: rt.actWake,
    cooldownObj: A.cooldown_obj,
    cooldownUntil: A.cooldown_until,
    queueNext: A.queue_next,
    joinedTick: A.joined_tick,
    holder: rt.O.holder,
    queueHead: rt.O.queue_head,
    queueLen: rt.O.queue_len,
    idleSince: rt.O.idle_since,
    stall: rt.O.stall,
  };
  if (slot === undefined || slot.space !== c.space || !actKernelFits(slot.arrays, arrays)) {
    const helpers = slot?.helpers ?? new Helpers();
    const kernel = compileAct(arrays, helpers, c.world.components, c.space.width, c.space.height);
    if (kernel === undefined) {
      actKernels.set(rt, null);
      return undefined;
    }
    slot = { kernel, arrays, space: c.space, helpers };
    actKernels.set(rt, slot);
  }
  slot.helpers.c = c;
  return slot.kernel;
}

/** Carries out an agent's intent when it is not busy nor starting its pending affordance; 1 = ok. */
function carryOut(c: ActCtx, eid: number, kind: number, held: number): number {
  const { world, rt, st, I, space, isObj, isAgent, uid, social, avoid, ghostAfter, send } = c;
  const { A, O, P, T } = rt;
  let ok = 1;
  switch (kind) {
    case INT_MOVE: {
      const s = stepToward(P.x[eid], P.y[eid], I.x[eid], I.y[eid]);
      if (s >= 0) step(world, space, P, T, eid, s);
      break;
    }
    case INT_REQUEST:
    case INT_START: {
      const obj = I.object[eid];
      if (obj <= 0 || isObj[obj] !== 1 || T[obj] !== T[eid]) {
        ok = 0;
        break;
      }
      let aff = I.affordance[eid];
      if (aff < 0) aff = st.registry.ofType(O.type[obj])[0] ?? -1;
      if (A.queued[eid] !== 0 && A.queued[eid] !== obj) rt.leaveQueue(eid);
      if (held !== 0 && held !== obj) rt.release(held, eid, false);
      if (!rt.adjacent(eid, obj)) {
        const s = stepToward(P.x[eid], P.y[eid], P.x[obj], P.y[obj]);
        if (s >= 0) step(world, space, P, T, eid, s);
        break;
      }
      const r = rt.request(eid, obj, aff);
      if ((r === Req.Granted || r === Req.Held) && kind === INT_START && aff >= 0) {
        if (!rt.start(eid, obj, aff)) ok = 0;
      } else if (r === Req.Queued && I.blocked[eid] === 1) {
        blockedAttempt(rt, obj, eid, ghostAfter);
      } else if (r < 0) ok = 0;
      break;
    }
    case INT_RELEASE: {
      const obj = I.object[eid] || held || A.queued[eid];
      if (obj !== 0 && held === obj) rt.release(obj, eid, false);
      else if (obj !== 0 && A.queued[eid] === obj) rt.leaveQueue(eid);
      else ok = 0;
      break;
    }
    case INT_BLOCKED: {
      const obj = I.object[eid];
      if (obj > 0 && A.queued[eid] === obj) blockedAttempt(rt, obj, eid, ghostAfter);
      else ok = 0;
      break;
    }
    case INT_CHAT: {
      const other = I.target[eid];
      if (other <= 0 || other === eid || isAgent[other] !== 1 || T[other] !== T[eid]) {
        ok = 0;
        break;
      }
      if (Math.abs(P.x[eid] - P.x[other]) + Math.abs(P.y[eid] - P.y[other]) > 1) {
        send(ChatFailure, eid, other, world.intern("too_far"));
        st.counters.chats_failed++;
        ok = 0;
      } else if (social && social.rivalryOf(eid, uid[other]) >= avoid) {
        send(ChatFailure, eid, other, world.intern("rival"));
        st.counters.chats_failed++;
        ok = 0;
      } else {
        send(ChatSuccess, eid, other, I.quality[eid]);
        st.counters.chats_ok++;
      }
      break;
    }
  }
  return ok;
}

/** Counts a blocked attempt at `obj` by a waiter; an idle holder may be ghost-stepped. */
function blockedAttempt(rt: Runtime, obj: number, agent: number, ghostAfter: number): void {
  const O = rt.O;
  if (O.holder[obj] === 0 || O.holder[obj] === agent || O.running[obj] >= 0 || O.idle_since[obj] >= rt.tick) return;
  O.stall[obj]++;
  if (ghostAfter > 0 && O.stall[obj] >= ghostAfter) rt.ghostStep(obj);
}

function step(world: World, space: SpatialIndex, P: { x: Int16Array; y: Int16Array }, T: Uint32Array, eid: number, s: number): void {
  const nx = P.x[eid] + STEPS[s][0];
  const ny = P.y[eid] + STEPS[s][1];
  if (!space.inBounds(nx, ny)) return;
  P.x[eid] = nx;
  P.y[eid] = ny;
  space.place(eid, T[eid], nx, ny);
  void world;
}
