// Space (no systems of its own): agents' tiles and the spatial index (who is on a tile, the
// object on a tile, distance fields to the nearest object of each type). New agents get a
// random tile from this plug-in's stream unless their spawn sets Position. Movement happens in
// the affordances phase through `moveAgent`. After a snapshot is loaded, objects are placed again
// from their Obj and Position columns (the agents' tile lists are part of the saved state).
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { Position } from "../../components/space.ts";
import { Town } from "../../engine/core-components.ts";
import { SpatialIndex, SpaceKey } from "../../components/grid.ts";
import { Obj } from "../../components/objects.ts";
import { spaceCommands } from "./commands.ts";
import { spaceTelemetry } from "./telemetry.ts";

export const spacePlugin = definePlugin({
  name: "space",
  telemetry: spaceTelemetry,
  commands: spaceCommands,
  provides: [SpaceKey],
  doc: "tiles, the spatial index and distance fields",
  components: { Position },
  state: (world: World) => {
    const [w, h] = world.settings.world.grid_size;
    return new SpatialIndex(world.towns, w, h, world.components.capacity, world.agentIdLimit());
  },
  onAgentSpawn({ world, rng, state, components: { Position: P } }, eid) {
    world.addComponent(eid, Position);
    P.x[eid] = rng.int(state.width);
    P.y[eid] = rng.int(state.height);
  },
  onAgentReady({ world, state, components: { Position: P } }, eid) {
    const x = P.x[eid];
    const y = P.y[eid];
    if (!state.inBounds(x, y)) {
      throw new RangeError(`agent ${world.agentName(eid)}: position [${x}, ${y}] is outside the ${state.width}x${state.height} grid`);
    }
    state.place(eid, world.columns(Town).id[eid], x, y);
  },
  onAgentRemove({ state }, eid) {
    state.unplace(eid);
  },
  onLoad({ world, state }) {
    state.clearObjects();
    if (!world.components.isRegistered(Obj)) return;
    const isObj = world.components.flags(Obj);
    const type = world.columns(Obj).type;
    const P = world.columns(Position);
    const T = world.columns(Town).id;
    const max = world.maxEntityId();
    for (let eid = 1; eid <= max; eid++) if (isObj[eid] === 1) state.placeObject(eid, T[eid], P.x[eid], P.y[eid], type[eid]);
  },
});

/** Moves an agent to a tile (columns and index). */
export function moveAgent(world: World, index: SpatialIndex, eid: number, x: number, y: number): void {
  const P = world.columns(Position);
  P.x[eid] = x;
  P.y[eid] = y;
  index.place(eid, world.columns(Town).id[eid], x, y);
}
