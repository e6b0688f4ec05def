// The fused reward kernel stays optimised through the cases a long run meets for the first time
// mid-run (issue #19: at 100k agents the bench's rewards/compute took +5-10 ms in the tick of the
// first shift, the first exit, the first replacement, the first exit for eviction or
// unemployment and the first tile past 4,096 visits: each ran an operation of the kernel's loop
// that had never run, and V8 threw its optimised code away for the rest of the tick; now every
// kernel RewardPass makes is primed with those cases, systems/rewards/prime.ts). Read from
// V8's own trace in a child process (test/helpers/reward-kernel-rare.ts): which code V8 made and
// threw away, no timing.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The child's stdout: V8's optimisation and deoptimisation trace, with the helper's RARE and END lines. */
function trace(warm: number, rare: number): string {
  const helper = fileURLToPath(new URL("../helpers/reward-kernel-rare.ts", import.meta.url));
  const script = `const { runRare } = await import(${JSON.stringify(helper)}); runRare(${warm}, ${rare}, console.log);`;
  return execFileSync(process.execPath, ["--trace-opt", "--trace-deopt", "--no-concurrent-recompilation", "--no-concurrent-osr", "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000, maxBuffer: 64 << 20 });
}

describe("the fused reward kernel's loop (rewardsRun) under V8", () => {
  it("is not deoptimised by the first shift, exits of every reason, young replacements, a tile past 4,096 visits, a biased term gone negative or an agent without a position", () => {
    const out = trace(300, 20);
    const rare = out.indexOf("\nRARE\n");
    expect(rare).toBeGreaterThan(0);
    expect(out).toMatch(/\nEND\n/);
    const before = out.slice(0, rare);
    const after = out.slice(rare);
    // The ordinary ticks had the loop optimised (else the rare ones could not deoptimise it).
    // (Compiled on the main thread, --no-concurrent-*: the trace says "completed compiling"; a
    // background compile could still be queued at RARE on a loaded machine.)
    expect(before).toMatch(/completed (optimizing|compiling) [^\n]*<JSFunction rewardsRun [^\n]*TURBOFAN/);
    const deopts = after.split("\n").filter((l) => /deoptimizing [^\n]*<JSFunction rewardsRun /.test(l));
    expect(deopts).toEqual([]);
  });

  it("keeps the curiosity loop (curiosityRun: each chunk's tile counts and bonuses, ahead of the agent loop) optimised through the same cases", () => {
    const out = trace(300, 20);
    const rare = out.indexOf("\nRARE\n");
    expect(rare).toBeGreaterThan(0);
    expect(out.slice(0, rare)).toMatch(/completed (optimizing|compiling) [^\n]*<JSFunction curiosityRun [^\n]*TURBOFAN/);
    const deopts = out.slice(rare).split("\n").filter((l) => /deoptimizing [^\n]*<JSFunction (curiosityRun|fused) /.test(l));
    expect(deopts).toEqual([]);
  });
});
