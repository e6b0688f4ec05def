// Config owned by the affordances system: the `affordances` section (manifest path, runtime hooks)
// and `AffordanceManifest`, the schema of an affordance file (configs/affordances/*.yaml).
// Precondition expressions stay strings here; the precondition compiler parses them.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";
import type { ConfigCheckProblem } from "../../engine/plugin.ts";

export const AffordanceRuntimeSettings = z
  .strictObject({
    factory: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('the original\'s "module:export" of a custom affordance runtime; only null (the built-in runtime) is supported: another value is an error'),
    instrumentation: z
      .enum(["off", "timings"])
      .default("off")
      .describe('"timings": record per-affordance counts and milliseconds of starts, finishes, failures and hooks (console affordance_timings, telemetry section affordance_timings); "off": nothing recorded, at no cost'),
    options: z.record(z.string(), z.unknown()).default({}).describe("free-form options for a runtime factory; accepted and unused (as by the original's built-in runtime)"),
    hook_allowlist: z.array(z.string().min(1)).default([]).describe("hook modules allowed to register affordance hooks"),
    allow_env_hooks: z
      .boolean()
      .default(true)
      .describe("also load hook modules named in TOWNLET_AFFORDANCE_HOOK_MODULES (comma-separated)"),
  })
  .prefault({})
  .describe("affordance runtime and hook loading");

export const AffordancesSection = z
  .strictObject({
    affordances_file: z
      .string()
      .min(1)
      .default("configs/affordances/core.yaml")
      .describe("affordance manifest path; relative paths resolve against the config's folder, then each folder above"),
    runtime: AffordanceRuntimeSettings,
  })
  .prefault({})
  .describe("affordance manifest and runtime");

/**
 * `affordances.runtime.factory`: the original imports the "module:export" it names and uses the
 * object that callable returns as the world's affordance runtime (its own runtime class's
 * interface). The runtime here is the affordances plug-in's (runtime.ts and its generated loops),
 * with no such seam: a config that names a factory is refused, naming the key, not run with the
 * built-in runtime in its place. Hooks (a plug-in's setup, hook modules) and plug-ins are the ways
 * to change what affordances do.
 */
export function runtimeFactoryProblems(settings: { affordances: AffordancesConfig }): ConfigCheckProblem[] {
  const factory = settings.affordances.runtime.factory;
  if (factory === null) return [];
  return [
    {
      path: ["affordances", "runtime", "factory"],
      message:
        `a custom affordance runtime ("${factory}") is not supported: this engine has one affordance runtime, the affordances plug-in's. ` +
        "Set it to null or leave it out; to change what affordances do, register hooks (affordances.runtime.hook_allowlist, or a plug-in's setup) or write a plug-in (docs/modding.md)",
    },
  ];
}

/**
 * What an affordance effect may change: a need of the world's table (need units, 0..1; checked
 * against `needs:` when a world starts) or money.
 */
export const EffectKey = z.string().regex(/^[a-z][a-z0-9_]*$/, "expected a need name (hunger, ...) or money");

const TilePosition = z.tuple([z.int().min(0), z.int().min(0)]).describe("tile [x, y]");
const NonBlank = z.string().trim().min(1);

/** A list of strings; a single string is read as a one-item list and null as none, as in the original. */
const StringList = z
  .union([z.array(NonBlank), NonBlank.transform((s) => [s]), z.null().transform((): string[] => [])])
  .default([]);

export const ManifestObject = z
  .strictObject({
    type: z.literal("object").describe("marks an object entry"),
    id: NonBlank.describe("object id, unique across the manifest"),
    object_type: NonBlank.describe("object type that affordances name (fridge, shower, ...)"),
    position: TilePosition.nullable().default(null).describe("tile of the object; null = not on the map"),
    stock: z
      .record(NonBlank, z.int().min(0))
      .default({})
      .describe("starting stock and utility flags (meals, raw_ingredients, power_on 0/1, water_on 0/1, ...), overriding the type's defaults"),
  })
  .describe("an interactive object registered at load");

export const ManifestAffordance = z
  .strictObject({
    type: z.literal("affordance").default("affordance").describe("marks an affordance entry (the default)"),
    id: NonBlank.describe("affordance id, unique across the manifest"),
    object_type: NonBlank.describe("object type this affordance runs on"),
    preconds: StringList.describe('precondition expressions, all must hold (e.g. "power_on == true")'),
    duration: z.int().min(1).describe("ticks from start to finish"),
    effects: z
      .record(EffectKey, z.number())
      .default({})
      .describe("change applied on finish: need units for needs, money units for money"),
    hooks: z
      .strictObject({
        before: StringList.describe("hooks run when the affordance starts"),
        after: StringList.describe("hooks run when it finishes"),
        fail: StringList.describe("hooks run when it fails"),
      })
      .prefault({})
      .describe("hook names by hook point"),
  })
  .describe("an action an agent can run on an object");

export const ManifestEntry = z.discriminatedUnion("type", [ManifestObject, ManifestAffordance]);

export const AffordanceManifest = z
  .array(ManifestEntry)
  .superRefine((entries, ctx) => {
    const firstIndex = new Map<string, number>();
    entries.forEach((entry, index) => {
      const first = firstIndex.get(entry.id);
      if (first === undefined) {
        firstIndex.set(entry.id, index);
        return;
      }
      ctx.addIssue({
        code: "custom",
        path: [index, "id"],
        message: `expected a unique id, got "${entry.id}" again (first at entry ${first})`,
      });
    });
  })
  .describe("affordance manifest: a list of object and affordance entries");

export type AffordancesConfig = z.output<typeof AffordancesSection>;
export type ManifestObjectEntry = z.output<typeof ManifestObject>;
export type ManifestAffordanceEntry = z.output<typeof ManifestAffordance>;
export type AffordanceManifestEntries = z.output<typeof AffordanceManifest>;

export const sections = {
  affordances: AffordancesSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    affordances: AffordancesConfig;
  }
}
