// The world-independent parts of a policy release (guide 3.3): the checkpoint root and the
// release pointer file (`<root>/release.json`: format, history, written atomically), checkpoint
// arguments checked against the root, the promotion gate's refusal, the rollback's target, and
// the replies and status the console answers. Shared by a one-block world's release
// (systems/policy/release.ts: the policy plug-in's live policy) and a sharded world's
// (tools/shard-release.ts: the network the main thread runs over every block), so both write the
// same files and answer the same way.
import { mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "../../engine/snapshot.ts";
import {
  PolicyReleaseError,
  type LivePolicyView,
  type PolicyStatusView,
  type ReleaseEntry,
  type ReleaseFile,
  type ReleaseRequest,
  type ReleaseResult,
  type PolicyRef,
} from "../../components/release.ts";
import { CheckpointError } from "./policies.ts";

export const RELEASE_FORMAT = "townlet-release/1";
const RELEASE_FILE = "release.json";
/** Entries of the history that policy_status shows. */
const RECENT = 10;

/** The promotion gate as a release records it (components/stability.ts PromotionStatus, or a sharded world's across its blocks). */
export interface GateView {
  candidate_ready: boolean;
  pass_streak: number;
  required_passes: number;
  window_ticks: number;
}

/** A checkpoint root and its release pointer, as read (and kept in step with each write). */
export interface ReleasePointer {
  /** Real path of the checkpoint root. */
  root: string;
  file: string;
  pointer: ReleaseFile;
}

/** A checkpoint folder inside the root: its name there (with "/") and its absolute path. */
export interface CheckpointWhere {
  checkpoint: string;
  path: string;
}

/**
 * Fixes the checkpoint root (created when missing) and the release file (default
 * `<root>/release.json`) and reads the pointer; a file for another config or format is an error.
 */
export function openReleasePointer(checkpointRoot: string, releaseFile: string | undefined, configId: string): ReleasePointer {
  const wanted = resolve(checkpointRoot);
  mkdirSync(wanted, { recursive: true });
  const root = realpathSync(wanted);
  const file = releaseFile !== undefined ? resolve(releaseFile) : join(root, RELEASE_FILE);
  mkdirSync(dirname(file), { recursive: true });
  return { root, file, pointer: readPointer(file, configId) };
}

/** A checkpoint argument as a folder inside the root: relative name (with "/") and absolute path. */
export function resolveCheckpoint(rel: ReleasePointer, given: string, arg: string): CheckpointWhere {
  const outside = (why: string) => new PolicyReleaseError("invalid_args", `${arg}: "${given}" ${why} the checkpoint folder ${rel.root}`);
  const path = resolve(rel.root, given);
  const name = relative(rel.root, path);
  if (name === "") throw outside("is");
  if (escapes(name)) throw outside("is outside");
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new PolicyReleaseError("not_found", `${arg}: no checkpoint folder "${given}" in ${rel.root}`);
  }
  // A link inside the root may point anywhere: judge where it leads.
  const real = realpathSync(path);
  if (escapes(relative(rel.root, real))) throw outside(`leads to ${real}, outside`);
  return { checkpoint: name.split(sep).join("/"), path };
}

/** A checkpoint named in the release file (relative to the root), checked like an argument. */
export function checkpointPath(rel: ReleasePointer, checkpoint: string, what: string): CheckpointWhere {
  try {
    return resolveCheckpoint(rel, checkpoint, what);
  } catch (e) {
    if (e instanceof PolicyReleaseError && e.code === "invalid_args") throw new PolicyReleaseError("conflict", e.message);
    throw e;
  }
}

function escapes(rel: string): boolean {
  return rel.startsWith("..") || isAbsolute(rel) || rel.split(sep).includes("..");
}

/** Runs a checkpoint loader; its CheckpointError becomes the release's error naming `arg`. */
export function loadingCheckpoint<T>(arg: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (e instanceof CheckpointError) {
      throw new PolicyReleaseError(e.kind === "missing" ? "not_found" : e.kind === "mismatch" ? "conflict" : "invalid_args", `${arg}: ${e.message}`);
    }
    throw e;
  }
}

