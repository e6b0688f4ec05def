// A consumer's copy of the telemetry state: start from a snapshot, apply diffs in seq order.
// A diff whose seq is not the next one (a gap: dropped payloads, a reconnect) is refused and
// the mirror asks for a resync, as Kubernetes list/watch does after 410 Gone. Used by the
// console client, the tests, any Node consumer and the observer page (web/): it imports nothing
// but types, so it bundles for the browser as it is.
import type { DiffPayloadT, SnapshotPayloadT, TelemetryPayloadT } from "./schema.ts";

const HEADER = new Set(["schema_version", "payload_type", "tick", "seq", "config_id", "reason", "events", "narrations", "dropped", "subscribed", "subscribed_towns"]);
const COLLECTIONS = ["agents", "jobs", "objects"] as const;

type Rec = Record<string, unknown>;

export type ApplyResult = "snapshot" | "applied" | "gap" | "waiting";

export class TelemetryMirror {
  /** Sections and collections, as the server published them; undefined until a snapshot. */
  state: Rec | undefined;
  tick = -1;
  seq = 0;
  /** Diffs refused because of a seq gap (each one asks for a resync). */
  gaps = 0;
  snapshots = 0;
  diffs = 0;

  private readonly clone: <T>(v: T) => T;

  /**
   * `own: true` when each payload is parsed for this mirror alone (a browser's JSON.parse): its
   * objects are then kept as they are instead of copied.
   */
  constructor(
    private readonly requestResync: () => void = () => {},
    opts: { own?: boolean } = {},
  ) {
    this.clone = opts.own ? (v) => v : (v) => structuredClone(v);
  }

  /** Applies one payload; asks for a resync (once per gap) when a diff does not follow on. */
  apply(p: TelemetryPayloadT): ApplyResult {
    if (p.payload_type === "snapshot") {
      this.loadSnapshot(p);
      return "snapshot";
    }
    if (!this.state) return "waiting";
    if (p.seq !== this.seq + 1) {
      if (p.seq <= this.seq) return "applied"; // an old diff (before the snapshot we hold): nothing to do
      this.gaps++;
      this.state = undefined;
      this.requestResync();
      return "gap";
    }
    this.applyDiff(p);
    return "applied";
  }

  private loadSnapshot(p: SnapshotPayloadT): void {
    const st: Rec = {};
    for (const [k, v] of Object.entries(p)) {
      if (HEADER.has(k)) continue;
      st[k] = this.clone(v);
    }
    this.state = st;
    this.tick = p.tick;
    this.seq = p.seq;
    this.snapshots++;
  }

  private applyDiff(p: DiffPayloadT): void {
    const st = this.state!;
    for (const [k, v] of Object.entries(p.changes)) st[k] = this.clone(v);
    for (const k of p.removed) delete st[k];
    for (const name of COLLECTIONS) {
      const d = p[name];
      if (!d) continue;
      const coll = (st[name] ??= {}) as Record<string, Rec>;
      if (d.spawned) for (const [id, r] of Object.entries(d.spawned)) coll[id] = this.clone(r);
      if (d.changed) {
        for (const [id, r] of Object.entries(d.changed)) {
          const cur = coll[id];
          if (cur) Object.assign(cur, this.clone(r));
          else coll[id] = this.clone(r);
        }
      }
      if (d.removed) for (const id of d.removed) delete coll[id];
    }
    this.tick = p.tick;
    this.seq = p.seq;
    this.diffs++;
  }
}
