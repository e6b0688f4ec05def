// The employment/shifts pass over the agents, as a kernel generated per world (issue #19): a
// fresh copy of shiftFactory's source (new Function) closing over that world's columns and job
// tables as constants. V8 specialises a loop over the arrays of the only closure of a function
// literal (base pointers and lengths embedded, bounds checks dropped), which the same loop over
// arrays read from an object or passed as arguments does not get (the lead's finding,
// systems/needs/decay-kernel.ts). shifts.ts remakes the kernel when one of the arrays moves (a
// store grew, a load, more jobs or towns). Where code generation from strings is not allowed,
// shiftFactory itself is used (the same steps, unspecialised).

/** The arrays the pass reads and writes; the kernel is made for one set of them. */
export interface ShiftArrays {
  // Per job (index nJobs: agents without a known job).
  outside: Int8Array;
  steady: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  jx: Int32Array;
  jy: Int32Array;
  wage: Float64Array;
  penalty: Float64Array;
  /** The object on each job's workplace tile per town (town * nJobs + job), for jobs in their window. */
  workplace: Int32Array;
  // Per agent.
  attn: Uint8Array;
  absCount: Uint8Array;
  job: Int16Array;
  shiftState: Uint8Array;
  flags: Uint8Array;
  onShift: Uint8Array;
  wageThisTick: Float32Array;
  absent7d: Uint8Array;
  lateToday: Uint16Array;
  withheld: Float32Array;
  everOnTime: Uint8Array;
  lastPresent: Int32Array;
  onTimeTicks: Uint16Array;
  scheduled: Uint16Array;
  latenessCounter: Uint16Array;
  wagesEarned: Float32Array;
  money: Float32Array;
  px: Int16Array;
  py: Int16Array;
  town: Uint32Array;
  holding: Int32Array;
  // Per town.
  townWages: Float32Array;
  wagesPaid: Float64Array;
  // Attendance samples (EmploymentState's rings, `window` per agent) and Employment.attendance_ratio.
  attSamples: Float32Array;
  attHead: Uint8Array;
  attCount: Uint8Array;
  attendance: Float32Array;
  /** Events (4 ints each: code, eid, job, since), in agent order. */
  events: Int32Array;
}

/** One tick's numbers (shifts.ts ShiftKernel): read once per call. */
export interface ShiftScalars {
  tick: number;
  /** Tick of the day. */
  t: number;
  newDay: number;
  nJobs: number;
  grace: number;
  cutoff: number;
  slack: number;
  latePenalty: number;
  absencePenalty: number;
  /** 1 = workplace objects count (a spatial index and Activity.holding). */
  objects: number;
  /** Attendance samples kept per agent (employment.attendance_window). */
  window: number;
  /** Events left in the buffer by the last call. */
  nEvents: number;
}

/** The constants the pass uses (ShiftState members, flag and attn bits, event codes): shifts.ts SHIFT_CODES. */
export interface ShiftCodes {
  S_AWAIT_START: number;
  S_ON_TIME: number;
  S_LATE: number;
  S_ABSENT: number;
  F_LATE_SENT: number;
  F_ABSENT_SENT: number;
  F_DEPARTED_SENT: number;
  F_LATE_PENALTY: number;
  F_ABSENT_PENALTY: number;
  F_ON_TIME_SENT: number;
  F_STARTED: number;
  A_DIRTY: number;
  EV_ON_TIME: number;
  EV_LATE: number;
  EV_ABSENT: number;
  EV_DEPARTED: number;
  /** Events one agent can leave in a tick, rounded up. */
  EVENTS_PER_AGENT: number;
  UINT16_MAX: number;
}

/** settleFactory's function: (events, eid, job, previous state, state, at the workplace, ticks since the start, flags) -> events. */
export type Settle = (n: number, eid: number, job: number, prev: number, st: number, atLoc: boolean, since: number, flags: number) => number;

/** One agent's step inside its job's window (windowFactory): returns the new event count. */
export type WindowStep = (n: number, eid: number, job: number, prev: number) => number;

