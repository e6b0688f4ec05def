// The typed view of a validated configuration. Each section owner (a file beside the system
// that owns the section) augments `ConfigSections` with its section's output type, so any
// system reads `ctx.settings.<section>` fully typed without importing another system.
import type { z } from "zod";

/** Validated configuration sections, keyed by top-level YAML key. Augmented by section owners. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ConfigSections {}

/** A record of top-level section schemas, as a plug-in contributes them. */
export type SectionSchemas = Record<string, z.ZodType>;

const forms = new WeakMap<object, readonly z.ZodType[]>();

/**
 * Registers the forms a schema accepts, for schemas the loader cannot look inside: a section
 * validated by a custom transform (`z.unknown().transform(...)`) names the schemas it dispatches
 * to, so the loader still knows the keys allowed below it ("did you mean"). Register the transform's
 * schema itself, before wrapping it in `.prefault()`/`.optional()`. Returns `schema`.
 */
export function withForms<S extends z.ZodType>(schema: S, ...accepted: z.ZodType[]): S {
  forms.set(schema, accepted);
  return schema;
}

/** The forms registered for `schema` by `withForms`, if any. */
export function formsOf(schema: unknown): readonly z.ZodType[] | undefined {
  return typeof schema === "object" && schema !== null ? forms.get(schema) : undefined;
}
