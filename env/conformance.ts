// The env conformance suite, shipped so that a modder can run it on a world with their plug-ins
// (`townlet env-check`, or these functions from a test). PettingZoo's parallel_api_test and
// seed_test in TypeScript: each returns { ok, checks } and never throws on a failed check.
import { createHash } from "node:crypto";
import { createRng, type Rng } from "../engine/rng.ts";
import type { AgentObservation, ParallelEnv } from "./parallel.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SuiteResult {
  ok: boolean;
  checks: CheckResult[];
}

/** Makes a fresh env each call (the seed test compares several). */
export type EnvFactory = () => ParallelEnv<AgentObservation, unknown>;

/** Collects failures per named check; keeps the first few messages of each. */
class Checks {
  private readonly fails = new Map<string, string[]>();
  private readonly counts = new Map<string, number>();
  private readonly notes = new Map<string, string>();
  constructor(private readonly names: readonly string[]) {
    for (const n of names) {
      this.fails.set(n, []);
      this.counts.set(n, 0);
    }
  }
  fail(name: string, message: string): void {
    const f = this.fails.get(name)!;
    if (f.length < 3) f.push(message);
    this.counts.set(name, this.counts.get(name)! + 1);
  }
  note(name: string, detail: string): void {
    this.notes.set(name, detail);
  }
  result(): SuiteResult {
    const checks = this.names.map((name) => {
      const f = this.fails.get(name)!;
      const n = this.counts.get(name)!;
      const more = n > f.length ? ` (${n} failures in all)` : "";
      return { name, ok: n === 0, detail: n === 0 ? (this.notes.get(name) ?? "") : f.join("; ") + more };
    });
    return { ok: checks.every((c) => c.ok), checks };
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** A uniform draw among the actions the mask allows (any action of the space without a usable mask). */
function sampleAction(rng: Rng, n: number, mask: unknown): number {
  if (mask instanceof Uint8Array && mask.length === n) {
    let allowed = 0;
    for (let j = 0; j < n; j++) allowed += mask[j] === 1 ? 1 : 0;
    if (allowed > 0) {
      let pick = rng.int(allowed);
      for (let j = 0; j < n; j++) if (mask[j] === 1 && pick-- === 0) return j;
    }
  }
  return rng.int(Math.max(1, n));
}

function sameSet(keys: string[], expected: Set<string>): string | undefined {
  const got = new Set(keys);
  const missing = [...expected].filter((k) => !got.has(k));
  const extra = keys.filter((k) => !expected.has(k));
  if (missing.length === 0 && extra.length === 0 && got.size === keys.length) return undefined;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ` (+${missing.length - 3})` : ""}`);
  if (extra.length) parts.push(`unexpected ${extra.slice(0, 3).join(", ")}${extra.length > 3 ? ` (+${extra.length - 3})` : ""}`);
  if (!parts.length) parts.push("duplicate keys");
  return parts.join(", ");
}

const API = {
  runs: "reset and step run without throwing",
  resetKeys: "reset returns an observation and an info for every agent in agents",
  stepKeys: "step returns are keyed by the live agents (and those that joined)",
  subset: "agents are unique and within possible_agents, which never loses an id",
  spaces: "observation_space and action_space return the same object on every call",
  shapes: "observations fit the space: Float32Array of its shape, finite, a 0/1 mask of action_space.n",
  values: "rewards are finite numbers, terminations and truncations booleans",
  masked: "a random policy sampling only allowed actions is never refused (unless the env reports a stale mask)",
  forbidden: "forbidden actions are refused and reported",
  done: "terminated or truncated agents leave agents and never return",
  infos: "infos hold an object for every agent",
  end: "when no agent is left, every possible agent has finished",
} as const;

export interface ParallelApiOptions {
  /** Steps to run at most (the episode may end sooner). Default 1000. */
  cycles?: number;
  /** Seed for reset; default: none (the env's own). */
  seed?: number;
  /** Seed of the random policy's stream. Default 0. */
  actionSeed?: number;
}

/** One run of parallelApiTest: the counters, and a check per part of the contract. */
class ParallelApiRun {
  readonly c = new Checks(Object.values(API));
  steps = 0;
  private allowedRead = 0;
  private staleRefusals = 0;
  private forbiddenTried = 0;
  private maxLive = 0;
  private readonly firstSpace = new Map<string, { obs: unknown; act: unknown }>();
  /** Agents that terminated or were truncated. */
  private readonly finished = new Set<string>();
  private possibleBefore: string[] = [];

  constructor(private readonly rng: Rng) {}

  /** reset: its keys, the ids, spaces, observations and infos. Returns the live agents and their observations. */
  reset(env: ParallelEnv<AgentObservation, unknown>, seed: number | undefined): { agents: string[]; obs: Record<string, AgentObservation> } {
    const [obs0, infos0] = env.reset(seed !== undefined ? { seed } : {});
    const agents = [...env.agents];
    const live0 = new Set(agents);
    for (const [name, d] of [["observations", obs0], ["infos", infos0]] as const) {
      const bad = sameSet(Object.keys(d), live0);
      if (bad) this.c.fail(API.resetKeys, `${name}: ${bad}`);
    }
    const possible0 = env.possible_agents;
    const possible0Set = new Set(possible0);
    if (new Set(agents).size !== agents.length) this.c.fail(API.subset, "agents holds duplicates after reset");
    for (const a of agents) if (!possible0Set.has(a)) this.c.fail(API.subset, `${a} is in agents but not in possible_agents after reset`);
    this.checkSpaces(env, agents);
    for (const a of agents) this.checkObs(env, a, obs0[a], true);
    this.checkInfos(infos0 as Record<string, unknown>, agents);
    this.possibleBefore = [...possible0];
    return { agents, obs: obs0 };
  }

  /** One step of the random policy (forbidden actions on purpose in the second), checked: the agents live after it and their observations. */
  step(env: ParallelEnv<AgentObservation, unknown>, agents: string[], lastObs: Record<string, AgentObservation>): { agents: string[]; obs: Record<string, AgentObservation> } {
    this.maxLive = Math.max(this.maxLive, agents.length);
    const forbid = this.steps === 1;
    const actions: Record<string, number> = {};
    const forbiddenFor = new Set<string>();
    for (const a of agents) {
      const n = env.action_space(a).n;
      const mask = lastObs[a]?.action_mask;
      let act = -1;
      if (forbid && mask instanceof Uint8Array) {
        for (let j = 0; j < n; j++) if (mask[j] === 0) act = j;
      }
      if (act >= 0) forbiddenFor.add(a);
      else act = sampleAction(this.rng, n, mask);
      actions[a] = act;
    }
    const before = new Set(agents);
    const [obs, rew, term, trunc, infos] = env.step(actions);
    this.steps++;
    const after = [...env.agents];
    const afterSet = new Set(after);
    const expected = new Set(before);
    for (const a of after) if (!before.has(a)) expected.add(a);
    const dicts = { observations: obs, rewards: rew, terminations: term, truncations: trunc, infos } as const;
    for (const [name, d] of Object.entries(dicts)) {
      const bad = sameSet(Object.keys(d), expected);
      if (bad) this.c.fail(API.stepKeys, `step ${this.steps}, ${name}: ${bad}`);
    }
    this.checkIds(env, after, afterSet);
    this.checkLifecycle(env, obs, rew, term, trunc, infos as Record<string, unknown>, expected, after, afterSet);
    this.checkMasks(before, infos as Record<string, unknown>, forbiddenFor, actions);
    return { agents: after, obs };
  }

  /** Ids are unique and within possible_agents, which never loses one. */
  private checkIds(env: ParallelEnv<AgentObservation, unknown>, after: string[], afterSet: Set<string>): void {
    const possible = env.possible_agents;
    const possibleSet = new Set(possible);
    if (afterSet.size !== after.length) this.c.fail(API.subset, `step ${this.steps}: agents holds duplicates`);
    for (const a of after) if (!possibleSet.has(a)) this.c.fail(API.subset, `step ${this.steps}: ${a} is in agents but not in possible_agents`);
    for (const a of this.possibleBefore) if (!possibleSet.has(a)) this.c.fail(API.subset, `step ${this.steps}: ${a} left possible_agents`);
    this.possibleBefore = [...possible];
  }

  /** Done agents leave and never return; rewards, terminations and truncations are well typed; observations, infos and spaces fit. */
  private checkLifecycle(
    env: ParallelEnv<AgentObservation, unknown>,
    obs: Record<string, AgentObservation>,
    rew: Record<string, unknown>,
    term: Record<string, unknown>,
    trunc: Record<string, unknown>,
    infos: Record<string, unknown>,
    expected: Set<string>,
    after: string[],
    afterSet: Set<string>,
  ): void {
    for (const k of Object.keys(obs)) if (this.finished.has(k)) this.c.fail(API.done, `step ${this.steps}: ${k} finished earlier and is returned again`);
    for (const a of after) if (this.finished.has(a)) this.c.fail(API.done, `step ${this.steps}: ${a} finished earlier and is in agents again`);
    for (const k of expected) {
      const t = term[k];
      const u = trunc[k];
      if (typeof t !== "boolean" || typeof u !== "boolean") this.c.fail(API.values, `${k} at step ${this.steps}: termination ${String(t)}, truncation ${String(u)}`);
      const r = rew[k];
      if (typeof r !== "number" || !Number.isFinite(r)) this.c.fail(API.values, `${k} at step ${this.steps}: reward ${String(r)}`);
      if (t === true || u === true) {
        if (afterSet.has(k)) this.c.fail(API.done, `step ${this.steps}: ${k} is done and still in agents`);
        this.finished.add(k);
      }
      if (k in obs) this.checkObs(env, k, obs[k], t !== true && u !== true);
    }
    this.checkInfos(infos, [...expected]);
    this.checkSpaces(env, after);
  }

  /** Masks: an allowed action is never refused; a forbidden one that was read is. */
  private checkMasks(before: Set<string>, infos: Record<string, unknown>, forbiddenFor: Set<string>, actions: Record<string, number>): void {
    for (const k of before) {
      const info = infos[k] as { invalid_action?: unknown; action_taken?: unknown; stale_mask?: unknown } | undefined;
      if (!info || typeof info.invalid_action !== "boolean") continue;
      if (forbiddenFor.has(k)) {
        if (info.action_taken === true) {
          this.forbiddenTried++;
          if (info.invalid_action !== true) this.c.fail(API.forbidden, `step ${this.steps}: ${k} was given forbidden action ${actions[k]} and it was not refused`);
        }
      } else if (info.action_taken === true) {
        this.allowedRead++;
        if (info.invalid_action && info.stale_mask === true) this.staleRefusals++;
        else if (info.invalid_action) this.c.fail(API.masked, `step ${this.steps}: ${k} took action ${actions[k]}, allowed by its mask, and it was refused`);
      }
    }
  }

  /** The end of the run: every possible agent finished when none is left; the notes. */
  finish(env: ParallelEnv<AgentObservation, unknown>, agents: string[]): void {
    if (agents.length === 0) {
      const open = env.possible_agents.filter((a) => !this.finished.has(a));
      if (open.length) this.c.fail(API.end, `no agent is left but ${open.slice(0, 3).join(", ")} never finished`);
      else this.c.note(API.end, `episode ended after ${this.steps} steps; ${this.finished.size} agents finished`);
    } else this.c.note(API.end, `stopped after ${this.steps} steps with ${agents.length} agents live (not checked)`);
    this.c.note(API.runs, `${this.steps} steps, up to ${this.maxLive} live agents, ${env.possible_agents.length} ids in all`);
    this.c.note(API.forbidden, this.forbiddenTried > 0 ? `${this.forbiddenTried} forbidden action(s) read, all refused` : "no agent could choose a forbidden action in step 2 (not checked)");
    this.c.note(
      API.masked,
      `${this.allowedRead} allowed action(s) read, ${this.staleRefusals ? `${this.staleRefusals} refused after an event changed the mask (reported as stale_mask)` : "none refused"}`,
    );
  }

  checkSpaces(env: ParallelEnv<AgentObservation, unknown>, ids: readonly string[]): void {
    for (const id of ids) {
      const o1 = env.observation_space(id);
      const o2 = env.observation_space(id);
      const a1 = env.action_space(id);
      const a2 = env.action_space(id);
      if (o1 !== o2 || a1 !== a2) {
        this.c.fail(API.spaces, `${id}: ${o1 !== o2 ? "observation_space" : "action_space"} returned a new object on a second call`);
        continue;
      }
      const first = this.firstSpace.get(id);
      if (!first) this.firstSpace.set(id, { obs: o1, act: a1 });
      else if (first.obs !== o1 || first.act !== a1) this.c.fail(API.spaces, `${id}: the space object changed after step ${this.steps}`);
    }
  }

  checkObs(env: ParallelEnv<AgentObservation, unknown>, id: string, o: unknown, live: boolean): void {
    const space = env.observation_space(id);
    const n = env.action_space(id).n;
    const size = space.spaces.observation.shape.reduce((a, b) => a * b, 1);
    const x = o as Partial<AgentObservation> | undefined;
    if (!x || !(x.observation instanceof Float32Array) || x.observation.length !== size) {
      this.c.fail(API.shapes, `${id} at step ${this.steps}: observation is not a Float32Array of ${size} values`);
      return;
    }
    if (!(x.action_mask instanceof Uint8Array) || x.action_mask.length !== n) {
      this.c.fail(API.shapes, `${id} at step ${this.steps}: action_mask is not a Uint8Array of ${n} values`);
      return;
    }
    const { low, high } = space.spaces.observation;
    for (let i = 0; i < size; i++) {
      const v = x.observation[i];
      if (!Number.isFinite(v) || v < low || v > high) {
        this.c.fail(API.shapes, `${id} at step ${this.steps}: observation[${i}] = ${v} is not finite or outside [${low}, ${high}]`);
        return;
      }
    }
    let allowed = 0;
    for (let j = 0; j < n; j++) {
      const m = x.action_mask[j];
      if (m > 1) {
        this.c.fail(API.shapes, `${id} at step ${this.steps}: action_mask[${j}] = ${m}`);
        return;
      }
      allowed += m;
    }
    if (live && allowed === 0) this.c.fail(API.shapes, `${id} at step ${this.steps}: a live agent's mask allows no action`);
  }

