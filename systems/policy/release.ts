// Promotion and rollback of the live policy between ticks (guide 3.3): checkpoints from one root,
// the stability monitor's promotion gate, the release pointer (`<root>/release.json`, written
// atomically) and the swap through setPolicy; sends policy_promoted / policy_rolled_back.
import { mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { defineMessage } from "../../engine/message.ts";
import { writeFileAtomic } from "../../engine/snapshot.ts";
import { currentTensorBackend, initTensorBackend, type TF } from "../../engine/tensor.ts";
import type { World } from "../../engine/world.ts";
import {
  PolicyReleaseError,
  type LivePolicyView,
  type PolicyRef,
  type PolicyReleaseService,
  type PolicyStatusView,
  type PromoteRequest,
  type ReleaseEntry,
  type ReleaseFile,
  type ReleaseRequest,
  type ReleaseResult,
  type RollbackRequest,
} from "../../components/release.ts";
import { BlendPolicy, CheckpointError, NeuralPolicy, checkpointExpectations, type Policy } from "./policies.ts";
import { getPolicy, setPolicy } from "./live.ts";
import { StabilityKey } from "../../components/stability.ts";

export const RELEASE_FORMAT = "townlet-release/1";
const RELEASE_FILE = "release.json";
/** Entries of the history that policy_status shows. */
const RECENT = 10;

// Strings are interned; "" stands for "none" (the baseline has no checkpoint, scripted no hash).
/** A checkpoint went live through promote_policy (forced = 1: past a promotion gate that was not ready). */
export const PolicyPromoted = defineMessage("policy_promoted", {
  seq: "int",
  checkpoint: "str",
  policy_hash: "str",
  previous_checkpoint: "str",
  previous_hash: "str",
  forced: "int",
});
/** rollback_policy made an earlier policy live again (baseline = 1: the policy the process started with). */
export const PolicyRolledBack = defineMessage("policy_rolled_back", {
  seq: "int",
  checkpoint: "str",
  policy_hash: "str",
  previous_checkpoint: "str",
  previous_hash: "str",
  baseline: "int",
});

export interface PolicyReleaseOptions {
  /** Folder the console may load checkpoints from; created when missing. */
  checkpointRoot: string;
  /** The release pointer; default `<checkpointRoot>/release.json`. */
  releaseFile?: string;
  /**
   * Make the pointer's live checkpoint live now (a restarted server resumes the release it
   * served). Default false: the world keeps the policy it was given, and policy_status reports
   * the pointer as out of sync until the next promotion.
   */
  adoptLive?: boolean;
}

/** A checkpoint this module loaded and made live. */
interface Owned {
  checkpoint: string;
  path: string;
  hash: string;
  seq: number;
  network: NeuralPolicy;
}

interface Release {
  /** Real path of the checkpoint root. */
  root: string;
  file: string;
  pointer: ReleaseFile;
  /** The policy live before this process's first swap: what a rollback past every release returns to. */
  baseline: Policy | undefined;
  owned: WeakMap<Policy, Owned>;
}

/** Per world; kept across world.reset() like the policy set with setPolicy. */
const releases = new WeakMap<World, Release>();
/** Hashes of policies this module did not load, for the per-tick KPI (a served policy's weights do not change). */
const hashCache = new WeakMap<Policy, string | null>();

/**
 * Enables promote_policy / rollback_policy for `world`: initialises the tensor backend (the
 * console loads checkpoints synchronously, between ticks), fixes the checkpoint root and reads
 * the release pointer. Call once after the world's policy is prepared (preparePolicy).
 */
export async function enablePolicyRelease(world: World, opts: PolicyReleaseOptions): Promise<PolicyStatusView> {
  await initTensorBackend();
  const wanted = resolve(opts.checkpointRoot);
  mkdirSync(wanted, { recursive: true });
  const root = realpathSync(wanted);
  const file = opts.releaseFile !== undefined ? resolve(opts.releaseFile) : join(root, RELEASE_FILE);
  mkdirSync(dirname(file), { recursive: true });
  // Enabled again (another root or file): what this process swapped in stays known.
  const before = releases.get(world);
  const rel: Release = { root, file, pointer: readPointer(file, world.settings.config_id), baseline: before?.baseline, owned: before?.owned ?? new WeakMap() };
  releases.set(world, rel);
  const live = rel.pointer.live;
  if (opts.adoptLive && live && live.checkpoint !== null) {
    const where = checkpointPath(rel, live.checkpoint, `${file}: live.checkpoint`);
    const loaded = load(world, tf(), where, `${file}: live.checkpoint`);
    const h = loaded.hash();
    if (h !== live.policy_hash) {
      loaded.dispose();
      throw new PolicyReleaseError(
        "conflict",
        `${file}: the live checkpoint "${live.checkpoint}" now holds policy hash ${h}, the pointer recorded ${live.policy_hash} (the folder was overwritten)`,
      );
    }
    swap(world, rel, withLiveBlend(world, loaded), { ...where, hash: h, seq: live.seq, network: loaded });
  }
  return policyStatus(world);
}

/** The release service of `world`'s policy plug-in (its state carries these methods). */
export function releaseService(world: World): PolicyReleaseService {
  return {
    promotePolicy: (req) => promote(world, req),
    rollbackPolicy: (req) => rollback(world, req),
    policyStatus: () => policyStatus(world),
  };
}

/** The KPI `policy_release` (only in worlds with the release enabled): which release decides. */
export function releaseKpi(world: World): Record<string, unknown> {
  const rel = releases.get(world);
  if (!rel) return {};
  const v = liveView(world, rel, true);
  return { policy_release: { seq: v.seq, checkpoint: v.checkpoint, policy_hash: v.policy_hash } };
}

// ---- the commands ------------------------------------------------------------------------------

function promote(world: World, req: PromoteRequest): ReleaseResult {
  const rel = enabled(world);
  const where = resolveCheckpoint(rel, req.checkpoint, "checkpoint");
  const loaded = load(world, tf(), where, "checkpoint");
  let live = false;
  try {
    const hash = loaded.hash();
    const previous = liveView(world, rel);
    refuseIfLive(previous, where.checkpoint, hash, "checkpoint");
    const gate = gateOf(world);
    const ready = gate?.candidate_ready === true;
    if (!ready && !req.force) {
      throw new PolicyReleaseError(
        "conflict",
        gate
          ? `the promotion gate is not ready (pass_streak ${gate.pass_streak} of ${gate.required_passes} windows of ${gate.window_ticks} ticks without a blocking alert); wait for it, or send force: true`
          : "no stability monitor judges the promotion gate in this world; send force: true to promote anyway",
      );
    }
    const forced = !ready;
    const entry = record(rel, req, "promote", { policy: loaded.name, checkpoint: where.checkpoint, policy_hash: hash }, previous, previous.seq, forced, gate);
    swap(world, rel, withLiveBlend(world, loaded), { ...where, hash, seq: entry.seq, network: loaded });
    live = true;
    world.send(PolicyPromoted, entry.seq, world.intern(where.checkpoint), world.intern(hash), world.intern(previous.checkpoint ?? ""), world.intern(previous.policy_hash ?? ""), forced ? 1 : 0);
    return result(world, rel, entry, previous, req, forced ? `forced: the promotion gate was not ready${gate ? ` (pass_streak ${gate.pass_streak} of ${gate.required_passes})` : " (no stability monitor)"}` : undefined);
  } finally {
    if (!live) loaded.dispose();
  }
}

function rollback(world: World, req: RollbackRequest): ReleaseResult {
  const rel = enabled(world);
  const previous = liveView(world, rel);
  if (req.to !== undefined) {
    const where = resolveCheckpoint(rel, req.to, "to");
    const loaded = load(world, tf(), where, "to");
    let live = false;
    try {
      const hash = loaded.hash();
      refuseIfLive(previous, where.checkpoint, hash, "to");
      // A rollback --to can itself be undone: its previous_seq is what was live before it.
      const entry = record(rel, req, "rollback", { policy: loaded.name, checkpoint: where.checkpoint, policy_hash: hash }, previous, previous.seq, false, gateOf(world));
      swap(world, rel, withLiveBlend(world, loaded), { ...where, hash, seq: entry.seq, network: loaded });
      live = true;
      sendRolledBack(world, entry, previous);
      const known = rel.pointer.history.some((e) => e.seq !== entry.seq && e.checkpoint === where.checkpoint && e.policy_hash === hash);
      return result(world, rel, entry, previous, req, known ? undefined : `checkpoint "${where.checkpoint}" was never live before (not in the release history)`);
    } finally {
      if (!live) loaded.dispose();
    }
  }

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
  if (!target || target.checkpoint === null) {
    const base = rel.baseline!;
    const ref: PolicyRef = { policy: base.name, checkpoint: null, policy_hash: hashOf(base, false) };
    const entry = record(rel, req, "rollback", ref, previous, 0, false, gateOf(world));
    swap(world, rel, base, undefined);
    sendRolledBack(world, entry, previous);
    return result(world, rel, entry, previous, req, `no earlier release: back to the baseline, the policy this process started with (${base.name})`);
  }
  const where = checkpointPath(rel, target.checkpoint, "the previous release's checkpoint");
  const loaded = load(world, tf(), where, `release #${target.seq}`);
  let live = false;
  try {
    const hash = loaded.hash();
    if (hash !== target.policy_hash) {
      throw new PolicyReleaseError(
        "conflict",
        `release #${target.seq}: checkpoint "${target.checkpoint}" now holds policy hash ${hash}, the release history recorded ${target.policy_hash} (the folder was overwritten); send {to: "${target.checkpoint}"} to accept the new weights`,
      );
    }
    // Back to the target as it was: a further rollback goes on to what preceded it.
    const entry = record(rel, req, "rollback", { policy: loaded.name, checkpoint: target.checkpoint, policy_hash: hash }, previous, target.previous_seq, false, gateOf(world));
    swap(world, rel, withLiveBlend(world, loaded), { ...where, hash, seq: entry.seq, network: loaded });
    live = true;
    sendRolledBack(world, entry, previous);
    return result(world, rel, entry, previous, req, `back to release #${target.seq}`);
  } finally {
    if (!live) loaded.dispose();
  }
}

function policyStatus(world: World): PolicyStatusView {
  const rel = releases.get(world);
  const live = liveView(world, rel);
  let release: PolicyStatusView["release"] = null;
  if (rel) {
    const p = rel.pointer.live;
    const inSync = p === null || p.checkpoint === null ? live.checkpoint === null : live.checkpoint === p.checkpoint && live.policy_hash === p.policy_hash;
    release = {
      checkpoint_root: rel.root,
      release_file: rel.file,
      pointer: p,
      in_sync: inSync,
      history_length: rel.pointer.history.length,
      recent: rel.pointer.history.slice(-RECENT),
    };
  }
  return { live, release, gate: world.optionalResource(StabilityKey)?.promotion() ?? null, tensor_backend: currentTensorBackend()?.name ?? null };
}

// ---- pieces ------------------------------------------------------------------------------------

function enabled(world: World): Release {
  const rel = releases.get(world);
  if (!rel) {
    throw new PolicyReleaseError(
      "unavailable",
      "policy promotion is not enabled in this world: no checkpoint root is configured (tools call `await enablePolicyRelease(world, { checkpointRoot })`)",
    );
  }
  return rel;
}

function tf(): TF {
  const b = currentTensorBackend();
  if (!b) {
    throw new PolicyReleaseError("unavailable", "the tensor backend is not initialised, so no checkpoint can be loaded between ticks (enablePolicyRelease initialises it)");
  }
  return b.tf;
}

/** A checkpoint argument as a folder inside the root: relative name (with "/") and absolute path. */
function resolveCheckpoint(rel: Release, given: string, arg: string): { checkpoint: string; path: string } {
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
function checkpointPath(rel: Release, checkpoint: string, what: string): { checkpoint: string; path: string } {
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

/** The policy part of a checkpoint (policy.json + weights.bin; a trainer's extra files are ignored). */
function load(world: World, tfns: TF, where: { checkpoint: string; path: string }, arg: string): NeuralPolicy {
  const o = world.settings.runtime.policy.options;
  const greedy = typeof o.greedy === "boolean" ? o.greedy : world.settings.policy_runtime.greedy;
  try {
    return NeuralPolicy.load(tfns, where.path, checkpointExpectations(world), { greedy });
  } catch (e) {
    if (e instanceof CheckpointError) {
      throw new PolicyReleaseError(e.kind === "missing" ? "not_found" : e.kind === "mismatch" ? "conflict" : "invalid_args", `${arg}: ${e.message}`);
    }
    throw e;
  }
}

/** Under a blend the checkpoint replaces the learned part and the scripted ratio stays. */
function withLiveBlend(world: World, loaded: NeuralPolicy): Policy {
  const live = getPolicy(world);
  if (live instanceof BlendPolicy) return new BlendPolicy(loaded, live.scriptedRatio);
  const t = world.settings.training;
  return t.anneal_enable_policy_blend ? new BlendPolicy(loaded, t.anneal_scripted_ratio) : loaded;
}

/** The one place the live policy changes; a network this module loaded is freed once replaced. */
function swap(world: World, rel: Release, next: Policy, own: Owned | undefined): void {
  const prev = getPolicy(world);
  if (rel.baseline === undefined) rel.baseline = prev;
  if (own) rel.owned.set(next, own);
  setPolicy(world, next);
  const gone = rel.owned.get(prev);
  if (gone && prev !== next) {
    rel.owned.delete(prev);
    gone.network.dispose();
  }
}

function refuseIfLive(live: LivePolicyView, checkpoint: string, hash: string, arg: string): void {
  if (live.policy_hash === hash) {
    throw new PolicyReleaseError(
      "conflict",
      `${arg}: "${checkpoint}" holds the policy that is live now (hash ${hash}${live.seq > 0 ? `, release #${live.seq} "${live.checkpoint}"` : ", the baseline"})`,
    );
  }
}

function gateOf(world: World) {
  return world.optionalResource(StabilityKey)?.promotion() ?? null;
}

/** Appends an entry to the release file (atomically) before the swap: a failed write changes nothing. */
function record(
  rel: Release,
  req: ReleaseRequest,
  action: ReleaseEntry["action"],
  ref: PolicyRef,
  replaced: LivePolicyView,
  previousSeq: number,
  forced: boolean,
  gate: ReturnType<typeof gateOf>,
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

function sendRolledBack(world: World, entry: ReleaseEntry, previous: LivePolicyView): void {
  world.send(
    PolicyRolledBack,
    entry.seq,
    world.intern(entry.checkpoint ?? ""),
    world.intern(entry.policy_hash ?? ""),
    world.intern(previous.checkpoint ?? ""),
    world.intern(previous.policy_hash ?? ""),
    entry.checkpoint === null ? 1 : 0,
  );
}

function result(world: World, rel: Release, entry: ReleaseEntry, previous: LivePolicyView, req: ReleaseRequest, note: string | undefined): ReleaseResult {
  return {
    action: entry.action,
    seq: entry.seq,
    previous,
    live: liveView(world, rel),
    tick: req.tick,
    effective_tick: req.tick + 1,
    forced: entry.forced,
    gate: entry.gate,
    release_file: rel.file,
    ...(note !== undefined ? { note } : {}),
  };
}

function liveView(world: World, rel: Release | undefined, cached = false): LivePolicyView {
  const p = getPolicy(world);
  const own = rel?.owned.get(p);
  if (own) return { policy: p.name, checkpoint: own.checkpoint, path: own.path, policy_hash: own.hash, seq: own.seq };
  return { policy: p.name, checkpoint: null, path: null, policy_hash: hashOf(p, cached), seq: 0 };
}

/** sha256 of a policy's weights (a blend's learned part); null without weights. */
function hashOf(p: Policy, cached: boolean): string | null {
  if (cached && hashCache.has(p)) return hashCache.get(p)!;
  const net = p instanceof BlendPolicy ? p.learned : p;
  const h = net instanceof NeuralPolicy ? net.hash() : null;
  hashCache.set(p, h);
  return h;
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
