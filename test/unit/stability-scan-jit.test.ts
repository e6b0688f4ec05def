// The stability scan kernel's loop is optimised as a function before its first long run, never
// as on-stack-replacement code (issue #19, tenth session: V8 does not specialise OSR code on the
// kernel's arrays; a bench run whose 10k-agent loop was first found hot inside its one long call
// kept entering OSR code for up to ~7,800 ticks, stability/monitor 0.13 instead of 0.04 ms). Read
// from V8's own trace in a child process (test/helpers/stability-scan-jit.ts): which code V8 made
// and when, no timing.
import { describe, expect, it } from "vitest";
import { takeLines, v8Trace } from "../helpers/v8-trace.ts";

describe("the stability scan kernel's loop (stabilityRun) under V8", () => {
  it("is optimised while the new kernel is primed, and never compiled as on-stack-replacement code", () => {
    // The helper's MADE, incidents and END lines, in order, wherever they fell (test/helpers/v8-trace.ts).
    const { trace: out, at, missing } = takeLines(v8Trace("./stability-scan-jit.ts", "runScan", 200), ["MADE", "incidents 600", "END"]);
    expect(missing).toBeUndefined();
    const made = at[0];
    const loop = (part: string) => part.split("\n").filter((l) => /<JSFunction stabilityRun /.test(l));
    // Compiled on the main thread (--no-concurrent-*): "completed compiling" for the function itself.
    expect(loop(out.slice(0, made)).some((l) => /completed compiling .*TURBOFAN\) - took/.test(l))).toBe(true);
    expect(loop(out).filter((l) => / OSR/.test(l))).toEqual([]);
    expect(loop(out.slice(made)).filter((l) => /deoptimizing/.test(l))).toEqual([]);
  });

  it("reads the trace whole when the helper's lines fell inside V8's (the child's stdout is not line-atomic)", () => {
    // As in a CI run: "END" printed between the pieces of a line the loader thread's isolate wrote.
    const raw = "[compiling x]\nMADE\nincidents 600\n[marking END\n0x3b <JSFunction f (sfi = 0x1)> for optimization]\n";
    expect(takeLines(raw, ["MADE", "incidents 600", "END"])).toEqual({ trace: "[compiling x]\n[marking 0x3b <JSFunction f (sfi = 0x1)> for optimization]\n", at: [14, 14, 23] });
    expect(takeLines(raw, ["MADE", "END", "incidents 600"]).missing).toBe("incidents 600");
  });
});