/** --adopt-release: the pointer's live checkpoint must still hold the weights it recorded. */
export function checkAdopted(rel: ReleasePointer, live: ReleaseEntry, hash: string): void {
  if (hash !== live.policy_hash) {
    throw new PolicyReleaseError(
      "conflict",
      `${rel.file}: the live checkpoint "${live.checkpoint}" now holds policy hash ${hash}, the pointer recorded ${live.policy_hash} (the folder was overwritten)`,
    );
  }
}

export function refuseIfLive(live: LivePolicyView, checkpoint: string, hash: string, arg: string): void {
  if (live.policy_hash === hash) {
    throw new PolicyReleaseError(
      "conflict",
      `${arg}: "${checkpoint}" holds the policy that is live now (hash ${hash}${live.seq > 0 ? `, release #${live.seq} "${live.checkpoint}"` : ", the baseline"})`,
    );
  }
}

/** A one-block world's gate: the refusal of an unforced promotion while it is not ready, and the note of a forced one. */
export function gateRefusal(gate: GateView | null): string {
  return gate
    ? `the promotion gate is not ready (pass_streak ${gate.pass_streak} of ${gate.required_passes} windows of ${gate.window_ticks} ticks without a blocking alert); wait for it, or send force: true`
    : "no stability monitor judges the promotion gate in this world; send force: true to promote anyway";
}
export function forcedNote(gate: GateView | null): string {
  return `forced: the promotion gate was not ready${gate ? ` (pass_streak ${gate.pass_streak} of ${gate.required_passes})` : " (no stability monitor)"}`;
}

/** Appends an entry to the release file (atomically) before the swap: a failed write changes nothing. */
export function recordRelease(
  rel: ReleasePointer,
  req: ReleaseRequest,
  action: ReleaseEntry["action"],
  ref: PolicyRef,
  replaced: LivePolicyView,
  previousSeq: number,
  forced: boolean,
  gate: GateView | null,
): ReleaseEntry {
  const entry: ReleaseEntry = {
    seq: rel.pointer.history.length + 1,
    action,
    policy: ref.policy,
    checkpoint: ref.checkpoint,
    policy_hash: ref.policy_hash,
    previous_seq: previousSeq,
    replaced: { policy: replaced.policy, checkpoint: replaced.checkpoint, policy_hash: replaced.policy_hash },
    tick: req.tick,
    by: req.by,
    role: req.role,
    cmd_id: req.cmdId,
    forced,
    gate: gate ? { candidate_ready: gate.candidate_ready, pass_streak: gate.pass_streak, required_passes: gate.required_passes } : null,
    at: new Date().toISOString(),
  };
  const next: ReleaseFile = { ...rel.pointer, live: entry, history: [...rel.pointer.history, entry] };
  try {
    writeFileAtomic(rel.file, Buffer.from(JSON.stringify(next, null, 2) + "\n"));
  } catch (e) {
    throw new PolicyReleaseError("unavailable", `cannot write the release pointer ${rel.file}: ${(e as Error).message}; the live policy is unchanged`);
  }
  rel.pointer = next;
  return entry;
}

/** rollback_policy {to}: the note when that checkpoint was never live before. */
export function unknownTargetNote(rel: ReleasePointer, entry: ReleaseEntry): string | undefined {
  const known = rel.pointer.history.some((e) => e.seq !== entry.seq && e.checkpoint === entry.checkpoint && e.policy_hash === entry.policy_hash);
  return known ? undefined : `checkpoint "${entry.checkpoint}" was never live before (not in the release history)`;
}

/**
 * rollback_policy without `to`: the entry to go back to (its checkpoint to load again), or
 * "baseline" (no earlier release: the policy this process started with). Throws when the
 * baseline is live already, or the live release is not in the history.
 */
