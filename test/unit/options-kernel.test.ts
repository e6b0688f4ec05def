// options/execute's generated kernel (issue #19, systems/options/kernel.ts) against its generic
// loop (`OptionsState.useKernel = false`): twin worlds from the same config and seed, the state
// hash (Option, Intent, Activity, positions ...) compared after every tick. A kernel branch that
// differs from the generic body (a Start to the wrong object, a missed re-choice, a Work option
// that does not end at the shift's end, a quiet bit left set, a column of the old store written
// after a growth) changes the hash of the tick it happens on, or of the next.
import { describe, expect, it } from "vitest";
import { Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import type { World } from "../../engine/world.ts";
import type { OptionsState } from "../../systems/options/quiet.ts";
import { executePath } from "../../systems/options/index.ts";
import { SocialKey } from "../../components/social.ts";
import { GuardrailBlock } from "../../components/messages.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { buildWorld } from "../../engine/build.ts";
import { corePlugins } from "../../systems/index.ts";
import { fileURLToPath } from "node:url";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));
import { stepBoth, twinTowns, withCodegen, withoutCodegen } from "../helpers/twins.ts";

function generic(w: World): World {
  w.state<OptionsState>("options").useKernel = false;
  return w;
}

function towns(n: number, seed: number): [World, World] {
  return twinTowns(n, seed, generic);
}

/**
 * Makes every agent a rival (rivalry `level`) of every other of its town in both worlds after 30
 * ticks, then steps them 200 ticks comparing hashes; expects some choice ruled out (queue_rival).
 */
function rivalsRun(a: World, b: World, level: number): void {
  stepBoth(a, b, 30);
  let edges = 0;
  for (const w of [a, b]) {
    const ledger = w.resource(SocialKey).ledger;
    const uid = w.columns(Agent).uid;
    const town = w.columns(Town).id;
    for (const e of w.agents) {
      for (const o of w.agents) {
        if (o === e || town[o] !== town[e]) continue;
        const s = ledger.slot(e, uid[o]);
        if (s >= 0) {
          ledger.rivalry[s] = level;
          edges++;
        }
      }
    }
  }
  expect(edges).toBeGreaterThan(40);
  let blocked = 0;
  for (let t = 0; t < 200; t++) {
    stepBoth(a, b, 1);
    blocked += a.lastTick(GuardrailBlock).count;
  }
  // The rivalry ruled choices out (the guardrail message of both choices was sent).
  expect(blocked).toBeGreaterThan(0);
}

describe("options/execute kernel", () => {
  it("writes the generic loop's intents, options and quiet bits through a day of three towns (walks, re-choices, shift ends)", () => {
    const [a, b] = towns(3, 11);
    const uses = new Set<number>();
    const Op = a.columns(Option);
    for (let t = 0; t < 620; t++) {
      a.step();
      b.step();
      expect(a.stateHash(), `tick ${a.tick}`).toBe(b.stateHash());
      for (const eid of a.agents) if (Op.kind[eid] === OptionKind.Use && Op.done[eid] === 0) uses.add(Op.object[eid]);
      // The quiet and parked bits are not hashed: compared directly (a bit left set wastes time only; one
      // cleared wrongly skips an agent, which the hash shows later).
      expect(Array.from(a.state<OptionsState>("options").bits)).toEqual(Array.from(b.state<OptionsState>("options").bits));
      expect(Array.from(a.state<OptionsState>("options").parked)).toEqual(Array.from(b.state<OptionsState>("options").parked));
    }
    expect(executePath(a)).toBe("kernel");
    expect(executePath(b)).toBe("generic");
    // The day exercised the Use branches: objects were chosen and walked to.
    expect(uses.size).toBeGreaterThan(3);
  });

  it("chooses the generic loop's objects where rivals rule some out (holder and queue checks, queue_rival)", () => {
    const [a, b] = towns(3, 11);
    rivalsRun(a, b, 1);
  });

  it("checks the rivals of an agent off the social ledger's hot list when an edge at rest reaches the avoid threshold", () => {
    // min_value = avoid_threshold: an edge decayed to rest is still a rival, so an agent the
    // social pass took off its hot list is not known to have none.
    const rest = { "conflict.rivalry.min_value": 0.75, "conflict.rivalry.avoid_threshold": 0.75, "conflict.rivalry.eviction_threshold": 0.75 };
    const make = (): World => buildWorld(MANY_TOWNS, corePlugins, { seed: 11, towns: 3, agentsPerTown: 8, overrides: rest }).world;
    const [a, b] = [make(), generic(make())];
    rivalsRun(a, b, 0.75);
    const ledger = a.resource(SocialKey).ledger;
    // Edges at rest: their agents left the hot list (the case the check is about).
    expect(Array.from(a.agents).filter((e) => ledger.hot[e] === 0 && ledger.count[e] > 0).length).toBeGreaterThan(0);
  });

  it("follows the columns when the entity store grows mid-run (the kernel is made again)", () => {
    const [a, b] = towns(1, 5);
    stepBoth(a, b, 40);
    const before = a.columns(Intent).kind;
    // Enough agents to outgrow every column: the store replaces them; a kernel still writing
    // into the old arrays would lose this tick's intents in one world only.
    for (const w of [a, b]) for (let k = 0; k < 200; k++) w.spawnAgent(0);
    expect(a.columns(Intent).kind).not.toBe(before);
    stepBoth(a, b, 60);
    expect(executePath(a)).toBe("kernel");
  });

  it("leaves the intent of an option kind it does not know (another plug-in's) as it is, as the generic loop does", () => {
    const [a, b] = towns(1, 3);
    stepBoth(a, b, 20);
    for (const w of [a, b]) {
      const eid = w.agents[2];
      w.columns(Option).kind[eid] = 42;
      w.columns(Option).done[eid] = 0;
      w.columns(Intent).kind[eid] = IntentKind.Move;
      w.columns(Intent).x[eid] = 1;
      w.columns(Intent).y[eid] = 1;
      w.state<OptionsState>("options").wakeAll();
    }
    // Decide runs before the executor on the next tick and may choose again for the agent:
    // whatever the option is then, both loops must agree.
    stepBoth(a, b, 30);
  });

  it("falls back to the generic loop where code generation from strings is not allowed, with the same hashes", () => {
    const out = withoutCodegen("systems/options/index.ts", "executePath", "executePath(w)");
    expect(out.path).toBe("generic");
    const w = withCodegen();
    expect(executePath(w)).toBe("kernel");
    expect(out.hash).toBe(w.stateHash());
  }, 60_000);
});