  checkInfos(infos: Record<string, unknown>, keys: string[]): void {
    for (const k of keys) if (typeof infos[k] !== "object" || infos[k] === null) this.c.fail(API.infos, `${k} at step ${this.steps}: info is ${String(infos[k])}`);
  }
}

/**
 * Structure and lifecycle of the parallel contract, under a random policy that samples only
 * the actions each observation's mask allows (one step, the second, gives forbidden actions on
 * purpose and expects them refused).
 */
export function parallelApiTest(makeEnv: EnvFactory, opts: ParallelApiOptions = {}): SuiteResult {
  const cycles = opts.cycles ?? 1000;
  const run = new ParallelApiRun(createRng(opts.actionSeed ?? 0, "conformance"));
  let env: ParallelEnv<AgentObservation, unknown> | undefined;
  try {
    env = makeEnv();
    let { agents, obs } = run.reset(env, opts.seed);
    while (run.steps < cycles && agents.length > 0) ({ agents, obs } = run.step(env, agents, obs));
    run.finish(env, agents);
  } catch (e) {
    run.c.fail(API.runs, `threw at step ${run.steps}: ${errorText(e)}`);
  } finally {
    env?.close?.();
  }
  return run.c.result();
}

const SEED = {
  same: "two fresh envs with one seed agree at every step (Math.random drawn between steps in one)",
  reset: "reset(seed) on a used env equals a fresh env with that seed",
  differ: "another seed gives another trajectory",
} as const;