export function rollbackTarget(rel: ReleasePointer, previous: LivePolicyView): ReleaseEntry | "baseline" {
  if (previous.seq === 0) {
    const pointer = rel.pointer.live;
    const stale = pointer && pointer.checkpoint !== null ? ` (the release file names #${pointer.seq} "${pointer.checkpoint}", but this process runs the policy it started with)` : "";
    throw new PolicyReleaseError("conflict", `nothing to roll back: the baseline policy (${previous.policy}) is live${stale}; to load a checkpoint, send {to: CHECKPOINT}`);
  }
  const current = rel.pointer.history[previous.seq - 1];
  if (!current || current.seq !== previous.seq) {
    throw new PolicyReleaseError("conflict", `${rel.file}: the live release #${previous.seq} is not in the history (was the file replaced?); send {to: CHECKPOINT}`);
  }
  const target = current.previous_seq > 0 ? rel.pointer.history[current.previous_seq - 1] : undefined;
  return !target || target.checkpoint === null ? "baseline" : target;
}
export function baselineNote(name: string): string {
  return `no earlier release: back to the baseline, the policy this process started with (${name})`;
}
export function targetNote(target: ReleaseEntry): string {
  return `back to release #${target.seq}`;
}

/** The rollback's target checkpoint must still hold the weights the history recorded. */
export function checkTarget(target: ReleaseEntry, hash: string): void {
  if (hash !== target.policy_hash) {
    throw new PolicyReleaseError(
      "conflict",
      `release #${target.seq}: checkpoint "${target.checkpoint}" now holds policy hash ${hash}, the release history recorded ${target.policy_hash} (the folder was overwritten); send {to: "${target.checkpoint}"} to accept the new weights`,
    );
  }
}

export function releaseResult(rel: ReleasePointer, entry: ReleaseEntry, previous: LivePolicyView, live: LivePolicyView, req: ReleaseRequest, note: string | undefined): ReleaseResult {
  return {
    action: entry.action,
    seq: entry.seq,
    previous,
    live,
    tick: req.tick,
    effective_tick: req.tick + 1,
    forced: entry.forced,
    gate: entry.gate,
    release_file: rel.file,
    ...(note !== undefined ? { note } : {}),
  };
}

/** policy_status's `release`: the pointer, whether it names the live policy, the recent history (null: not enabled). */
export function releaseStatus(rel: ReleasePointer | undefined, live: LivePolicyView): PolicyStatusView["release"] {
  if (!rel) return null;
  const p = rel.pointer.live;
  const inSync = p === null || p.checkpoint === null ? live.checkpoint === null : live.checkpoint === p.checkpoint && live.policy_hash === p.policy_hash;
  return {
    checkpoint_root: rel.root,
    release_file: rel.file,
    pointer: p,
    in_sync: inSync,
    history_length: rel.pointer.history.length,
    recent: rel.pointer.history.slice(-RECENT),
  };
}

/** The release file, or an empty one; a file for another config or of another format is an error naming it. */
function readPointer(file: string, configId: string): ReleaseFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { format: RELEASE_FORMAT, config_id: configId, live: null, history: [] };
    throw new Error(`cannot read the release pointer ${file}: ${(e as Error).message}`);
  }
  let data: ReleaseFile;
  try {
    data = JSON.parse(text) as ReleaseFile;
  } catch (e) {
    throw new Error(`${file}: the release pointer is not JSON (${(e as Error).message})`);
  }
  if (data?.format !== RELEASE_FORMAT) throw new Error(`${file}: format ${JSON.stringify(data?.format)} is not "${RELEASE_FORMAT}"`);
  if (data.config_id !== configId) {
    throw new Error(`${file}: the release pointer belongs to config_id "${data.config_id}", this run's is "${configId}"; give this run its own releaseFile`);
  }
  if (!Array.isArray(data.history) || data.history.some((e, i) => e?.seq !== i + 1)) {
    throw new Error(`${file}: history must list entries with seq 1, 2, 3, ... in order`);
  }
  const last = data.history[data.history.length - 1] ?? null;
  if ((data.live?.seq ?? null) !== (last?.seq ?? null)) throw new Error(`${file}: live (#${data.live?.seq ?? "none"}) is not the last history entry (#${last?.seq ?? "none"})`);
  return data;
}
