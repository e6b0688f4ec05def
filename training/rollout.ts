// Rollouts: a policy that records every decision it makes (or that the scripted controller makes,
// for behaviour cloning) into a preallocated buffer, and the per-tick bookkeeping that credits
// each decision with the discounted rewards until the agent's next decision, its exit, or the end
// of the rollout. Runs inside the policy phase (act) and after each world.step() (afterTick).
// Storage grows by doubling and is reused across rollouts: nothing allocates per agent per tick.
import type { World } from "../engine/world.ts";
import { Agent } from "../engine/core-components.ts";
import { optionAction } from "../components/actions.ts";
import { Option } from "../components/activity.ts";
import { AgentExit } from "../components/messages.ts";
import { Reward } from "../components/people.ts";
import { KEEP, policyState, setPolicy, type NeuralPolicy, type ObservationBatch, type Policy } from "../systems/policy/index.ts";
import type { GaeInput, UpdateBatch } from "./ppo.ts";

/** Decisions of one rollout, row by row (named batch dimension: decisions). */
export class RolloutBuffer implements GaeInput, UpdateBatch {
  count = 0;
  capacity = 0;
  obs = new Float32Array(0);
  masks = new Uint8Array(0);
  actions = new Int32Array(0);
  logp = new Float32Array(0);
  values = new Float32Array(0);
  rewards = new Float32Array(0);
  discounts = new Float32Array(0);
  nextValues = new Float32Array(0);
  next = new Int32Array(0);
  terminated = new Uint8Array(0);
  truncated = new Uint8Array(0);
  ppoRows = new Uint8Array(0);
  uid = new Int32Array(0);
  tick = new Int32Array(0);
  advantages = new Float32Array(0);
  returns = new Float32Array(0);
  /** Undiscounted reward of each decision (statistics, baseline metrics). */
  rawRewards = new Float32Array(0);
  /**
   * What the scripted controller chose in the same state, when it chose this tick and the mask
   * allows it (−1 otherwise): the expert label of DAgger. Equals `actions` on scripted rows.
   */
  labels = new Int32Array(0);

  constructor(
    readonly obsSize: number,
    readonly actionCount: number,
    capacity = 1024,
  ) {
    this.grow(capacity);
  }

  /** Forgets every row (keeps the storage). */
  clear(): void {
    this.count = 0;
  }

  /** Room for `n` rows. */
  ensure(n: number): void {
    if (n > this.capacity) this.grow(Math.max(n, this.capacity * 2));
  }

  private grow(cap: number): void {
    const D = this.obsSize;
    const A = this.actionCount;
    const f = (a: Float32Array, w = 1) => {
      const g = new Float32Array(cap * w);
      g.set(a);
      return g;
    };
    const u = (a: Uint8Array, w = 1) => {
      const g = new Uint8Array(cap * w);
      g.set(a);
      return g;
    };
    const i = (a: Int32Array) => {
      const g = new Int32Array(cap);
      g.set(a);
      return g;
    };
    this.obs = f(this.obs, D);
    this.masks = u(this.masks, A);
    this.actions = i(this.actions);
    this.logp = f(this.logp);
    this.values = f(this.values);
    this.rewards = f(this.rewards);
    this.discounts = f(this.discounts);
    this.nextValues = f(this.nextValues);
    this.next = i(this.next);
    this.terminated = u(this.terminated);
    this.truncated = u(this.truncated);
    this.ppoRows = u(this.ppoRows);
    this.uid = i(this.uid);
    this.tick = i(this.tick);
    this.advantages = f(this.advantages);
    this.returns = f(this.returns);
    this.rawRewards = f(this.rawRewards);
    this.labels = i(this.labels);
    this.capacity = cap;
  }

  /** Bytes held (for the summary). */
  get bytes(): number {
    return this.capacity * (this.obsSize * 4 + this.actionCount + 4 * 14 + 3);
  }
}

/**
 * Who chooses during a rollout:
 *   policy    the network samples every decision (PPO rows);
 *   scripted  the scripted controller decides; its choices are recorded as labels (behaviour cloning);
 *   blend     per decision, the scripted choice stands with probability `scriptedRatio` (a BC row),
 *             otherwise the network samples (a PPO row): the anneal from scripted to learned;
 *   dagger    the network samples every decision (PPO rows), and the scripted controller, run
 *             first on the same state, labels each decision it would have made (Ross et al.
 *             2011: the expert labels the states the learner visits).
 * In blend and dagger modes every row the scripted controller chose for gets `labels`.
 */
export type CollectMode = "policy" | "scripted" | "blend" | "dagger";

/** Counters of one rollout. */
export interface RolloutStats {
  ticks: number;
  agentSteps: number;
  decisions: number;
  /** Sum of every per-tick reward of every agent (exit penalties included). */
  rewardSum: number;
  exits: number;
  /** Exits by reason. */
  exitReasons: Record<string, number>;
}

