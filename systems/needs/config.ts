// Config owned by the needs plug-in: the `needs` section, the list of needs as data. Each entry
// is optional over the defaults (components/needs.ts: hunger, hygiene, energy, whose decay, reward
// weight and threshold the original spells as rewards.decay_rates, rewards.needs_weights and
// behavior.<need>_threshold); a name that is not a default adds a need. Resolved by needTable().
import { z } from "zod";
import { DEFAULT_NEEDS } from "../../components/needs.ts";
import type { ConfigCheckProblem } from "../../engine/plugin.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";

const Level = z.number().min(0).max(1);

export const NeedEntrySchema = z
  .strictObject({
    decay: z.number().min(0).optional().describe("need units (0..1) lost per tick; default rewards.decay_rates.<need> (required for a need the original does not have)"),
    initial: z
      .tuple([Level, Level])
      .refine(([lo, hi]) => lo <= hi, "expected [low, high] with low <= high")
      .optional()
      .describe("a new agent starts uniformly in [low, high]; default [0.5, 1]"),
    reward_weight: z.number().min(0).optional().describe("weight of the need's deficit in the per-tick reward; default rewards.needs_weights.<need>, else 0"),
    threshold: Level.optional().describe("the scripted controller sees to the need below this; default behavior.<need>_threshold, else 0.4"),
    urgency: z.number().min(0).optional().describe("multiplies the gap below the threshold when the controller ranks needs; default 1 (hunger 2)"),
    observe: z.boolean().optional().describe("give the need an observation feature need_<name>; default true"),
    label: z.string().min(1).optional().describe("name shown by telemetry and the observer; default the need's name"),
    colour: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "expected a colour #rrggbb")
      .optional()
      .describe("the observer's bar colour, #rrggbb"),
    enabled: z.boolean().optional().describe("false drops the need from this world; default true"),
  })
  .describe("one need; every key is optional over its default");

export const NeedsSection = z
  .record(
    z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, "expected a need name: lower-case letters, digits and _")
      .refine((n) => n !== "money", '"money" is the wallet, not a need'),
    NeedEntrySchema.prefault({}),
  )
  .optional()
  .describe("the needs agents have, by name: the defaults (hunger, hygiene, energy) and any further need, in the file's order; absent = the defaults (and the config hash of a file without it is what it was before needs were data)");

/** A need the original does not have must say how fast it decays. */
export function needsProblems(settings: ConfigSections): ConfigCheckProblem[] {
  const problems: ConfigCheckProblem[] = [];
  for (const [name, e] of Object.entries(settings.needs ?? {})) {
    if (!(name in DEFAULT_NEEDS) && e.decay === undefined && e.enabled !== false) {
      problems.push({ path: ["needs", name, "decay"], message: `expected the decay rate of need "${name}" (need units per tick, >= 0)` });
    }
  }
  return problems;
}

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    needs?: z.output<typeof NeedsSection>;
  }
}
