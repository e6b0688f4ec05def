// The observer page's entry: login (token -> ticket, or anonymous viewing when the server allows
// it), the session, and one animation-frame loop that folds the payloads received since the last
// frame into the map, the overview, the agent panel, the charts, the feed and the controls. The
// header shows the in-game clock; a viewer may pause their own view (payloads keep arriving and
// are folded in on resume; the world is not paused). With many towns the charts and the feed
// follow the picked town, or every town at the viewer's choice.
// What the page knows is one object (page.ts); its parts: connection.ts (settings, login, role,
// payloads on arrival), commands.ts (the admin's console), selection.ts (town and agent),
// input.ts (pointer and the page's own controls), frame.ts (the loop), legend.ts, and debug.ts
// (window.__observer, for the e2e tests and the frame-rate figures).
import { bindCommands, run } from "./commands.ts";
import { bindLogin, connect, loadConfig, showLogin } from "./connection.ts";
import { installDebug } from "./debug.ts";
import { startFrames } from "./frame.ts";
import { bindInput } from "./input.ts";
import { legend } from "./legend.ts";
import { createPage } from "./page.ts";
import { selectAgent } from "./selection.ts";

const page = createPage((p) => ({
  close: () => selectAgent(p, null),
  setNeed: (agent, need, value) => void run(p, "setneed", { agent_id: agent, need, value }),
}));
bindLogin(page);
bindCommands(page);
bindInput(page);
installDebug(page);

async function start(): Promise<void> {
  legend(page);
  for (const el of page.adminControls) el.disabled = true;
  page.panel.setRole(false);
  await loadConfig(page);
  const auth = page.config.auth;
  if (!auth.tokens) page.els.loginNote.textContent = "This server has no tokens: everyone watches as a viewer.";
  if (auth.anonymous_viewer) void connect(page, null).catch(() => {});
  else showLogin(page, "");
  startFrames(page);
}

void start();