/**
 * The recording policy. Set it on the world with `setPolicy`; call `afterTick(world)` after every
 * `world.step()` and `finish(world)` at the end of the rollout (truncates open decisions with a
 * bootstrap value).
 */
export class RolloutCollector implements Policy {
  readonly name = "trainer";
  readonly needsObservations = true;
  /** Set with `use(world, mode)`. */
  mode: CollectMode = "policy";
  scriptedRatio = 0;
  readonly buffer: RolloutBuffer;
  /** The open decision of each agent, by uid (−1 = none). */
  private open = new Int32Array(1024).fill(-1);
  private draws = new Float32Array(0);
  private forced = new Int32Array(0);
  private labelOf = new Int32Array(0);
  private flags = new Uint8Array(0);
  private finishBatch: ObservationBatch | undefined;
  stats: RolloutStats = emptyStats();
  /**
   * Added to every live agent's reward each tick in the buffer only (statistics keep the world's
   * reward): an "alive bonus" so that leaving is never the cheapest way out of a run of penalties.
   */
  aliveBonus = 0;
  /** Eligible agents the scripted controller did not choose for this tick, or chose what the mask forbids (kept in the world, left out of the recording). */
  unrecorded = 0;

  constructor(
    readonly policy: NeuralPolicy,
    readonly gamma: number,
  ) {
    this.buffer = new RolloutBuffer(policy.inputSize, policy.actionCount);
  }

  /** The scripted controller decides first in `scripted` and `blend` modes. */
  get scriptedDecides(): boolean {
    return this.mode !== "policy";
  }

  /**
   * Switches who chooses, and (re)installs the collector as `world`'s policy: the policy plug-in
   * reads `scriptedDecides` when a policy is set, so a mode change must go through here.
   */
  use(world: World, mode: CollectMode, scriptedRatio = 0): void {
    this.mode = mode;
    this.scriptedRatio = scriptedRatio;
    setPolicy(world, this);
  }

  /** Starts a rollout: empties the buffer; decisions still open from the last one are dropped. */
  begin(): void {
    this.buffer.clear();
    this.open.fill(-1);
    this.stats = emptyStats();
  }

  act(world: World, obs: ObservationBatch | undefined, masks: Uint8Array, agents: Int32Array, out: Int32Array): void {
    const n = agents.length;
    if (n === 0) return;
    if (!obs) throw new Error("the trainer's policy needs observations, and none were built");
    const p = this.policy;
    const D = p.inputSize;
    const A = masks.length / n;
    if (A !== p.actionCount) throw new Error(`the network has ${p.actionCount} actions, the world ${A}`);
    if (obs.size !== D) throw new Error(`the network reads ${D} floats per agent, the observations hold ${obs.size}`);
    if (this.draws.length < n) {
      const c = Math.max(n, this.draws.length * 2);
      this.draws = new Float32Array(c);
      this.forced = new Int32Array(c);
      this.labelOf = new Int32Array(c);
      this.flags = new Uint8Array(c);
    }
    const draws = this.draws;
    const forced = this.forced;
    const labelOf = this.labelOf;
    const flags = this.flags;
    const rng = world.rng.get("policy");
    const Op = world.columns(Option);
    // Inside world.step() the tick being run is world.tick + 1 (world.tick counts finished ticks).
    const tick = world.tick + 1;
    // 1. Who chooses each row, and the draws, on the host (the `policy` stream in agent order:
    //    the blend's coin, then the sampling draw where the network chooses).
    for (let i = 0; i < n; i++) {
      const eid = agents[i];
      // The scripted controller's choice for this state, if it made one this tick and the mask
      // allows it (−1 otherwise). Only choices of this tick are labels: an option it merely lets
      // run (the agent is eligible because a commitment window passed) would teach "repeat the
      // last action", which the observation shows: a clone that only copies it never acts. A
      // label the mask forbids cannot be learned either.
      let label = -1;
      if (this.mode !== "policy" && Op.since[eid] === tick) {
        const s = optionAction(Op.kind[eid], Op.affordance[eid]);
        if (masks[i * A + s] !== 0) label = s;
      }
      labelOf[i] = label;
      let scripted = this.mode === "scripted" || (this.mode === "blend" && rng.next() < this.scriptedRatio);
      // flags: 0 = the network samples, 1 = the scripted choice stands (recorded), 2 = unrecorded.
      let flag = 0;
      if (scripted && label < 0) {
        // No label: when recording, the scripted choice stands, unrecorded; in a blend, the
        // learned policy decides this one.
        if (this.mode === "scripted") flag = 2;
        else scripted = false;
      } else if (scripted) flag = 1;
      flags[i] = flag;
      forced[i] = flag === 1 ? label : flag === 2 ? 0 : -1;
      draws[i] = flag === 0 ? rng.next() : 0;
    }
    // 2. One pass on the device: actions, their log-probabilities and the values.
    const r = p.decide(obs.data, masks, n, draws, forced);
    const U = world.columns(Agent).uid;
    const b = this.buffer;
    b.ensure(b.count + n);
    // 3. The rows.
    for (let i = 0; i < n; i++) {
      const eid = agents[i];
      const uid = U[eid];
      if (uid >= this.open.length) {
        const g = new Int32Array(Math.max(uid + 1, this.open.length * 2)).fill(-1);
        g.set(this.open);
        this.open = g;
      }
      if (flags[i] === 2) {
        out[i] = KEEP;
        this.unrecorded++;
        continue;
      }
      // The agent's previous decision ends here: its successor's value is the bootstrap.
      const k = b.count++;
      const prev = this.open[uid];
      if (prev >= 0) {
        b.next[prev] = k;
        b.nextValues[prev] = r.value[i];
      }
      this.open[uid] = k;
      const scripted = flags[i] === 1;
      const a = r.actions[i];
      out[i] = scripted ? KEEP : a;
      b.obs.set(obs.data.subarray(i * D, i * D + D), k * D);
      b.masks.set(masks.subarray(i * A, i * A + A), k * A);
      b.actions[k] = a;
      b.logp[k] = Math.max(r.logp[i], LOGP_FLOOR);
      b.values[k] = r.value[i];
      b.rewards[k] = 0;
      b.rawRewards[k] = 0;
      b.discounts[k] = 1;
      b.nextValues[k] = 0;
      b.next[k] = -1;
      b.terminated[k] = 0;
      b.truncated[k] = 0;
      b.ppoRows[k] = scripted ? 0 : 1;
      b.uid[k] = uid;
      b.tick[k] = tick;
      b.labels[k] = labelOf[i];
    }
    this.stats.decisions += n;
  }

