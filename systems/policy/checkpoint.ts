// Policy checkpoints: a folder with policy.json (format, config_id, observation variant, action
// names, layer sizes, the weights' layout and sha256) and weights.bin (float32 little-endian), the
// errors that refuse one, and the layout and seeded initialisation of the MLP's flat weights.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createRng } from "../../engine/rng.ts";

/** What a checkpoint must match to be loaded. */
export interface CheckpointExpectations {
  variant?: string;
  configId?: string;
  actionNames?: readonly string[];
  inputSize?: number;
}

/** One tensor of the flat weight vector. */
export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

/** policy.json. */
export interface CheckpointMeta {
  format: string;
  config_id: string;
  observation_variant: string;
  input_size: number;
  action_count: number;
  action_names: string[];
  hidden: number[];
  seed: number;
  policy_hash: string;
  tensors: TensorEntry[];
}

export const CHECKPOINT_FORMAT = "townlet-policy/1";
const META_FILE = "policy.json";
const WEIGHTS_FILE = "weights.bin";

/**
 * Why a checkpoint cannot be used: `missing` (no such folder or file), `invalid` (unreadable,
 * another format, corrupt weights), `mismatch` (trained for another observation variant,
 * config_id or action space). The console answers not_found, invalid_args and conflict.
 */
export type CheckpointErrorKind = "missing" | "invalid" | "mismatch";

/** Raised for a checkpoint that cannot be used: missing, corrupt, or trained for something else. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
  constructor(
    message: string,
    readonly kind: CheckpointErrorKind = "invalid",
  ) {
    super(message);
  }
}

const missingOrInvalid = (e: unknown): CheckpointErrorKind => ((e as NodeJS.ErrnoException)?.code === "ENOENT" ? "missing" : "invalid");

/**
 * The flat weight vector's layout: per hidden layer a kernel [fanIn, h] and a bias [h], then the
 * policy head (A logits) and the value head (1).
 */
export function weightLayout(inputSize: number, hidden: readonly number[], actionCount: number): TensorEntry[] {
  const entries: TensorEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const length = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, length });
    offset += length;
  };
  let fanIn = inputSize;
  hidden.forEach((h, i) => {
    add(`dense_${i}/kernel`, [fanIn, h]);
    add(`dense_${i}/bias`, [h]);
    fanIn = h;
  });
  add("policy/kernel", [fanIn, actionCount]);
  add("policy/bias", [actionCount]);
  add("value/kernel", [fanIn, 1]);
  add("value/bias", [1]);
  return entries;
}

/** Glorot-uniform kernels from a seeded stream, zero biases, policy head scaled by 0.01. */
export function initialWeights(entries: readonly TensorEntry[], seed: number): Float32Array {
  const last = entries[entries.length - 1];
  const flat = new Float32Array(last.offset + last.length);
  const rng = createRng(seed, "neural-policy-init");
  for (const e of entries) {
    if (e.shape.length !== 2) continue; // biases stay 0
    const [fanIn, fanOut] = e.shape;
    const scale = e.name.startsWith("policy/") ? 0.01 : 1;
    const limit = Math.sqrt(6 / (fanIn + fanOut)) * scale;
    for (let i = 0; i < e.length; i++) flat[e.offset + i] = (2 * rng.next() - 1) * limit;
  }
  return flat;
}

/** The weights' little-endian float32 bytes. */
export function weightBytes(flat: Float32Array): Buffer {
  const buf = Buffer.alloc(flat.length * 4);
  for (let i = 0; i < flat.length; i++) buf.writeFloatLE(flat[i], i * 4);
  return buf;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes `policy.json` and `weights.bin` into `dir` (the meta's policy_hash is the weights'
 * sha256). Returns the policy hash.
 */
export function writeCheckpoint(dir: string, meta: Omit<CheckpointMeta, "format" | "policy_hash" | "tensors">, entries: TensorEntry[], weights: Float32Array): string {
  mkdirSync(dir, { recursive: true });
  const bytes = weightBytes(weights);
  const hash = sha256(bytes);
  const full: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    config_id: meta.config_id,
    observation_variant: meta.observation_variant,
    input_size: meta.input_size,
    action_count: meta.action_count,
    action_names: meta.action_names,
    hidden: meta.hidden,
    seed: meta.seed,
    policy_hash: hash,
    tensors: entries,
  };
  writeAtomic(path.join(dir, WEIGHTS_FILE), bytes);
  writeAtomic(path.join(dir, META_FILE), Buffer.from(JSON.stringify(full, null, 2) + "\n"));
  return hash;
}

/** Reads a checkpoint written by `writeCheckpoint`, refusing one trained for another variant/config/action space. */
export function readCheckpoint(dir: string, expect: CheckpointExpectations = {}): { meta: CheckpointMeta; weights: Float32Array } {
  const metaPath = path.join(dir, META_FILE);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, "utf8")) as CheckpointMeta;
  } catch (e) {
    throw new CheckpointError(`cannot read policy checkpoint ${metaPath}: ${(e as Error).message}`, missingOrInvalid(e));
  }
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${metaPath}: format "${meta.format}" is not "${CHECKPOINT_FORMAT}"`);
  }
  if (expect.variant !== undefined && meta.observation_variant !== expect.variant) {
    throw new CheckpointError(
      `${dir}: the policy was trained on observation variant "${meta.observation_variant}", this run builds "${expect.variant}"; ` +
        `run with the variant it was trained on, or train a policy for this one`,
      "mismatch",
    );
  }
  if (expect.configId !== undefined && meta.config_id !== expect.configId) {
    throw new CheckpointError(
      `${dir}: the policy was trained under config_id "${meta.config_id}", this run's config_id is "${expect.configId}"; ` +
        `load it with the config it was trained under`,
      "mismatch",
    );
  }
  if (expect.inputSize !== undefined && meta.input_size !== expect.inputSize) {
    throw new CheckpointError(`${dir}: the policy reads ${meta.input_size} floats per agent, this run's observations hold ${expect.inputSize}`, "mismatch");
  }
  if (expect.actionNames !== undefined && meta.action_names.length > 0) {
    const want = expect.actionNames;
    const same = meta.action_names.length <= want.length && meta.action_names.every((a, i) => a === want[i]);
    if (!same) {
      throw new CheckpointError(
        `${dir}: the policy's actions [${meta.action_names.join(", ")}] differ from this run's [${want.join(", ")}] (the affordance registry changed)`,
        "mismatch",
      );
    }
  }
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  let buf: Buffer;
  try {
    buf = readFileSync(weightsPath);
  } catch (e) {
    throw new CheckpointError(`cannot read policy weights ${weightsPath}: ${(e as Error).message}`, missingOrInvalid(e));
  }
  const hash = sha256(buf);
  if (hash !== meta.policy_hash) {
    throw new CheckpointError(`${weightsPath}: sha256 ${hash} does not match the policy hash ${meta.policy_hash} in ${META_FILE} (corrupt or replaced)`);
  }
  const flat = new Float32Array(buf.length / 4);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < flat.length; i++) flat[i] = view.getFloat32(i * 4, true);
  return { meta, weights: flat };
}

function writeAtomic(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}
