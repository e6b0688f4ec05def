// The options plug-in's observation features (`PluginDef.observations`, engine/observation.ts): the
// agent's last action as a hash in [0, 1) of its name (the option's action, else the intent of an
// agent driven without an option), whether it succeeded, and how long the option has run (days,
// clamped to [0, 1]). One writer call fills a whole batch. Formulas follow the original
// (inventory 5).
import { unitHash, type ObservationFeatures } from "../../engine/observation.ts";
import type { World } from "../../engine/world.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Activity, INTENT_NAMES, Option, OptionKind } from "../../components/activity.ts";
import { actionNames, optionAction } from "../../components/actions.ts";
import { AffordancesKey, type AffordanceTable } from "../../components/affordances.ts";

const FEATURES = ["last_action_id_hash", "last_action_success", "last_action_duration"] as const;
const OPT_NONE = OptionKind.None;

/** Hash of "intent:<name>" by IntentKind. */
const INTENT_HASH = Float64Array.from(INTENT_NAMES, (name) => unitHash(`intent:${name}`));

/** The action hashes of a registry (wait, work, chat, avoid, use:<id>, by action index), rebuilt when it changes. */
interface ActionHashes {
  registry: AffordanceTable | undefined;
  sig: string;
  hash: Float64Array;
}
const hashes = new WeakMap<World, ActionHashes>();

function actionHashes(world: World): Float64Array {
  let h = hashes.get(world);
  if (h === undefined) hashes.set(world, (h = { registry: undefined, sig: "", hash: new Float64Array(0) }));
  const registry = world.optionalResource(AffordancesKey)?.registry;
  if (registry === undefined) return h.hash;
  const sig = `${registry.types.length}:${registry.affordances.length}`;
  if (registry !== h.registry || sig !== h.sig) {
    h.registry = registry;
    h.sig = sig;
    h.hash = Float64Array.from(actionNames(registry), unitHash);
  }
  return h.hash;
}

export const optionsObservations: ObservationFeatures = {
  features: () => FEATURES,
  bind({ world, settings, tick }, at) {
    const reg = world.components;
    const Op = reg.isRegistered(Option) ? world.columns(Option) : undefined;
    const A = reg.isRegistered(Activity) ? world.columns(Activity) : undefined;
    const actionHash = actionHashes(world);
    const tpd = Math.max(1, ticksPerDay(settings));
    const [aHash, aOk, aDur] = at;
    const kinds = Op?.kind;
    const affs = Op?.affordance;
    const since = Op?.since;
    const lastIntent = A?.last_intent;
    const lastOk = A?.last_ok;
    return (agents, n, f, stride) => {
      for (let i = 0, row = 0; i < n; i++, row += stride) {
        const eid = agents[i];
        const kind = kinds !== undefined ? kinds[eid] : OPT_NONE;
        if (kind !== OPT_NONE) {
          const action = optionAction(kind, affs![eid]);
          f[row + aHash] = action < actionHash.length ? actionHash[action] : 0;
          const d = (tick - since![eid]) / tpd;
          f[row + aDur] = d < 0 ? 0 : d > 1 ? 1 : d;
        } else if (lastIntent !== undefined) {
          const k = lastIntent[eid];
          f[row + aHash] = k < INTENT_HASH.length ? INTENT_HASH[k] : 0;
        }
        if (lastOk !== undefined) f[row + aOk] = lastOk[eid];
      }
    };
  },
};