  /** Credits the tick's rewards to each agent's open decision and closes the decisions of agents who left. */
  afterTick(world: World): void {
    const b = this.buffer;
    const g = this.gamma;
    const open = this.open;
    const ex = world.lastTick(AgentExit);
    for (let i = ex.start; i < ex.end; i++) {
      const uid = ex.uid[i];
      const r = ex.reward[i];
      this.stats.rewardSum += r;
      this.stats.exits++;
      const reason = world.text(ex.reason[i]);
      this.stats.exitReasons[reason] = (this.stats.exitReasons[reason] ?? 0) + 1;
      const k = uid < open.length ? open[uid] : -1;
      if (k < 0) continue;
      b.rewards[k] += b.discounts[k] * r;
      b.rawRewards[k] += r;
      b.discounts[k] *= g;
      b.terminated[k] = 1;
      b.nextValues[k] = 0;
      open[uid] = -1;
    }
    const agents = world.agents;
    const U = world.columns(Agent).uid;
    const R = world.columns(Reward).total;
    let sum = 0;
    const bonus = this.aliveBonus;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      const r = R[eid];
      sum += r;
      const uid = U[eid];
      const k = uid < open.length ? open[uid] : -1;
      if (k < 0) continue;
      b.rewards[k] += b.discounts[k] * (r + bonus);
      b.rawRewards[k] += r;
      b.discounts[k] *= g;
    }
    this.stats.rewardSum += sum;
    this.stats.agentSteps += agents.length;
    this.stats.ticks++;
  }

  /**
   * Ends the rollout: every open decision is truncated, bootstrapping from the value of the
   * agent's state now (observations built for exactly those agents).
   */
  finish(world: World): void {
    const b = this.buffer;
    const agents = world.agents;
    const U = world.columns(Agent).uid;
    const list: number[] = [];
    const rows: number[] = [];
    for (let i = 0; i < agents.length; i++) {
      const uid = U[agents[i]];
      const k = uid < this.open.length ? this.open[uid] : -1;
      if (k < 0) continue;
      list.push(agents[i]);
      rows.push(k);
    }
    if (list.length > 0) {
      const st = policyState(world);
      const batch = (this.finishBatch ??= { variant: "", size: 0, count: 0, data: new Float32Array(0) });
      st.source.build(world, Int32Array.from(list), batch);
      const { value } = this.policy.evaluate(batch.data, list.length);
      for (let j = 0; j < rows.length; j++) {
        b.nextValues[rows[j]] = value[j];
        b.truncated[rows[j]] = 1;
      }
    }
    // Any decision still marked open (agents no longer live without an exit message) ends here too.
    for (let k = 0; k < b.count; k++) if (b.next[k] < 0 && b.terminated[k] === 0) b.truncated[k] = 1;
    this.open.fill(-1);
  }
}

/** The log-probability recorded for an action (log 1e-30, as the host-side softmax floored it). */
const LOGP_FLOOR = Math.log(1e-30);

function emptyStats(): RolloutStats {
  return { ticks: 0, agentSteps: 0, decisions: 0, rewardSum: 0, exits: 0, exitReasons: {} };
}
