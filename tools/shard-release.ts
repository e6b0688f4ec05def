// Promotion and rollback of the network that decides in a sharded world served with
// `townlet serve --shards K --policy neural[:DIR] --checkpoints DIR` (guide 3.3 on blocks): the
// release of a one-block world (systems/policy/release.ts) with the same checkpoint root, release
// file, history, replies and policy_promoted / policy_rolled_back events
// (systems/policy/release-pointer.ts), applied to the one network the main thread runs over every
// block's agents (tools/shard-neural.ts ShardedInference.use), between ticks.
//
// The promotion gate across blocks: each block has its own stability monitor, judging its own
// towns. A promotion without force goes through only when EVERY block's gate is ready; the
// refusal names each block that is not (its towns and pass_streak). A forced promotion is
// recorded as forced, its note naming those blocks. The gate recorded in the release file and
// answered as `gate` is the blocks' together: candidate_ready when all are, the lowest
// pass_streak; `gate_by_block` in policy_status and the replies gives each block's own.
// The event goes to block 0's world only: the world's one event, as on one block (the served
// stream merges the blocks' events, so every block sending it would show it once per block).
import { initTensorBackend, currentTensorBackend } from "../engine/tensor.ts";
import type { PromotionStatus } from "../components/stability.ts";
import {
  PolicyReleaseError,
  type LivePolicyView,
  type PolicyRef,
  type PolicyStatusView,
  type PromoteRequest,
  type ReleaseEntry,
  type ReleaseRequest,
  type ReleaseResult,
  type RollbackRequest,
} from "../components/release.ts";
import { NeuralPolicy, checkpointExpectations } from "../systems/policy/index.ts";
import {
  baselineNote,
  checkAdopted,
  checkTarget,
  checkpointPath,
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
  type GateView,
  type ReleasePointer,
} from "../systems/policy/release-pointer.ts";
import type { BlockGates, ServeRequest } from "./serve-shard-host.ts";
import type { ShardedInference } from "./shard-neural.ts";

export interface ShardReleaseOptions {
  /** Folder promote_policy may load checkpoints from (created when missing); absent: promotion is not enabled. */
  checkpointRoot?: string;
  /** The release pointer; default `<checkpointRoot>/release.json`. */
  releaseFile?: string;
  /** Make the pointer's live checkpoint live at start (--adopt-release), as on one block. */
  adoptLive?: boolean;
}

/** One block's promotion gate, named. */
export type BlockGate = { block: number; towns: string } & (PromotionStatus | { candidate_ready: null });

/** The blocks' gates as one: what a promotion without force needs, and what the replies say. */
export interface CombinedGate {
  /** Every block's gate is ready. */
  ready: boolean;
  /** The blocks' gate together (PromotionStatus's shape; null when no block has a stability monitor). */
  gate: (PromotionStatus & { blocks_ready: number; blocks: number }) | null;
  by_block: BlockGate[];
  /** Why an unforced promotion is refused (when not ready). */
  refusal: string;
  /** The forced promotion's note (when not ready). */
  forced: string;
}

/**
 * The gates of every block (block order) as one: ready only when every block's is. `towns`
 * names each block's towns ("0..1").
 */
export function combineGates(gates: readonly (PromotionStatus | null)[], towns: readonly string[]): CombinedGate {
  const by_block: BlockGate[] = gates.map((g, b) => ({ block: b, towns: towns[b], ...(g ?? { candidate_ready: null }) }));
  const judged = gates.filter((g): g is PromotionStatus => g !== null);
  if (judged.length === 0) return { ready: false, gate: null, by_block, refusal: gateRefusal(null), forced: "forced: the promotion gate was not ready (no stability monitor)" };
  const first = judged[0];
  const waiting = by_block.filter((g) => g.candidate_ready !== true);
  const streak = (g: BlockGate) => (g.candidate_ready === null ? "no stability monitor" : `pass_streak ${g.pass_streak} of ${g.required_passes}`);
  const list = waiting.map((g) => `block ${g.block} (towns ${g.towns}) ${streak(g)}`).join(", ");
  const results = judged.map((g) => g.last_result);
  const gate: CombinedGate["gate"] = {
    window_start: first.window_start,
    window_end: first.window_end,
    window_ticks: first.window_ticks,
    pass_streak: Math.min(...judged.map((g) => g.pass_streak)),
    required_passes: Math.max(...judged.map((g) => g.required_passes)),
    candidate_ready: waiting.length === 0,
    last_result: results.includes(null) ? null : results.includes("fail") ? "fail" : "pass",
    last_evaluated_tick: first.last_evaluated_tick,
    window_alerts: [...new Set(judged.flatMap((g) => g.window_alerts))].sort(),
    blocks_ready: gates.length - waiting.length,
    blocks: gates.length,
  };
  return {
    ready: waiting.length === 0,
    gate,
    by_block,
    refusal: `the promotion gate is not ready in ${waiting.length} of ${gates.length} blocks: ${list} (windows of ${first.window_ticks} ticks without a blocking alert; a sharded world promotes when every block's gate is ready); wait for it, or send force: true`,
    forced: `forced: the promotion gate was not ready in ${waiting.length} of ${gates.length} blocks (${list})`,
  };
}

