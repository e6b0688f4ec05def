// The typed view of a validated configuration. Each section owner (a file beside the system
// that owns the section) augments `ConfigSections` with its section's output type, so any
// system reads `ctx.settings.<section>` fully typed without importing another system.
import type { z } from "zod";

/** Validated configuration sections, keyed by top-level YAML key. Augmented by section owners. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ConfigSections {}

/** A record of top-level section schemas, as a plug-in contributes them. */
export type SectionSchemas = Record<string, z.ZodType>;
