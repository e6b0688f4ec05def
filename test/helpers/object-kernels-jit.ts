// The child-process half of test/unit/object-kernels-jit.test.ts (run under node --trace-opt
// --trace-deopt): affordances/queues' and run's kernels made over OBJECTS objects and primed as
// objects-loop.ts makes them (compileObjectKernels, then primeObjectKernels), then called once per
// tick over every object, as the passes call them. The helpers count the calls and change nothing
// (so no runtime code is inlined into the loops). The parent reads which code V8 made for the
// loop functions (objectsRun, objectsQueues): optimised as functions before the first pass, never
// as on-stack-replacement code, and not deoptimised by the first finish, full chunk, outage or
// timeout (issue #19, twelfth session: at 100k agents run was deoptimised at the first finish,
// tick 2-3, and at the first outage, tick ~144; queues at the first timeout).
import { compileObjectKernels, NEEDS_POWER, type ObjectArrays, type ObjectHelpers } from "../../systems/affordances/object-kernels.ts";
import { primeObjectKernels } from "../../systems/affordances/object-prime.ts";

/** Objects (the 100k bench's 62.5k / 6); agents are their holders, one each. */
const OBJECTS = 10_000;
const CHUNK = 256;

class CountingHelpers implements ObjectHelpers {
  priming = false;
  calls = 0;
  grantNext(): void {
    if (!this.priming) this.calls++;
  }
  ghostStep(): void {
    if (!this.priming) this.calls++;
  }
  timeout(): void {
    if (!this.priming) this.calls++;
  }
  outage(): void {
    if (!this.priming) this.calls++;
  }
  finish(): void {
    if (!this.priming) this.calls++;
  }
  finishChunk(_a: Int32Array, _o: Int32Array, n: number): void {
    if (!this.priming) this.calls += n;
  }
  missing(): void {
    if (!this.priming) this.calls++;
  }
}

/** Makes and primes the kernels ("MADE" after), runs `ticks` ticks, then prints the helpers' calls and "END". */
export function runObjects(ticks: number, log: (line: string) => void): void {
  const ids = OBJECTS + OBJECTS + 1;
  // Objects 1..OBJECTS in town 0, each held by agent OBJECTS + its id.
  const a: ObjectArrays = {
    holder: Int32Array.from({ length: ids }, (_, e) => (e >= 1 && e <= OBJECTS ? OBJECTS + e : 0)),
    running: new Int16Array(ids).fill(-1),
    queueHead: new Int32Array(ids),
    queueLen: new Uint16Array(ids),
    stall: new Uint16Array(ids),
    idleSince: new Int32Array(ids),
    powerOn: new Uint8Array(ids).fill(1),
    waterOn: new Uint8Array(ids).fill(1),
    town: new Uint32Array(ids),
    townPower: Uint8Array.of(1),
    townWater: Uint8Array.of(1),
    remaining: new Int16Array(ids),
    needs: Uint8Array.of(0, NEEDS_POWER),
  };
  const objects: number[] = [];
  for (let o = 1; o <= OBJECTS; o++) objects.push(o);
  const h = new CountingHelpers();
  const k = compileObjectKernels(a, h, { generation: 0 }, true, CHUNK)!;
  primeObjectKernels(k, a, h, objects, OBJECTS + 1, CHUNK);
  log("MADE");
  for (let t = 1; t <= ticks; t++) {
    // Every object running, power-needing on odd ids; a tenth finish this tick (whole chunks);
    // from tick 50 the power is out on one object in a thousand (after finishes of the same pass).
    for (let o = 1; o <= OBJECTS; o++) {
      a.running[o] = o & 1;
      a.remaining[OBJECTS + o] = o % 10 === t % 10 ? 1 : 5;
      a.powerOn[o] = t >= 50 && o % 1000 === 999 ? 0 : 1;
      // Queues: held idle (stalling, ghost-stepped from tick 30), timed out, free with a waiter.
      a.idleSince[o] = o % 7 === 0 ? t - 1 : t - 2;
    }
    k.run(objects, true, 0);
    for (let o = 1; o <= OBJECTS; o++) {
      a.running[o] = o % 3 === 0 ? 0 : -1;
      a.queueLen[o] = o % 5 === 0 ? 1 : 0;
      a.holder[o] = t >= 70 && o % 500 === 0 ? 0 : OBJECTS + o;
      a.queueHead[o] = a.holder[o] === 0 ? OBJECTS + o : 0;
    }
    k.queues(objects, t, t >= 30 ? 2 : 0, t >= 90 ? 1 : 1000);
  }
  log(`calls ${h.calls}`);
  log("END");
}
