// Observation bytes check (not a test, not timed): builds every observation variant of a few
// configs at several ticks and prints a sha256 of each batch (agents, map and features as
// Float32 bytes), one line per (config, variant, tick). Run before and after a change to the
// observation features and compare the outputs with diff: any changed byte shows.
// Run: node --import tsx bench/observation-bytes.ts [-- --ticks 1,50,400 --configs a.yaml,b.yaml]
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { buildWorld } from "../engine/build.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { corePlugins } from "../systems/index.ts";
import { buildObservations, observationSpec, VARIANTS } from "../systems/observations/index.ts";

const { values } = parseArgs({
  options: {
    ticks: { type: "string", default: "1,60,400,1200" },
    configs: { type: "string", default: "configs/default.yaml,configs/many-towns.yaml,examples/mods/thirst/config.yaml" },
  },
});
const ticks = values.ticks!.split(",").map(Number);
/** Every variant, then the optional blocks on (landmarks, personality) and the snippet off. */
const extras: [string, Record<string, unknown>][] = [
  ["plain", {}],
  ["targets+personality", { "observations_config.hybrid.include_targets": true, "features.observations.personality_channels": true }],
  ["no-snippet", { "observations_config.social_snippet.top_friends": 0, "observations_config.social_snippet.top_rivals": 0 }],
];
for (const file of values.configs!.split(",")) {
  const plugins = await resolvePlugins(corePlugins, file);
  for (const [label, overrides] of extras) {
    const { world } = buildWorld(file, plugins, { overrides });
    let at = 0;
    for (const t of ticks) {
      while (at < t) {
        // Building every tick (as a neural run does) also exercises the context tracking.
        if (at % 7 === 0) buildObservations(world);
        world.step();
        at++;
      }
      for (const v of VARIANTS) {
        const b = buildObservations(world, v);
        const h = createHash("sha256");
        h.update(Buffer.from(b.agents.buffer, b.agents.byteOffset, b.agents.byteLength));
        h.update(Buffer.from(b.map.buffer, b.map.byteOffset, b.map.byteLength));
        h.update(Buffer.from(b.features.buffer, b.features.byteOffset, b.features.byteLength));
        h.update(observationSpec(world, v).feature_names.join(","));
        console.log(`${file} ${label} ${v} tick=${world.tick} n=${b.count} F=${b.featureCount} ${h.digest("hex").slice(0, 16)}`);
      }
    }
  }
}