/** A network this release loaded and made live. */
interface Owned extends CheckpointWhere {
  hash: string;
  seq: number;
}

/** The policy commands of a served sharded world with a neural policy: policy_status always, promote/rollback with a checkpoint root. */
export class ShardRelease {
  private readonly owned = new Map<NeuralPolicy, Owned>();
  private readonly baselineHash: string;

  private constructor(
    private readonly inf: ShardedInference,
    private readonly rel: ReleasePointer | undefined,
  ) {
    this.baselineHash = inf.baseline.hash();
  }

  /** Reads the release pointer (when a root is given) and, with adoptLive, makes its live checkpoint decide; errors name the file. */
  static async open(inf: ShardedInference, o: ShardReleaseOptions): Promise<ShardRelease> {
    if (o.checkpointRoot === undefined) return new ShardRelease(inf, undefined);
    await initTensorBackend();
    const rel = openReleasePointer(o.checkpointRoot, o.releaseFile, inf.config.configId);
    const r = new ShardRelease(inf, rel);
    const live = rel.pointer.live;
    if (o.adoptLive && live && live.checkpoint !== null) {
      const arg = `${rel.file}: live.checkpoint`;
      const where = checkpointPath(rel, live.checkpoint, arg);
      const loaded = r.load(where, arg);
      let taken = false;
      try {
        const hash = loaded.hash();
        checkAdopted(rel, live, hash);
        r.swap(loaded, { ...where, hash, seq: live.seq });
        taken = true;
      } finally {
        if (!taken) loaded.dispose();
      }
    }
    return r;
  }

  /** The KPI a one-block world with a release reports (policy_release): which release decides. */
  kpi(): { seq: number; checkpoint: string | null; policy_hash: string | null } | undefined {
    if (!this.rel) return undefined;
    const v = this.liveView();
    return { seq: v.seq, checkpoint: v.checkpoint, policy_hash: v.policy_hash };
  }

  async status(): Promise<PolicyStatusView & { gate_by_block: BlockGate[] }> {
    const g = await this.gates();
    const live = this.liveView();
    return { live, release: releaseStatus(this.rel, live), gate: g.gate, gate_by_block: g.by_block, tensor_backend: currentTensorBackend()?.name ?? null };
  }

  async promote(req: PromoteRequest): Promise<ReleaseResult & { gate_by_block: BlockGate[] }> {
    const rel = this.enabled();
    const g = await this.gates();
    const where = resolveCheckpoint(rel, req.checkpoint, "checkpoint");
    const loaded = this.load(where, "checkpoint");
    let live = false;
    try {
      const hash = loaded.hash();
      const previous = this.liveView();
      refuseIfLive(previous, where.checkpoint, hash, "checkpoint");
      if (!g.ready && !req.force) throw new PolicyReleaseError("conflict", g.refusal);
      const forced = !g.ready;
      const entry = recordRelease(rel, req, "promote", { policy: loaded.name, checkpoint: where.checkpoint, policy_hash: hash }, previous, previous.seq, forced, g.gate);
      this.swap(loaded, { ...where, hash, seq: entry.seq });
      live = true;
      await this.event("promoted", entry, previous, forced ? 1 : 0);
      return { ...this.result(entry, previous, req, forced ? g.forced : undefined), gate_by_block: g.by_block };
    } finally {
      if (!live) loaded.dispose();
    }
  }

  async rollback(req: RollbackRequest): Promise<ReleaseResult> {
    const rel = this.enabled();
    const g = await this.gates();
    const previous = this.liveView();
    if (req.to !== undefined) {
      const where = resolveCheckpoint(rel, req.to, "to");
      return this.rollTo(this.load(where, "to"), where, req, previous, g.gate, (hash) => refuseIfLive(previous, where.checkpoint, hash, "to"), previous.seq, (entry) => unknownTargetNote(rel, entry));
    }
    const target = rollbackTarget(rel, previous);
    if (target === "baseline") {
      const base = this.inf.baseline;
      const ref: PolicyRef = { policy: base.name, checkpoint: null, policy_hash: this.baselineHash };
      const entry = recordRelease(rel, req, "rollback", ref, previous, 0, false, g.gate);
      this.swap(base, undefined);
      await this.event("rolled_back", entry, previous, 1);
      return this.result(entry, previous, req, baselineNote(base.name));
    }
    const where = checkpointPath(rel, target.checkpoint!, "the previous release's checkpoint");
    // Back to the target as it was: a further rollback goes on to what preceded it.
    return this.rollTo(this.load(where, `release #${target.seq}`), where, req, previous, g.gate, (hash) => checkTarget(target, hash), target.previous_seq, () => targetNote(target));
  }

