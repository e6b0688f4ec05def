// Option executor (phase policy, set PolicySets.Execute, after Decide): turns each agent's
// committed Option into this tick's Intent. Use: pick a suitable object of the affordance's
// type (near, short queue, stocked, powered, no rival holding or waiting) and walk, queue and
// start there; Work: walk to the job's location and stay; Chat; Avoid; Wait. An option is
// marked done when it finished or became impossible, and the policy chooses again.
// Agents whose Option is None (scenario schedules) keep the Intent written for them.
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { Columns } from "../../engine/component.ts";
import { Town, Agent } from "../../engine/core-components.ts";
import { Activity, Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { TownEconomy } from "../../components/economy.ts";
import { PolicySets } from "../../components/sets.ts";
import { jobTable, type JobTable } from "../../components/jobs.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { STEPS, type SpatialIndex, SpaceKey } from "../../components/grid.ts";
import { AffordanceFail, AffordanceFinish, GuardrailBlock } from "../../components/messages.ts";
import type { SocialLedger } from "../../components/social.ts";
import type { AffordanceTable } from "../../components/affordances.ts";
import { SocialKey } from "../../components/social.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import type { AffordancesResource } from "../affordances/resource.ts";
import type { TownTypeIndex } from "../affordances/type-index.ts";
import { optionsTelemetry } from "./telemetry.ts";
import { optionsObservations } from "./observations.ts";
import { OptionsState, shiftEndsAt } from "./quiet.ts";
import { compileExec, sameArrays, type ExecArrays, type ExecKernel } from "./kernel.ts";
import type { MessageDef } from "../../engine/message.ts";
// Enum members as module constants: plain loads in the per-agent loops.
const INT_CHAT = IntentKind.Chat;
const INT_MOVE = IntentKind.Move;
const INT_START = IntentKind.Start;
const INT_WAIT = IntentKind.Wait;
const OPT_AVOID = OptionKind.Avoid;
const OPT_CHAT = OptionKind.Chat;
const OPT_NONE = OptionKind.None;
const OPT_USE = OptionKind.Use;
const OPT_WAIT = OptionKind.Wait;
const OPT_WORK = OptionKind.Work;

/** Use options end when their affordance finished or failed last tick (one message view). */
function endUses(kind: ArrayLike<number>, done: { [eid: number]: number }, m: { start: number; end: number; agent: ArrayLike<number> }): void {
  for (let i = m.start; i < m.end; i++) {
    const a = m.agent[i];
    if (kind[a] === OPT_USE) done[a] = 1;
  }
}

/**
 * Before the per-agent loop: sizes the quiet bitset and wakes every agent on the tick after a
 * console command was applied (quiet.ts). Returns 1 on a tick a shift ends (and nothing woke
 * everyone): the loop then looks at every agent with a Work option, quiet or not (the others'
 * Waits do not depend on the time of day), else 0.
 */
function wakeChanged(world: World, qs: OptionsState, tod: number, jobs: ReturnType<typeof jobTable>): number {
  qs.ensure(world.maxEntityId());
  const applied = world.hasPlugin("console") ? (world.state<{ counts?: { applied: number } }>("console").counts?.applied ?? 0) : 0;
  // Filled every tick (an empty range when nothing woke everyone): a call first reached on the
  // first shift end had no type feedback and deoptimised the executor's loop there (issue #19, p99).
  const all = !qs.skipQuiet || applied !== qs.applied;
  const bits = qs.bits;
  const n = bits.length;
  bits.fill(0xffffffff, 0, all ? n : 0);
  qs.applied = applied;
  return !all && shiftEndsAt(jobs, tod) ? 1 : 0;
}

/** Affordances need stock their object must have to be worth walking to (by affordance id). */
const STOCK_NEED: Record<string, "meals" | "raw_ingredients" | "sleep_slots"> = {
  eat_meal: "meals",
  cook_meal: "raw_ingredients",
};

/** Above this many objects of a type in a town, the nearest (distance field) is tried first. */
const NEAREST_FIRST_ABOVE = 8;

interface Ctx {
  space?: SpatialIndex;
  world: World;
  registry: AffordanceTable;
  objectsOfType: (town: number, type: number) => Int32Array;
  /** The affordances plug-in's (town, type) index, read as ranges of its `items` (no view per list: E's note, issue #19 memory); undefined: `objectsOfType` is used. */
  types?: TownTypeIndex;
  social: SocialLedger | undefined;
  avoid: number;
  /** The world's columns, looked up once per tick (chooseObject runs for every new Use option; 40k of them the tick after a shift end in the 100k bench world). */
  cols?: CtxColumns;
}

interface CtxColumns {
  T: Uint32Array;
  P: Columns<(typeof Position)["schema"]>;
  O: Columns<(typeof Obj)["schema"]>;
  A: Columns<(typeof Activity)["schema"]>;
  uid: Uint32Array;
  econ: Columns<(typeof TownEconomy)["schema"]> | undefined;
}

function ctxColumns(world: World): CtxColumns {
  return {
    T: world.columns(Town).id,
    P: world.columns(Position),
    O: world.columns(Obj),
    A: world.columns(Activity),
    uid: world.columns(Agent).uid,
    econ: world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy) : undefined,
  };
}

