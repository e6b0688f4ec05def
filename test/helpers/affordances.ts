// configs/affordances/core.yaml without its objects, written once to a temporary file: tests that
// place their own objects point `affordances.affordances_file` at it.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { Intent } from "../../components/activity.ts";
import type { World } from "../../engine/world.ts";
import { makeWorld } from "./world.ts";

const CORE_YAML = fileURLToPath(new URL("../../configs/affordances/core.yaml", import.meta.url));

/** Writes the core affordances without core.yaml's objects under a new temp dir named by `prefix`; returns the file. */
export function affordancesOnlyFile(prefix: string): string {
  const entries = (parse(readFileSync(CORE_YAML, "utf8")) as { type?: string }[]).filter((e) => e.type !== "object");
  const file = join(mkdtempSync(join(tmpdir(), prefix)), "affordances-only.yaml");
  writeFileSync(file, stringify(entries));
  return file;
}

let affordancesOnly: string | undefined;

/** A 12x12 town with no agents, objects, jobs, need decay or deaths (the core affordances, no objects); `extra` sections merged on top. */
export function affordanceTown(extra: Record<string, unknown> = {}): World {
  affordancesOnly ??= affordancesOnlyFile("townlet-aff-");
  return makeWorld({
    world: { agents_per_town: 0, grid_size: [12, 12] },
    affordances: { affordances_file: affordancesOnly },
    jobs: {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    ...extra,
  });
}

/** Writes a hand-driven agent's intent for the coming tick. */
export function intendAt(w: World, eid: number, kind: number, object = 0, affordance = -1): void {
  const I = w.columns(Intent);
  I.kind[eid] = kind;
  I.object[eid] = object;
  I.affordance[eid] = affordance;
}
