// One decision pass of the scripted controller (systems/behavior/index.ts has the rules in
// order): the columns and tables of this tick, read once, and the steps that choose one agent's
// next option. A pass is made once per tick; per agent it only writes its scratch fields (no
// allocation per agent per tick).
import type { World } from "../../engine/world.ts";
import type { ComponentDef, Columns } from "../../engine/component.ts";
import { Town, Agent } from "../../engine/core-components.ts";
import { NeedsKey } from "../../components/needs.ts";
import { Activity, Option, OptionKind } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Obj } from "../../components/objects.ts";
import type { AffordanceTable } from "../../components/affordances.ts";
import { chooseOption } from "../../components/options.ts";
import { jobTable, type JobTable } from "../../components/jobs.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { SocialKey, type SocialLedger } from "../../components/social.ts";
import { SpaceKey, type SpatialIndex } from "../../components/grid.ts";
import { AffordancesKey, type AffordanceService } from "../../components/affordances.ts";
import type { BehaviorState, BehaviorConfig } from "./index.ts";
// Enum members as module constants: plain loads in the per-agent loops.
const OPT_AVOID = OptionKind.Avoid;
const OPT_CHAT = OptionKind.Chat;
const OPT_NONE = OptionKind.None;
const OPT_USE = OptionKind.Use;
const OPT_WAIT = OptionKind.Wait;
const OPT_WORK = OptionKind.Work;

type ColumnsOf<D> = D extends ComponentDef<infer S> ? Columns<S> : never;

/** The columns, tables and settings one tick's decisions read, and one agent's scratch. */
export class DecidePass {
  private readonly Op: ColumnsOf<typeof Option>;
  private readonly Act: ColumnsOf<typeof Activity>;
  private readonly N: readonly Float32Array[];
  private readonly K: number;
  /** Index of hunger in the need table (-1: none) and its column. */
  private readonly H: number;
  private readonly hungerCol: Float32Array | undefined;
  private readonly W: ColumnsOf<typeof Wallet>;
  private readonly P: ColumnsOf<typeof Position>;
  private readonly T: ColumnsOf<typeof Town>["id"];
  private readonly O: ColumnsOf<typeof Obj>;
  private readonly uid: ColumnsOf<typeof Agent>["uid"];
  private readonly E: ColumnsOf<typeof Employment> | undefined;
  private readonly econ: ColumnsOf<typeof TownEconomy> | undefined;
  private readonly st: AffordanceService;
  private readonly reg: AffordanceTable;
  private readonly social: SocialLedger | undefined;
  private readonly space: SpatialIndex;
  private readonly avoid: number;
  private readonly jobs: JobTable;
  /** Tick of the day. */
  private readonly tod: number;
  private readonly chatting: boolean;
  private readonly fridge: number;
  private readonly cook: number;
  // One agent's scratch, written by its steps.
  private town = 0;
  private mult = 1;
  private job = -1;
  private leaveAt = 0;
  /** The most urgent need (-1: none) and its weighted gap. */
  private worst = -1;
  private worstGap = 0;

