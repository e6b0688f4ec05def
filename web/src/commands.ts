// The console from the page: the admin's controls (pause, speed, perturbations, spawn, snapshot),
// each sent as a command over the session, and its result shown under them; the menus follow the
// state (perturbation specs from the layout, the active and pending perturbations).
import { h } from "./dom.ts";
import type { TownState } from "./model.ts";
import type { Page } from "./page.ts";

/** Sends a console command and shows how it went. */
export async function run(page: Page, name: string, args: Record<string, unknown> = {}): Promise<void> {
  const session = page.session;
  if (!session) return;
  showResult(page, `${name}: sent`, "");
  const r = await session.command(name, args);
  if (r.status === "ok") showResult(page, `${name}: ok ${summary(r.result)}`, "ok");
  else showResult(page, `${name}: ${r.error?.code ?? "error"}: ${r.error?.message ?? ""}`, "error");
}

/** A command's result in one line: its ids, path, state, spec and tick. */
function summary(result: unknown): string {
  if (result === null || typeof result !== "object") return result === undefined ? "" : String(result);
  const r = result as Record<string, unknown>;
  const keys = ["event_id", "id", "agent_id", "path", "state", "spec", "tick"].filter((k) => r[k] !== undefined && typeof r[k] !== "object");
  return keys.map((k) => `${k}=${String(r[k])}`).join(" ");
}

export function showResult(page: Page, text: string, cls: "" | "ok" | "error"): void {
  page.els.result.textContent = text;
  page.els.result.className = `result ${cls}`;
}

/** Wires the admin's controls to their commands. */
export function bindCommands(page: Page): void {
  const els = page.els;
  els.pause.addEventListener("click", () => void run(page, page.session?.state.loop?.state === "paused" ? "resume" : "pause"));
  els.speed.addEventListener("change", () => {
    const v = els.speed.value;
    void run(page, "speed", v === "max" ? { ticks_per_second: null } : { multiplier: Number(v) });
  });
  els.trigger.addEventListener("click", () => {
    if (els.spec.value) void run(page, "perturbation_trigger", { spec: els.spec.value, town: page.town });
  });
  els.cancel.addEventListener("click", () => {
    if (els.event.value) void run(page, "perturbation_cancel", { event_id: els.event.value });
  });
  els.spawn.addEventListener("click", () => void run(page, "spawn", { town: page.town }));
  els.snapshot.addEventListener("click", () => void run(page, "snapshot_save", {}));
}

/** The controls as the state has them: pause or resume, the menus of specs and perturbations, the speed. */
export function updateControls(page: Page, state: TownState): void {
  const { els, listed } = page;
  const loop = state.loop;
  els.pause.textContent = loop?.state === "paused" ? "Resume" : "Pause";
  const specs = state.layout?.perturbation_specs ?? [];
  if (specs.join(",") !== listed.specs) {
    listed.specs = specs.join(",");
    els.spec.replaceChildren(...specs.map((sp) => h("option", { value: sp }, sp)));
  }
  const evs = [...(state.perturbations?.active ?? []), ...(state.perturbations?.pending ?? [])];
  const key = evs.map((e) => e.id).join(",");
  if (key !== listed.events) {
    listed.events = key;
    els.event.replaceChildren(
      ...(evs.length ? evs.map((e) => h("option", { value: e.id }, `${e.id} ${e.spec} (town ${e.town}, until t${e.ends_at})`)) : [h("option", { value: "" }, "no active perturbation")]),
    );
  }
  if (loop && document.activeElement !== els.speed) {
    const v = loop.ticks_per_second === null ? "max" : String(loop.speed);
    if ([...els.speed.options].some((o) => o.value === v)) els.speed.value = v;
  }
}