/**
 * The best object of `aff`'s type for an agent, or 0: Manhattan distance plus the wait ahead
 * (queue length times the duration, the remaining time of the holder), among objects that are
 * stocked, powered and free of rivals. `rivalBlocked` reports whether a rival ruled one out.
 */
export function chooseObject(c: Ctx, eid: number, aff: number, out: { rivalBlocked: boolean }): number {
  const { world, registry } = c;
  const spec = registry.affordances[aff];
  if (!spec) return 0;
  const { T, P, O, A, uid, econ } = c.cols ?? ctxColumns(world);
  const town = T[eid];
  // [eid, x, y] triples of the town's objects of this type, from `from` to `to` (exclusive).
  const idx = c.types;
  const list = idx !== undefined ? idx.items : c.objectsOfType(town, spec.type);
  const from = idx !== undefined ? idx.begin(town, spec.type) : 0;
  const to = idx !== undefined ? idx.end(town, spec.type) : list.length;
  const stock = STOCK_NEED[spec.id];
  const needsPower = spec.needsPower;
  const needsWater = spec.needsWater;
  let best = 0;
  let bestScore = Infinity;
  out.rivalBlocked = false;
  // Many objects of this type (a big town): try the nearest one from the distance field first,
  // O(1); scan every object only when the nearest is unsuitable.
  if (to - from > 3 * NEAREST_FIRST_ABOVE && c.space) {
    const f = c.space.field(town, spec.type, c.objectsOfType);
    const near = f.nearest[P.y[eid] * c.space.width + P.x[eid]];
    if (near !== 0 && !unsuitable(O, econ, town, near, stock, needsPower, needsWater) && !(c.social && hasRival(c, eid, near, uid, O, A))) {
      return near;
    }
  }
  // One object of this type (most towns): it is the choice when suitable, whatever its score
  // (the loop below would pick it), so its tile, queue and holder's time are not read (issue #19:
  // each a cache miss at the agent's or the object's scattered id).
  if (to - from === 3) {
    const obj = list[from];
    if (unsuitable(O, econ, town, obj, stock, needsPower, needsWater)) return 0;
    if (c.social && hasRival(c, eid, obj, uid, O, A)) {
      out.rivalBlocked = true;
      return 0;
    }
    return obj;
  }
  for (let i = from; i < to; i += 3) {
    const obj = list[i];
    if (unsuitable(O, econ, town, obj, stock, needsPower, needsWater)) continue;
    if (c.social && hasRival(c, eid, obj, uid, O, A)) {
      out.rivalBlocked = true;
      continue;
    }
    const dist = Math.abs(P.x[eid] - list[i + 1]) + Math.abs(P.y[eid] - list[i + 2]);
    const holder = O.holder[obj];
    let wait = O.queue_len[obj] * spec.duration;
    if (holder !== 0 && holder !== eid) wait += A.running[holder] >= 0 ? A.remaining[holder] : spec.duration;
    if (A.queued[eid] === obj) wait = 0;
    const score = dist + wait;
    if (score < bestScore) {
      bestScore = score;
      best = obj;
    }
  }
  return best;
}

