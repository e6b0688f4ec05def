// The end ticks of the active events as a min-heap of (end tick, town) in typed arrays (not
// state: rebuilt from the active lists on load). Issue #19: ending events walked every town's
// active list on every tick where one could end, which at 100k agents (12,500 towns, an event
// ending on most ticks) was a walk over 12,500 arrays per tick; now the scheduler visits only
// the towns with an event whose end came. A cancelled event leaves its entry behind: popping it
// makes the scheduler look at a town where nothing ends, which changes nothing.
// Also the scheduler's ending of events (moved out of scheduler.ts: the file passed 500 lines).
import { PerturbationEnded } from "../../components/messages.ts";
import type { PerturbationsState } from "./scheduler.ts";

/** A tick never reached (as the scheduler's). */
const NEVER = 0x3fffffff;

/** (end tick, town) pairs, the earliest end on top (also the per-agent cooldowns' (until, uid)). */
export class EndQueue {
  private at = new Int32Array(64);
  private town = new Int32Array(64);
  private n = 0;
  /** Towns popped by takeDue, ascending and distinct: due[0, dueN). */
  due = new Int32Array(64);
  dueN = 0;

  /** Entries held. */
  get size(): number {
    return this.n;
  }

  /** The earliest end tick held, `none` when empty. */
  first(none: number): number {
    return this.n > 0 ? this.at[0] : none;
  }

  clear(): void {
    this.n = 0;
    this.dueN = 0;
  }

  /** Adds an event of `town` ending at tick `end`. */
  push(end: number, town: number): void {
    if (this.n === this.at.length) {
      const a = new Int32Array(this.n * 2);
      a.set(this.at);
      this.at = a;
      const t = new Int32Array(this.n * 2);
      t.set(this.town);
      this.town = t;
    }
    const at = this.at;
    const tw = this.town;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] <= end) break;
      at[i] = at[p];
      tw[i] = tw[p];
      i = p;
    }
    at[i] = end;
    tw[i] = town;
  }

  /** Pops every entry ending at or before `tick`; their towns, ascending and distinct, in due[0, dueN). */
  takeDue(tick: number): void {
    let m = 0;
    while (this.n > 0 && this.at[0] <= tick) {
      if (m === this.due.length) {
        const d = new Int32Array(m * 2);
        d.set(this.due);
        this.due = d;
      }
      this.due[m++] = this.town[0];
      this.popTop();
    }
    if (m > 1) {
      const d = this.due.subarray(0, m).sort();
      let k = 1;
      for (let i = 1; i < m; i++) if (d[i] !== d[k - 1]) d[k++] = d[i];
      m = k;
    }
    this.dueN = m;
  }

  private popTop(): void {
    const at = this.at;
    const tw = this.town;
    const n = --this.n;
    if (n === 0) return;
    const end = at[n];
    const town = tw[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && at[c + 1] < at[c]) c++;
      if (at[c] >= end) break;
      at[i] = at[c];
      tw[i] = tw[c];
      i = c;
    }
    at[i] = end;
    tw[i] = town;
  }
}

/**
 * Ends the active events whose end came, town by town in town order; notes the next end. Only
 * the towns the end queue names are visited (skipClosed = false: every town, as before).
 */
export function endEvents(s: PerturbationsState, tick: number): void {
  const q = s.ends;
  q.takeDue(tick);
  if (s.skipClosed) {
    for (let i = 0; i < q.dueN; i++) endTown(s, q.due[i], tick);
    s.endNext = q.first(NEVER);
    return;
  }
  let next = NEVER;
  for (let t = 0; t < s.towns; t++) {
    const list = s.active[t];
    if (list.length === 0) continue;
    endTown(s, t, tick);
    for (let i = 0; i < list.length; i++) if (list[i].ends_at < next) next = list[i].ends_at;
  }
  s.endNext = next;
}

/** Ends town t's active events whose end came, in activation order. */
function endTown(s: PerturbationsState, t: number, tick: number): void {
  const list = s.active[t];
  const w = s.world;
  let changed = false;
  for (let i = 0; i < list.length; i++) {
    const ev = list[i];
    if (ev.ends_at > tick) continue;
    list.splice(i--, 1);
    s.activeLen[t]--;
    ev.active = false;
    changed = true;
    s.counts.ended++;
    if (s.activeN > 0) s.activeN--;
    w.send(PerturbationEnded, ev.n, t, w.intern(s.table[ev.spec].kind), w.intern(s.table[ev.spec].name));
  }
  if (changed) s.applyTown(t);
}

/** Rebuilds what is derived from the active lists and the cooldowns (after a load): counts per town, the end queues, the total. */
export function recountActive(s: PerturbationsState): void {
  const q = s.ends;
  q.clear();
  let n = 0;
  for (let t = 0; t < s.towns; t++) {
    const list = s.active[t];
    s.activeLen[t] = list.length;
    n += list.length;
    for (let i = 0; i < list.length; i++) q.push(list[i].ends_at, t);
  }
  s.activeN = n;
  s.endNext = 0;
  const c = s.cooldownEnds;
  c.clear();
  for (const [uid, until] of s.agentCooldown) c.push(until, uid);
}
