// The policy side of the benchmark (not a test), in three sections:
//   observations  observation and action-mask build rate for every agent at --agents (10k), in
//                 both layouts, after 30 scripted ticks (agents spread, queue, hold objects);
//   inference     neural policy decisions per second on the device (one upload of the rows,
//                 masks and draws; forward, masking and sampling there; actions read back) at
//                 batch 1k/10k/100k, for each tensor backend that loads (webgpu included, forced
//                 also on a software adapter), one child process per backend (TensorFlow.js
//                 allows one backend per process);
//   rollout       end-to-end agent-steps per second at --agents (10k, many towns): simulation +
//                 observations + policy, with the neural policy on each backend that loaded, and
//                 the scripted and random policies beside it for reference (bench/sim.ts
//                 children). On webgpu the policy acts inside world.step() from its host copy of
//                 the weights (no synchronous read-back in Node), so that row measures the host.
// Run: node --expose-gc --import tsx bench/policy.ts [--section all|observations|inference|rollout]
//   [--agents 10000] [--batches 1000,10000,100000] [--backends webgpu,cuda,native,wasm,cpu] [--json]
// or `townlet bench --suite policy`.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BACKEND_NAMES, describeTensorBackend, initTensorBackend, parseBackendName, type BackendName } from "../engine/tensor.ts";
import { buildObservations, createObservationBatch } from "../systems/observations/index.ts";
import { buildMasks, createNeuralPolicy, worldActionCount, type ObservationBatch } from "../systems/policy/index.ts";
import { runChild, SCRIPTS, writeResult } from "./child.ts";
import { buildBenchWorld, LAYOUTS, type Layout } from "./layouts.ts";
import type { SimResult } from "./sim.ts";

export const SECTIONS = ["observations", "inference", "rollout"] as const;
export type Section = (typeof SECTIONS)[number];

export interface ObservationRow {
  layout: Layout;
  agents: number;
  variant: string;
  floats_per_agent: number;
  obs_ms_per_build: number;
  observations_per_sec: number;
  obs_heap_bytes_per_build: number;
  actions: number;
  mask_ms_per_build: number;
  masks_per_sec: number;
}

export interface InferenceRow {
  batch: number;
  /** Forward pass only (rows in, logits and values read back). */
  forward_ms: number;
  /** A decision step on the device (NeuralPolicy.decideAsync): forward, masking, sampling, actions read back. */
  act_ms: number;
  decisions_per_sec: number;
  reps: number;
}

export interface InferenceResult {
  backend: BackendName;
  available: boolean;
  reason: string;
  /** What computed (`tensor_device`): the WebGPU adapter or the CPU path. */
  device?: string;
  input_size?: number;
  action_count?: number;
  hidden?: number[];
  parameters?: number;
  rows: InferenceRow[];
  /** Batches not run, with why (a slow backend's largest batch). */
  skipped: { batch: number; reason: string }[];
}

export interface PolicySuiteResult {
  bench: "policy";
  agents: number;
  observations?: ObservationRow[];
  inference?: InferenceResult[];
  rollout?: (SimResult | { policy: string; error: string })[];
}

