// The page's connection and role: the server's settings, the login (token -> ticket, or anonymous
// viewing when the server allows it), the session and what each payload does on arrival (the
// feed, the map's conflict marks, the charts' samples; the views are folded once per frame, in
// frame.ts), and the role: admin controls enabled for admins only.
import type { ApplyResult } from "../../systems/telemetry/client.ts";
import type { TelemetryPayloadT } from "../../systems/telemetry/schema.ts";
import { showResult } from "./commands.ts";
import { h } from "./dom.ts";
import { needsChanged } from "./legend.ts";
import { adoptNeeds } from "./model.ts";
import { Session, Unauthorized } from "./net.ts";
import type { Page, PageConfig } from "./page.ts";
import { countTownEvent, townFigures } from "./selection.ts";
import { recordTown } from "./town.ts";

/** Reads the server's settings (an older server without them: a token may be needed). */
export async function loadConfig(page: Page): Promise<void> {
  try {
    const res = await fetch("/observer/config.json", { cache: "no-store" });
    if (res.ok) page.config = (await res.json()) as PageConfig;
  } catch {
    page.config = { auth: { tokens: true, anonymous_viewer: false } };
  }
}

/** Opens a session with this token (null: anonymous viewer), closing the one before. */
export function connect(page: Page, token: string | null): Promise<void> {
  page.session?.close();
  const s: Session = new Session(token, {
    payload(p, result) {
      if (s === page.session) received(page, s, p, result);
    },
    hello(hl) {
      if (s !== page.session) return;
      hideLogin(page);
      setRole(page, hl.role, hl.label, token !== null);
      s.subscribeTown(page.town, null);
      if (page.selected) s.subscribeAgent(page.selected, null);
    },
    link(up, why) {
      page.linkNote = up ? "connected" : `reconnecting: ${why}`;
    },
    unauthorized(message) {
      if (s !== page.session) return;
      showLogin(page, message);
    },
    error(code, message) {
      showResult(page, `server: ${code}: ${message}`, "error");
    },
  });
  page.session = s;
  return s.open();
}

/** A payload arrived: the feed, the conflict marks and the charts take it now; the views at the next frame. */
function received(page: Page, s: Session, p: TelemetryPayloadT, result: ApplyResult): void {
  if (result === "gap" || result === "waiting") {
    page.stateDirty = true;
    return;
  }
  if (p.dropped?.payloads) page.droppedPayloads = p.dropped.payloads;
  const state = s.state;
  const townOf = (r: Record<string, unknown>) => recordTown(r, (id) => state.agents?.[id]?.town ?? page.knownTown.get(id));
  page.feed.add(p.events, p.narrations, townOf);
  const many = (state.towns ?? 1) > 1;
  for (const e of p.events) {
    if (e.event === "queue_conflict") page.map.conflict(e.tick, e.actor, e.rival);
    if (many && townOf(e) === page.town) countTownEvent(page, e.event);
  }
  const now = performance.now();
  const times = page.tickTimes;
  times.push({ t: now, tick: p.tick });
  while (times.length > 2 && now - times[0].t > 2000) times.shift();
  if (adoptNeeds(state)) needsChanged(page);
  page.charts.setDay(state.layout?.ticks_per_day ?? null);
  page.charts.sample(p.tick, state, many ? townFigures(page, state) : null);
  page.stateDirty = true;
}

/** Enables the admin's controls or not, and shows who is watching with a log in or out button. */
function setRole(page: Page, role: "viewer" | "admin", label: string, withToken: boolean): void {
  const admin = role === "admin";
  for (const el of page.adminControls) {
    el.disabled = !admin;
    el.title = admin ? "" : "admin only (you are a viewer)";
  }
  page.panel.setRole(admin);
  const btn = h("button", { type: "button", id: withToken ? "btn-logout" : "btn-login" }, withToken ? "Log out" : "Log in");
  btn.addEventListener("click", () => {
    if (withToken) {
      page.session?.close();
      page.session = null;
    }
    showLogin(page, "", !withToken);
  });
  page.els.who.replaceChildren(h("span", { id: "who-role", "data-role": role }, `${label} (${role})`), btn);
}

export function showLogin(page: Page, error: string, cancellable = false): void {
  const els = page.els;
  els.login.hidden = false;
  els.loginError.textContent = error;
  els.loginAnon.hidden = !page.config.auth.anonymous_viewer;
  els.loginCancel.hidden = !cancellable;
  els.loginToken.focus();
}

function hideLogin(page: Page): void {
  const els = page.els;
  els.login.hidden = true;
  els.loginError.textContent = "";
  els.loginToken.value = "";
}

/** Wires the login form: a token, anonymous viewing, cancel. */
export function bindLogin(page: Page): void {
  const els = page.els;
  els.loginForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = els.loginToken.value.trim();
    if (!token) {
      els.loginError.textContent = "enter a token";
      return;
    }
    els.loginError.textContent = "";
    connect(page, token).catch((e: unknown) => {
      els.loginError.textContent = e instanceof Unauthorized ? `refused: ${e.message}` : String(e);
    });
  });
  els.loginAnon.addEventListener("click", () => {
    hideLogin(page);
    void connect(page, null).catch(() => {});
  });
  els.loginCancel.addEventListener("click", () => hideLogin(page));
}
