// Config section owned by the economy system: `economy`, a free-form price table.
// Console `price` commands and price-spike perturbations change these values at run time.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

/** Prices and costs every town starts with; keys given in a config override these, the rest remain. */
export const ECONOMY_DEFAULTS = {
  meal_cost: 0.4,
  cook_energy_cost: 0.05,
  cook_hygiene_cost: 0.02,
  wage_income: 0.02,
  ingredients_cost: 0.15,
  stove_stock_replenish: 2,
  /** Money a new agent starts with (not a key of the original's table; scenario agents set their own). */
  starting_wallet: 1,
} as const;

/** Known economy keys, always present after validation, plus any extra key a config or plug-in adds. */
export type EconomyConfig = { -readonly [K in keyof typeof ECONOMY_DEFAULTS]: number } & Record<string, number>;

export const EconomySection = z
  .record(
    z.string().min(1),
    z.number().min(0).describe("price, cost or stock amount: money units, need units or item count"),
  )
  .transform((given): EconomyConfig => ({ ...ECONOMY_DEFAULTS, ...given }))
  .prefault({})
  .describe("economy table: name -> finite value >= 0, merged over the defaults");

export const sections = {
  economy: EconomySection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    economy: EconomyConfig;
  }
}
