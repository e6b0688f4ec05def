// The scheduler's persistence: its state as plain data for snapshots, the restore, and its part
// of the world's state hash (events, buckets, cooldowns, windows, baselines, counts, streams).
import type { StateHasher } from "../../engine/hash.ts";
import { isRngState, type RngState } from "../../engine/rng.ts";
import { NO_EVENTS, type PEvent } from "./spec.ts";
import type { PerturbationsState } from "./scheduler.ts";

function saveEvent(ev: PEvent): unknown {
  return { ...ev, agents: [...ev.agents], keys: [...ev.keys] };
}

/** The scheduler's state as plain data (snapshots). */
export function savePerturbations(s: PerturbationsState): unknown {
  const active: unknown[] = [];
  for (let t = 0; t < s.towns; t++) for (const ev of s.active[t]) active.push(saveEvent(ev));
  return {
    specs: s.table.map((x) => x.name),
    next_id: s.nextId,
    pending: s.pending.map(saveEvent),
    active,
    credit: s.credit.slice(),
    cooldown_until: s.cooldownUntil.slice(),
    windows: Array.from({ length: s.windows.buckets }, (_, k) => s.windows.list(k)),
    agent_cooldowns: [...s.agentCooldown].sort((a, b) => a[0] - b[0]),
    last_town: [...s.lastTown],
    price: { base: [...s.priceBase], held: [...s.priceHeld] },
    power: { base: [...s.powerBase], held: [...s.powerHeld] },
    water: { base: [...s.waterBase], held: [...s.waterHeld] },
    started_by_town: [...s.startedByTown],
    counts: { ...s.counts },
    rngs: Array.from({ length: s.rngs.length }, (_, t) => s.rngs.state(t)),
  };
}

/** Restores what savePerturbations wrote, refusing other specs or another town count. */
export function loadPerturbations(s: PerturbationsState, data: unknown): void {
  const d = data as {
    specs: string[];
    next_id: number;
    pending: PEvent[];
    active: PEvent[];
    credit: ArrayLike<number>;
    cooldown_until: ArrayLike<number>;
    windows: number[][];
    agent_cooldowns: [number, number][];
    last_town: number[];
    price: { base: number[]; held: number[] };
    power: { base: number[]; held: number[] };
    water: { base: number[]; held: number[] };
    started_by_town: number[];
    counts: { started: number; ended: number; cancelled: number };
    rngs: RngState[];
  };
  const names = s.table.map((x) => x.name);
  if (JSON.stringify(d.specs) !== JSON.stringify(names)) {
    throw new Error(`perturbations: saved specs [${d.specs.join(", ")}] differ from the configured ones [${names.join(", ")}]`);
  }
  if (d.rngs.length !== s.towns || !d.rngs.every(isRngState)) throw new Error(`perturbations: saved state is for ${d.rngs.length} towns, this world has ${s.towns}`);
  const copy = (ev: PEvent): PEvent => ({ ...ev, agents: [...ev.agents], keys: [...ev.keys] });
  s.nextId = d.next_id;
  s.pending = d.pending.map(copy);
  s.active = new Array<PEvent[]>(s.towns).fill(NO_EVENTS);
  for (const ev of d.active) {
    if (s.active[ev.town] === NO_EVENTS) s.active[ev.town] = [];
    s.active[ev.town].push(copy(ev));
  }
  s.credit.set(d.credit);
  s.cooldownUntil.set(d.cooldown_until);
  s.windows.setAll(d.windows);
  s.agentCooldown = new Map(d.agent_cooldowns);
  s.cooldownNext = 0;
  s.recount();
  s.openAt.fill(0);
  s.openUntil.fill(0);
  s.lastTown.set(d.last_town);
  s.priceBase.set(d.price.base);
  s.priceHeld.set(d.price.held);
  s.powerBase.set(d.power.base);
  s.powerHeld.set(d.power.held);
  s.waterBase.set(d.water.base);
  s.waterHeld.set(d.water.held);
  s.startedByTown.set(d.started_by_town);
  s.counts = { ...d.counts };
  d.rngs.forEach((r, t) => s.rngs.restore(t, r));
  s.meets.reset();
}

/** Feeds the scheduler's state to the world's state hash. */
export function hashPerturbations(s: PerturbationsState, h: StateHasher): void {
  const ev = (e: PEvent) => {
    h.u32(e.n).u32(e.town).u32(e.spec).u32(e.manual ? 1 : 0).u32(e.starts_at).u32(e.ends_at).u32(e.duration).f64(e.magnitude).u32(e.agents.length);
    for (const u of e.agents) h.u32(u);
    h.str(e.location).u32(e.keys.length);
    for (const k of e.keys) h.str(k);
  };
  h.u32(s.nextId).u32(s.pending.length);
  for (const e of s.pending) ev(e);
  for (let t = 0; t < s.towns; t++) {
    h.u32(s.active[t].length);
    for (const e of s.active[t]) ev(e);
  }
  const win = s.windows;
  for (let i = 0; i < s.credit.length; i++) h.f64(s.credit[i]).u32(s.cooldownUntil[i]).u32(win.length(i));
  for (let k = 0; k < win.buckets; k++) for (let i = 0; i < win.length(k); i++) h.u32(win.at(k, i));
  const ac = [...s.agentCooldown].sort((a, b) => a[0] - b[0]);
  h.u32(ac.length);
  for (const [u, until] of ac) h.u32(u).u32(until);
  for (let k = 0; k < s.table.length; k++) h.u32(s.lastTown[k]);
  for (let t = 0; t < s.towns; t++) {
    h.f64(s.priceBase[t]).u32(s.priceHeld[t]).u32(s.powerBase[t]).u32(s.powerHeld[t]).u32(s.waterBase[t]).u32(s.waterHeld[t]).u32(s.startedByTown[t]);
  }
  h.u32(s.counts.started).u32(s.counts.ended).u32(s.counts.cancelled);
  for (let t = 0; t < s.rngs.length; t++) {
    const st = s.rngs.state(t);
    h.f64(st.c).f64(st.s0).f64(st.s1).f64(st.s2);
  }
}
