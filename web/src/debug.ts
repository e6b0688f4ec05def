// window.__observer (its shape: api.ts): what the e2e tests and the frame-rate figures read of
// the page, and the few things they do to it (send a frame, drop a diff, pick a town or agent).
import type { ObserverDebug, ObserverStatus } from "./api.ts";
import type { Page } from "./page.ts";
import { selectAgent, selectTown } from "./selection.ts";

export function installDebug(page: Page): void {
  const { els, map, overview, charts, feed, figures } = page;
  const debug: ObserverDebug = {
    status(): ObserverStatus {
      const s = page.session;
      return {
        connected: s?.connected ?? false,
        role: s?.role ?? null,
        label: s?.label ?? null,
        tick: s?.mirror.tick ?? -1,
        seq: s?.mirror.seq ?? 0,
        mode: s?.state.mode ?? null,
        town: page.town,
        towns: page.towns,
        selected: page.selected,
        snapshots: s?.mirror.snapshots ?? 0,
        diffs: s?.mirror.diffs ?? 0,
        gaps: s?.mirror.gaps ?? 0,
        tps: page.tps,
        viewTick: page.viewTick,
        viewPaused: page.viewPaused,
        clock: els.clock.textContent || null,
        scope: page.towns > 1 && !page.scopeAll ? "town" : "all",
      };
    },
    get fps() {
      return figures.fps;
    },
    get frameMs() {
      return figures.frameMs;
    },
    get worstGapMs() {
      return figures.worstGapMs;
    },
    get net() {
      return { ...figures.net };
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
    agentTown: (id) => page.session?.state.agents?.[id]?.town ?? null,
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
    tip: () => ({ text: els.tip.textContent ?? "", tick: page.tipTick, hidden: els.tip.hidden, agent: page.hover?.id ?? null }),
    feed: () => feed.texts(),
    feedTowns: () => feed.towns(),
    results: () => [...(page.session?.results ?? [])],
    send(frame) {
      page.session?.send(frame);
    },
    command: (name, args) => page.session?.command(name, args) ?? Promise.resolve({ name, status: "error", error: { code: "unavailable", message: "not connected" } }),
    dropNextDiff() {
      if (page.session) page.session.dropNext = true;
    },
    selectTown: (t) => selectTown(page, t),
    selectAgent: (id) => selectAgent(page, id),
  };
  (window as unknown as { __observer: ObserverDebug }).__observer = debug;
}
