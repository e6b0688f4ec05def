// Policies behind one interface. Each chooses one action of the shared discrete action space
// (components/actions.ts) per agent from a row of the action mask; the policy plug-in turns the
// choice into an option. Every random draw comes from the world's `policy` stream, so runs are
// reproducible per seed.
//   scripted  a no-op: the scripted controller's own system decides;
//   random    uniform over the allowed actions;
//   neural    an MLP over the observation row (policy head of A logits, value head);
//   blend     per agent per decision, the scripted controller's choice stands with probability
//             `scriptedRatio`, otherwise the learned policy's (behaviour-clone annealing);
//   external  actions written from outside (the env API, a trainer).
import type { World } from "../../engine/world.ts";
import { initTensorBackend } from "../../engine/tensor.ts";
import { actionNames } from "../../components/actions.ts";
import type { ObservationBatch } from "./observe.ts";
import { observationSourceFor } from "./observe.ts";
import { registryOf } from "./masks.ts";
import { NeuralPolicy } from "./neural.ts";
import type { CheckpointExpectations } from "./checkpoint.ts";

export { NeuralPolicy, type NeuralPolicyOptions } from "./neural.ts";
export { CHECKPOINT_FORMAT, CheckpointError, type CheckpointErrorKind, type CheckpointExpectations } from "./checkpoint.ts";

/** An action value meaning "no new choice: the current option stands". */
export const KEEP = -1;

export interface Policy {
  readonly name: string;
  /** True when `act` reads observations (the plug-in builds them only then). */
  readonly needsObservations?: boolean;
  /** True when the scripted controller must still decide (scripted, blend). */
  readonly scriptedDecides?: boolean;
  /**
   * Chooses an action for each of `agents` (row i of `masks`, A = masks.length / agents.length
   * entries, 1 = allowed) into `out[i]`, or KEEP. `obs` holds one row per agent, in the same order.
   */
  act(world: World, obs: ObservationBatch | undefined, masks: Uint8Array, agents: Int32Array, out: Int32Array): void;
}

/** The scripted controller decides in its own system; this policy chooses nothing. */
export const scriptedPolicy: Policy = Object.freeze({
  name: "scripted",
  scriptedDecides: true,
  act(_w: World, _o: ObservationBatch | undefined, _m: Uint8Array, agents: Int32Array, out: Int32Array) {
    out.fill(KEEP, 0, agents.length);
  },
});

/** Uniform over each agent's allowed actions: one draw of the `policy` stream per agent. */
export class RandomPolicy implements Policy {
  readonly name = "random";
  act(world: World, _obs: ObservationBatch | undefined, masks: Uint8Array, agents: Int32Array, out: Int32Array): void {
    const n = agents.length;
    if (n === 0) return;
    const A = masks.length / n;
    const rng = world.rng.get("policy");
    for (let i = 0; i < n; i++) {
      const row = i * A;
      let allowed = 0;
      for (let j = 0; j < A; j++) allowed += masks[row + j];
      let pick = rng.int(allowed);
      let a = 0;
      for (let j = 0; j < A; j++) {
        if (masks[row + j] === 0) continue;
        if (pick-- === 0) {
          a = j;
          break;
        }
      }
      out[i] = a;
    }
  }
}

/** Actions written from outside (env API, trainer): `set(eid -> action)` before the tick. */
export class ExternalPolicy implements Policy {
  readonly name = "external";
  /** Action by entity id; KEEP where none was given. */
  actions = new Int32Array(0);
  /** Sets one agent's action for the next tick. */
  set(eid: number, action: number): void {
    if (eid >= this.actions.length) {
      const g = new Int32Array(Math.max(16, (eid + 1) * 2)).fill(KEEP);
      g.set(this.actions);
      this.actions = g;
    }
    this.actions[eid] = action;
  }
  /** Forgets every action given (KEEP for all). */
  clear(): void {
    this.actions.fill(KEEP);
  }
  act(_w: World, _o: ObservationBatch | undefined, _m: Uint8Array, agents: Int32Array, out: Int32Array): void {
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      out[i] = eid < this.actions.length ? this.actions[eid] : KEEP;
    }
  }
}

/**
 * Behaviour-clone annealing: the scripted controller decides first; then, per agent per decision,
 * its choice stands with probability `scriptedRatio` (one draw of the `policy` stream), otherwise
 * the learned policy's choice replaces it.
 */
