// Which policy decides in a world: `setPolicy` / `getPolicy` and the plug-in's state. Kept apart
// from index.ts so that the release (release.ts) swaps the live policy through the same door as
// tools and tests. A policy given here survives `world.reset()`.
import type { World } from "../../engine/world.ts";
import type { Policy } from "./policies.ts";
import type { PolicyState } from "./index.ts";

/** Policies given with `setPolicy`, kept across `world.reset()`. */
export const assigned = new WeakMap<World, Policy>();

/** The policy plug-in's state of a world. */
export function policyState(world: World): PolicyState {
  return world.state<PolicyState>("policy");
}

/** Makes `policy` decide in `world` (tools, the env API, tests); kept across `world.reset()`. */
export function setPolicy(world: World, policy: Policy): void {
  assigned.set(world, policy);
  const s = policyState(world);
  s.policy = policy;
  s.scriptedDecides = policy.scriptedDecides === true;
  if (policy.needsObservations) s.source.prepare?.(world);
}

/** The policy deciding in `world`. */
export function getPolicy(world: World): Policy {
  return policyState(world).policy;
}
