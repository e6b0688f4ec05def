// affordances/queues' and run's generated loops (objectsQueues, objectsRun) are optimised as
// functions while a new pair is primed (systems/affordances/object-prime.ts), never compiled as
// on-stack-replacement code, and not deoptimised when a pass first meets a finish, a full chunk
// of finishes, an outage after finishes, a stall, a ghost step, a timeout or a free object with a
// waiter (issue #19, twelfth session: traced at 100k agents, run was deoptimised at the first
// finish and again at the first outage, queues at the first timeout, each time mid-pass). Read
// from V8's own trace in a child process (test/helpers/object-kernels-jit.ts): which code V8 made
// and when, no timing.
import { describe, expect, it } from "vitest";
import { takeLines, v8Trace } from "../helpers/v8-trace.ts";

describe("the object kernels' loops under V8", () => {
  it("are optimised while the new kernels are primed, and neither compiled as on-stack-replacement code nor deoptimised after", () => {
    const { trace: out, at, missing } = takeLines(v8Trace("./object-kernels-jit.ts", "runObjects", 120), ["MADE", "calls 408563", "END"]);
    expect(missing).toBeUndefined();
    const made = at[0];
    for (const fn of ["objectsRun", "objectsQueues"]) {
      const lines = (part: string) => part.split("\n").filter((l) => l.includes(`<JSFunction ${fn} `));
      // Compiled on the main thread (--no-concurrent-*): "completed compiling" for the function itself.
      expect(lines(out.slice(0, made)).some((l) => /completed compiling .*TURBOFAN\) - took/.test(l)), fn).toBe(true);
      expect(lines(out).filter((l) => / OSR/.test(l)), fn).toEqual([]);
      expect(lines(out.slice(made)).filter((l) => /deoptimizing/.test(l)), fn).toEqual([]);
    }
  });
});
