// The webgpu tensor backend against wasm on fixed inputs (one child process per backend:
// TensorFlow.js runs one backend per process), and a `townlet train --quick --backend webgpu`
// smoke run whose log validates. Needs a WebGPU adapter: on a machine without a GPU, Mesa's
// lavapipe >= 25 (Debian 12: mesa-vulkan-drivers and libvulkan1 from bookworm-backports, as
// .ci/run installs them). Without any adapter the tests skip and say why.
//
// Tolerance: float32 results of the same graph on two backends differ in rounding only; on
// lavapipe the largest differences measured were 1.2e-7 (values), 2.4e-7 (log-probabilities),
// 1.5e-8 (gradients), 9e-8 (losses). The bounds below (1e-5 absolute + 1e-4 relative) leave room
// for a GPU's different reduction order and catch any real divergence (a wrong kernel is off by
// far more).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { validatePpoLog } from "../../training/validate-log.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = path.join(ROOT, "test/unit/helpers/backend-child.ts");
const TOWNLET = path.join(ROOT, "bin/townlet.mjs");
const tmp = mkdtempSync(path.join(tmpdir(), "townlet-webgpu-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function child(args: string[], timeout = 240_000): Record<string, unknown> {
  const r = spawnSync(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: ROOT, encoding: "utf8", timeout, maxBuffer: 64 << 20 });
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`backend child ${args.join(" ")} printed no result (status ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

const probe = child(["probe"], 60_000) as { ok: boolean; device?: string; reason?: string };
const why = probe.ok ? "" : ` (skipped: ${probe.reason})`;

/** Largest |a - b| over (nested) arrays, with the bound atol + rtol * |b|. */
function expectClose(a: unknown, b: unknown, what: string, atol = 1e-5, rtol = 1e-4): void {
  const fa = [a].flat(3) as number[];
  const fb = [b].flat(3) as number[];
  expect(fa.length, `${what}: length`).toBe(fb.length);
  expect(fa.length, `${what}: something to compare`).toBeGreaterThan(0);
  for (let i = 0; i < fa.length; i++) {
    const bound = atol + rtol * Math.abs(fb[i]);
    if (!(Math.abs(fa[i] - fb[i]) <= bound)) expect.fail(`${what}[${i}]: webgpu ${fa[i]} vs wasm ${fb[i]} (bound ${bound})`);
  }
}

describe.skipIf(!probe.ok)(`webgpu against wasm${why}`, () => {
  it("gives the same forward outputs, decisions, PPO loss and gradients, and checkpoints that load across backends with the same greedy actions", () => {
    const dirW = path.join(tmp, "wasm-policy");
    const dirG = path.join(tmp, "webgpu-policy");
    const w = child(["wasm", "--save", dirW]);
    const g = child(["webgpu", "--save", dirG, "--load", dirW]);
    const w2 = child(["wasm", "--load", dirG]);
    expect(g.backend).toBe("webgpu");
    expect(w.backend).toBe("wasm");
    expectClose(g.logits, w.logits, "logits");
    expectClose(g.values, w.values, "values");
    expect(g.greedy).toEqual(w.greedy);
    const gs = g.sampled as { actions: number[]; logp: number[] };
    const ws = w.sampled as { actions: number[]; logp: number[] };
    expect(gs.actions).toEqual(ws.actions);
    expectClose(gs.logp, ws.logp, "log-probabilities");
    const gl = g.loss as Record<string, number>;
    const wl = w.loss as Record<string, number>;
    expect(Object.keys(gl).sort()).toEqual(Object.keys(wl).sort());
    for (const k of Object.keys(wl)) expectClose(gl[k], wl[k], `loss.${k}`);
    expectClose(g.gradients, w.gradients, "gradients");
    // Three updates on each backend, then greedy decisions: the same, awaited on the device and
    // through the synchronous path a tick uses (on webgpu: the device worker).
    expect(g.trainedGreedy).toEqual(w.trainedGreedy);
    expect(g.trainedSyncGreedy).toEqual(g.trainedGreedy);
    // A policy saved under wasm decides the same on webgpu, and vice versa.
    expect(g.loadedGreedy).toEqual(w.trainedGreedy);
    expect(w2.loadedGreedy).toEqual(g.trainedGreedy);
  }, 600_000);

  it("trains end to end with --backend webgpu (townlet train --quick), reporting the device, with a log that validates", () => {
    const out = path.join(tmp, "train");
    const r = spawnSync(process.execPath, [TOWNLET, "train", "--quick", "--backend", "webgpu", "--out", out, "--json", "--quiet"], { cwd: ROOT, encoding: "utf8", timeout: 540_000, maxBuffer: 64 << 20 });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    // Decisions inside world.step() ran on the device (the worker), not on the host copy.
    expect(r.stderr).not.toMatch(/device worker did not start/);
    const summary = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { backend: string; tensor_device: string; stages: { stage: string }[]; policy_hash: string };
    expect(summary.backend).toBe("webgpu");
    expect(summary.tensor_device).toBe(probe.device);
    expect(summary.stages.map((s) => s.stage)).toEqual(["record", "bc", "dagger", "ppo", "eval"]);
    const v = validatePpoLog([path.join(out, "ppo_log.jsonl")]);
    expect(v.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(v.records).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8")).policy_hash).toBe(summary.policy_hash);
  }, 600_000);
});

describe("webgpu backend selection", () => {
  it("is never chosen automatically on a software adapter, and says why it was passed over", async () => {
    const { initTensorBackend, describeTensorBackend } = await import("../../engine/tensor.ts");
    const b = await initTensorBackend();
    const webgpu = b.probes.find((p) => p.name === "webgpu");
    expect(webgpu, "webgpu is tried first").toBe(b.probes[0]);
    if (b.name !== "webgpu") {
      expect(webgpu!.ok).toBe(false);
      expect(describeTensorBackend(b)).toContain(`webgpu not used: ${webgpu!.reason}`);
      if (probe.ok && /software adapter/.test(probe.device ?? "")) expect(webgpu!.reason).toMatch(/only a software adapter answered/);
    } else expect(b.gpu).toBe(true);
  });

  it("tells software adapters (Dawn's fallback flag, llvmpipe/lavapipe, SwiftShader) from hardware ones", async () => {
    const { isSoftwareAdapter, describeAdapter } = await import("../../engine/tensor.ts");
    expect(isSoftwareAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" })).toBe(false);
    expect(isSoftwareAdapter({ vendor: "apple", architecture: "metal-3", description: "Apple M2" })).toBe(false);
    expect(isSoftwareAdapter({ vendor: "nvidia", description: "NVIDIA H200", isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: "nvidia", description: "NVIDIA H200" }, true)).toBe(true);
    expect(isSoftwareAdapter({ vendor: "mesa", architecture: "", device: "llvmpipe-llvm-15", description: "llvmpipe: Mesa 25.0.7" })).toBe(true);
    expect(isSoftwareAdapter({ vendor: "google", description: "SwiftShader Device (Subzero)" })).toBe(true);
    expect(describeAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" }, false)).toBe("nvidia NVIDIA H200 (hopper)");
    expect(describeAdapter({ vendor: "mesa", description: "llvmpipe: Mesa 25" }, true)).toMatch(/software adapter/);
  });
});
