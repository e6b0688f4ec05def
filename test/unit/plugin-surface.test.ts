// Each plug-in owns its surface (issue #15 item 2): its console commands come through its
// `commands` (the console only checks, queues, audits and routes them) and its part of the
// telemetry stream through its `telemetry` hook (the publisher only merges, orders and diffs).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { definePlugin } from "../../engine/plugin.ts";
import { CommandError, defineCommand } from "../../engine/command.ts";
import type { World } from "../../engine/world.ts";
import { Needs } from "../../components/needs.ts";
import { Obj } from "../../components/objects.ts";
import { corePlugins } from "../../systems/index.ts";
import type { CommandResultT, ConsoleService, Principal } from "../../systems/console/index.ts";
import type { TelemetryPublisher } from "../../systems/telemetry/index.ts";
import { makeWorld } from "../helpers/world.ts";

const ADMIN: Principal = { role: "admin", label: "ops" };
const VIEWER: Principal = { role: "viewer", label: "eve" };

/** Submits a command and runs ticks until it is answered. */
async function run(w: World, name: string, args: Record<string, unknown>, who: Principal, cmdId?: string): Promise<CommandResultT> {
  const svc = w.state<ConsoleService>("console");
  const p = svc.submit({ name, args, ...(cmdId !== undefined ? { cmd_id: cmdId } : {}) }, who, "local");
  for (let i = 0; i < 3; i++) {
    const r = await Promise.race([p, new Promise<undefined>((res) => setImmediate(() => res(undefined)))]);
    if (r) return r;
    w.step();
  }
  return p;
}

describe("a plug-in's console commands", () => {
  const painter = definePlugin({
    name: "painter",
    commands: [
      defineCommand({
        name: "paint",
        role: "viewer",
        roleFor: (a) => (a.color === "red" ? "admin" : "viewer"),
        destructive: (a) => a.color === "red",
        at: "boundary",
        doc: "paints: {color}",
        args: z.strictObject({ color: z.enum(["red", "blue"]) }),
        run(world, a, ctx) {
          if (a.color === "blue" && world.agents.length === 0) throw new CommandError("not_found", "nobody to paint");
          return { color: a.color, by: ctx.principal.label, tick: ctx.tick, world_tick: world.tick, cmd_id: ctx.cmdId };
        },
      }),
    ],
  });

  it("reach the plug-in's run with the issuer, the tick and the cmd_id, after the tick when marked boundary", async () => {
    const w = makeWorld({ world: { agents_per_town: 2 } }, corePlugins, [painter]);
    const r = await run(w, "paint", { color: "blue" }, VIEWER);
    expect(r).toMatchObject({ status: "ok", result: { color: "blue", by: "eve", tick: 1, world_tick: 1, cmd_id: null } });
  });

  it("keep the console's checks: role for these arguments, cmd_id when destructive, argument errors", async () => {
    const w = makeWorld({ world: { agents_per_town: 2 } }, corePlugins, [painter]);
    expect((await run(w, "paint", { color: "red" }, VIEWER, "c1")).error).toMatchObject({ code: "forbidden", message: expect.stringMatching(/with these arguments requires the admin role/) });
    expect((await run(w, "paint", { color: "red" }, ADMIN)).error).toMatchObject({ code: "usage", message: expect.stringMatching(/cmd_id/) });
    expect((await run(w, "paint", { color: "green" }, ADMIN)).error).toMatchObject({ code: "invalid_args", message: expect.stringMatching(/^paint: color: /) });
    expect(await run(w, "paint", { color: "red" }, ADMIN, "c2")).toMatchObject({ status: "ok", result: { color: "red", cmd_id: "c2" } });
  });

  it("answer a core command whose plug-in is not loaded as unavailable, naming the plug-in", async () => {
    const w = makeWorld({ world: { agents_per_town: 2 } }, corePlugins.filter((p) => p.name !== "perturbations"));
    expect((await run(w, "perturbation_trigger", { spec: "x" }, ADMIN, "k1")).error).toEqual({
      code: "unavailable",
      message: "perturbation_trigger is unavailable: the perturbations plug-in is not in this world",
    });
    expect((await run(w, "kil", {}, ADMIN)).error).toMatchObject({ code: "unsupported", message: expect.stringMatching(/unknown command "kil"/) });
  });

  it("come from the plug-in that owns the data: setneed from needs, spawn from population", () => {
    const names = (p: string) => (corePlugins.find((x) => x.name === p)?.commands ?? []).map((c) => c.name);
    expect(names("needs")).toEqual(["setneed"]);
    expect(names("population")).toEqual(["spawn"]);
    expect(names("console")).toEqual([]);
    expect(names("perturbations")).toEqual(["perturbation_queue", "perturbation_trigger", "perturbation_cancel"]);
  });
});

