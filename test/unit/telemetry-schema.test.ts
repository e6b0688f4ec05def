// The JSON Schemas in schemas/ are generated from the zod definitions and kept current (run
// with UPDATE_SCHEMAS=1 to rewrite them); every payload type validates against its generated
// schema, and snapshots and diffs also against the original's sample schemas.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { telemetryJsonSchemas, type TelemetryPayloadT } from "../../systems/telemetry/index.ts";
import type { TelemetryPublisher, Published } from "../../systems/telemetry/index.ts";
import { consoleJsonSchemas, MemoryAudit, type ConsoleService } from "../../systems/console/index.ts";
import { makeWorld } from "../helpers/world.ts";

const SCHEMAS = fileURLToPath(new URL("../../schemas/", import.meta.url));
const SAMPLES = fileURLToPath(new URL("../../../shared/townlet-original/samples/", import.meta.url));

type Schema = boolean | Record<string, unknown>;

/**
 * A JSON Schema (2020-12) validator for the keywords zod's generator and the samples use:
 * type, properties, required, additionalProperties, propertyNames, items, enum, const, anyOf,
 * oneOf, allOf, minimum, maximum, exclusiveMinimum, minLength, maxLength, minItems, maxItems,
 * pattern. An unknown keyword fails loudly so a new one is not silently ignored.
 */
const KNOWN = new Set([
  "$schema",
  "$id",
  "description",
  "default",
  "title",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "items",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "allOf",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "pattern",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function validate(schema: Schema, v: unknown, path = "$"): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value allowed`];
  const s = schema;
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`validator: unknown keyword "${k}" at ${path}`);
  const errs: string[] = [];
  const t = typeOf(v);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((x) => x === t || (x === "number" && t === "integer"))) return [`${path}: expected ${types.join("|")}, got ${t}`];
  }
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(v)) errs.push(`${path}: expected ${JSON.stringify(s.const)}`);
  if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(v))) errs.push(`${path}: not in enum`);
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) errs.push(`${path}: < ${s.minimum}`);
    if (typeof s.maximum === "number" && v > s.maximum) errs.push(`${path}: > ${s.maximum}`);
    if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum) errs.push(`${path}: <= ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum) errs.push(`${path}: >= ${s.exclusiveMaximum}`);
  }
  if (typeof v === "string") {
    if (typeof s.minLength === "number" && v.length < s.minLength) errs.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === "number" && v.length > s.maxLength) errs.push(`${path}: longer than ${s.maxLength}`);
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) errs.push(`${path}: does not match ${s.pattern}`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === "number" && v.length < s.minItems) errs.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === "number" && v.length > s.maxItems) errs.push(`${path}: more than ${s.maxItems} items`);
    if (s.items !== undefined) v.forEach((x, i) => errs.push(...validate(s.items as Schema, x, `${path}[${i}]`)));
  }
  if (t === "object") {
    const o = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) errs.push(`${path}: missing ${r}`);
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames !== undefined) errs.push(...validate(s.propertyNames as Schema, k, `${path}{${k}}`));
      if (k in props) errs.push(...validate(props[k], x, `${path}.${k}`));
      else if (s.additionalProperties !== undefined) errs.push(...validate(s.additionalProperties as Schema, x, `${path}.${k}`));
    }
  }
  if (s.anyOf !== undefined && !(s.anyOf as Schema[]).some((x) => validate(x, v, path).length === 0)) errs.push(`${path}: matches none of anyOf`);
  if (s.oneOf !== undefined && (s.oneOf as Schema[]).filter((x) => validate(x, v, path).length === 0).length !== 1) errs.push(`${path}: not exactly one of oneOf`);
  if (s.allOf !== undefined) for (const x of s.allOf as Schema[]) errs.push(...validate(x, v, path));
  return errs;
}

function generated(): Record<string, unknown> {
  return { ...telemetryJsonSchemas(), ...consoleJsonSchemas() };
}

const load = (file: string): Schema => JSON.parse(readFileSync(SCHEMAS + file, "utf8")) as Schema;

describe("generated JSON Schemas", () => {
  it("are up to date in schemas/ (UPDATE_SCHEMAS=1 rewrites them)", () => {
    for (const [file, schema] of Object.entries(generated())) {
      const text = JSON.stringify(schema, null, 2) + "\n";
      if (process.env.UPDATE_SCHEMAS) writeFileSync(SCHEMAS + file, text);
      expect(existsSync(SCHEMAS + file), `schemas/${file} is missing: run UPDATE_SCHEMAS=1 npx vitest run test/unit/telemetry-schema.test.ts`).toBe(true);
      expect(readFileSync(SCHEMAS + file, "utf8"), `schemas/${file} is out of date: run UPDATE_SCHEMAS=1 npx vitest run test/unit/telemetry-schema.test.ts`).toBe(text);
    }
  });

  it("reject what zod rejects: a diff without changes, a snapshot with a bad tick", () => {
    expect(validate(load("telemetry-diff.schema.json"), { schema_version: "0.3.0", payload_type: "diff", tick: 1, seq: 2, config_id: "x", removed: [], events: [], narrations: [] })).toContain("$: missing changes");
    const snap = { schema_version: "0.3.0", payload_type: "snapshot", tick: -1 };
    expect(validate(load("telemetry-snapshot.schema.json"), snap).some((e) => e.startsWith("$.tick"))).toBe(true);
  });
});

