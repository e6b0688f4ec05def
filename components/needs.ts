// Needs: how satisfied an agent is, per need. 1 = fully satisfied, 0 = collapsed. The list of
// needs is data: the `needs:` config section (see systems/needs/config.ts) over the defaults
// below, resolved once per settings object by `needTable`. Every consumer (decay, spawn, the
// scripted controller, observations, rewards, affordance effects, telemetry, the observer)
// iterates the table; the Needs component has one Float32Array column per need, in table order.
import { defineComponent, type ComponentDef, type FieldSpec } from "../engine/component.ts";
import { defineResource } from "../engine/resource.ts";
import type { ConfigSections } from "../engine/config/sections.ts";

/** One need, resolved from config. */
export interface NeedSpec {
  /** Identifier: the Needs field, the affordance effect key, `need_<name>` in observations. */
  readonly name: string;
  /** Position in the table (and of its column in NeedsService.columns()). */
  readonly index: number;
  /** Need units (0..1) lost per tick, before the personality multiplier. */
  readonly decay: number;
  /** A new agent starts uniformly in [initial[0], initial[1]]. */
  readonly initial: readonly [number, number];
  /** Weight of the need's deficit term in the per-tick reward (unitless). */
  readonly reward_weight: number;
  /** The scripted controller sees to the need below this level (need units). */
  readonly threshold: number;
  /** Its gap below the threshold is multiplied by this when the controller ranks needs. */
  readonly urgency: number;
  /** The need has a feature (`need_<name>`) in observations. */
  readonly observe: boolean;
  /** Name shown by telemetry summaries and the observer. */
  readonly label: string;
  /** The observer's bar and series colour (CSS colour). */
  readonly colour: string;
}

/** The needs of a world, in order. */
export interface NeedTable {
  readonly list: readonly NeedSpec[];
  readonly names: readonly string[];
  /** Needs with an observation feature, in order. */
  readonly observed: readonly NeedSpec[];
  /** Index of a need by name, -1 when it is not in the table. */
  index(name: string): number;
}

type DefaultNeed = "hunger" | "hygiene" | "energy";

/**
 * The defaults: the original's three needs. What the original spells elsewhere (decay in
 * `rewards.decay_rates.<need>`, reward weight in `rewards.needs_weights.<need>`, threshold in
 * `behavior.<need>_threshold`) is read from there unless `needs.<need>` sets it.
 */
export const DEFAULT_NEEDS: Readonly<Record<DefaultNeed, Partial<Omit<NeedSpec, "name" | "index">>>> = {
  // Hunger is the need that ends a life (fainting): its gap counts double.
  hunger: { urgency: 2, colour: "#f0883e" },
  hygiene: { colour: "#3fa9f5" },
  energy: { colour: "#b47cf0" },
};

/** The default needs' names, in order (a world's table may drop some and add others). */
export const NEED_NAMES = Object.keys(DEFAULT_NEEDS) as readonly DefaultNeed[];
/** A need of the default table. */
export type NeedName = DefaultNeed;

const PALETTE = ["#2ec4b6", "#e4572e", "#76b041", "#ffc914", "#17bebb", "#c97b84"];

/** What `needs.<name>` may hold (validated by the needs plug-in's section schema). */
export interface NeedEntry {
  decay?: number;
  initial?: [number, number];
  reward_weight?: number;
  threshold?: number;
  urgency?: number;
  observe?: boolean;
  label?: string;
  colour?: string;
  enabled?: boolean;
}

const tables = new WeakMap<object, NeedTable>();

/**
 * The needs of these settings: the defaults (hunger, hygiene, energy) in their order, then the
 * further names of the `needs` section in the order the file lists them. An entry merges over
 * the default; `enabled: false` drops a need. Cached per settings object.
 */
