// The child-process half of test/unit/first-ticks-jit.test.ts (run under node --trace-deopt-verbose):
// the bench's towns world at 10k agents (bench/layouts.ts, scripted policy) stepped 15 ticks, then
// `ticks` more, as /work/notes/jit2.mjs steps the 100k world. The parent reads which functions V8
// deoptimised after "MADE" (issue #19, twelfth session: at 100k agents the first finish changed the
// affordances Runtime's map, the first (town, type) view the index's, an optimised gather the
// elements kind of its needs list, each deoptimising every optimised reader in ticks 2-10; and the
// first agent the decision scan listed on hunger alone deoptimised the pass's run at tick 4 / 35).
// Also, run under node --trace-opt --trace-deopt (test/helpers/v8-trace.ts): chooseOption's switch
// count, whose last test had no feedback before the first agent left a Use (tick 6 at 100k).
import { buildBenchWorld } from "../../bench/layouts.ts";
import { preparePolicy } from "../../systems/policy/index.ts";
import { corePlugins } from "../../systems/index.ts";
import { chooseOption } from "../../components/options.ts";
import { OptionKind } from "../../components/activity.ts";

const AGENTS = 10_000;
const WARM = 15;

/** Prints "MADE" after the warm-up steps, "@T i" after each traced tick, then "END". */
export async function runBenchTicks(ticks: number, log: (line: string) => void): Promise<void> {
  const { world, dispose } = buildBenchWorld("towns", AGENTS, { plugins: corePlugins });
  try {
    await preparePolicy(world, "scripted");
    for (let i = 0; i < WARM; i++) world.step();
    log("MADE");
    for (let i = 0; i < ticks; i++) world.step();
    log("END");
  } finally {
    dispose();
  }
}

/** chooseOption over every agent of `Op` (the deciders inline it in the same way). */
function chooseAll(Op: OptionRows, kind: number, tick: number): void {
  for (let e = 0; e < Op.kind.length; e++) chooseOption(Op, e, kind, -1, 0, tick);
}

type OptionRows = Parameters<typeof chooseOption>[0];

/**
 * chooseOption's switch count: `rounds` passes where every agent goes from Wait to Use (all the
 * bench world's first ticks see), "MADE", then one where every agent leaves its Use for Wait (the
 * first at tick 6 of the 100k bench world), then "END".
 */
export function runChooseOption(rounds: number, log: (line: string) => void): void {
  const n = 1000;
  const Op: OptionRows = {
    kind: new Uint8Array(n),
    affordance: new Int16Array(n),
    object: new Int32Array(n),
    target: new Int32Array(n),
    since: new Int32Array(n),
    done: new Uint8Array(n),
    switches: new Uint32Array(n),
  };
  for (let r = 0; r < rounds; r++) {
    Op.kind.fill(OptionKind.Wait);
    chooseAll(Op, OptionKind.Use, r);
  }
  log("MADE");
  chooseAll(Op, OptionKind.Wait, rounds);
  log(`switches ${Op.switches[0]}`);
  log("END");
}
