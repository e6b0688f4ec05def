// The thirst mod's plug-in (docs/modding.md, which shows this file below this comment). The need
// itself is data (config.yaml's needs: section) and so are the water coolers and `drink`
// (affordances.yaml): decay, spawning, observations, rewards, the scripted controller and
// telemetry all read the needs list. What only code can say lives here: working makes agents
// thirstier (a system after the decay), and the mod refuses a config that forgot to declare the
// need (a config check). Phase: needs, after NeedsSets.Decay. Reads Employment.on_shift; writes Needs.
import { z } from "zod";
import { definePlugin } from "../../../engine/plugin.ts";
import { NeedsKey, needTable } from "../../../components/needs.ts";
import { NeedsSets } from "../../../components/sets.ts";
import { Employment } from "../../../components/people.ts";

export default definePlugin({
  name: "thirst",
  // The `thirst:` section of the config (the section's key is the plug-in's name).
  config: z.strictObject({ work_extra_decay: z.number().min(0).max(1).default(0.001) }).prefault({}),
  // The needs plug-in's table and columns: the world refuses to start without a provider.
  requires: [NeedsKey],
  checks: (settings) =>
    needTable(settings).index("thirst") < 0 ? [{ path: ["needs"], message: 'plug-in "thirst" needs a `thirst` entry under needs: (at least its decay)' }] : [],
  systems: [{
    name: "thirst/work", phase: "needs", after: [NeedsSets.Decay],
    run({ world, agents, config, resource }) {
      const needs = resource(NeedsKey);
      const thirst = needs.columns()[needs.table.index("thirst")];
      if (!world.components.isRegistered(Employment)) return;
      const onShift = world.columns(Employment).on_shift;
      for (let i = 0; i < agents.length; i++) {
        const eid = agents[i];
        if (onShift[eid] === 1) thirst[eid] = Math.max(0, thirst[eid] - config.work_extra_decay);
      }
    },
  }],
});
