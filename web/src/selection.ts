// What the viewer picked: the town (the map, the charts and the feed follow it; the session
// subscribes to it) and the agent (the panel, the follow button; the session subscribes to its
// rewards), and the picked town's figures for the charts.
import type { TownFigures } from "./charts.ts";
import { needs, type AgentRecordT, type TownState } from "./model.ts";
import type { Page, TownCounts } from "./page.ts";

export function selectTown(page: Page, t: number): void {
  const next = Math.max(0, Math.min(Math.max(0, page.towns - 1), Math.floor(t)));
  if (next === page.town && page.session) return;
  const prev = page.town;
  page.town = next;
  page.els.townInput.value = String(next);
  page.overview.selected = next;
  page.overview.dirty = true;
  selectAgent(page, null);
  page.map.clear();
  for (const k of Object.keys(page.townCounts) as (keyof TownCounts)[]) page.townCounts[k] = 0;
  page.knownTown.clear();
  page.charts.resetTown();
  updateScope(page);
  page.session?.subscribeTown(next, prev);
  page.stateDirty = true;
}

export function selectAgent(page: Page, id: string | null): void {
  const prev = page.selected;
  page.selected = id;
  page.map.selected = id;
  page.map.dirty = true;
  page.panel.show(id);
  if (page.map.view().following !== null && page.map.view().following !== id) page.map.follow(null);
  page.els.follow.disabled = id === null;
  updateFollow(page);
  page.session?.subscribeAgent(id, prev);
}

/** The follow button says whether the map follows the selected agent. */
export function updateFollow(page: Page): void {
  const on = page.selected !== null && page.map.view().following === page.selected;
  page.els.follow.classList.toggle("on", on);
  page.els.follow.textContent = on ? "Following" : "Follow selected";
}

/** Says on the page what the charts and the feed show, and applies it. */
export function updateScope(page: Page): void {
  const { els, town } = page;
  const many = page.towns > 1;
  const all = !many || page.scopeAll;
  els.scope.hidden = !many;
  els.scopeText.textContent = all ? "all towns" : `town ${town}`;
  els.scope.dataset.scope = all ? "all" : "town";
  els.feedScope.textContent = many ? (all ? "(all towns)" : `(town ${town} and world-wide)`) : "";
  page.charts.setScope(all ? "all" : "town");
  page.feed.setTown(all ? null : town);
}

/** Counts one of the picked town's events into its running totals. */
export function countTownEvent(page: Page, name: string): void {
  const c = page.townCounts;
  if (name === "affordance_finish") c.completed++;
  else if (name === "affordance_fail") c.failed++;
  else if (name === "job_late") c.late++;
  else if (name === "agent_exit") c.exits++;
  else if (name === "agent_spawn") c.spawns++;
  else if (name === "queue_conflict") c.conflicts++;
}

/** The picked town's figures now: the overview's means, its agents' jobs, its events' counts. */
export function townFigures(page: Page, state: TownState): TownFigures {
  const town = page.town;
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
    ...page.townCounts,
  };
}

/** The picked town's agents in the state. */
export function townAgents(page: Page, state: TownState): [string, AgentRecordT][] {
  const out: [string, AgentRecordT][] = [];
  for (const [id, a] of Object.entries(state.agents ?? {})) if (a.town === page.town) out.push([id, a]);
  return out;
}
