// The stability scan kernel's loop is optimised as a function before its first long run, never
// as on-stack-replacement code (issue #19, tenth session: V8 does not specialise OSR code on the
// kernel's arrays; a bench run whose 10k-agent loop was first found hot inside its one long call
// kept entering OSR code for up to ~7,800 ticks, stability/monitor 0.13 instead of 0.04 ms). Read
// from V8's own trace in a child process (test/helpers/stability-scan-jit.ts): which code V8 made
// and when, no timing.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The child's stdout: V8's optimisation trace, with the helper's MADE, incidents and END lines. */
function trace(ticks: number): string {
  const helper = fileURLToPath(new URL("../helpers/stability-scan-jit.ts", import.meta.url));
  const script = `const { runScan } = await import(${JSON.stringify(helper)}); runScan(${ticks}, console.log);`;
  return execFileSync(process.execPath, ["--trace-opt", "--trace-deopt", "--no-concurrent-recompilation", "--no-concurrent-osr", "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000, maxBuffer: 64 << 20 });
}

describe("the stability scan kernel's loop (stabilityRun) under V8", () => {
  it("is optimised while the new kernel is primed, and never compiled as on-stack-replacement code", () => {
    const out = trace(200);
    const made = out.indexOf("\nMADE\n");
    expect(made).toBeGreaterThan(0);
    expect(out).toMatch(/\nincidents 600\nEND\n/);
    const loop = (part: string) => part.split("\n").filter((l) => /<JSFunction stabilityRun /.test(l));
    // Compiled on the main thread (--no-concurrent-*): "completed compiling" for the function itself.
    expect(loop(out.slice(0, made)).some((l) => /completed compiling .*TURBOFAN\) - took/.test(l))).toBe(true);
    expect(loop(out).filter((l) => / OSR/.test(l))).toEqual([]);
    expect(loop(out.slice(made)).filter((l) => /deoptimizing/.test(l))).toEqual([]);
  });
});
