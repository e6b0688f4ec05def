// A removed object leaves every Use option that chose it (the options plug-in's onEntityRemove).
//
// options/execute keeps a Use option's chosen object (Option.object) and re-chooses it only every
// RECHOOSE_TICKS while the agent walks (index.ts): an agent whose object was removed would aim its
// Start at the dead id (refused) until then, up to 7 ticks. Here, when an object is removed,
// every Use option that chose it forgets it (Option.object 0, what chooseOption leaves) and its
// agent is woken (quiet and parked bits, quiet.ts): on the executor's next run the agent chooses
// again, through the same `obj === 0` branch on the generic and the generated path (kernel.ts),
// so nothing of the per-agent loops changes and a world that removes nothing runs the same code.
// Cost: one flag check for any removed entity that is not an agent (litter ...), and for an
// object one pass over the entity ids, O(agents), as the affordances plug-in's own detach. Every
// entity id is walked, not world.agents: a removal from an affordance hook happens mid-pass, and
// reading world.agents there applies the pass's spawns to the list that pass walks
// (systems/affordances/remove.ts). The forgetting is in the columns at once (a snapshot taken
// before the next tick carries it; the bits are woken on load anyway). An id the removed object
// leaves may be reused: the options chose the removed object, not the id, so they forget it all
// the same.
import type { World } from "../../engine/world.ts";
import { Option, OptionKind } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import type { OptionsState } from "./quiet.ts";

const OPT_USE = OptionKind.Use;

/** Every Use option whose chosen object is `obj` forgets it, and its agent is woken; a no-op for an entity that is not an object. */
export function forgetObject(world: World, qs: OptionsState, obj: number): void {
  if (!world.has(obj, Obj)) return;
  const has = world.components.flags(Option);
  const { kind, object } = world.columns(Option);
  for (let e = world.maxEntityId(); e > 0; e--) {
    if (has[e] === 1 && object[e] === obj && kind[e] === OPT_USE) {
      object[e] = 0;
      qs.wake(e);
    }
  }
}
