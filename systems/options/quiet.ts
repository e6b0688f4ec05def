// Which agents options/execute must look at this tick (issue #19: work only where something can
// change). An agent whose option was turned into a Wait intent is "quiet": as long as nothing it
// depends on changes, the executor would write the same Wait (and `blocked` 0) again, so it is
// skipped. What can change it, and how the executor learns of it:
// - its option: every option is set through chooseOption (components/options.ts), which stamps
//   `Option.since` with the tick, so `since === tick` wakes it (decide and policy run first);
// - its intent written by someone else (a scenario schedule, external control): Intent.kind not
//   Wait wakes it;
// - its running affordance (Use): a quiet Use is running its affordance; when that finishes or
//   fails, the option is marked done before the loop (from the messages), and a done option's
//   intent is Wait as well, until a new option is chosen (chooseOption, above);
// - its shift's end (Work): every agent with a Work option is looked at on a tick where some job
//   ends (the executor's `work` flag; the other quiet agents' Waits do not depend on the time);
// - anything a console command may change (teleport, job): every agent is looked at on the tick
//   after a command was applied; likewise after a snapshot is loaded and on spawn.
// Code that writes Option, Intent, Position or Employment.job of agents between ticks by other
// means calls `wakeAll` (or `wake`) on this state (`world.state<OptionsState>("options")`).
//
// An awake agent can be "parked" as well (`parked`, issue #19: ~30k of the 100k bench world's
// agents in busy hours, ~13k at other times): its Use option's intent is Start(object,
// affordance) and it waits in that object's queue (Activity.queued === Option.object). While it
// waits there the executor would write the same Start again: its option is not re-chosen (the
// re-choice every few ticks is only for an agent neither queued nor holding), and an agent in a
// queue runs nothing (the runtime's request leaves a queue before it grants, starts only for the
// holder), so the branch "its affordance runs: Wait" cannot apply. The executor skips it while
// its option is not new (`since`, as above), not done and it still queues at that object (read
// every tick: a grant, a ghost step or leaving the queue changes Activity.queued), and clears the
// bit once that no longer holds. Every wake above also clears it.
import type { JobTable } from "../../components/jobs.ts";

/** The options plug-in's per-world state: one bit per entity id, set = look at it this tick. */
export class OptionsState {
  bits = new Uint32Array(0);
  /**
   * One bit per entity id, read after options/execute in a tick (affordances/act may use it):
   * set = the agent's Intent is Start(Option.object, Option.affordance), blocked 0, written while
   * it waited in that object's queue, and this tick nothing it depends on changed (see above),
   * so the executor left it as it was (or wrote it this tick, on the first tick it was parked).
   */
  parked = new Uint32Array(0);
  /** Console commands applied when the executor last ran (a change wakes every agent). */
  applied = 0;
  /** false: the executor looks at every agent every tick (tests compare both). */
  skipQuiet = true;
  /** false: the generic loop runs instead of the kernel generated for the world's columns (kernel.ts; tests compare both). */
  useKernel = true;

  /** Sizes the bitset for entity ids up to `max`; new ids start awake. */
  ensure(max: number): void {
    const words = (max >>> 5) + 1;
    const old = this.bits;
    if (old.length >= words) return;
    const next = new Uint32Array(Math.max(words, Math.ceil(old.length * 1.25)));
    next.fill(0xffffffff);
    next.set(old);
    this.bits = next;
    const parked = new Uint32Array(next.length);
    parked.set(this.parked);
    this.parked = parked;
  }

  wake(eid: number): void {
    const k = eid >>> 5;
    if (k < this.bits.length) {
      this.bits[k] |= 1 << (eid & 31);
      this.parked[k] &= ~(1 << (eid & 31));
    }
  }

  wakeAll(): void {
    this.bits.fill(0xffffffff);
    this.parked.fill(0);
  }
}

/** True when some job's shift ends at this time of day (its Work options end now). */
export function shiftEndsAt(jobs: JobTable, tod: number): boolean {
  const end = jobs.end;
  for (let j = 0; j < end.length; j++) if (end[j] === tod) return true;
  return false;
}
