// The tick's heartbeat on this thread: which system of which schedule is running, in which tick.
// TickRunner (engine/world-tick.ts) writes four Int32 words, one set per system per tick (nothing
// per agent); engine/tick-watchdog.ts shares them with a watcher thread (a SharedArrayBuffer) that
// names the system a stuck main thread is in. Without a watchdog the words are a plain array that
// nothing reads. Writing them never changes the simulation.

/** Word indices: a counter bumped at each write, the tick, the running system, the schedule. */
export const BEAT_SEQ = 0;
export const BEAT_TICK = 1;
/** 0: no tick is running; k (1..n): the schedule's k-th system (flat order); n + 1: the end of the tick. */
export const BEAT_SYSTEM = 2;
export const BEAT_SCHEDULE = 3;
export const BEAT_WORDS = 4;

/** One system of a schedule as a stall message names it. */
export interface BeatName {
  system: string;
  plugin: string;
}

/** The words every TickRunner on this thread writes (engine/tick-watchdog.ts swaps in shared ones). */
export const heartbeat: { words: Int32Array<ArrayBufferLike> } = { words: new Int32Array(BEAT_WORDS) };

/** Every schedule seen on this thread, by id (the same systems in the same order share one id). */
const schedules: BeatName[][] = [];
const scheduleIds = new Map<string, number>();
/** Told of each new schedule (the running watchdog passes it on to its thread). */
let onSchedule: ((id: number, names: BeatName[]) => void) | undefined;

/** The id of a schedule (flat order), registered on first sight. */
export function scheduleId(names: BeatName[]): number {
  const key = names.map((n) => `${n.plugin}\u0000${n.system}`).join("\u0001");
  let id = scheduleIds.get(key);
  if (id === undefined) {
    id = schedules.length;
    schedules.push(names);
    scheduleIds.set(key, id);
    onSchedule?.(id, names);
  }
  return id;
}

/** The schedules so far, and a listener for new ones (undefined: none). */
export function watchSchedules(listener: ((id: number, names: BeatName[]) => void) | undefined): BeatName[][] {
  onSchedule = listener;
  return schedules.slice();
}