  constructor(
    private readonly world: World,
    private readonly tick: number,
    private readonly config: BehaviorConfig,
    private readonly settings: World["settings"],
    private readonly state: BehaviorState,
  ) {
    this.Op = world.columns(Option);
    this.Act = world.columns(Activity);
    this.N = world.resource(NeedsKey).columns();
    this.K = this.N.length;
    this.H = state.hunger;
    this.hungerCol = this.H >= 0 ? this.N[this.H] : undefined;
    this.W = world.columns(Wallet);
    this.P = world.columns(Position);
    this.T = world.columns(Town).id;
    this.O = world.columns(Obj);
    this.uid = world.columns(Agent).uid;
    this.E = world.hasPlugin("employment") ? world.columns(Employment) : undefined;
    this.econ = world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy) : undefined;
    this.st = world.resource(AffordancesKey);
    this.reg = this.st.registry;
    this.social = world.optionalResource(SocialKey)?.ledger;
    this.space = world.resource(SpaceKey);
    this.avoid = settings.conflict.rivalry.avoid_threshold;
    this.jobs = jobTable(world);
    this.tod = tick % ticksPerDay(world.settings);
    this.chatting = settings.features.stages.relationships !== "OFF";
    this.fridge = this.reg.typeIndex("fridge");
    this.cook = this.reg.affordanceIndex("cook_meal");
  }

  /** Counts the pantry, then decides for every agent whose option is open to a decision. */
  run(agents: ArrayLike<number>): void {
    this.countPantry();
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      if (this.settled(eid)) continue;
      this.decide(eid);
    }
  }

  /** Pantry: meals in each town's fridges (cooking for the town when it runs low). */
  private countPantry(): void {
    const pantry = this.state.pantry;
    pantry.fill(0);
    if (this.fridge < 0) return;
    // One pass over the objects in entity order (the order of the per-town lists): no map
    // lookup per town.
    const objects = this.st.objects;
    const type = this.O.type;
    const meals = this.O.meals;
    const T = this.T;
    const fridge = this.fridge;
    for (let k = 0; k < objects.length; k++) {
      const e = objects[k];
      if (type[e] === fridge) pantry[T[e]] += meals[e];
    }
  }

  /** True when `eid` keeps its option this tick (nothing to decide). */
  private settled(eid: number): boolean {
    const Op = this.Op;
    const Act = this.Act;
    const kind = Op.kind[eid];
    if (kind === OPT_NONE || Op.external[eid] === 1) return true;
    // Busy with its affordance (the most common case after Work): nothing to decide; checked
    // before anything else so that these agents read only three columns (issue #19).
    if (kind === OPT_USE && Act.running[eid] >= 0 && Op.done[eid] === 0) return true;
    const thresholds = this.state.thresholds;
    // An idle agent looks again every idle_recheck_ticks, or at once when a need falls low.
    if (kind === OPT_WAIT && this.tick - Op.since[eid] < this.config.idle_recheck_ticks && allAtLeast(this.N, eid, thresholds)) return true;
    if (Op.done[eid] === 0 && kind !== OPT_WAIT) {
      if (kind === OPT_USE) {
        // Nor is a top-up: hunger below its threshold, with meals in town, breaks a Use that
        // does not feed and has not started (walking, queued); a top-up sleep behind a
        // 60-tick queue starved agents of the original's example config (issue #16).
        const aff = Op.affordance[eid];
        const feeds = aff >= 0 && (this.reg.affordances[aff]?.hunger ?? 0) > 0;
        const H = this.H;
        const hungerCol = this.hungerCol;
        if (Act.running[eid] >= 0 || feeds || hungerCol === undefined || hungerCol[eid] >= thresholds[H] || this.state.pantry[this.T[eid]] < 1) return true;
      } else {
        // Committed; but no shift is worth fainting for: a critical need breaks Work.
        if (kind !== OPT_WORK) return true;
        if (allAtLeastLevel(this.N, eid, this.config.critical_level)) return true;
      }
    }
    return false;
  }

  /** Chooses `eid`'s next option, by the rules in order (index.ts). */
  private decide(eid: number): void {
    const { needs } = this.state;
    const N = this.N;
    this.town = this.T[eid];
    this.mult = this.econ ? this.econ.price_multiplier[this.town] : 1;
    for (let k = 0; k < this.K; k++) needs[k] = N[k][eid];
    this.findUrgentNeed();
    const job = (this.job = this.E ? this.E.job[eid] : -1);
    const jobs = this.jobs;
    const tod = this.tod;
    const P = this.P;
    // Leave for work job_arrival_buffer ticks early plus the walk there (one tile a tick).
    const travel = job >= 0 && jobs.x[job] >= 0 ? Math.abs(P.x[eid] - jobs.x[job]) + Math.abs(P.y[eid] - jobs.y[job]) : 0;
    this.leaveAt = job >= 0 ? jobs.start[job] - this.settings.behavior.job_arrival_buffer - travel : 0;
    const inWindow = job >= 0 && tod >= this.leaveAt && tod < jobs.end[job];
    this.planAhead();
    if (inWindow && !this.critical()) {
      chooseOption(this.Op, eid, OPT_WORK, -1, 0, this.tick);
      return;
    }
    if (this.seeToWorstNeed(eid)) return;
    // 4: top up early when no shift is near; 4b: keep the pantry stocked.
    const nearShift = job >= 0 && tod >= this.leaveAt - this.config.pre_shift_guard_ticks && tod < jobs.end[job];
    if (!nearShift && (this.topUp(eid) || this.stockPantry(eid))) return;
    // 5: rivals and friends on this or the next tile.
    if (this.social && this.meetNeighbours(eid, this.social)) return;
    chooseOption(this.Op, eid, OPT_WAIT, -1, 0, this.tick);
  }

  /** 1-3: the most urgent need below its threshold (critical ones first). */
  private findUrgentNeed(): void {
    const { needs, thresholds, urgency } = this.state;
    let worst = -1;
    let worstGap = 0;
    for (let k = 0; k < this.K; k++) {
      // Times its urgency (hunger's is 2: it ends a life).
      const gap = (thresholds[k] - needs[k]) * urgency[k];
      if (gap > worstGap) {
        worstGap = gap;
        worst = k;
      }
    }
    this.worst = worst;
    this.worstGap = worstGap;
  }

  /**
   * Plan ahead: a need that would fall below the critical level before the coming or current
   * shift ends is seen to now (the agent cannot leave work to eat in time).
   */
  private planAhead(): void {
    const job = this.job;
    const jobs = this.jobs;
    const tod = this.tod;
    const config = this.config;
    if (!(job >= 0 && tod < jobs.end[job] && tod >= this.leaveAt - config.pre_shift_guard_ticks)) return;
    const { needs, thresholds, rates } = this.state;
    // Until the shift ends, plus the walk back and a meal (travel_slack_ticks).
    const horizon = jobs.end[job] - tod + config.travel_slack_ticks;
    for (let k = 0; k < this.K; k++) {
      const projected = needs[k] - rates[k] * horizon;
      const gap = config.critical_level - projected;
      if (projected < config.critical_level && needs[k] < thresholds[k] + config.top_up_margin && gap > this.worstGap) {
        this.worstGap = gap;
        this.worst = k;
      }
    }
  }

  /** True when the most urgent need is critical now, or would be by the end of the shift. */
  private critical(): boolean {
    const worst = this.worst;
    if (worst < 0) return false;
    const { needs, rates } = this.state;
    const job = this.job;
    const config = this.config;
    return (
      needs[worst] < config.critical_level ||
      (job >= 0 && needs[worst] - rates[worst] * (this.jobs.end[job] - this.tod + config.travel_slack_ticks) < config.critical_level)
    );
  }

  /** The affordance that restores `need` most for `eid` (bestAffordance); -1 when none. */
  private bestFor(eid: number, need: string): number {
    return bestAffordance(this.world, this.reg, this.st, this.O, this.town, need, this.W.money[eid], this.mult);
  }

  /** 3: uses the best affordance for the most urgent need; false when none is open. */
  private seeToWorstNeed(eid: number): boolean {
    const worst = this.worst;
    if (worst < 0) return false;
    const { needs, rates, names } = this.state;
    const H = this.H;
    let aff = this.bestFor(eid, names[worst]);
    // Eat first when the other need's affordance would leave hunger critical (issue #16).
    if (H >= 0 && worst !== H && aff >= 0 && starves(this.reg.affordances[aff], needs[H], rates[H], this.config.critical_level)) {
      const food = this.bestFor(eid, "hunger");
      if (food >= 0) aff = food;
    }
    if (aff < 0) return false;
    chooseOption(this.Op, eid, OPT_USE, aff, 0, this.tick);
    return true;
  }

  /** 4: tops up the need closest to (or below) its threshold plus the margin; false when none. */
  private topUp(eid: number): boolean {
    const { needs, thresholds, rates, names } = this.state;
    const margin = this.config.top_up_margin;
    let topUp = -1;
    let topGap = -Infinity;
    for (let k = 0; k < this.K; k++) {
      const gap = thresholds[k] + margin - needs[k];
      if (gap > 0 && gap > topGap) {
        topGap = gap;
        topUp = k;
      }
    }
    if (topUp < 0) return false;
    const aff = this.bestFor(eid, names[topUp]);
    const H = this.H;
    // No top-up that leaves hunger below its threshold by the time it ends (a 60-tick
    // sleep begun at hunger 0.65 with decay 0.01 ends in a faint: issue #16).
    if (aff >= 0 && (H < 0 || !starves(this.reg.affordances[aff], needs[H], rates[H], thresholds[H]))) {
      chooseOption(this.Op, eid, OPT_USE, aff, 0, this.tick);
      return true;
    }
    return false;
  }

  /** 4b: cooks for the town when its pantry runs low and a stove is stocked; false otherwise. */
  private stockPantry(eid: number): boolean {
    const cook = this.cook;
    const town = this.town;
    const pantry = this.state.pantry;
    if (cook < 0 || pantry[town] >= this.config.pantry_low_meals) return false;
    const O = this.O;
    const list = this.st.objectsOfType(town, this.reg.affordances[cook].type);
    const price = ((this.settings.economy as Record<string, number>).ingredients_cost ?? 0) * this.mult;
    let stocked = false;
    if (list) for (let k = 0; k < list.length; k += 3) if (O.raw_ingredients[list[k]] >= 1 && O.holder[list[k]] === 0) stocked = true;
    if (!(stocked && this.W.money[eid] >= price)) return false;
    pantry[town] += 1; // one cook per tick per town is enough to answer a low pantry
    chooseOption(this.Op, eid, OPT_USE, cook, 0, this.tick);
    return true;
  }

  /** 5: steps away from a rival on its tile, or chats with a friend; false when neither. */
  private meetNeighbours(eid: number, social: SocialLedger): boolean {
    const P = this.P;
    const space = this.space;
    const uid = this.uid;
    let rival = false;
    let friend = 0;
    for (let o = space.agentsAt(this.town, P.x[eid], P.y[eid]); o !== 0; o = space.next[o]) {
      if (o === eid) continue;
      const r = social.rivalryOf(eid, uid[o]);
      if (r >= this.avoid) rival = true;
      else if (friend === 0) friend = o;
    }
    if (rival) {
      chooseOption(this.Op, eid, OPT_AVOID, -1, 0, this.tick);
      return true;
    }
    const tick = this.tick;
    const lastChat = this.state.lastChat;
    if (this.chatting && friend !== 0 && tick - lastChat[eid] >= this.config.chat_cooldown_ticks) {
      lastChat[eid] = tick;
      chooseOption(this.Op, eid, OPT_CHAT, -1, friend, tick);
      return true;
    }
    return false;
  }
}

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
