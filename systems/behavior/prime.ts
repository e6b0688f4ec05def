// Priming of the scripted decision pass (issue #19, p99): the branches of decide() that no agent
// takes before a world's first shift, walked once on put-back data after its 16th pass (index.ts).
//
// Why: V8 compiles a hot function with what its type feedback has seen; a load or an operation
// never run yet is left as a deoptimisation, and the first agent to reach it sends the rest of
// the pass through the interpreter (and the function back to the compiler). In the 100k bench
// world no agent is within a shift's planning window before tick 75 (planAhead's loop: +4-5 ms
// on scripted/decide at tick 75, again at 80), and none is in the window itself before tick 135
// (the Work choice and critical(): +2.4-3.4 ms at 135). Their feedback is the functions' own,
// shared by every pass and world of the process, so walking them once is enough.
//
// What it does: for one employed agent, a pass made for a tick one before its shift ends (in the
// window) decides it twice, with its needs at 1 (it works) and with needs and thresholds at the
// critical level (planAhead sees to a need that would run out before the shift ends); one made
// for the tick before it leaves for work decides it twice more (a shift near; a need other than
// hunger, first seen to at tick 47); and tileHead reads a tile's list
// once through the tile (a crowded tile's path, first taken at tick 72). Then everything the
// two decisions wrote is put back: the agent's option row, needs and last chat, the pantry and
// stove scratch, the thresholds. The world is left as it was to the bit (the hash streams are unchanged).
import type { World } from "../../engine/world.ts";
import { NeedsKey } from "../../components/needs.ts";
import { Option } from "../../components/activity.ts";
import { Employment } from "../../components/people.ts";
import { Position } from "../../components/space.ts";
import { jobTable } from "../../components/jobs.ts";
import { SpaceKey } from "../../components/grid.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { DecidePass } from "./decide.ts";
import type { BehaviorConfig, BehaviorState } from "./index.ts";
import { tileHead } from "./tile-head.ts";

/** Agents looked at for one with a job. */
const LOOK = 4096;

/** Walks decide()'s shift branches once on an employed agent of `agents` and puts every value back; false when none has a job. */
export function primeDecide(world: World, config: BehaviorConfig, settings: World["settings"], state: BehaviorState, agents: ArrayLike<number>): boolean {
  // The affordances' (town, type) index keeps the lists it was asked for; the first kept list
  // changes the kind of its array, and every optimised reader of the index (firstOpen, the stove
  // check, options' generated choice) deoptimised on it at once, wherever that first request
  // fell (tick 45 of the 100k bench world). One request here (a cache, no simulation value).
  world.resource(AffordancesKey).objectsOfType(0, 0);
  const space = world.resource(SpaceKey);
  // A tile the agent is not on (tile 0, or 1 when it stands on 0): the list read through the tile.
  if (agents.length > 0) tileHead(space, agents[0], space.tileOf[agents[0]] === 0 ? 1 : 0);
  if (!world.hasPlugin("employment")) return false;
  const job = world.columns(Employment).job;
  let e = -1;
  for (let i = 0; i < agents.length && i < LOOK && e < 0; i++) if (job[agents[i]] >= 0) e = agents[i];
  if (e < 0) return false;
  const jobs = jobTable(world);
  const j = job[e];
  const day = ticksPerDay(world.settings);
  const tod = jobs.end[j] - 1;
  if (!(tod >= 0 && tod < day)) return false;
  const Op = world.columns(Option);
  const rows = [Op.kind, Op.affordance, Op.object, Op.target, Op.since, Op.done, Op.switches];
  const N = world.resource(NeedsKey).columns();
  const saved = rows.map((c) => c[e]);
  const needs = N.map((c) => c[e]);
  const chat = state.lastChat[e];
  const pantry = state.pantry.slice();
  const stoves = state.stoves.slice();
  const thresholds = state.thresholds.slice();
  try {
    const pass = new DecidePass(world, tod, config, settings, state);
    for (const c of N) c[e] = 1;
    pass.decide(e);
    // At the critical level with the thresholds there too: no need is urgent now, every one
    // would run out before the shift ends (planAhead takes one, critical() says so).
    for (const c of N) c[e] = config.critical_level;
    state.thresholds.fill(config.critical_level);
    pass.decide(e);
    state.thresholds.set(thresholds);
    // A tick before it leaves for work (within the guard, out of the window): with every need
    // at 1 it looks whether a shift is near; with hunger at 1 and the rest at 0 it sees to a
    // need that is not hunger (and whether that would starve it).
    const P = world.columns(Position);
    const travel = jobs.x[j] >= 0 ? Math.abs(P.x[e] - jobs.x[j]) + Math.abs(P.y[e] - jobs.y[j]) : 0;
    const early = jobs.start[j] - settings.behavior.job_arrival_buffer - travel - 1;
    if (early >= 0 && config.pre_shift_guard_ticks >= 1) {
      const before = new DecidePass(world, early, config, settings, state);
      for (const c of N) c[e] = 1;
      before.decide(e);
      for (const c of N) c[e] = 0;
      if (state.hunger >= 0) N[state.hunger][e] = 1;
      before.decide(e);
    }
  } finally {
    rows.forEach((c, i) => (c[e] = saved[i]));
    N.forEach((c, k) => (c[e] = needs[k]));
    state.lastChat[e] = chat;
    state.pantry.set(pantry);
    state.stoves.set(stoves);
    state.thresholds.set(thresholds);
  }
  return true;
}
