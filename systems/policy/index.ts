// The policy plug-in (phase policy, set PolicySets.Decide, after the other deciders): runs the
// configured policy when it is not the scripted controller. For every agent that may choose
// now (its option is done, is Wait, was chosen this tick by the scripted controller under a
// blend, or has been committed for policy_runtime.option_commit_ticks) and is not running an
// affordance, it builds the action masks (masks.ts), the observations when the policy reads
// them (observe.ts), calls the policy (policies.ts) and turns each action into an option with
// `chooseOption`. An action the mask forbids is replaced by wait and counted (kpi
// `invalid_actions`). While a learned policy decides, the scripted controller stands aside (it
// reads `scriptedDecides` from this plug-in's state). Promotion and rollback of the live policy
// between ticks (release.ts) are offered to the console through this plug-in's state. Owns the
// `behavior`, `personalities`, `policy_runtime`, `ppo` and `training` sections.
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { ACTION_USE_BASE, ACTION_WAIT, actionOption } from "../../components/actions.ts";
import { Activity, Option, OptionKind } from "../../components/activity.ts";
import { PolicySets } from "../../components/sets.ts";
import { chooseOption } from "../../components/options.ts";
import { sections } from "./config.ts";
import { buildMasks, chatTarget, worldActionCount } from "./masks.ts";
import { emptyBatch, observationSourceFor, type ObservationBatch, type ObservationSource } from "./observe.ts";
import { BlendPolicy, ExternalPolicy, KEEP, RandomPolicy, createPolicy, scriptedPolicy, type Policy } from "./policies.ts";
import { assigned, setPolicy } from "./live.ts";
import { PolicyPromoted, PolicyRolledBack, releaseKpi, releaseService } from "./release.ts";
import type { PolicyReleaseService } from "../../components/release.ts";
import { PolicyKey } from "../../components/release.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { SpaceKey } from "../../components/grid.ts";
import { SocialKey } from "../../components/social.ts";
import { ObservationsKey } from "../../components/observations.ts";
import { StabilityKey } from "../../components/stability.ts";
import { NeedsKey } from "../../components/needs.ts";
import { policyCommands } from "./commands.ts";

export * from "./policies.ts";
export { getPolicy, policyState, setPolicy } from "./live.ts";
export { enablePolicyRelease, PolicyPromoted, PolicyRolledBack, RELEASE_FORMAT, type PolicyReleaseOptions } from "./release.ts";
export { buildMasks, chatTarget, worldActionCount } from "./masks.ts";
export { builderObservations, componentObservations, componentFeatures, COMPONENT_FEATURES, observationSourceFor, type ObservationBatch, type ObservationSource } from "./observe.ts";

/**
 * Snapshotted: the counters (hashed) and a blend's scripted ratio (anneal schedules change it).
 * Also the release service (promotion and rollback, release.ts), found by the console with
 * `world.optionalResource(PolicyKey)` (components/release.ts).
 */
export interface PolicyState extends PersistentState, PolicyReleaseService {
  policy: Policy;
  /** False while a learned policy decides: the scripted controller skips its pass. */
  scriptedDecides: boolean;
  /** Actions the mask forbade (replaced by wait) since the world began. */
  invalid: number;
  /** Options chosen by this plug-in since the world began. */
  decisions: number;
  source: ObservationSource;
  batch: ObservationBatch;
  eligible: Int32Array;
  masks: Uint8Array;
  actions: Int32Array;
  /** The tick whose decisions prepareDecisions built ahead of policy/act (−1: none), and how many. */
  preparedTick: number;
  prepared: number;
}

/** A neural provider named in the config: loading it is asynchronous (see preparePolicy). */
class PendingPolicy implements Policy {
  readonly name: string;
  readonly scriptedDecides = false;
  constructor(readonly spec: string) {
    this.name = spec;
  }
  act(): void {
    throw new Error(
      `runtime.policy.provider is "${this.spec}": a neural policy loads asynchronously; call \`await preparePolicy(world)\` ` +
        `(or setPolicy) before stepping the world`,
    );
  }
}

