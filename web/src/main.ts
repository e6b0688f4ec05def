// The observer page's entry: login (token -> ticket, or anonymous viewing when the server allows
// it), the session, and one animation-frame loop that folds the payloads received since the last
// frame into the map, the overview, the agent panel, the charts, the feed and the controls. The
// header shows the in-game clock; a viewer may pause their own view (payloads keep arriving and
// are folded in on resume; the world is not paused). With many towns the charts and the feed
// follow the picked town, or every town at the viewer's choice.
// Exposes window.__observer (web/src/api.ts) for the e2e tests and the frame-rate figures.
import type { ObserverDebug, ObserverStatus } from "./api.ts";
import { KpiCharts, type TownFigures } from "./charts.ts";
import { CONTENT_COLOUR, byId, h, objectColour } from "./dom.ts";
import { Feed } from "./feed.ts";
import { MapView } from "./map.ts";
import { adoptNeeds, fmt, needOf, needs, urgentNeed, type AgentRecordT, type TownState } from "./model.ts";
import { Session, Unauthorized } from "./net.ts";
import { OverviewView, type OverviewKpi } from "./overview.ts";
import { AgentPanel } from "./panel.ts";
import { clock, recordTown } from "./town.ts";

interface PageConfig {
  auth: { tokens: boolean; anonymous_viewer: boolean };
}

const els = {
  status: byId("status"),
  clock: byId("clock"),
  viewPause: byId<HTMLButtonElement>("btn-view-pause"),
  scope: byId("scope"),
  scopeText: byId("scope-text"),
  allTowns: byId<HTMLInputElement>("chk-all-towns"),
  feedScope: byId("feed-scope"),
  zoomIn: byId<HTMLButtonElement>("btn-zoom-in"),
  zoomOut: byId<HTMLButtonElement>("btn-zoom-out"),
  zoomFit: byId<HTMLButtonElement>("btn-zoom-fit"),
  follow: byId<HTMLButtonElement>("btn-follow"),
  mapView: byId("map-view"),
  who: byId("who"),
  picker: byId("town-picker"),
  townInput: byId<HTMLInputElement>("town-input"),
  townCount: byId("town-count"),
  townPrev: byId<HTMLButtonElement>("town-prev"),
  townNext: byId<HTMLButtonElement>("town-next"),
  pause: byId<HTMLButtonElement>("btn-pause"),
  speed: byId<HTMLSelectElement>("sel-speed"),
  spec: byId<HTMLSelectElement>("sel-spec"),
  trigger: byId<HTMLButtonElement>("btn-trigger"),
  event: byId<HTMLSelectElement>("sel-event"),
  cancel: byId<HTMLButtonElement>("btn-cancel"),
  spawn: byId<HTMLButtonElement>("btn-spawn"),
  snapshot: byId<HTMLButtonElement>("btn-snapshot"),
  result: byId("result"),
  map: byId<HTMLCanvasElement>("map"),
  tip: byId("tip"),
  legend: byId("legend"),
  overviewArea: byId("overview-area"),
  overview: byId<HTMLCanvasElement>("overview"),
  overviewScale: byId("overview-scale"),
  kpi: byId<HTMLSelectElement>("sel-kpi"),
  charts: byId("charts"),
  feed: byId<HTMLOListElement>("feed"),
  allEvents: byId<HTMLInputElement>("chk-all-events"),
  login: byId("login"),
  loginForm: byId<HTMLFormElement>("login-form"),
  loginToken: byId<HTMLInputElement>("login-token"),
  loginAnon: byId<HTMLButtonElement>("login-anon"),
  loginCancel: byId<HTMLButtonElement>("login-cancel"),
  loginError: byId("login-error"),
  loginNote: byId("login-note"),
};

const map = new MapView(els.map);
const overview = new OverviewView(els.overview);
const charts = new KpiCharts(els.charts);
const feed = new Feed(els.feed);
const panel = new AgentPanel({
  close: () => selectAgent(null),
  setNeed: (agent, need, value) => void run("setneed", { agent_id: agent, need, value }),
});

