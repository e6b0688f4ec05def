// The event and narration feed: narrations and the notable events (perturbations, lateness,
// exits and spawns, conflicts, failures; every event when asked), newest first, at most
// MAX_ROWS rows, added to the DOM once per frame.
import { h } from "./dom.ts";
import type { NarrationT, TelemetryEventT } from "./model.ts";

const MAX_ROWS = 200;

/** Events worth a line by default; the rest (walking, every affordance start...) on demand. */
const NOTABLE = /^(perturbation_|arranged_meet|job_late|shift_absent|agent_exit|agent_spawn|employment_exit|queue_conflict|affordance_fail|policy_guardrail|affordance_registry)/;
const BAD = /^(job_late|shift_absent|agent_exit|affordance_fail|queue_conflict)/;

export class Feed {
  private queue: HTMLElement[] = [];
  all = false;

  constructor(readonly list: HTMLOListElement) {}

  add(events: readonly TelemetryEventT[], narrations: readonly NarrationT[]): void {
    for (const e of events) {
      if (!this.all && !NOTABLE.test(e.event)) continue;
      const details = Object.entries(e)
        .filter(([k]) => k !== "event" && k !== "tick")
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(" ");
      const cls = e.event.startsWith("perturbation_") ? "perturbation" : BAD.test(e.event) ? "bad" : "event";
      this.queue.push(row(e.tick, e.event, details, cls, e.event));
    }
    for (const n of narrations) this.queue.push(row(n.tick, n.category, n.message, "narration", `narration:${n.category}`));
    if (this.queue.length > MAX_ROWS) this.queue.splice(0, this.queue.length - MAX_ROWS);
  }

  /** Moves queued rows into the list (newest on top). */
  flush(): void {
    if (this.queue.length === 0) return;
    const rows = this.queue.reverse();
    this.queue = [];
    this.list.prepend(...rows);
    while (this.list.childElementCount > MAX_ROWS) this.list.lastElementChild?.remove();
  }

  texts(): string[] {
    return Array.from(this.list.children, (li) => li.textContent ?? "");
  }
}

function row(tick: number, kind: string, text: string, cls: string, name: string): HTMLElement {
  return h("li", { class: cls, "data-event": name }, h("span", { class: "t" }, `t${tick}`), h("span", { class: "k" }, kind), text);
}
