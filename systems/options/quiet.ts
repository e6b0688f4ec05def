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
import type { JobTable } from "../../components/jobs.ts";

/** The options plug-in's per-world state: one bit per entity id, set = look at it this tick. */
export class OptionsState {
  bits = new Uint32Array(0);
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
  }

  wake(eid: number): void {
    const k = eid >>> 5;
    if (k < this.bits.length) this.bits[k] |= 1 << (eid & 31);
  }

  wakeAll(): void {
    this.bits.fill(0xffffffff);
  }
}

/** True when some job's shift ends at this time of day (its Work options end now). */
export function shiftEndsAt(jobs: JobTable, tod: number): boolean {
  const end = jobs.end;
  for (let j = 0; j < end.length; j++) if (end[j] === tod) return true;
  return false;
}
