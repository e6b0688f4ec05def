// Console service: requests are checked at once (unknown command with did-you-mean, role,
// arguments named in the error, cmd_id for destructive commands), applied in the console phase
// of the next tick and answered after it; a repeated cmd_id returns the first result and changes
// nothing; every request is audited without the token. Each built-in command's effect and its
// validation errors; tokens files, constant-time lookup and single-use tickets.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Needs } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { TownEconomy } from "../../components/economy.ts";
import { Employment, ExitReason, Lifecycle } from "../../components/people.ts";
import type { SpatialIndex } from "../../components/grid.ts";
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import {
  AuditLog,
  ConsoleAuthError,
  MemoryAudit,
  TicketBook,
  TokenTable,
  bearerToken,
  type CommandResultT,
  type ConsoleService,
  type Principal,
} from "../../systems/console/index.ts";
import { bindSystems } from "../../tools/serve.ts";
import { makeWorld } from "../helpers/world.ts";

const ADMIN: Principal = { role: "admin", label: "ops" };
const VIEWER: Principal = { role: "viewer", label: "eve" };
const STILL = { rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } };
const PERTURBATIONS = {
  perturbations: {
    max_concurrent_events: 3,
    events: {
      price_spike: { kind: "price_spike", prob_per_day: 0, cooldown_ticks: 10, duration: [5, 5], magnitude: [1.5, 1.5] },
      meet: { kind: "arranged_meet", prob_per_day: 0, cooldown_ticks: 10, duration: [5, 5], location: "fridge" },
    },
  },
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "townlet-console-"));
  dirs.push(d);
  return d;
}

function setup(over: Record<string, unknown> = {}, agents = 4, extra: Parameters<typeof makeWorld>[2] = []) {
  const w = makeWorld({ world: { agents_per_town: agents, grid_size: [12, 12] }, ...STILL, ...over }, corePlugins, extra);
  const svc = w.state<ConsoleService>("console");
  const audit = new MemoryAudit();
  svc.audit = audit;
  return { w, svc, audit };
}

