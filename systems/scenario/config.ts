// Config section owned by the scenario system: `scenario` (scripted objects, agents and their
// cyclic intent schedules). Optional: absent means no scenario. Read at start by the scenario loader.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

const Tile = z.tuple([z.int().min(0), z.int().min(0)]).describe("tile [x, y]");
const Need = z.number().min(0).max(1);

export const ScenarioObject = z
  .strictObject({
    id: z.string().min(1).describe("object id"),
    type: z.string().min(1).describe("object type (stove, fridge, shower, ...)"),
    position: Tile.nullable().default(null).describe("tile of the object; null = not on the map"),
  })
  .describe("an object placed by the scenario");

export const SCENARIO_INTENT_KINDS = ["move", "request", "start", "release", "wait", "chat", "blocked"] as const;

export const ScenarioIntent = z
  .strictObject({
    kind: z.enum(SCENARIO_INTENT_KINDS).default("wait").describe("what the agent does this tick"),
    object: z.string().min(1).nullable().optional().describe("object id the intent is about"),
    affordance: z.string().min(1).nullable().optional().describe("affordance id; an unknown one is stub-registered"),
    position: Tile.optional().describe("destination tile for move"),
    blocked: z.boolean().optional().describe("the request is expected to be refused"),
    target: z.string().min(1).optional().describe("agent id, for chat"),
    duration: z.int().min(1).optional().describe("ticks for a stub-registered affordance (default: shift length, else 30)"),
  })
  .describe("one scripted intent; a schedule replays cyclically");

export const ScenarioAgent = z
  .strictObject({
    id: z.string().min(1).describe("agent id, visible in telemetry and the console"),
    position: Tile.default([0, 0]).describe("spawn tile"),
    needs: z
      .record(z.string().min(1), Need.describe("starting level, 0..1"))
      .default({})
      .describe("starting needs by need name (any need of the world's needs:); a need not given starts at 0.5"),
    wallet: z.number().min(0).default(0).describe("starting money"),
    job: z.string().min(1).optional().describe("job id from the jobs section"),
    personality_profile: z.string().min(1).optional().describe("personality profile (balanced, socialite, industrious, stoic)"),
    schedule: z.array(ScenarioIntent).default([]).describe("intents replayed cyclically; empty = the normal policy decides"),
  })
  .describe("an agent placed by the scenario");

export const ScenarioSection = z
  .strictObject({
    description: z.string().default("").describe("what the scenario exercises"),
    ticks: z.int().min(1).describe("ticks the scenario runs"),
    objects: z.array(ScenarioObject).default([]).describe("objects to place"),
    agents: z.array(ScenarioAgent).default([]).describe("agents to place"),
  })
  .superRefine((s, ctx) => {
    const seen = (list: { id: string }[], key: "objects" | "agents"): void => {
      const first = new Map<string, number>();
      list.forEach(({ id }, index) => {
        const at = first.get(id);
        if (at === undefined) first.set(id, index);
        else ctx.addIssue({ code: "custom", path: [key, index, "id"], message: `expected a unique id, got "${id}" again (first at ${key}[${at}])` });
      });
    };
    seen(s.objects, "objects");
    seen(s.agents, "agents");
  })
  .optional()
  .describe("scripted scenario; absent = none");

export type ScenarioConfig = z.output<typeof ScenarioSection>;

export const sections = {
  scenario: ScenarioSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    scenario: ScenarioConfig;
  }
}