export interface PolicySuiteOptions {
  sections?: readonly Section[];
  agents?: number;
  batches?: readonly number[];
  backends?: readonly BackendName[];
  log?: (line: string) => void;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Calls `fn` at least `minReps` times and until `seconds` have passed (at most maxReps); ms per call. */
function timeIt(fn: () => void, seconds: number, minReps = 5, maxReps = 10_000): { ms: number; reps: number } {
  let reps = 0;
  const t0 = performance.now();
  while (reps < minReps || (reps < maxReps && performance.now() - t0 < seconds * 1000)) {
    fn();
    reps++;
  }
  return { ms: (performance.now() - t0) / reps, reps };
}

/** `timeIt` for asynchronous calls (a device read-back is awaited: webgpu has no synchronous one). */
async function timeItAsync(fn: () => Promise<unknown>, seconds: number, minReps = 5, maxReps = 10_000): Promise<{ ms: number; reps: number }> {
  let reps = 0;
  const t0 = performance.now();
  while (reps < minReps || (reps < maxReps && performance.now() - t0 < seconds * 1000)) {
    await fn();
    reps++;
  }
  return { ms: (performance.now() - t0) / reps, reps };
}

/** Observation and mask builds for every agent, in this process. */
export function benchObservations(agents: number, log: (l: string) => void): ObservationRow[] {
  const rows: ObservationRow[] = [];
  for (const layout of LAYOUTS) {
    log(`bench observations: ${agents} agents (${layout}): building, 30 scripted ticks`);
    const bw = buildBenchWorld(layout, agents);
    try {
      const w = bw.world;
      w.run(30);
      const n = w.agents.length;
      const out = createObservationBatch(w, undefined, n);
      for (let i = 0; i < 5; i++) buildObservations(w, undefined, out);
      gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      const obs = timeIt(() => buildObservations(w, undefined, out), 1, 10);
      const heapPerBuild = (process.memoryUsage().heapUsed - heap0) / obs.reps;
      const A = worldActionCount(w);
      const masks = new Uint8Array(n * A);
      const list = w.agents;
      for (let i = 0; i < 5; i++) buildMasks(w, list, masks);
      const mk = timeIt(() => buildMasks(w, list, masks), 1, 10);
      rows.push({
        layout,
        agents: n,
        variant: out.variant,
        floats_per_agent: out.mapStride + out.featureCount,
        obs_ms_per_build: round(obs.ms, 3),
        observations_per_sec: Math.round((n * 1000) / obs.ms),
        obs_heap_bytes_per_build: Math.max(0, Math.round(heapPerBuild)),
        actions: A,
        mask_ms_per_build: round(mk.ms, 3),
        masks_per_sec: Math.round((n * 1000) / mk.ms),
      });
    } finally {
      bw.dispose();
    }
  }
  return rows;
}

/** Neural decisions per second on one backend, in this process (it becomes the process's backend). */
export async function benchInference(backend: BackendName, batches: readonly number[], log: (l: string) => void): Promise<InferenceResult> {
  let b;
  try {
    b = await initTensorBackend(backend);
  } catch (e) {
    return { backend, available: false, reason: (e as Error).message, rows: [], skipped: [] };
  }
  const reason = describeTensorBackend(b);
  const device = b.device;
  // The network the end-to-end run uses: shaped by a many-towns world (its observation width
  // and action space), hidden sizes from policy_runtime.hidden_sizes.
  const bw = buildBenchWorld("towns", 8);
  const policy = await createNeuralPolicy(bw.world);
  const world = bw.world;
  bw.dispose();
  const D = policy.inputSize;
  const A = worldActionCount(world);
  const result: InferenceResult = {
    backend,
    available: true,
    reason,
    device,
    input_size: D,
    action_count: A,
    hidden: [...policy.hidden],
    parameters: policy.parameterCount,
    rows: [],
    skipped: [],
  };
  let lastMsPerRow = 0;
  for (const n of [...batches].sort((x, y) => x - y)) {
    // A slow backend (plain JS) would take minutes on the largest batches: estimate first.
    const estimate = lastMsPerRow * n;
    if (estimate > 20_000) {
      result.skipped.push({ batch: n, reason: `estimated ${(estimate / 1000).toFixed(0)} s per call` });
      log(`bench inference ${backend}: batch ${n} skipped (estimated ${(estimate / 1000).toFixed(0)} s per call)`);
      continue;
    }
    const data = new Float32Array(n * D);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
    const masks = new Uint8Array(n * A).fill(1);
    for (let i = 0; i < n; i++) masks[i * A + (i % A)] = 0;
    const draws = new Float32Array(n);
    for (let i = 0; i < n; i++) draws[i] = ((i * 40503) % 65536) / 65536;
    // On the device: one upload of the rows, masks and draws, masking and sampling there, one
    // read-back of [n, 3] (action, log-probability, value). Awaited, as webgpu must.
    await policy.evaluateAsync(data, n); // warm (kernels, memory)
    await policy.decideAsync(data, masks, n, draws);
    const fwd = await timeItAsync(() => policy.evaluateAsync(data, n), 1, 2, 200);
    const act = await timeItAsync(() => policy.decideAsync(data, masks, n, draws), 1, 2, 200);
    lastMsPerRow = act.ms / n;
    result.rows.push({
      batch: n,
      forward_ms: round(fwd.ms, 3),
      act_ms: round(act.ms, 3),
      decisions_per_sec: Math.round((n * 1000) / act.ms),
      reps: act.reps,
    });
    log(`bench inference ${backend}: batch ${n}: ${round(act.ms, 2)} ms per call, ${Math.round((n * 1000) / act.ms).toLocaleString("en-US")} decisions/s`);
  }
  policy.dispose();
  return result;
}

/** Runs the suite; inference and rollouts in child processes. */
export async function runPolicySuite(o: PolicySuiteOptions = {}): Promise<PolicySuiteResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const sections = o.sections ?? SECTIONS;
  const agents = o.agents ?? 10_000;
  const batches = o.batches ?? [1000, 10_000, 100_000];
  const backends = o.backends ?? BACKEND_NAMES;
  const res: PolicySuiteResult = { bench: "policy", agents };
  if (sections.includes("observations")) res.observations = benchObservations(agents, log);
  if (sections.includes("inference")) {
    res.inference = [];
    for (const b of backends) {
      log(`bench inference: backend ${b}`);
      const r = await runChild<InferenceResult>(SCRIPTS.policy, ["--section", "inference", "--backend", b, "--batches", batches.join(","), "--json"], log);
      res.inference.push(r.ok ? r.value! : { backend: b, available: false, reason: r.error!, rows: [], skipped: [] });
    }
  }
  if (sections.includes("rollout")) {
    const fastest = res.inference
      ?.filter((r) => r.available && r.rows.length)
      .sort((a, b) => (b.rows.at(-1)?.decisions_per_sec ?? 0) - (a.rows.at(-1)?.decisions_per_sec ?? 0))[0]?.backend;
    res.rollout = [];
    // The neural rollout on every backend that loaded (the fastest first), the others for reference.
    const neural = res.inference?.filter((r) => r.available).map((r) => r.backend) ?? [];
    const order = fastest ? [fastest, ...neural.filter((b) => b !== fastest)] : neural.length ? neural : [undefined];
    const runs: { policy: string; backend?: BackendName }[] = [{ policy: "scripted" }, { policy: "random" }, ...order.map((backend) => ({ policy: "neural", backend }))];
    for (const { policy, backend } of runs) {
      const args = ["--agents", String(agents), "--layout", "towns", "--policy", policy];
      if (backend) args.push("--backend", backend);
      const r = await runChild<SimResult>(SCRIPTS.sim, args, log);
      res.rollout.push(r.ok ? r.value! : { policy: backend ? `${policy} (${backend})` : policy, error: r.error! });
    }
  }
  return res;
}

