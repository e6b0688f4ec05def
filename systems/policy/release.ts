// Promotion and rollback of the live policy between ticks (guide 3.3): checkpoints from one root,
// the stability monitor's promotion gate, the release pointer (`<root>/release.json`, written
// atomically) and the swap through setPolicy; sends policy_promoted / policy_rolled_back.
import { defineMessage } from "../../engine/message.ts";
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
  type ReleaseRequest,
  type ReleaseResult,
  type RollbackRequest,
} from "../../components/release.ts";
import { BlendPolicy, NeuralPolicy, checkpointExpectations, type Policy } from "./policies.ts";
import { getPolicy, setPolicy } from "./live.ts";
import { StabilityKey } from "../../components/stability.ts";
import {
  RELEASE_FORMAT,
  baselineNote,
  checkAdopted,
  checkTarget,
  checkpointPath,
  forcedNote,
  gateRefusal,
  loadingCheckpoint,
  openReleasePointer,
  recordRelease,
  refuseIfLive,
  releaseResult,
  releaseStatus,
  resolveCheckpoint,
  rollbackTarget,
  targetNote,
  unknownTargetNote,
  type CheckpointWhere,
  type ReleasePointer,
} from "./release-pointer.ts";

export { RELEASE_FORMAT };

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

interface Release extends ReleasePointer {
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
  const opened = openReleasePointer(opts.checkpointRoot, opts.releaseFile, world.settings.config_id);
  const file = opened.file;
  // Enabled again (another root or file): what this process swapped in stays known.
  const before = releases.get(world);
  const rel: Release = { ...opened, baseline: before?.baseline, owned: before?.owned ?? new WeakMap() };
  releases.set(world, rel);
  const live = rel.pointer.live;
  if (opts.adoptLive && live && live.checkpoint !== null) {
    const where = checkpointPath(rel, live.checkpoint, `${file}: live.checkpoint`);
    const loaded = load(world, tf(), where, `${file}: live.checkpoint`);
    const h = loaded.hash();
    try {
      checkAdopted(rel, live, h);
    } catch (e) {
      loaded.dispose();
      throw e;
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
    if (!ready && !req.force) throw new PolicyReleaseError("conflict", gateRefusal(gate));
    const forced = !ready;
    const entry = recordRelease(rel, req, "promote", { policy: loaded.name, checkpoint: where.checkpoint, policy_hash: hash }, previous, previous.seq, forced, gate);
    swap(world, rel, withLiveBlend(world, loaded), { ...where, hash, seq: entry.seq, network: loaded });
    live = true;
    world.send(PolicyPromoted, entry.seq, world.intern(where.checkpoint), world.intern(hash), world.intern(previous.checkpoint ?? ""), world.intern(previous.policy_hash ?? ""), forced ? 1 : 0);
    return result(world, rel, entry, previous, req, forced ? forcedNote(gate) : undefined);
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
      const entry = recordRelease(rel, req, "rollback", { policy: loaded.name, checkpoint: where.checkpoint, policy_hash: hash }, previous, previous.seq, false, gateOf(world));
      swap(world, rel, withLiveBlend(world, loaded), { ...where, hash, seq: entry.seq, network: loaded });
      live = true;
      sendRolledBack(world, entry, previous);
      return result(world, rel, entry, previous, req, unknownTargetNote(rel, entry));
    } finally {
      if (!live) loaded.dispose();
    }
  }

  const target = rollbackTarget(rel, previous);
  if (target === "baseline") {
    const base = rel.baseline!;
    const ref: PolicyRef = { policy: base.name, checkpoint: null, policy_hash: hashOf(base, false) };
    const entry = recordRelease(rel, req, "rollback", ref, previous, 0, false, gateOf(world));
    swap(world, rel, base, undefined);
    sendRolledBack(world, entry, previous);
    return result(world, rel, entry, previous, req, baselineNote(base.name));
  }
  const where = checkpointPath(rel, target.checkpoint!, "the previous release's checkpoint");
  const loaded = load(world, tf(), where, `release #${target.seq}`);
  let live = false;
  try {
    const hash = loaded.hash();
    checkTarget(target, hash);
    // Back to the target as it was: a further rollback goes on to what preceded it.
    const entry = recordRelease(rel, req, "rollback", { policy: loaded.name, checkpoint: target.checkpoint, policy_hash: hash }, previous, target.previous_seq, false, gateOf(world));
    swap(world, rel, withLiveBlend(world, loaded), { ...where, hash, seq: entry.seq, network: loaded });
    live = true;
    sendRolledBack(world, entry, previous);
    return result(world, rel, entry, previous, req, targetNote(target));
  } finally {
    if (!live) loaded.dispose();
  }
}

function policyStatus(world: World): PolicyStatusView {
  const rel = releases.get(world);
  const live = liveView(world, rel);
  return { live, release: releaseStatus(rel, live), gate: world.optionalResource(StabilityKey)?.promotion() ?? null, tensor_backend: currentTensorBackend()?.name ?? null };
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

/** The policy part of a checkpoint (policy.json + weights.bin; a trainer's extra files are ignored). */
function load(world: World, tfns: TF, where: CheckpointWhere, arg: string): NeuralPolicy {
  const o = world.settings.runtime.policy.options;
  const greedy = typeof o.greedy === "boolean" ? o.greedy : world.settings.policy_runtime.greedy;
  return loadingCheckpoint(arg, () => NeuralPolicy.load(tfns, where.path, checkpointExpectations(world), { greedy }));
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

function gateOf(world: World) {
  return world.optionalResource(StabilityKey)?.promotion() ?? null;
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
  return releaseResult(rel, entry, previous, liveView(world, rel), req, note);
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
