// Initial population (setup only): spawns world.agents_per_town agents in every town when a
// world is built or reset. Other plug-ins initialise their components in their onAgentSpawn.
import { definePlugin } from "../../engine/plugin.ts";

export const populationPlugin = definePlugin({
  name: "population",
  doc: "spawns world.agents_per_town agents in each town at start",
  setup({ world, settings }) {
    const n = settings.world.agents_per_town;
    for (let t = 0; t < world.towns; t++) for (let k = 0; k < n; k++) world.spawnAgent(t);
  },
});
