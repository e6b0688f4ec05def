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
import { chooseOption } from "../../components/options.ts";
import { jobTable, type JobTable } from "../../components/jobs.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { SocialKey, type SocialLedger } from "../../components/social.ts";
import { SpaceKey, type SpatialIndex } from "../../components/grid.ts";
import { AffordancesKey, type AffordanceService, type AffordanceTable } from "../../components/affordances.ts";
import type { AffordancesResource } from "../affordances/resource.ts";
import type { TownTypeIndex } from "../affordances/type-index.ts";
import type { BehaviorState, BehaviorConfig } from "./index.ts";
import { candidates, firstOpen, type Candidates } from "./candidates.ts";
import { S_LEVEL, S_RECHECK, S_THRESHOLDS, S_TICK, primeWork } from "./scan-kernel.ts";
import { stoveReady } from "./pantry.ts";
import { tileHead } from "./tile-head.ts";
import { R_JOB, R_WORST, type FrontKernel } from "./front-kernel.ts";
// Enum members as module constants: plain loads in the per-agent loops.
const OPT_AVOID = OptionKind.Avoid;
const OPT_CHAT = OptionKind.Chat;
const OPT_NONE = OptionKind.None;
const OPT_USE = OptionKind.Use;
const OPT_WAIT = OptionKind.Wait;
const OPT_WORK = OptionKind.Work;
/** Calls per branch when keepsListed is primed (primeKeepsListed). */
const PRIME = 12;

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
  /**
   * The affordances plug-in's (town, type) index, read by range (begin/end over `items`) instead
   * of through objectsOfType's cached views (issue #19); undefined for another provider of the
   * service (then objectsOfType). Objects are not registered during a pass.
   */
  private readonly types: TownTypeIndex | undefined;
  private readonly reg: AffordanceTable;
  private readonly social: SocialLedger | undefined;
  private readonly space: SpatialIndex;
  private readonly avoid: number;
  /**
   * True when an edge at rest (rivalry at most min_value, as the social pass leaves it) is below
   * the avoid threshold: then an agent off the ledger's hot list has no rival (meetNeighbours).
   */
  private readonly restBelowAvoid: boolean;
  private readonly jobs: JobTable;
  /** Tick of the day. */
  private readonly tod: number;
  private readonly chatting: boolean;
  private readonly fridge: number;
  private readonly cook: number;
  /** The cooking affordance's object type and its ingredients' price before the town's multiplier. */
  private readonly cookType: number;
  private readonly ingredientsCost: number;
  private readonly critical_level: number;
  /** Per affordance index: 1 when it feeds (its hunger effect > 0). */
  private readonly feeds: Uint8Array;
  /** Per need, the affordances that restore it, best first (bestFor). */
  private readonly cands: Candidates;
  // One agent's scratch, written by its steps. The field that holds a fraction starts as one, so
  // it holds doubles from the start: a first fractional store into a field that held
  // small integers changes the object's shape and deoptimised every step (tick ~46 at 100k).
  private town = 0;
  private readonly budget = new Float64Array(2); // [money, town's price multiplier]: see firstOpen
  private job = -1;
  private leaveAt = 0.5; // a double from the start, as above (0 made it a small-integer field until the first leave time)
  /** The most urgent need (-1: none). */
  private worst = -1;
  /** The front of decide (front-kernel.ts: generated, or genericFront) and where it leaves its answers. */
  private readonly front: FrontKernel;
  private readonly frontInts: Int32Array;
  private readonly frontLeave: Float64Array;

  constructor(
    world: World,
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
    this.types = (this.st as Partial<AffordancesResource>).st?.byTownType;
    this.social = world.optionalResource(SocialKey)?.ledger;
    this.space = world.resource(SpaceKey);
    this.avoid = settings.conflict.rivalry.avoid_threshold;
    this.restBelowAvoid = Math.max(0, Math.fround(settings.conflict.rivalry.min_value)) < this.avoid;
    this.jobs = jobTable(world);
    this.tod = tick % ticksPerDay(world.settings);
    this.chatting = settings.features.stages.relationships !== "OFF";
    this.fridge = this.reg.typeIndex("fridge");
    this.cook = this.reg.affordanceIndex("cook_meal");
    this.cookType = this.cook >= 0 ? this.reg.affordances[this.cook].type : -1;
    const econ = settings.economy as Record<string, number>;
    this.ingredientsCost = econ.ingredients_cost ?? 0;
    this.critical_level = config.critical_level;
    this.feeds = Uint8Array.from(this.reg.affordances, (a) => ((a?.hunger ?? 0) > 0 ? 1 : 0));
    this.cands = candidates(this.reg, state.names, econ);
    const f = state.front;
    [this.frontInts, this.frontLeave] = [f.ints, f.leaveAt];
    const { jobs, P } = this;
    const { thresholds, rates, urgency, needs } = state;
    const arrays = { cols: this.N, job: this.E?.job, x: P.x, y: P.y, jobX: jobs.x, jobY: jobs.y, start: jobs.start, end: jobs.end, thresholds, rates, urgency, needs };
    this.front = f.kernelFor(arrays, state.genericScan);
    f.scalars.set([this.tod, settings.behavior.job_arrival_buffer, config.pre_shift_guard_ticks, config.travel_slack_ticks, config.critical_level, config.top_up_margin]);
  }

  /**
   * Counts the pantry, then decides for every agent whose option is open to a decision. The
   * scan reads the option's kind first and, per kind, only the columns that can open it (issue
   * #19): a Work agent its needs against the critical level, a waiting one its recheck tick and
   * thresholds, a Use its affordance's progress, and `external` only for an agent that would
   * decide; the rules are those of index.ts.
   */
  run(agents: ArrayLike<number>, spans: Int32Array): void {
    this.countPantry();
    const state = this.state;
    if (state.plainScan) {
      state.scanPath = "plain";
      for (let i = 0; i < agents.length; i++) if (!this.settled(agents[i])) this.decide(agents[i]);
      return;
    }
    const scan = state.scan;
    const Op = this.Op;
    const cols = { kind: Op.kind, done: Op.done, since: Op.since, external: Op.external, running: this.Act.running, needs: this.N };
    const kernel = state.genericScan ? undefined : scan.kernelFor(cols, this.H);
    if (kernel === undefined) {
      state.scanPath = "generic";
      this.scanGeneric(agents);
      return;
    }
    state.scanPath = "kernel";
    const s = scan.scalars;
    s[S_TICK] = this.tick;
    s[S_RECHECK] = this.config.idle_recheck_ticks;
    s[S_LEVEL] = this.critical_level;
    s.set(state.thresholds, S_THRESHOLDS);
    const chunk = scan.chunk;
    const out = scan.room(chunk);
    for (let sp = 0; sp < spans.length; sp += 2) {
      const end = spans[sp + 1];
      for (let from = spans[sp]; from < end; from += chunk) {
        const n = kernel(from, from + chunk < end ? from + chunk : end, out);
        for (let i = 0; i < n; i++) {
          const eid = out[i];
          if (this.keepsListed(eid)) continue;
          this.decide(eid);
        }
      }
    }
    if (scan.primed !== kernel && spans.length > 0) {
      primeWork(kernel, cols, spans[0], out);
      this.primeKeepsListed(spans[0]);
      scan.primed = kernel;
    }
  }

  /** The scan of run() where no kernel is generated: the same rules, agent by agent. */
  private scanGeneric(agents: ArrayLike<number>): void {
    const { kind, external, done, since } = this.Op;
    const running = this.Act.running;
    const tick = this.tick;
    const recheck = this.config.idle_recheck_ticks;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      const k = kind[eid];
      if (k === OPT_WORK) {
        // Committed; but no shift is worth fainting for: a critical need breaks Work.
        if (done[eid] === 0 && this.allAtLeastLevel(eid)) continue;
      } else if (k === OPT_USE) {
        // Busy with its affordance, or a top-up not worth breaking (keepsUse).
        if (done[eid] === 0 && (running[eid] >= 0 || this.keepsUse(eid))) continue;
      } else if (k === OPT_WAIT) {
        if (tick - since[eid] < recheck && this.allAtLeast(eid)) continue;
      } else if (k === OPT_NONE || done[eid] === 0) continue;
      // Driven from outside: read last, since it only matters to an agent open to a decision.
      if (external[eid] === 1) continue;
      this.decide(eid);
    }
  }

  /**
   * True when `eid` keeps its option this tick (nothing to decide): the rules of the scan in
   * run(), checked one after the other for every agent (BehaviorState.plainScan: the reference
   * tests compare the scan with).
   */
  private settled(eid: number): boolean {
    const Op = this.Op;
    const Act = this.Act;
    const kind = Op.kind[eid];
    if (kind === OPT_NONE || Op.external[eid] === 1) return true;
    if (kind === OPT_USE && Act.running[eid] >= 0 && Op.done[eid] === 0) return true;
    const thresholds = this.state.thresholds;
    if (kind === OPT_WAIT && this.tick - Op.since[eid] < this.config.idle_recheck_ticks && this.allAtLeast(eid)) return true;
    if (Op.done[eid] === 0 && kind !== OPT_WAIT) {
      if (kind === OPT_USE) {
        const aff = Op.affordance[eid];
        const feeds = aff >= 0 && (this.reg.affordances[aff]?.hunger ?? 0) > 0;
        const H = this.H;
        const hungerCol = this.hungerCol;
        if (Act.running[eid] >= 0 || feeds || hungerCol === undefined || hungerCol[eid] >= thresholds[H] || this.state.pantry[this.T[eid]] < 1) return true;
      } else {
        if (kind !== OPT_WORK) return true;
        if (this.allAtLeastLevel(eid)) return true;
      }
    }
    return false;
  }

  /** True when every need of `eid` is at or above its threshold (an idle agent looks again at once when one falls low). */
  private allAtLeast(eid: number): boolean {
    const N = this.N;
    const thresholds = this.state.thresholds;
    for (let k = 0; k < N.length; k++) if (N[k][eid] < thresholds[k]) return false;
    return true;
  }

  /** True when every need of `eid` is at or above the critical level. */
  private allAtLeastLevel(eid: number): boolean {
    const N = this.N;
    const level = this.critical_level;
    for (let k = 0; k < N.length; k++) if (N[k][eid] < level) return false;
    return true;
  }

  /**
   * True when an agent the scan listed keeps its option: a Use that has not started, listed on
   * hunger alone (scan-kernel.ts), that keepsUse keeps with the pantry as the pass left it. A call
   * for every listed agent, not a test in run's loop: the first such agent (tick 4 of the 100k
   * bench world) found run optimised without feedback for its loads and deoptimised it (#19,
   * twelfth session); primeKeepsListed walks it once per scan kernel.
   */
  private keepsListed(eid: number): boolean {
    return this.Op.kind[eid] === OPT_USE && this.Op.done[eid] === 0 && this.keepsUse(eid);
  }

  /**
   * Walks keepsListed's branches on agent `e` (an open Use at hunger 0: without an affordance, so
   * that keepsUse reads hunger, thresholds and pantry, then with affordance 0, so that it reads
   * `feeds`), PRIME calls each (its feedback is made after a few calls), and puts e's option row
   * and hunger back; keepsListed only reads. After the scan's first call, as primeWork.
   */
  private primeKeepsListed(e: number): void {
    const { kind, done, affordance } = this.Op;
    const col = this.hungerCol;
    const was = [kind[e], done[e], affordance[e], col === undefined ? 0 : col[e]];
    try {
      [kind[e], done[e]] = [OPT_USE, 0];
      if (col !== undefined) col[e] = 0;
      for (let a = -1; a < Math.min(1, this.feeds.length); a++) {
        affordance[e] = a;
        for (let i = 0; i < PRIME; i++) this.keepsListed(e);
      }
    } finally {
      [kind[e], done[e], affordance[e]] = [was[0], was[1], was[2]];
      if (col !== undefined) col[e] = was[3];
    }
  }

  /**
   * True when a Use that has not started (walking, queued) is kept: only hunger below its
   * threshold, with meals in town, breaks one that does not feed; a top-up sleep behind a
   * 60-tick queue starved agents of the original's example config (issue #16).
   */
  private keepsUse(eid: number): boolean {
    const aff = this.Op.affordance[eid];
    if (aff >= 0 && this.feeds[aff] === 1) return true;
    const hungerCol = this.hungerCol;
    return hungerCol === undefined || hungerCol[eid] >= this.state.thresholds[this.H] || this.state.pantry[this.T[eid]] < 1;
  }

  /** Pantry: meals in each town's fridges (cooking for the town when it runs low); pantry.ts. */
  private countPantry(): void {
    this.state.stoves.fill(0);
    this.state.fridges.count(this.state.pantry, this.st.objects, this.O.type, this.O.meals, this.T, this.fridge);
  }

  /** Chooses `eid`'s next option, by the rules in order (index.ts); public for prime.ts. */
  decide(eid: number): void {
    this.town = this.T[eid];
    this.budget[1] = this.econ ? this.econ.price_multiplier[this.town] : 1;
    // 1-3 (the most urgent need, planAhead, critical) and the shift window: front-kernel.ts.
    const work = this.front(eid) === 1;
    this.worst = this.frontInts[R_WORST];
    this.job = this.frontInts[R_JOB];
    this.leaveAt = this.frontLeave[0];
    if (work) {
      chooseOption(this.Op, eid, OPT_WORK, -1, 0, this.tick);
      return;
    }
    if (this.seeToWorstNeed(eid)) return;
    // 4: top up early when no shift is near; 4b: keep the pantry stocked.
    const job = this.job;
    const tod = this.tod;
    const nearShift = job >= 0 && tod >= this.leaveAt - this.config.pre_shift_guard_ticks && tod < this.jobs.end[job];
    if (!nearShift && (this.topUp(eid) || this.stockPantry(eid))) return;
    // 5: rivals and friends on this or the next tile.
    if (this.social && this.meetNeighbours(eid, this.social)) return;
    chooseOption(this.Op, eid, OPT_WAIT, -1, 0, this.tick);
  }

  /**
   * The affordance that restores need `k` most among those `eid` can afford and whose object
   * type has a stocked object in its town (bestAffordance's answer, from the pass's table); -1
   * when none.
   */
  private bestFor(eid: number, k: number): number {
    const c = this.cands;
    this.budget[0] = this.W.money[eid];
    return firstOpen(c, c.start[k], c.start[k + 1], this.st, this.types, this.O, this.town, this.budget);
  }

  /** 3: uses the best affordance for the most urgent need; false when none is open. */
  private seeToWorstNeed(eid: number): boolean {
    const worst = this.worst;
    if (worst < 0) return false;
    const { needs, rates } = this.state;
    const H = this.H;
    const floor = this.config.critical_level;
    const affordances = this.reg.affordances;
    let aff = -1;
    // Eat first when the other need's affordance would leave hunger critical (issue #16): the
    // second look, for hunger, goes through the same call site as the first (a call of its own
    // deoptimised the pass the first time an agent took it, tick ~244 of the bench world).
    for (let need = worst; need >= 0; ) {
      const found = this.bestFor(eid, need);
      if (found >= 0 || need === worst) aff = found;
      need = need === worst && H >= 0 && worst !== H && aff >= 0 && affordances[aff].hunger <= 0 && needs[H] - rates[H] * affordances[aff].duration < floor ? H : -1;
    }
    if (aff < 0) return false;
    chooseOption(this.Op, eid, OPT_USE, aff, 0, this.tick);
    return true;
  }

  /** 4: tops up the need closest to (or below) its threshold plus the margin; false when none. */
  private topUp(eid: number): boolean {
    const { needs, thresholds, rates } = this.state;
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
    const aff = this.bestFor(eid, topUp);
    const H = this.H;
    // No top-up that leaves hunger below its threshold by the time it ends (a 60-tick
    // sleep begun at hunger 0.65 with decay 0.01 ends in a faint: issue #16). Written out here
    // and above, not a function: doubles passed to a call V8 does not inline are boxed (#19).
    const a = aff >= 0 ? this.reg.affordances[aff] : undefined;
    if (aff >= 0 && (H < 0 || !(a!.hunger <= 0 && needs[H] - rates[H] * a!.duration < thresholds[H]))) {
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
    // The money first: the agent's own column, read in entity order, before the town's stoves
    // (both only read: the same answer in either order).
    const price = this.ingredientsCost * this.budget[1];
    if (!(this.W.money[eid] >= price)) return false;
    if (!this.stoveReady(town)) return false;
    pantry[town] += 1; // one cook per tick per town is enough to answer a low pantry
    chooseOption(this.Op, eid, OPT_USE, cook, 0, this.tick);
    return true;
  }

  /**
   * True when a stove (the cooking affordance's type) of `town` holds ingredients and is free;
   * looked at once per town and pass (state.stoves: the stoves' columns are another entity's, a
   * miss each).
   */
  private stoveReady(town: number): boolean {
    const memo = this.state.stoves;
    const known = memo[town];
    if (known === 1) return false;
    if (known === 2) return true;
    const ready = stoveReady(this.types, this.st, this.O, town, this.cookType);
    memo[town] = ready ? 2 : 1;
    return ready;
  }

  /**
   * 5: steps away from a rival on its tile, or chats with a friend; false when neither. The
   * tile is walked only when one can follow: a chat off its cooldown, or an edge of `eid` at the
   * avoid threshold (rivalryOf is 0 without an edge, so with every edge below a positive
   * threshold no neighbour is a rival and the friend is the first other agent on the tile).
   */
  private meetNeighbours(eid: number, social: SocialLedger): boolean {
    const tick = this.tick;
    const lastChat = this.state.lastChat;
    const canChat = this.chatting && tick - lastChat[eid] >= this.config.chat_cooldown_ticks;
    const avoid = this.avoid;
    // No edge of `eid` reaches the threshold, known without reading its edges (issue #19: a block
    // of the ledger at a place of its own, the pass's dearest read): an entity off the ledger's
    // hot list has every edge at rest, rivalry at most min_value, since every other change of an
    // edge goes through slot() or the relate kernel, which put its entity on the list unless the
    // edge was left at rest (systems/social/index.ts, relate.ts).
    const calm = avoid > 0 && this.restBelowAvoid && social.hot[eid] === 0;
    if (!canChat && calm) return false;
    const P = this.P;
    const space = this.space;
    const t = space.tile(this.town, P.x[eid], P.y[eid]);
    // `eid` heads the tile's list (placed there, no previous agent). Alone on it: no rival and no
    // friend, so nothing follows; known from eid's own links, before its edges are read.
    const heads = space.tileOf[eid] === t && space.prev[eid] === 0;
    if (heads && space.next[eid] === 0) return false;
    const mayAvoid = !(avoid > 0 && (calm || social.maxRivalry(eid) < avoid));
    if (!canChat && !mayAvoid) return false;
    const uid = this.uid;
    let rival = false;
    let friend = 0;
    // The friend is the first other agent on the tile (tile-head.ts).
    const first = heads ? eid : tileHead(space, eid, t);
    for (let o = first; o !== 0; o = space.next[o]) {
      if (o === eid) continue;
      if (!mayAvoid) {
        friend = o;
        break;
      }
      const r = social.rivalryOf(eid, uid[o]);
      if (r >= avoid) rival = true;
      else if (friend === 0) friend = o;
    }
    if (rival) {
      chooseOption(this.Op, eid, OPT_AVOID, -1, 0, tick);
      return true;
    }
    if (canChat && friend !== 0) {
      lastChat[eid] = tick;
      chooseOption(this.Op, eid, OPT_CHAT, -1, friend, tick);
      return true;
    }
    return false;
  }
}