/**
 * The pass over agents[i0..]: returns the index of the first agent not done (the event buffer
 * is full); the events left are in `events`, their count in K.nEvents.
 */
export type ShiftPass = (agents: Int32Array, i0: number) => number;

/**
 * The consequences of one agent's state inside the window (windowFactory's step calls it):
 * counters, penalties, events (once per shift), the wage. Self-contained, compiled per world.
 */
export function settleFactory(c: ShiftArrays, K: ShiftScalars, codes: ShiftCodes): Settle {
  const { S_ON_TIME, S_LATE, S_ABSENT, F_LATE_SENT, F_ABSENT_SENT, F_DEPARTED_SENT, F_LATE_PENALTY } = codes;
  const { F_ABSENT_PENALTY, F_ON_TIME_SENT, EV_ON_TIME, EV_LATE, EV_ABSENT, EV_DEPARTED, UINT16_MAX } = codes;
  const { wage, penalty, flags: flagsCol, onShift, wageThisTick, lateToday, withheld, onTimeTicks } = c;
  const { latenessCounter, wagesEarned, money, town, townWages, wagesPaid, events } = c;

  /** Leaves an event; returns the new count. */
  function put(n: number, code: number, eid: number, job: number, since: number): number {
    const b = n * 4;
    events[b] = code;
    events[b + 1] = eid;
    events[b + 2] = job;
    events[b + 3] = since;
    return n + 1;
  }

  /** The state's consequences for one agent inside the window: counters, penalties, events (once per shift), the wage. */
  return function settle(n0: number, eid: number, job: number, prev: number, st: number, atLoc: boolean, since: number, flags0: number): number {
    let n = n0;
    let flags = flags0;
    // Read on every call, not in the branches that need them (issue #19: a read of K first made
    // in the first late and absent branches, ticks 186 and 211, had no type feedback and
    // deoptimised settle, though priming had run those branches: K's map is not the primed one).
    const latePenalty = K.latePenalty;
    const absencePenalty = K.absencePenalty;
    const w = wage[job];
    const working = st === S_ON_TIME || st === S_LATE;
    if (st === S_ON_TIME) {
      if (onTimeTicks[eid] < UINT16_MAX) onTimeTicks[eid]++;
      if ((flags & F_ON_TIME_SENT) === 0) {
        flags |= F_ON_TIME_SENT;
        n = put(n, EV_ON_TIME, eid, job, since);
      }
    } else if (st === S_LATE) {
      if (lateToday[eid] < UINT16_MAX) lateToday[eid]++;
      if ((flags & F_LATE_PENALTY) === 0 && prev !== S_ON_TIME && prev !== S_LATE) {
        flags |= F_LATE_PENALTY;
        money[eid] = Math.max(0, money[eid] - penalty[job]);
        if (latenessCounter[eid] < UINT16_MAX) latenessCounter[eid]++;
        if ((flags & F_LATE_SENT) === 0) {
          flags |= F_LATE_SENT;
          n = put(n, EV_LATE, eid, job, since);
        }
      }
      if (!atLoc) {
        money[eid] = Math.max(0, money[eid] - latePenalty);
        withheld[eid] += w;
      }
    } else if (st === S_ABSENT) {
      if ((flags & F_ABSENT_PENALTY) === 0) {
        flags |= F_ABSENT_PENALTY;
        money[eid] = Math.max(0, money[eid] - absencePenalty);
      }
      withheld[eid] += w;
      if ((flags & F_ABSENT_SENT) === 0) {
        flags |= F_ABSENT_SENT;
        n = put(n, EV_ABSENT, eid, job, since);
      }
    }
    // Back at work: a later absence in the same shift is penalised again (no second event).
    if (working) flags &= ~F_ABSENT_PENALTY;

    if (working && atLoc) {
      onShift[eid] = 1;
      money[eid] += w;
      wagesEarned[eid] += w;
      wageThisTick[eid] = w;
      const tw = town[eid];
      townWages[tw] += w;
      wagesPaid[tw] += w;
    } else {
      onShift[eid] = 0;
      const wasWorking = prev === S_ON_TIME || prev === S_LATE;
      if (wasWorking && !working && (flags & F_DEPARTED_SENT) === 0) {
        flags |= F_DEPARTED_SENT;
        n = put(n, EV_DEPARTED, eid, job, since);
      }
    }
    flagsCol[eid] = flags;
    return n;
  };
}

