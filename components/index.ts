// Public surface of components/: shared component definitions, messages, schedule sets and
// the small data structures beside them.
export { Town, Agent } from "../engine/core-components.ts";
export { Needs, NEED_NAMES } from "./needs.ts";
export type { NeedName } from "./needs.ts";
export { Position } from "./space.ts";
export { Wallet, TownEconomy } from "./economy.ts";
export { Obj } from "./objects.ts";
export { Intent, IntentKind, INTENT_NAMES, Activity, Option, OptionKind, OPTION_NAMES } from "./activity.ts";
export type { IntentKindValue, OptionKindValue } from "./activity.ts";
export {
  Employment,
  ShiftState,
  SHIFT_STATE_NAMES,
  Personality,
  PROFILE_NAMES,
  Lifecycle,
  ExitReason,
  EXIT_REASON_NAMES,
  Reward,
} from "./people.ts";
export * from "./messages.ts";
export { PolicySets, AffordanceSets, NeedsSets } from "./sets.ts";
export { SpatialIndex, STEPS, UNREACHABLE, manhattan, stepToward } from "./grid.ts";
export type { AffordanceSpec, AffordanceTable } from "./affordances.ts";
export { SocialLedger } from "./social.ts";
export { FIXED_ACTIONS, ACTION_WAIT, ACTION_WORK, ACTION_CHAT, ACTION_AVOID, ACTION_USE_BASE, actionCount, actionNames, actionOption, optionAction } from "./actions.ts";
export { chooseOption } from "./options.ts";
export { jobTable, compileJobs } from "./jobs.ts";
export type { JobTable } from "./jobs.ts";
