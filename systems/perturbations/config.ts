// Config owned by the perturbation scheduler: `PerturbationFile` (the format of
// configs/perturbations/*.yaml) and the `perturbations` section (a path to such a file, or the same
// block inline). Read at start by the scheduler phase; the loader resolves a path to its file.
import { z } from "zod";
import { withForms, type SectionSchemas } from "../../engine/config/sections.ts";
import { PRICE_MULTIPLIER_MAX } from "../../components/economy.ts";

/** Checks an inclusive range once it is in {min, max} form. */
function checkRange(range: { min: number; max: number }, ctx: z.RefinementCtx): void {
  if (range.max < range.min) {
    ctx.addIssue({ code: "custom", message: `expected min <= max, got min ${range.min} > max ${range.max}` });
  }
}

/** Ticks, written as `n`, `[min, max]` or `{min, max}` ({min} alone means max = min); normalised to {min, max}. */
export const IntRange = z
  .union([
    z.int().min(0).transform((n) => ({ min: n, max: n })),
    z.tuple([z.int().min(0), z.int().min(0)]).transform(([min, max]) => ({ min, max })),
    z
      .strictObject({ min: z.int().min(0).default(0), max: z.int().min(0).optional() })
      .transform((r) => ({ min: r.min, max: r.max ?? r.min })),
  ])
  .superRefine(checkRange)
  .describe("inclusive tick range: n, [min, max] or {min, max}");

/** A factor, written as `x`, `[min, max]` or `{min, max}`; normalised to {min, max}. */
export const FloatRange = z
  .union([
    z.number().min(0).transform((x) => ({ min: x, max: x })),
    z.tuple([z.number().min(0), z.number().min(0)]).transform(([min, max]) => ({ min, max })),
    z
      .strictObject({ min: z.number().min(0).default(0), max: z.number().min(0).optional() })
      .transform((r) => ({ min: r.min, max: r.max ?? r.min })),
  ])
  .superRefine(checkRange)
  .describe("inclusive range: x, [min, max] or {min, max}");

export type TickRange = z.output<typeof IntRange>;
export type FactorRange = z.output<typeof FloatRange>;

/** Fields every event spec has; aliases are folded into the canonical names after validation. */
const baseEvent = {
  probability_per_day: z.number().min(0).optional().describe("expected firings per simulated day (alias prob_per_day); default 0"),
  prob_per_day: z.number().min(0).optional().describe("alias of probability_per_day"),
  cooldown_ticks: z.int().min(0).default(0).describe("ticks after an event ends before this spec may fire again"),
  duration: IntRange.optional().describe("event length in ticks, drawn uniformly from the range; default 0"),
  duration_min: IntRange.optional().describe("alias of duration"),
  suppress_exits: z
    .boolean()
    .optional()
    .describe("defer needs-driven exits (faints) in the town while the event is active; default true for blackout and outage, false otherwise"),
};

/** A price spike's factor: at most the highest price multiplier (components/economy.ts). */
const Magnitude = FloatRange.refine((r) => r.max <= PRICE_MULTIPLIER_MAX, { message: `expected a magnitude <= ${PRICE_MULTIPLIER_MAX} (the highest price multiplier)` });

const PriceSpikeSpec = z.strictObject({
  kind: z.literal("price_spike").describe("event kind"),
  ...baseEvent,
  magnitude: Magnitude.optional().describe("price multiplier, drawn uniformly from the range (alias magnitude_range); default 1"),
  magnitude_range: Magnitude.optional().describe("alias of magnitude"),
  targets: z.array(z.string().min(1)).default([]).describe("economy keys or job ids whose price is multiplied"),
});

const BlackoutSpec = z.strictObject({
  kind: z.literal("blackout").describe("event kind"),
  ...baseEvent,
  utility: z.literal("power").default("power").describe("utility cut off"),
});

const OutageSpec = z.strictObject({
  kind: z.literal("outage").describe("event kind"),
  ...baseEvent,
  utility: z.literal("water").default("water").describe("utility cut off"),
});

