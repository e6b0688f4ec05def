// The child-process half of test/unit/stability-scan-jit.test.ts (run under node --trace-opt
// --trace-deopt): a stability scan kernel made and primed as the monitor makes every kernel
// (systems/stability/scan.ts ScanKernels.get) over AGENTS agents in one span, then called once per
// tick as the monitor calls it. The parent reads which code V8 made for the kernel's loop function
// (stabilityRun): on-stack-replacement code is not specialised on the kernel's arrays (issue #19,
// tenth session: 0.13 instead of 0.04 ms per tick at 10k agents while the loop ran as OSR code).
import { ScanKernels } from "../../systems/stability/scan.ts";

/** Agents in the span (the bench's 10k). */
const AGENTS = 10_000;

/** Makes the kernel (the line "MADE" after it), runs it `ticks` times, then prints "END". */
export function runScan(ticks: number, log: (line: string) => void): void {
  const hasNeeds = new Uint8Array(AGENTS).fill(1);
  const hunger = Float32Array.from({ length: AGENTS }, (_, e) => ((e * 37) % 100) / 100);
  const streak = new Int32Array(AGENTS);
  const switches = Uint32Array.from({ length: AGENTS }, (_, e) => e % 3);
  const last = new Uint32Array(AGENTS);
  const total = Float32Array.from({ length: AGENTS }, (_, e) => ((e % 7) - 3) / 10);
  const spans = Int32Array.of(0, AGENTS);
  const threshold = Math.fround(0.05);
  const kernels = new ScanKernels();
  const kernel = kernels.get(hasNeeds, hunger, streak, switches, last, hasNeeds, total, 1, 1, 1, spans, threshold, 30);
  log("MADE");
  let incidents = 0;
  for (let t = 0; t < ticks; t++) {
    for (let e = t % 5; e < AGENTS; e += 5) switches[e]++;
    incidents += kernel(spans, threshold, 30);
  }
  // Every agent whose hunger is at most 0.05 (6 in 100) reaches the 30-tick streak once.
  log(`incidents ${incidents}`);
  log("END");
}
