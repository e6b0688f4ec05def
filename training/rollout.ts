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
    const tick = world.tick + 1;
    // 1. Who chooses each row, and the draws (the world's `policy` stream).
    chooseRows(world, this.mode, this.scriptedRatio, masks, agents, A, tick, this.labelOf, this.flags, this.forced, this.draws);
    const U = world.columns(Agent).uid;
    if (this.keys.length < n) this.keys = new Int32Array(this.draws.length);
    for (let i = 0; i < n; i++) this.keys[i] = U[agents[i]];
    this.recordRows(n, tick, obs.data, masks, this.keys, this.keys, this.flags, this.forced, this.draws, this.labelOf, out);
  }

  /**
   * Steps 2 and 3 of a decision tick over `n` contiguous rows (chooseRows made flags, forced,
   * draws and labels): one pass of the network, then the rows recorded and `out` written (KEEP
   * where the scripted choice stands). `keys` name each agent's open decision (its uid in one
   * world; a sharded rollout's key tells blocks apart), `uids` are recorded as they are.
   */
  recordRows(
    n: number,
    tick: number,
    obs: Float32Array,
    masks: Uint8Array,
    keys: Int32Array,
    uids: Int32Array,
    flags: Uint8Array,
    forced: Int32Array,
    draws: Float32Array,
    labels: Int32Array,
    out: Int32Array,
  ): void {
    if (n === 0) return;
    const p = this.policy;
    const D = p.inputSize;
    const A = p.actionCount;
    // 2. One pass on the device: actions, their log-probabilities and the values.
    const r = p.decide(obs, masks, n, draws, forced);
    const b = this.buffer;
    b.ensure(b.count + n);
    // 3. The rows.
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      if (key >= this.open.length) {
        const g = new Int32Array(Math.max(key + 1, this.open.length * 2)).fill(-1);
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
      const prev = this.open[key];
      if (prev >= 0) {
        b.next[prev] = k;
        b.nextValues[prev] = r.value[i];
      }
      this.open[key] = k;
      const scripted = flags[i] === 1;
      const a = r.actions[i];
      out[i] = scripted ? KEEP : a;
      b.obs.set(obs.subarray(i * D, i * D + D), k * D);
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
      b.uid[k] = uids[i];
      b.tick[k] = tick;
      b.labels[k] = labels[i];
    }
    this.stats.decisions += n;
  }

  /** An agent left with reward `r`: its open decision (by key) is credited and terminated (`reason` counted unless null). */
  creditExit(key: number, r: number, reason: string | null): void {
    this.stats.rewardSum += r;
    this.stats.exits++;
    if (reason !== null) this.stats.exitReasons[reason] = (this.stats.exitReasons[reason] ?? 0) + 1;
    const k = key < this.open.length ? this.open[key] : -1;
    if (k < 0) return;
    const b = this.buffer;
    b.rewards[k] += b.discounts[k] * r;
    b.rawRewards[k] += r;
    b.discounts[k] *= this.gamma;
    b.terminated[k] = 1;
    b.nextValues[k] = 0;
    this.open[key] = -1;
  }

  /** The tick's rewards of `n` live agents (by key), credited to their open decisions; counts the agent-steps (not the tick). */
  creditLive(n: number, keys: Int32Array, rewards: Float32Array): void {
    const b = this.buffer;
    const g = this.gamma;
    const open = this.open;
    const bonus = this.aliveBonus;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const r = rewards[i];
      sum += r;
      const key = keys[i];
      const k = key < open.length ? open[key] : -1;
      if (k < 0) continue;
      b.rewards[k] += b.discounts[k] * (r + bonus);
      b.rawRewards[k] += r;
      b.discounts[k] *= g;
    }
    this.stats.rewardSum += sum;
    this.stats.agentSteps += n;
  }

  /**
   * Ends the rollout from rows of the live agents (keys and observations of `n` agents, e.g.
   * every block's): those with an open decision are truncated, bootstrapping from one pass of
   * the network over their rows.
   */
  finishRows(n: number, keys: Int32Array, obs: Float32Array): void {
    const D = this.policy.inputSize;
    const b = this.buffer;
    let m = 0;
    if (this.finishObs.length < n * D) this.finishObs = new Float32Array(n * D);
    if (this.finishRowsOf.length < n) this.finishRowsOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      const k = key < this.open.length ? this.open[key] : -1;
      if (k < 0) continue;
      this.finishObs.set(obs.subarray(i * D, i * D + D), m * D);
      this.finishRowsOf[m++] = k;
    }
    if (m > 0) {
      const { value } = this.policy.evaluate(this.finishObs, m);
      for (let j = 0; j < m; j++) {
        b.nextValues[this.finishRowsOf[j]] = value[j];
        b.truncated[this.finishRowsOf[j]] = 1;
      }
    }
    this.closeOpen();
  }

  /** Any decision still marked open (agents no longer live without an exit message) ends here. */
  private closeOpen(): void {
    const b = this.buffer;
    for (let k = 0; k < b.count; k++) if (b.next[k] < 0 && b.terminated[k] === 0) b.truncated[k] = 1;
    this.open.fill(-1);
  }

  private keys = new Int32Array(0);
  private finishObs = new Float32Array(0);
  private finishRowsOf = new Int32Array(0);

  /** Credits the tick's rewards to each agent's open decision and closes the decisions of agents who left. */
  afterTick(world: World): void {
    const ex = world.lastTick(AgentExit);
    for (let i = ex.start; i < ex.end; i++) this.creditExit(ex.uid[i], ex.reward[i], world.text(ex.reason[i]));
    const agents = world.agents;
    const n = agents.length;
    if (this.liveKeys.length < n) {
      this.liveKeys = new Int32Array(n * 2);
      this.liveRewards = new Float32Array(n * 2);
    }
    const U = world.columns(Agent).uid;
    const R = world.columns(Reward).total;
    for (let i = 0; i < n; i++) {
      this.liveKeys[i] = U[agents[i]];
      this.liveRewards[i] = R[agents[i]];
    }
    this.creditLive(n, this.liveKeys, this.liveRewards);
    this.stats.ticks++;
  }

  private liveKeys = new Int32Array(0);
  private liveRewards = new Float32Array(0);

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
    this.closeOpen();
  }
}

