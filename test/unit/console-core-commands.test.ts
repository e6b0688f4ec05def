// CORE_COMMANDS (systems/console/service.ts) names the core plug-ins' commands and their owners,
// for the "plug-in not in this world" answer: it must list exactly what the core plug-ins declare.
import { describe, expect, it } from "vitest";
import { corePlugins } from "../../systems/index.ts";
import { CORE_COMMANDS } from "../../systems/console/service.ts";

describe("CORE_COMMANDS", () => {
  it("lists every command of every core plug-in but the console's own, with the plug-in that declares it", () => {
    const declared: Record<string, string> = {};
    for (const p of corePlugins) {
      if (p.name === "console") continue;
      for (const c of p.commands ?? []) declared[c.name] = p.name;
    }
    expect(Object.keys(declared).length).toBeGreaterThan(0);
    expect(Object.entries(CORE_COMMANDS).sort()).toEqual(Object.entries(declared).sort());
  });
});