let seq = 0;
/** Submits and applies a command (one tick, or right away when refused). */
async function run(w: World, svc: ConsoleService, name: string, args: Record<string, unknown> = {}, who: Principal = ADMIN, cmdId: string | null = `c${++seq}`): Promise<CommandResultT> {
  const p = svc.submit({ name, args, ...(cmdId !== null ? { cmd_id: cmdId } : {}) }, who, "local");
  const settled = await Promise.race([p, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
  if (settled) return settled;
  w.step();
  return p;
}

const ok = (r: CommandResultT) => {
  expect(r.status, JSON.stringify(r.error)).toBe("ok");
  return r.result as Record<string, unknown>;
};
const err = (r: CommandResultT, code: string, mentions?: string | RegExp) => {
  expect(r.status).toBe("error");
  expect(r.error?.code, r.error?.message).toBe(code);
  if (mentions !== undefined) expect(r.error?.message).toMatch(mentions);
};

describe("requests", () => {
  it("are applied in the console phase of the next tick and answered after it", async () => {
    const { w, svc } = setup();
    let answered: CommandResultT | undefined;
    void svc.submit({ name: "spawn", args: { name: "ann" }, cmd_id: "s1" }, ADMIN, "local").then((r) => (answered = r));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBeUndefined();
    expect(w.agentEid("ann")).toBe(-1);
    w.step();
    await new Promise((r) => setImmediate(r));
    expect(answered).toMatchObject({ status: "ok", tick: 1, cmd_id: "s1", role: "admin", issuer: "ops", result: { agent_id: "ann" } });
    expect(w.agentEid("ann")).toBeGreaterThan(0);
  });

  it("name an unknown command with a did-you-mean", async () => {
    const { w, svc } = setup();
    err(await run(w, svc, "telport"), "unsupported", /unknown command "telport" \(did you mean "teleport"\?\)/);
  });

  it("refuse a bad envelope with usage", async () => {
    const { svc } = setup();
    err(await svc.submit({ nam: "status" }, ADMIN, "local"), "usage", /nam: unknown argument \(did you mean "name"\?\)/);
    err(await svc.submit({ name: "status", args: [1] }, ADMIN, "local"), "usage", /args/);
    err(await svc.submit("status", ADMIN, "local"), "usage");
    err(await svc.submit({ name: "status", cmd_id: 5 }, ADMIN, "local"), "usage", /cmd_id/);
  });

  it("answer forbidden to a viewer for every admin command, before looking at the arguments", async () => {
    const { w, svc } = setup();
    const admin = [...svc.commands.values()].filter((c) => c.role === "admin").map((c) => c.name);
    expect(admin.sort()).toEqual(
      ["arrange_meet", "force_chat", "kill", "pause", "perturbation_cancel", "perturbation_trigger", "price", "promote_policy", "remove_object", "resume", "rollback_policy", "setneed", "snapshot_load", "snapshot_save", "spawn", "speed", "teleport"].sort(),
    );
    for (const name of admin) err(await run(w, svc, name, { bogus: true }, VIEWER), "forbidden", /requires the admin role/);
    err(await run(w, svc, "employment_exit", { action: "approve", agent_id: "agent_0" }, VIEWER), "forbidden");
    ok(await run(w, svc, "employment_exit", { action: "review" }, VIEWER));
  });

  it("require a cmd_id for destructive commands", async () => {
    const { w, svc } = setup();
    err(await run(w, svc, "spawn", {}, ADMIN, null), "usage", /send a cmd_id/);
    err(await run(w, svc, "employment_exit", { action: "defer", agent_id: "agent_0" }, ADMIN, null), "usage", /cmd_id/);
    ok(await run(w, svc, "status", {}, VIEWER, null));
  });

  it("return the first result for a repeated cmd_id and change nothing", async () => {
    const { w, svc, audit } = setup();
    const first = await run(w, svc, "spawn", { name: "ann" }, ADMIN, "once");
    const again = await run(w, svc, "spawn", { name: "ann" }, ADMIN, "once");
    const other = await run(w, svc, "price", { multiplier: 3 }, ADMIN, "once");
    expect(again).toMatchObject({ status: "ok", replayed: true, result: first.result, tick: first.tick });
    // The same cmd_id for another command is refused (issue #18), never answered with the first result.
    expect(other).toMatchObject({ name: "price", status: "error", error: { code: "conflict" } });
    expect(other.error?.message).toMatch(/cmd_id "once" was already used for the command "spawn"/);
    expect(w.townColumns(TownEconomy).price_multiplier[0]).toBe(1);
    expect(w.agents.length).toBe(5);
    // Two requests with one cmd_id waiting for the same tick run once.
    const a = svc.submit({ name: "spawn", args: {}, cmd_id: "twice" }, ADMIN, "local");
    const b = svc.submit({ name: "spawn", args: {}, cmd_id: "twice" }, ADMIN, "local");
    w.step();
    const [ra, rb] = await Promise.all([a, b]);
    expect(rb).toMatchObject({ replayed: true, result: ra.result });
    expect(w.agents.length).toBe(6);
    // cmd_ids are per issuer: another label's "once" is its own.
    ok(await run(w, svc, "spawn", { name: "bea" }, { role: "admin", label: "other" }, "once"));
    expect(audit.records.filter((r) => r.replayed).length).toBe(2);
  });

  it("audit every request with cmd_id, role, label, command, args, result and tick", async () => {
    const { w, svc } = setup();
    const path = join(tmp(), "audit", "console.ndjson");
    svc.audit = new AuditLog(path);
    await run(w, svc, "setneed", { agent_id: "agent_1", need: "hunger", value: 0.5 }, ADMIN, "n1");
    await run(w, svc, "spawn", {}, VIEWER, "v1");
    await run(w, svc, "nope", {}, VIEWER, null);
    const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      cmd_id: "n1",
      role: "admin",
      label: "ops",
      command: "setneed",
      args: { agent_id: "agent_1", need: "hunger", value: 0.5 },
      status: "ok",
      tick: 1,
      via: "local",
      result: { agent_id: "agent_1" },
    });
    expect(lines[1]).toMatchObject({ cmd_id: "v1", role: "viewer", label: "eve", command: "spawn", status: "error", error: { code: "forbidden" } });
    expect(lines[2]).toMatchObject({ command: "nope", error: { code: "unsupported" } });
    expect(typeof lines[0].ts).toBe("string");
  });

  it("take plug-ins' commands, checked and dispatched like the built-ins", async () => {
    let got: unknown;
    const plug = definePlugin({
      name: "graffiti",
      commands: [{ name: "spray", role: "admin", destructive: true, args: z.strictObject({ color: z.enum(["red", "blue"]) }), run: (_w, a) => ((got = a), { sprayed: (a as { color: string }).color }) }],
    });
    const { w, svc } = setup({}, 2, [plug]);
    err(await run(w, svc, "spray", { color: "green" }), "invalid_args", /color/);
    expect(ok(await run(w, svc, "spray", { color: "red" }))).toEqual({ sprayed: "red" });
    expect(got).toEqual({ color: "red" });
  });

  it("refuse new requests beyond the queue limit with busy", async () => {
    const { svc } = setup();
    svc.maxQueue = 2;
    void svc.submit({ name: "status" }, VIEWER, "local");
    void svc.submit({ name: "status" }, VIEWER, "local");
    err(await svc.submit({ name: "status" }, VIEWER, "local"), "busy");
  });
});

