// The policy release's public shape (`world.optionalResource(PolicyKey)`):
// promotion and rollback of the live policy and the release pointer that records it, for the
// console and telemetry. Owned by the policy plug-in (systems/policy/release.ts).
import { defineResource } from "../engine/resource.ts";

/** Error codes of a refused promotion or rollback, as the console answers them. */
export type PolicyReleaseErrorCode = "invalid_args" | "not_found" | "conflict" | "unavailable";

export class PolicyReleaseError extends Error {
  override name = "PolicyReleaseError";
  constructor(
    readonly code: PolicyReleaseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Who asks, and when (the console's principal, cmd_id and the tick just completed). */
export interface ReleaseRequest {
  by: string | null;
  role: string | null;
  cmdId: string | null;
  /** The last completed tick: the new policy decides from tick + 1. */
  tick: number;
}

export interface PromoteRequest extends ReleaseRequest {
  /** Checkpoint folder, relative to the checkpoint root (or absolute, inside it). */
  checkpoint: string;
  /** Promote although the stability monitor's gate is not ready (recorded as `forced`). */
  force: boolean;
}

export interface RollbackRequest extends ReleaseRequest {
  /** A checkpoint folder; left out: the policy that was live before the current release. */
  to?: string;
}

/** A policy as the release names it. */
export interface PolicyRef {
  /** The policy's name: scripted, random, neural, blend, external. */
  policy: string;
  /** Checkpoint folder relative to the checkpoint root; null = the baseline (the policy the process started with). */
  checkpoint: string | null;
  /** sha256 of the weights; null for a policy without weights (scripted, random). */
  policy_hash: string | null;
}

/** One line of the release history (release file `history`, oldest first). */
export interface ReleaseEntry extends PolicyRef {
  /** 1, 2, ... in the release file; 0 stands for the baseline. */
  seq: number;
  action: "promote" | "rollback";
  /** What a rollback without `to` returns to: the seq of an earlier entry, 0 = the baseline. */
  previous_seq: number;
  /** The policy this entry replaced. */
  replaced: PolicyRef;
  /** Last completed tick when it went live (it decides from tick + 1). */
  tick: number;
  by: string | null;
  role: string | null;
  cmd_id: string | null;
  /** Promoted although the promotion gate was not ready. */
  forced: boolean;
  /** The promotion gate when it went live (null: no stability monitor). */
  gate: { candidate_ready: boolean; pass_streak: number; required_passes: number } | null;
  /** Wall-clock time, ISO 8601 (the file only; never simulation state). */
  at: string;
}

/** The release pointer file (`<checkpoint root>/release.json`). */
export interface ReleaseFile {
  format: "townlet-release/1";
  config_id: string;
  /** The entry now live, or null while the baseline is. */
  live: ReleaseEntry | null;
  history: ReleaseEntry[];
}

/** The live policy: its reference, its release seq (0 = baseline) and the absolute checkpoint path. */
export interface LivePolicyView extends PolicyRef {
  seq: number;
  path: string | null;
}

/** The answer to promote_policy and rollback_policy. */
export interface ReleaseResult {
  action: "promote" | "rollback";
  seq: number;
  previous: LivePolicyView;
  live: LivePolicyView;
  /** Last completed tick; the new policy decides from `effective_tick` on. */
  tick: number;
  effective_tick: number;
  forced: boolean;
  gate: ReleaseEntry["gate"];
  release_file: string;
  /** Said when a rollback lands on the baseline, or a checkpoint is not in the history. */
  note?: string;
}

export interface PolicyStatusView {
  live: LivePolicyView;
  /** null: promotion and rollback are not enabled in this world. */
  release: {
    checkpoint_root: string;
    release_file: string;
    /** The release file's live entry (null = baseline). */
    pointer: ReleaseEntry | null;
    /** Whether the pointer names the policy that decides now. */
    in_sync: boolean;
    history_length: number;
    /** The last entries of the history, oldest first. */
    recent: ReleaseEntry[];
  } | null;
  /** The stability monitor's promotion gate, null without one. */
  gate: unknown;
  /** The tensor backend (needed to load checkpoints), null before it is initialised. */
  tensor_backend: string | null;
}

/** What the policy plug-in offers the console. */
export interface PolicyReleaseService {
  /** Loads `checkpoint`, checks the promotion gate, records it and makes it live. Call between ticks. */
  promotePolicy(req: PromoteRequest): ReleaseResult;
  /** Makes `to`, or the policy live before the current release, live again. Call between ticks. */
  rollbackPolicy(req: RollbackRequest): ReleaseResult;
  policyStatus(): PolicyStatusView;
}

/** The live policy as other plug-ins see it: what a snapshot is stamped with. */
export interface PolicyView {
  readonly name: string;
  hash?: () => string;
  readonly learned?: { hash?: () => string };
}

/** What the policy plug-in offers other plug-ins: the live policy and its release service. */
export interface PolicyService extends PolicyReleaseService {
  readonly policy: PolicyView;
  /** False while a learned policy decides: the scripted controller skips its pass. */
  readonly scriptedDecides: boolean;
}

/** The policy plug-in's resource. */
export const PolicyKey = defineResource<PolicyService>("policy");