let config: PageConfig = { auth: { tokens: false, anonymous_viewer: true } };
let session: Session | null = null;
let town = 0;
let towns = 0;
let selected: string | null = null;
/** Payloads arrived since the last frame: the frame folds them in once. */
let stateDirty = false;
let linkNote = "not connected";
const tickTimes: { t: number; tick: number }[] = [];
let tps = 0;
let droppedPayloads = 0;
/** This viewer paused their view: payloads are applied to the mirror, the views stand still. */
let viewPaused = false;
/** The tick the views show. */
let viewTick = -1;
/** The charts and the feed show every town (not only the picked one). */
let scopeAll = false;
/** Counts from the picked town's events since it was picked (its charts' running totals). */
const townCounts = { completed: 0, failed: 0, late: 0, exits: 0, spawns: 0, conflicts: 0 };
/** The town of agents seen in the state: events about an agent that just left still find it. */
const knownTown = new Map<string, number>();
/** The agent under the pointer (the tooltip follows it live), and where the pointer is. */
let hover: { id: string; x: number; y: number } | null = null;
let tipTick = -1;
const CONTROLS = [els.pause, els.speed, els.spec, els.trigger, els.event, els.cancel, els.spawn, els.snapshot];

// ---- session --------------------------------------------------------------------------------------

function connect(token: string | null): Promise<void> {
  session?.close();
  const s = new Session(token, {
    payload(p, result) {
      if (s !== session) return;
      if (result === "gap" || result === "waiting") {
        stateDirty = true;
        return;
      }
      if (p.dropped?.payloads) droppedPayloads = p.dropped.payloads;
      const state = s.state;
      const townOf = (r: Record<string, unknown>) => recordTown(r, (id) => state.agents?.[id]?.town ?? knownTown.get(id));
      feed.add(p.events, p.narrations, townOf);
      const many = (state.towns ?? 1) > 1;
      for (const e of p.events) {
        if (e.event === "queue_conflict") map.conflict(e.tick, e.actor, e.rival);
        if (many && townOf(e) === town) countTownEvent(e.event);
      }
      const now = performance.now();
      tickTimes.push({ t: now, tick: p.tick });
      while (tickTimes.length > 2 && now - tickTimes[0].t > 2000) tickTimes.shift();
      if (adoptNeeds(state)) needsChanged();
      charts.setDay(state.layout?.ticks_per_day ?? null);
      charts.sample(p.tick, state, many ? townFigures(state) : null);
      stateDirty = true;
    },
    hello(hl) {
      if (s !== session) return;
      hideLogin();
      setRole(hl.role, hl.label, token !== null);
      s.subscribeTown(town, null);
      if (selected) s.subscribeAgent(selected, null);
    },
    link(up, why) {
      linkNote = up ? "connected" : `reconnecting: ${why}`;
    },
    unauthorized(message) {
      if (s !== session) return;
      showLogin(message);
    },
    error(code, message) {
      showResult(`server: ${code}: ${message}`, "error");
    },
  });
  session = s;
  return s.open();
}

function setRole(role: "viewer" | "admin", label: string, withToken: boolean): void {
  const admin = role === "admin";
  for (const el of CONTROLS) {
    el.disabled = !admin;
    el.title = admin ? "" : "admin only (you are a viewer)";
  }
  panel.setRole(admin);
  const btn = h("button", { type: "button", id: withToken ? "btn-logout" : "btn-login" }, withToken ? "Log out" : "Log in");
  btn.addEventListener("click", () => {
    if (withToken) {
      session?.close();
      session = null;
    }
    showLogin("", !withToken);
  });
  els.who.replaceChildren(h("span", { id: "who-role", "data-role": role }, `${label} (${role})`), btn);
}

function showLogin(error: string, cancellable = false): void {
  els.login.hidden = false;
  els.loginError.textContent = error;
  els.loginAnon.hidden = !config.auth.anonymous_viewer;
  els.loginCancel.hidden = !cancellable;
  els.loginToken.focus();
}

function hideLogin(): void {
  els.login.hidden = true;
  els.loginError.textContent = "";
  els.loginToken.value = "";
}

els.loginForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = els.loginToken.value.trim();
  if (!token) {
    els.loginError.textContent = "enter a token";
    return;
  }
  els.loginError.textContent = "";
  connect(token).catch((e: unknown) => {
    els.loginError.textContent = e instanceof Unauthorized ? `refused: ${e.message}` : String(e);
  });
});
els.loginAnon.addEventListener("click", () => {
  hideLogin();
  void connect(null).catch(() => {});
});
els.loginCancel.addEventListener("click", () => hideLogin());

// ---- commands -------------------------------------------------------------------------------------