/** An object lacking the stock its affordance needs, or the power or water (its own or its town's). */
function unsuitable(
  O: CtxColumns["O"],
  econ: CtxColumns["econ"],
  town: number,
  obj: number,
  stock: "meals" | "raw_ingredients" | "sleep_slots" | undefined,
  needsPower: boolean | undefined,
  needsWater: boolean | undefined,
): boolean {
  if (stock && O[stock][obj] < 1) return true;
  if (needsPower && (O.power_on[obj] === 0 || (econ && econ.power[town] === 0))) return true;
  if (needsWater && (O.water_on[obj] === 0 || (econ && econ.water[town] === 0))) return true;
  return false;
}

/** Avoid: a Move to the first 4-neighbour with no rival on it (west, east, north, south); false when none. */
function avoidStep(c: Ctx, I: { x: Int16Array; y: Int16Array }, eid: number): boolean {
  const space = c.space!;
  const P = c.world.columns(Position);
  const T = c.world.columns(Town).id;
  const uid = c.world.columns(Agent).uid;
  for (let s = 0; s < 4; s++) {
    const nx = P.x[eid] + STEPS[s][0];
    const ny = P.y[eid] + STEPS[s][1];
    if (!space.inBounds(nx, ny)) continue;
    let rival = false;
    if (c.social) {
      for (let o = space.agentsAt(T[eid], nx, ny); o !== 0; o = space.next[o]) {
        if (c.social.rivalryOf(eid, uid[o]) >= c.avoid) rival = true;
      }
    }
    if (!rival) {
      I.x[eid] = nx;
      I.y[eid] = ny;
      return true;
    }
  }
  return false;
}

function hasRival(c: Ctx, eid: number, obj: number, uid: Uint32Array, O: { holder: Int32Array; queue_head: Int32Array }, A: { queue_next: Int32Array }): boolean {
  const L = c.social!;
  const h = O.holder[obj];
  if (h !== 0 && h !== eid && L.rivalryOf(eid, uid[h]) >= c.avoid) return true;
  for (let q = O.queue_head[obj]; q !== 0; q = A.queue_next[q]) if (q !== eid && L.rivalryOf(eid, uid[q]) >= c.avoid) return true;
  return false;
}

/** The executor's per-world context (made once, its per-tick fields refreshed by `prepare`). */
interface Exec {
  c: Ctx;
  tick: number;
  tod: number;
  send: (def: MessageDef, ...values: number[]) => void;
  quiet: Uint32Array;
  out: { rivalBlocked: boolean };
  jobs: JobTable;
  E: Columns<(typeof Employment)["schema"]> | undefined;
  Op: Columns<(typeof Option)["schema"]>;
  I: Columns<(typeof Intent)["schema"]>;
  A: Columns<(typeof Activity)["schema"]>;
  P: Columns<(typeof Position)["schema"]>;
  /** The generated loop and the arrays it was made for (kernel.ts); remade when one moves. */
  kernel: ExecKernel | undefined;
  arrays: ExecArrays | undefined;
  /** false once code generation was refused here: the generic loop runs. */
  canCompile: boolean;
  /** `visit(this, eid)`, made once: the kernel's call for the agents it does not decide. */
  slow: (eid: number) => void;
  /** `choose(this, eid, aff)`, made once: the kernel's object choice. */
  choose: (eid: number, aff: number) => number;
  /** Which loop ran last tick (tests). */
  ran: "kernel" | "generic" | "";
}

const EXECS = new WeakMap<OptionsState, Exec>();

/** Which loop options/execute ran on the last tick: the generated kernel or the generic loop ("" before the first tick). */
export function executePath(world: World): "kernel" | "generic" | "" {
  return EXECS.get(world.state<OptionsState>("options"))?.ran ?? "";
}

