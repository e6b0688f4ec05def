// The scripted controller (phase policy, set PolicySets.Decide): the baseline every learned
// policy is compared with. For each agent whose option is done it chooses the next one:
//   1. a need below its critical level is seen to first (survival beats punctuality);
//   2. during the work window (start - job_arrival_buffer .. end) it works;
//   3. the most urgent need below its threshold (needs.<need>.threshold, the original's
//      behavior.<need>_threshold; its gap times needs.<need>.urgency) is seen to, with the
//      affordance that restores that need most among those it can afford and find stocked;
//   4. away from shifts, a need within `top_up_margin` of its threshold is topped up early;
//   5. a rival on its tile makes it step away; a friendly neighbour makes it chat (stage >= A);
//   6. otherwise it waits.
// Every need of the world's table (components/needs.ts) takes part; hunger alone has rules of
// its own (the original's: it ends a life, so no other need's affordance may starve an agent).
// Reads Needs, Wallet, Employment, Option, Position, the affordance registry and the social
// ledger; writes Option.
import { z } from "zod";
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { Town, Agent } from "../../engine/core-components.ts";
import { NeedsKey, needTable } from "../../components/needs.ts";
import { Activity, Option, OptionKind } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Obj } from "../../components/objects.ts";
import { PolicySets } from "../../components/sets.ts";
import type { AffordanceTable } from "../../components/affordances.ts";
import { chooseOption } from "../../components/options.ts";
import { jobTable } from "../../components/jobs.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { SocialKey } from "../../components/social.ts";
import { SpaceKey } from "../../components/grid.ts";
import { PolicyKey } from "../../components/release.ts";
import { AffordancesKey, type AffordanceService } from "../../components/affordances.ts";
// Enum members as module constants: plain loads in the per-agent loops.
const OPT_AVOID = OptionKind.Avoid;
const OPT_CHAT = OptionKind.Chat;
const OPT_NONE = OptionKind.None;
const OPT_USE = OptionKind.Use;
const OPT_WAIT = OptionKind.Wait;
const OPT_WORK = OptionKind.Work;


export const BehaviorTuning = z
  .strictObject({
    critical_level: z.number().min(0).max(1).default(0.15).describe("A need below this is seen to even during a shift."),
    top_up_margin: z.number().min(0).max(1).default(0.25).describe("Away from shifts, a need this close above its threshold is topped up early."),
    chat_cooldown_ticks: z.int().min(0).default(30).describe("Ticks between two chats of one agent."),
    pre_shift_guard_ticks: z.int().min(0).default(60).describe("Ticks before the arrival buffer in which no top-up is started (it would make the agent late)."),
    idle_recheck_ticks: z.int().min(1).default(5).describe("An idle agent reconsiders every this many ticks (sooner when a need drops below its threshold)."),
    pantry_low_meals: z.number().min(0).default(6).describe("When a town's fridges hold fewer meals than this, idle agents cook (a batch) for everyone."),
    travel_slack_ticks: z.int().min(0).default(60).describe("Ticks allowed after a shift to walk to food and eat, when planning ahead."),
  })
  .prefault({})
  .describe("Tuning of the scripted controller.");

const NEVER = -1_000_000;

/**
 * The controller's memory: each agent's last chat tick (snapshotted and hashed); pantry and the
 * need scratch are scratch; the per-need tables come from the needs list.
 */
class BehaviorState implements PersistentState {
  lastChat: Int32Array;
  /** Meals in each town's fridges, counted at the start of each decision pass (scratch). */
  pantry: Float32Array;
  /** One agent's needs, in table order (no allocation per agent per tick). */
  readonly needs: Float32Array;
  /** Per need, in table order: name, threshold, decay rate, urgency. */
  readonly names: readonly string[];
  readonly thresholds: Float64Array;
  readonly rates: Float64Array;
  readonly urgency: Float64Array;
  /** Index of hunger in the table (-1: a world without it), for the original's rules about eating. */
  readonly hunger: number;
  constructor(capacity: number, towns: number, settings: World["settings"]) {
    this.lastChat = new Int32Array(Math.max(16, capacity)).fill(NEVER);
    this.pantry = new Float32Array(towns);
    const table = needTable(settings);
    this.needs = new Float32Array(table.list.length);
    this.names = table.names;
    this.thresholds = Float64Array.from(table.list, (n) => n.threshold);
    this.rates = Float64Array.from(table.list, (n) => n.decay);
    this.urgency = Float64Array.from(table.list, (n) => n.urgency);
    this.hunger = table.index("hunger");
  }
  save(): unknown {
    return { lastChat: this.lastChat.slice() };
  }
  load(data: unknown): void {
    const d = data as { lastChat: Int32Array };
    if (!(d?.lastChat instanceof Int32Array)) throw new Error("scripted controller state: expected lastChat");
    this.lastChat = new Int32Array(Math.max(16, d.lastChat.length)).fill(NEVER);
    this.lastChat.set(d.lastChat);
  }
  hash(h: StateHasher): void {
    const c = this.lastChat;
    for (let e = 0; e < c.length; e++) if (c[e] !== NEVER) h.u32(e).u32(c[e]);
  }
}

