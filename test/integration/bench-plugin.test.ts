// `townlet bench --plugin PATH` and `townlet bench CONFIG` (issue #15 item 4): a modder benchmarks
// a mod. The plug-in runs in every size's world (its system in the per-system times, its component
// in the column table), in every worker with --workers (the final state hash changes); a mod's
// config brings its plug-ins and its need; a missing path, or a mod refusing the bench's own
// config, is one error naming it before any size runs. Tiny sizes and few ticks: the shape of the
// output, never a timing.
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../tools/cli.ts";

// Relative to the working folder, as a modder types it (the child process must resolve it the same way).
const GRAFFITI = relative(process.cwd(), fileURLToPath(new URL("../fixtures/graffiti.ts", import.meta.url)));

const THIRST_CONFIG = relative(process.cwd(), fileURLToPath(new URL("../../examples/mods/thirst/config.yaml", import.meta.url)));
const THIRST = relative(process.cwd(), fileURLToPath(new URL("../../examples/mods/thirst/thirst.ts", import.meta.url)));

async function bench(args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(["bench", ...args], { log: (l) => stdout.push(...l.split("\n")), err: (l) => stderr.push(...l.split("\n")) });
  return { code, stdout, stderr };
}

describe("townlet bench --plugin", () => {
  it("runs the mod's system in each size's child process: it shows in system_ms and its component in column_table", async () => {
    const r = await bench(["--plugin", GRAFFITI, "--agents", "16", "--ticks", "3", "--warmup", "1", "--json", "--quiet"]);
    expect(r.stderr.filter((l) => /failed|error/i.test(l))).toEqual([]);
    expect(r.code).toBe(0);
    const res = (JSON.parse(r.stdout.at(-1)!) as { results: { system_ms: Record<string, number>; column_table: { column: string }[] }[] }).results[0];
    expect(Object.keys(res.system_ms)).toContain("graffiti/spray");
    expect(res.column_table.map((c) => c.column)).toContain("Tagged.count");
  }, 120_000);

  it("without --plugin the bench world has no such system", async () => {
    const r = await bench(["--agents", "16", "--ticks", "3", "--warmup", "1", "--in-process", "--json", "--quiet"]);
    expect(r.code).toBe(0);
    const res = (JSON.parse(r.stdout.at(-1)!) as { results: { system_ms: Record<string, number> }[] }).results[0];
    expect(Object.keys(res.system_ms)).toContain("needs/decay");
    expect(Object.keys(res.system_ms)).not.toContain("graffiti/spray");
  }, 120_000);

  it("loads the mod in the workers of a sharded bench: the final state hash differs from the core world's", async () => {
    const hash = async (extra: string[]) => {
      const r = await bench(["--workers", "1", "--agents", "16", "--ticks", "4", "--warmup", "1", "--seed", "5", "--in-process", "--json", "--quiet", ...extra]);
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout.at(-1)!) as { results: { state_hash: string }[] }).results[0].state_hash;
    };
    const core = await hash([]);
    expect(await hash(["--plugin", GRAFFITI])).not.toBe(core);
  }, 120_000);

  it("benchmarks a mod's config (its plugins: loaded): the mod's system and need are in the results, in towns of 8", async () => {
    const r = await bench([THIRST_CONFIG, "--agents", "16", "--ticks", "3", "--warmup", "1", "--json", "--quiet"]);
    expect(r.code).toBe(0);
    const res = (JSON.parse(r.stdout.at(-1)!) as { results: { towns: number; config_id: string; system_ms: Record<string, number>; column_table: { column: string }[] }[] }).results[0];
    expect(res.config_id).toBe("townlet-thirst-mod-v1");
    expect(res.towns).toBe(2);
    expect(Object.keys(res.system_ms)).toContain("thirst/work");
    expect(res.column_table.map((c) => c.column)).toContain("Needs.thirst");
  }, 120_000);

  it("refuses a mod's plug-in without its config before any size runs: the mod's own check, naming the file", async () => {
    const r = await bench(["--plugin", THIRST, "--agents", "16", "--ticks", "3"]);
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/many-towns\.yaml:\d+: needs: plug-in "thirst" needs a `thirst` entry under needs:/);
    expect(r.stderr.some((l) => /^bench: 16 agents/.test(l))).toBe(false);
  });

  it("refuses --plugin with the policy suite, which builds its own worlds", async () => {
    const r = await bench(["--plugin", GRAFFITI, "--suite", "policy", "--agents", "16"]);
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/--plugin: only with --suite sim/);
  });

  it("refuses a missing plug-in with exit 1 and an error naming the path, before any size runs", async () => {
    const r = await bench(["--plugin", "no/such-mod.ts", "--agents", "16", "--ticks", "3", "--json"]);
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/--plugin: plug-in "no\/such-mod\.ts" not found/);
    expect(r.stderr.some((l) => /^bench: 16 agents/.test(l))).toBe(false);
    expect(r.stdout.filter((l) => l.startsWith("{"))).toEqual([]);
  });
});