async function run(name: string, args: Record<string, unknown> = {}): Promise<void> {
  if (!session) return;
  showResult(`${name}: sent`, "");
  const r = await session.command(name, args);
  if (r.status === "ok") showResult(`${name}: ok ${summary(r.result)}`, "ok");
  else showResult(`${name}: ${r.error?.code ?? "error"}: ${r.error?.message ?? ""}`, "error");
}

function summary(result: unknown): string {
  if (result === null || typeof result !== "object") return result === undefined ? "" : String(result);
  const r = result as Record<string, unknown>;
  const keys = ["event_id", "id", "agent_id", "path", "state", "spec", "tick"].filter((k) => r[k] !== undefined && typeof r[k] !== "object");
  return keys.map((k) => `${k}=${String(r[k])}`).join(" ");
}

function showResult(text: string, cls: "" | "ok" | "error"): void {
  els.result.textContent = text;
  els.result.className = `result ${cls}`;
}

els.pause.addEventListener("click", () => void run(session?.state.loop?.state === "paused" ? "resume" : "pause"));
els.speed.addEventListener("change", () => {
  const v = els.speed.value;
  void run("speed", v === "max" ? { ticks_per_second: null } : { multiplier: Number(v) });
});
els.trigger.addEventListener("click", () => {
  if (els.spec.value) void run("perturbation_trigger", { spec: els.spec.value, town });
});
els.cancel.addEventListener("click", () => {
  if (els.event.value) void run("perturbation_cancel", { event_id: els.event.value });
});
els.spawn.addEventListener("click", () => void run("spawn", { town }));
els.snapshot.addEventListener("click", () => void run("snapshot_save", {}));

// ---- selection ------------------------------------------------------------------------------------

function selectTown(t: number): void {
  const next = Math.max(0, Math.min(Math.max(0, towns - 1), Math.floor(t)));
  if (next === town && session) return;
  const prev = town;
  town = next;
  els.townInput.value = String(town);
  overview.selected = town;
  overview.dirty = true;
  selectAgent(null);
  map.clear();
  for (const k of Object.keys(townCounts) as (keyof typeof townCounts)[]) townCounts[k] = 0;
  knownTown.clear();
  charts.resetTown();
  updateScope();
  session?.subscribeTown(town, prev);
  stateDirty = true;
}

function countTownEvent(name: string): void {
  if (name === "affordance_finish") townCounts.completed++;
  else if (name === "affordance_fail") townCounts.failed++;
  else if (name === "job_late") townCounts.late++;
  else if (name === "agent_exit") townCounts.exits++;
  else if (name === "agent_spawn") townCounts.spawns++;
  else if (name === "queue_conflict") townCounts.conflicts++;
}

/** The picked town's figures now: the overview's means, its agents' jobs, its events' counts. */
function townFigures(state: TownState): TownFigures {
  const o = state.towns_overview;
  let onShift = 0;
  let wages = 0;
  for (const [id, j] of Object.entries(state.jobs ?? {})) {
    if (state.agents?.[id]?.town !== town) continue;
    if (j.on_shift) onShift++;
  }
  const econ = (state as { economy?: { towns?: { town: number; wages_paid: number }[] } }).economy?.towns?.find((e) => e.town === town);
  if (econ) wages = econ.wages_paid;
  else for (const [id, j] of Object.entries(state.jobs ?? {})) if (state.agents?.[id]?.town === town) wages += j.wages_earned;
  return {
    needs: Object.fromEntries(needs().map((n) => [n.name, o?.[n.name]?.[town] ?? 0])),
    wallet: o?.wallet[town] ?? 0,
    lateNow: o?.late[town] ?? 0,
    alive: o?.agents[town] ?? 0,
    queued: o?.queued[town] ?? 0,
    onShift,
    wages,
    ...townCounts,
  };
}

/** Says on the page what the charts and the feed show, and applies it. */
function updateScope(): void {
  const many = towns > 1;
  const all = !many || scopeAll;
  els.scope.hidden = !many;
  els.scopeText.textContent = all ? "all towns" : `town ${town}`;
  els.scope.dataset.scope = all ? "all" : "town";
  els.feedScope.textContent = many ? (all ? "(all towns)" : `(town ${town} and world-wide)`) : "";
  charts.setScope(all ? "all" : "town");
  feed.setTown(all ? null : town);
}