const ArrangedMeetSpec = z.strictObject({
  kind: z.literal("arranged_meet").describe("event kind"),
  ...baseEvent,
  target: z.string().min(1).default("top_rivals").describe("who is brought together (e.g. top_rivals)"),
  location: z.string().min(1).default("cafe").describe("object id or type the participants are moved to"),
  max_participants: z.int().min(2).default(2).describe("agents brought together"),
});

export const PERTURBATION_KINDS = ["price_spike", "blackout", "outage", "arranged_meet"] as const;

export const PerturbationEventSpec = z
  .discriminatedUnion("kind", [PriceSpikeSpec, BlackoutSpec, OutageSpec, ArrangedMeetSpec])
  .superRefine((e, ctx) => {
    const aliases: [canonical: string, alias: string][] = [
      ["probability_per_day", "prob_per_day"],
      ["duration", "duration_min"],
      ["magnitude", "magnitude_range"],
    ];
    const given = e as Record<string, unknown>;
    for (const [canonical, alias] of aliases) {
      if (given[canonical] !== undefined && given[alias] !== undefined) {
        ctx.addIssue({ code: "custom", path: [alias], message: `expected only one of ${canonical} / ${alias}, got both` });
      }
    }
  })
  .transform((e) => {
    const { prob_per_day, probability_per_day, duration_min, duration, ...rest } = e;
    const base = {
      probability_per_day: probability_per_day ?? prob_per_day ?? 0,
      duration: duration ?? duration_min ?? { min: 0, max: 0 },
    };
    if (rest.kind === "price_spike") {
      const { magnitude, magnitude_range, ...spike } = rest;
      return { ...spike, ...base, magnitude: magnitude ?? magnitude_range ?? { min: 1, max: 1 } };
    }
    return { ...rest, ...base };
  })
  .describe("one perturbation event spec, by kind");

export const PerturbationFile = z
  .strictObject({
    max_concurrent_events: z.int().min(1).default(1).describe("events active at once, at most"),
    global_cooldown_ticks: z.int().min(0).default(0).describe("ticks added to every spec's cooldown after an event ends"),
    per_agent_cooldown_ticks: z.int().min(0).default(0).describe("ticks an affected agent is spared after an event ends"),
    grace_window_ticks: z.int().min(0).default(60).describe("ticks after start during which the scheduler draws no event (manual ones still run; the original parses it but never uses it)"),
    window_ticks: z.int().min(1).default(1440).describe("length of the per-spec rate window, ticks"),
    max_events_per_window: z.int().min(0).default(1).describe("firings per spec per window, at most"),
    events: z.record(z.string().min(1), PerturbationEventSpec).default({}).describe("spec name -> event spec"),
  })
  .describe("perturbation scheduler settings and event catalogue");

export type PerturbationEventConfig = z.output<typeof PerturbationEventSpec>;
export type PerturbationFileConfig = z.output<typeof PerturbationFile>;

const PerturbationPath = z.string().trim().min(1).describe("path to a perturbation file, resolved by the loader");

/**
 * `perturbations:` is a path or an inline block. Dispatching on the JavaScript type (instead of a
 * z.union) keeps issue paths pointing at the offending key rather than at a union of both readings;
 * `withForms` tells the loader which keys the block allows, for "did you mean".
 */
export const PerturbationsSection = withForms(
  z.unknown().transform((value, ctx): string | PerturbationFileConfig => {
    const result = typeof value === "string" ? PerturbationPath.safeParse(value) : PerturbationFile.safeParse(value ?? {});
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      ctx.addIssue({ ...issue });
    }
    return z.NEVER;
  }),
  PerturbationPath,
  PerturbationFile,
)
  .prefault({})
  .describe("perturbations: a file path (string) or an inline block; default inline with no events");

export type PerturbationsConfig = z.output<typeof PerturbationsSection>;

export const sections = {
  perturbations: PerturbationsSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    perturbations: PerturbationsConfig;
  }
}
