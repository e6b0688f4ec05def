// Training checkpoints: a folder holding the policy (policy.json + weights.bin, loadable by
// `townlet run --policy neural:DIR`), Adam's state (optimizer.bin + its layout in trainer.json)
// and the trainer's progress (update, steps, config_id, observation variant, policy hash,
// hyperparameters). Written into a temporary folder and swapped in by rename, so a crash leaves
// either the old checkpoint or the new one, never half of each.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import type * as tfn from "@tensorflow/tfjs";
import type { TF } from "../engine/tensor.ts";
import { CheckpointError, NeuralPolicy, type CheckpointExpectations } from "../systems/policy/policies.ts";
import type { PpoHyperparameters, PpoOptimizer } from "./ppo.ts";

export const TRAINER_FILE = "trainer.json";
const OPTIMIZER_FILE = "optimizer.bin";
export const TRAINER_FORMAT = "townlet-trainer/1";

/** The trainer's side of a checkpoint. */
export interface TrainerState {
  format: string;
  config_id: string;
  observation_variant: string;
  policy_hash: string;
  /** PPO updates done. */
  update: number;
  /** Agent-steps simulated for training so far. */
  steps: number;
  /** cycle_id of the last logged epoch. */
  cycle: number;
  /** Decisions trained on so far (the log's `steps`, which never decreases across a resume). */
  transitions: number;
  /** Which stage wrote it: bc, ppo, final. */
  stage: string;
  hyperparameters: PpoHyperparameters;
  optimizer: { name: string; shape: number[]; offset: number; length: number }[];
  /** Anything else the trainer keeps (e.g. evaluation results). */
  extra?: Record<string, unknown>;
}

/** Saves policy + optimizer + trainer state into `dir` atomically. Returns the policy hash. */
export async function saveCheckpoint(
  dir: string,
  policy: NeuralPolicy,
  optimizer: PpoOptimizer | undefined,
  state: Omit<TrainerState, "format" | "policy_hash" | "optimizer" | "config_id" | "observation_variant">,
): Promise<string> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const hash = policy.save(tmp);
  const layout: TrainerState["optimizer"] = [];
  if (optimizer) {
    const weights = await optimizer.state();
    let offset = 0;
    const parts: Float32Array[] = [];
    for (const w of weights) {
      const data = (await w.tensor.data()) as Float32Array;
      layout.push({ name: w.name, shape: [...w.tensor.shape], offset, length: data.length });
      parts.push(data);
      offset += data.length;
    }
    const flat = new Float32Array(offset);
    let at = 0;
    for (const p of parts) {
      flat.set(p, at);
      at += p.length;
    }
    writeFileSync(path.join(tmp, OPTIMIZER_FILE), Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength));
  }
  const meta: TrainerState = {
    format: TRAINER_FORMAT,
    config_id: policy.configId,
    observation_variant: policy.variant,
    policy_hash: hash,
    optimizer: layout,
    ...state,
  };
  writeFileSync(path.join(tmp, TRAINER_FILE), JSON.stringify(meta, null, 2) + "\n");
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  if (existsSync(dir)) {
    const old = `${dir}.old-${process.pid}`;
    rmSync(old, { recursive: true, force: true });
    renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, dir);
  return hash;
}

/** A checkpoint read back: the policy, the trainer state, and Adam's tensors when saved. */
export interface LoadedCheckpoint {
  policy: NeuralPolicy;
  state: TrainerState | undefined;
  optimizerWeights: { name: string; tensor: tfn.Tensor }[] | undefined;
}

/** Loads a checkpoint, refusing one for another observation variant, config or action space. */
export function loadCheckpoint(tf: TF, dir: string, expect: CheckpointExpectations = {}): LoadedCheckpoint {
  const policy = NeuralPolicy.load(tf, dir, expect);
  const tpath = path.join(dir, TRAINER_FILE);
  if (!existsSync(tpath)) return { policy, state: undefined, optimizerWeights: undefined };
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(tpath, "utf8")) as TrainerState;
  } catch (e) {
    throw new CheckpointError(`cannot read ${tpath}: ${(e as Error).message}`);
  }
  if (state.format !== TRAINER_FORMAT) throw new CheckpointError(`${tpath}: format "${state.format}" is not "${TRAINER_FORMAT}"`);
  if (state.policy_hash !== policy.hash()) {
    throw new CheckpointError(`${tpath}: policy_hash ${state.policy_hash} does not match the weights' ${policy.hash()} (files from different saves)`);
  }
  let optimizerWeights: LoadedCheckpoint["optimizerWeights"];
  if (state.optimizer.length > 0) {
    const opath = path.join(dir, OPTIMIZER_FILE);
    let buf: Buffer;
    try {
      buf = readFileSync(opath);
    } catch (e) {
      throw new CheckpointError(`cannot read optimizer state ${opath}: ${(e as Error).message}`);
    }
    const total = state.optimizer.reduce((s, e) => s + e.length, 0);
    if (buf.length !== total * 4) throw new CheckpointError(`${opath}: ${buf.length} bytes, ${TRAINER_FILE} describes ${total * 4}`);
    const copy = new Uint8Array(buf.length);
    copy.set(buf);
    const flat = new Float32Array(copy.buffer);
    optimizerWeights = state.optimizer.map((e) => ({ name: e.name, tensor: tf.tensor(flat.subarray(e.offset, e.offset + e.length), e.shape, "float32") }));
  }
  return { policy, state, optimizerWeights };
}
