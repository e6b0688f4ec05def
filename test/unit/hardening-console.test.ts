// Issue #18, the console side: nothing a client sends stops the server. Requests nested too deep
// are refused before any recursive reader and still audited; the audit file survives args it
// cannot write and rotates; a cmd_id reused for another command is refused; anonymous callers
// do not share cmd_ids; tickets are capped per token; price multipliers stay finite and bounded
// whatever perturbations and price commands are combined (a property over random sequences).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { PRICE_MULTIPLIER_MAX, TownEconomy, Wallet } from "../../components/economy.ts";
import type { SpatialIndex } from "../../components/grid.ts";
import { Town } from "../../engine/core-components.ts";
import { jsonShapeProblem, MAX_CLIENT_JSON_DEPTH } from "../../engine/json-limits.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { AuditLog, MemoryAudit, TicketBook, TicketLimitError, type CommandResultT, type ConsoleService, type Principal } from "../../systems/console/index.ts";
import type { AuditRecordT } from "../../systems/console/protocol.ts";
import { makeWorld } from "../helpers/world.ts";

const ADMIN: Principal = { role: "admin", label: "ops" };
const VIEWER: Principal = { role: "viewer", label: "eve" };
const PERTURBATIONS = {
  perturbations: {
    max_concurrent_events: 3,
    events: { price_spike: { kind: "price_spike", prob_per_day: 0, cooldown_ticks: 0, duration: [3, 3], magnitude: [1.5, 1.5] } },
  },
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "townlet-hardening-"));
  dirs.push(d);
  return d;
}

function setup(over: Record<string, unknown> = {}) {
  const w = makeWorld({ world: { agents_per_town: 4, grid_size: [12, 12] }, ...PERTURBATIONS, ...over }, corePlugins);
  const svc = w.state<ConsoleService>("console");
  const audit = new MemoryAudit();
  svc.audit = audit;
  return { w, svc, audit };
}