export const behaviorPlugin = definePlugin({
  name: "scripted",
  requires: [SpaceKey, AffordancesKey, NeedsKey],
  optional: [SocialKey, PolicyKey],
  doc: "the scripted behaviour controller (baseline policy)",
  config: BehaviorTuning,
  components: { Option },
  state: (world: World): BehaviorState => new BehaviorState(world.components.capacity, world.towns, world.settings),
  systems: [
    {
      name: "scripted/decide",
      phase: "policy",
      sets: [PolicySets.Decide],
      reads: ["Needs", "Wallet", "Employment", "Position", "Obj", "social ledger"],
      writes: ["Option"],
      run({ world, tick, agents, config, settings, state }) {
        // A learned policy decides instead (the policy plug-in's state; runtime.policy.provider).
        if (world.optionalResource(PolicyKey)?.scriptedDecides === false) return;
        if (state.lastChat.length <= world.maxEntityId()) {
          const g = new Int32Array((world.maxEntityId() + 1) * 2).fill(NEVER);
          g.set(state.lastChat);
          state.lastChat = g;
        }
        const Op = world.columns(Option);
        const Act = world.columns(Activity);
        const N = world.resource(NeedsKey).columns();
        const K = N.length;
        const { needs, thresholds, rates, urgency, names } = state;
        const H = state.hunger;
        const hungerCol = H >= 0 ? N[H] : undefined;
        const W = world.columns(Wallet);
        const P = world.columns(Position);
        const T = world.columns(Town).id;
        const O = world.columns(Obj);
        const uid = world.columns(Agent).uid;
        const E = world.hasPlugin("employment") ? world.columns(Employment) : undefined;
        const econ = world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy) : undefined;
        const st = world.resource(AffordancesKey);
        const reg = st.registry;
        const social = world.optionalResource(SocialKey)?.ledger;
        const space = world.resource(SpaceKey);
        const avoid = settings.conflict.rivalry.avoid_threshold;
        const b = settings.behavior;
        const jobs = jobTable(world);
        const tpd = ticksPerDay(world.settings);
        const tod = tick % tpd;
        const chatting = settings.features.stages.relationships !== "OFF";
        // Pantry: meals in each town's fridges; cooking for the town when it runs low.
        const fridge = reg.typeIndex("fridge");
        const cook = reg.affordanceIndex("cook_meal");
        state.pantry.fill(0);
        if (fridge >= 0) {
          // One pass over the objects in entity order (the order of the per-town lists): no map
          // lookup per town.
          const objects = st.objects;
          const type = O.type;
          const meals = O.meals;
          const pantry = state.pantry;
          for (let k = 0; k < objects.length; k++) {
            const e = objects[k];
            if (type[e] === fridge) pantry[T[e]] += meals[e];
          }
        }
        for (let i = 0; i < agents.length; i++) {
          const eid = agents[i];
          const kind = Op.kind[eid];
          if (kind === OPT_NONE || Op.external[eid] === 1) continue;
          // Busy with its affordance (the most common case after Work): nothing to decide; checked
          // before anything else so that these agents read only three columns (issue #19).
          if (kind === OPT_USE && Act.running[eid] >= 0 && Op.done[eid] === 0) continue;
          // An idle agent looks again every idle_recheck_ticks, or at once when a need falls low.
          if (kind === OPT_WAIT && tick - Op.since[eid] < config.idle_recheck_ticks && allAtLeast(N, eid, thresholds)) continue;
          if (Op.done[eid] === 0 && kind !== OPT_WAIT) {
            if (kind === OPT_USE) {
              // Nor is a top-up: hunger below its threshold, with meals in town, breaks a Use that
              // does not feed and has not started (walking, queued); a top-up sleep behind a
              // 60-tick queue starved agents of the original's example config (issue #16).
              const aff = Op.affordance[eid];
              const feeds = aff >= 0 && (reg.affordances[aff]?.hunger ?? 0) > 0;
              if (Act.running[eid] >= 0 || feeds || hungerCol === undefined || hungerCol[eid] >= thresholds[H] || state.pantry[T[eid]] < 1) continue;
            } else {
              // Committed; but no shift is worth fainting for: a critical need breaks Work.
              if (kind !== OPT_WORK) continue;
              if (allAtLeastLevel(N, eid, config.critical_level)) continue;
            }
          }
          const town = T[eid];
          const mult = econ ? econ.price_multiplier[town] : 1;
          for (let k = 0; k < K; k++) needs[k] = N[k][eid];
          // 1-3: the most urgent need below its threshold (critical ones first).
          let worst = -1;
          let worstGap = 0;
          for (let k = 0; k < K; k++) {
            // Times its urgency (hunger's is 2: it ends a life).
            const gap = (thresholds[k] - needs[k]) * urgency[k];
            if (gap > worstGap) {
              worstGap = gap;
              worst = k;
            }
          }
          const job = E ? E.job[eid] : -1;
          // Leave for work job_arrival_buffer ticks early plus the walk there (one tile a tick).
          const travel = job >= 0 && jobs.x[job] >= 0 ? Math.abs(P.x[eid] - jobs.x[job]) + Math.abs(P.y[eid] - jobs.y[job]) : 0;
          const leaveAt = job >= 0 ? jobs.start[job] - b.job_arrival_buffer - travel : 0;
          const inWindow = job >= 0 && tod >= leaveAt && tod < jobs.end[job];
          // Plan ahead: a need that would fall below the critical level before the coming or
          // current shift ends is seen to now (the agent cannot leave work to eat in time).
          if (job >= 0 && tod < jobs.end[job] && tod >= leaveAt - config.pre_shift_guard_ticks) {
            // Until the shift ends, plus the walk back and a meal (travel_slack_ticks).
            const horizon = jobs.end[job] - tod + config.travel_slack_ticks;
            for (let k = 0; k < K; k++) {
              const projected = needs[k] - rates[k] * horizon;
              const gap = config.critical_level - projected;
              if (projected < config.critical_level && needs[k] < thresholds[k] + config.top_up_margin && gap > worstGap) {
                worstGap = gap;
                worst = k;
              }
            }
          }
          const critical =
            worst >= 0 && (needs[worst] < config.critical_level || (job >= 0 && needs[worst] - rates[worst] * (jobs.end[job] - tod + config.travel_slack_ticks) < config.critical_level));
          if (inWindow && !critical) {
            chooseOption(Op, eid, OPT_WORK, -1, 0, tick);
            continue;
          }
          if (worst >= 0) {
            let aff = bestAffordance(world, reg, st, O, town, names[worst], W.money[eid], mult);
            // Eat first when the other need's affordance would leave hunger critical (issue #16).
            if (H >= 0 && worst !== H && aff >= 0 && starves(reg.affordances[aff], needs[H], rates[H], config.critical_level)) {
              const food = bestAffordance(world, reg, st, O, town, "hunger", W.money[eid], mult);
              if (food >= 0) aff = food;
            }
            if (aff >= 0) {
              chooseOption(Op, eid, OPT_USE, aff, 0, tick);
              continue;
            }
          }
          // 4: top up early when no shift is near.
          const nearShift = job >= 0 && tod >= leaveAt - config.pre_shift_guard_ticks && tod < jobs.end[job];
          if (!nearShift) {
            let topUp = -1;
            let topGap = -Infinity;
            for (let k = 0; k < K; k++) {
              const gap = thresholds[k] + config.top_up_margin - needs[k];
              if (gap > 0 && gap > topGap) {
                topGap = gap;
                topUp = k;
              }
            }
            if (topUp >= 0) {
              const aff = bestAffordance(world, reg, st, O, town, names[topUp], W.money[eid], mult);
              // No top-up that leaves hunger below its threshold by the time it ends (a 60-tick
              // sleep begun at hunger 0.65 with decay 0.01 ends in a faint: issue #16).
              if (aff >= 0 && (H < 0 || !starves(reg.affordances[aff], needs[H], rates[H], thresholds[H]))) {
                chooseOption(Op, eid, OPT_USE, aff, 0, tick);
                continue;
              }
            }
          }
          // 4b: keep the pantry stocked when nothing more pressing is due.
          if (!nearShift && cook >= 0 && state.pantry[town] < config.pantry_low_meals) {
            const list = st.objectsOfType(town, reg.affordances[cook].type);
            const price = ((settings.economy as Record<string, number>).ingredients_cost ?? 0) * mult;
            let stocked = false;
            if (list) for (let k = 0; k < list.length; k += 3) if (O.raw_ingredients[list[k]] >= 1 && O.holder[list[k]] === 0) stocked = true;
            if (stocked && W.money[eid] >= price) {
              state.pantry[town] += 1; // one cook per tick per town is enough to answer a low pantry
              chooseOption(Op, eid, OPT_USE, cook, 0, tick);
              continue;
            }
          }
          // 5: rivals and friends on this or the next tile.
          if (social) {
            let rival = false;
            let friend = 0;
            for (let o = space.agentsAt(town, P.x[eid], P.y[eid]); o !== 0; o = space.next[o]) {
              if (o === eid) continue;
              const r = social.rivalryOf(eid, uid[o]);
              if (r >= avoid) rival = true;
              else if (friend === 0) friend = o;
            }
            if (rival) {
              chooseOption(Op, eid, OPT_AVOID, -1, 0, tick);
              continue;
            }
            if (chatting && friend !== 0 && tick - state.lastChat[eid] >= config.chat_cooldown_ticks) {
              state.lastChat[eid] = tick;
              chooseOption(Op, eid, OPT_CHAT, -1, friend, tick);
              continue;
            }
          }
          chooseOption(Op, eid, OPT_WAIT, -1, 0, tick);
        }
      },
    },
  ],
});

