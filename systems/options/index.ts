// Option executor (phase policy, set PolicySets.Execute, after Decide): turns each agent's
// committed Option into this tick's Intent. Use: pick a suitable object of the affordance's
// type (near, short queue, stocked, powered, no rival holding or waiting) and walk, queue and
// start there; Work: walk to the job's location and stay; Chat; Avoid; Wait. An option is
// marked done when it finished or became impossible, and the policy chooses again.
// Agents whose Option is None (scenario schedules) keep the Intent written for them.
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { Columns } from "../../engine/component.ts";
import { Activity, Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { PolicySets } from "../../components/sets.ts";
import { jobTable, type JobTable } from "../../components/jobs.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { SpaceKey } from "../../components/grid.ts";
import { AffordanceFail, AffordanceFinish, GuardrailBlock } from "../../components/messages.ts";
import { SocialKey } from "../../components/social.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import type { AffordancesResource } from "../affordances/resource.ts";
import { optionsTelemetry } from "./telemetry.ts";
import { optionsObservations } from "./observations.ts";
import { OptionsState, shiftEndsAt } from "./quiet.ts";
import { forgetObject } from "./forget.ts";
import { compileExec, primeWork, sameArrays, type ExecArrays, type ExecKernel } from "./kernel.ts";
import { avoidStep, chooseObject, ctxColumns, type Ctx } from "./choose.ts";
import { calmAt, compileChooser, sameChooseArrays, type ChooseArrays, type Chooser } from "./choose-kernel.ts";
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
  qs.parked.fill(0, 0, all ? n : 0);
  qs.applied = applied;
  return !all && shiftEndsAt(jobs, tod) ? 1 : 0;
}

/** The executor's per-world context (made once, its per-tick fields refreshed by `prepare`). */
export interface Exec {
  c: Ctx;
  tick: number;
  tod: number;
  send: (def: MessageDef, ...values: number[]) => void;
  quiet: Uint32Array;
  /** The parked bitset (quiet.ts). */
  parked: Uint32Array;
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
  /** `choose(this, eid, aff)`, made once: the generic object choice (with its guardrail message). */
  choose: (eid: number, aff: number) => number;
  /** The queue_rival guardrail message for `eid`, made once (the generated choice's). */
  blocked: (eid: number) => void;
  /** The generated object choice and what it was made for (choose-kernel.ts); the kernel made with it. */
  chooser: Chooser | undefined;
  chooseArrays: ChooseArrays | undefined;
  kernelChooser: unknown;
  /** The kernel whose Work branch primeWork has walked (kernel.ts), after its first real call. */
  primed: ExecKernel | undefined;
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
      parked: qs.parked,
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
      blocked: (eid) => made.send(GuardrailBlock, eid, world.intern("queue_rival")),
      chooser: undefined,
      chooseArrays: undefined,
      kernelChooser: undefined,
      primed: undefined,
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

/** The arrays the generated executor reads, from a tick's columns, option bitsets and job table (also the tests'). */
export function execArrays(x: Pick<Exec, "quiet" | "parked" | "Op" | "I" | "A" | "P" | "E" | "jobs">): ExecArrays {
  const { Op, I, A, P, E, jobs } = x;
  return {
    quiet: x.quiet,
    parked: x.parked,
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
}

/** The generated loop for this tick's arrays (made again when one moved), or undefined where code generation is refused. */
function kernelFor(x: Exec): ExecKernel | undefined {
  if (!x.canCompile) return undefined;
  const arrays = execArrays(x);
  const chooser = chooserFor(x) ?? x.choose;
  if (x.kernel !== undefined && x.arrays !== undefined && x.kernelChooser === chooser && sameArrays(x.arrays, arrays)) return x.kernel;
  x.kernel = compileExec(arrays, x.slow, chooser, RECHOOSE_TICKS);
  x.arrays = arrays;
  x.kernelChooser = chooser;
  if (x.kernel === undefined) x.canCompile = false;
  return x.kernel;
}

/** The generated object choice for this tick's columns, index, ledger and affordances (made again when one changed), or undefined: the generic one. */
function chooserFor(x: Exec): Chooser | undefined {
  const { c } = x;
  const cols = c.cols;
  if (c.types === undefined || cols === undefined) return undefined;
  const { O, A } = cols;
  const arrays: ChooseArrays = {
    town: cols.T,
    px: cols.P.x,
    py: cols.P.y,
    types: c.types,
    items: c.types.items,
    meals: O.meals,
    raw: O.raw_ingredients,
    powerOn: O.power_on,
    waterOn: O.water_on,
    holder: O.holder,
    queueHead: O.queue_head,
    queueLen: O.queue_len,
    running: A.running,
    remaining: A.remaining,
    queued: A.queued,
    queueNext: A.queue_next,
    uid: cols.uid,
    townPower: cols.econ?.power,
    townWater: cols.econ?.water,
    ledger: c.social,
    specs: c.registry.affordances,
  };
  if (x.chooser !== undefined && x.chooseArrays !== undefined && sameChooseArrays(x.chooseArrays, arrays)) return x.chooser;
  // The specs copied: a registration replaces an entry of the registry's own array.
  const made = { ...arrays, specs: [...arrays.specs] };
  x.chooser = compileChooser(made, x.choose, x.blocked);
  x.chooseArrays = made;
  return x.chooser;
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
      // Waiting in that object's queue: parked (quiet.ts) until it no longer waits there.
      if (A.queued[eid] === obj) x.parked[word] |= bit;
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
  // A removed object: the Use options that chose it choose again on the next run (forget.ts).
  onEntityRemove({ world, state }, eid) {
    forgetObject(world, state, eid);
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
        x.parked = qs.parked;
        const kernel = qs.useKernel ? kernelFor(x) : undefined;
        x.ran = kernel !== undefined ? "kernel" : "generic";
        if (kernel !== undefined) {
          kernel(spans, tick, x.tod, work, x.c.avoid, calmAt(x.c.avoid, world.settings.conflict.rivalry.min_value));
          if (x.primed !== kernel && x.arrays !== undefined && spans.length > 0) {
            primeWork(kernel, x.arrays, spans[0], tick);
            x.primed = kernel;
          }
          return;
        }
        const quiet = x.quiet;
        const parked = x.parked;
        const object = Op.object;
        const queued = x.A.queued;
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
          // Parked (quiet.ts): its Start would be written again while its option is not new,
          // not done, and it still queues at the object.
          const word = eid >>> 5;
          const bit = 1 << (eid & 31);
          if ((parked[word] & bit) !== 0) {
            if (optDone[eid] === 0 && tick - since[eid] > 1 && queued[eid] === object[eid]) continue;
            parked[word] &= ~bit;
          }
          visit(x, eid);
        }
      },
    },
  ],
});

/** Ticks between two object choices of an agent walking to use an affordance. */
const RECHOOSE_TICKS = 8;