/** Submits and applies a command (one tick, or at once when refused). */
async function run(w: World, svc: ConsoleService, raw: Record<string, unknown>, who: Principal = ADMIN, scope?: string): Promise<CommandResultT> {
  const p = svc.submit(raw, who, "local", scope);
  const settled = await Promise.race([p, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
  if (settled) return settled;
  w.step();
  return p;
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe("client JSON limits", () => {
  it("measures nesting without recursion, even 100,000 levels deep", () => {
    expect(jsonShapeProblem(nested(MAX_CLIENT_JSON_DEPTH - 1))).toBeUndefined();
    expect(jsonShapeProblem(nested(MAX_CLIENT_JSON_DEPTH + 1))).toMatch(/nests deeper than 32 levels/);
    expect(jsonShapeProblem(JSON.parse("[".repeat(100_000) + "]".repeat(100_000)))).toMatch(/nests deeper/);
    expect(jsonShapeProblem(new Array(200_000).fill(0))).toMatch(/more than 100000 values/);
  });

  it("refuses a command whose args nest 5,000 levels deep, and audits the refusal without the args", async () => {
    const { w, svc, audit } = setup();
    const r = await run(w, svc, { name: "status", args: nested(5000) as Record<string, unknown>, id: 7 });
    expect(r).toMatchObject({ status: "error", error: { code: "usage" }, id: 7 });
    expect(r.error!.message).toMatch(/nests deeper than 32 levels/);
    const rec = audit.records.at(-1)!;
    expect(rec).toMatchObject({ command: "status", status: "error", args: { omitted: expect.stringMatching(/nests deeper/) } });
    expect(() => JSON.stringify(audit.records)).not.toThrow();
    // The service still answers.
    expect((await run(w, svc, { name: "status", args: {} })).status).toBe("ok");
  });

  it("writes an audit line for args JSON cannot write, instead of throwing", () => {
    const path = join(tmp(), "audit.ndjson");
    const log = new AuditLog(path);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const rec: AuditRecordT = { ts: "t", tick: 0, via: "local", cmd_id: null, role: "admin", label: "ops", command: "status", args: cyclic, status: "error" };
    expect(() => log.write(rec)).not.toThrow();
    const line = JSON.parse(readFileSync(path, "utf8").trim()) as AuditRecordT;
    expect(line.args).toMatchObject({ omitted: expect.stringMatching(/args not written/) });
  });

  it("rotates the audit file past its size limit, keeping the newest files", () => {
    const path = join(tmp(), "audit.ndjson");
    const log = new AuditLog(path, { maxBytes: 4096, keep: 2 });
    const rec: AuditRecordT = { ts: "t", tick: 0, via: "http", cmd_id: null, role: "viewer", label: "anonymous", command: "status", args: { pad: "x".repeat(200) }, status: "ok" };
    for (let i = 0; i < 200; i++) log.write({ ...rec, tick: i });
    expect(log.rotations).toBeGreaterThan(2);
    for (const p of [path, `${path}.1`, `${path}.2`]) expect(statSync(p).size).toBeLessThanOrEqual(4096);
    expect(existsSync(`${path}.3`)).toBe(false);
    const last = readFileSync(path, "utf8").trim().split("\n").at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ tick: 199 });
  });
});

describe("cmd_id", () => {
  it("refuses a cmd_id reused with other arguments, and replays it with the same ones", async () => {
    const { w, svc } = setup();
    const first = await run(w, svc, { name: "price", args: { multiplier: 2 }, cmd_id: "p" });
    expect(first.status).toBe("ok");
    const same = await run(w, svc, { name: "price", args: { multiplier: 2 }, cmd_id: "p" });
    expect(same).toMatchObject({ status: "ok", replayed: true });
    const other = await run(w, svc, { name: "price", args: { multiplier: 3 }, cmd_id: "p" });
    expect(other).toMatchObject({ status: "error", error: { code: "conflict" } });
    expect(other.error!.message).toMatch(/cmd_id "p" was already used for the same command with other arguments/);
    expect(w.townColumns(TownEconomy).price_multiplier[0]).toBe(2);
  });

  it("keeps separate cmd_id spaces for separate scopes of one label (anonymous connections)", async () => {
    const { w, svc } = setup();
    const anon: Principal = { role: "viewer", label: "anonymous" };
    const a = await run(w, svc, { name: "status", args: {}, cmd_id: "x" }, anon, "anonymous#ws1");
    const b = await run(w, svc, { name: "help", args: {}, cmd_id: "x" }, anon, "anonymous#ws2");
    expect(a.status).toBe("ok");
    expect(b).toMatchObject({ status: "ok", name: "help" });
    expect(b.replayed).toBeUndefined();
  });
});

describe("tickets", () => {
  it("never lets one token's tickets evict another token's", () => {
    const book = new TicketBook(30_000, 1024);
    const admin = book.issue(ADMIN).ticket;
    for (let i = 0; i < 1024; i++) book.issue(VIEWER);
    expect(book.redeem(admin)).toEqual(ADMIN);
    expect(book.outstanding).toBe(16);
  });

  it("refuses a ticket when every slot is held by other tokens", () => {
    const book = new TicketBook(30_000, 4, Date.now, 2);
    book.issue({ role: "viewer", label: "a" });
    book.issue({ role: "viewer", label: "a" });
    book.issue({ role: "viewer", label: "b" });
    book.issue({ role: "viewer", label: "b" });
    expect(() => book.issue(ADMIN)).toThrow(TicketLimitError);
    // A token at its own cap replaces its oldest.
    expect(() => book.issue({ role: "viewer", label: "a" })).not.toThrow();
  });
});

describe("prices", () => {
  it("refuses a spike magnitude above the highest multiplier, and keeps the town running", async () => {
    const { w, svc } = setup();
    expect((await run(w, svc, { name: "price", args: { multiplier: 100 }, cmd_id: "a" })).status).toBe("ok");
    const r = await run(w, svc, { name: "perturbation_trigger", args: { spec: "price_spike", magnitude: 1e307 }, cmd_id: "b" });
    expect(r).toMatchObject({ status: "error", error: { code: "invalid_args" } });
    expect(r.error!.message).toMatch(/magnitude/);
    for (let i = 0; i < 5; i++) w.step();
    expect(w.townColumns(TownEconomy).price_multiplier[0]).toBe(100);
  });

  it("clamps a product of spikes to the highest multiplier where the column stores it", async () => {
    const { w, svc } = setup();
    await run(w, svc, { name: "price", args: { multiplier: 100 }, cmd_id: "a" });
    for (let i = 0; i < 3; i++) {
      expect((await run(w, svc, { name: "perturbation_trigger", args: { spec: "price_spike", magnitude: PRICE_MULTIPLIER_MAX }, cmd_id: `s${i}` })).status).toBe("ok");
    }
    w.step();
    expect(w.townColumns(TownEconomy).price_multiplier[0]).toBe(PRICE_MULTIPLIER_MAX);
    const k = w.kpis();
    expect(k.price_multiplier_mean).toBe(PRICE_MULTIPLIER_MAX);
    for (let i = 0; i < 5; i++) w.step();
    expect(w.townColumns(TownEconomy).price_multiplier[0]).toBe(100);
  });
});

// ---- property: random console sequences ------------------------------------------------------

const num = fc.oneof(fc.double(), fc.integer({ min: -5, max: 50 }), fc.constantFrom(0, 1, 1e307, -1e307, 1e-9, 100, 1000, 1001, Number.MAX_VALUE));
const agentId = fc.constantFrom("agent_0", "agent_1", "agent_3", "agent_9", "nobody");
const command = fc.oneof(
  fc.record({ name: fc.constant("price"), args: fc.oneof(fc.record({ multiplier: num }), fc.record({ factor: num })) }),
  fc.record({ name: fc.constant("perturbation_trigger"), args: fc.record({ spec: fc.constant("price_spike"), magnitude: num, duration: fc.integer({ min: 1, max: 4 }) }) }),
  fc.record({ name: fc.constant("setneed"), args: fc.record({ agent_id: agentId, need: fc.constantFrom("hunger", "hygiene", "energy"), value: num }) }),
  fc.record({ name: fc.constant("spawn"), args: fc.record({ wallet: num }) }),
  fc.record({ name: fc.constant("teleport"), args: fc.record({ agent_id: agentId, x: fc.integer({ min: -3, max: 15 }), y: fc.integer({ min: -3, max: 15 }) }) }),
  fc.record({ name: fc.constant("kill"), args: fc.record({ agent_id: agentId }) }),
  fc.record({ name: fc.constant("perturbation_cancel"), args: fc.record({ event_id: fc.integer({ min: 0, max: 5 }) }) }),
);

function checkInvariants(w: World): void {
  const N = w.columns(Needs);
  const money = w.columns(Wallet).money;
  const P = w.columns(Position);
  const T = w.columns(Town).id;
  const space = w.state<SpatialIndex>("space");
  for (const e of w.agents) {
    for (const need of ["hunger", "hygiene", "energy"] as const) {
      const v = N[need][e];
      if (!(v >= 0 && v <= 1)) throw new Error(`agent ${e}: ${need} ${v} outside [0, 1]`);
    }
    if (!Number.isFinite(money[e])) throw new Error(`agent ${e}: money ${money[e]}`);
    if (!space.inBounds(P.x[e], P.y[e]) || space.tileOf[e] !== space.tile(T[e], P.x[e], P.y[e])) throw new Error(`agent ${e}: not on exactly its own tile`);
  }
  const price = w.townColumns(TownEconomy).price_multiplier;
  for (let t = 0; t < w.towns; t++) if (!(price[t] >= 0 && price[t] <= PRICE_MULTIPLIER_MAX)) throw new Error(`town ${t}: price multiplier ${price[t]}`);
  const k = w.kpis();
  for (const key of ["price_multiplier_mean", "wallet_mean"]) if (!Number.isFinite(k[key] as number)) throw new Error(`kpis.${key} is ${String(k[key])}`);
}

describe("random console sequences", () => {
  it("keep needs in [0, 1], money and prices finite, one tile per agent, and every tick running", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (cmds) => {
        const { w, svc } = setup();
        let n = 0;
        for (const c of cmds) {
          const r = await run(w, svc, { ...c, cmd_id: `c${n++}` });
          expect(r.error?.code).not.toBe("internal");
          w.step();
          checkInvariants(w);
        }
      }),
      { numRuns: 40, seed: 18 },
    );
  });
});
