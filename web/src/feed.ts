// The event and narration feed: narrations and the notable events (perturbations, lateness,
// exits and spawns, conflicts, failures; every event when asked), newest first, at most
// MAX_ROWS rows, added to the DOM once per frame. Each row knows its town (web/src/town.ts), so
// the feed can show one town's rows (and world-wide ones) or every town's.
import { h } from "./dom.ts";
import type { NarrationT, TelemetryEventT } from "./model.ts";

const MAX_ROWS = 200;
/** Rows remembered (all towns) so that switching towns or scope refills the list at once. */
const MAX_KEPT = 2000;

/** Events worth a line by default; the rest (walking, every affordance start...) on demand. */
const NOTABLE = /^(perturbation_|arranged_meet|job_late|shift_absent|agent_exit|agent_spawn|employment_exit|queue_conflict|affordance_fail|policy_guardrail|affordance_registry)/;
const BAD = /^(job_late|shift_absent|agent_exit|affordance_fail|queue_conflict)/;

interface Row {
  el: HTMLElement;
  /** null: world-wide (shown in every town); -1: a town the page does not know. */
  town: number | null;
}

export class Feed {
  private queue: Row[] = [];
  private kept: Row[] = [];
  all = false;
  /** Show this town's rows only (and world-wide ones); null: every town's. */
  private town: number | null = null;

  constructor(readonly list: HTMLOListElement) {}

  add(events: readonly TelemetryEventT[], narrations: readonly NarrationT[], townOf: (r: Record<string, unknown>) => number | null): void {
    for (const e of events) {
      if (!this.all && !NOTABLE.test(e.event)) continue;
      const details = Object.entries(e)
        .filter(([k]) => k !== "event" && k !== "tick")
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(" ");
      const cls = e.event.startsWith("perturbation_") ? "perturbation" : BAD.test(e.event) ? "bad" : "event";
      const town = townOf(e);
      this.queue.push({ el: row(e.tick, e.event, details, cls, e.event, town), town });
    }
    for (const n of narrations) {
      const town = townOf(n.data);
      this.queue.push({ el: row(n.tick, n.category, n.message, "narration", `narration:${n.category}`, town), town });
    }
    if (this.queue.length > MAX_KEPT) this.queue.splice(0, this.queue.length - MAX_KEPT);
  }

  /** Shows one town's rows and world-wide ones (null: every town's); refills the list from what is kept. */
  setTown(town: number | null): void {
    if (town === this.town) return;
    this.town = town;
    this.flush();
    const shown = this.kept.filter((r) => this.shows(r));
    this.list.replaceChildren(...shown.slice(-MAX_ROWS).reverse().map((r) => r.el));
  }

  /** Moves queued rows into the list (newest on top). */
  flush(): void {
    if (this.queue.length === 0) return;
    const rows = this.queue;
    this.queue = [];
    this.kept.push(...rows);
    if (this.kept.length > MAX_KEPT) this.kept.splice(0, this.kept.length - MAX_KEPT);
    const shown = rows.filter((r) => this.shows(r));
    if (shown.length === 0) return;
    this.list.prepend(...shown.slice(-MAX_ROWS).reverse().map((r) => r.el));
    while (this.list.childElementCount > MAX_ROWS) this.list.lastElementChild?.remove();
  }

  private shows(r: Row): boolean {
    return this.town === null || r.town === null || r.town === this.town;
  }

  texts(): string[] {
    return Array.from(this.list.children, (li) => li.textContent ?? "");
  }

  /** Towns of the rows shown, newest first (null: world-wide). */
  towns(): (number | null)[] {
    return Array.from(this.list.children, (li) => ((li as HTMLElement).dataset.town === undefined ? null : Number((li as HTMLElement).dataset.town)));
  }
}

function row(tick: number, kind: string, text: string, cls: string, name: string, town: number | null): HTMLElement {
  return h("li", { class: cls, "data-event": name, "data-town": town === null ? undefined : town }, h("span", { class: "t" }, `t${tick}`), h("span", { class: "k" }, kind), text);
}