const PROVIDERS = "scripted, random, external, neural, neural:CHECKPOINT_DIR";

function isKnownProvider(p: string): boolean {
  return p === "scripted" || p === "random" || p === "external" || p === "neural" || p.startsWith("neural:");
}

/** The policy a config names, as far as it can be built synchronously. */
function policyFromSettings(world: World): Policy {
  const spec = world.settings.runtime.policy.provider;
  const t = world.settings.training;
  const blend = (p: Policy) => (t.anneal_enable_policy_blend ? new BlendPolicy(p, t.anneal_scripted_ratio) : p);
  if (spec === "scripted") return scriptedPolicy;
  if (spec === "random") return blend(new RandomPolicy());
  if (spec === "external") return new ExternalPolicy();
  if (spec === "neural" || spec.startsWith("neural:")) return new PendingPolicy(spec);
  throw new Error(`runtime.policy.provider: unknown policy "${spec}"; expected one of ${PROVIDERS}`);
}

function makeState(world: World): PolicyState {
  const policy: Policy = assigned.get(world) ?? policyFromSettings(world);
  const source = observationSourceFor(world);
  const s: PolicyState = {
    policy,
    scriptedDecides: policy.scriptedDecides === true,
    invalid: 0,
    decisions: 0,
    source,
    batch: emptyBatch(),
    eligible: new Int32Array(16),
    masks: new Uint8Array(16),
    actions: new Int32Array(16),
    preparedTick: -1,
    prepared: 0,
    save: () => ({ invalid: s.invalid, decisions: s.decisions, scripted_ratio: s.policy instanceof BlendPolicy ? s.policy.scriptedRatio : null }),
    load(data: unknown) {
      const d = data as { invalid: number; decisions: number; scripted_ratio: number | null };
      s.invalid = d.invalid;
      s.decisions = d.decisions;
      if (d.scripted_ratio !== null && s.policy instanceof BlendPolicy) s.policy.setScriptedRatio(d.scripted_ratio);
    },
    // The blend ratio is saved but not hashed: a blend at ratio 1 is the scripted controller exactly.
    hash(h: StateHasher) {
      h.f64(s.invalid).f64(s.decisions);
    },
    ...releaseService(world),
  };
  return s;
}

/** The observation set, when the observation builder defines one. */
const OBSERVE = (PolicySets as Record<string, string>).Observe as string | undefined;

export const policyPlugin = definePlugin({
  name: "policy",
  commands: policyCommands,
  provides: [PolicyKey],
  optional: [AffordancesKey, SpaceKey, SocialKey, ObservationsKey, StabilityKey, NeedsKey],
  doc: "runs the configured policy (random, neural, blend) with action masks and option commitment; behaviour, PPO and training settings",
  sections,
  checks: (settings) => {
    const p = settings.runtime?.policy?.provider;
    return p === undefined || isKnownProvider(p)
      ? []
      : [{ path: ["runtime", "policy", "provider"], message: `expected one of ${PROVIDERS}, got "${p}"` }];
  },
  components: { Option, Activity },
  messages: [PolicyPromoted, PolicyRolledBack],
  state: makeState,
  // Other plug-ins' resources exist only from here on (the observation builder's included).
  setup({ world, state }) {
    if (state.policy.needsObservations || state.policy instanceof PendingPolicy) state.source.prepare?.(world);
  },
  kpis: ({ world, state }) => ({ invalid_actions: state.invalid, policy_decisions: state.decisions, ...releaseKpi(world) }),
  systems: [
    // Keeps the observation set present (so that policy/act can run after it) in worlds
    // without the observation builder.
    ...(OBSERVE
      ? [{ name: "policy/observe", phase: "policy" as const, sets: [OBSERVE], before: [PolicySets.Decide], run() {} }]
      : []),
    {
      name: "policy/act",
      phase: "policy",
      sets: [PolicySets.Decide],
      // After every other decider: under a blend the scripted controller has chosen already.
      after: OBSERVE ? [OBSERVE, PolicySets.Decide] : [PolicySets.Decide],
      reads: ["Option", "Activity", "Employment", "Wallet", "Position", "Obj", "TownEconomy", "social ledger", "observations"],
      writes: ["Option"],
      run({ world, tick, agents, state }) {
        // Built before this system by a sharded rollout (prepareDecisions after world.stepTo), else here.
        const m = state.preparedTick === tick ? state.prepared : prepareDecisions(world, tick, agents, state);
        state.preparedTick = -1;
        if (m === 0) return;
        const policy = state.policy;
        const list = state.eligible.subarray(0, m);
        const A = worldActionCount(world);
        const masks = state.masks.subarray(0, m * A);
        const actions = state.actions.subarray(0, m);
        actions.fill(KEEP);
        policy.act(world, policy.needsObservations ? state.batch : undefined, masks, list, actions);
        applyActions(world, tick, list, masks, A, actions, state);
      },
    },
  ],
});

