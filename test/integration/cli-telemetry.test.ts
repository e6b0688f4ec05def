// `townlet run --telemetry file:PATH` writes the run's snapshot + diff stream as NDJSON.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../tools/cli.ts";

function capture() {
  const lines: string[] = [];
  const errs: string[] = [];
  return { out: { log: (l: string) => lines.push(l), err: (l: string) => errs.push(l) }, lines, errs };
}

describe("townlet run --telemetry", () => {
  it("writes one snapshot then one diff per tick, with increasing sequence numbers", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "townlet-tel-")), "run.ndjson");
    const c = capture();
    expect(await main(["run", "--ticks", "30", "--quiet", "--json", "--telemetry", `file:${file}`], c.out)).toBe(0);
    const payloads = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(payloads[0].payload_type).toBe("snapshot");
    expect(payloads.slice(1).every((p) => p.payload_type === "diff")).toBe(true);
    expect(payloads.map((p) => p.seq)).toEqual(payloads.map((_, i) => i + 1));
    expect(payloads.at(-1)!.tick).toBe(30);
    expect(payloads.every((p) => p.schema_version === "0.3.0")).toBe(true);
  });

  it("refuses an unknown sink with exit 1 and names the flag", async () => {
    const c = capture();
    expect(await main(["run", "--ticks", "1", "--quiet", "--telemetry", "carrier-pigeon"], c.out)).toBe(1);
    expect(c.errs.join("\n")).toMatch(/--telemetry: .*expected "stdout" or "file:PATH"/);
  });
});