/**
 * The step of one agent inside its job's window (shiftFactory's pass calls it): whether it is at
 * the workplace, its state `since` ticks after the start, presence recorded, then the state's
 * counters, penalties, events (once per shift) and wage (`settle`). Returns the new event count.
 * Self-contained, compiled per world like shiftFactory.
 */
export function windowFactory(c: ShiftArrays, K: ShiftScalars, codes: ShiftCodes, settle: Settle): WindowStep {
  const { S_AWAIT_START, S_ON_TIME, S_LATE, S_ABSENT, F_STARTED, UINT16_MAX } = codes;
  const { start, end, jx, jy, workplace, shiftState, flags: flagsCol, everOnTime, lastPresent, onTimeTicks, scheduled } = c;
  const { px, py, town, holding } = c;

  return function windowStep(n: number, eid: number, job: number, prev: number): number {
    const tick = K.tick;
    const t = K.t;
    const grace = K.grace;
    const slack = K.slack;
    const cutoff = K.cutoff;
    const nJobs = K.nJobs;
    const objects = K.objects;
    const s0 = start[job];
    // Inside the shift window.
    let flags = flagsCol[eid];
    if ((flags & F_STARTED) === 0) {
      flags = F_STARTED;
      onTimeTicks[eid] = 0;
      scheduled[eid] = Math.min(UINT16_MAX, end[job] - s0 + 1);
      everOnTime[eid] = 0;
      lastPresent[eid] = -1;
    }
    // At the workplace: a workplace object on the job's tile (a counter) must be held; otherwise
    // standing on or beside the tile is enough; a job without a tile: anywhere.
    const x = jx[job];
    let atLoc = true;
    if (x >= 0) {
      const wp = objects === 1 ? workplace[town[eid] * nJobs + job] : 0;
      if (wp !== 0) atLoc = holding[eid] === wp;
      else {
        const dx = px[eid] - x;
        const dy = py[eid] - jy[job];
        atLoc = (dx < 0 ? 0 - dx : dx) + (dy < 0 ? 0 - dy : dy) <= 1;
      }
    }
    // The state inside the window, `since` ticks after its start; presence recorded.
    const since = t - s0;
    let st: number;
    if (atLoc) {
      lastPresent[eid] = tick;
      if (everOnTime[eid] === 1 || since <= grace) {
        st = S_ON_TIME;
        everOnTime[eid] = 1;
      } else st = S_LATE;
    } else {
      const lp = lastPresent[eid];
      if (everOnTime[eid] === 0 && since <= grace) st = S_AWAIT_START;
      else if (lp >= 0 && tick - lp <= slack) st = S_LATE;
      else if (since > cutoff || lp >= 0) st = S_ABSENT;
      else st = S_LATE;
    }
    shiftState[eid] = st;
    return settle(n, eid, job, prev, st, atLoc, since, flags);
  };
}

/**
 * The shift state machine per agent (inventory §3.7): per-day resets, the window's state, its
 * counters, penalties and wage; what touches other objects (attendance and absence rings,
 * messages, counters) is left as events for shifts.ts's applyEvents, in agent order. An agent
 * of a steady job (outside its window as last tick; steady 2: in another outside state) not
 * marked dirty is skipped but for absent_shifts_7d put back to its kept absences where it keeps
 * any (and, for 2, its new shift state; on a new day, its daily resets of late ticks and
 * withheld wages). Absences expire before the pass (EmploymentState.expireAbsences: issue #19),
 * so absent_shifts_7d is the kept count, set without a branch on it. An agent inside its job's
 * window goes to `step` (windowFactory's). Self-contained (no module bindings): compiled per
 * world from its source; the constants come in `codes` (shifts.ts).
 */