describe("commands", () => {
  it("spawn: with name, tile, job, wallet and needs; refuses a taken name, a tile off the grid, an unknown job", async () => {
    const { w, svc } = setup();
    const r = ok(await run(w, svc, "spawn", { name: "ann", x: 3, y: 4, job: "grocer", wallet: 7, needs: { hunger: 0.3 } }));
    expect(r).toMatchObject({ agent_id: "ann", x: 3, y: 4, job: "grocer" });
    const eid = w.agentEid("ann");
    expect(w.columns(Needs).hunger[eid]).toBeCloseTo(0.3);
    expect(w.columns(Employment).job[eid]).toBe(Object.keys(w.settings.jobs).indexOf("grocer"));
    err(await run(w, svc, "spawn", { name: "ann" }), "conflict", /already exists/);
    err(await run(w, svc, "spawn", { x: 30, y: 1 }), "invalid_args", /outside the 12x12 grid/);
    err(await run(w, svc, "spawn", { x: 3 }), "invalid_args", /^spawn: y: expected both x and y/);
    err(await run(w, svc, "spawn", { job: "grocr" }), "invalid_args", /job: unknown job "grocr" \(did you mean "grocer"\?\)/);
    err(await run(w, svc, "spawn", { town: 3 }), "invalid_args", /town: expected an integer in \[0, 0\]/);
    err(await run(w, svc, "spawn", { name: "agent_99" }), "invalid_args", /reserved/);
    err(await run(w, svc, "spawn", { wallet: "lots" }), "invalid_args", /wallet: Invalid input: expected number, received string/);
    err(await run(w, svc, "spawn", { colour: "red" }), "invalid_args", /colour: unknown argument/);
  });

  it("spawn: needs may name any need of the world's needs: list (a mod's need), and no other", async () => {
    const { w, svc } = setup({ needs: { thirst: { decay: 0 } } });
    ok(await run(w, svc, "spawn", { name: "tess", needs: { thirst: 0.15, hunger: 0.4 } }));
    const N = w.columns(Needs) as unknown as Record<string, Float32Array>;
    const eid = w.agentEid("tess");
    expect([N.thirst[eid], N.hunger[eid]]).toEqual([Math.fround(0.15), Math.fround(0.4)]);
    err(await run(w, svc, "spawn", { needs: { thrist: 0.2 } }), "invalid_args", /needs\.thrist: expected one of hunger, hygiene, energy, thirst, got "thrist" \(did you mean "thirst"\?\)/);
    err(await run(w, svc, "spawn", { needs: { thirst: 2 } }), "invalid_args", /needs\.thirst: /);
    const plain = setup();
    err(await run(plain.w, plain.svc, "spawn", { needs: { thirst: 0.2 } }), "invalid_args", /needs\.thirst: expected one of hunger, hygiene, energy, got "thirst"/);
    expect(plain.w.agentEid("agent_4")).toBe(-1);
  });

  it("teleport: moves the agent in its columns and the spatial index", async () => {
    const { w, svc } = setup();
    const eid = w.agentEid("agent_1");
    ok(await run(w, svc, "teleport", { agent_id: "agent_1", x: 5, y: 6 }));
    // The tick after the console phase may walk the agent one tile.
    const P = w.columns(Position);
    expect(Math.abs(P.x[eid] - 5) + Math.abs(P.y[eid] - 6)).toBeLessThanOrEqual(1);
    const index = w.state<SpatialIndex>("space");
    expect(index.tileOf[eid]).toBe(index.tile(0, P.x[eid], P.y[eid]));
    err(await run(w, svc, "teleport", { agent_id: "agent_77", x: 1, y: 1 }), "not_found", /agent_id: no live agent "agent_77"/);
    err(await run(w, svc, "teleport", { agent_id: "agent_1", x: 12, y: 0 }), "invalid_args", /outside/);
    err(await run(w, svc, "teleport", { agent_id: "agent_1", x: -1, y: 0 }), "invalid_args", /x: /);
    err(await run(w, svc, "teleport", { agent_id: "agent_1" }), "invalid_args", /x: .*; y: /);
  });

  it("setneed: one need or several; values in [0,1]", async () => {
    const { w, svc } = setup();
    const eid = w.agentEid("agent_2");
    ok(await run(w, svc, "setneed", { agent_id: "agent_2", need: "energy", value: 0.1 }));
    expect(w.columns(Needs).energy[eid]).toBeCloseTo(0.1);
    ok(await run(w, svc, "setneed", { agent_id: "agent_2", needs: { hunger: 0.2, hygiene: 0.9 } }));
    expect(w.columns(Needs).hygiene[eid]).toBeCloseTo(0.9);
    err(await run(w, svc, "setneed", { agent_id: "agent_2", need: "thirst", value: 0.1 }), "invalid_args", /need: /);
    err(await run(w, svc, "setneed", { agent_id: "agent_2", need: "energy", value: 2 }), "invalid_args", /value: .*<=1/);
    err(await run(w, svc, "setneed", { agent_id: "agent_2", need: "energy" }), "invalid_args", /value: expected a number/);
    err(await run(w, svc, "setneed", { agent_id: "agent_2" }), "invalid_args", /need: expected need \+ value, or needs/);
  });

  it("kill: the agent leaves with reason console in the same tick", async () => {
    const { w, svc } = setup();
    expect(ok(await run(w, svc, "kill", { agent_id: "agent_0" }))).toMatchObject({ leaving: true });
    expect(w.agentEid("agent_0")).toBe(-1);
    expect((w.kpis().exits as Record<string, number>).console).toBe(1);
    err(await run(w, svc, "kill", { agent_id: "agent_0" }), "not_found");
  });

  it("force_chat: the social plug-in sees a chat; refuses the same agent twice and a quality above 1", async () => {
    const { w, svc } = setup({ features: { stages: { relationships: "B" } } });
    const ledger = w.state<{ ledger: { find(e: number, uid: number): number; trust: Float32Array } }>("social").ledger;
    expect(ledger.find(w.agentEid("agent_0"), 1)).toBe(-1);
    ok(await run(w, svc, "force_chat", { speaker: "agent_0", listener: "agent_1", quality: 1 }));
    const slot = ledger.find(w.agentEid("agent_0"), 1);
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(ledger.trust[slot]).toBeGreaterThan(0);
    err(await run(w, svc, "force_chat", { speaker: "agent_0", listener: "agent_0" }), "invalid_args", /listener: expected two different agents/);
    err(await run(w, svc, "force_chat", { speaker: "agent_0", listener: "agent_1", quality: 3 }), "invalid_args", /quality/);
  });

  it("arrange_meet: moves the agents beside each other, or schedules the scheduler's meet with a spec", async () => {
    const { w, svc } = setup(PERTURBATIONS);
    const r = ok(await run(w, svc, "arrange_meet", { agents: ["agent_0", "agent_1", "agent_2"], x: 6, y: 6 }));
    expect(r).toMatchObject({ via: "teleport", location: [6, 6] });
    expect((r.agents as { x: number; y: number }[]).map((a) => Math.max(Math.abs(a.x - 6), Math.abs(a.y - 6)))).toEqual([0, 1, 1]);
    const s = ok(await run(w, svc, "arrange_meet", { agents: ["agent_0", "agent_1"], spec: "meet" }));
    expect(s).toMatchObject({ via: "perturbation", event: { spec: "meet", kind: "arranged_meet", targets: ["agent_0", "agent_1"] } });
    err(await run(w, svc, "arrange_meet", { agents: ["agent_0"] }), "invalid_args", /agents: /);
    err(await run(w, svc, "arrange_meet", { agents: ["agent_0", "agent_0"] }), "invalid_args", /distinct/);
    err(await run(w, svc, "arrange_meet", { agents: ["agent_0", "ghost"] }), "not_found", /agents.1: no live agent "ghost"/);
    err(await run(w, svc, "arrange_meet", { agents: ["agent_0", "agent_1"], object_id: "fridge_9" }), "not_found", /fridge_9/);
    err(await run(w, svc, "arrange_meet", { agents: ["agent_0", "agent_1"], spec: "nope" }), "unknown_spec");
  });

  it("price: sets or scales a town's multiplier within [0, 100]", async () => {
    const { w, svc } = setup();
    expect(ok(await run(w, svc, "price", { multiplier: 1.5 }))).toMatchObject({ town: 0, previous: 1, multiplier: 1.5 });
    expect(ok(await run(w, svc, "price", { factor: 2 }))).toMatchObject({ previous: 1.5, multiplier: 3 });
    expect(w.townColumns(TownEconomy).price_multiplier[0]).toBe(3);
    err(await run(w, svc, "price", { multiplier: -1 }), "invalid_args", /multiplier/);
    err(await run(w, svc, "price", {}), "invalid_args", /exactly one of multiplier \/ factor/);
    err(await run(w, svc, "price", { factor: 50 }), "invalid_args", /above 100/);
    err(await run(w, svc, "price", { town: 1, multiplier: 1 }), "invalid_args", /town/);
  });

  it("debug_queues: objects with holder, running affordance and queue; unknown object with did-you-mean", async () => {
    const { w, svc } = setup({}, 4);
    w.run(10);
    const r = ok(await run(w, svc, "debug_queues", {}, VIEWER, null));
    expect((r.objects as { type: string }[]).map((o) => o.type)).toContain("fridge");
    expect(r.counters).toMatchObject({ cooldown_events: expect.any(Number), ghost_step_events: expect.any(Number) });
    const one = ok(await run(w, svc, "debug_queues", { object_id: "fridge_1" }, VIEWER, null));
    expect((one.objects as unknown[]).length).toBe(1);
    err(await run(w, svc, "debug_queues", { object_id: "fridg_1" }, VIEWER, null), "not_found", /did you mean "fridge_1"/);
    err(await run(w, svc, "debug_queues", { limit: 0 }, VIEWER, null), "invalid_args", /limit/);
  });

  it("employment_status and employment_exit review|approve|defer through the employment plug-in", async () => {
    const { w, svc } = setup({ employment: { enforce_job_loop: true } });
    err(await run(w, svc, "employment_exit", { action: "approve", agent_id: "agent_1" }), "unavailable", /no employment operations are bound/);
    expect(ok(await run(w, svc, "employment_status", {}, VIEWER, null))).toMatchObject({ pending: [], exits_today: null });
    bindSystems(w);
    expect(ok(await run(w, svc, "employment_status", {}, VIEWER, null))).toMatchObject({ pending: [], exits_today: 0 });
    const approved = ok(await run(w, svc, "employment_exit", { action: "approve", agent_id: "agent_1" }));
    expect(approved).toMatchObject({ action: "approve", agent_id: "agent_1" });
    w.step();
    expect(w.agentEid("agent_1")).toBe(-1);
    expect(ok(await run(w, svc, "employment_exit", { action: "defer", agent_id: "agent_2" }))).toMatchObject({ action: "defer" });
    expect(ok(await run(w, svc, "employment_exit", { action: "review" }, VIEWER, null))).toHaveProperty("entries");
    err(await run(w, svc, "employment_exit", { action: "fire", agent_id: "agent_2" }), "invalid_args", /action: /);
    err(await run(w, svc, "employment_exit", { action: "approve" }), "invalid_args", /agent_id: expected an agent_id/);
    err(await run(w, svc, "employment_exit", { action: "approve", agent_id: "nobody" }), "not_found");
  });

  it("perturbation_queue, perturbation_trigger and perturbation_cancel through the scheduler", async () => {
    const { w, svc } = setup(PERTURBATIONS);
    const ev = ok(await run(w, svc, "perturbation_trigger", { spec: "price_spike", starts_in: 0, magnitude: 2 }));
    expect(ev).toMatchObject({ spec: "price_spike", kind: "price_spike", manual: true });
    const q = ok(await run(w, svc, "perturbation_queue", {}, VIEWER, null));
    expect([...(q.active as { id: string }[]), ...(q.pending as { id: string }[])].map((e) => e.id)).toContain(ev.id);
    expect(ok(await run(w, svc, "perturbation_cancel", { event_id: ev.id }))).toMatchObject({ event_id: ev.id, cancelled: true });
    err(await run(w, svc, "perturbation_cancel", { event_id: ev.id }), "not_found");
    err(await run(w, svc, "perturbation_trigger", { spec: "meteor" }), "unknown_spec", /meteor/);
    err(await run(w, svc, "perturbation_trigger", { spec: "price_spike", duration: 0 }), "invalid_args", /duration/);
    err(await run(w, svc, "perturbation_trigger", { spec: "price_spike", town: 4 }), "invalid_args", /town/);
    err(await run(w, svc, "perturbation_cancel", {}), "invalid_args", /event_id/);
  });

  it("perturbation commands answer unavailable without the perturbations plug-in", async () => {
    const w = makeWorld({ world: { agents_per_town: 2 } }, corePlugins.filter((p) => p.name !== "perturbations"));
    const svc = w.state<ConsoleService>("console");
    err(await run(w, svc, "perturbation_queue", {}, VIEWER, null), "unavailable", /perturbations plug-in/);
  });

  it("telemetry_snapshot: per-agent jobs, economy and the employment queue", async () => {
    const { w, svc } = setup();
    const r = ok(await run(w, svc, "telemetry_snapshot", {}, VIEWER, null));
    expect(Object.keys(r.jobs as object)).toHaveLength(4);
    expect(r).toMatchObject({ schema_version: "0.3.0", economy: { towns: [{ town: 0 }] }, employment: { pending_count: 0 } });
    const one = ok(await run(w, svc, "telemetry_snapshot", { agents: ["agent_1", "zz"] }, VIEWER, null));
    expect(Object.keys(one.jobs as object)).toEqual(["agent_1"]);
    expect(one.unknown_agents).toEqual(["zz"]);
    err(await run(w, svc, "telemetry_snapshot", { agents: "agent_1" }, VIEWER, null), "invalid_args", /agents/);
  });

  it("snapshot_save and snapshot_load between ticks, inside the snapshot folder only", async () => {
    const { w, svc } = setup();
    err(await run(w, svc, "snapshot_save"), "unavailable", /snapshot files are not bound/);
    const dir = tmp();
    bindSystems(w, { snapshotDir: dir });
    w.run(3);
    // Applied right after the next tick completes.
    const at = w.tick + 1;
    const saved = ok(await run(w, svc, "snapshot_save", { path: "a.snapshot" }));
    expect(saved).toMatchObject({ path: join(dir, "a.snapshot"), tick: at });
    const hash = w.stateHash();
    w.run(5);
    const loaded = ok(await run(w, svc, "snapshot_load", { path: "a.snapshot" }));
    expect(loaded).toMatchObject({ tick: at, from_tick: at + 6 });
    expect(w.stateHash()).toBe(hash);
    err(await run(w, svc, "snapshot_load", { path: "../etc/passwd" }), "invalid_args", /outside the snapshot folder/);
    err(await run(w, svc, "snapshot_load", { path: "missing.snapshot" }), "not_found");
    writeFileSync(join(dir, "junk.snapshot"), "not a snapshot");
    err(await run(w, svc, "snapshot_load", { path: "junk.snapshot" }), "invalid_args", /bad_magic|truncated/);
    err(await run(w, svc, "snapshot_load", {}), "invalid_args", /path/);
  });

  it("pause, resume and speed go to the loop (unavailable without one)", async () => {
    const { w, svc } = setup();
    err(await run(w, svc, "pause", {}, ADMIN, null), "unavailable", /no loop/);
    const calls: unknown[] = [];
    svc.bind({ loop: { pause: () => calls.push("pause"), resume: () => calls.push("resume"), speed: (t) => calls.push(t), status: () => ({}) } });
    ok(await run(w, svc, "pause", {}, ADMIN, null));
    ok(await run(w, svc, "resume", {}, ADMIN, null));
    ok(await run(w, svc, "speed", { multiplier: 2 }, ADMIN, null));
    ok(await run(w, svc, "speed", { ticks_per_second: null }, ADMIN, null));
    expect(calls).toEqual(["pause", "resume", 8, null]);
    err(await run(w, svc, "speed", { multiplier: 0 }, ADMIN, null), "invalid_args", /multiplier/);
    err(await run(w, svc, "speed", {}, ADMIN, null), "invalid_args", /exactly one/);
  });

  it("help lists every command with its role, and one command's arguments as a JSON Schema", async () => {
    const { w, svc } = setup();
    const all = ok(await run(w, svc, "help", {}, VIEWER, null));
    expect((all.commands as { name: string }[]).map((c) => c.name)).toContain("employment_exit");
    const one = ok(await run(w, svc, "help", { command: "teleport" }, VIEWER, null));
    expect(one).toMatchObject({ name: "teleport", role: "admin", destructive: true, args: { required: ["agent_id", "x", "y"] } });
    err(await run(w, svc, "help", { command: "telport" }, VIEWER, null), "not_found", /did you mean "teleport"/);
  });

  it("status reports the tick, agents and the issuer", async () => {
    const { w, svc } = setup();
    expect(ok(await run(w, svc, "status", {}, VIEWER, null))).toMatchObject({ agents: 4, towns: 1, you: VIEWER });
    expect(w.columns(Lifecycle).exit_reason[w.agents[0]]).toBe(ExitReason.None);
  });
});