function selectAgent(id: string | null): void {
  const prev = selected;
  selected = id;
  map.selected = id;
  map.dirty = true;
  panel.show(id);
  if (map.view().following !== null && map.view().following !== id) map.follow(null);
  els.follow.disabled = id === null;
  updateFollow();
  session?.subscribeAgent(id, prev);
}

function updateFollow(): void {
  const on = selected !== null && map.view().following === selected;
  els.follow.classList.toggle("on", on);
  els.follow.textContent = on ? "Following" : "Follow selected";
}

els.townInput.addEventListener("change", () => selectTown(Number(els.townInput.value)));
els.townPrev.addEventListener("click", () => selectTown(town - 1));
els.townNext.addEventListener("click", () => selectTown(town + 1));
els.kpi.addEventListener("change", () => {
  overview.kpi = els.kpi.value as OverviewKpi;
  overview.dirty = true;
});
els.allEvents.addEventListener("change", () => (feed.all = els.allEvents.checked));
els.allTowns.addEventListener("change", () => {
  scopeAll = els.allTowns.checked;
  updateScope();
});
els.viewPause.addEventListener("click", () => setViewPaused(!viewPaused));

/** The shown town's agents as they were when this viewer paused the view (the tooltip reads them). */
let frozenAgents: Map<string, AgentRecordT> | null = null;

function setViewPaused(on: boolean): void {
  viewPaused = on;
  // The mirror updates its records in place: keep copies of what the paused view shows.
  frozenAgents = on && session ? new Map(townAgents(session.state).map(([id, a]) => [id, { ...a }])) : null;
  els.viewPause.textContent = on ? "Resume my view" : "Pause my view";
  els.viewPause.classList.toggle("on", on);
  // On resume everything that arrived meanwhile is folded in at once.
  if (!on) stateDirty = true;
}

const mapCentre = () => ({ x: els.map.clientWidth / 2, y: els.map.clientHeight / 2 });
els.zoomIn.addEventListener("click", () => map.zoomAt(1.5, mapCentre().x, mapCentre().y));
els.zoomOut.addEventListener("click", () => map.zoomAt(1 / 1.5, mapCentre().x, mapCentre().y));
els.zoomFit.addEventListener("click", () => {
  map.resetView();
  updateFollow();
});
els.follow.addEventListener("click", () => {
  map.follow(map.view().following === selected ? null : selected);
  updateFollow();
});
els.map.addEventListener(
  "wheel",
  (ev) => {
    ev.preventDefault();
    const r = els.map.getBoundingClientRect();
    map.zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  },
  { passive: false },
);
/** A press on the map: a drag pans, a press without one is a click (selects). */
let press: { x: number; y: number; moved: boolean } | null = null;
els.map.addEventListener("pointerdown", (ev) => {
  if (ev.button !== 0) return;
  press = { x: ev.clientX, y: ev.clientY, moved: false };
  els.map.setPointerCapture(ev.pointerId);
});
els.map.addEventListener("pointermove", (ev) => {
  if (!press) return;
  const dx = ev.clientX - press.x;
  const dy = ev.clientY - press.y;
  if (!press.moved && Math.hypot(dx, dy) < 4) return;
  press.moved = true;
  els.map.classList.add("dragging");
  map.panBy(dx, dy);
  updateFollow();
  press.x = ev.clientX;
  press.y = ev.clientY;
});
els.map.addEventListener("pointerup", () => {
  els.map.classList.remove("dragging");
  // The click that follows a drag is not a selection.
  if (press?.moved) setTimeout(() => (press = null), 0);
  else press = null;
});

els.overview.addEventListener("click", (ev) => {
  const r = els.overview.getBoundingClientRect();
  const t = overview.hit(ev.clientX - r.left, ev.clientY - r.top);
  if (t !== null) selectTown(t);
});

els.map.addEventListener("click", (ev) => {
  if (press?.moved) return;
  const r = els.map.getBoundingClientRect();
  selectAgent(map.hit(ev.clientX - r.left, ev.clientY - r.top));
});
els.map.addEventListener("mousemove", (ev) => {
  const r = els.map.getBoundingClientRect();
  const x = ev.clientX - r.left;
  const y = ev.clientY - r.top;
  const id = map.hit(x, y);
  if (id !== map.hovered) {
    map.hovered = id;
    map.dirty = true;
  }
  hover = id ? { id, x, y } : null;
  updateTip();
});
els.map.addEventListener("mouseleave", () => {
  hover = null;
  updateTip();
  map.hovered = null;
  map.dirty = true;
});

