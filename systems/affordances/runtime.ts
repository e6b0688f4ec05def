// Queues, reservations and running affordances, over the Obj and Activity columns. One object
// has at most one holder and a FIFO-with-age-priority queue (linked through
// Activity.queue_next); an agent holds or waits for at most one object. Every operation costs
// O(1) or O(queue length) at a queue change, never O(agents x queue length) per tick.
import type { Columns } from "../../engine/component.ts";
import type { World } from "../../engine/world.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import { Town } from "../../engine/core-components.ts";
import { Obj } from "../../components/objects.ts";
import { Activity } from "../../components/activity.ts";
import { Needs, needTable, type NeedTable } from "../../components/needs.ts";
import type { AffordanceSpec } from "../../components/affordances.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { AffordanceFail, AffordanceFinish, AffordanceStart, QueueConflict, QueueHandover } from "../../components/messages.ts";
import type { SocialLedger } from "../../components/social.ts";
import type { MessageChannel, MessageDef } from "../../engine/message.ts";
import type { AffordancesState } from "./state.ts";
import type { RegisteredAffordance } from "./registry.ts";
import type { HookCall } from "./hooks.ts";
import { SpecCache } from "./spec-cache.ts";
import { firstFailing, type PreconditionScope, type Value } from "./preconditions.ts";
import { SocialKey } from "../../components/social.ts";
import { FINISH_CHUNK } from "./object-kernels.ts";
import { clamp, effectProblem, lookupName, preferredWaiter, sumFinishRows } from "./scope.ts";

export { clamp, effectProblem };

type ObjCols = Columns<(typeof Obj)["schema"]>;
type ActCols = Columns<(typeof Activity)["schema"]>;

/** Outcome of a request. */
export const Req = { Granted: 1, Queued: 2, Held: 3, Cooldown: -1, Busy: -2 } as const;

export class Runtime implements PreconditionScope {
  O!: ObjCols;
  A!: ActCols;
  /** Needs columns by need name (live record: its entries are replaced when the store grows). */
  N!: Record<string, Float32Array>;
  /** The world's needs, in order. */
  readonly needs: NeedTable;
  /** N's columns in the needs' table order (refreshed by bind when the store moved them). */
  private needCols: Float32Array[] = [];
  /** Agent.uid (refreshed by bind). */
  private uid!: Uint32Array;
  /** The component store's generation the typed arrays above and T were taken at (see follow). */
  private gen = -1;
  /** Need deltas of each affordance spec in table order, compiled on its first finish. */
  private readonly deltas = new WeakMap<AffordanceSpec, Float64Array>();
  /** Deltas and hook functions by affordance index (spec-cache.ts). */
  private readonly cache = new SpecCache();
  W!: Columns<(typeof Wallet)["schema"]>;
  P!: Columns<(typeof Position)["schema"]>;
  T!: Uint32Array;
  econ: Columns<(typeof TownEconomy)["schema"]> | undefined;
  tick = 0;
  send!: (def: MessageDef, ...values: number[]) => void;
  // Its messages' channels (taken in bind): pushed as send does, without its Map lookup per message (#19).
  private chStart!: MessageChannel;
  private chFinish!: MessageChannel;
  private chFail!: MessageChannel;
  private chConflict!: MessageChannel;
  private chHandover!: MessageChannel;
  private social: SocialLedger | undefined;
  readonly call: HookCall; // reused by every stage; remove.ts reads it (a hook that removes its own object)
  // Precondition scope: the agent and object being checked.
  private sAgent = 0;
  private sObj = 0;
  /**
   * One bit per entity id: set = affordances/act must look at this agent even when its Intent is
   * Wait (issue #19: act skips the agents for which a Wait intent is a no-op). Cleared by act
   * when its Wait was carried out with nothing left to do (last intent Wait and ok, and no
   * reservation with an affordance pending); set again by every change of the agent's holding,
   * pending or running affordance (take, request, start, fail, release, ghost step), on spawn
   * and after a snapshot is loaded. Ids beyond the words are set when the bitset grows.
   */
  actWake = new Uint32Array(0);
  /** false: affordances/act looks at every agent every tick (tests compare both). */
  skipQuiet = true;
  /**
   * false: affordances/act runs its generic loop, not the kernel generated for the world's
   * columns (act-kernel.ts; tests compare both).
   */
  useActKernel = true;
  /**
   * false: affordances/queues and run run their generic loops, not the kernels generated for the
   * world's columns (object-kernels.ts; tests compare both).
   */
  useObjectKernels = true;
  /** Finishes per chunk of affordances/run's kernel (object-kernels.ts FINISH_CHUNK; tests make it small). */
  finishChunkSize = FINISH_CHUNK;
  inPass = false; // while affordances/act, queues or run runs: a hook's removal keeps its binding (index.ts onAgentRemove)
  /** Which loop affordances/act ran last tick (index.ts actPath). */
  actRan: "kernel" | "generic" | "" = "";

