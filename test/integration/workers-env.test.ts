// The env bridge on sharded worlds (issue #14 item 1): `serve --stdio --workers N [--shards K]`.
// A one-block world gives the bytes of today's bridge; a world of 3 blocks gives the same reply
// bytes (observations, masks, rewards, ids, exits and joins) on 1, 2 and 3 threads; a block
// that throws becomes an error reply naming the block and the tick.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MANY_TOWNS_CONFIG } from "../../bench/layouts.ts";
import { ShardedVectorEnv } from "../../env/sharded.ts";
import { TownletVectorEnv } from "../../env/vector.ts";
import { Bridge, cmdBridge, encodeFrame, openBridgeEnv, PROTOCOL_VERSION, type BridgeEnv } from "../../tools/bridge.ts";

const BOOM = fileURLToPath(new URL("../fixtures/boom.ts", import.meta.url));
/** 6 towns x 4 agents; agents faint soon and are replaced soon, so rows leave and join. */
const SMALL = {
  "world.towns": 6,
  "world.agents_per_town": 4,
  "lifecycle.faint_hunger": 0.6,
  "lifecycle.respawn_delay_min": 0,
  "lifecycle.respawn_delay_max": 3,
};
const THREE = { ...SMALL, "world.shards": 3 };

type Header = Record<string, unknown> & { count: number; done: boolean; joined: number; type: string; ids?: string[]; joined_ids?: string[]; infos: Record<string, Record<string, unknown>> };

/** A bridge session driven in-process: every reply frame's bytes, and its header. */
class Session {
  readonly bridge: Bridge;
  readonly frames: Buffer[] = [];
  constructor(env: BridgeEnv, notes: string[] = []) {
    this.bridge = new Bridge(env, notes);
  }
  send(header: Record<string, unknown>, arrays: [string, Int32Array, number[]][] = []): Header {
    const frame = Buffer.concat(encodeFrame({ v: PROTOCOL_VERSION, id: this.frames.length, ...header }, arrays));
    const parsed = JSON.parse(frame.subarray(8, 8 + frame.readUInt32LE(4)).toString("utf8")) as Record<string, unknown>;
    const out = Buffer.concat(this.bridge.handle(parsed, frame).reply);
    this.frames.push(out);
    return JSON.parse(out.subarray(8, 8 + out.readUInt32LE(4)).toString("utf8")) as Header;
  }
}

/** hello, reset, then `steps` steps (or until done) with actions from a fixed LCG (some outside the space). */
function drive(s: Session, steps: number, seed?: number): { headers: Header[] } {
  const headers: Header[] = [s.send({ type: "hello" })];
  let r = s.send({ type: "reset", ...(seed !== undefined ? { seed } : {}) });
  headers.push(r);
  let x = 12345;
  for (let t = 0; t < steps && !r.done; t++) {
    const acts = new Int32Array(r.count);
    for (let i = 0; i < r.count; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      acts[i] = (x % 30) - 2;
    }
    r = s.send({ type: "step" }, [["actions", acts, [r.count]]]);
    headers.push(r);
  }
  return { headers };
}

