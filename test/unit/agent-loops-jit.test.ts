// lifecycle's exits, leaving and nightly raise kernels and needs' decay kernel: each loop function is optimised as
// a function while its new kernel is primed, never as on-stack-replacement code (issue #19, tenth
// session: V8 does not specialise OSR code on the kernel's arrays; on the 10k bench world a loop
// first found hot inside its one long call per tick kept entering OSR code, lifecycle/exits 0.058-
// 0.062 instead of 0.027-0.029 ms). Read from V8's own trace in a child process
// (test/helpers/agent-loops-jit.ts): which code V8 made and when, no timing.
import { describe, expect, it } from "vitest";
import { takeLines, v8Trace } from "../helpers/v8-trace.ts";

describe("the exits, leaving, raise and needs decay kernels' loops under V8", () => {
  it("are optimised as functions, never compiled as on-stack-replacement code nor deoptimised, over 200 one-span calls", () => {
    // 200 agents unemployed from the 120th call on: 81 calls x 200. The helper's lines are taken
    // out wherever they fell (test/helpers/v8-trace.ts).
    const { trace: out, missing } = takeLines(v8Trace("./agent-loops-jit.ts", "runLoops", 200), ["left 16200", "END"]);
    expect(missing).toBeUndefined();
    for (const fn of ["exitsRun", "leavingRun", "raiseRun", "needsRun"]) {
      const loop = (part: string) => part.split("\n").filter((l) => l.includes(`<JSFunction ${fn} `));
      // V8's trace and the helper's lines reach stdout through different buffers (their order is
      // not kept), so the whole run is read: the function itself compiled (on the main thread,
      // --no-concurrent-*), no OSR compile of it and no deoptimisation, before or after the kernel
      // was made.
      // On failure the message holds the function's trace lines (what V8 made of it instead).
      expect(loop(out).some((l) => /completed compiling .*TURBOFAN\) - took/.test(l)), `${fn}:\n${loop(out).join("\n")}`).toBe(true);
      expect(loop(out).filter((l) => / OSR/.test(l)), fn).toEqual([]);
      expect(loop(out).filter((l) => /deoptimizing/.test(l)), fn).toEqual([]);
    }
  });
});
