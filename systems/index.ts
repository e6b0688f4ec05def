// The engine's own plug-ins, in registration order (which is also the tie-break order of the
// schedule and the order of onAgentSpawn hooks). Each folder of systems/ is one plug-in.
// Several plug-ins own only their config sections so far; their systems join them as the
// town's rules land (see the issues named in each folder's config.ts).
import type { ConfigSections } from "../engine/config/sections.ts";
import type { AnyPlugin, ConfigCheckProblem } from "../engine/plugin.ts";
import { definePlugin } from "../engine/plugin.ts";
import { didYouMean } from "../engine/text.ts";
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
import { sections as observationSections } from "./observations/config.ts";
import { sections as persistenceSections } from "./persistence/config.ts";
import { sections as perturbationSections, PerturbationFile } from "./perturbations/config.ts";
import { PERSONALITY_PROFILES, sections as policySections } from "./policy/config.ts";
import { rewardsPlugin } from "./rewards/index.ts";
import { sections as scenarioSections } from "./scenario/config.ts";
import { sections as stabilitySections } from "./stability/config.ts";
import { sections as telemetrySections } from "./telemetry/config.ts";

export { rewardsPlugin, lifecyclePlugin, personalityPlugin };
export { economyPlugin, employmentPlugin };
export const policyPlugin = definePlugin({ name: "policy", doc: "behaviour, personalities, PPO and training settings", sections: policySections });
export const observationsPlugin = definePlugin({ name: "observations", doc: "observation and embedding settings", sections: observationSections });
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
/** A scenario agent's job must be a key of `jobs`; its personality profile a known one (any case). */
export function checkScenarioAgents(settings: ConfigSections): ConfigCheckProblem[] {
  const problems: ConfigCheckProblem[] = [];
  const jobs = Object.keys(settings.jobs);
  settings.scenario?.agents.forEach((agent, i) => {
    if (agent.job !== undefined && !Object.hasOwn(settings.jobs, agent.job)) {
      const known = jobs.length ? jobs.map((j) => `"${j}"`).join(", ") : "none";
      problems.push({
        path: ["scenario", "agents", i, "job"],
        message: `expected a job from the jobs section (${known}), got "${agent.job}"${didYouMean(agent.job, jobs)}`,
      });
    }
    const profile = agent.personality_profile;
    if (profile !== undefined && !(PERSONALITY_PROFILES as readonly string[]).includes(profile.toLowerCase())) {
      problems.push({
        path: ["scenario", "agents", i, "personality_profile"],
        message: `expected a known personality profile (${PERSONALITY_PROFILES.join(", ")}), got "${profile}"${didYouMean(profile, PERSONALITY_PROFILES)}`,
      });
    }
  });
  return problems;
}

export const scenarioPlugin = definePlugin({
  name: "scenario",
  doc: "scenario definitions",
  sections: scenarioSections,
  checks: checkScenarioAgents,
});

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
