// The reward breakdown by term (systems/rewards/breakdown.ts) in tests that read it: ask for it,
// then read a term's column of the last tick (rewards and reward-terms tests).
import type { World } from "../../engine/world.ts";
import { rewardsState } from "../../systems/rewards/index.ts";

/** `w`, asking for the reward breakdown from its next tick on. */
export function asked(w: World): World {
  rewardsState(w).wantBreakdown("test", true);
  return w;
}

/** The reward breakdown's column `name` as of the last tick. */
export function part(w: World, name: string): Float32Array {
  const bd = rewardsState(w).lastBreakdown();
  if (bd === undefined) throw new Error(`tick ${w.tick} recorded no reward breakdown`);
  return bd.column(name);
}