export function shiftFactory(c: ShiftArrays, K: ShiftScalars, codes: ShiftCodes, step: WindowStep): ShiftPass {
  // ShiftState members, Employment.flags bits, attn bits and event codes, as constants of this scope.
  const { F_STARTED, A_DIRTY, EVENTS_PER_AGENT } = codes;
  const { outside, steady, attn, absCount, job: jobCol, shiftState, flags: flagsCol, onShift } = c;
  const { wageThisTick, absent7d, lateToday, withheld, everOnTime, lastPresent, events } = c;
  const { onTimeTicks, scheduled, attSamples, attHead, attCount, attendance } = c;
  const limit = events.length / 4 - EVENTS_PER_AGENT;

  /**
   * The finished shift's on-time fraction added to eid's attendance samples (a ring of `window`);
   * returns the mean of the kept samples: EmploymentState.addAttendance's steps, in the pass
   * (issue #19: an event per finishing agent, ~50k at a shift end at 100k agents, applied after it).
   */
  function addAttendance(eid: number): number {
    const sch = scheduled[eid] > 0 ? scheduled[eid] : 1;
    const sample = Math.min(1, onTimeTicks[eid] / sch);
    const w = K.window;
    const base = eid * w;
    attSamples[base + attHead[eid]] = sample;
    attHead[eid] = (attHead[eid] + 1) % w;
    if (attCount[eid] < w) attCount[eid]++;
    const m = attCount[eid];
    let sum = 0;
    // The kept samples are the first m slots until the ring is full, then all w.
    for (let k = 0; k < m; k++) sum += attSamples[base + k];
    return sum / m;
  }

  return function shiftPass(agents: Int32Array, i0: number): number {
    const nJobs = K.nJobs;
    const newDay = K.newDay;
    // Every job steady (outside its window as last tick): only dirty agents can change, but for
    // absent_shifts_7d put back. A new day resets every agent's late ticks and withheld wages.
    let allSteady = newDay === 1 ? 0 : 1;
    for (let k = 0; k <= nJobs; k++) if (steady[k] !== 1) allSteady = 0;
    let n = K.nEvents;
    for (let i = i0; i < agents.length; i++) {
      if (n > limit) {
        K.nEvents = n;
        return i;
      }
      const eid = agents[i];
      const a = attn[eid];
      // absent_shifts_7d: the kept absences where there are some (c - 1 >> 31: all bits set when
      // c is 0, keeping the value), without a branch on whether the agent keeps any (issue #19:
      // a branch on it took a mispredict per agent keeping absences, more each day of the week).
      const c0 = absCount[eid];
      absent7d[eid] = c0 | (absent7d[eid] & ((c0 - 1) >> 31));
      if (a === 0 && allSteady === 1) continue;
      const job = jobCol[eid];
      const k = job >= 0 && job < nJobs ? job : nJobs;
      const sk = steady[k];
      if (sk !== 0 && (a & A_DIRTY) === 0) {
        // Nothing of this agent changes this tick but its absences expiring, and its shift state
        // where the job went from one state outside the window to another (2: idle after the
        // day's end, awaiting the start): issue #19, the midnight pass over every agent.
        if (sk === 2) shiftState[eid] = outside[k];
        if (newDay === 1) {
          lateToday[eid] = 0;
          withheld[eid] = 0;
        }
        continue;
      }
      attn[eid] = 0;
      if (newDay === 1) {
        lateToday[eid] = 0;
        withheld[eid] = 0;
      }
      wageThisTick[eid] = 0;
      absent7d[eid] = c0;
      const prev = shiftState[eid];
      const out = outside[k];
      if (out >= 0) {
        if ((flagsCol[eid] & F_STARTED) !== 0) {
          // The shift is over: its attendance sample.
          attendance[eid] = addAttendance(eid);
          flagsCol[eid] = 0;
          everOnTime[eid] = 0;
          lastPresent[eid] = -1;
        }
        shiftState[eid] = out;
        onShift[eid] = 0;
        continue;
      }
      n = step(n, eid, job, prev);
    }
    K.nEvents = n;
    return agents.length;
  };
}
