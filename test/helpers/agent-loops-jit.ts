// The child-process half of test/unit/agent-loops-jit.test.ts (run under node --trace-opt
// --trace-deopt): lifecycle's exits and leaving kernels and needs' decay kernel made and primed as
// their systems make them (systems/lifecycle/index.ts, systems/needs/index.ts) over AGENTS agents
// in one span, then called once per tick as the systems call them. The parent reads which code V8
// made for the kernels' loop functions (exitsRun, leavingRun, raiseRun, needsRun): on-stack-replacement code
// is not specialised on the kernel's arrays (issue #19, tenth session: lifecycle/exits 0.058-0.062
// instead of 0.027-0.029 ms per tick at 10k agents while its loop ran as OSR code).
import { freshCopy } from "../../engine/kernel-source.ts";
import { compileRaise, exitsFactory, leavingFactory, primeExits, primeLeaving, primeRaise } from "../../systems/lifecycle/kernels.ts";
import { compileDecay, primeDecay } from "../../systems/needs/decay-kernel.ts";

/** Agents in the span (the bench's 10k). */
const AGENTS = 10_000;
const NONE = 0;
const FAINT = 1;
const UNEMPLOYED = 3;

/** Makes the four kernels, runs them `ticks` times, then prints how many agents were collected as leaving and "END". */
export function runLoops(ticks: number, log: (line: string) => void): void {
  const hasWallet = new Uint8Array(AGENTS).fill(1);
  const money = Float32Array.from({ length: AGENTS }, (_, e) => (e % 50 === 0 ? 0 : 10));
  const wage = new Float32Array(AGENTS);
  const broke = new Uint16Array(AGENTS);
  const exitReason = new Uint8Array(AGENTS);
  const hunger = Float32Array.from({ length: AGENTS }, (_, e) => 0.5 + (e % 10) / 20);
  const energy = Float32Array.from({ length: AGENTS }, (_, e) => ((e * 7) % 100) / 100);
  const townOf = new Uint32Array(AGENTS);
  const hold = new Uint8Array(1);
  const spans = Int32Array.of(0, AGENTS);
  const exits = freshCopy(exitsFactory)(hasWallet, money, wage, broke, exitReason, hunger, townOf, hold, 1, 1, NONE, FAINT, UNEMPLOYED);
  primeExits(exits, { hasWallet, money, wage, broke, exitReason, hunger, townOf, hold }, 0, 0.01, 120, NONE, FAINT);
  const leaving = new Int32Array(AGENTS);
  const collect = freshCopy(leavingFactory)(exitReason, leaving, NONE);
  primeLeaving(collect, exitReason, 0, FAINT, NONE);
  const cols = [hunger, energy];
  const rates = Float64Array.of(0.001, 0.002);
  const decay = compileDecay(cols)!;
  primeDecay(decay, cols, spans, rates);
  const raise = compileRaise(cols)!;
  primeRaise(raise, cols, spans);
  let left = 0;
  for (let t = 0; t < ticks; t++) {
    exits(spans, 0.01, 120);
    left += collect(spans);
    decay(spans, rates);
    // The nightly reset's pass (once a day in a world), here every tick with a floor that writes nothing.
    raise(spans, -1);
  }
  // One agent in 50 has no money: broke for 120 ticks by tick 120, then unemployed (200 agents,
  // counted on every tick from then on); nobody's hunger reaches the faint level (0.5 - 0.2 > 0.01).
  log(`left ${left}`);
  log("END");
}