  constructor(
    readonly world: World,
    readonly st: AffordancesState,
  ) {
    this.needs = needTable(world.settings);
    // A hot-reloaded manifest whose effects name no need of this world is refused, the old kept.
    st.validate = (registry) => {
      for (const a of registry.affordances) {
        const problem = a && a.active ? effectProblem(a, this.needs) : undefined;
        if (problem !== undefined) return problem;
      }
      return undefined;
    };
    this.call = { world, stage: "before", tick: 0, agent: 0, object: 0, affordance: 0, reason: "", cancel: false, charged: false };
  }

  get settings(): ConfigSections {
    return this.world.settings;
  }

  /** Refreshes column references (they are replaced when the entity store grows). */
  bind(tick: number, send: (def: MessageDef, ...values: number[]) => void): void {
    const w = this.world;
    this.O = w.columns(Obj);
    this.A = w.columns(Activity);
    this.N = w.columns(Needs) as unknown as Record<string, Float32Array>;
    this.W = w.columns(Wallet);
    this.P = w.columns(Position);
    this.takeArrays();
    this.econ = w.townStore.isRegistered(TownEconomy) ? w.townColumns(TownEconomy) : undefined;
    this.social = w.optionalResource(SocialKey)?.ledger;
    this.tick = tick;
    this.send = send;
    this.chStart = w.messages.channel(AffordanceStart);
    this.chFinish = w.messages.channel(AffordanceFinish);
    this.chFail = w.messages.channel(AffordanceFail);
    this.chConflict = w.messages.channel(QueueConflict);
    this.chHandover = w.messages.channel(QueueHandover);
    const words = (w.maxEntityId() >>> 5) + 1;
    if (this.actWake.length < words) this.growWake(words);
  }

  /**
   * The typed arrays held outside the live column records (O, A, N, W, P: the store replaces
   * their entries in place): the need columns in table order, Agent.uid and Town.id.
   */
  private takeArrays(): void {
    const w = this.world;
    const list = this.needs.list;
    const cols = this.needCols;
    if (cols.length !== list.length || (list.length > 0 && cols[0] !== this.N[list[0].name])) {
      cols.length = 0;
      for (const n of list) cols.push(this.N[n.name]);
    }
    this.uid = w.columns(w.componentDef("Agent")).uid as Uint32Array;
    this.T = w.columns(Town).id;
    this.gen = w.components.generation;
  }

  /**
   * After hooks ran (a plug-in's code: it may spawn entities), the arrays again if the store
   * replaced columns meanwhile (the loops holding arrays of their own check too: act.ts, object-kernels.ts).
   */
  private follow(): void {
    if (this.world.components.generation !== this.gen) this.takeArrays();
  }

  private growWake(words: number): void {
    const old = this.actWake;
    const next = new Uint32Array(Math.max(words, Math.ceil(old.length * 1.25)));
    next.fill(0xffffffff);
    next.set(old);
    this.actWake = next;
  }

  /** affordances/act looks at `agent` again (its reservation or running affordance changed). */
  wake(agent: number): void {
    const w = this.actWake;
    const k = agent >>> 5;
    if (k < w.length) w[k] |= 1 << (agent & 31);
  }

  /** Every agent is looked at again (a snapshot was loaded: its Activity columns replaced). */
  wakeAll(): void {
    this.actWake.fill(0xffffffff);
  }

  priceMultiplier(eid: number): number {
    return this.econ ? this.econ.price_multiplier[this.T[eid]] : 1;
  }

  /** The object has power: its own flag and its town's. */
  powered(obj: number): boolean {
    return this.O.power_on[obj] === 1 && (!this.econ || this.econ.power[this.T[obj]] === 1);
  }
  watered(obj: number): boolean {
    return this.O.water_on[obj] === 1 && (!this.econ || this.econ.water[this.T[obj]] === 1);
  }