export class BlendPolicy implements Policy {
  readonly name = "blend";
  readonly scriptedDecides = true;
  private ratio: number;
  constructor(
    readonly learned: Policy,
    scriptedRatio: number,
  ) {
    this.ratio = checkRatio(scriptedRatio);
  }
  get needsObservations(): boolean {
    return this.ratio < 1 && this.learned.needsObservations === true;
  }
  get scriptedRatio(): number {
    return this.ratio;
  }
  /** Runtime setter (anneal schedules, console). */
  setScriptedRatio(r: number): void {
    this.ratio = checkRatio(r);
  }
  act(world: World, obs: ObservationBatch | undefined, masks: Uint8Array, agents: Int32Array, out: Int32Array): void {
    const n = agents.length;
    if (this.ratio >= 1) {
      out.fill(KEEP, 0, n);
      return;
    }
    this.learned.act(world, obs, masks, agents, out);
    if (this.ratio <= 0) return;
    const rng = world.rng.get("policy");
    for (let i = 0; i < n; i++) if (rng.next() < this.ratio) out[i] = KEEP;
  }
}

function checkRatio(r: number): number {
  if (!(r >= 0 && r <= 1)) throw new RangeError(`the scripted ratio of a blend must be in [0, 1], got ${r}`);
  return r;
}

/** A policy named on the command line or in a config that does not exist. */
export class PolicySpecError extends Error {
  override name = "PolicySpecError";
}

// ---- construction from settings --------------------------------------------------------------

/** A fresh neural policy shaped for `world` (its observation source and action space). */
export async function createNeuralPolicy(world: World, opts: { hidden?: readonly number[]; seed?: number; greedy?: boolean } = {}): Promise<NeuralPolicy> {
  const { tf } = await initTensorBackend();
  const src = observationSourceFor(world);
  const names = actionNames(registryOf(world));
  const rt = world.settings.policy_runtime;
  return new NeuralPolicy(tf, {
    inputSize: src.size(world),
    actionCount: names.length,
    hidden: opts.hidden ?? rt.hidden_sizes,
    seed: opts.seed ?? world.seed,
    greedy: opts.greedy ?? rt.greedy,
    variant: src.variant(world),
    configId: world.settings.config_id,
    actionNames: names,
  });
}

/** What a checkpoint must match to decide in `world`: its observation layout, config_id and actions. */
export function checkpointExpectations(world: World): Required<CheckpointExpectations> {
  const src = observationSourceFor(world);
  return { variant: src.variant(world), configId: world.settings.config_id, actionNames: actionNames(registryOf(world)), inputSize: src.size(world) };
}

/** Loads a checkpoint for `world`: its variant, config_id and action space must match. */
export async function loadNeuralPolicy(world: World, dir: string, opts: { greedy?: boolean } = {}): Promise<NeuralPolicy> {
  const { tf } = await initTensorBackend();
  return NeuralPolicy.load(tf, dir, checkpointExpectations(world), { greedy: opts.greedy ?? world.settings.policy_runtime.greedy });
}

/**
 * A policy from a spec: `scripted`, `random`, `neural` (fresh, seeded from the world's seed) or
 * `neural:DIR` (a checkpoint). With training.anneal_enable_policy_blend on, a learned policy is
 * wrapped in a blend at training.anneal_scripted_ratio.
 */
export async function createPolicy(world: World, spec: string, options: Record<string, unknown> = {}): Promise<Policy> {
  const [kind, ...rest] = spec.split(":");
  const arg = rest.join(":") || (typeof options.checkpoint === "string" ? options.checkpoint : "");
  let p: Policy;
  switch (kind) {
    case "scripted":
      return scriptedPolicy;
    case "random":
      p = new RandomPolicy();
      break;
    case "external":
      return new ExternalPolicy();
    case "neural": {
      const greedy = typeof options.greedy === "boolean" ? options.greedy : undefined;
      // `neural` or `neural:fresh`: a freshly initialised network; `neural:DIR`: a checkpoint.
      p = arg && arg !== "fresh" ? await loadNeuralPolicy(world, arg, { greedy }) : await createNeuralPolicy(world, { greedy });
      break;
    }
    default:
      throw new PolicySpecError(`unknown policy "${spec}"; expected scripted, random, external, neural, neural:fresh or neural:CHECKPOINT_DIR`);
  }
  const t = world.settings.training;
  return t.anneal_enable_policy_blend ? new BlendPolicy(p, t.anneal_scripted_ratio) : p;
}