/** The tooltip of the agent under the pointer, from the state the views show (refreshed every fold). */
function updateTip(): void {
  const a = hover ? (frozenAgents ? frozenAgents.get(hover.id) : session?.state.agents?.[hover.id]) : undefined;
  if (!hover || !a) {
    els.tip.hidden = true;
    return;
  }
  const { need, value } = urgentNeed(a);
  const levels = needs()
    .map((n) => `${n.label} ${needOf(a, n.name).toFixed(2)}`)
    .join(", ");
  const urgent = needs().find((n) => n.name === need)?.label ?? need;
  els.tip.textContent = `${hover.id}: ${a.option}${a.activity ? ` (${a.activity})` : ""}; most urgent ${urgent} ${value.toFixed(2)} (${levels}); wallet ${fmt(a.wallet)}`;
  els.tip.style.left = `${hover.x + 12}px`;
  els.tip.style.top = `${hover.y + 12}px`;
  els.tip.hidden = false;
  tipTick = viewTick;
  els.tip.dataset.tick = String(viewTick);
}

// ---- folding the state into the views (once per frame) ---------------------------------------------

function townAgents(state: TownState): [string, AgentRecordT][] {
  const out: [string, AgentRecordT][] = [];
  for (const [id, a] of Object.entries(state.agents ?? {})) if (a.town === town) out.push([id, a]);
  return out;
}

function fold(now: number): void {
  const s = session;
  if (!s?.mirror.state) return;
  const state = s.state;
  const n = state.towns ?? 1;
  if (n !== towns) {
    towns = n;
    els.townInput.max = String(n - 1);
    els.townCount.textContent = `of ${n}`;
    els.picker.hidden = n <= 1;
    els.overviewArea.hidden = n <= 1;
    overview.dirty = true;
    if (town >= n) selectTown(0);
    updateScope();
  }
  const objects = Object.values(state.objects ?? {}).filter((o) => o.town === town);
  const agents = townAgents(state);
  for (const [id, a] of agents) knownTown.set(id, a.town);
  if (knownTown.size > 4 * agents.length + 1000) knownTown.clear();
  map.update(now, s.mirror.tick, state.layout, agents, state.jobs ?? {}, objects);
  viewTick = s.mirror.tick;
  legendObjects();
  updateTip();
  updateClock(state);
  if (map.view().following !== null && !state.agents?.[map.view().following!]) {
    map.follow(null);
    updateFollow();
  }
  if (selected && !state.agents?.[selected] && state.mode === "full") selectAgent(null);
  if (n > 1) {
    overview.selected = town;
    overview.update(n, state.towns_overview, state.aggregates?.by_town);
  }
  // The glide lasts about one tick (no longer than 400 ms, so slow runs still look alive).
  if (tickTimes.length >= 2) {
    const first = tickTimes[0];
    const last = tickTimes[tickTimes.length - 1];
    tps = last.t > first.t ? ((last.tick - first.tick) * 1000) / (last.t - first.t) : 0;
    map.glideMs = tps > 0 ? Math.min(400, Math.max(60, 1000 / tps)) : 250;
  }
  updateControls(state);
}

let specsKey = "";
let eventsKey = "-";

function updateControls(state: TownState): void {
  const loop = state.loop;
  els.pause.textContent = loop?.state === "paused" ? "Resume" : "Pause";
  const specs = state.layout?.perturbation_specs ?? [];
  if (specs.join(",") !== specsKey) {
    specsKey = specs.join(",");
    els.spec.replaceChildren(...specs.map((sp) => h("option", { value: sp }, sp)));
  }
  const evs = [...(state.perturbations?.active ?? []), ...(state.perturbations?.pending ?? [])];
  const key = evs.map((e) => e.id).join(",");
  if (key !== eventsKey) {
    eventsKey = key;
    els.event.replaceChildren(
      ...(evs.length ? evs.map((e) => h("option", { value: e.id }, `${e.id} ${e.spec} (town ${e.town}, until t${e.ends_at})`)) : [h("option", { value: "" }, "no active perturbation")]),
    );
  }
  if (loop && document.activeElement !== els.speed) {
    const v = loop.ticks_per_second === null ? "max" : String(loop.speed);
    if ([...els.speed.options].some((o) => o.value === v)) els.speed.value = v;
  }
}

