// The tensor backend: TensorFlow.js, chosen once per process. This is the only file that names a
// backend; everything else takes `tf` from `initTensorBackend()`.
//
// Order of preference (first that works wins, unless one is forced):
//   cuda    @tensorflow/tfjs-node-gpu, used only when a GPU answers (CUDA 11.2 + cuDNN 8.1);
//   native  @tensorflow/tfjs-node (libtensorflow on the CPU);
//   wasm    @tensorflow/tfjs-backend-wasm (the default on a fresh install);
//   cpu     plain JavaScript kernels of @tensorflow/tfjs (about 35x slower than wasm).
// The two native packages download libtensorflow 2.9.1 at install time from a host that is often
// unreachable, so they are optional: never in `dependencies`, detected here with a dynamic import.
//
// Limits of the wasm backend in Node (TensorFlow.js 4.22):
// - SIMD on, multithreading hard-coded off: one core per process. More cores means worker threads
//   (or processes), each with its own backend. An MLP 600->256->256->13 forward pass takes about
//   13 ms at batch 1k and 128 ms at 10k; a PPO step at batch 4096 about 1.2 s.
// - `tf.gather(x, idx, axis, batchDims)` with batchDims = 1 crashes, and the gather gradient is
//   missing: take the log-probability of chosen actions as `sum(logSoftmax(logits) * oneHot(a), 1)`.
// - Results are deterministic for one backend, but differ in the last bits between backends: a
//   neural policy's sampled actions (hence state hashes) are tied to the backend that ran it.
import { createRequire } from "node:module";
import path from "node:path";
import type * as TfNamespace from "@tensorflow/tfjs";

/** The TensorFlow.js namespace (of whichever package provided the backend). */
export type TF = typeof TfNamespace;

