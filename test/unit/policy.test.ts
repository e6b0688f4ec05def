// Policies: the tensor backend chosen without the optional native packages; action masks on
// their edge cases; the random policy (never a masked action, reproducible per seed); the
// neural MLP (probabilities, seeded init, save/load, refusals); the plug-in (commitment window,
// invalid actions counted and suppressed, the scripted controller standing aside, blends).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ACTION_AVOID, ACTION_CHAT, ACTION_USE_BASE, ACTION_WAIT, ACTION_WORK, actionNames } from "../../components/actions.ts";
import { Activity, Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import { Agent } from "../../engine/core-components.ts";
import { initTensorBackend, parseBackendName, TensorBackendError, type TensorBackend } from "../../engine/tensor.ts";
import type { World } from "../../engine/world.ts";
import { affordanceRegistry, registerObject } from "../../systems/affordances/index.ts";
import { setPriceMultiplier, setUtility } from "../../systems/economy/index.ts";
import type { SocialState } from "../../systems/social/index.ts";
import {
  BlendPolicy,
  buildMasks,
  CheckpointError,
  builderObservations,
  componentObservations,
  createNeuralPolicy,
  ExternalPolicy,
  getPolicy,
  KEEP,
  loadNeuralPolicy,
  NeuralPolicy,
  policyState,
  preparePolicy,
  RandomPolicy,
  scriptedPolicy,
  setPolicy,
  type Policy,
} from "../../systems/policy/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { affordancesOnlyFile } from "../helpers/affordances.ts";

/** The core affordances without core.yaml's objects: every test places its own. */
const AFFORDANCES_ONLY = affordancesOnlyFile("townlet-policy-");

const JOB = { clerk: { start_tick: 0, end_tick: 1000, wage_rate: 0.01, location: [10, 10] } };

/** A 12x12 town with no agents, no objects, no need decay and no exits. */
function town(extra: Record<string, unknown> = {}, jobs: Record<string, unknown> = {}): World {
  return makeWorld({
    world: { agents_per_town: 0, grid_size: [12, 12] },
    affordances: { affordances_file: AFFORDANCES_ONLY },
    jobs,
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    conflict: { rivalry: { decay_per_tick: 0 } },
    features: { stages: { relationships: "A" } },
    ...extra,
  });
}

function agent(w: World, x: number, y: number, o: { money?: number; hunger?: number; job?: number } = {}): number {
  const init: Record<string, Record<string, number>> = {
    Position: { x, y },
    Needs: { hunger: o.hunger ?? 0.9, hygiene: 0.9, energy: 0.9 },
    Wallet: { money: o.money ?? 5 },
  };
  if (o.job !== undefined) init.Employment = { job: o.job };
  return w.spawnAgent(0, { init });
}

function furnish(w: World): { fridge: number; shower: number; bed: number; stove: number } {
  return {
    fridge: registerObject(w, 0, { id: "fridge_1", object_type: "fridge", position: [4, 4] }),
    shower: registerObject(w, 0, { id: "shower_1", object_type: "shower", position: [7, 4] }),
    bed: registerObject(w, 0, { id: "bed_1", object_type: "bed", position: [4, 7] }),
    stove: registerObject(w, 0, { id: "stove_1", object_type: "stove", position: [7, 7] }),
  };
}

function rival(w: World, a: number, b: number): void {
  const L = w.state<SocialState>("social").ledger;
  L.rivalry[L.slot(a, w.columns(Agent).uid[b])] = 0.9;
}

/** The allowed action names of one agent. */
function allowed(w: World, eid: number): string[] {
  const names = actionNames(affordanceRegistry(w));
  const m = new Uint8Array(names.length);
  buildMasks(w, Int32Array.of(eid), m);
  return names.filter((_, j) => m[j] === 1);
}

/** A policy that always answers `action` (for the plug-in's own rules). */
class ConstantPolicy implements Policy {
  readonly name = "constant";
  constructor(public action: number) {}
  act(_w: World, _o: unknown, _m: Uint8Array, agents: Int32Array, out: Int32Array): void {
    out.fill(this.action, 0, agents.length);
  }
}

let backend: TensorBackend;
beforeAll(async () => {
  backend = await initTensorBackend();
});

describe("tensor backend", () => {
  it("falls back to wasm (or cpu) when the native packages are absent, recording why, and keeps one backend per process", async () => {
    expect(backend.tf.getBackend()).toBe(backend.tfBackend);
    // On a machine with a GPU adapter webgpu comes first and nothing else is tried.
    if (backend.name === "webgpu") {
      expect(backend.gpu).toBe(true);
      return;
    }
    expect(["wasm", "cpu"]).toContain(backend.name);
    const cuda = backend.probes.find((p) => p.name === "cuda");
    const native = backend.probes.find((p) => p.name === "native");
    expect(cuda).toMatchObject({ ok: false });
    expect(cuda!.reason).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(native!.reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
    expect(await initTensorBackend()).toBe(backend);
    expect(await initTensorBackend(backend.name)).toBe(backend);
  });

  it("refuses a forced backend that is missing, naming the package and how to install it", async () => {
    const err = await initTensorBackend("cuda").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TensorBackendError);
    expect((err as Error).message).toMatch(/tensor backend "cuda" is not available: package @tensorflow\/tfjs-node-gpu is not installed/);
    expect((err as Error).message).toMatch(/npm install @tensorflow\/tfjs-node-gpu/);
    await expect(initTensorBackend("native")).rejects.toThrow(/npm install @tensorflow\/tfjs-node\b/);
    const other = backend.name === "wasm" ? "cpu" : "wasm";
    await expect(initTensorBackend(other)).rejects.toThrow(/already runs on/);
    expect(() => parseBackendName("gpu")).toThrow(/expected one of webgpu, cuda, native, wasm, cpu/);
    expect(parseBackendName("WASM")).toBe("wasm");
  });
});

describe("action masks", () => {
  it("always allows wait; work only with a job", () => {
    const w = town({}, JOB);
    const jobless = agent(w, 1, 1, { job: -1 });
    const worker = agent(w, 9, 9);
    expect(allowed(w, jobless)).toEqual(["wait"]);
    expect(allowed(w, worker)).toEqual(["wait", "work"]);
  });

  it("gives a busy agent only wait", () => {
    const w = town({}, JOB);
    furnish(w);
    const a = agent(w, 1, 1);
    const b = agent(w, 1, 2);
    expect(allowed(w, a).length).toBeGreaterThan(3);
    w.columns(Activity).running[a] = affordanceRegistry(w).affordanceIndex("rest_sleep");
    expect(allowed(w, a)).toEqual(["wait"]);
    expect(allowed(w, b)).toContain("chat");
  });

  it("needs a stocked object of the affordance's type in the agent's town", () => {
    const w = town();
    const a = agent(w, 1, 1);
    expect(allowed(w, a)).toEqual(["wait"]); // no objects at all
    const { fridge, stove } = furnish(w);
    const O = w.columns(Obj);
    expect(allowed(w, a)).toEqual(["wait", "use:use_shower", "use:eat_meal", "use:cook_meal", "use:rest_sleep"]);
    O.meals[fridge] = 0;
    O.raw_ingredients[stove] = 0;
    expect(allowed(w, a)).toEqual(["wait", "use:use_shower", "use:rest_sleep"]);
    O.meals[fridge] = 1;
    expect(allowed(w, a)).toContain("use:eat_meal");
  });

  it("needs the money for the affordance at the town's prices", () => {
    const w = town();
    furnish(w);
    const broke = agent(w, 1, 1, { money: 0 });
    expect(allowed(w, broke)).toEqual(["wait", "use:rest_sleep"]);
    const some = agent(w, 9, 1, { money: 0.45 }); // meal 0.4, shower 0.2, ingredients 0.15
    expect(allowed(w, some)).toEqual(["wait", "use:use_shower", "use:eat_meal", "use:cook_meal", "use:rest_sleep"]);
    setPriceMultiplier(w, 0, 2);
    expect(allowed(w, some)).toEqual(["wait", "use:use_shower", "use:cook_meal", "use:rest_sleep"]);
  });

  it("needs power and water where the preconditions name them", () => {
    const w = town();
    const { shower, stove } = furnish(w);
    const a = agent(w, 1, 1);
    setUtility(w, 0, "power", false);
    expect(allowed(w, a)).toEqual(["wait", "use:eat_meal", "use:rest_sleep"]);
    setUtility(w, 0, "power", true);
    setUtility(w, 0, "water", false);
    expect(allowed(w, a)).toEqual(["wait", "use:eat_meal", "use:cook_meal", "use:rest_sleep"]);
    setUtility(w, 0, "water", true);
    const O = w.columns(Obj);
    O.power_on[shower] = 0;
    O.power_on[stove] = 0;
    expect(allowed(w, a)).toEqual(["wait", "use:eat_meal", "use:rest_sleep"]);
  });

  it("allows avoid with a rival on the tile or a 4-neighbour, chat with anyone else there", () => {
    const w = town();
    const a = agent(w, 5, 5);
    const b = agent(w, 6, 5);
    const far = agent(w, 9, 9);
    expect(allowed(w, a)).toEqual(["wait", "chat"]);
    rival(w, a, b);
    expect(allowed(w, a)).toEqual(["wait", "avoid"]); // rivalry is a's view of b
    expect(allowed(w, b)).toEqual(["wait", "chat"]);
    expect(allowed(w, far)).toEqual(["wait"]);
    agent(w, 5, 5); // a friend on the same tile
    expect(allowed(w, a)).toEqual(["wait", "chat", "avoid"]);
    const diagonal = agent(w, 10, 10);
    expect(allowed(w, diagonal)).toEqual(["wait"]); // (9,9) is not a 4-neighbour
  });

  it("allows no chat while features.stages.relationships is OFF", () => {
    const w = town({ features: { stages: { relationships: "OFF" } } });
    const a = agent(w, 5, 5);
    agent(w, 5, 6);
    expect(allowed(w, a)).toEqual(["wait"]);
  });

  it("fills row-major [N, A] for a batch", () => {
    const w = town({}, JOB);
    furnish(w);
    const a = agent(w, 1, 1, { job: -1, money: 0 });
    const b = agent(w, 3, 3);
    const A = actionNames(affordanceRegistry(w)).length;
    const m = new Uint8Array(2 * A).fill(7);
    expect(buildMasks(w, Int32Array.of(a, b), m)).toBe(A);
    expect([...m.subarray(0, A)]).toEqual([1, 0, 0, 0, 0, 0, 0, 1]);
    expect([...m.subarray(A)]).toEqual([1, 1, 0, 0, 1, 1, 1, 1]);
    expect(() => buildMasks(w, Int32Array.of(a, b), new Uint8Array(A))).toThrow(/mask buffer/);
  });
});

/** Random masks with wait always allowed. */
function randomMasks(n: number, A: number, seed: number): Uint8Array {
  const m = new Uint8Array(n * A);
  let s = seed;
  for (let i = 0; i < m.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    m[i] = i % A === ACTION_WAIT ? 1 : (s >>> 16) & 1;
  }
  return m;
}

describe("random policy", () => {
  it("never picks a masked action, covers the allowed ones, and repeats per seed", () => {
    const A = 8;
    const n = 50;
    const masks = randomMasks(n, A, 3);
    const agents = Int32Array.from({ length: n }, (_, i) => i + 1);
    const draws = (seed: number) => {
      const w = town({ seed });
      const p = new RandomPolicy();
      const out = new Int32Array(n);
      const seen = new Uint8Array(n * A);
      const all: number[] = [];
      let masked = 0;
      for (let r = 0; r < 200; r++) {
        p.act(w, undefined, masks, agents, out);
        for (let i = 0; i < n; i++) {
          if (masks[i * A + out[i]] !== 1) masked++;
          seen[i * A + out[i]] = 1;
          all.push(out[i]);
        }
      }
      expect(masked).toBe(0);
      expect([...seen]).toEqual([...masks]); // every allowed action was drawn
      return all;
    };
    const a = draws(1);
    expect(draws(1)).toEqual(a);
    expect(draws(2)).not.toEqual(a);
  });

  it("runs a town from config (runtime.policy.provider: random) with no invalid action, reproducibly", () => {
    const run = (seed: number) => {
      const w = town({ seed, runtime: { policy: "random" } }, JOB);
      furnish(w);
      for (let i = 0; i < 6; i++) agent(w, 1 + i, 2);
      expect(getPolicy(w).name).toBe("random");
      w.run(120);
      expect(w.kpis()).toMatchObject({ invalid_actions: 0 });
      expect(w.kpis().policy_decisions).toBeGreaterThan(6);
      return w.stateHash();
    };
    expect(run(5)).toBe(run(5));
    expect(run(6)).not.toBe(run(5));
  });
});

describe("neural policy", () => {
  const opts = { inputSize: 21, actionCount: 8, hidden: [32, 16], variant: "components-v1/21", configId: "test" };

  it("gives finite probabilities that are 0 on masked actions and sum to 1 over a batch", () => {
    const p = new NeuralPolicy(backend.tf, { ...opts, seed: 4 });
    const n = 256;
    const x = Float32Array.from({ length: n * 21 }, (_, i) => Math.sin(i) * 3);
    const masks = randomMasks(n, 8, 11);
    const { logits, value } = p.evaluate(x, n);
    expect(logits.length).toBe(n * 8);
    expect(value.length).toBe(n);
    const probs = new Float64Array(n * 8);
    p.probabilities(logits, masks, n, probs);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < 8; j++) {
        const q = probs[i * 8 + j];
        expect(Number.isFinite(q)).toBe(true);
        if (masks[i * 8 + j] === 0) expect(q).toBe(0);
        else expect(q).toBeGreaterThan(0);
        sum += q;
      }
      expect(sum).toBeCloseTo(1, 12);
      expect(Number.isFinite(value[i])).toBe(true);
    }
    p.dispose();
  });

  it("initialises weights from its seed alone", () => {
    const a = new NeuralPolicy(backend.tf, { ...opts, seed: 9 });
    const b = new NeuralPolicy(backend.tf, { ...opts, seed: 9 });
    const c = new NeuralPolicy(backend.tf, { ...opts, seed: 10 });
    expect(a.hash()).toBe(b.hash());
    expect(a.hash()).not.toBe(c.hash());
    expect(a.parameterCount).toBe(21 * 32 + 32 + 32 * 16 + 16 + 16 * 8 + 8 + 16 + 1);
    for (const p of [a, b, c]) p.dispose();
  });

  it("acts identically after a save/load round trip, and refuses a checkpoint for another variant or config", async () => {
    const w = town({ seed: 3 }, JOB);
    furnish(w);
    for (let i = 0; i < 20; i++) agent(w, i % 12, Math.floor(i / 12) + 5, { money: i % 3 });
    const p = await createNeuralPolicy(w, { hidden: [16, 16], seed: 2 });
    const dir = mkdtempSync(join(tmpdir(), "townlet-ckpt-"));
    const hash = p.save(dir);
    expect(hash).toBe(p.hash());
    const q = await loadNeuralPolicy(w, dir);
    expect(q.hash()).toBe(hash);
    expect(q.hidden).toEqual([16, 16]);

    const agents = w.agents;
    const A = actionNames(affordanceRegistry(w)).length;
    const masks = new Uint8Array(agents.length * A);
    buildMasks(w, agents, masks);
    const source = policyState(w).source;
    expect(source).toBe(builderObservations);
    const variant = source.variant(w);
    expect(variant).toBe("hybrid/81+4x11x11");
    expect(p.inputSize).toBe(81 + 4 * 11 * 11);
    const obs = { variant, size: 0, count: 0, data: new Float32Array(0) };
    source.build(w, agents, obs);
    expect([obs.count, obs.size]).toEqual([agents.length, p.inputSize]);
    const rng = w.rng.get("policy");
    const start = rng.state();
    const out1 = new Int32Array(agents.length);
    const out2 = new Int32Array(agents.length);
    p.act(w, obs, masks, agents, out1);
    rng.restore(start);
    q.act(w, obs, masks, agents, out2);
    expect([...out2]).toEqual([...out1]);
    for (let i = 0; i < agents.length; i++) expect(masks[i * A + out1[i]]).toBe(1);

    expect(() => NeuralPolicy.load(backend.tf, dir, { variant: "hybrid" })).toThrow(/trained on observation variant "hybrid\/81\+4x11x11", this run builds "hybrid"/);
    expect(() => NeuralPolicy.load(backend.tf, dir, { configId: "other" })).toThrow(/config_id "test", this run's config_id is "other"/);
    expect(() => NeuralPolicy.load(backend.tf, dir, { actionNames: ["wait"] })).toThrow(/actions .* differ/);
    const bin = readFileSync(join(dir, "weights.bin"));
    bin[10] ^= 0xff;
    writeFileSync(join(dir, "weights.bin"), bin);
    expect(() => NeuralPolicy.load(backend.tf, dir)).toThrow(CheckpointError);
    expect(() => NeuralPolicy.load(backend.tf, dir)).toThrow(/does not match the policy hash/);
    p.dispose();
    q.dispose();
  });

  it("decides for a town once prepared, and says so when a neural provider was not prepared", async () => {
    const w = town({ runtime: { policy: "neural" }, policy_runtime: { hidden_sizes: [16] } }, JOB);
    furnish(w);
    for (let i = 0; i < 5; i++) agent(w, i, 0);
    expect(() => w.step()).toThrow(/await preparePolicy\(world\)/);
    const w2 = town({ runtime: { policy: "neural" }, policy_runtime: { hidden_sizes: [16] } }, JOB);
    furnish(w2);
    for (let i = 0; i < 5; i++) agent(w2, i, 0);
    const p = await preparePolicy(w2);
    expect(p).toBeInstanceOf(NeuralPolicy);
    expect((p as NeuralPolicy).hidden).toEqual([16]);
    w2.run(40);
    expect(w2.kpis()).toMatchObject({ invalid_actions: 0 });
    expect(w2.kpis().policy_decisions).toBeGreaterThan(0);
    (p as NeuralPolicy).dispose();
  });
});

