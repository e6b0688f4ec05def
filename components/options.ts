// Setting an option: policies (scripted, neural, external) commit agents to options here.
import { OptionKind } from "./activity.ts";

const OPT_WAIT = OptionKind.Wait;

/** Sets an agent's option (policies call this); counts a switch when the kind changes. */
export function chooseOption(Op: { kind: Uint8Array; affordance: Int16Array; object: Int32Array; target: Int32Array; since: Int32Array; done: Uint8Array; switches: Uint32Array }, eid: number, kind: number, affordance: number, target: number, tick: number): void {
  // The new kind first: every test then runs at the first Wait -> Use (tick 0). Last, it ran only at
  // the first agent leaving a Use or Work (tick 6 of the 100k bench world), and the optimised
  // deciders that inline this had no feedback for it (deoptimised: issue #19, twelfth session).
  const was = Op.kind[eid];
  if (kind !== OPT_WAIT && was !== kind && was !== OPT_WAIT) Op.switches[eid]++;
  Op.kind[eid] = kind;
  Op.affordance[eid] = affordance;
  Op.object[eid] = 0;
  Op.target[eid] = target;
  Op.since[eid] = tick;
  Op.done[eid] = 0;
}

