// The env API: the shipped conformance suite passes on the default town and on many towns, and
// catches envs that break the contract; exits and replacements; the batch form equals the dict
// form; no Math.random anywhere in a run.
import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { createRng } from "../../engine/rng.ts";
import { AgentExit } from "../../components/messages.ts";
import { Wallet } from "../../components/economy.ts";
import { actionNames } from "../../components/actions.ts";
import { registryOf } from "../../systems/policy/masks.ts";
import { killAgent } from "../../systems/lifecycle/index.ts";
import { TownletParallelEnv, TownletVectorEnv, parallelApiTest, seedTest, type AgentObservation, type ObservationSpace, type ResetArgs, type SuiteResult } from "../../env/index.ts";
import { main } from "../../tools/cli.ts";

const MANY = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));

function failed(r: SuiteResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** A uniform draw among the allowed actions of a mask row. */
function pick(rng: ReturnType<typeof createRng>, mask: Uint8Array): number {
  let n = 0;
  for (const m of mask) n += m;
  let k = rng.int(n);
  for (let j = 0; j < mask.length; j++) if (mask[j] === 1 && k-- === 0) return j;
  return 0;
}

describe("the conformance suite", () => {
  it("passes on configs/default.yaml", () => {
    const make = () => new TownletParallelEnv({ maxCycles: 100 });
    const api = parallelApiTest(make, { cycles: 100 });
    expect(failed(api)).toEqual([]);
    expect(api.checks.length).toBeGreaterThan(10);
    expect(failed(seedTest(make, { steps: 100 }))).toEqual([]);
  });

  it("passes on configs/many-towns.yaml with 20 towns", () => {
    const make = () => new TownletParallelEnv({ config: MANY, overrides: { "world.towns": 20 }, maxCycles: 100 });
    expect(make().agents.length).toBe(0); // none before reset
    const api = parallelApiTest(make, { cycles: 100 });
    expect(failed(api)).toEqual([]);
    expect(api.checks.find((c) => c.name.startsWith("reset and step"))!.detail).toContain("160 live agents");
    expect(failed(seedTest(make, { steps: 100 }))).toEqual([]);
  });

  it("catches an observation_space that returns a new object on each call", () => {
    class FreshSpaces extends TownletParallelEnv {
      override observation_space(agent: string): ObservationSpace {
        return { ...super.observation_space(agent) };
      }
    }
    const r = parallelApiTest(() => new FreshSpaces({ maxCycles: 5 }), { cycles: 5 });
    expect(r.ok).toBe(false);
    expect(failed(r)).toHaveLength(1);
    expect(failed(r)[0]).toMatch(/^observation_space and action_space return the same object.*observation_space returned a new object/);
  });

  it("catches an env that ignores the seed", () => {
    class Deaf extends TownletParallelEnv {
      override reset(_args: ResetArgs = {}) {
        return super.reset({ seed: 7 });
      }
    }
    const r = seedTest(() => new Deaf({ maxCycles: 50 }), { steps: 10 });
    expect(r.ok).toBe(false);
    expect(failed(r)).toEqual([expect.stringMatching(/^another seed gives another trajectory: .*is the seed ignored/)]);
  });

  it("catches an env whose observations draw from Math.random", () => {
    class Noisy extends TownletParallelEnv {
      override step(actions: Record<string, number>) {
        const out = super.step(actions);
        for (const o of Object.values(out[0]) as AgentObservation[]) o.observation[0] += Math.random();
        return out;
      }
    }
    const r = seedTest(() => new Noisy({ maxCycles: 50 }), { steps: 10 });
    expect(failed(r).join("\n")).toMatch(/two fresh envs with one seed agree.*the runs differ at step 1/);
  });

  it("reports an env that throws as a failed check instead of throwing", () => {
    const r = parallelApiTest(() => {
      throw new Error("no world today");
    });
    expect(r.ok).toBe(false);
    expect(failed(r)).toEqual([expect.stringContaining("no world today")]);
  });
});

describe("TownletParallelEnv", () => {
  it("terminates an agent forced to exit with its final reward, then never returns it; a replacement joins under a new id", () => {
    const env = new TownletParallelEnv({ maxCycles: 500 });
    const [obs0] = env.reset({ seed: 3 });
    const id = env.agents[4];
    const space = env.observation_space(id);
    expect(obs0[id].observation.length).toBe(space.spaces.observation.shape[0]);
    expect(killAgent(env.world, env.world.agentEid(id))).toBe(true);
    const wait = () => Object.fromEntries(env.agents.map((a) => [a, 0]));
    const [obs, rew, term, trunc, infos] = env.step(wait());
    const ex = env.world.lastTick(AgentExit);
    expect(ex.count).toBe(1);
    expect(term[id]).toBe(true);
    expect(trunc[id]).toBe(false);
    expect(rew[id]).toBe(Math.fround(ex.reward[ex.start]));
    expect(infos[id].exit_reason).toBe("console");
    expect(obs[id].observation.every((v) => v === 0)).toBe(true);
    expect(obs[id].action_mask.every((v) => v === 0)).toBe(true);
    expect(env.agents).not.toContain(id);
    expect(env.agents).toHaveLength(11);
    expect(() => env.step({ ...wait(), [id]: 0 })).toThrow(/not live/);

    let joined: string | undefined;
    for (let s = 0; s < 200 && !joined; s++) {
      const [o, r, t, , inf] = env.step(wait());
      expect(id in o || id in r || id in t || id in inf).toBe(false);
      expect(env.agents).not.toContain(id);
      for (const [k, info] of Object.entries(inf)) {
        if (!info.joined) continue;
        joined = k;
        expect(info.replaces).toBe(id);
        expect(r[k]).toBe(0);
        expect(o[k].action_mask[0]).toBe(1);
      }
    }
    expect(joined).toBeDefined();
    expect(joined).not.toBe(id);
    expect(env.agents).toContain(joined);
    expect(env.possible_agents).toHaveLength(13);
    expect(env.possible_agents).toContain(id);
    expect(env.observation_space(joined!)).toBe(space);
  });

  it("truncates every live agent at maxCycles and then asks for a reset", () => {
    const env = new TownletParallelEnv({ maxCycles: 3 });
    env.reset({ seed: 1 });
    let trunc: Record<string, boolean> = {};
    for (let s = 0; s < 3; s++) [, , , trunc] = env.step(Object.fromEntries(env.agents.map((a) => [a, 0])));
    expect(Object.values(trunc)).toEqual(Array(12).fill(true));
    expect(env.agents).toEqual([]);
    expect(() => env.step({})).toThrow(/call reset\(\)/);
    env.reset({ seed: 1 });
    expect(env.agents).toHaveLength(12);
  });

  it("refuses misuse with a message: step before reset, a missing action, reset options", () => {
    const env = new TownletParallelEnv();
    expect(() => env.step({})).toThrow(/before reset/);
    env.reset();
    expect(() => env.step({})).toThrow(/no action for live agent\(s\) "agent_0"/);
    expect(() => env.reset({ options: { fast: true } })).toThrow(/unknown option\(s\) "fast"/);
    expect(() => env.observation_space("agent_999")).toThrow(/unknown agent "agent_999"/);
  });

  it("replaces a forbidden or out-of-range action by wait and reports it", () => {
    const env = new TownletParallelEnv();
    const [obs] = env.reset({ seed: 2 });
    const n = env.action_space(env.agents[0]).n;
    const actions: Record<string, number> = {};
    for (const a of env.agents) {
      const forbidden = obs[a].action_mask.findIndex((m) => m === 0);
      actions[a] = a === "agent_0" ? n + 5 : forbidden >= 0 ? forbidden : -1;
    }
    const [, , , , infos] = env.step(actions);
    // Every agent starts free to choose: every action was read and refused.
    for (const a of Object.keys(actions)) expect(infos[a]).toMatchObject({ action_taken: true, invalid_action: true });
    expect(infos.agent_0.invalid_actions).toBe(12);
  });

  it("reports a refusal as a stale mask when the world changed after the observation", () => {
    const env = new TownletParallelEnv();
    const [obs] = env.reset({ seed: 2 });
    // Every agent that may eat picks eat_meal (it costs meal_cost), then loses its money before
    // the tick: the policy phase refuses what it can no longer pay.
    const eat = actionNames(registryOf(env.world)).indexOf("use:eat_meal");
    const actions = Object.fromEntries(env.agents.map((a) => [a, obs[a].action_mask[eat] === 1 ? eat : 0]));
    env.world.columns(Wallet).money.fill(0);
    const [, , , , infos] = env.step(actions);
    const refused = Object.values(infos).filter((i) => i.invalid_action);
    expect(refused.length).toBeGreaterThan(0);
    for (const i of refused) expect(i.stale_mask).toBe(true);
  });
});

describe("TownletVectorEnv", () => {
  it("equals the dict form step by step on the same seed and actions, exits and replacements included", () => {
    const opts = { config: MANY, overrides: { "world.towns": 3 }, maxCycles: 120 };
    const dict = new TownletParallelEnv(opts);
    const vec = new TownletVectorEnv(opts);
    const rng = createRng(5, "test");
    let [obs] = dict.reset({ seed: 9 });
    let r = vec.reset(9);
    const D = vec.observationSize;
    const A = vec.actionCount;
    let ids = [...r.ids!];
    let exits = 0;
    let joins = 0;
    for (let s = 0; ; s++) {
      const keys = Object.keys(obs);
      expect(ids, `rows at step ${s}`).toEqual(keys);
      expect(r.count).toBe(keys.length);
      keys.forEach((k, i) => {
        expect(sameBytes(r.obs.subarray(i * D, (i + 1) * D), obs[k].observation), `observation of ${k} at step ${s}`).toBe(true);
        expect(sameBytes(r.masks.subarray(i * A, (i + 1) * A), obs[k].action_mask), `mask of ${k} at step ${s}`).toBe(true);
      });
      if (dict.agents.length === 0) break;
      if (s === 5 || s === 30) {
        // The same agent leaves both worlds (towns 0 and then 1: a town's respawns are spaced out).
        const eid = dict.world.agentEid(dict.agents[s === 5 ? 1 : 12]);
        killAgent(dict.world, eid);
        killAgent(vec.world, eid);
      }
      const actions: Record<string, number> = {};
      const arr = new Int32Array(r.count);
      keys.forEach((k, i) => {
        if (!dict.agents.includes(k)) return;
        arr[i] = actions[k] = pick(rng, obs[k].action_mask);
      });
      const [o, rew, term, trunc, infos] = dict.step(actions);
      r = vec.step(arr);
      if (r.ids) ids = [...r.ids];
      else expect(Object.keys(o)).toEqual(ids);
      Object.keys(o).forEach((k, i) => {
        expect(r.rewards[i]).toBe(rew[k]);
        expect(r.terminated[i] === 1).toBe(term[k]);
        expect(r.truncated[i] === 1).toBe(trunc[k]);
        expect(r.invalid[i] !== 0).toBe(infos[k].invalid_action);
        expect(r.taken[i] === 1).toBe(infos[k].action_taken);
      });
      exits += r.exits.length;
      joins += r.joined;
      obs = o;
    }
    expect(vec.done).toBe(true);
    expect(exits).toBe(2);
    expect(joins).toBe(2);
  });

  it("reuses its buffers and sends ids only when the rows change", () => {
    const vec = new TownletVectorEnv();
    const r0 = vec.reset(1);
    expect(r0.ids).toHaveLength(12);
    const buf = r0.obs.buffer;
    const r1 = vec.step(new Int32Array(12));
    expect(r1).toBe(r0);
    expect(r1.obs.buffer).toBe(buf);
    expect(r1.ids).toBeUndefined();
    expect(r1.agents).toEqual(new Int32Array(vec.world.agents));
  });
});

describe("randomness", () => {
  it("never calls Math.random in a run (reset, steps, an exit)", () => {
    const real = Math.random;
    Math.random = () => {
      throw new Error("Math.random called");
    };
    try {
      const env = new TownletParallelEnv({ config: MANY, overrides: { "world.towns": 2 }, maxCycles: 60 });
      const rng = createRng(1, "test");
      let [obs] = env.reset({ seed: 4 });
      killAgent(env.world, env.world.agentEid(env.agents[0]));
      while (env.agents.length > 0) {
        [obs] = env.step(Object.fromEntries(env.agents.map((a) => [a, pick(rng, obs[a].action_mask)])));
      }
      const vec = new TownletVectorEnv({ maxCycles: 20 });
      let r = vec.reset(4);
      while (!vec.done) r = vec.step(new Int32Array(r.count));
    } finally {
      Math.random = real;
    }
  });
});

describe("townlet env-check", () => {
  it("prints every check and exits 0 on the default town", async () => {
    const logs: string[] = [];
    const code = await main(["env-check", "--cycles", "20"], { log: (l) => logs.push(l), err: (l) => logs.push(l) });
    expect(code).toBe(0);
    const text = logs.join("\n");
    expect(text).toContain("✓ observation_space and action_space return the same object on every call");
    expect(text).toContain("✓ reset(seed) on a used env equals a fresh env with that seed");
    expect(text).toMatch(/15\/15 checks passed/);
  });

  it("writes one JSON object with --json", async () => {
    const logs: string[] = [];
    const code = await main(["env-check", "--cycles", "5", "--json"], { log: (l) => logs.push(l), err: (l) => logs.push(l) });
    expect(code).toBe(0);
    const r = JSON.parse(logs.join("\n")) as { ok: boolean; env: string; suites: { result: SuiteResult }[] };
    expect(r).toMatchObject({ ok: true, env: "townlet_v1" });
    expect(r.suites).toHaveLength(2);
  });
});
