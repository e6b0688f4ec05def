// The perturbation scheduler's data: its settings (inline or from a file), the parsed specs
// and the events it schedules.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { PerturbationKind } from "../../components/perturbations.ts";
import { PerturbationFile, type PerturbationFileConfig, type PerturbationsConfig } from "./config.ts";

/** A configured event spec, parsed. */
export interface Spec {
  name: string;
  kind: PerturbationKind;
  /** Credit per tick (prob_per_day / ticks_per_day). */
  p: number;
  cooldown: number;
  duration: { min: number; max: number };
  magnitude: { min: number; max: number };
  keys: string[];
  target: string;
  location: string;
  participants: number;
  suppress: boolean;
}

/** A scheduled (pending or active) event. */
export interface PEvent {
  n: number;
  town: number;
  spec: number;
  manual: boolean;
  starts_at: number;
  ends_at: number;
  duration: number;
  magnitude: number;
  /** Arranged meet participants (uids); chosen at activation unless given. */
  agents: number[];
  keys: string[];
  location: string;
  active: boolean;
}

/** The scheduler's settings: the inline block, or the file a bare config path names. */
export function perturbationSettings(settings: ConfigSections): PerturbationFileConfig {
  const v = (settings as Partial<ConfigSections>).perturbations as PerturbationsConfig | undefined;
  if (v === undefined) return PerturbationFile.parse({});
  if (typeof v === "string") return PerturbationFile.parse(parseYaml(readFileSync(v, "utf8")) ?? {});
  return v;
}

/** The specs of the settings, in config order (probabilities per tick). */
export function specTable(cfg: PerturbationFileConfig, perDay: number): Spec[] {
  return Object.entries(cfg.events).map(([name, e]) => ({
  name,
  kind: e.kind,
  p: e.probability_per_day / perDay,
  cooldown: e.cooldown_ticks,
  duration: e.duration,
  magnitude: e.kind === "price_spike" ? e.magnitude : { min: 1, max: 1 },
  keys: e.kind === "price_spike" ? [...e.targets] : [],
  target: e.kind === "arranged_meet" ? e.target : "",
  location: e.kind === "arranged_meet" ? e.location : "",
  participants: e.kind === "arranged_meet" ? e.max_participants : 0,
  suppress: e.suppress_exits ?? (e.kind === "blackout" || e.kind === "outage"),
  }));
}

/**
 * The list of a town (or window) with nothing in it, shared until its first push (frozen, so a
 * push on it throws instead of filling every town's list): per-town lists cost ~40 bytes each.
 */
export const NO_EVENTS: PEvent[] = Object.freeze([]) as unknown as PEvent[];
/** An event's participants before any are picked (frozen, shared: a pick replaces it). */
export const NO_UIDS: number[] = Object.freeze([]) as unknown as number[];
