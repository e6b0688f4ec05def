// Setting an option: policies (scripted, neural, external) commit agents to options here.
import { OptionKind } from "./activity.ts";

const OPT_WAIT = OptionKind.Wait;

/** Sets an agent's option (policies call this); counts a switch when the kind changes. */
export function chooseOption(Op: { kind: Uint8Array; affordance: Int16Array; object: Int32Array; target: Int32Array; since: Int32Array; done: Uint8Array; switches: Uint32Array }, eid: number, kind: number, affordance: number, target: number, tick: number): void {
  if (Op.kind[eid] !== kind && Op.kind[eid] !== OPT_WAIT && kind !== OPT_WAIT) Op.switches[eid]++;
  Op.kind[eid] = kind;
  Op.affordance[eid] = affordance;
  Op.object[eid] = 0;
  Op.target[eid] = target;
  Op.since[eid] = tick;
  Op.done[eid] = 0;
}