describe("the env bridge on a sharded world", () => {
  it("gives today's reply bytes for a one-block world through the sharded env (rows leaving and joining included)", () => {
    const plain = new Session(new TownletVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: SMALL, maxCycles: 120 }));
    const sharded = new Session(new ShardedVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: SMALL, maxCycles: 120 }));
    const a = drive(plain, 120, 5);
    drive(sharded, 120, 5);
    expect(sharded.frames.length).toBe(plain.frames.length);
    for (let i = 0; i < plain.frames.length; i++) expect(Buffer.compare(sharded.frames[i], plain.frames[i]), `reply ${i}`).toBe(0);
    // The session did see exits and replacements.
    expect(a.headers.reduce((k, h) => k + (h.joined ?? 0), 0)).toBeGreaterThan(0);
    expect(a.headers.some((h) => Object.values(h.infos ?? {}).some((i) => i.exit_reason !== undefined))).toBe(true);
  });

  it("states a --workers cap on stderr and in hello (a client may not read stderr)", () => {
    const lines: string[] = [];
    const env = openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 10, workers: 5 }, { log: () => {}, err: (l) => lines.push(l) });
    const s = new Session(env, lines);
    try {
      expect(lines).toEqual(["--workers 5: capped at 3: the world has 3 blocks"]);
      expect(s.send({ type: "hello" })).toMatchObject({ workers: 3, blocks: 3, notes: lines });
    } finally {
      s.bridge.shutdown();
    }
  }, 60_000);

  it("serves a one-block world with today's env whatever --workers says, and says so once", () => {
    const lines: string[] = [];
    const env = openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: SMALL, maxCycles: 10, workers: 4 }, { log: () => {}, err: (l) => lines.push(l) });
    expect(env).toBeInstanceOf(TownletVectorEnv);
    expect(lines).toEqual(["--workers 4: capped at 1: this world is one block (set world.shards or --shards to split its towns)"]);
  });

  it("gives the same reply bytes on 1, 2 and 3 threads for 6 towns in 3 blocks, over two episodes", () => {
    const runs: { frames: Buffer[]; headers: Header[] }[] = [];
    for (const workers of [1, 2, 3]) {
      const lines: string[] = [];
      const env = openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 60, workers }, { log: () => {}, err: (l) => lines.push(l) });
      expect(lines).toEqual([]);
      expect(env).toBeInstanceOf(ShardedVectorEnv);
      expect((env as ShardedVectorEnv).workers).toBe(workers);
      const s = new Session(env);
      try {
        const first = drive(s, 60);
        const second = drive(s, 60, 99); // a second episode on another seed: every block rebuilt
        runs.push({ frames: s.frames, headers: [...first.headers, ...second.headers] });
      } finally {
        s.bridge.shutdown();
      }
    }
    // Every reply but the hellos (they say how many threads run the blocks) is the same bytes.
    const hellos = [0, runs[0].headers.findIndex((x, i) => i > 0 && x.type === "hello")];
    for (const r of runs.slice(1)) {
      expect(r.frames.length).toBe(runs[0].frames.length);
      for (let i = 0; i < r.frames.length; i++) if (!hellos.includes(i)) expect(Buffer.compare(r.frames[i], runs[0].frames[i]), `reply ${i}`).toBe(0);
      for (const i of hellos) expect({ ...r.headers[i], workers: 0 }).toEqual({ ...runs[0].headers[i], workers: 0 });
    }
    expect(runs.map((r) => r.headers[0].workers)).toEqual([1, 2, 3]);
    const h = runs[0].headers;
    expect(h[0]).toMatchObject({ type: "hello", towns: 6, agents: 24, blocks: 3, notes: [] });
    const reset = h[1];
    expect(reset.count).toBe(24);
    // Rows after a reset: the blocks' agents in block order, ids unique across blocks.
    expect(new Set(reset.ids).size).toBe(24);
    const base = Math.floor(2 ** 32 / 3);
    const block = (id: string) => Math.floor(Number(id.slice("agent_".length)) / base);
    expect(reset.ids!.map(block)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
    // Every block lost agents and had them replaced; joined rows come last, named in joined_ids.
    const joinedIds = h.flatMap((x) => x.joined_ids ?? []);
    expect(new Set(joinedIds.map(block))).toEqual(new Set([0, 1, 2]));
    const exits = h.flatMap((x) => Object.values(x.infos ?? {}).filter((i) => i.exit_reason !== undefined));
    expect(exits.length).toBeGreaterThan(2);
    const withJoin = h.find((x) => x.type === "step" && x.joined > 0)!;
    for (let i = withJoin.count - withJoin.joined; i < withJoin.count; i++) expect(withJoin.infos[i]?.joined).toBe(true);
    // Both episodes ran to truncation at 60 cycles.
    expect(h.filter((x) => x.done).length).toBe(2);
  }, 180_000);

  it("reports a block that throws as an error reply naming the block and tick, the same on 1 and 3 threads, and stays stopped", async () => {
    const messages: string[] = [];
    for (const workers of [1, 3]) {
      const env = await ShardedVectorEnv.open({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 60, workers, pluginSpecs: [BOOM] });
      const s = new Session(env);
      try {
        let r = s.send({ type: "reset" });
        for (let t = 0; t < 6; t++) r = s.send({ type: "step" }, [["actions", new Int32Array(r.count), [r.count]]]);
        expect(r.type).toBe("step");
        const err = s.send({ type: "step" }, [["actions", new Int32Array(r.count), [r.count]]]);
        expect(err).toMatchObject({ type: "error", fatal: false, error: "ShardError" });
        messages.push(err.message as string);
        // Stopped: a later step or reset answers the same error (no hang, no half-stepped world).
        expect(s.send({ type: "step" }, [["actions", new Int32Array(r.count), [r.count]]]).message).toBe(err.message);
        expect(s.send({ type: "reset" }).message).toBe(err.message);
      } finally {
        s.bridge.shutdown();
      }
    }
    expect(messages[0]).toMatch(/^block 2 \(towns 4\.\.5\) failed at tick 7: system "boom\/explode" failed in phase needs at tick 7: boom at tick 7$/);
    expect(messages[1]).toBe(messages[0]);
  }, 120_000);

  it("sends uids as uint32 (protocol 3): the rows of the upper blocks, uids >= 2^31, carry the numbers of their ids", () => {
    const env = openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 30, workers: 2 }, { log: () => {}, err: () => {} });
    const s = new Session(env);
    try {
      const { headers } = drive(s, 30, 4);
      let ids: string[] = [];
      let high = 0;
      for (let k = 1; k < headers.length; k++) {
        const h = headers[k];
        const frame = s.frames[k];
        const d = (h.arrays as { name: string; dtype: string; shape: number[]; offset: number }[]).find((a) => a.name === "uids")!;
        expect(d.dtype).toBe("uint32");
        const uids = new Uint32Array(frame.buffer.slice(frame.byteOffset + d.offset, frame.byteOffset + d.offset + 4 * h.count));
        // The rows: the previous ones not done, then the joined ones (as a client rebuilds them).
        if (h.ids) ids = h.ids;
        else {
          const prev = headers[k - 1];
          const gone = new Set(Object.entries(prev.infos).filter(([, i]) => i.exit_reason !== undefined).map(([row]) => Number(row)));
          ids = prev.done ? [] : ids.filter((_, i) => !gone.has(i)).concat(h.joined_ids ?? []);
        }
        expect(ids.length).toBe(h.count);
        for (let i = 0; i < h.count; i++) {
          expect(`agent_${uids[i]}`).toBe(ids[i]);
          if (uids[i] >= 2 ** 31) high++;
        }
      }
      expect(high).toBeGreaterThan(0);
    } finally {
      s.bridge.shutdown();
    }
  }, 120_000);

  it("refuses --workers 0, a negative or fractional count and a non-number on serve --stdio, naming the flag", async () => {
    for (const bad of ["0", "-1", "1.5", "two"]) {
      await expect(cmdBridge(["--workers", bad], { log: () => {}, err: () => {} })).rejects.toThrow(/--workers/);
    }
  });

  it("refuses a world with more blocks than towns, naming world.shards", () => {
    expect(() => openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: { ...SMALL, "world.shards": 7 }, workers: 2 }, { log: () => {}, err: () => {} })).toThrow(/world\.shards \(7\) must be at most world\.towns \(6\)/);
  });
});
