// Initial population (setup only): spawns world.agents_per_town agents in every town when a
// world is built or reset, unless a `scenario` is set (the scenario plug-in spawns its own
// agents). Other plug-ins initialise their components in their onAgentSpawn.
import { definePlugin } from "../../engine/plugin.ts";
import { EmploymentKey } from "../../components/people.ts";
import { populationCommands } from "./commands.ts";

export const populationPlugin = definePlugin({
  name: "population",
  commands: populationCommands,
  optional: [EmploymentKey],
  doc: "spawns world.agents_per_town agents in each town at start (none when a scenario is set)",
  entities: (settings, towns) => (settings.scenario ? 0 : towns * settings.world.agents_per_town),
  setup({ world, settings }) {
    if (settings.scenario) return;
    const n = settings.world.agents_per_town;
    for (let t = 0; t < world.towns; t++) for (let k = 0; k < n; k++) world.spawnAgent(t);
  },
});
