// The tensor backend: TensorFlow.js, chosen once per process. This is the only file that names a
// backend; everything else takes `tf` from `initTensorBackend()`.
//
// Order of preference (first that works wins, unless one is forced):
//   webgpu  @tensorflow/tfjs-backend-webgpu on Dawn (npm `webgpu`: Vulkan on Linux, Metal on macOS,
//           D3D12 on Windows), used automatically only when a hardware adapter answers; a software
//           adapter (Mesa lavapipe/llvmpipe, SwiftShader, anything Dawn calls a fallback adapter)
//           is taken only when forced (`--backend webgpu`: tests on a CPU Vulkan driver);
//   cuda    @tensorflow/tfjs-node-gpu, used only when a GPU answers (CUDA 11.2 + cuDNN 8.1);
//   native  @tensorflow/tfjs-node (libtensorflow on the CPU);
//   wasm    @tensorflow/tfjs-backend-wasm (the default on a fresh install without a GPU);
//   cpu     plain JavaScript kernels of @tensorflow/tfjs (about 35x slower than wasm).
// The two native packages download libtensorflow 2.9.1 at install time from a host that is often
// unreachable, so they are optional: never in `dependencies`, detected here with a dynamic import.
// `webgpu` ships its prebuilt dawn.node inside the npm tarball: it is a dependency, loaded only
// when a neural policy or the trainer asks for a backend (never at start-up).
//
// Limits of the wasm backend in Node (TensorFlow.js 4.22):
// - SIMD on, multithreading hard-coded off: one core per process. More cores means worker threads
//   (or processes), each with its own backend. An MLP 600->256->256->13 forward pass takes about
//   13 ms at batch 1k and 128 ms at 10k; a PPO step at batch 4096 about 1.2 s.
// - `tf.gather(x, idx, axis, batchDims)` with batchDims = 1 crashes, and the gather gradient is
//   missing: take the log-probability of chosen actions as `sum(logSoftmax(logits) * oneHot(a), 1)`.
// - Results are deterministic for one backend, but differ in the last bits between backends: a
//   neural policy's sampled actions (hence state hashes) are tied to the backend that ran it.
// WebGPU: every read-back is a queue submit plus a buffer map (about 2 ms on a GPU): callers
// upload a whole batch, keep weights and optimiser state on the device and read back only what
// they need. Forward passes are bitwise repeatable on one device; training steps are not (the
// reductions' order varies), see README "GPU".
import { createRequire } from "node:module";
import path from "node:path";
import type * as TfNamespace from "@tensorflow/tfjs";

/** The TensorFlow.js namespace (of whichever package provided the backend). */
export type TF = typeof TfNamespace;