describe("payloads", () => {
  const collect = (over: Record<string, unknown>, ticks: number, setup?: (pub: TelemetryPublisher, w: ReturnType<typeof makeWorld>) => void) => {
    const w = makeWorld(over);
    const pub = w.state<TelemetryPublisher>("telemetry");
    const out: TelemetryPayloadT[] = [];
    pub.addSink({ deliver: (p: Published) => out.push(JSON.parse(p.line()) as TelemetryPayloadT) });
    setup?.(pub, w);
    w.run(ticks);
    return { out, pub, w };
  };

  it("validate against the generated schemas: snapshots, diffs, full and aggregate mode, privacy", () => {
    const runs = [
      collect({ world: { agents_per_town: 6 } }, 250),
      collect({ world: { agents_per_town: 6 }, telemetry: { stream: { aggregate_above_agents: 3 } } }, 60, (pub, w) => pub.watch([w.agentName(w.agents[0])])),
      collect({ world: { agents_per_town: 4 }, telemetry: { privacy: { hash_agent_ids: true } } }, 60),
    ];
    const snapSchema = load("telemetry-snapshot.schema.json");
    const diffSchema = load("telemetry-diff.schema.json");
    let n = 0;
    for (const { out, pub, w } of runs) {
      out.push(pub.snapshot("resync"), pub.snapshot("subscribe", new Set([w.agentName(w.agents[0])])));
      for (const p of out) {
        const errs = validate(p.payload_type === "snapshot" ? snapSchema : diffSchema, JSON.parse(JSON.stringify(p)));
        expect(errs.slice(0, 5), `${p.payload_type} seq ${p.seq}`).toEqual([]);
        n++;
      }
    }
    expect(n).toBeGreaterThan(300);
  });

  it.runIf(existsSync(SAMPLES))("validate against the original's sample snapshot and diff schemas", () => {
    const { out } = collect({ world: { agents_per_town: 6 } }, 50);
    const snap = JSON.parse(readFileSync(SAMPLES + "snapshot.schema.json", "utf8")) as Schema;
    const diff = JSON.parse(readFileSync(SAMPLES + "diff.schema.json", "utf8")) as Schema;
    for (const p of out) expect(validate(p.payload_type === "snapshot" ? snap : diff, p)).toEqual([]);
  });

  it("validate console results and audit records against their schemas", async () => {
    const w = makeWorld({ world: { agents_per_town: 3 } });
    const svc = w.state<ConsoleService>("console");
    const audit = new MemoryAudit();
    svc.audit = audit;
    const admin = { role: "admin" as const, label: "ops" };
    const viewer = { role: "viewer" as const, label: "eve" };
    const pending = [
      svc.submit({ name: "spawn", args: { name: "ann" }, cmd_id: "a1", id: 7 }, admin, "local"),
      svc.submit({ name: "status" }, viewer, "local"),
      svc.submit({ name: "telemetry_snapshot" }, viewer, "local"),
    ];
    const refused = await Promise.all([
      svc.submit({ name: "spawn", args: {} }, viewer, "local"),
      svc.submit({ name: "spwan" }, admin, "local"),
      svc.submit({ name: "teleport", args: { agent_id: 3 }, cmd_id: "t" }, admin, "local"),
      svc.submit({ nom: "x" }, admin, "local"),
    ]);
    w.step();
    const results = [...(await Promise.all(pending)), ...refused, await svc.submit({ name: "spawn", args: { name: "ann" }, cmd_id: "a1" }, admin, "local")];
    const resultSchema = load("console-result.schema.json");
    for (const r of results) expect(validate(resultSchema, JSON.parse(JSON.stringify(r))), JSON.stringify(r)).toEqual([]);
    const auditSchema = load("console-audit.schema.json");
    expect(audit.records.length).toBe(results.length);
    for (const rec of audit.records) expect(validate(auditSchema, JSON.parse(JSON.stringify(rec)))).toEqual([]);
  });

  it("validate WebSocket control frames against their schemas", () => {
    const client = load("ws-telemetry-client.schema.json");
    const server = load("ws-telemetry-server.schema.json");
    expect(validate(client, { type: "resync" })).toEqual([]);
    expect(validate(client, { type: "subscribe", agents: ["agent_1"] })).toEqual([]);
    expect(validate(client, { type: "resync", extra: 1 })).not.toEqual([]);
    expect(validate(server, { type: "hello", schema_version: "0.3.0", protocol: "townlet.v1", role: "viewer", label: "a", tick: 0, high_water_bytes: 1, hard_limit_bytes: 2 })).toEqual([]);
    expect(validate(server, { type: "error", code: "bad_json", message: "x" })).toEqual([]);
    expect(validate(server, { type: "subscribed", agents: [], unknown: ["x"] })).toEqual([]);
    const cmd = load("console-command.schema.json");
    expect(validate(cmd, { type: "command", name: "spawn", args: { town: 0 }, cmd_id: "c1" })).toEqual([]);
    expect(validate(cmd, { name: "spawn", args: [] })).not.toEqual([]);
  });
});