/** The suite's results as text tables. */
export function formatPolicySuite(r: PolicySuiteResult): string {
  const lines: string[] = [];
  const fmt = (n: number) => n.toLocaleString("en-US");
  if (r.observations) {
    lines.push(`observations and action masks, every agent, one build (${r.agents} agents):`);
    lines.push(`  ${"layout".padEnd(7)} ${"variant".padEnd(8)} ${"floats".padStart(6)} ${"obs ms".padStart(8)} ${"obs/s".padStart(12)} ${"heap B".padStart(7)} ${"mask ms".padStart(8)} ${"masks/s".padStart(12)}`);
    for (const o of r.observations) {
      lines.push(
        `  ${o.layout.padEnd(7)} ${o.variant.padEnd(8)} ${String(o.floats_per_agent).padStart(6)} ${o.obs_ms_per_build.toFixed(2).padStart(8)} ${fmt(o.observations_per_sec).padStart(12)} ${String(o.obs_heap_bytes_per_build).padStart(7)} ${o.mask_ms_per_build.toFixed(2).padStart(8)} ${fmt(o.masks_per_sec).padStart(12)}`,
      );
    }
  }
  if (r.inference) {
    lines.push("neural policy inference on the device (forward + masking + sampling, actions read back), decisions per second:");
    for (const b of r.inference) {
      if (!b.available) {
        lines.push(`  ${b.backend.padEnd(7)} unavailable: ${b.reason}`);
        continue;
      }
      lines.push(`  ${b.backend.padEnd(7)} ${b.device ?? b.reason}; MLP ${b.input_size}->${b.hidden?.join("->")}->${b.action_count}+1 (${fmt(b.parameters ?? 0)} parameters)`);
      for (const row of b.rows) {
        lines.push(`          batch ${String(row.batch).padStart(7)}: forward ${row.forward_ms.toFixed(2).padStart(9)} ms, act ${row.act_ms.toFixed(2).padStart(9)} ms, ${fmt(row.decisions_per_sec).padStart(10)} decisions/s`);
      }
      for (const s of b.skipped) lines.push(`          batch ${String(s.batch).padStart(7)}: skipped (${s.reason})`);
    }
  }
  if (r.rollout) {
    lines.push(`end-to-end rollout (simulation + observations + policy), ${r.agents} agents, many towns:`);
    for (const x of r.rollout) {
      if ("error" in x) lines.push(`  ${x.policy.padEnd(9)} failed: ${x.error}`);
      else {
        const top = Object.entries(x.system_ms)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(", ");
        const who = x.policy === "neural" ? `neural (${x.tensor_backend})` : x.policy;
        lines.push(`  ${who.padEnd(16)} ${fmt(x.agent_steps_per_sec).padStart(10)} agent-steps/s, ${x.ms_per_tick.toFixed(2)} ms/tick (backend ${x.tensor_backend}; top: ${top} ms)`);
      }
    }
  }
  return lines.join("\n");
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      section: { type: "string", default: "all" },
      agents: { type: "string", default: "10000" },
      batches: { type: "string", default: "1000,10000,100000" },
      backends: { type: "string", default: BACKEND_NAMES.join(",") },
      backend: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const batches = values.batches!.split(",").map(Number);
  const log = (l: string) => process.stderr.write(l + "\n");
  if (values.section === "inference" && values.backend) {
    // Child mode: one backend in this process.
    const r = await benchInference(parseBackendName(values.backend), batches, log);
    await writeResult(r);
    return;
  }
  const sections = values.section === "all" ? SECTIONS : (values.section!.split(",") as Section[]);
  for (const s of sections) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--section: unknown "${s}"; expected all or ${SECTIONS.join(", ")}`);
  const r = await runPolicySuite({
    sections,
    agents: Number(values.agents),
    batches,
    backends: values.backends!.split(",").map(parseBackendName),
    log,
  });
  process.stdout.write((values.json ? JSON.stringify(r) : formatPolicySuite(r)) + "\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`bench/policy: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(2);
    },
  );
}
