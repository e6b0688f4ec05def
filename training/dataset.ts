// Replay datasets on disk: decisions recorded from a rollout (usually the scripted controller's,
// for behaviour cloning) as raw little-endian arrays beside a manifest that names each array's
// dtype and shape, the run it came from (config_id, observation variant, action names) and a
// sha256 per file. Loading checks all of it and says what does not match.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import type { RolloutBuffer } from "./rollout.ts";

export const DATASET_FORMAT = "townlet-replay/1";
const MANIFEST = "manifest.json";

/** Aggregates of the recorded rollout: the NDJSON log's baseline metrics come from these. */
export interface DatasetStats {
  /** Agent-episodes (agents seen) in the recording. */
  sample_count: number;
  /** Mean per-tick reward over every agent-step. */
  reward_mean: number;
  /** Sum of every reward. */
  reward_sum: number;
  /** Mean return of an agent-episode. */
  reward_sum_mean: number;
  /** Mean log-probability of the recorded actions under the policy that recorded them. */
  log_prob_mean: number;
  ticks: number;
  agent_steps: number;
}

interface ArrayEntry {
  file: string;
  dtype: "float32" | "uint8" | "int32";
  shape: number[];
  sha256: string;
}

export interface DatasetManifest {
  format: string;
  config_id: string;
  observation_variant: string;
  action_names: string[];
  obs_size: number;
  action_count: number;
  count: number;
  gamma: number;
  source: string;
  stats: DatasetStats;
  arrays: Record<"obs" | "masks" | "actions" | "returns" | "rewards", ArrayEntry>;
}

/** A dataset in memory (what BC trains on). */
export interface Dataset {
  manifest: DatasetManifest;
  count: number;
  obsSize: number;
  actionCount: number;
  obs: Float32Array;
  masks: Uint8Array;
  actions: Int32Array;
  /** Discounted return from each decision to the end of its episode (value targets). */
  returns: Float32Array;
  rewards: Float32Array;
}