export function needTable(settings: ConfigSections | Record<string, unknown>): NeedTable {
  const cached = tables.get(settings);
  if (cached) return cached;
  const s = settings as Record<string, unknown> & {
    needs?: Record<string, NeedEntry | undefined>;
    rewards?: { decay_rates?: Record<string, number>; needs_weights?: Record<string, number> };
    behavior?: Record<string, unknown>;
  };
  const given = s.needs ?? {};
  const names = [...NEED_NAMES, ...Object.keys(given).filter((n) => !(n in DEFAULT_NEEDS))];
  const list: NeedSpec[] = [];
  for (const name of names) {
    const e: NeedEntry = given[name] ?? {};
    if (e.enabled === false) continue;
    const d = (DEFAULT_NEEDS as Record<string, Partial<NeedSpec> | undefined>)[name] ?? {};
    const threshold = s.behavior?.[`${name}_threshold`];
    list.push({
      name,
      index: list.length,
      decay: e.decay ?? s.rewards?.decay_rates?.[name] ?? d.decay ?? 0,
      initial: e.initial ?? d.initial ?? [0.5, 1],
      reward_weight: e.reward_weight ?? s.rewards?.needs_weights?.[name] ?? d.reward_weight ?? 0,
      threshold: e.threshold ?? (typeof threshold === "number" ? threshold : (d.threshold ?? 0.4)),
      urgency: e.urgency ?? d.urgency ?? 1,
      observe: e.observe ?? d.observe ?? true,
      label: e.label ?? d.label ?? name,
      colour: e.colour ?? d.colour ?? PALETTE[(list.length - NEED_NAMES.length + PALETTE.length) % PALETTE.length],
    });
  }
  const byName = new Map(list.map((n) => [n.name, n.index]));
  const table: NeedTable = {
    list,
    names: list.map((n) => n.name),
    observed: list.filter((n) => n.observe),
    index: (name) => byName.get(name) ?? -1,
  };
  tables.set(settings, table);
  return table;
}

const NEED_DOC: Readonly<Record<string, string>> = {
  hunger: "satiety in [0,1]: 1 = sated, 0 = starving; falls by its decay rate per tick",
  energy: "rest in [0,1]: 0 = exhausted; falls by its decay rate per tick",
};
const needField = (name: string): FieldSpec<Float32ArrayConstructor> => ({
  type: Float32Array,
  default: 1,
  doc: NEED_DOC[name] ?? `${name} in [0,1]: 1 = satisfied; falls by its decay rate per tick`,
});

const template = defineComponent(
  "Needs",
  Object.fromEntries(NEED_NAMES.map((n) => [n, needField(n)])) as Record<DefaultNeed, FieldSpec<Float32ArrayConstructor>>,
  "per-agent needs, each clamped to [0,1]; one field per configured need (needs:), in table order",
);

const perWorld = new WeakMap<object, ComponentDef>();

/**
 * Per-agent needs, one Float32Array column per need of the world's table. Typed with the
 * default needs for code about a need the original has a rule for; anything iterating needs
 * reads `NeedsKey`'s columns. A world whose table is the default registers this very definition
 * (so the state hash and snapshots are the same as before needs were data).
 */
export const Needs: typeof template = {
  ...template,
  perWorld(settings: unknown): ComponentDef {
    const table = needTable(settings as ConfigSections);
    if (table.names.length === NEED_NAMES.length && table.names.every((n, i) => n === NEED_NAMES[i])) return Needs;
    let def = perWorld.get(settings as object);
    if (!def) {
      def = defineComponent("Needs", Object.fromEntries(table.names.map((n) => [n, needField(n)])), template.doc);
      perWorld.set(settings as object, def);
    }
    return def;
  },
};

/** What the needs plug-in offers: the table and the live columns in table order. */
export interface NeedsService {
  readonly table: NeedTable;
  /**
   * The Needs columns, indexed like `table.list`. The same array object every call; its
   * entries are replaced when the world's columns grow, so fetch it once per pass, not once
   * per run.
   */
  columns(): readonly Float32Array[];
}
export const NeedsKey = defineResource<NeedsService>("needs");