describe("policy plug-in", () => {
  it("keeps an option for option_commit_ticks unless it is done", () => {
    const w = town({ policy_runtime: { option_commit_ticks: 15 } }, JOB);
    const a = agent(w, 2, 2);
    const p = new ConstantPolicy(ACTION_WORK);
    setPolicy(w, p);
    const Op = w.columns(Option);
    w.step();
    expect([Op.kind[a], Op.since[a]]).toEqual([OptionKind.Work, 1]);
    p.action = ACTION_WAIT;
    for (let t = 2; t <= 15; t++) {
      w.step();
      expect(Op.kind[a]).toBe(OptionKind.Work);
    }
    w.step(); // tick 16: committed 15 ticks
    expect([Op.kind[a], Op.since[a]]).toEqual([OptionKind.Wait, 16]);
    // A done option is replaced at once.
    p.action = ACTION_WORK;
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Work);
    p.action = ACTION_WAIT;
    Op.done[a] = 1;
    w.step();
    expect([Op.kind[a], Op.since[a]]).toEqual([OptionKind.Wait, 18]);
  });

  it("replaces a masked action by wait and counts it", () => {
    const w = town({}, JOB);
    const a = agent(w, 2, 2, { job: -1 });
    setPolicy(w, new ConstantPolicy(ACTION_WORK));
    w.run(3);
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Wait);
    expect(w.kpis()).toMatchObject({ invalid_actions: 3 });
    setPolicy(w, new ConstantPolicy(99)); // out of range
    w.step();
    expect(w.kpis()).toMatchObject({ invalid_actions: 4 });
  });

  it("turns chat into a chat with the neighbour and use:k into a Use option", () => {
    const w = town();
    const { bed } = furnish(w);
    const a = agent(w, 5, 5);
    const b = agent(w, 5, 6);
    const p = new ConstantPolicy(ACTION_CHAT);
    setPolicy(w, p);
    w.step();
    const Op = w.columns(Option);
    expect(w.columns(Intent).kind[a]).toBe(IntentKind.Chat);
    expect(w.columns(Intent).target[a]).toBe(b);
    const sleep = affordanceRegistry(w).affordanceIndex("rest_sleep");
    p.action = ACTION_USE_BASE + sleep;
    w.step();
    expect([Op.kind[a], Op.affordance[a], Op.object[a]]).toEqual([OptionKind.Use, sleep, bed]);
    p.action = ACTION_AVOID; // no rival near: masked
    w.step(); // the Use option is committed: nothing asked
    expect(w.kpis().invalid_actions).toBe(0);
    Op.done[a] = 1;
    w.step();
    expect(w.kpis().invalid_actions).toBeGreaterThan(0);
  });

  it("makes the scripted controller stand aside while a learned policy decides", () => {
    const w = town();
    furnish(w);
    const hungry = agent(w, 2, 2, { hunger: 0.05 });
    const Op = w.columns(Option);
    const ext = new ExternalPolicy();
    setPolicy(w, ext);
    expect(policyState(w).scriptedDecides).toBe(false);
    w.run(3);
    expect(Op.kind[hungry]).toBe(OptionKind.Wait); // the scripted controller would have gone to eat
    ext.set(hungry, ACTION_USE_BASE + affordanceRegistry(w).affordanceIndex("eat_meal"));
    w.step();
    expect(Op.kind[hungry]).toBe(OptionKind.Use);
    setPolicy(w, scriptedPolicy);
    expect(policyState(w).scriptedDecides).toBe(true);
  });

  it("keeps the policy across reset", () => {
    const w = town();
    const p = new RandomPolicy();
    setPolicy(w, p);
    w.reset(4);
    expect(getPolicy(w)).toBe(p);
  });

  it("blends: ratio 1 is the scripted controller exactly, ratio 0 lets the learned policy decide", () => {
    const run = (policy?: Policy) => {
      const w = town({ seed: 8 }, JOB);
      furnish(w);
      for (let i = 0; i < 6; i++) agent(w, i + 1, 3, { hunger: 0.2 + 0.1 * i });
      if (policy) setPolicy(w, policy);
      w.run(80);
      return w;
    };
    const scripted = run();
    const all = run(new BlendPolicy(new RandomPolicy(), 1));
    expect(all.stateHash()).toBe(scripted.stateHash());
    const none = run(new BlendPolicy(new RandomPolicy(), 0));
    expect(none.stateHash()).not.toBe(scripted.stateHash());
    expect(none.kpis().policy_decisions).toBeGreaterThan(0);
    const half = new BlendPolicy(new RandomPolicy(), 0.5);
    half.setScriptedRatio(0.25);
    expect(half.scriptedRatio).toBe(0.25);
    expect(() => half.setScriptedRatio(1.5)).toThrow(/\[0, 1\]/);
    expect(KEEP).toBe(-1);
  });

  it("wraps a config-named learned policy in a blend when training.anneal_enable_policy_blend is on", () => {
    const w = town({ runtime: { policy: "random" }, training: { anneal_enable_policy_blend: true, anneal_scripted_ratio: 0.75 } });
    const p = getPolicy(w);
    expect(p).toBeInstanceOf(BlendPolicy);
    expect((p as BlendPolicy).scriptedRatio).toBe(0.75);
    expect(policyState(w).scriptedDecides).toBe(true);
  });

  it("rejects an unknown runtime.policy.provider at load", () => {
    expect(() => town({ runtime: { policy: "pytorch" } })).toThrow(/runtime\.policy\.provider|expected one of scripted, random/);
  });
});
