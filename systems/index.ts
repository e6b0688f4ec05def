// The engine's own plug-ins, in registration order (which is also the tie-break order of the
// schedule and the order of onAgentSpawn hooks). Each folder of systems/ is one plug-in.
// Several plug-ins own only their config sections so far; their systems join them as the
// town's rules land (see the issues named in each folder's config.ts).
import type { AnyPlugin } from "../engine/plugin.ts";
import { definePlugin } from "../engine/plugin.ts";
import { needsPlugin } from "./needs/index.ts";
import { populationPlugin } from "./population/index.ts";
import { affordancesPlugin } from "./affordances/index.ts";
import { spacePlugin } from "./space/index.ts";
import { socialPlugin } from "./social/index.ts";
import { optionsPlugin } from "./options/index.ts";
import { behaviorPlugin } from "./behavior/index.ts";
import { sections as consoleSections } from "./console/config.ts";
import { economyPlugin } from "./economy/index.ts";
import { employmentPlugin } from "./employment/index.ts";
import { lifecyclePlugin } from "./lifecycle/index.ts";
import { personalityPlugin } from "./personality/index.ts";
import { observationsPlugin } from "./observations/index.ts";
import { sections as persistenceSections } from "./persistence/config.ts";
import { sections as perturbationSections, PerturbationFile } from "./perturbations/config.ts";
import { policyPlugin } from "./policy/index.ts";
import { rewardsPlugin } from "./rewards/index.ts";
import { scenarioPlugin, checkScenarioAgents } from "./scenario/index.ts";
import { sections as stabilitySections } from "./stability/config.ts";
import { sections as telemetrySections } from "./telemetry/config.ts";

export { rewardsPlugin, lifecyclePlugin, personalityPlugin };
export { economyPlugin, employmentPlugin };
export { policyPlugin };
export { observationsPlugin };
export const stabilityPlugin = definePlugin({ name: "stability", doc: "stability monitor settings", sections: stabilitySections });
export const telemetryPlugin = definePlugin({ name: "telemetry", doc: "telemetry settings", sections: telemetrySections });
export const consolePlugin = definePlugin({ name: "console", doc: "console authentication settings", sections: consoleSections });
export const persistencePlugin = definePlugin({ name: "persistence", doc: "snapshot settings", sections: persistenceSections });
export const perturbationsPlugin = definePlugin({
  name: "perturbations",
  doc: "perturbation scheduler settings (inline, or a file named by `perturbations:`)",
  sections: perturbationSections,
  files: [
    {
      path: ["perturbations"],
      kind: "perturbation file",
      schema: PerturbationFile,
      mode: "inline",
      detect: (raw) => typeof raw === "object" && raw !== null && !Array.isArray(raw) && "events" in raw,
    },
  ],
});
export { scenarioPlugin, checkScenarioAgents };
export { needsPlugin, populationPlugin, spacePlugin, affordancesPlugin, socialPlugin, optionsPlugin, behaviorPlugin };

/** Every core plug-in, in order. */
export const corePlugins: readonly AnyPlugin[] = [
  economyPlugin,
  employmentPlugin,
  rewardsPlugin,
  policyPlugin,
  spacePlugin,
  affordancesPlugin,
  socialPlugin,
  optionsPlugin,
  behaviorPlugin,
  observationsPlugin,
  stabilityPlugin,
  telemetryPlugin,
  consolePlugin,
  persistencePlugin,
  lifecyclePlugin,
  perturbationsPlugin,
  scenarioPlugin,
  personalityPlugin,
  needsPlugin,
  populationPlugin,
];