/** The world's Exec with this tick's columns, settings and message sender. */
function prepare(world: World, qs: OptionsState, tick: number, send: Exec["send"]): Exec {
  const st = world.resource(AffordancesKey);
  let x = EXECS.get(qs);
  if (x === undefined) {
    const made: Exec = {
      c: { world, registry: st.registry, objectsOfType: (town, type) => st.objectsOfType(town, type), social: undefined, avoid: 0 },
      tick,
      tod: 0,
      send,
      quiet: qs.bits,
      out: { rivalBlocked: false },
      jobs: jobTable(world),
      E: undefined,
      Op: world.columns(Option),
      I: world.columns(Intent),
      A: world.columns(Activity),
      P: world.columns(Position),
      kernel: undefined,
      arrays: undefined,
      canCompile: true,
      slow: (eid) => visit(made, eid),
      choose: (eid, aff) => choose(made, eid, aff),
      ran: "",
    };
    EXECS.set(qs, made);
    x = made;
  }
  const c = x.c;
  c.registry = st.registry;
  // The core plug-in's resource holds the index (another provider of the service: its lists).
  c.types = (st as Partial<AffordancesResource>).st?.byTownType;
  c.social = world.optionalResource(SocialKey)?.ledger;
  c.avoid = world.settings.conflict.rivalry.avoid_threshold;
  c.space = world.resource(SpaceKey);
  c.cols = ctxColumns(world);
  x.tick = tick;
  x.jobs = jobTable(world);
  x.tod = tick % ticksPerDay(world.settings);
  x.send = send;
  x.E = world.hasPlugin("employment") ? world.columns(Employment) : undefined;
  x.Op = world.columns(Option);
  x.I = world.columns(Intent);
  x.A = world.columns(Activity);
  x.P = world.columns(Position);
  return x;
}

/** The generated loop for this tick's arrays (made again when one moved), or undefined where code generation is refused. */
function kernelFor(x: Exec): ExecKernel | undefined {
  if (!x.canCompile) return undefined;
  const { Op, I, A, P, E, jobs } = x;
  const arrays: ExecArrays = {
    quiet: x.quiet,
    since: Op.since,
    kind: Op.kind,
    done: Op.done,
    external: Op.external,
    affordance: Op.affordance,
    object: Op.object,
    intent: I.kind,
    blocked: I.blocked,
    iObject: I.object,
    iAffordance: I.affordance,
    ix: I.x,
    iy: I.y,
    running: A.running,
    holding: A.holding,
    queued: A.queued,
    px: P.x,
    py: P.y,
    job: E?.job,
    jobEnd: jobs.end,
    jobX: jobs.x,
    jobY: jobs.y,
  };
  if (x.kernel !== undefined && x.arrays !== undefined && sameArrays(x.arrays, arrays)) return x.kernel;
  x.kernel = compileExec(arrays, x.slow, x.choose, RECHOOSE_TICKS);
  x.arrays = arrays;
  if (x.kernel === undefined) x.canCompile = false;
  return x.kernel;
}

/** The object a Use option goes to (chooseObject), or 0: then a guardrail message when a rival ruled the objects out. */
function choose(x: Exec, eid: number, aff: number): number {
  const obj = chooseObject(x.c, eid, aff, x.out);
  if (obj === 0 && x.out.rivalBlocked) x.send(GuardrailBlock, eid, x.c.world.intern("queue_rival"));
  return obj;
}

/** One agent the quiet test did not skip: its option turned into this tick's intent (the generic body; kernel.ts mirrors its common branches). */
function visit(x: Exec, eid: number): void {
  const { c, Op, I, A, P, E, jobs, tick, tod, quiet } = x;
  const word = eid >>> 5;
  const bit = 1 << (eid & 31);
  const kind = Op.kind[eid];
  if (kind === OPT_NONE || Op.external[eid] === 1) return;
  I.blocked[eid] = 0;
  if (Op.done[eid] === 1 || kind === OPT_WAIT) {
    I.kind[eid] = INT_WAIT;
    quiet[word] &= ~bit;
    return;
  }
  // The intent and whether the option ends are decided in the branches and written once
  // below: a column store first reached mid-run (the first shift end ends every Work
  // option at once) has no type feedback and deoptimised this loop (issue #19, p99).
  let ik: number = INT_WAIT;
  let done = false;
  switch (kind) {
    case OPT_USE: {
      const aff = Op.affordance[eid];
      if (A.running[eid] === aff) break;
      let obj = Op.object[eid];
      // Choose an object, and re-choose every RECHOOSE_TICKS while still walking to it:
      // a shorter queue may have opened elsewhere.
      if (obj === 0 || (A.holding[eid] !== obj && A.queued[eid] !== obj && (tick - Op.since[eid]) % RECHOOSE_TICKS === 0)) {
        obj = choose(x, eid, aff);
        if (obj === 0) {
          done = true;
          break;
        }
        Op.object[eid] = obj;
      }
      ik = INT_START;
      I.object[eid] = obj;
      I.affordance[eid] = aff;
      break;
    }
    case OPT_WORK: {
      const job = E ? E.job[eid] : -1;
      if (job < 0 || tod >= jobs.end[job]) {
        done = true;
        break;
      }
      const jx = jobs.x[job];
      if (jx >= 0 && Math.abs(P.x[eid] - jx) + Math.abs(P.y[eid] - jobs.y[job]) > 1) {
        ik = INT_MOVE;
        I.x[eid] = jx;
        I.y[eid] = jobs.y[job];
      }
      break;
    }
    case OPT_CHAT: {
      const other = Op.target[eid];
      if (other > 0 && c.world.isAgent(other)) {
        ik = INT_CHAT;
        I.target[eid] = other;
        I.quality[eid] = 0.5;
      }
      done = true;
      break;
    }
    case OPT_AVOID:
      if (avoidStep(c, I, eid)) ik = INT_MOVE;
      done = true;
      break;
    default:
      // Not an option kind of this plug-in: its intent is left as it is.
      quiet[word] |= bit;
      return;
  }
  I.kind[eid] = ik;
  if (done) Op.done[eid] = 1;
  // A Wait is written again until something it depends on changes (quiet.ts).
  if (ik === INT_WAIT) quiet[word] &= ~bit;
  else quiet[word] |= bit;
}

