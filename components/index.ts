// Public surface of components/: shared component definitions and schedule sets.
export { Town, Agent } from "../engine/core-components.ts";
export { Needs, NEED_NAMES } from "./needs.ts";
export type { NeedName } from "./needs.ts";
export { NeedsSets } from "./sets.ts";
