// Cross-section check of the affordance manifest against the needs list: every effect key of
// every affordance is a need of the world's table (`needs:`) or money. Run by the loader with the
// other checks, so a manifest naming a need no config declares fails at load, naming both.
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { ConfigCheckProblem } from "../../engine/plugin.ts";
import { needTable } from "../../components/needs.ts";
import { AffordancesState } from "./state.ts";
import { effectProblem } from "./runtime.ts";

export function manifestEffectProblems(settings: ConfigSections): ConfigCheckProblem[] {
  let st: AffordancesState;
  try {
    st = AffordancesState.fromFile(settings.affordances.affordances_file);
  } catch {
    return []; // the manifest's own problems are reported where it is loaded
  }
  const needs = needTable(settings);
  const problems: ConfigCheckProblem[] = [];
  for (const a of st.registry.affordances) {
    const problem = a ? effectProblem(a, needs) : undefined;
    if (problem !== undefined) problems.push({ path: ["affordances", "affordances_file"], message: `${settings.affordances.affordances_file}: ${problem}` });
  }
  return problems;
}