function updateClock(state: TownState): void {
  const c = clock(viewTick, state.layout?.ticks_per_day);
  const text = c ? `Day ${c.day}, ${c.time}` : "";
  if (els.clock.textContent !== text) els.clock.textContent = text;
  els.clock.dataset.tick = String(viewTick);
}

function statusLine(): void {
  const s = session;
  const state = s?.state;
  const parts: string[] = [];
  parts.push(s?.connected ? "connected" : linkNote);
  if (s?.mirror.state && state) {
    parts.push(viewPaused ? `view paused at tick ${viewTick} (world at ${s.mirror.tick})` : `tick ${s.mirror.tick}`);
    parts.push(`${tps.toFixed(1)} ticks/s`);
    if (state.loop) parts.push(`${state.loop.state}${state.loop.speed !== null ? ` ${fmt(state.loop.speed)}\u00d7` : " (max speed)"}`);
    parts.push(`${state.mode ?? "full"} mode`);
    parts.push(`${state.aggregates?.agents ?? Object.keys(state.agents ?? {}).length} agents in ${towns} town${towns === 1 ? "" : "s"}`);
  }
  if (s && s.mirror.gaps > 0) parts.push(`${s.mirror.gaps} resync${s.mirror.gaps === 1 ? "" : "s"}`);
  if (droppedPayloads > 0) parts.push(`${droppedPayloads} payloads skipped (slow link)`);
  parts.push(`${fps} fps`);
  const dot = h("span", { class: s?.connected ? "dot on" : "dot" });
  els.status.replaceChildren(dot, parts.join(" \u00b7 "));
  els.status.dataset.tick = String(s?.mirror.tick ?? -1);
}

// ---- the frame loop -------------------------------------------------------------------------------

let fps = 0;
let frameMs = 0;
let worstGapMs = 0;
let gapMax = 0;
let lastFrame = 0;
let net = { msPerSecond: 0, kbPerSecond: 0, framesPerSecond: 0 };
let lastLoad = { ms: 0, bytes: 0, frames: 0 };
let frames = 0;
let workMs = 0;
let windowStart = performance.now();
let lastStatus = 0;

function frame(now: number): void {
  const t0 = performance.now();
  if (lastFrame > 0) gapMax = Math.max(gapMax, now - lastFrame);
  lastFrame = now;
  if (stateDirty && !viewPaused) {
    stateDirty = false;
    fold(now);
  }
  if (map.dirty || map.moving(now)) {
    map.draw(now);
    const v = map.view();
    els.mapView.textContent = v.zoom > 1.001 ? `zoom ${v.zoom.toFixed(1)}\u00d7${v.following ? ` \u00b7 following ${v.following}` : ""} \u00b7 drag: pan` : "wheel: zoom \u00b7 drag: pan";
  }
  overview.draw();
  if (overview.dirty === false) els.overviewScale.textContent = overview.scale;
  if (!viewPaused) {
    charts.flush(now);
    feed.flush();
    if (session?.mirror.state) panel.render(session.state, now, selected !== null && map.inConflict(selected));
  }
  if (now - lastStatus > 250) {
    lastStatus = now;
    statusLine();
  }
  workMs += performance.now() - t0;
  frames++;
  if (now - windowStart >= 1000) {
    fps = Math.round((frames * 1000) / (now - windowStart));
    frameMs = workMs / Math.max(1, frames);
    worstGapMs = gapMax;
    gapMax = 0;
    const load = session?.load ?? { ms: 0, bytes: 0, frames: 0 };
    const k = 1000 / (now - windowStart);
    net = { msPerSecond: (load.ms - lastLoad.ms) * k, kbPerSecond: ((load.bytes - lastLoad.bytes) * k) / 1024, framesPerSecond: (load.frames - lastLoad.frames) * k };
    lastLoad = { ...load };
    frames = 0;
    workMs = 0;
    windowStart = now;
  }
  requestAnimationFrame(frame);
}

// ---- legend, debug handle, start ------------------------------------------------------------------

/** The world's needs list arrived or changed: the legend, the overview's menu, the panel and the charts follow. */
function needsChanged(): void {
  legend();
  const first = els.kpi.querySelector('option[value="wallet"]');
  for (const o of Array.from(els.kpi.querySelectorAll("option[data-need]"))) o.remove();
  for (const n of needs()) {
    const o = h("option", { value: n.name, "data-need": "1" }, n.label);
    els.kpi.insertBefore(o, first);
  }
  panel.setNeeds();
  charts.setNeeds();
}