/**
 * The agents that choose at `tick` (state.eligible[0..m)), their masks (state.masks) and, when the
 * policy reads them, their observations (state.batch); returns m. policy/act calls it, or a tool
 * that paused the tick before policy/act (World.stepTo) calls it and sets state.preparedTick =
 * tick, so that policy/act uses what was built (nothing changes in between).
 */
export function prepareDecisions(world: World, tick: number, agents: Int32Array, state: PolicyState): number {
  const policy = state.policy;
  if (policy === scriptedPolicy) return 0;
  const Op = world.columns(Option);
  const Act = world.columns(Activity);
  const commit = world.settings.policy_runtime.option_commit_ticks;
  if (state.eligible.length < agents.length) state.eligible = new Int32Array(agents.length * 2);
  const el = state.eligible;
  let m = 0;
  for (let i = 0; i < agents.length; i++) {
    const eid = agents[i];
    const kind = Op.kind[eid];
    if (kind === OptionKind.None || Op.external[eid] === 1) continue;
    if (Act.running[eid] >= 0) continue; // busy: its option stands
    if (Op.done[eid] === 1 || kind === OptionKind.Wait || Op.since[eid] === tick || tick - Op.since[eid] >= commit) el[m++] = eid;
  }
  if (m === 0) return 0;
  const list = el.subarray(0, m);
  const A = worldActionCount(world);
  if (state.masks.length < m * A) state.masks = new Uint8Array(m * A * 2);
  if (state.actions.length < m) state.actions = new Int32Array(m * 2);
  buildMasks(world, list, state.masks.subarray(0, m * A));
  if (policy.needsObservations) state.source.build(world, list, state.batch);
  return m;
}

/**
 * Turns chosen actions into options: KEEP leaves the option; a forbidden action becomes wait
 * (counted); the same option as the running one goes on unchanged; anything else replaces it.
 */
export function applyActions(world: World, tick: number, agents: Int32Array, masks: Uint8Array, A: number, actions: Int32Array, state: PolicyState): void {
  const Op = world.columns(Option);
  for (let i = 0; i < agents.length; i++) {
    let a = actions[i];
    if (a === KEEP) continue;
    const eid = agents[i];
    if (!(a >= 0 && a < A) || masks[i * A + a] === 0) {
      state.invalid++;
      a = ACTION_WAIT;
    }
    const kind = actionOption(a);
    const aff = kind === OptionKind.Use ? a - ACTION_USE_BASE : -1;
    if (kind !== OptionKind.Chat && Op.done[eid] === 0 && Op.kind[eid] === kind && Op.affordance[eid] === aff) continue;
    chooseOption(Op, eid, kind, aff, kind === OptionKind.Chat ? chatTarget(world, eid) : 0, tick);
    state.decisions++;
  }
}

/**
 * Builds the policy the config names (runtime.policy: provider and options) or `spec`
 * (`scripted`, `random`, `neural`, `neural:DIR`), initialising the tensor backend when needed,
 * and sets it. Tools call this once after creating a world.
 */
export async function preparePolicy(world: World, spec?: string): Promise<Policy> {
  const rp = world.settings.runtime.policy;
  const p = await createPolicy(world, spec ?? rp.provider, rp.options);
  setPolicy(world, p);
  return p;
}