export const BACKEND_NAMES = ["webgpu", "cuda", "native", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** One attempt while choosing: what was tried and why it was (not) taken. */
export interface BackendProbe {
  name: BackendName;
  ok: boolean;
  reason: string;
}

export interface TensorBackend {
  /** Our name for it: webgpu, cuda, native, wasm or cpu. */
  readonly name: BackendName;
  /** TensorFlow.js, with this backend active. */
  readonly tf: TF;
  /** TensorFlow.js's own name of the active backend ("tensorflow", "wasm", "cpu"). */
  readonly tfBackend: string;
  /** Every backend tried, in order, with the reason it was or was not taken. */
  readonly probes: readonly BackendProbe[];
  /**
   * What computes (`tensor_device` in summaries): the WebGPU adapter's vendor, description and
   * architecture, or the CPU path of the other backends.
   */
  readonly device: string;
  /** True when the device is a GPU (webgpu on a hardware adapter, cuda). */
  readonly gpu: boolean;
}

/** Raised when a forced backend is unavailable, or a second, different backend is asked for. */
export class TensorBackendError extends Error {
  override name = "TensorBackendError";
}

const PACKAGES: Record<BackendName, string> = {
  webgpu: "@tensorflow/tfjs-backend-webgpu",
  cuda: "@tensorflow/tfjs-node-gpu",
  native: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs",
};

/** How to get a WebGPU adapter: a driver, nothing from npm. */
export const WEBGPU_DRIVER_HINT =
  "install your GPU's driver (Linux: the vendor's Vulkan driver and the Vulkan loader libvulkan1, e.g. NVIDIA's driver, " +
  "or Mesa's radv/anv for AMD/Intel; macOS: nothing, Metal is built in; Windows: a D3D12 driver from the GPU vendor). " +
  "For a software adapter on the CPU (tests only, slower than wasm), Debian 12: add the bookworm-backports suite and " +
  "`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` (Mesa >= 25; Debian 12's own Mesa 22.3 is refused by Dawn)";

const INSTALL_HINTS: Record<BackendName, string> = {
  webgpu: WEBGPU_DRIVER_HINT + "; the npm packages webgpu and @tensorflow/tfjs-backend-webgpu come with `npm install`",
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
const probeCache = new Map<BackendName, ProbeResult>();

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
    const r = await probe(name, undefined, prefer === name);
    probes.push(r.probe);
    if (!r.probe.ok || !r.tf) continue;
    const tf = r.tf;
    chosen = Object.freeze({
      name,
      tf,
      tfBackend: tf.getBackend(),
      probes: Object.freeze([...probes]),
      device: r.device ?? deviceOf(name),
      gpu: name === "cuda" || (name === "webgpu" && r.device !== undefined && !webgpuSoftware),
    });
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

type ProbeResult = { tf?: TF; probe: BackendProbe; device?: string };

async function probe(name: BackendName, current?: TF, forced = false): Promise<ProbeResult> {
  const cached = probeCache.get(name);
  if (cached) return cached;
  // With a backend already active, only check that the package loads: switching is not allowed.
  return current ? available(name) : activate(name, forced);
}

/** The device line of the CPU backends. */
function deviceOf(name: BackendName): string {
  switch (name) {
    case "wasm":
      return "CPU (WebAssembly SIMD, one thread)";
    case "cpu":
      return "CPU (JavaScript kernels)";
    case "native":
      return "CPU (libtensorflow)";
    case "cuda":
      return "GPU (CUDA, libtensorflow)";
    case "webgpu":
      return "WebGPU adapter";
  }
}

/** Whether a backend's package loads (without switching to it). */
async function available(name: BackendName): Promise<{ tf?: TF; probe: BackendProbe }> {
  const { mod, reason } = await importOptional(PACKAGES[name]);
  if (!mod) return { probe: { name, ok: false, reason: reason! } };
  return { probe: { name, ok: true, reason: `package ${PACKAGES[name]} loads` } };
}

async function activate(name: BackendName, forced: boolean): Promise<ProbeResult> {
  const r = await activateUncached(name, forced);
  // A software adapter refused in automatic choice may still be forced later: not cached.
  if (!(name === "webgpu" && !r.probe.ok && webgpuSoftware)) probeCache.set(name, r);
  return r;
}

async function activateUncached(name: BackendName, forced: boolean): Promise<ProbeResult> {
  const fail = (reason: string) => ({ probe: { name, ok: false, reason } });
  try {
    switch (name) {
      case "webgpu":
        return await activateWebGpu(fail, forced);
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

/** What the WebGPU probe found: the adapter's description, and whether it is a software one. */
let webgpuSoftware = false;
/** Dawn's GPU object, kept for the life of the process (its adapters and devices hang off it). */
let dawnGpu: unknown;

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** Whether an adapter computes on the CPU: Dawn's fallback flag, or a known software driver's name. */
export function isSoftwareAdapter(info: AdapterInfoLike, adapterFallback?: boolean): boolean {
  if (info.isFallbackAdapter === true || adapterFallback === true) return true;
  const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.device ?? ""} ${info.description ?? ""}`;
  return /llvmpipe|lavapipe|swiftshader|software|microsoft basic render/i.test(text);
}

/** `vendor description (architecture)`, without repeats or empty parts. */
export function describeAdapter(info: AdapterInfoLike, software: boolean): string {
  const parts = [info.vendor, info.description || info.device].filter((x): x is string => !!x && x.trim() !== "");
  let s = parts.join(" ") || "unnamed adapter";
  if (software) return `${s} (software adapter, on the CPU)`;
  if (info.architecture && !s.toLowerCase().includes(info.architecture.toLowerCase())) s += ` (${info.architecture})`;
  return s;
}

async function activateWebGpu(fail: (reason: string) => { probe: BackendProbe }, forced: boolean): Promise<ProbeResult> {
  const name: BackendName = "webgpu";
  webgpuSoftware = false;
  const dawn = await importOptional("webgpu");
  if (!dawn.mod) return fail(dawn.reason!);
  const create = (dawn.mod.create ?? (dawn.mod.default as Record<string, unknown> | undefined)?.create) as ((opts: string[]) => unknown) | undefined;
  const globals = (dawn.mod.globals ?? (dawn.mod.default as Record<string, unknown> | undefined)?.globals) as Record<string, unknown> | undefined;
  if (typeof create !== "function") return fail("package webgpu does not export create()");
  // GPUBufferUsage, GPUMapMode, ... as in a browser (the tfjs backend reads them as globals).
  if (globals) for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = (dawnGpu ??= create([])) as { requestAdapter(o?: object): Promise<unknown> };
  const adapter = (await gpu.requestAdapter({ powerPreference: "high-performance" })) as
    | { info?: AdapterInfoLike; isFallbackAdapter?: boolean }
    | null;
  if (!adapter) return fail("no WebGPU adapter (Dawn found no GPU driver it can use: Vulkan on Linux, Metal on macOS, D3D12 on Windows)");
  const info = adapter.info ?? {};
  const software = isSoftwareAdapter(info, adapter.isFallbackAdapter);
  const device = describeAdapter(info, software);
  if (software && !forced) {
    webgpuSoftware = true;
    return fail(`only a software adapter answered (${device}), slower than wasm; --backend webgpu uses it anyway`);
  }
  webgpuSoftware = software;
  // The tfjs backend asks navigator.gpu for its adapter (Node 20 has no navigator).
  const nav = (globalThis as { navigator?: Record<string, unknown> }).navigator;
  if (nav && typeof nav === "object") {
    try {
      Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
    } catch {
      Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true });
    }
  } else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true });
  const core = await importOptional(PACKAGES.cpu);
  if (!core.mod) return fail(core.reason!);
  const tf = namespaceOf(core.mod);
  if (!tf) return fail(`package ${PACKAGES.cpu} does not export TensorFlow.js`);
  const backendPkg = await importOptional(PACKAGES.webgpu);
  if (!backendPkg.mod) return fail(backendPkg.reason!);
  if (!tf.findBackendFactory("webgpu")) return fail(`package ${PACKAGES.webgpu} did not register the webgpu backend (navigator.gpu missing when it loaded)`);
  if (!(await tf.setBackend("webgpu"))) return fail(`the webgpu backend failed to initialise on ${device}`);
  await tf.ready();
  return { tf, probe: { name, ok: true, reason: software ? `${device}, forced` : device }, device };
}

/**
 * The largest buffer one kernel may bind on the active backend's device, in bytes: WebGPU's
 * maxStorageBufferBindingSize (128 MiB by default, the adapter's maximum as tfjs requests it;
 * a larger input gives an invalid bind group and zeros), unlimited elsewhere.
 */
export function maxDeviceBufferBytes(tf: TF): number {
  if (tf.getBackend() !== "webgpu") return Number.POSITIVE_INFINITY;
  const limits = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device?.limits;
  return limits?.maxStorageBufferBindingSize ?? 134_217_728;
}

/**
 * A float32 one-hot [n, depth] of int32 indices. Not `tf.oneHot(..., "float32")`: the wasm
 * backend (4.22) writes the integer bits into the float buffer (1 reads as 1.4e-45).
 */
export function oneHotF(tf: TF, indices: TfNamespace.Tensor1D, depth: number): TfNamespace.Tensor2D {
  return tf.cast(tf.oneHot(indices, depth), "float32") as TfNamespace.Tensor2D;
}

/**
 * A one-line description for run summaries: `wasm (WebAssembly, SIMD, one thread)`; when WebGPU
 * was tried and not taken, why (`; webgpu not used: no WebGPU adapter ...`).
 */
export function describeTensorBackend(b: TensorBackend): string {
  const taken = b.probes.find((p) => p.ok);
  const head = taken ? `${b.name} (${taken.reason})` : b.name;
  const gpu = b.name !== "webgpu" ? b.probes.find((p) => p.name === "webgpu" && !p.ok) : undefined;
  return gpu ? `${head}; webgpu not used: ${gpu.reason}` : head;
}