export const optionsPlugin = definePlugin({
  name: "options",
  telemetry: optionsTelemetry,
  observations: optionsObservations,
  requires: [SpaceKey, AffordancesKey],
  optional: [SocialKey],
  doc: "turns each agent's option into this tick's intent",
  components: { Option, Intent },
  messages: [GuardrailBlock],
  state: () => new OptionsState(),
  onAgentSpawn({ world, state }, eid) {
    world.addComponent(eid, Option, { kind: OPT_WAIT, done: 1 });
    world.addComponent(eid, Intent);
    state.wake(eid);
  },
  onLoad({ state }) {
    state.wakeAll();
  },
  systems: [
    {
      name: "options/execute",
      phase: "policy",
      sets: [PolicySets.Execute],
      after: [PolicySets.Decide],
      reads: ["Option", "Activity", "Position", "Obj", "Employment", "affordance_finish", "affordance_fail"],
      writes: ["Intent", "Option.done", "Option.object"],
      run({ world, tick, agents, spans, read, send, state: qs }) {
        const x = prepare(world, qs, tick, send);
        const Op = x.Op;
        endUses(Op.kind, Op.done, read(AffordanceFinish));
        endUses(Op.kind, Op.done, read(AffordanceFail));
        const work = wakeChanged(world, qs, x.tod, x.jobs);
        x.quiet = qs.bits;
        const kernel = qs.useKernel ? kernelFor(x) : undefined;
        x.ran = kernel !== undefined ? "kernel" : "generic";
        if (kernel !== undefined) {
          kernel(spans, tick, x.tod, work);
          return;
        }
        const quiet = x.quiet;
        const since = Op.since;
        const optKind = Op.kind;
        const optDone = Op.done;
        const intentKind = x.I.kind;
        // The option kind a quiet agent is woken by (Work on a shift's end; -1: none), read for
        // every quiet agent on every tick (no first use on the first shift end: kernel.ts).
        const wake = work === 1 ? OPT_WORK : -1;
        for (let i = 0; i < agents.length; i++) {
          const eid = agents[i];
          // Quiet (quiet.ts): its Wait would be written again; an option set this tick or the
          // last (chooseOption between ticks stamps the last tick) or an intent not Wait wakes it,
          // unless that option is a Wait or done: its Wait (blocked 0) is written already. On a
          // shift's end (`wake`) a Work option wakes it.
          if (
            (quiet[eid >>> 5] & (1 << (eid & 31))) === 0 &&
            intentKind[eid] === INT_WAIT &&
            (tick - since[eid] > 1 || optKind[eid] === OPT_WAIT || optDone[eid] === 1) &&
            optKind[eid] !== wake
          )
            continue;
          visit(x, eid);
        }
      },
    },
  ],
});

const EMPTY = new Int32Array(0);
/** Ticks between two object choices of an agent walking to use an affordance. */
const RECHOOSE_TICKS = 8;

