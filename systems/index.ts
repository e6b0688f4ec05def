// The engine's own plug-ins, in registration order (which is also the tie-break order of the
// schedule and the order of onAgentSpawn hooks). Each folder of systems/ is one plug-in.
// Several plug-ins own only their config sections so far; their systems join them as the
// town's rules land (see the issues named in each folder's config.ts).
import type { AnyPlugin } from "../engine/plugin.ts";
import { needsPlugin } from "./needs/index.ts";
import { populationPlugin } from "./population/index.ts";
import { affordancesPlugin } from "./affordances/index.ts";
import { spacePlugin } from "./space/index.ts";
import { socialPlugin } from "./social/index.ts";
import { optionsPlugin } from "./options/index.ts";
import { behaviorPlugin } from "./behavior/index.ts";
import { consolePlugin } from "./console/index.ts";
import { economyPlugin } from "./economy/index.ts";
import { employmentPlugin } from "./employment/index.ts";
import { lifecyclePlugin } from "./lifecycle/index.ts";
import { personalityPlugin } from "./personality/index.ts";
import { observationsPlugin } from "./observations/index.ts";
import { persistencePlugin } from "./persistence/index.ts";
import { perturbationsPlugin } from "./perturbations/index.ts";
import { policyPlugin } from "./policy/index.ts";
import { rewardsPlugin } from "./rewards/index.ts";
import { scenarioPlugin, checkScenarioAgents } from "./scenario/index.ts";
import { stabilityPlugin } from "./stability/index.ts";
import { telemetryPlugin } from "./telemetry/index.ts";

export { rewardsPlugin, lifecyclePlugin, personalityPlugin };
export { economyPlugin, employmentPlugin };
export { policyPlugin };
export { observationsPlugin };
export { stabilityPlugin, perturbationsPlugin };
export { telemetryPlugin, consolePlugin };
export { scenarioPlugin, checkScenarioAgents };
export { persistencePlugin };
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
