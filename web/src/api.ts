// What the observer page exposes as `window.__observer` for tests and measurements (the e2e tests
// read it through page.evaluate). Types only, no DOM: the Node-side tests import it too.

export interface ObserverStatus {
  connected: boolean;
  role: "viewer" | "admin" | null;
  label: string | null;
  tick: number;
  seq: number;
  mode: string | null;
  town: number;
  towns: number;
  selected: string | null;
  snapshots: number;
  diffs: number;
  /** Diffs refused for a seq gap (each asked for a resync). */
  gaps: number;
  /** Ticks per second seen in the stream (last second). */
  tps: number;
  /** The tick the views show (behind `tick` while this viewer paused the view). */
  viewTick: number;
  /** This viewer paused the view (the world goes on). */
  viewPaused: boolean;
  /** The in-game clock shown in the header ("day 3, 07:42"), or null without a day length. */
  clock: string | null;
  /** What the charts and the feed show: one town's figures, or every town's. */
  scope: "town" | "all";
}

/** One axis of a KPI chart as laid out: the space it was given and its widest label, CSS pixels. */
export interface ChartAxisLayout {
  chart: string;
  axis: "x" | "y";
  /** Space beside the plot for the axis (y), or for the plot's edge label to overhang (x). */
  room: number;
  /** What the labels need: the widest y label plus ticks and gap; half the outermost x label. */
  need: number;
  labels: string[];
}

export interface CommandOutcome {
  name: string;
  status: "ok" | "error";
  result?: unknown;
  error?: { code: string; message: string };
  id?: string | number;
  cmd_id?: string | null;
}

/** The map's view: zoom (1 = the whole town fits), its centre in tile units, the agent it follows. */
export interface MapViewState {
  zoom: number;
  cx: number;
  cy: number;
  following: string | null;
}

/** What one map frame drew (MapView.lastFrame): positions in CSS pixels of the map canvas, in drawing order. */
export interface DrawnFrame {
  /** The tick of the state drawn. */
  tick: number;
  /** Letters drawn on each object type. */
  labels: Record<string, string>;
  view: MapViewState;
  agents: { id: string; x: number; y: number; r: number; colour: string; queued: boolean; marked: boolean }[];
  /** Discs drawn over the agents (queue badges, selection and hover rings), as circles that bound them. */
  overlays: { x: number; y: number; r: number }[];
}

export interface ObserverDebug {
  status(): ObserverStatus;
  /** Animation frames per second over the last second. */
  readonly fps: number;
  /** Mean milliseconds of work per drawn frame over the last second. */
  readonly frameMs: number;
  /** Longest gap between two animation frames over the last second, ms (jank; 16.7 at 60 fps). */
  readonly worstGapMs: number;
  /** Over the last second: milliseconds spent parsing and applying socket frames, and kilobytes received. */
  readonly net: { msPerSecond: number; kbPerSecond: number; framesPerSecond: number };
  /** What the last map frame drew. */
  readonly drawn: { agents: number; objects: number; frames: number };
  /** What the last map frame drew; read it with the canvas pixels in one evaluate to compare like with like. */
  lastFrame(): DrawnFrame;
  /** Live agent ids of the selected town. */
  agents(): string[];
  /** Where an agent is drawn now, in page (CSS) pixels; null when not on the map. */
  agentPoint(id: string): { x: number; y: number } | null;
  /** The town of an agent in the page's state, null when the page does not hold it. */
  agentTown(id: string): number | null;
  /** Centre of a town's cell in the overview, in page (CSS) pixels; null without an overview. */
  townPoint(town: number): { x: number; y: number } | null;
  /** The map colour an agent gets now (CSS colour), null when not drawn. */
  agentColour(id: string): string | null;
  /** Data points in the KPI charts (per series). */
  chartPoints(): number;
  /** Points the charts keep per series (at least a day's ticks), and how many they hold now. */
  chartHistory(): { window: number; held: number; drawn: number; since: number; ticksPerDay: number | null; titles: string[] };
  /** Each chart axis's room and what its labels need (labels never cut off). */
  chartAxes(): ChartAxisLayout[];
  /** The hover tooltip: its text, the tick of the state it shows, hidden or not. */
  tip(): { text: string; tick: number; hidden: boolean; agent: string | null };
  /** Texts of the feed's rows, newest first. */
  feed(): string[];
  /** Towns of the feed's rows shown, newest first (null: world-wide). */
  feedTowns(): (number | null)[];
  /** Results of the commands this page sent, oldest first. */
  results(): CommandOutcome[];
  /** Sends a raw frame over the page's socket (tests: a forged command). */
  send(frame: Record<string, unknown>): void;
  /** Sends a console command and resolves with its result. */
  command(name: string, args?: Record<string, unknown>): Promise<CommandOutcome>;
  /** Drops the next diff, as a lossy network would (the page must resync). */
  dropNextDiff(): void;
  selectTown(town: number): void;
  selectAgent(id: string | null): void;
}
