// `townlet bench --huge-pages` (bench/child.ts hugePagesEnv, bench/memory.ts hugePagesMb): the
// children's environment that puts glibc's mapped memory on transparent huge pages, and the reading.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hugePagesEnv } from "../../bench/child.ts";
import { hugePagesMb } from "../../bench/memory.ts";
import { main } from "../../tools/cli.ts";

describe("hugePagesEnv", () => {
  it("adds glibc.malloc.hugetlb=1 to GLIBC_TUNABLES, keeping the tunables already set", () => {
    expect(hugePagesEnv({ PATH: "/bin" })).toEqual({ PATH: "/bin", GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" });
    expect(hugePagesEnv({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES).toBe("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
  });

  it("leaves a hugetlb setting the user chose alone", () => {
    const env = { GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" };
    expect(hugePagesEnv(env)).toBe(env);
  });
});

describe("hugePagesMb", () => {
  it.skipIf(!existsSync("/proc/self/smaps_rollup"))("reads this process's AnonHugePages as whole MB", () => {
    const mb = hugePagesMb();
    expect(Number.isInteger(mb)).toBe(true);
    expect(mb).toBeGreaterThanOrEqual(0);
  });
});

describe("townlet bench --huge-pages", () => {
  it("refuses --in-process, naming why (the environment is set at a child's start)", async () => {
    const err: string[] = [];
    const code = await main(["bench", "--agents", "64", "--ticks", "3", "--huge-pages", "--in-process", "--quiet"], { log: () => {}, err: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(err.join("\n")).toMatch(/--huge-pages: sets the environment of the size's child process at its start; not with --in-process/);
  });
});