/** True when every need of `eid` is at or above its threshold. */
function allAtLeast(N: readonly Float32Array[], eid: number, thresholds: Float64Array): boolean {
  for (let k = 0; k < N.length; k++) if (N[k][eid] < thresholds[k]) return false;
  return true;
}

/** True when every need of `eid` is at or above `level`. */
function allAtLeastLevel(N: readonly Float32Array[], eid: number, level: number): boolean {
  for (let k = 0; k < N.length; k++) if (N[k][eid] < level) return false;
  return true;
}

/** True when `a` does not feed and hunger, decaying at `rate`, would be below `floor` by its end. */
function starves(a: { hunger: number; duration: number }, hunger: number, rate: number, floor: number): boolean {
  return a.hunger <= 0 && hunger - rate * a.duration < floor;
}

/**
 * The affordance that restores `need` most among those the agent can afford and whose object
 * type has a stocked object in its town; -1 when none.
 */
export function bestAffordance(
  world: World,
  reg: AffordanceTable,
  objects: AffordanceService,
  O: { meals: Float32Array; raw_ingredients: Float32Array },
  town: number,
  need: string,
  money: number,
  mult: number,
): number {
  const econ = world.settings.economy as Record<string, number>;
  let best = -1;
  let bestGain = 0;
  for (const a of reg.affordances) {
    if (!a || !a.active) continue;
    const gain = a.effects[need] ?? 0;
    if (gain <= bestGain) continue;
    // Price: the money effect, or the hook's charge for meals and ingredients.
    let cost = a.money < 0 ? -a.money * mult : 0;
    if (a.id === "eat_meal") cost = (econ.meal_cost ?? 0) * mult;
    if (a.id === "cook_meal") cost = (econ.ingredients_cost ?? 0) * mult;
    if (cost > money) continue;
    const list = objects.objectsOfType(town, a.type);
    if (list.length === 0) continue;
    let stocked = false;
    for (let i = 0; i < list.length; i += 3) {
      const obj = list[i];
      if (a.id === "eat_meal" && O.meals[obj] < 1) continue;
      if (a.id === "cook_meal" && O.raw_ingredients[obj] < 1) continue;
      stocked = true;
      break;
    }
    if (!stocked) continue;
    best = a.index;
    bestGain = gain;
  }
  return best;
}