export interface SeedTestOptions {
  /** Steps per run. Default 200. */
  steps?: number;
  /** Seed of the compared runs. Default 1. */
  seed?: number;
}

/** A hash of each step: every agent's id, observation, mask, reward and flags, in id order. */
function trace(env: ParallelEnv<AgentObservation, unknown>, seed: number, steps: number, noise: boolean): string[] {
  const out: string[] = [];
  // One action stream for every run: only the env's seed may tell two runs apart.
  const rng = createRng(0, "conformance-seed");
  const f64 = new Float64Array(1);
  const hashStep = (
    obs: Record<string, AgentObservation>,
    rew?: Record<string, number>,
    term?: Record<string, boolean>,
    trunc?: Record<string, boolean>,
  ): string => {
    const h = createHash("sha1");
    for (const id of Object.keys(obs).sort()) {
      h.update(id);
      const o = obs[id];
      if (o.observation instanceof Float32Array) h.update(new Uint8Array(o.observation.buffer, o.observation.byteOffset, o.observation.byteLength));
      if (o.action_mask instanceof Uint8Array) h.update(o.action_mask);
      f64[0] = rew?.[id] ?? 0;
      h.update(new Uint8Array(f64.buffer));
      h.update(`${term?.[id] === true ? 1 : 0}${trunc?.[id] === true ? 1 : 0}`);
    }
    return h.digest("hex");
  };
  let [obs] = env.reset({ seed });
  out.push(hashStep(obs));
  for (let s = 0; s < steps && env.agents.length > 0; s++) {
    const actions: Record<string, number> = {};
    for (const a of env.agents) actions[a] = sampleAction(rng, env.action_space(a).n, obs[a]?.action_mask);
    if (noise) for (let i = 0; i < 3; i++) Math.random();
    const [o, r, t, u] = env.step(actions);
    if (noise) Math.random();
    obs = o;
    out.push(hashStep(o, r, t, u));
  }
  return out;
}

