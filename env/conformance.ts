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

/**
 * Structure and lifecycle of the parallel contract, under a random policy that samples only
 * the actions each observation's mask allows (one step, the second, gives forbidden actions on
 * purpose and expects them refused).
 */
export function parallelApiTest(makeEnv: EnvFactory, opts: ParallelApiOptions = {}): SuiteResult {
  const cycles = opts.cycles ?? 1000;
  const c = new Checks(Object.values(API));
  const rng = createRng(opts.actionSeed ?? 0, "conformance");
  const firstSpace = new Map<string, { obs: unknown; act: unknown }>();
  let steps = 0;
  let allowedRead = 0;
  let staleRefusals = 0;
  let forbiddenTried = 0;
  let maxLive = 0;

  const checkSpaces = (env: ParallelEnv<AgentObservation, unknown>, ids: readonly string[]) => {
    for (const id of ids) {
      const o1 = env.observation_space(id);
      const o2 = env.observation_space(id);
      const a1 = env.action_space(id);
      const a2 = env.action_space(id);
      if (o1 !== o2 || a1 !== a2) {
        c.fail(API.spaces, `${id}: ${o1 !== o2 ? "observation_space" : "action_space"} returned a new object on a second call`);
        continue;
      }
      const first = firstSpace.get(id);
      if (!first) firstSpace.set(id, { obs: o1, act: a1 });
      else if (first.obs !== o1 || first.act !== a1) c.fail(API.spaces, `${id}: the space object changed after step ${steps}`);
    }
  };

  const checkObs = (env: ParallelEnv<AgentObservation, unknown>, id: string, o: unknown, live: boolean) => {
    const space = env.observation_space(id);
    const n = env.action_space(id).n;
    const size = space.spaces.observation.shape.reduce((a, b) => a * b, 1);
    const x = o as Partial<AgentObservation> | undefined;
    if (!x || !(x.observation instanceof Float32Array) || x.observation.length !== size) {
      c.fail(API.shapes, `${id} at step ${steps}: observation is not a Float32Array of ${size} values`);
      return;
    }
    if (!(x.action_mask instanceof Uint8Array) || x.action_mask.length !== n) {
      c.fail(API.shapes, `${id} at step ${steps}: action_mask is not a Uint8Array of ${n} values`);
      return;
    }
    const { low, high } = space.spaces.observation;
    for (let i = 0; i < size; i++) {
      const v = x.observation[i];
      if (!Number.isFinite(v) || v < low || v > high) {
        c.fail(API.shapes, `${id} at step ${steps}: observation[${i}] = ${v} is not finite or outside [${low}, ${high}]`);
        return;
      }
    }
    let allowed = 0;
    for (let j = 0; j < n; j++) {
      const m = x.action_mask[j];
      if (m > 1) {
        c.fail(API.shapes, `${id} at step ${steps}: action_mask[${j}] = ${m}`);
        return;
      }
      allowed += m;
    }
    if (live && allowed === 0) c.fail(API.shapes, `${id} at step ${steps}: a live agent's mask allows no action`);
  };

  const checkInfos = (infos: Record<string, unknown>, keys: string[]) => {
    for (const k of keys) if (typeof infos[k] !== "object" || infos[k] === null) c.fail(API.infos, `${k} at step ${steps}: info is ${String(infos[k])}`);
  };

  try {
    const env = makeEnv();
    const [obs0, infos0] = env.reset(opts.seed !== undefined ? { seed: opts.seed } : {});
    let agents = [...env.agents];
    const live0 = new Set(agents);
    for (const [name, d] of [["observations", obs0], ["infos", infos0]] as const) {
      const bad = sameSet(Object.keys(d), live0);
      if (bad) c.fail(API.resetKeys, `${name}: ${bad}`);
    }
    const possible0 = env.possible_agents;
    const possible0Set = new Set(possible0);
    if (new Set(agents).size !== agents.length) c.fail(API.subset, "agents holds duplicates after reset");
    for (const a of agents) if (!possible0Set.has(a)) c.fail(API.subset, `${a} is in agents but not in possible_agents after reset`);
    checkSpaces(env, agents);
    for (const a of agents) checkObs(env, a, obs0[a], true);
    checkInfos(infos0 as Record<string, unknown>, agents);
    let lastObs: Record<string, AgentObservation> = obs0;
    const finished = new Set<string>();
    let possibleBefore = [...possible0];

    while (steps < cycles && agents.length > 0) {
      maxLive = Math.max(maxLive, agents.length);
      const forbid = steps === 1;
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
        else act = sampleAction(rng, n, mask);
        actions[a] = act;
      }
      const before = new Set(agents);
      const [obs, rew, term, trunc, infos] = env.step(actions);
      steps++;
      const after = [...env.agents];
      const afterSet = new Set(after);
      const expected = new Set(before);
      for (const a of after) if (!before.has(a)) expected.add(a);
      const dicts = { observations: obs, rewards: rew, terminations: term, truncations: trunc, infos } as const;
      for (const [name, d] of Object.entries(dicts)) {
        const bad = sameSet(Object.keys(d), expected);
        if (bad) c.fail(API.stepKeys, `step ${steps}, ${name}: ${bad}`);
      }

      // Ids and possible_agents.
      const possible = env.possible_agents;
      const possibleSet = new Set(possible);
      if (afterSet.size !== after.length) c.fail(API.subset, `step ${steps}: agents holds duplicates`);
      for (const a of after) if (!possibleSet.has(a)) c.fail(API.subset, `step ${steps}: ${a} is in agents but not in possible_agents`);
      for (const a of possibleBefore) if (!possibleSet.has(a)) c.fail(API.subset, `step ${steps}: ${a} left possible_agents`);
      possibleBefore = [...possible];

      // Lifecycle.
      for (const k of Object.keys(obs)) if (finished.has(k)) c.fail(API.done, `step ${steps}: ${k} finished earlier and is returned again`);
      for (const a of after) if (finished.has(a)) c.fail(API.done, `step ${steps}: ${a} finished earlier and is in agents again`);
      for (const k of expected) {
        const t = term[k];
        const u = trunc[k];
        if (typeof t !== "boolean" || typeof u !== "boolean") c.fail(API.values, `${k} at step ${steps}: termination ${String(t)}, truncation ${String(u)}`);
        const r = rew[k];
        if (typeof r !== "number" || !Number.isFinite(r)) c.fail(API.values, `${k} at step ${steps}: reward ${String(r)}`);
        if (t === true || u === true) {
          if (afterSet.has(k)) c.fail(API.done, `step ${steps}: ${k} is done and still in agents`);
          finished.add(k);
        }
        if (k in obs) checkObs(env, k, obs[k], t !== true && u !== true);
      }
      checkInfos(infos as Record<string, unknown>, [...expected]);
      checkSpaces(env, after);

      // Masks: an allowed action is never refused; a forbidden one that was read is.
      for (const k of before) {
        const info = (infos as Record<string, unknown>)[k] as { invalid_action?: unknown; action_taken?: unknown; stale_mask?: unknown } | undefined;
        if (!info || typeof info.invalid_action !== "boolean") continue;
        if (forbiddenFor.has(k)) {
          if (info.action_taken === true) {
            forbiddenTried++;
            if (info.invalid_action !== true) c.fail(API.forbidden, `step ${steps}: ${k} was given forbidden action ${actions[k]} and it was not refused`);
          }
        } else if (info.action_taken === true) {
          allowedRead++;
          if (info.invalid_action && info.stale_mask === true) staleRefusals++;
          else if (info.invalid_action) c.fail(API.masked, `step ${steps}: ${k} took action ${actions[k]}, allowed by its mask, and it was refused`);
        }
      }
      lastObs = obs;
      agents = after;
    }

    if (agents.length === 0) {
      const open = env.possible_agents.filter((a) => !finished.has(a));
      if (open.length) c.fail(API.end, `no agent is left but ${open.slice(0, 3).join(", ")} never finished`);
      else c.note(API.end, `episode ended after ${steps} steps; ${finished.size} agents finished`);
    } else c.note(API.end, `stopped after ${steps} steps with ${agents.length} agents live (not checked)`);
    c.note(API.runs, `${steps} steps, up to ${maxLive} live agents, ${env.possible_agents.length} ids in all`);
    c.note(API.forbidden, forbiddenTried > 0 ? `${forbiddenTried} forbidden action(s) read, all refused` : "no agent could choose a forbidden action in step 2 (not checked)");
    c.note(
      API.masked,
      `${allowedRead} allowed action(s) read, ${staleRefusals ? `${staleRefusals} refused after an event changed the mask (reported as stale_mask)` : "none refused"}`,
    );
  } catch (e) {
    c.fail(API.runs, `threw at step ${steps}: ${errorText(e)}`);
  }
  return c.result();
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
  try {
    envA = makeEnv();
    const envB = makeEnv();
    a = trace(envA, seed, steps, false);
    const b = trace(envB, seed, steps, true);
    const d = firstDifference(a, b);
    if (d >= 0) c.fail(SEED.same, `the runs differ ${at(d)}`);
    else c.note(SEED.same, `${a.length - 1} steps agree`);
  } catch (e) {
    c.fail(SEED.same, `threw: ${errorText(e)}`);
  }
  try {
    if (!a || !envA) throw new Error("no first run to compare with");
    const again = trace(envA, seed, steps, false);
    const d = firstDifference(a, again);
    if (d >= 0) c.fail(SEED.reset, `reset(${seed}) on the used env differs from a fresh env ${at(d)}`);
    else c.note(SEED.reset, `${again.length - 1} steps agree`);
  } catch (e) {
    c.fail(SEED.reset, `threw: ${errorText(e)}`);
  }
  try {
    if (!a) throw new Error("no first run to compare with");
    const short = Math.min(steps, 20);
    const other = trace(makeEnv(), seed + 1, short, false);
    const d = firstDifference(a.slice(0, other.length), other);
    if (d < 0) c.fail(SEED.differ, `seeds ${seed} and ${seed + 1} give the same ${other.length - 1} steps: is the seed ignored?`);
    else c.note(SEED.differ, `they differ ${at(d)}`);
  } catch (e) {
    c.fail(SEED.differ, `threw: ${errorText(e)}`);
  }
  return c.result();
}
