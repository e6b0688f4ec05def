// `townlet bench`: with --json the last stdout line holds tensor_backend and one result per size
// with every contract field (ARCHITECTURE.md §8), numbers finite and positive; bad flags exit 1.
// Tiny sizes and few ticks: this checks the shape of the output, never a timing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../tools/cli.ts";

async function bench(args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(["bench", ...args], { log: (l) => stdout.push(...l.split("\n")), err: (l) => stderr.push(...l.split("\n")) });
  return { code, stdout, stderr };
}

const CONTRACT = ["agents", "towns", "policy", "agent_steps_per_sec", "ms_per_tick", "bytes_per_agent", "baseline_ratio"] as const;

function expectContract(summary: Record<string, unknown>, agents: number, towns: number): Record<string, unknown> {
  expect(typeof summary.tensor_backend).toBe("string");
  const results = summary.results as Record<string, unknown>[];
  expect(results).toHaveLength(1);
  const r = results[0];
  for (const k of CONTRACT) expect(r, k).toHaveProperty(k);
  expect(r.agents).toBe(agents);
  expect(r.towns).toBe(towns);
  expect(r.policy).toBe("scripted");
  for (const k of ["agent_steps_per_sec", "ms_per_tick", "baseline_ratio"] as const) {
    expect(Number.isFinite(r[k]), k).toBe(true);
    expect(r[k] as number, k).toBeGreaterThan(0);
  }
  // Heap growth over a world of a few dozen agents is within the collector's noise (it was seen
  // negative under load): finite here; the columns' own bytes are exact and must be there.
  expect(Number.isFinite(r.bytes_per_agent), "bytes_per_agent").toBe(true);
  expect(r.column_bytes_per_agent as number).toBeGreaterThan(0);
  expect(r.ticks).toBe(5);
  const systems = r.system_ms as Record<string, number>;
  expect(Object.keys(systems)).toContain("needs/decay");
  for (const ms of Object.values(systems)) expect(Number.isFinite(ms)).toBe(true);
  return r;
}