/**
 * Step 1 of a decision tick, for `agents` (n rows, masks of A actions each) of `world` at `tick`:
 * who chooses each row and the draws, from the world's `policy` stream in agent order (the blend's
 * coin, then the sampling draw where the network chooses). flags: 0 = the network samples, 1 = the
 * scripted choice stands (recorded), 2 = unrecorded; forced: the action taken instead of sampling
 * (−1: none); labels: the scripted controller's choice this tick where the mask allows it (−1
 * otherwise). `mode` "greedy" (a learned policy's inference without sampling) draws nothing.
 */
export function chooseRows(
  world: World,
  mode: CollectMode | "greedy",
  scriptedRatio: number,
  masks: Uint8Array,
  agents: Int32Array,
  A: number,
  tick: number,
  labelOf: Int32Array,
  flags: Uint8Array,
  forced: Int32Array,
  draws: Float32Array,
): void {
  const n = agents.length;
  const rng = world.rng.get("policy");
  const Op = world.columns(Option);
  for (let i = 0; i < n; i++) {
    const eid = agents[i];
    // The scripted controller's choice for this state, if it made one this tick and the mask
    // allows it (−1 otherwise). Only choices of this tick are labels: an option it merely lets
    // run (the agent is eligible because a commitment window passed) would teach "repeat the
    // last action", which the observation shows: a clone that only copies it never acts. A
    // label the mask forbids cannot be learned either.
    let label = -1;
    if (mode !== "policy" && mode !== "greedy" && Op.since[eid] === tick) {
      const s = optionAction(Op.kind[eid], Op.affordance[eid]);
      if (masks[i * A + s] !== 0) label = s;
    }
    labelOf[i] = label;
    let scripted = mode === "scripted" || (mode === "blend" && rng.next() < scriptedRatio);
    let flag = 0;
    if (scripted && label < 0) {
      // No label: when recording, the scripted choice stands, unrecorded; in a blend, the
      // learned policy decides this one.
      if (mode === "scripted") flag = 2;
      else scripted = false;
    } else if (scripted) flag = 1;
    flags[i] = flag;
    forced[i] = flag === 1 ? label : flag === 2 ? 0 : -1;
    draws[i] = flag === 0 && mode !== "greedy" ? rng.next() : 0;
  }
}

/** The log-probability recorded for an action (log 1e-30, as the host-side softmax floored it). */
const LOGP_FLOOR = Math.log(1e-30);

function emptyStats(): RolloutStats {
  return { ticks: 0, agentSteps: 0, decisions: 0, rewardSum: 0, exits: 0, exitReasons: {} };
}