  adjacent(agent: number, obj: number): boolean {
    return Math.abs(this.P.x[agent] - this.P.x[obj]) + Math.abs(this.P.y[agent] - this.P.y[obj]) <= 1;
  }

  // ---- queues ------------------------------------------------------------------------------

  private append(obj: number, agent: number): void {
    const { O, A } = this;
    A.queue_next[agent] = 0;
    A.queued[agent] = obj;
    A.joined_tick[agent] = this.tick;
    let cur = O.queue_head[obj];
    if (cur === 0) O.queue_head[obj] = agent;
    else {
      while (A.queue_next[cur] !== 0) cur = A.queue_next[cur];
      A.queue_next[cur] = agent;
    }
    O.queue_len[obj]++;
  }

  /** Removes an agent from the queue it waits in (no-op when it waits in none). */
  leaveQueue(agent: number): void {
    const { O, A } = this;
    const obj = A.queued[agent];
    if (obj === 0) return;
    let prev = 0;
    let cur = O.queue_head[obj];
    while (cur !== 0 && cur !== agent) {
      prev = cur;
      cur = A.queue_next[cur];
    }
    if (cur === agent) {
      if (prev === 0) O.queue_head[obj] = A.queue_next[agent];
      else A.queue_next[prev] = A.queue_next[agent];
      O.queue_len[obj]--;
    }
    A.queued[agent] = 0;
    A.queue_next[agent] = 0;
  }

  /** Gives a free object to the waiter with the lowest `index - age_priority_weight * wait`. */
  grantNext(obj: number): void {
    const { O, A } = this;
    const head = O.queue_head[obj];
    if (O.holder[obj] !== 0 || head === 0) return;
    // One waiter: it is the one the scores below pick (best starts at the head), without the
    // settings lookup and the scoring (issue #19: the cost of a finish or release).
    if (A.queue_next[head] === 0) {
      this.leaveQueue(head);
      this.take(obj, head);
      return;
    }
    const w = this.settings.queue_fairness.age_priority_weight;
    let best = O.queue_head[obj];
    let bestScore = Infinity;
    let i = 0;
    for (let cur = O.queue_head[obj]; cur !== 0; cur = A.queue_next[cur], i++) {
      const score = i - w * (this.tick - A.joined_tick[cur]);
      if (score < bestScore) {
        bestScore = score;
        best = cur;
      }
    }
    this.leaveQueue(best);
    this.take(obj, best);
  }

  private take(obj: number, agent: number): void {
    this.O.holder[obj] = agent;
    this.O.idle_since[obj] = this.tick;
    this.O.stall[obj] = 0;
    this.A.holding[agent] = obj;
    this.wake(agent);
  }

  /**
   * An agent asks for an object (it must stand on or beside it). It gets it when the object is
   * free and nobody waits, else it joins the queue; it first lets go of any other object.
   */
  request(agent: number, obj: number, affordance: number): number {
    const { O, A } = this;
    this.wake(agent);
    if (A.holding[agent] === obj) {
      if (affordance >= 0) A.pending[agent] = affordance;
      return Req.Held;
    }
    if (A.queued[agent] === obj) {
      if (affordance >= 0) A.pending[agent] = affordance;
      return Req.Queued;
    }
    if (A.running[agent] >= 0) return Req.Busy;
    if (A.cooldown_obj[agent] === obj && this.tick < A.cooldown_until[agent]) {
      this.st.counters.cooldown_events++;
      return Req.Cooldown;
    }
    this.letGo(agent);
    A.pending[agent] = affordance;
    if (O.holder[obj] === 0 && O.queue_head[obj] === 0) {
      this.take(obj, agent);
      return Req.Granted;
    }
    this.append(obj, agent);
    return Req.Queued;
  }

  /** Leaves any queue and releases any idle reservation (not a running affordance). */
  letGo(agent: number): void {
    this.leaveQueue(agent);
    const held = this.A.holding[agent];
    if (held !== 0 && this.A.running[agent] < 0) this.release(held, agent, false);
  }

