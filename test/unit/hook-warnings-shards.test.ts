// A sharded world (world.shards > 1) warns about a hook nothing registers once, not once per block
// (systems/affordances/hook-check.ts): on one worker (blocks in this thread) and on two (each
// block on a worker thread, its warnings posted to this thread), each distinct warning is printed
// once on stderr; and a warning only some blocks have (here: block 0's plug-in registers a hook
// the other block lacks) is printed too, so the blocks are not assumed to be alike.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { ShardedSim } from "../../engine/shards.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";
import { blockWarnings } from "../../systems/affordances/hook-check.ts";
import { affordancesOnlyFile } from "../helpers/affordances.ts";

const PLUGIN = fileURLToPath(new URL("../fixtures/hook-warn-blocks.ts", import.meta.url));
const BASE = readFileSync(affordancesOnlyFile("townlet-hookwarn-shards-"), "utf8");
const TYPO = `- id: quick_rinse
  object_type: shower
  duration: 2
  effects: {hygiene: 0.1}
  hooks:
    before: [on_attempt_shwer]
    after: [tally_rinse]
`;

const open: ShardedSim[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  vi.restoreAllMocks();
});

/** A manifest of its own per test (the warnings name it: no test's key is another's). */
function manifest(): string {
  const file = join(mkdtempSync(join(tmpdir(), "townlet-hookwarn-shards-")), "affordances.yaml");
  writeFileSync(file, `${BASE}${TYPO}`);
  return file;
}

describe("a sharded world's warnings about unregistered hooks", () => {
  for (const workers of [1, 2]) {
    it(`are printed once per world, each distinct one, blocks that differ included (${workers} worker${workers > 1 ? "s" : ""})`, async () => {
      const file = manifest();
      const lines: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      vi.spyOn(process.stderr, "write").mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        if (text.includes(file.split("/").slice(-2).join("/"))) {
          lines.push(...text.split("\n").filter((l) => l.length > 0));
          return true;
        }
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stderr.write);
      const met = blockWarnings.met;
      const sim = await ShardedSim.open({
        configFile: DEFAULT_CONFIG_FILE,
        build: { seed: 3, towns: 3, shards: 2, overrides: { "affordances.affordances_file": file, "world.agents_per_town": 1 } },
        pluginSpecs: [PLUGIN],
        host: SHARD_HOST,
        hostModule: SHARD_HOST_MODULE,
        workers,
        policy: "random",
      });
      open.push(sim);
      expect(sim.workers).toBe(workers);
      await sim.step();
      await sim.step();
      // Block 0 (1 town) warns about on_attempt_shwer; block 1 (2 towns) about it and tally_rinse.
      await vi.waitFor(() => expect(blockWarnings.met - met).toBe(3), { timeout: 20_000 });
      expect(lines).toHaveLength(2);
      expect(lines.filter((l) => l.includes('hook "on_attempt_shwer" is registered by no plug-in'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('hook "tally_rinse" is registered by no plug-in'))).toHaveLength(1);
      for (const l of lines) expect(l.startsWith("warning: ")).toBe(true);
    }, 120_000);
  }
});
