// The agent panel: the selected agent's needs (bars), wallet, job and shift, attendance, option
// and affordance, rivals (rivalry section, full mode), last rewards by component
// (reward_breakdown, which the page subscribes to for the selected agent) and, for admins, setneed.
import { CONTENT_COLOUR, byId, h } from "./dom.ts";
import { fmt, needOf, needs, urgentNeed, type TownState } from "./model.ts";

export interface PanelActions {
  close(): void;
  setNeed(agent: string, need: string, value: number): void;
}

export class AgentPanel {
  readonly el = byId("panel");
  private readonly body = h("div");
  private readonly title = h("span");
  private readonly admin = h("div", { class: "setneed" });
  private readonly needSel = h("select", { "aria-label": "need" });
  private readonly value = h("input", { type: "range", min: 0, max: 1, step: 0.05, value: 0.2, "aria-label": "value" });
  private readonly valueOut = h("span", {}, "0.20");
  private readonly setBtn = h("button", { type: "button", id: "btn-setneed" }, "Set need");
  private readonly hint = this.el.querySelector(".hint");
  id: string | null = null;
  private lastRender = 0;
  canAdmin = false;

  constructor(private readonly actions: PanelActions) {
    this.setNeeds();
    this.value.addEventListener("input", () => (this.valueOut.textContent = Number(this.value.value).toFixed(2)));
    this.setBtn.addEventListener("click", () => {
      if (this.id) this.actions.setNeed(this.id, this.needSel.value, Number(this.value.value));
    });
    this.admin.append(h("strong", {}, "setneed"), this.needSel, this.value, this.valueOut, this.setBtn);
    const close = h("button", { type: "button", title: "close", id: "panel-close" }, "\u00d7");
    close.addEventListener("click", () => this.actions.close());
    this.header = h("h2", {}, this.title, close);
  }

  private readonly header: HTMLElement;

  /** Lists the world's needs in the setneed menu (again when the list changes). */
  setNeeds(): void {
    // Keep the admin's choice across a rebuild (the list can arrive again after a resync).
    const chosen = this.needSel.value;
    this.needSel.replaceChildren(...needs().map((n) => h("option", { value: n.name }, n.label)));
    if (chosen && needs().some((n) => n.name === chosen)) this.needSel.value = chosen;
    this.lastRender = 0;
  }

  show(id: string | null): void {
    this.id = id;
    this.el.replaceChildren();
    if (id === null) {
      if (this.hint) this.el.append(this.hint);
      return;
    }
    this.title.textContent = id;
    this.el.append(this.header, this.body, this.admin);
    this.el.dataset.agent = id;
    this.lastRender = 0;
  }

  setRole(admin: boolean): void {
    this.canAdmin = admin;
    for (const el of [this.needSel, this.value, this.setBtn]) {
      el.disabled = !admin;
      el.title = admin ? "" : "admin only (you are a viewer)";
    }
  }

