// `townlet bench --config FILE` with affordance hook modules (`affordances.runtime.hook_allowlist`,
// systems/affordances/hook-modules.ts): the bench resolves its plug-ins the way `run` does
// (engine/plugin-loader.ts resolvePlugins, which adds the hook modules' plug-in), in this process,
// in each size's child process and in every --workers worker; a module it cannot load is one error
// naming the module, the key and the file before any size runs. The fixture's tip jar
// (test/fixtures/hook-modules/tip-jar.ts) tips every agent that starts an affordance: with it on
// the allowlist the final state hash differs from the same town's with an empty allowlist. Tiny
// sizes and few ticks: never a timing.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../tools/cli.ts";

const DIR = resolve("test/fixtures/hook-modules");
const RUN = ["--agents", "16", "--ticks", "4", "--warmup", "1", "--seed", "5", "--json", "--quiet"];

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "townlet-bench-hooks-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The hook-modules fixture town (two towns of 8) with this allowlist, as a config file of the test's folder. */
function town(name: string, allowlist: string[]): string {
  const file = join(tmp, name);
  const lines = [
    'config_id: "hook-modules-fixture"',
    "seed: 11",
    "world: {grid_size: [16, 16], towns: 2, agents_per_town: 8}",
    "rewards: {decay_rates: {hunger: 0.004, hygiene: 0.003, energy: 0.003}}",
    "economy: {starting_wallet: 3.0}",
    "jobs: {grocer: {start_tick: 180, end_tick: 360, wage_rate: 0.03, lateness_penalty: 0.1, location: [2, 2]}}",
    `affordances: ${JSON.stringify({ affordances_file: join(DIR, "manifest.yaml"), runtime: { hook_allowlist: allowlist } })}`,
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function bench(args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(["bench", ...args], { log: (l) => stdout.push(...l.split("\n")), err: (l) => stderr.push(...l.split("\n")) });
  return { code, stdout, stderr };
}

/** The final state hash of a bench run that must succeed. */
async function hashOf(args: string[]): Promise<string> {
  const r = await bench(args);
  expect(r.stderr.filter((l) => /failed|error|not loaded/i.test(l))).toEqual([]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout.at(-1)!) as { results: { state_hash: string }[] }).results[0].state_hash;
}

describe("townlet bench --config with hook modules", () => {
  it("loads the allow-listed module in this process and in the size's child process: the tips change the run, the same in both", async () => {
    const tips = town("tips.yaml", [join(DIR, "tip-jar.ts")]);
    const plain = town("plain.yaml", []);
    const here = await hashOf(["--config", tips, "--in-process", ...RUN]);
    expect(here).not.toBe(await hashOf(["--config", plain, "--in-process", ...RUN]));
    expect(await hashOf(["--config", tips, ...RUN])).toBe(here);
  }, 120_000);

  it("loads it in the workers of a sharded bench", async () => {
    const tips = town("tips-w.yaml", [join(DIR, "tip-jar.ts")]);
    const plain = town("plain-w.yaml", []);
    const workers = ["--workers", "1", "--in-process", ...RUN];
    expect(await hashOf(["--config", tips, ...workers])).not.toBe(await hashOf(["--config", plain, ...workers]));
  }, 120_000);

  it("refuses a module it cannot find with exit 1, naming the module, the key and the file, before any size runs", async () => {
    const bad = town("missing.yaml", ["./no-such-hooks.ts"]);
    const r = await bench(["--config", bad, ...RUN]);
    expect(r.code).toBe(1);
    const err = r.stderr.join("\n");
    expect(err).toContain("no-such-hooks.ts");
    expect(err).toContain("affordances.runtime.hook_allowlist");
    expect(err).toContain(bad);
    expect(r.stderr.some((l) => /^bench: 16 agents/.test(l))).toBe(false);
  });
});