describe("a plug-in's telemetry part", () => {
  const tags = definePlugin({
    name: "tags",
    telemetry: ({ world }, opts) => ({
      sections: () => ({ tags: { mode_seen: opts.mode }, aggregates: { tagged: world.agents.length } }),
      agent(eid, agent) {
        agent.tag = eid % 2;
      },
    }),
  });

  it("adds its section, its share of a shared section and its agent fields, after the schema's keys", () => {
    const w = makeWorld({ world: { agents_per_town: 3 } }, corePlugins, [tags]);
    const pub = w.state<TelemetryPublisher>("telemetry");
    const unsubscribe = pub.retain();
    w.step();
    const state = pub.state();
    expect(state.tags).toEqual({ mode_seen: "full" });
    const aggregates = state.aggregates as Record<string, unknown>;
    expect(Object.keys(aggregates)[0]).toBe("agents");
    expect(Object.keys(aggregates).at(-1)).toBe("tagged");
    expect(aggregates.tagged).toBe(3);
    const first = Object.values(state.agents as Record<string, Record<string, unknown>>)[0];
    expect(Object.keys(first).slice(0, 4)).toEqual(["town", "x", "y", "hunger"]);
    expect(Object.keys(first).at(-1)).toBe("tag");
    unsubscribe();
  });

  it("publishes every need of the needs plug-in in the agent records and the aggregates", () => {
    const w = makeWorld({ world: { agents_per_town: 2 } });
    const pub = w.state<TelemetryPublisher>("telemetry");
    pub.retain();
    w.step();
    const N = w.columns(Needs);
    const eid = w.agents[0];
    const rec = pub.collection("agents").get(w.agentName(eid))!;
    expect(rec).toMatchObject({ hunger: Math.round(N.hunger[eid] * 1e4) / 1e4, hygiene: Math.round(N.hygiene[eid] * 1e4) / 1e4, energy: Math.round(N.energy[eid] * 1e4) / 1e4 });
    expect(Object.keys((pub.state().aggregates as { mean_needs: object }).mean_needs)).toEqual(["hunger", "hygiene", "energy"]);
  });

  it("names an object by its key and gives an empty id for an agent, whose rows the pooled object columns do not own", () => {
    let ids: { object: string; agent: string; key: string } | undefined;
    const names = definePlugin({
      name: "names",
      telemetry: ({ world }, opts) => ({
        sections: () => {
          let obj = -1;
          for (let e = 1; obj < 0 && e < 10_000; e++) if (world.has(e, Obj)) obj = e;
          ids = { object: opts.objectId(obj), agent: opts.objectId(world.agents[0]), key: world.text(world.columns(Obj).key[obj]) };
          return {};
        },
      }),
    });
    const w = makeWorld({ world: { agents_per_town: 3 } }, corePlugins, [names]);
    const pub = w.state<TelemetryPublisher>("telemetry");
    pub.retain();
    w.step();
    expect(ids?.object).toBe(ids?.key);
    expect(ids?.object).not.toBe("");
    expect(ids?.agent).toBe("");
  });

  it("refuses a field of a shared section that two plug-ins give, naming the second", () => {
    const twice = definePlugin({ name: "twice", telemetry: () => ({ sections: () => ({ aggregates: { wallet_total: 0 } }) }) });
    const w = makeWorld({ world: { agents_per_town: 2 } }, corePlugins, [twice]);
    const pub = w.state<TelemetryPublisher>("telemetry");
    pub.retain();
    expect(() => w.step()).toThrow('telemetry field "aggregates.wallet_total" is given twice (second time by plug-in "twice")');
  });
});