export const BACKEND_NAMES = ["cuda", "native", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** One attempt while choosing: what was tried and why it was (not) taken. */
export interface BackendProbe {
  name: BackendName;
  ok: boolean;
  reason: string;
}

export interface TensorBackend {
  /** Our name for it: cuda, native, wasm or cpu. */
  readonly name: BackendName;
  /** TensorFlow.js, with this backend active. */
  readonly tf: TF;
  /** TensorFlow.js's own name of the active backend ("tensorflow", "wasm", "cpu"). */
  readonly tfBackend: string;
  /** Every backend tried, in order, with the reason it was or was not taken. */
  readonly probes: readonly BackendProbe[];
}

/** Raised when a forced backend is unavailable, or a second, different backend is asked for. */
export class TensorBackendError extends Error {
  override name = "TensorBackendError";
}

const PACKAGES: Record<BackendName, string> = {
  cuda: "@tensorflow/tfjs-node-gpu",
  native: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs",
};

const INSTALL_HINTS: Record<BackendName, string> = {
  cuda:
    "install it with `npm install @tensorflow/tfjs-node-gpu` (it downloads libtensorflow 2.9.1 at install time " +
    "and needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1), or choose --backend native|wasm|cpu",
  native:
    "install it with `npm install @tensorflow/tfjs-node` (it downloads libtensorflow 2.9.1 at install time), " +
    "or choose --backend wasm|cpu",
  wasm: "install it with `npm install @tensorflow/tfjs-backend-wasm` (no native download), or choose --backend cpu",
  cpu: "install it with `npm install @tensorflow/tfjs`",
};

/** Parses a `--backend` value; the error lists the choices. */
export function parseBackendName(value: string): BackendName {
  const v = value.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new TensorBackendError(`unknown tensor backend "${value}"; expected one of ${BACKEND_NAMES.join(", ")}`);
}

let chosen: TensorBackend | undefined;
let pending: Promise<TensorBackend> | undefined;
/** Outcome of each backend's probe in this process (a failed import is not retried). */
const probeCache = new Map<BackendName, { tf?: TF; probe: BackendProbe }>();

/** The backend chosen in this process, or undefined before `initTensorBackend` resolved. */
export function currentTensorBackend(): TensorBackend | undefined {
  return chosen;
}

/**
 * Chooses and initialises the tensor backend (once per process; later calls return the same one).
 * Without `prefer`, the first available of cuda, native, wasm, cpu; never throws for a missing
 * optional package. With `prefer`, exactly that backend, or a TensorBackendError naming what is
 * missing and how to install it.
 */
export async function initTensorBackend(prefer?: BackendName): Promise<TensorBackend> {
  if (prefer !== undefined && !(BACKEND_NAMES as readonly string[]).includes(prefer)) parseBackendName(String(prefer));
  if (pending && !chosen) {
    // One initialisation at a time: wait for it, then judge this request against its result.
    try {
      await pending;
    } catch {
      // a failed forced init leaves nothing chosen; fall through and try again
    }
  }
  if (chosen) {
    if (prefer === undefined || prefer === chosen.name) return chosen;
    const p = await probe(prefer, chosen.tf);
    if (!p.probe.ok) throw unavailable(prefer, p.probe.reason);
    throw new TensorBackendError(
      `tensor backend "${prefer}" was asked for, but this process already runs on "${chosen.name}" (one backend per process)`,
    );
  }
  pending = choose(prefer);
  return pending;
}

async function choose(prefer: BackendName | undefined): Promise<TensorBackend> {
  const order: readonly BackendName[] = prefer ? [prefer] : BACKEND_NAMES;
  const probes: BackendProbe[] = [];
  for (const name of order) {
    const r = await probe(name);
    probes.push(r.probe);
    if (!r.probe.ok || !r.tf) continue;
    const tf = r.tf;
    chosen = Object.freeze({ name, tf, tfBackend: tf.getBackend(), probes: Object.freeze([...probes]) });
    return chosen;
  }
  if (prefer) throw unavailable(prefer, probes[0]?.reason ?? "unknown reason");
  throw new TensorBackendError(`no tensor backend could be initialised: ${probes.map((p) => `${p.name}: ${p.reason}`).join("; ")}`);
}

function unavailable(name: BackendName, reason: string): TensorBackendError {
  return new TensorBackendError(`tensor backend "${name}" is not available: ${reason}. To use it, ${INSTALL_HINTS[name]}.`);
}

/** A missing package gives `missing`; any other failure to load gives its message. */
async function importOptional(pkg: string): Promise<{ mod?: Record<string, unknown>; reason?: string }> {
  try {
    // A name in a variable: neither TypeScript nor the bundler resolves it at build time.
    const spec: string = pkg;
    const mod = (await import(spec)) as Record<string, unknown>;
    return { mod };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err?.message ?? String(e);
    if (err?.code === "ERR_MODULE_NOT_FOUND" || err?.code === "MODULE_NOT_FOUND" || /Cannot find (module|package)/i.test(msg)) {
      return { reason: `package ${pkg} is not installed` };
    }
    return { reason: `package ${pkg} failed to load: ${firstLine(msg)}` };
  }
}

function firstLine(s: string): string {
  const i = s.indexOf("\n");
  return i < 0 ? s : s.slice(0, i);
}

/** The TensorFlow.js namespace from a module (a CommonJS module's exports sit on `default`). */
function namespaceOf(mod: Record<string, unknown>): TF | undefined {
  const d = mod.default as Record<string, unknown> | undefined;
  if (d && typeof d.setBackend === "function") return d as unknown as TF;
  if (typeof mod.setBackend === "function") return mod as unknown as TF;
  return undefined;
}

async function probe(name: BackendName, current?: TF): Promise<{ tf?: TF; probe: BackendProbe }> {
  const cached = probeCache.get(name);
  if (cached) return cached;
  // With a backend already active, only check that the package loads: switching is not allowed.
  return current ? available(name) : activate(name);
}

/** Whether a backend's package loads (without switching to it). */
async function available(name: BackendName): Promise<{ tf?: TF; probe: BackendProbe }> {
  const { mod, reason } = await importOptional(PACKAGES[name]);
  if (!mod) return { probe: { name, ok: false, reason: reason! } };
  return { probe: { name, ok: true, reason: `package ${PACKAGES[name]} loads` } };
}

async function activate(name: BackendName): Promise<{ tf?: TF; probe: BackendProbe }> {
  const r = await activateUncached(name);
  probeCache.set(name, r);
  return r;
}

async function activateUncached(name: BackendName): Promise<{ tf?: TF; probe: BackendProbe }> {
  const fail = (reason: string) => ({ probe: { name, ok: false, reason } });
  try {
    switch (name) {
      case "cuda":
      case "native": {
        let { mod, reason } = await importOptional(PACKAGES[name]);
        // Without tfjs-node, the GPU package (loaded, no GPU) still runs libtensorflow on the CPU.
        if (!mod && name === "native" && probeCache.get("cuda")?.tf) {
          mod = { default: probeCache.get("cuda")!.tf };
          reason = undefined;
        }
        if (!mod) return fail(reason!);
        const tf = namespaceOf(mod);
        if (!tf) return fail(`package ${PACKAGES[name]} does not export TensorFlow.js`);
        if (!(await tf.setBackend("tensorflow"))) return fail(`the "tensorflow" backend of ${PACKAGES[name]} failed to initialise`);
        await tf.ready();
        const b = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
        if (name === "cuda" && !(b.isGPUPackage && b.isUsingGpuDevice)) {
          // Keep the namespace so that `native` can fall back on the same binding.
          probeCache.set("cuda", { tf, probe: { name, ok: false, reason: "no GPU answered (libtensorflow runs on the CPU)" } });
          return { tf, probe: { name, ok: false, reason: "no GPU answered (libtensorflow runs on the CPU)" } };
        }
        return { tf, probe: { name, ok: true, reason: name === "cuda" ? "GPU in use" : "libtensorflow on the CPU" } };
      }
      case "wasm": {
        // Emscripten's loader installs process-wide uncaughtException / unhandledRejection
        // handlers that rethrow (Node then prints a line of minified wasm glue instead of the
        // error's own place): remove whatever it added, Node's defaults are what we want.
        const before = { ex: process.listeners("uncaughtException"), rej: process.listeners("unhandledRejection") };
        try {
          return await activateWasm(fail);
        } finally {
          for (const l of process.listeners("uncaughtException")) if (!before.ex.includes(l)) process.removeListener("uncaughtException", l);
          for (const l of process.listeners("unhandledRejection")) if (!before.rej.includes(l)) process.removeListener("unhandledRejection", l);
        }
      }
      case "cpu": {
        const core = await importOptional(PACKAGES.cpu);
        if (!core.mod) return fail(core.reason!);
        const tf = namespaceOf(core.mod);
        if (!tf) return fail(`package ${PACKAGES.cpu} does not export TensorFlow.js`);
        if (!(await tf.setBackend("cpu"))) return fail("the cpu backend failed to initialise");
        await tf.ready();
        return { tf, probe: { name, ok: true, reason: "plain JavaScript kernels" } };
      }
    }
  } catch (e) {
    return fail(firstLine((e as Error)?.message ?? String(e)));
  }
}

async function activateWasm(fail: (reason: string) => { probe: BackendProbe }): Promise<{ tf?: TF; probe: BackendProbe }> {
  const name: BackendName = "wasm";
  const core = await importOptional(PACKAGES.cpu);
  if (!core.mod) return fail(core.reason!);
  const tf = namespaceOf(core.mod);
  if (!tf) return fail(`package ${PACKAGES.cpu} does not export TensorFlow.js`);
  const { mod, reason } = await importOptional(PACKAGES.wasm);
  if (!mod) return fail(reason!);
  const setPaths = (mod.setWasmPaths ?? (mod.default as Record<string, unknown> | undefined)?.setWasmPaths) as
    | ((prefix: string) => void)
    | undefined;
  // The .wasm binaries sit beside the package's main file (dist/): load them from disk,
  // never from a CDN.
  const dist = path.dirname(createRequire(import.meta.url).resolve(PACKAGES.wasm)) + path.sep;
  if (setPaths) setPaths(dist);
  if (!(await tf.setBackend("wasm"))) return fail(`the wasm backend failed to initialise (binaries looked for in ${dist})`);
  await tf.ready();
  return { tf, probe: { name, ok: true, reason: "WebAssembly, SIMD, one thread" } };
}

/** A one-line description for run summaries: `wasm (WebAssembly, SIMD, one thread)`. */
export function describeTensorBackend(b: TensorBackend): string {
  const taken = b.probes.find((p) => p.ok);
  return taken ? `${b.name} (${taken.reason})` : b.name;
}