  /** A rollback onto a loaded checkpoint: checked, recorded, made live, announced. */
  private async rollTo(
    loaded: NeuralPolicy,
    where: CheckpointWhere,
    req: ReleaseRequest,
    previous: LivePolicyView,
    gate: GateView | null,
    check: (hash: string) => void,
    previousSeq: number,
    note: (entry: ReleaseEntry) => string | undefined,
  ): Promise<ReleaseResult> {
    let live = false;
    try {
      const hash = loaded.hash();
      check(hash);
      const entry = recordRelease(this.rel!, req, "rollback", { policy: loaded.name, checkpoint: where.checkpoint, policy_hash: hash }, previous, previousSeq, false, gate);
      this.swap(loaded, { ...where, hash, seq: entry.seq });
      live = true;
      await this.event("rolled_back", entry, previous, 0);
      return this.result(entry, previous, req, note(entry));
    } finally {
      if (!live) loaded.dispose();
    }
  }

  private enabled(): ReleasePointer {
    if (!this.rel) {
      throw new PolicyReleaseError("unavailable", "policy promotion is not enabled in this world: no checkpoint root is configured (serve with --checkpoints DIR)");
    }
    return this.rel;
  }

  /** Every block's gate, between ticks (a block that stopped the world answers its failure). */
  private async gates(): Promise<CombinedGate> {
    const answers = (await this.inf.ext("gate", { op: "gate" } satisfies ServeRequest)) as BlockGates[];
    const gates = new Array<PromotionStatus | null>(this.inf.blocks).fill(null);
    for (const a of answers) a.blocks.forEach((b, i) => (gates[b] = a.gates[i]));
    return combineGates(
      gates,
      this.inf.plans.map((p) => `${p.townOffset}..${p.townOffset + p.towns - 1}`),
    );
  }

  /**
   * A checkpoint shaped for this world (checked against a one-town model of block 0, then
   * against the blocks' rows, as at start), sampled or greedy as the baseline; the loader's error
   * names `arg`, and nothing is recorded or swapped before this passes.
   */
  private load(where: CheckpointWhere, arg: string): NeuralPolicy {
    const tf = currentTensorBackend()?.tf;
    if (!tf) throw new PolicyReleaseError("unavailable", "the tensor backend is not initialised, so no checkpoint can be loaded between ticks");
    const loaded = loadingCheckpoint(arg, () => NeuralPolicy.load(tf, where.path, checkpointExpectations(this.inf.model), { greedy: this.inf.baseline.greedy }));
    const misfit = this.inf.misfit(loaded);
    if (misfit !== undefined) {
      loaded.dispose();
      throw new PolicyReleaseError("conflict", `${arg}: ${misfit}`);
    }
    return loaded;
  }

  /** The one place the network changes (its fit checked by load); a network this release loaded is freed once replaced. */
  private swap(next: NeuralPolicy, own: Owned | undefined): void {
    const prev = this.inf.policy;
    this.inf.use(next, own ? own.path : this.inf.baselineCheckpoint, own ? own.hash : this.baselineHash);
    if (own) this.owned.set(next, own);
    const gone = this.owned.get(prev);
    if (gone && prev !== next) {
      this.owned.delete(prev);
      prev.dispose();
    }
  }

  private async event(event: "promoted" | "rolled_back", entry: ReleaseEntry, previous: LivePolicyView, flag: number): Promise<void> {
    const req: ServeRequest = {
      op: "releaseEvent",
      block: 0,
      event,
      seq: entry.seq,
      checkpoint: entry.checkpoint ?? "",
      policy_hash: entry.policy_hash ?? "",
      previous_checkpoint: previous.checkpoint ?? "",
      previous_hash: previous.policy_hash ?? "",
      flag,
    };
    // Made live already: a block that failed meanwhile stopped the world, and its error says so.
    await this.inf.ext("releaseEvent", req, 0).catch(() => {});
  }

  private result(entry: ReleaseEntry, previous: LivePolicyView, req: ReleaseRequest, note: string | undefined): ReleaseResult {
    return releaseResult(this.rel!, entry, previous, this.liveView(), req, note);
  }

  /** The network that decides now: a release's checkpoint, or the baseline (seq 0; its path: the folder the server started with, if any). */
  liveView(): LivePolicyView {
    const p = this.inf.policy;
    const own = this.owned.get(p);
    if (own) return { policy: p.name, checkpoint: own.checkpoint, path: own.path, policy_hash: own.hash, seq: own.seq };
    return { policy: p.name, checkpoint: null, path: this.inf.baselineCheckpoint, policy_hash: this.baselineHash, seq: 0 };
  }
}
