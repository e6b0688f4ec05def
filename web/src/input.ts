// What the viewer does with the pointer and the page's own controls (no commands to the server):
// the town picker and the overview, the map (wheel zoom, drag pan, click select, hover tooltip),
// zoom and follow buttons, the overview's KPI menu, the feed's and the charts' scope, and pausing
// one's own view.
import { fmt, needOf, needs, urgentNeed } from "./model.ts";
import type { OverviewKpi } from "./overview.ts";
import type { Page } from "./page.ts";
import { selectAgent, selectTown, townAgents, updateFollow, updateScope } from "./selection.ts";

export function bindInput(page: Page): void {
  const { els, map, overview } = page;
  els.townInput.addEventListener("change", () => selectTown(page, Number(els.townInput.value)));
  els.townPrev.addEventListener("click", () => selectTown(page, page.town - 1));
  els.townNext.addEventListener("click", () => selectTown(page, page.town + 1));
  els.kpi.addEventListener("change", () => {
    overview.kpi = els.kpi.value as OverviewKpi;
    overview.dirty = true;
  });
  els.allEvents.addEventListener("change", () => (page.feed.all = els.allEvents.checked));
  els.allTowns.addEventListener("change", () => {
    page.scopeAll = els.allTowns.checked;
    updateScope(page);
  });
  els.viewPause.addEventListener("click", () => setViewPaused(page, !page.viewPaused));

  const mapCentre = () => ({ x: els.map.clientWidth / 2, y: els.map.clientHeight / 2 });
  els.zoomIn.addEventListener("click", () => map.zoomAt(1.5, mapCentre().x, mapCentre().y));
  els.zoomOut.addEventListener("click", () => map.zoomAt(1 / 1.5, mapCentre().x, mapCentre().y));
  els.zoomFit.addEventListener("click", () => {
    map.resetView();
    updateFollow(page);
  });
  els.follow.addEventListener("click", () => {
    map.follow(map.view().following === page.selected ? null : page.selected);
    updateFollow(page);
  });
  bindMapPointer(page);

  els.overview.addEventListener("click", (ev) => {
    const r = els.overview.getBoundingClientRect();
    const t = overview.hit(ev.clientX - r.left, ev.clientY - r.top);
    if (t !== null) selectTown(page, t);
  });
}

/** The map under the pointer: the wheel zooms, a drag pans, a press without a drag selects, hovering shows the tooltip. */
function bindMapPointer(page: Page): void {
  const { els, map } = page;
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
    updateFollow(page);
    press.x = ev.clientX;
    press.y = ev.clientY;
  });
  els.map.addEventListener("pointerup", () => {
    els.map.classList.remove("dragging");
    // The click that follows a drag is not a selection.
    if (press?.moved) setTimeout(() => (press = null), 0);
    else press = null;
  });

  els.map.addEventListener("click", (ev) => {
    if (press?.moved) return;
    const r = els.map.getBoundingClientRect();
    selectAgent(page, map.hit(ev.clientX - r.left, ev.clientY - r.top));
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
    page.hover = id ? { id, x, y } : null;
    updateTip(page);
  });
  els.map.addEventListener("mouseleave", () => {
    page.hover = null;
    updateTip(page);
    map.hovered = null;
    map.dirty = true;
  });
}

function setViewPaused(page: Page, on: boolean): void {
  const els = page.els;
  page.viewPaused = on;
  // The mirror updates its records in place: keep copies of what the paused view shows.
  page.frozenAgents = on && page.session ? new Map(townAgents(page, page.session.state).map(([id, a]) => [id, { ...a }])) : null;
  els.viewPause.textContent = on ? "Resume my view" : "Pause my view";
  els.viewPause.classList.toggle("on", on);
  // On resume everything that arrived meanwhile is folded in at once.
  if (!on) page.stateDirty = true;
}

/** The tooltip of the agent under the pointer, from the state the views show (refreshed every fold). */
export function updateTip(page: Page): void {
  const { els, hover } = page;
  const a = hover ? (page.frozenAgents ? page.frozenAgents.get(hover.id) : page.session?.state.agents?.[hover.id]) : undefined;
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
  page.tipTick = page.viewTick;
  els.tip.dataset.tick = String(page.viewTick);
}