/** A dataset that cannot be used: missing, corrupt, or recorded for another run. */
export class DatasetError extends Error {
  override name = "DatasetError";
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function bytesOf(a: Float32Array | Int32Array | Uint8Array, n: number): Buffer {
  // Typed arrays are little-endian on every platform Node runs on; assert it once.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("big-endian platforms are not supported (please report a bug)");
  return Buffer.from(a.buffer, a.byteOffset, n * a.BYTES_PER_ELEMENT);
}

/**
 * Appends the first `count` rows of `buf` (after GAE filled `returns`) to in-memory parts; call
 * `writeDataset` once with all parts.
 */
export interface DatasetPart {
  obs: Float32Array;
  masks: Uint8Array;
  actions: Int32Array;
  returns: Float32Array;
  rewards: Float32Array;
  count: number;
}

/** A copy of the buffer's rows, detached from its storage. */
export function partOf(buf: RolloutBuffer): DatasetPart {
  const n = buf.count;
  return {
    obs: buf.obs.slice(0, n * buf.obsSize),
    masks: buf.masks.slice(0, n * buf.actionCount),
    actions: buf.actions.slice(0, n),
    returns: buf.returns.slice(0, n),
    rewards: buf.rawRewards.slice(0, n),
    count: n,
  };
}

/** Writes the parts as one dataset into `dir` (a fresh folder, swapped in by rename). */
export function writeDataset(
  dir: string,
  parts: readonly DatasetPart[],
  meta: Omit<DatasetManifest, "format" | "count" | "arrays">,
): DatasetManifest {
  const count = parts.reduce((s, p) => s + p.count, 0);
  const D = meta.obs_size;
  const A = meta.action_count;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const arrays = {} as DatasetManifest["arrays"];
  const write = (name: keyof DatasetManifest["arrays"], dtype: ArrayEntry["dtype"], width: number, pick: (p: DatasetPart) => Float32Array | Int32Array | Uint8Array) => {
    const chunks = parts.map((p) => bytesOf(pick(p), p.count * width));
    const all = Buffer.concat(chunks);
    const file = `${name}.bin`;
    writeFileSync(path.join(tmp, file), all);
    arrays[name] = { file, dtype, shape: width === 1 ? [count] : [count, width], sha256: sha256(all) };
  };
  write("obs", "float32", D, (p) => p.obs);
  write("masks", "uint8", A, (p) => p.masks);
  write("actions", "int32", 1, (p) => p.actions);
  write("returns", "float32", 1, (p) => p.returns);
  write("rewards", "float32", 1, (p) => p.rewards);
  const manifest: DatasetManifest = { format: DATASET_FORMAT, count, ...meta, arrays };
  writeFileSync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  renameSync(tmp, dir);
  return manifest;
}

/** What a dataset must match to train a given network. */
export interface DatasetExpectations {
  configId?: string;
  variant?: string;
  obsSize?: number;
  actionNames?: readonly string[];
}

/** Reads a dataset written by `writeDataset`, checking format, checksums, shapes and the run it is for. */
export function readDataset(dir: string, expect: DatasetExpectations = {}): Dataset {
  const mpath = path.join(dir, MANIFEST);
  let m: DatasetManifest;
  try {
    m = JSON.parse(readFileSync(mpath, "utf8")) as DatasetManifest;
  } catch (e) {
    throw new DatasetError(`cannot read replay manifest ${mpath}: ${(e as Error).message}`);
  }
  if (m.format !== DATASET_FORMAT) throw new DatasetError(`${mpath}: format "${m.format}" is not "${DATASET_FORMAT}"`);
  if (expect.variant !== undefined && m.observation_variant !== expect.variant) {
    throw new DatasetError(`${mpath}: recorded with observation variant "${m.observation_variant}", the network reads "${expect.variant}"`);
  }
  if (expect.configId !== undefined && m.config_id !== expect.configId) {
    throw new DatasetError(`${mpath}: recorded under config_id "${m.config_id}", this run's config_id is "${expect.configId}"`);
  }
  if (expect.obsSize !== undefined && m.obs_size !== expect.obsSize) {
    throw new DatasetError(`${mpath}: rows of ${m.obs_size} floats, the network reads ${expect.obsSize}`);
  }
  if (expect.actionNames !== undefined && m.action_names.join(",") !== expect.actionNames.join(",")) {
    throw new DatasetError(`${mpath}: actions [${m.action_names.join(", ")}] differ from this run's [${expect.actionNames.join(", ")}]`);
  }
  const load = (name: keyof DatasetManifest["arrays"], width: number): Buffer => {
    const e = m.arrays?.[name];
    if (!e) throw new DatasetError(`${mpath}: arrays.${name}: missing`);
    const file = path.join(dir, e.file);
    let b: Buffer;
    try {
      b = readFileSync(file);
    } catch (err) {
      throw new DatasetError(`cannot read ${file}: ${(err as Error).message}`);
    }
    const size = { float32: 4, int32: 4, uint8: 1 }[e.dtype];
    if (b.length !== m.count * width * size) {
      throw new DatasetError(`${file}: ${b.length} bytes, the manifest's shape [${e.shape.join(", ")}] of ${e.dtype} needs ${m.count * width * size}`);
    }
    const h = sha256(b);
    if (h !== e.sha256) throw new DatasetError(`${file}: sha256 ${h} does not match the manifest's ${e.sha256} (corrupt or replaced)`);
    // A fresh, aligned copy the typed arrays can view.
    const copy = new Uint8Array(b.length);
    copy.set(b);
    return Buffer.from(copy.buffer);
  };
  const f32 = (b: Buffer) => new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  return {
    manifest: m,
    count: m.count,
    obsSize: m.obs_size,
    actionCount: m.action_count,
    obs: f32(load("obs", m.obs_size)),
    masks: new Uint8Array(load("masks", m.action_count)),
    actions: new Int32Array(load("actions", 1).buffer),
    returns: f32(load("returns", 1)),
    rewards: f32(load("rewards", 1)),
  };
}
