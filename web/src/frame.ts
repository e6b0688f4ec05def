// The animation-frame loop: folds the payloads received since the last frame into the map, the
// overview, the controls, the tooltip and the clock (not while this viewer paused their view),
// draws what moved, writes the status line, and measures the frame rate, the frames' work and
// the network's load over each second (window.__observer reads the figures).
import { updateControls } from "./commands.ts";
import { h } from "./dom.ts";
import { updateTip } from "./input.ts";
import { legendObjects } from "./legend.ts";
import { fmt, type TownState } from "./model.ts";
import type { Page } from "./page.ts";
import { selectAgent, selectTown, townAgents, updateFollow, updateScope } from "./selection.ts";
import { clock } from "./town.ts";

/** Starts the loop (it runs as long as the page). */
export function startFrames(page: Page): void {
  const { els, map, overview, figures } = page;
  let gapMax = 0;
  let lastFrame = 0;
  let lastLoad = { ms: 0, bytes: 0, frames: 0 };
  let frames = 0;
  let workMs = 0;
  let windowStart = performance.now();
  let lastStatus = 0;

  const frame = (now: number): void => {
    const t0 = performance.now();
    if (lastFrame > 0) gapMax = Math.max(gapMax, now - lastFrame);
    lastFrame = now;
    if (page.stateDirty && !page.viewPaused) {
      page.stateDirty = false;
      fold(page, now);
    }
    if (map.dirty || map.moving(now)) {
      map.draw(now);
      const v = map.view();
      els.mapView.textContent = v.zoom > 1.001 ? `zoom ${v.zoom.toFixed(1)}\u00d7${v.following ? ` \u00b7 following ${v.following}` : ""} \u00b7 drag: pan` : "wheel: zoom \u00b7 drag: pan";
    }
    overview.draw();
    if (overview.dirty === false) els.overviewScale.textContent = overview.scale;
    if (!page.viewPaused) {
      page.charts.flush(now);
      page.feed.flush();
      if (page.session?.mirror.state) page.panel.render(page.session.state, now, page.selected !== null && map.inConflict(page.selected));
    }
    if (now - lastStatus > 250) {
      lastStatus = now;
      statusLine(page);
    }
    workMs += performance.now() - t0;
    frames++;
    if (now - windowStart >= 1000) {
      figures.fps = Math.round((frames * 1000) / (now - windowStart));
      figures.frameMs = workMs / Math.max(1, frames);
      figures.worstGapMs = gapMax;
      gapMax = 0;
      const load = page.session?.load ?? { ms: 0, bytes: 0, frames: 0 };
      const k = 1000 / (now - windowStart);
      figures.net = { msPerSecond: (load.ms - lastLoad.ms) * k, kbPerSecond: ((load.bytes - lastLoad.bytes) * k) / 1024, framesPerSecond: (load.frames - lastLoad.frames) * k };
      lastLoad = { ...load };
      frames = 0;
      workMs = 0;
      windowStart = now;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** Folds the mirrored state into the views: the town count, the map, the tooltip, the clock, the overview, the controls. */
function fold(page: Page, now: number): void {
  const { els, map, overview } = page;
  const s = page.session;
  if (!s?.mirror.state) return;
  const state = s.state;
  const n = state.towns ?? 1;
  if (n !== page.towns) {
    page.towns = n;
    els.townInput.max = String(n - 1);
    els.townCount.textContent = `of ${n}`;
    els.picker.hidden = n <= 1;
    els.overviewArea.hidden = n <= 1;
    overview.dirty = true;
    if (page.town >= n) selectTown(page, 0);
    updateScope(page);
  }
  const objects = Object.values(state.objects ?? {}).filter((o) => o.town === page.town);
  const agents = townAgents(page, state);
  for (const [id, a] of agents) page.knownTown.set(id, a.town);
  if (page.knownTown.size > 4 * agents.length + 1000) page.knownTown.clear();
  map.update(now, s.mirror.tick, state.layout, agents, state.jobs ?? {}, objects);
  page.viewTick = s.mirror.tick;
  legendObjects(page);
  updateTip(page);
  updateClock(page, state);
  if (map.view().following !== null && !state.agents?.[map.view().following!]) {
    map.follow(null);
    updateFollow(page);
  }
  if (page.selected && !state.agents?.[page.selected] && state.mode === "full") selectAgent(page, null);
  if (n > 1) {
    overview.selected = page.town;
    overview.update(n, state.towns_overview, state.aggregates?.by_town);
  }
  // The glide lasts about one tick (no longer than 400 ms, so slow runs still look alive).
  const times = page.tickTimes;
  if (times.length >= 2) {
    const first = times[0];
    const last = times[times.length - 1];
    page.tps = last.t > first.t ? ((last.tick - first.tick) * 1000) / (last.t - first.t) : 0;
    map.glideMs = page.tps > 0 ? Math.min(400, Math.max(60, 1000 / page.tps)) : 250;
  }
  updateControls(page, state);
}

function updateClock(page: Page, state: TownState): void {
  const el = page.els.clock;
  const c = clock(page.viewTick, state.layout?.ticks_per_day);
  const text = c ? `Day ${c.day}, ${c.time}` : "";
  if (el.textContent !== text) el.textContent = text;
  el.dataset.tick = String(page.viewTick);
}

function statusLine(page: Page): void {
  const { session: s, towns } = page;
  const state = s?.state;
  const parts: string[] = [];
  parts.push(s?.connected ? "connected" : page.linkNote);
  if (s?.mirror.state && state) {
    parts.push(page.viewPaused ? `view paused at tick ${page.viewTick} (world at ${s.mirror.tick})` : `tick ${s.mirror.tick}`);
    parts.push(`${page.tps.toFixed(1)} ticks/s`);
    if (state.loop) parts.push(`${state.loop.state}${state.loop.speed !== null ? ` ${fmt(state.loop.speed)}\u00d7` : " (max speed)"}`);
    parts.push(`${state.mode ?? "full"} mode`);
    parts.push(`${state.aggregates?.agents ?? Object.keys(state.agents ?? {}).length} agents in ${towns} town${towns === 1 ? "" : "s"}`);
  }
  if (s && s.mirror.gaps > 0) parts.push(`${s.mirror.gaps} resync${s.mirror.gaps === 1 ? "" : "s"}`);
  if (page.droppedPayloads > 0) parts.push(`${page.droppedPayloads} payloads skipped (slow link)`);
  parts.push(`${page.figures.fps} fps`);
  const dot = h("span", { class: s?.connected ? "dot on" : "dot" });
  page.els.status.replaceChildren(dot, parts.join(" \u00b7 "));
  page.els.status.dataset.tick = String(s?.mirror.tick ?? -1);
}
