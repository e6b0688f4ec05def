// The stdio bridge's frame reader (tools/bridge.ts): frames split anywhere come out whole; a
// declared length is checked against the limits at the 8-byte prefix, before the body is
// buffered; a request longer than a step can be (4 bytes per row) is answered with a non-fatal
// error once its header has arrived, its body skipped unread, and the session goes on.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Bridge, encodeFrame, FrameError, FrameReader, MAX_REQUEST_HEADER, PROTOCOL_VERSION, type ReadFrame } from "../../tools/bridge.ts";
import { TownletVectorEnv } from "../../env/vector.ts";

const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));

function frameOf(header: Record<string, unknown>, actions?: Int32Array): Buffer {
  return Buffer.concat(encodeFrame({ v: PROTOCOL_VERSION, ...header }, actions ? [["actions", actions, [actions.length]]] : []));
}

/** A step frame whose actions array is `n` int32 long, built without filling n numbers one by one. */
function stepFrame(id: number, n: number): Buffer {
  return frameOf({ type: "step", id }, new Int32Array(n));
}

describe("FrameReader", () => {
  it("gives the same frames whatever the chunk boundaries", () => {
    const a = frameOf({ type: "step", id: 1 }, Int32Array.from([3, 1, 4, 1, 5]));
    const b = frameOf({ type: "hello", id: 2 });
    const stream = Buffer.concat([a, b, a]);
    for (const size of [1, 3, 7, 8, 9, 64, stream.length]) {
      const r = new FrameReader();
      const got: ReadFrame[] = [];
      for (let i = 0; i < stream.length; i += size) got.push(...r.push(stream.subarray(i, i + size)));
      expect(got.map((f) => f.header.id)).toEqual([1, 2, 1]);
      expect(got.map((f) => f.frame.length)).toEqual([a.length, b.length, a.length]);
      expect(Buffer.compare(got[0].frame, a)).toBe(0);
      expect(Buffer.compare(got[2].frame, a)).toBe(0);
      expect(got.every((f) => f.refused === undefined)).toBe(true);
    }
  });

  it("refuses an over-limit frame at its header, skips its body unbuffered, then reads the next frame", () => {
    const big = stepFrame(7, 10_000_000); // 40 MB of actions
    const after = frameOf({ type: "hello", id: 8 });
    const r = new FrameReader({ maxHeader: MAX_REQUEST_HEADER, limit: () => 1000 });
    const hlen = big.readUInt32LE(4);
    // Prefix and header alone: the refusal comes out before any of the body has arrived.
    const first = r.push(big.subarray(0, 8 + hlen));
    expect(first).toHaveLength(1);
    expect(first[0].header).toMatchObject({ type: "step", id: 7 });
    expect(first[0].refused).toBe(`a frame of ${big.length} bytes is longer than the 1000 bytes a request may take now`);
    expect(first[0].frame.length).toBe(8 + hlen); // the header only was kept
    const rest: ReadFrame[] = [];
    for (let i = 8 + hlen; i < big.length; i += 65536) rest.push(...r.push(big.subarray(i, Math.min(big.length, i + 65536))));
    expect(rest).toHaveLength(0);
    const next = r.push(after);
    expect(next.map((f) => [f.header.id, f.refused])).toEqual([[8, undefined]]);
  });

  it("throws a fatal FrameError at the prefix for a length past the hard limit or a header past its limit", () => {
    const huge = Buffer.alloc(8);
    huge.writeUInt32LE(0xfffffff0, 0);
    expect(() => new FrameReader({ max: 1 << 20 }).push(huge)).toThrow(/length 4294967280 outside \[4, 1048572\]/);
    const longHeader = Buffer.alloc(8);
    longHeader.writeUInt32LE(200_000, 0);
    longHeader.writeUInt32LE(100_000, 4);
    expect(() => new FrameReader({ maxHeader: MAX_REQUEST_HEADER }).push(longHeader)).toThrow(FrameError);
    expect(() => new FrameReader({ maxHeader: MAX_REQUEST_HEADER }).push(longHeader)).toThrow(/header length 100000 exceeds the limit of 65536 bytes/);
  });
});

describe("Bridge request limit", () => {
  it("allows a step of one action per row of the last result and not a frame that cannot be one", () => {
    const bridge = new Bridge(new TownletVectorEnv({ maxCycles: 5 }));
    const reset = new FrameReader().push(Buffer.concat(bridge.handle({ v: PROTOCOL_VERSION, type: "reset", id: 1, seed: 3 }, Buffer.alloc(0)).reply))[0];
    const rows = (reset.header.ids as string[]).length;
    expect(rows).toBeGreaterThan(0);
    const limit = bridge.requestLimit();
    expect(stepFrame(2, rows).length).toBeLessThanOrEqual(limit);
    expect(stepFrame(2, rows + MAX_REQUEST_HEADER).length).toBeGreaterThan(limit);
    const refusal = new FrameReader().push(Buffer.concat(bridge.refuse({ type: "step", id: 9 }, "too long")))[0];
    expect(refusal.header).toMatchObject({ type: "error", id: 9, fatal: false });
    expect(String(refusal.header.message)).toContain(`the last result has ${rows} rows`);
  });
});

describe("townlet serve --stdio", () => {
  const procs: ChildProcess[] = [];
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  });

  it("answers a 40 MB step of the wrong length with a non-fatal error, then steps on", async () => {
    const proc = spawn(process.execPath, [BIN, "serve", "--stdio", "--max-cycles", "5"], { stdio: ["pipe", "pipe", "pipe"] });
    procs.push(proc);
    const reader = new FrameReader();
    const replies: ReadFrame[] = [];
    let wake: (() => void) | undefined;
    proc.stdout!.on("data", (c: Buffer) => {
      replies.push(...reader.push(c));
      wake?.();
    });
    const next = async (): Promise<ReadFrame> => {
      while (replies.length === 0) await new Promise<void>((res) => (wake = res));
      return replies.shift()!;
    };
    proc.stdin!.write(frameOf({ type: "reset", id: 1, seed: 2 }));
    const reset = await next();
    const rows = (reset.header.ids as string[]).length;
    proc.stdin!.write(stepFrame(2, 10_000_000));
    const err = await next();
    expect(err.header).toMatchObject({ type: "error", id: 2, fatal: false });
    expect(String(err.header.message)).toMatch(/^"step" request refused: a frame of 4000\d{4} bytes is longer than the \d+ bytes a request may take now/);
    proc.stdin!.write(stepFrame(3, rows));
    const ok = await next();
    expect(ok.header).toMatchObject({ type: "step", id: 3, cycles: 1 });
    proc.stdin!.end();
    const code = await new Promise((res) => (proc.exitCode !== null ? res(proc.exitCode) : proc.on("exit", res)));
    expect(code).toBe(0);
  });
});
