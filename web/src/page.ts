// What the observer page knows, in one object every part of the page takes first (as bitECS's
// free functions take the world): the page's elements and views, the settings from the server,
// the session (role, mirrored state, layout), the picked town and agent, the tick the views show
// and the per-frame figures. The parts of the page (connection.ts, commands.ts, selection.ts,
// input.ts, frame.ts, legend.ts, debug.ts) read and write it; nothing else holds page state.
import { KpiCharts } from "./charts.ts";
import { byId } from "./dom.ts";
import { Feed } from "./feed.ts";
import { MapView } from "./map.ts";
import type { AgentRecordT } from "./model.ts";
import type { Session } from "./net.ts";
import { OverviewView } from "./overview.ts";
import { AgentPanel, type PanelActions } from "./panel.ts";

/** The server's /observer/config.json. */
export interface PageConfig {
  auth: { tokens: boolean; anonymous_viewer: boolean };
}

/** The elements of index.html the page drives (a missing one throws, naming its id). */
function pageElements() {
  return {
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
}

export type PageElements = ReturnType<typeof pageElements>;

/** Counts from the picked town's events since it was picked (its charts' running totals). */
export interface TownCounts {
  completed: number;
  failed: number;
  late: number;
  exits: number;
  spawns: number;
  conflicts: number;
}

/** Figures of the last second, measured by the frame loop (window.__observer reads them). */
export interface FrameFigures {
  fps: number;
  frameMs: number;
  worstGapMs: number;
  net: { msPerSecond: number; kbPerSecond: number; framesPerSecond: number };
}

export interface Page {
  readonly els: PageElements;
  readonly map: MapView;
  readonly overview: OverviewView;
  readonly charts: KpiCharts;
  readonly feed: Feed;
  readonly panel: AgentPanel;
  /** The buttons and menus only an admin may use. */
  readonly adminControls: readonly (HTMLButtonElement | HTMLSelectElement)[];

  /** Settings from the server (defaults until /observer/config.json arrives). */
  config: PageConfig;
  /** The live session (its role, label and mirrored state, layout included), or none. */
  session: Session | null;
  /** The picked town and how many the world has. */
  town: number;
  towns: number;
  /** The selected agent's published id. */
  selected: string | null;
  /** Payloads arrived since the last frame: the frame folds them in once. */
  stateDirty: boolean;
  /** What the status line says about the link while not connected. */
  linkNote: string;
  /** Ticks seen in the last seconds, with when they arrived (ticks per second). */
  readonly tickTimes: { t: number; tick: number }[];
  tps: number;
  droppedPayloads: number;
  /** This viewer paused their view: payloads are applied to the mirror, the views stand still. */
  viewPaused: boolean;
  /** The tick the views show. */
  viewTick: number;
  /** The charts and the feed show every town (not only the picked one). */
  scopeAll: boolean;
  readonly townCounts: TownCounts;
  /** The town of agents seen in the state: events about an agent that just left still find it. */
  readonly knownTown: Map<string, number>;
  /** The agent under the pointer (the tooltip follows it live), and where the pointer is. */
  hover: { id: string; x: number; y: number } | null;
  /** The tick of the state the tooltip shows. */
  tipTick: number;
  /** The shown town's agents as they were when this viewer paused the view (the tooltip reads them). */
  frozenAgents: Map<string, AgentRecordT> | null;
  /** What the menus and the legend last listed (rebuilt only when it changes). */
  readonly listed: { specs: string; events: string; legendObjects: string };
  readonly figures: FrameFigures;
}

/** The page at start: its views built, nothing connected, town 0 picked. */
export function createPage(panelActions: (page: Page) => PanelActions): Page {
  const els = pageElements();
  const page: Page = {
    els,
    map: new MapView(els.map),
    overview: new OverviewView(els.overview),
    charts: new KpiCharts(els.charts),
    feed: new Feed(els.feed),
    panel: new AgentPanel({ close: () => actions.close(), setNeed: (agent, need, value) => actions.setNeed(agent, need, value) }),
    adminControls: [els.pause, els.speed, els.spec, els.trigger, els.event, els.cancel, els.spawn, els.snapshot],
    config: { auth: { tokens: false, anonymous_viewer: true } },
    session: null,
    town: 0,
    towns: 0,
    selected: null,
    stateDirty: false,
    linkNote: "not connected",
    tickTimes: [],
    tps: 0,
    droppedPayloads: 0,
    viewPaused: false,
    viewTick: -1,
    scopeAll: false,
    townCounts: { completed: 0, failed: 0, late: 0, exits: 0, spawns: 0, conflicts: 0 },
    knownTown: new Map(),
    hover: null,
    tipTick: -1,
    frozenAgents: null,
    listed: { specs: "", events: "-", legendObjects: "" },
    figures: { fps: 0, frameMs: 0, worstGapMs: 0, net: { msPerSecond: 0, kbPerSecond: 0, framesPerSecond: 0 } },
  };
  const actions = panelActions(page);
  return page;
}