  /** Re-renders from the state, at most every `everyMs`. */
  render(state: TownState, now: number, conflict: boolean, everyMs = 150): void {
    if (this.id === null || now - this.lastRender < everyMs) return;
    this.lastRender = now;
    const id = this.id;
    const a = state.agents?.[id];
    if (!a) {
      this.body.replaceChildren(h("p", { class: "hint" }, "This agent is not in the stream any more (it left, or another town is shown)."));
      return;
    }
    const job = state.jobs?.[id];
    const out: Node[] = [];
    const { need } = urgentNeed(a);
    const tags = h("div");
    if (job?.shift_state === "late") tags.append(h("span", { class: "tag late" }, "late"));
    if (a.queued) tags.append(h("span", { class: "tag" }, `queued at ${a.queued}`));
    if (a.holding) tags.append(h("span", { class: "tag" }, `holds ${a.holding}`));
    if (conflict) tags.append(h("span", { class: "tag conflict" }, "queue conflict"));
    if (job?.exit_pending) tags.append(h("span", { class: "tag late" }, "exit pending"));
    out.push(h("div", { class: "kv-line" }, `town ${a.town} \u00b7 tile ${a.x},${a.y} \u00b7 most urgent: ${need}`), tags);

    out.push(h("h3", {}, "Needs"));
    for (const n of needs()) {
      const v = needOf(a, n.name);
      out.push(bar(n.name, v, v >= 0.6 ? CONTENT_COLOUR : n.colour, n.label));
    }

    out.push(h("h3", {}, "Now"));
    out.push(kv([
      ["option", a.option],
      ["affordance", a.activity ?? "none"],
      ["wallet", fmt(a.wallet)],
      ["last reward", fmt(a.reward, 4)],
    ]));

    if (job) {
      out.push(h("h3", {}, "Job"));
      out.push(kv([
        ["job", job.job_id ?? "none"],
        ["shift", `${job.shift_state}${job.on_shift ? " (on shift)" : ""}`],
        ["attendance", `${Math.round(job.attendance_ratio * 100)}%`],
        ["lateness", `${job.lateness_counter} (today ${job.late_ticks_today} ticks late)`],
        ["absent shifts, 7 days", String(job.absent_shifts_7d)],
        ["wages earned", fmt(job.wages_earned)],
        ["wages withheld", fmt(job.wages_withheld)],
        ["meals cooked / eaten", `${job.meals_cooked} / ${job.meals_consumed}`],
      ]));
    }

    out.push(h("h3", {}, "Rivals"));
    const rivalry = state.conflict?.rivalry;
    if (!rivalry) out.push(h("p", { class: "hint" }, state.mode === "aggregate" ? "not published in aggregate mode" : "no rivalry data"));
    else {
      const rivals = Object.entries(rivalry[id] ?? {})
        .sort((x, y) => y[1] - x[1])
        .slice(0, 5);
      if (rivals.length === 0) out.push(h("p", { class: "hint" }, "none"));
      for (const [other, v] of rivals) out.push(bar(other, v, "#ef7a50"));
    }

    out.push(h("h3", {}, "Last rewards by component"));
    const rb = state.reward_breakdown?.[id];
    if (!rb) out.push(h("p", { class: "hint" }, "waiting for the next tick"));
    else {
      for (const [k, v] of Object.entries(rb)) {
        if (k === "episode") continue;
        out.push(signedBar(k, v));
      }
      out.push(kv([["episode so far", fmt(rb.episode ?? 0, 3)]]));
    }
    this.body.replaceChildren(...out);
  }
}

/** A [0, 1] bar; `name` marks it (data-label), `label` is shown (default: the name). */
function bar(name: string, v: number, colour: string, label = name): HTMLElement {
  const fill = h("div", { class: "fill" });
  fill.style.width = `${Math.max(0, Math.min(1, v)) * 100}%`;
  fill.style.background = colour;
  // data-value keeps the exact value (the shown one is rounded: 0.597 shows as 0.60 but is below 0.6).
  return h("div", { class: "bar", "data-label": name, "data-value": String(v) }, h("span", {}, label), h("div", { class: "track" }, fill), h("span", { class: "val" }, v.toFixed(2)));
}

/** A bar centred on zero (rewards are small and signed): the scale is +-0.2, a tick's clip. */
function signedBar(label: string, v: number): HTMLElement {
  const fill = h("div", { class: "fill" });
  const k = Math.max(-1, Math.min(1, v / 0.2)) * 50;
  fill.style.left = `${k < 0 ? 50 + k : 50}%`;
  fill.style.width = `${Math.abs(k)}%`;
  fill.style.background = v < 0 ? "#ef5350" : "#57c26a";
  return h("div", { class: "bar" }, h("span", {}, label), h("div", { class: "track signed" }, fill), h("span", { class: "val" }, v.toFixed(3)));
}

function kv(rows: [string, string][]): HTMLElement {
  const dl = h("dl", { class: "kv" });
  for (const [k, v] of rows) dl.append(h("dt", {}, k), h("dd", {}, v));
  return dl;
}
