// Which town an event or a narration is about, for the page's "this town only" feed and charts:
// its `town` field, an object id's "@town" suffix (many-town worlds), or the town of an agent it
// names. Pure (no DOM).

const AGENT_KEYS = ["agent", "agent_id", "actor", "rival", "speaker", "listener"] as const;
const OBJECT_KEYS = ["object", "object_id"] as const;

/**
 * The town of a record: a number; -1 when it names agents whose town the page does not know (in
 * aggregate mode, agents of towns it does not watch); null when it names no town and no agent
 * (world-wide: a registry reload, a policy promotion).
 */
export function recordTown(r: Record<string, unknown>, agentTown: (id: string) => number | undefined): number | null {
  if (typeof r.town === "number") return r.town;
  for (const k of OBJECT_KEYS) {
    const v = r[k];
    if (typeof v === "string") {
      const m = /@(\d+)$/.exec(v);
      if (m) return Number(m[1]);
    }
  }
  let named = false;
  for (const k of AGENT_KEYS) {
    const v = r[k];
    if (typeof v !== "string") continue;
    named = true;
    const t = agentTown(v);
    if (t !== undefined) return t;
  }
  return named ? -1 : null;
}

/** The in-game clock of a tick: day (from 1) and time of day, 24 hours spread over a day's ticks. */
export function clock(tick: number, ticksPerDay: number | null | undefined): { day: number; time: string } | null {
  if (!ticksPerDay || ticksPerDay <= 0 || tick < 0) return null;
  const day = Math.floor(tick / ticksPerDay) + 1;
  const minutes = Math.floor(((tick % ticksPerDay) / ticksPerDay) * 1440);
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return { day, time: `${hh}:${mm}` };
}
