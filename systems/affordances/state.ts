// The affordances plug-in's resource: the registry, hooks, the object list, counters, and a
// validated manifest waiting to be swapped in at the next tick boundary (hot reload).
import { readFileSync, statSync, watchFile, unwatchFile } from "node:fs";
import type { StateHasher } from "../../engine/hash.ts";
import type { PersistentState } from "../../engine/plugin.ts";
import { loadDocument, formatProblem } from "../../engine/config/loader.ts";
import { AffordanceManifest } from "./config.ts";
import { AffordanceRegistry, ManifestError } from "./registry.ts";
import { HookRegistry } from "./hooks.ts";
import type { AffordanceManifestEntries } from "./config.ts";
import { TownTypeIndex } from "./type-index.ts";

export interface Counters {
  cooldown_events: number;
  ghost_step_events: number;
  rotation_events: number;
  reservation_timeouts: number;
  queue_conflicts: number;
  handovers: number;
  failures: number;
  chats_ok: number;
  chats_failed: number;
}

export class AffordancesState implements PersistentState {
  registry: AffordanceRegistry;
  /** Replaced once, before any registration, by timings.ts's timed registry under instrumentation "timings". */
  hooks: HookRegistry = new HookRegistry();
  /** Object entities in creation (entity) order. */
  objects: number[] = [];
  /** Per (town, type): [eid, x, y, ...] of its objects; rebuilt when objects change. */
  byTownType = TownTypeIndex.empty();
  counters: Counters = {
    cooldown_events: 0,
    ghost_step_events: 0,
    rotation_events: 0,
    reservation_timeouts: 0,
    queue_conflicts: 0,
    handovers: 0,
    failures: 0,
    chats_ok: 0,
    chats_failed: 0,
  };
  /** Completions by affordance index. */
  completed: number[] = [];
  /** Failures by reason. */
  failReasons: Record<string, number> = {};
  /** Manifest file (absolute) and the stat of the version loaded. */
  manifestPath: string | undefined;
  private loadedStamp = "";
  /** A validated registry waiting for the next tick boundary, or the last refusal. */
  pending: AffordanceRegistry | undefined;
  pendingError: string | undefined;
  /**
   * Checks a reloaded registry against the world before it is swapped in (the runtime sets it:
   * every effect names a need of the world's needs: or money); a problem keeps the old registry.
   */
  validate: ((registry: AffordanceRegistry) => string | undefined) | undefined;
  /** Hook names used by the manifest that no hook is registered for (hook-check.ts, from the first tick). */
  unknownHooks: string[] = [];
  /** The registry hook-check.ts last checked, and where its warnings go (stderr unless replaced). */
  hooksCheckedFor: AffordanceRegistry | undefined;
  onWarning: (message: string) => void = (m) => process.stderr.write(`warning: ${m}\n`);
  /**
   * Objects removed (remove.ts), "town:id" -> the tick: console commands name them in their
   * errors. Not saved or hashed (a resumed world names them as unknown).
   */
  removed = new Map<string, number>();

  constructor(registry: AffordanceRegistry) {
    this.registry = registry;
  }

  static fromFile(path: string): AffordancesState {
    const text = readFileSync(path, "utf8");
    const doc = loadDocument(path, AffordanceManifest);
    if (doc.problems.length) throw new ManifestError(doc.problems.map(formatProblem).join("\n"));
    const s = new AffordancesState(AffordanceRegistry.fromManifest(doc.value as AffordanceManifestEntries, text));
    s.manifestPath = path;
    s.loadedStamp = stamp(path);
    return s;
  }

  /**
   * Checks the manifest file for a change; a changed file is validated and compiled now and
   * swapped in at the next tick boundary. An invalid file keeps the current registry and
   * records the problem (reported by an `affordance_registry_reload` message with ok = 0).
   * Returns true when something changed.
   */
  checkForChanges(): boolean {
    if (!this.manifestPath) return false;
    const now = stamp(this.manifestPath);
    if (now === this.loadedStamp) return false;
    this.loadedStamp = now;
    const doc = loadDocument(this.manifestPath, AffordanceManifest);
    if (doc.problems.length) {
      this.pending = undefined;
      this.pendingError = doc.problems.map(formatProblem).join("; ");
      return true;
    }
    try {
      this.pending = AffordanceRegistry.fromManifest(doc.value as AffordanceManifestEntries, doc.text!, this.registry);
      this.pendingError = undefined;
      const problem = this.validate?.(this.pending);
      if (problem !== undefined) {
        this.pending = undefined;
        this.pendingError = `${this.manifestPath}: ${problem}`;
      }
    } catch (e) {
      this.pending = undefined;
      this.pendingError = `${this.manifestPath}: ${(e as Error).message}`;
    }
    return true;
  }

  /** Polls the manifest file every `intervalMs` (for long-running towns); returns a stop function. */
  watch(intervalMs = 1000): () => void {
    const path = this.manifestPath;
    if (!path) return () => {};
    const onChange = () => this.checkForChanges();
    watchFile(path, { interval: intervalMs, persistent: false }, onChange);
    return () => unwatchFile(path, onChange);
  }

  save(): unknown {
    return { counters: this.counters, completed: this.completed, failReasons: this.failReasons };
  }

  load(data: unknown): void {
    const d = data as { counters: Counters; completed: number[]; failReasons: Record<string, number> };
    this.counters = { ...d.counters };
    this.completed = [...d.completed];
    this.failReasons = { ...d.failReasons };
  }

  hash(h: StateHasher): void {
    h.str(this.registry.checksum);
    for (const k of Object.keys(this.counters).sort()) h.str(k).f64(this.counters[k as keyof Counters]);
    h.u32(this.completed.length);
    for (const c of this.completed) h.f64(c ?? 0);
    for (const k of Object.keys(this.failReasons).sort()) h.str(k).f64(this.failReasons[k]);
  }
}

function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return "missing";
  }
}