function legend(): void {
  const sw = (cls: string, colour: string, text: string) => {
    const s = h("span", { class: `sw ${cls}` });
    if (cls.includes("ring")) s.style.borderColor = colour;
    else s.style.background = colour;
    return h("span", {}, s, text);
  };
  els.legend.replaceChildren(
    sw("", CONTENT_COLOUR, "needs met"),
    ...needs().map((n) => sw("", n.colour, `${n.label} most urgent`)),
    sw("ring", "#ff4d4d", "late"),
    sw("ring", "#6b7280", "absent"),
    sw("", "#ffc45c", "queued (dashed line), badge = queue length"),
    sw("", "#ffb020", "\u25b2 queue conflict"),
    sw("", "rgba(255,255,255,0.55)", "solid line = reservation"),
  );
  legendObjects();
}

let legendKey = "";

/** The object types on the map, each with the letters drawn on it. */
function legendObjects(): void {
  const labels = [...map.objectLabels()];
  const key = labels.map(([t, l]) => `${t}=${l}`).join(",");
  if (key === legendKey) return;
  legendKey = key;
  for (const el of els.legend.querySelectorAll(".obj")) el.remove();
  for (const [type, label] of labels) {
    const s = h("span", { class: "sw sq" });
    s.style.background = objectColour(type);
    els.legend.append(h("span", { class: "obj", "data-type": type }, s, h("b", {}, label), ` ${type}`));
  }
}

const debug: ObserverDebug = {
  status(): ObserverStatus {
    const s = session;
    return {
      connected: s?.connected ?? false,
      role: s?.role ?? null,
      label: s?.label ?? null,
      tick: s?.mirror.tick ?? -1,
      seq: s?.mirror.seq ?? 0,
      mode: s?.state.mode ?? null,
      town,
      towns,
      selected,
      snapshots: s?.mirror.snapshots ?? 0,
      diffs: s?.mirror.diffs ?? 0,
      gaps: s?.mirror.gaps ?? 0,
      tps,
      viewTick,
      viewPaused,
      clock: els.clock.textContent || null,
      scope: towns > 1 && !scopeAll ? "town" : "all",
    };
  },
  get fps() {
    return fps;
  },
  get frameMs() {
    return frameMs;
  },
  get worstGapMs() {
    return worstGapMs;
  },
  get net() {
    return { ...net };
  },
  get drawn() {
    return { ...map.drawn };
  },
  lastFrame: () => map.lastFrame,
  agents: () => map.ids(),
  agentPoint(id) {
    const p = map.point(id);
    if (!p) return null;
    const r = els.map.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  },
  agentColour: (id) => map.colour(id),
  agentTown: (id) => session?.state.agents?.[id]?.town ?? null,
  townPoint(t) {
    if (els.overviewArea.hidden) return null;
    const p = overview.point(t);
    if (!p) return null;
    const r = els.overview.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  },
  chartPoints: () => charts.points,
  chartHistory: () => charts.history(),
  chartAxes: () => charts.axes(),
  tip: () => ({ text: els.tip.textContent ?? "", tick: tipTick, hidden: els.tip.hidden, agent: hover?.id ?? null }),
  feed: () => feed.texts(),
  feedTowns: () => feed.towns(),
  results: () => [...(session?.results ?? [])],
  send(frame) {
    session?.send(frame);
  },
  command: (name, args) => session?.command(name, args) ?? Promise.resolve({ name, status: "error", error: { code: "unavailable", message: "not connected" } }),
  dropNextDiff() {
    if (session) session.dropNext = true;
  },
  selectTown,
  selectAgent,
};
(window as unknown as { __observer: ObserverDebug }).__observer = debug;

async function start(): Promise<void> {
  legend();
  for (const el of CONTROLS) el.disabled = true;
  panel.setRole(false);
  try {
    const res = await fetch("/observer/config.json", { cache: "no-store" });
    if (res.ok) config = (await res.json()) as PageConfig;
  } catch {
    // An older server without the config: assume a token may be needed.
    config = { auth: { tokens: true, anonymous_viewer: false } };
  }
  if (!config.auth.tokens) els.loginNote.textContent = "This server has no tokens: everyone watches as a viewer.";
  if (config.auth.anonymous_viewer) void connect(null).catch(() => {});
  else showLogin("");
  requestAnimationFrame(frame);
}

void start();