describe("townlet bench", () => {
  it("prints one JSON line with tensor_backend and a result per size holding every contract field", async () => {
    const r = await bench(["--agents", "800", "--ticks", "5", "--json"]);
    expect(r.stderr.filter((l) => /failed|error/i.test(l))).toEqual([]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.at(-1)!) as Record<string, unknown>;
    expectContract(summary, 800, 100);
    expect(summary.tensor_backend).toBe("none");
  });

  it("writes one --tick-csv file per size from the child processes: a header, then one line per timed tick in tick order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-tickcsv-"));
    try {
      const r = await bench(["--agents", "64,96", "--ticks", "5", "--warmup", "2", "--json", "--quiet", "--clock", "cpu", "--tick-csv", join(dir, "ticks.csv")]);
      expect(r.code).toBe(0);
      for (const agents of [64, 96]) {
        const lines = readFileSync(join(dir, `ticks-${agents}.csv`), "utf8").trimEnd().split("\n");
        const head = lines[0].split(",");
        expect(head.slice(0, 9)).toEqual(["tick", "tick_of_day", "wall_ms", "cpu_ms", "outside_ms", "minor_gcs", "major_gcs", "gc_ms", "heap_mb"]);
        expect(head).toContain("needs/decay");
        expect(lines.slice(1).map((l) => Number(l.split(",")[0]))).toEqual([3, 4, 5, 6, 7]);
        for (const l of lines.slice(1)) expect(l.split(",")).toHaveLength(head.length);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs a size several times with --repeat, the later runs on the first run's ticks, and summarises them tick by tick", async () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-repeat-"));
    try {
      // No --ticks/--warmup: run 1 picks them by time, runs 2 and 3 must time the same ticks.
      const r = await bench(["--agents", "96", "--repeat", "3", "--json", "--quiet", "--tick-csv", join(dir, "t.csv")]);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout.at(-1)!) as { results: { ticks: number; warmup_ticks: number; state_hash: string; tick_wall_ms?: unknown }[]; repeats: { agents: number; runs: number; ticks: number; same_state_hash: boolean; per_run: unknown[]; tick_median: { tick_ms_p50: number; tick_ms_p99: number }; tick_min: { tick_ms_p50: number } }[] };
      expect(out.results).toHaveLength(3);
      expect(new Set(out.results.map((x) => `${x.warmup_ticks}/${x.ticks}/${x.state_hash}`)).size).toBe(1);
      // The per-tick arrays feed the summary; they are not printed.
      expect(out.results.every((x) => x.tick_wall_ms === undefined)).toBe(true);
      const s = out.repeats[0];
      expect([s.agents, s.runs, s.ticks, s.same_state_hash, s.per_run.length]).toEqual([96, 3, out.results[0].ticks, true, 3]);
      expect(s.tick_min.tick_ms_p50).toBeLessThanOrEqual(s.tick_median.tick_ms_p50);
      for (const k of [1, 2, 3]) expect(readFileSync(join(dir, `t-run${k}.csv`), "utf8").trimEnd().split("\n")).toHaveLength(out.results[0].ticks + 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Where transparent huge pages can be asked for (Linux, "madvise" or "always"), a world of 20k
  // agents has columns of several 2 MB pages; glibc 2.35+ maps them on huge pages with the tunable.
  const thpMode = (() => {
    try {
      return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1];
    } catch {
      return undefined;
    }
  })();
  const thp = thpMode === "madvise" || thpMode === "always";
  type HugeRow = { huge_pages_mb: number | null; column_bytes_per_agent: number };
  it.skipIf(!thp)("puts a size's columns on transparent huge pages with --huge-pages and says how many MB; not by default", async () => {
    const on = await bench(["--agents", "20000", "--ticks", "3", "--warmup", "1", "--huge-pages", "--json", "--quiet"]);
    expect(on.code).toBe(0);
    const [res] = (JSON.parse(on.stdout.at(-1)!) as { results: HugeRow[] }).results;
    // At least half of the columns' bytes (the rest: stores under 2 MB, partial pages).
    const columnsMb = (res.column_bytes_per_agent * 20000) / 2 ** 20;
    expect(res.huge_pages_mb!).toBeGreaterThanOrEqual(columnsMb / 2);
    if (thpMode !== "madvise" || /hugetlb/.test(process.env.GLIBC_TUNABLES ?? "")) return; // "always": every process gets them
    for (const flags of [[], ["--no-huge-pages"]]) {
      const off = await bench(["--agents", "20000", "--ticks", "3", "--warmup", "1", ...flags, "--json", "--quiet"]);
      expect(off.code).toBe(0);
      const [plain] = (JSON.parse(off.stdout.at(-1)!) as { results: HugeRow[] }).results;
      expect(plain.huge_pages_mb!).toBeLessThan(columnsMb / 4);
    }
  });

  it("refuses --huge-pages where it cannot set a child's environment, but not --no-huge-pages", async () => {
    const r = await bench(["--agents", "64", "--ticks", "2", "--huge-pages", "--in-process", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/--huge-pages: sets the environment of the size's child process/);
    const ok = await bench(["--agents", "64", "--ticks", "2", "--warmup", "0", "--no-huge-pages", "--in-process", "--quiet"]);
    expect(ok.code).toBe(0);
  });

  it("refuses --repeat with --in-process, naming why", async () => {
    const r = await bench(["--agents", "64", "--ticks", "3", "--repeat", "2", "--in-process", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/--repeat: each run needs a fresh process/);
  });

  it("runs one big town in this process with --layout big --in-process", async () => {
    const r = await bench(["--agents", "200", "--ticks", "5", "--warmup", "2", "--layout", "big", "--in-process", "--json", "--quiet"]);
    expect(r.code).toBe(0);
    const res = expectContract(JSON.parse(r.stdout.at(-1)!) as Record<string, unknown>, 200, 1);
    expect(res.layout).toBe("big");
  });

  it("reports tick-time percentiles, major GCs per 10k ticks and a bytes-per-column table that adds up to the column total", async () => {
    const r = await bench(["--agents", "96", "--ticks", "5", "--warmup", "2", "--in-process", "--json", "--quiet"]);
    expect(r.code).toBe(0);
    const res = expectContract(JSON.parse(r.stdout.at(-1)!) as Record<string, unknown>, 96, 12);
    const p50 = res.tick_ms_p50 as number;
    const p99 = res.tick_ms_p99 as number;
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeGreaterThanOrEqual(p50);
    expect(res.tick_ms_max as number).toBeGreaterThanOrEqual(p99);
    expect(res.p99_over_p50).toBeCloseTo(p99 / p50, 2);
    expect(Number.isFinite(res.major_gcs_per_10k_ticks)).toBe(true);
    expect((res.major_gc_list as unknown[]).length).toBe(res.major_gcs);
    const table = res.column_table as { column: string; type: string; bytes: number; bytes_per_agent: number }[];
    expect(table.map((c) => c.column)).toEqual(expect.arrayContaining(["Needs.hunger", "Needs.(flags)", "(entity index)"]));
    expect(table.find((c) => c.column === "Needs.hunger")!.type).toBe("Float32Array");
    for (let i = 1; i < table.length; i++) expect(table[i - 1].bytes).toBeGreaterThanOrEqual(table[i].bytes);
    const columns = table.filter((c) => c.column !== "(entity index)").reduce((a, c) => a + c.bytes, 0);
    expect(Math.round(columns / 96)).toBe(res.column_bytes_per_agent);
    // Memory after the ticks, and typed arrays per plug-in state (columns not among them), largest first.
    expect(Number.isFinite(res.ticked_bytes_per_agent) && Number.isFinite(res.ticked_buffer_bytes_per_agent)).toBe(true);
    const states = res.state_table as { plugin: string; bytes: number; bytes_per_agent: number }[];
    expect(states.map((s) => s.plugin)).toEqual(expect.arrayContaining(["space", "employment"]));
    for (let i = 1; i < states.length; i++) expect(states[i - 1].bytes).toBeGreaterThanOrEqual(states[i].bytes);
    for (const s of states) expect(s.bytes_per_agent).toBeCloseTo(s.bytes / 96, 1);
  });

  it("prints the results table and the per-system table without --json", async () => {
    const r = await bench(["--agents", "64", "--ticks", "5", "--warmup", "2", "--in-process", "--quiet"]);
    expect(r.code).toBe(0);
    expect(r.stdout[0]).toMatch(/^townlet bench: layout towns, policy scripted/);
    expect(r.stdout.some((l) => /needs\/decay/.test(l))).toBe(true);
  });

  it.each([
    [["--agents", "ten"], /--agents/],
    [["--policy", "clever"], /--policy/],
    [["--layout", "round"], /--layout/],
    [["--backend", "abacus"], /unknown tensor backend/],
    [["--frobnicate"], /frobnicate/],
  ])("exits 1 for bad input %j", async (args, message) => {
    const r = await bench(args);
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(message);
  });
});

describe("the kernel benchmark script", () => {
  it("runs the need-decay comparison and prints one JSON line with the ratio", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "bench/kernel.ts", "--sizes", "2000", "--ticks", "5", "--json"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const r = JSON.parse(out.trim().split("\n").at(-1)!) as { results: { agents: number; baseline_ratio: number; bytes_per_agent: number }[] };
    expect(r.results[0].agents).toBe(2000);
    expect(Number.isFinite(r.results[0].baseline_ratio) && r.results[0].baseline_ratio > 0).toBe(true);
  });
});