function firstDifference(a: string[], b: string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Determinism: two fresh envs with one seed (Math.random drawn between the steps of one) give the
 * same hash at every step; reset(seed) on the used env gives them again; another seed differs.
 */
export function seedTest(makeEnv: EnvFactory, opts: SeedTestOptions = {}): SuiteResult {
  const steps = opts.steps ?? 200;
  const seed = opts.seed ?? 1;
  const c = new Checks(Object.values(SEED));
  const at = (i: number) => (i === 0 ? "after reset" : `at step ${i}`);
  let a: string[] | undefined;
  let envA: ParallelEnv<AgentObservation, unknown> | undefined;
  let envB: ParallelEnv<AgentObservation, unknown> | undefined;
  try {
    envA = makeEnv();
    envB = makeEnv();
    a = trace(envA, seed, steps, false);
    const b = trace(envB, seed, steps, true);
    const d = firstDifference(a, b);
    if (d >= 0) c.fail(SEED.same, `the runs differ ${at(d)}`);
    else c.note(SEED.same, `${a.length - 1} steps agree`);
  } catch (e) {
    c.fail(SEED.same, `threw: ${errorText(e)}`);
  } finally {
    envB?.close?.();
  }
  try {
    if (!a || !envA) throw new Error("no first run to compare with");
    const again = trace(envA, seed, steps, false);
    const d = firstDifference(a, again);
    if (d >= 0) c.fail(SEED.reset, `reset(${seed}) on the used env differs from a fresh env ${at(d)}`);
    else c.note(SEED.reset, `${again.length - 1} steps agree`);
  } catch (e) {
    c.fail(SEED.reset, `threw: ${errorText(e)}`);
  } finally {
    envA?.close?.();
  }
  let envC: ParallelEnv<AgentObservation, unknown> | undefined;
  try {
    if (!a) throw new Error("no first run to compare with");
    const short = Math.min(steps, 20);
    envC = makeEnv();
    const other = trace(envC, seed + 1, short, false);
    const d = firstDifference(a.slice(0, other.length), other);
    if (d < 0) c.fail(SEED.differ, `seeds ${seed} and ${seed + 1} give the same ${other.length - 1} steps: is the seed ignored?`);
    else c.note(SEED.differ, `they differ ${at(d)}`);
  } catch (e) {
    c.fail(SEED.differ, `threw: ${errorText(e)}`);
  } finally {
    envC?.close?.();
  }
  return c.result();
}