describe("tokens", () => {
  const write = (name: string, text: string) => {
    const p = join(tmp(), name);
    writeFileSync(p, text);
    return p;
  };

  it("reads a YAML list, a {tokens} block, a console_auth block, and JSON", () => {
    const a = TokenTable.fromFile(write("t.yaml", "- {token: viewer-secret-1, role: viewer, label: eve}\n- {token: admin-secret-1, role: admin, label: ops}\n"));
    expect(a.lookup("viewer-secret-1")).toEqual({ role: "viewer", label: "eve" });
    expect(a.lookup("admin-secret-1")).toEqual({ role: "admin", label: "ops" });
    expect(a.lookup("admin-secret-2")).toBeUndefined();
    expect(a.lookup("")).toBeUndefined();
    const b = TokenTable.fromFile(write("t.json", JSON.stringify({ tokens: [{ token: "abcdefgh-1", role: "admin" }], require_auth_for_viewer: false })));
    expect(b.lookup("abcdefgh-1")).toEqual({ role: "admin", label: "admin-1" });
    expect(b.requireAuthForViewer).toBe(false);
    const c = TokenTable.fromFile(write("c.yaml", "console_auth:\n  enabled: true\n  tokens:\n    - token_env: MY_TOKEN\n      role: viewer\n"), { MY_TOKEN: "from-the-env-1" });
    expect(c.lookup("from-the-env-1")?.role).toBe("viewer");
  });

  it("names the file and the entry of a mistake, never the token", () => {
    const bad = write("bad.yaml", "- {token: secret-value-1, role: root}\n");
    expect(() => TokenTable.fromFile(bad)).toThrow(ConsoleAuthError);
    expect(() => TokenTable.fromFile(bad)).toThrow(/bad\.yaml: \[0\]\.role: /);
    try {
      TokenTable.fromFile(bad);
    } catch (e) {
      expect((e as Error).message).not.toContain("secret-value-1");
    }
    expect(() => TokenTable.fromFile(write("d.yaml", "- {token: same-token-1}\n- {token: same-token-1, role: admin}\n"))).toThrow(/the same token appears twice/);
    expect(() => TokenTable.fromFile(write("s.yaml", "- {token: short}\n"))).toThrow(/at least 8 characters/);
    expect(() => TokenTable.fromFile(join(tmp(), "none.yaml"))).toThrow(/cannot read the tokens file: ENOENT/);
    expect(() => TokenTable.fromFile(write("e.yaml", "- {token_env: NOPE_TOKEN}\n"), {})).toThrow(/NOPE_TOKEN is not set/);
  });

  it("parses bearer headers", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it("issues single-use tickets that expire", () => {
    let now = 1000;
    const book = new TicketBook(5000, 3, () => now);
    const { ticket } = book.issue(ADMIN);
    expect(book.redeem(ticket)).toEqual(ADMIN);
    expect(book.redeem(ticket)).toBeUndefined();
    const late = book.issue(VIEWER).ticket;
    now += 5001;
    expect(book.redeem(late)).toBeUndefined();
    for (let i = 0; i < 10; i++) book.issue(VIEWER);
    expect(book.outstanding).toBe(3);
  });
});
