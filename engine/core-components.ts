// Components every world has: the town an entity belongs to and an agent's stable number.
// Kernel concepts (a town is one batched environment, an agent one PettingZoo agent), not rules.
import { defineComponent } from "./component.ts";

export const Town = defineComponent(
  "Town",
  { id: { type: Uint32Array, doc: "town index, 0..towns-1; per-town state is indexed by it" } },
  "the town (independent environment) an agent or object belongs to",
);

export const Agent = defineComponent(
  "Agent",
  { uid: { type: Uint32Array, doc: "stable agent number, never reused; external id agent_<uid> unless named" } },
  "marks an entity as an agent",
);
