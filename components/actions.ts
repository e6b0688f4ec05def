// The discrete action space every policy (scripted, random, neural, a Python trainer) shares:
// one action per option. Fixed options first, then one "use" action per affordance of the
// registry, in registry order. An action selects an option; the option executor carries it out
// over several ticks (systems/options).
import { OptionKind } from "./activity.ts";
import type { AffordanceTable } from "./affordances.ts";

/** The fixed actions, in order; their indices never change. */
export const FIXED_ACTIONS = ["wait", "work", "chat", "avoid"] as const;
export const ACTION_WAIT = 0;
export const ACTION_WORK = 1;
export const ACTION_CHAT = 2;
export const ACTION_AVOID = 3;
/** Index of the first `use:<affordance>` action. */
export const ACTION_USE_BASE = FIXED_ACTIONS.length;

/** Number of actions for a registry: the fixed ones plus one per affordance. */
export function actionCount(registry: AffordanceTable): number {
  return ACTION_USE_BASE + registry.affordances.length;
}

/** Action names, e.g. ["wait", "work", "chat", "avoid", "use:use_shower", ...]. */
export function actionNames(registry: AffordanceTable): string[] {
  return [...FIXED_ACTIONS, ...registry.affordances.map((a) => `use:${a.id}`)];
}

/** The option kind an action selects. */
export function actionOption(action: number): number {
  switch (action) {
    case ACTION_WAIT:
      return OptionKind.Wait;
    case ACTION_WORK:
      return OptionKind.Work;
    case ACTION_CHAT:
      return OptionKind.Chat;
    case ACTION_AVOID:
      return OptionKind.Avoid;
    default:
      return OptionKind.Use;
  }
}

/** The action that corresponds to an agent's option (for behaviour cloning of the scripted controller). */
export function optionAction(kind: number, affordance: number): number {
  switch (kind) {
    case OptionKind.Work:
      return ACTION_WORK;
    case OptionKind.Chat:
      return ACTION_CHAT;
    case OptionKind.Avoid:
      return ACTION_AVOID;
    case OptionKind.Use:
      return affordance >= 0 ? ACTION_USE_BASE + affordance : ACTION_WAIT;
    default:
      return ACTION_WAIT;
  }
}