  /** The holder lets go; success starts its cooldown for this object. The next waiter gets it. */
  release(obj: number, agent: number, success: boolean): void {
    const { O, A } = this;
    if (O.holder[obj] !== agent || agent === 0) return;
    this.wake(agent);
    O.holder[obj] = 0;
    O.running[obj] = -1;
    O.stall[obj] = 0;
    A.holding[agent] = 0;
    A.running[agent] = -1;
    A.remaining[agent] = 0;
    A.pending[agent] = -1;
    if (success) {
      A.cooldown_obj[agent] = obj;
      A.cooldown_until[agent] = this.tick + this.settings.queue_fairness.cooldown_ticks;
    } else if (A.cooldown_obj[agent] === obj) {
      A.cooldown_obj[agent] = 0;
    }
    this.grantNext(obj);
  }

  /**
   * Ghost step: the queue head has been blocked by an idle holder for ghost_step_after ticks.
   * The holder goes to the back of the queue and the next waiter gets the object.
   */
  ghostStep(obj: number): void {
    const { O, A } = this;
    const holder = O.holder[obj];
    const rival = O.queue_head[obj];
    const len = O.queue_len[obj];
    const pending = A.pending[holder];
    this.release(obj, holder, false);
    this.append(obj, holder);
    A.pending[holder] = pending;
    this.wake(holder);
    this.st.counters.ghost_step_events++;
    this.st.counters.rotation_events++;
    const r = this.settings.conflict.rivalry;
    const intensity = clamp(r.ghost_step_boost + r.queue_length_boost * Math.max(len - 1, 0), 0.1, 5);
    this.conflict(obj, holder, O.holder[obj] || rival, "ghost_step", len, intensity);
  }

  conflict(obj: number, actor: number, rival: number, reason: string, len: number, intensity: number): void {
    this.st.counters.queue_conflicts++;
    this.chConflict.pushN(6, obj, actor, rival, this.world.intern(reason), len, intensity);
  }

  // ---- affordances ---------------------------------------------------------------------------

  lookup(path: readonly string[]): Value {
    return lookupName(this, this.sAgent, this.sObj, path);
  }

  /** Starts the agent's affordance on the object it holds; returns false when it failed. */
  start(agent: number, obj: number, aff: number): boolean {
    const { O, A, W } = this;
    const spec = this.st.registry.affordances[aff] as RegisteredAffordance | undefined;
    if (!spec || !spec.active) return this.fail(agent, obj, aff, "missing_spec");
    if (spec.type !== O.type[obj]) return this.fail(agent, obj, aff, "wrong_object");
    if (O.holder[obj] !== agent || O.running[obj] >= 0) return false;
    this.sAgent = agent;
    this.sObj = obj;
    if (firstFailing(spec.compiled, this) >= 0) return this.fail(agent, obj, aff, "precondition_failed");
    const mult = this.priceMultiplier(agent);
    if (spec.money < 0 && W.money[agent] < -spec.money * mult && !this.anyCharges(spec.hooks.before)) {
      return this.fail(agent, obj, aff, "insufficient_funds");
    }
    const c = this.hookCall("before", agent, obj, aff, "");
    const before = this.cache.hooks(aff, spec, this.st.hooks).before;
    for (let i = 0; i < before.length; i++) {
      before[i]?.(c);
      this.follow();
      if (c.cancel) return this.fail(agent, obj, aff, c.reason || "hook_cancelled");
    }
    this.wake(agent);
    A.running[agent] = aff;
    A.remaining[agent] = spec.duration;
    A.charged[agent] = c.charged ? 1 : 0;
    A.pending[agent] = -1;
    O.running[obj] = aff;
    this.chStart.pushN(4, agent, obj, aff, spec.duration);
    return true;
  }

  /** Whether one of these hooks charges money itself (then the funds check is the hook's). */
  private anyCharges(names: readonly string[]): boolean {
    for (let i = 0; i < names.length; i++) if (this.st.hooks.charges(names[i])) return true;
    return false;
  }

  /** Fails an attempt or a running affordance: fail hooks, message, reservation released. */
  fail(agent: number, obj: number, aff: number, reason: string): false {
    const spec = this.st.registry.affordances[aff];
    const c = this.hookCall("fail", agent, obj, aff, reason);
    if (spec && this.A.running[agent] === aff) for (let i = 0; i < spec.hooks.before.length; i++) this.st.hooks.undo(spec.hooks.before[i])?.(c);
    if (spec) for (let i = 0; i < spec.hooks.fail.length; i++) this.st.hooks.get(spec.hooks.fail[i])?.(c);
    this.follow();
    this.st.counters.failures++;
    this.st.failReasons[reason] = (this.st.failReasons[reason] ?? 0) + 1;
    this.A.last_fail_tick[agent] = this.tick;
    this.wake(agent);
    this.chFail.pushN(4, agent, obj, aff, this.world.intern(reason));
    if (this.O.holder[obj] === agent) this.release(obj, agent, false);
    else this.A.pending[agent] = -1;
    return false;
  }

