// Priming (issue #19, p99): the branches no agent takes before a world's first shift are walked
// once on put-back data, so their first real use is not a deoptimisation (systems/options/kernel.ts
// primeWork, systems/behavior/scan-kernel.ts primeWork, systems/behavior/prime.ts). Each test
// checks that the walk took the branch it is there for (seen while it runs) and that every value
// it touched is back to the bit afterwards (the world's state hash too).
import { afterEach, describe, expect, it } from "vitest";
import { Activity, Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import { NeedsKey } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { Employment } from "../../components/people.ts";
import { jobTable } from "../../components/jobs.ts";
import type { World } from "../../engine/world.ts";
import type { OptionsState } from "../../systems/options/quiet.ts";
import { compileExec, primeWork as primeExec, type ExecArrays } from "../../systems/options/kernel.ts";
import { execArrays as optionsExecArrays } from "../../systems/options/index.ts";
import { compileScan, primeWork as primeScan, type ScanArrays } from "../../systems/behavior/scan-kernel.ts";
import { primeDecide } from "../../systems/behavior/prime.ts";
import { DecidePass } from "../../systems/behavior/decide.ts";
import { BehaviorTuning, type BehaviorConfig, type BehaviorState } from "../../systems/behavior/index.ts";
import { manyTowns } from "../helpers/twins.ts";

/** A copy of every array (typed arrays copied element by element). */
function copyAll(arrays: readonly ArrayLike<number>[]): number[][] {
  return arrays.map((a) => Array.from(a));
}

function execArrays(w: World): ExecArrays {
  const qs = w.state<OptionsState>("options");
  const E = w.columns(Employment);
  return optionsExecArrays({ quiet: qs.bits, parked: qs.parked, Op: w.columns(Option), I: w.columns(Intent), A: w.columns(Activity), P: w.columns(Position), E, jobs: jobTable(w) });
}

const restore: (() => void)[] = [];
afterEach(() => {
  while (restore.length > 0) restore.pop()!();
});

describe("priming the shift branches", () => {
  it("walks options' Work branch (done at the shift's end, a walk to the workplace) on one agent and puts every value back", () => {
    const w = manyTowns(3, 5);
    for (let t = 0; t < 20; t++) w.step();
    const a = execArrays(w);
    let calls = 0;
    const kernel = compileExec(
      a,
      () => calls++,
      () => {
        calls++;
        return 0;
      },
      8,
    );
    expect(kernel).toBeDefined();
    const e = w.agents[0];
    const seen: string[] = [];
    const spy: typeof kernel = (spans, tick, tod, work, avoid, calm) => {
      kernel!(spans, tick, tod, work, avoid, calm);
      seen.push(`${a.intent[e]}/${a.done[e]}` + (a.intent[e] === IntentKind.Move ? `/${a.ix[e]},${a.iy[e]}` : ""));
    };
    const all = Object.values(a).filter((v): v is ArrayLike<number> => v !== undefined);
    const before = copyAll(all);
    const hash = w.stateHash();
    // The workplace of job 0 has a tile: the walk there is a Move to it.
    expect(a.jobX[0]).toBeGreaterThanOrEqual(0);
    primeExec(spy!, a, e, w.tick);
    // The shift over: a Wait and the option done; two tiles away: a Move to the workplace; a done option: a Wait.
    expect(seen).toEqual([`${IntentKind.Wait}/1`, `${IntentKind.Move}/0/${a.jobX[0]},${a.jobY[0]}`, `${IntentKind.Wait}/1`]);
    expect(calls).toBe(0);
    expect(copyAll(all)).toEqual(before);
    expect(w.stateHash()).toBe(hash);
  });

  it("walks the decide scan's Work test on one agent (an open Work is not listed) and puts its columns back", () => {
    const w = manyTowns(3, 5);
    for (let t = 0; t < 20; t++) w.step();
    const Op = w.columns(Option);
    const N = w.resource(NeedsKey).columns();
    const a: ScanArrays = { kind: Op.kind, done: Op.done, since: Op.since, external: Op.external, running: w.columns(Activity).running, needs: N };
    const s = new Float64Array(3 + N.length).fill(0.5);
    const kernel = compileScan(a, -1, s);
    expect(kernel).toBeDefined();
    const e = w.agents[0];
    const listed: number[] = [];
    const kinds: number[] = [];
    const spy: typeof kernel = (start, end, out) => {
      kinds.push(a.kind[e], a.done[e], ...N.map((c) => c[e]));
      const n = kernel!(start, end, out);
      listed.push(n);
      return n;
    };
    const before = copyAll([Op.kind, Op.done, ...N]);
    const hash = w.stateHash();
    primeScan(spy!, a, e, new Int32Array(16));
    expect(kinds).toEqual([OptionKind.Work, 0, ...N.map(() => 1)]);
    expect(listed).toEqual([0]);
    expect(copyAll([Op.kind, Op.done, ...N])).toEqual(before);
    expect(w.stateHash()).toBe(hash);
  });

  it("decides an employed agent in its shift's window and before it (Work among the choices) and puts every value back", () => {
    const w = manyTowns(3, 5);
    for (let t = 0; t < 20; t++) w.step();
    const state = w.state<BehaviorState>("scripted");
    const Op = w.columns(Option);
    const N = w.resource(NeedsKey).columns();
    const e = w.agents.find((x) => w.columns(Employment).job[x] >= 0)!;
    expect(e).toBeDefined();
    const chosen: number[] = [];
    const proto = DecidePass.prototype;
    const real = proto.decide;
    proto.decide = function (this: DecidePass, eid: number) {
      real.call(this, eid);
      chosen.push(Op.kind[eid]);
    };
    restore.push(() => (proto.decide = real));
    const cols = [Op.kind, Op.affordance, Op.object, Op.target, Op.since, Op.done, Op.switches, ...N, state.lastChat, state.pantry, state.stoves, state.thresholds];
    const before = copyAll(cols);
    const hash = w.stateHash();
    const { settings } = w;
    // The plug-in's config as the world gives it to the system (its section, or the defaults).
    const config = ((settings as unknown as Record<string, unknown>).scripted as BehaviorConfig | undefined) ?? BehaviorTuning.parse({});
    expect(primeDecide(w, config, settings, state, w.agents)).toBe(true);
    expect(chosen.length).toBeGreaterThanOrEqual(2);
    expect(chosen[0]).toBe(OptionKind.Work);
    expect(copyAll(cols)).toEqual(before);
    expect(w.stateHash()).toBe(hash);
  });
});