  /** The spec's need deltas in table order; an effect naming no need of this world is an error. */
  deltasOf(spec: AffordanceSpec): Float64Array {
    let d = this.deltas.get(spec);
    if (d === undefined) {
      const problem = effectProblem(spec, this.needs);
      if (problem !== undefined) throw new Error(problem);
      d = Float64Array.from(this.needs.list, (n) => spec.effects[n.name] ?? 0);
      this.deltas.set(spec, d);
    }
    return d;
  }

  /** Finishes a running affordance: effects, after hooks, handover to a friendly waiter. */
  finish(agent: number, obj: number): void {
    const { A, W } = this;
    const aff = A.running[agent];
    const spec = this.st.registry.affordances[aff];
    const d = this.cache.deltas(aff, spec, this);
    const cols = this.needCols;
    for (let k = 0; k < cols.length; k++) {
      const col = cols[k];
      col[agent] = clamp(col[agent] + d[k], 0, 1);
    }
    if (spec.money !== 0 && A.charged[agent] === 0) {
      const delta = spec.money < 0 ? spec.money * this.priceMultiplier(agent) : spec.money;
      W.money[agent] = Math.max(0, W.money[agent] + delta);
    }
    const c = this.hookCall("after", agent, obj, aff, "");
    // Indexed loops, no iterator or closure per call (issue #19: garbage per tick).
    const after = this.cache.hooks(aff, spec, this.st.hooks).after;
    for (let i = 0; i < after.length; i++) after[i]?.(c);
    this.follow();
    this.st.completed[aff] = (this.st.completed[aff] ?? 0) + 1;
    this.chFinish.pushN(3, agent, obj, aff);
    this.handover(obj, agent);
    this.release(obj, agent, true);
  }

  /** finishChunk's loads, summed (kept: not dropped as unused). A double from the start: 0 made a Smi field, whose first sum changed Runtime's map (#19). */
  private touched = 0.5;

  /**
   * finish(agents[j], objects[j]) for j < n in order, after a pass that reads the rows they touch (scope.ts
   * sumFinishRows): loads fetched side by side, not one miss after another (#19: thousands finish in a busy tick).
   */
  finishChunk(agents: Int32Array, objects: Int32Array, n: number): void {
    this.touched = sumFinishRows(this.A, this.O, this.W.money, this.actWake, this.uid, this.needCols, agents, objects, n);
    for (let j = 0; j < n; j++) this.finish(agents[j], objects[j]);
  }

  /**
   * A waiter the finishing agent likes (trust + familiarity - rivalry - 0.05 * place > 0) goes first.
   * Only a queue of two or more can change: a lone waiter is the head whatever its score, and an
   * agent without edges (no block in the ledger) likes nobody; neither reads the ledger (issue
   * #19: the ledger's rows were most of a finish's cost in the busy hours). scope.ts preferredWaiter.
   */
  private handover(obj: number, agent: number): void {
    const ledger = this.social;
    const { O, A } = this;
    const head = O.queue_head[obj];
    if (!ledger || head === 0 || A.queue_next[head] === 0) return;
    const best = preferredWaiter(ledger, A.queue_next, this.uid, head, agent);
    if (best === 0 || best === head) return;
    // Move the preferred waiter to the head of the queue.
    this.leaveQueue(best);
    A.queued[best] = obj;
    A.queue_next[best] = this.O.queue_head[obj];
    this.O.queue_head[obj] = best;
    this.O.queue_len[obj]++;
    this.st.counters.rotation_events++;
    this.st.counters.handovers++;
    this.chHandover.pushN(3, obj, agent, best);
  }

  private hookCall(stage: HookCall["stage"], agent: number, obj: number, aff: number, reason: string): HookCall {
    const c = this.call;
    c.stage = stage;
    c.tick = this.tick;
    c.agent = agent;
    c.object = obj;
    c.affordance = aff;
    c.reason = reason;
    c.cancel = false;
    c.charged = false;
    return c;
  }
}
