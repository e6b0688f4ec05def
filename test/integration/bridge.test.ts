// `townlet serve --stdio` (tools/bridge.ts): frames round-trip; the real process answers hello,
// reset, step and close with one frame per tick holding every agent as raw typed arrays equal to
// the in-process TownletVectorEnv's; refused requests keep the session; malformed frames get a
// fatal error frame and exit code 2; stdout carries frames only.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Bridge, encodeFrame, FrameError, FrameReader, PROTOCOL_VERSION } from "../../tools/bridge.ts";
import { TownletVectorEnv } from "../../env/vector.ts";

const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));

interface Reply {
  header: Record<string, unknown>;
  frame: Buffer;
}

function arrayOf(r: Reply, name: string): Float32Array | Int32Array | Uint8Array {
  const d = (r.header.arrays as { name: string; dtype: string; shape: number[]; offset: number }[]).find((x) => x.name === name)!;
  expect(d.offset % 8).toBe(0);
  const n = d.shape.reduce((a, b) => a * b, 1);
  const bytes = r.frame.subarray(d.offset, d.offset + n * (d.dtype === "uint8" ? 1 : 4));
  const copy = new Uint8Array(bytes); // aligned copy
  return d.dtype === "float32" ? new Float32Array(copy.buffer) : d.dtype === "int32" ? new Int32Array(copy.buffer) : copy;
}

class Child {
  readonly proc: ChildProcess;
  private readonly reader = new FrameReader();
  private readonly queue: Reply[] = [];
  private waiters: ((r: Reply) => void)[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [BIN, "serve", "--stdio", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdout!.on("data", (c: Buffer) => {
      for (const r of this.reader.push(c)) {
        const w = this.waiters.shift();
        if (w) w(r);
        else this.queue.push(r);
      }
    });
    this.proc.stderr!.on("data", (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((res) => this.proc.on("exit", (code) => res(code)));
  }

  next(): Promise<Reply> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    return new Promise((res) => this.waiters.push(res));
  }

  send(parts: Buffer[] | Buffer): void {
    for (const p of Array.isArray(parts) ? parts : [parts]) this.proc.stdin!.write(p);
  }

  async request(header: Record<string, unknown>, arrays: [string, Int32Array, number[]][] = []): Promise<Reply> {
    this.send(encodeFrame(header, arrays));
    return this.next();
  }
}

const children: Child[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
});

describe("frames", () => {
  it("round-trips headers and 8-byte-aligned arrays, in one chunk or byte by byte", () => {
    const a = new Float32Array([1.5, -2, 3]);
    const b = new Uint8Array([1, 0, 1, 1, 0]);
    const c = new Int32Array([7, -8]);
    const buf = Buffer.concat(encodeFrame({ type: "x", id: 3 }, [["a", a, [3]], ["b", b, [5]], ["c", c, [2]]]));
    expect(buf.length % 8).toBe(0);
    expect(buf.readUInt32LE(0)).toBe(buf.length - 4);
    const whole = new FrameReader().push(Buffer.concat([buf, buf]));
    expect(whole).toHaveLength(2);
    const r = new FrameReader();
    const got: Reply[] = [];
    for (let i = 0; i < buf.length; i++) got.push(...r.push(buf.subarray(i, i + 1)));
    expect(got).toHaveLength(1);
    expect(got[0].header).toMatchObject({ type: "x", id: 3, v: PROTOCOL_VERSION });
    expect(Array.from(arrayOf(got[0], "a"))).toEqual([1.5, -2, 3]);
    expect(Array.from(arrayOf(got[0], "b"))).toEqual([1, 0, 1, 1, 0]);
    expect(Array.from(arrayOf(got[0], "c"))).toEqual([7, -8]);
  });

  it("rejects malformed frames with a clear message", () => {
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(2, 0);
    expect(() => new FrameReader().push(bad)).toThrow(FrameError);
    const big = Buffer.alloc(8);
    big.writeUInt32LE(100, 0);
    big.writeUInt32LE(200, 4);
    expect(() => new FrameReader().push(big)).toThrow(/header length 200 exceeds/);
    const json = Buffer.concat([Buffer.from([7, 0, 0, 0, 3, 0, 0, 0]), Buffer.from("{x}")]);
    expect(() => new FrameReader().push(json)).toThrow(/not JSON/);
  });

  it("Bridge: a step's arrays equal the in-process env's; refused requests are non-fatal", () => {
    const bridge = new Bridge(new TownletVectorEnv({ maxCycles: 20 }));
    const ref = new TownletVectorEnv({ maxCycles: 20 });
    const parse = (parts: Buffer[]) => new FrameReader().push(Buffer.concat(parts))[0];
    const r0 = parse(bridge.handle({ v: PROTOCOL_VERSION, type: "reset", id: 1, seed: 4 }, Buffer.alloc(0)).reply);
    const e0 = ref.reset(4);
    expect(r0.header.ids).toEqual([...e0.ids!]);
    expect(arrayOf(r0, "obs")).toEqual(e0.obs.slice());
    for (let t = 0; t < 5; t++) {
      const acts = new Int32Array(e0.count).fill(t % ref.actionCount);
      const req = Buffer.concat(encodeFrame({ type: "step", id: 2 + t }, [["actions", acts, [acts.length]]]));
      const [{ header, frame }] = new FrameReader().push(req);
      const r = parse(bridge.handle(header, frame).reply);
      const e = ref.step(acts);
      expect(arrayOf(r, "obs")).toEqual(e.obs.slice());
      expect(arrayOf(r, "masks")).toEqual(e.masks.slice());
      expect(arrayOf(r, "rewards")).toEqual(e.rewards.slice());
      expect(r.header.tick).toBe(ref.world.tick);
      expect(r.header.joined_ids).toEqual(ref.rowIds.slice(e.count - e.joined));
    }
    const wrong = Buffer.concat(encodeFrame({ type: "step", id: 9 }, [["actions", new Int32Array(1), [1]]]));
    const [w] = new FrameReader().push(wrong);
    const err = parse(bridge.handle(w.header, w.frame).reply);
    expect(err.header).toMatchObject({ type: "error", fatal: false, id: 9 });
    expect(String(err.header.message)).toMatch(/expected \d+ actions/);
    expect(() => bridge.handle({ v: 99, type: "hello" }, Buffer.alloc(0))).toThrow(/protocol version mismatch/);
    expect(() => bridge.handle({ v: PROTOCOL_VERSION, type: "dance" }, Buffer.alloc(0))).toThrow(/unknown request type/);
  });

  it("Bridge: arrays go to the shared-memory slot a request names; a slot it cannot open falls back to the pipe", () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-bridge-"));
    try {
      const bridge = new Bridge(new TownletVectorEnv({ maxCycles: 20 }));
      const ref = new TownletVectorEnv({ maxCycles: 20 });
      const parse = (parts: Buffer[]) => new FrameReader().push(Buffer.concat(parts))[0];
      const path = join(dir, "slot0");
      writeFileSync(path, "");
      const r0 = parse(bridge.handle({ v: PROTOCOL_VERSION, type: "reset", id: 1, seed: 4, shm: 0, shm_path: path }, Buffer.alloc(0)).reply);
      const e0 = ref.reset(4);
      expect(r0.header.shm).toBe(0);
      expect(r0.frame.length).toBe(8 + r0.frame.readUInt32LE(4)); // the pipe carries the header only
      const file = readFileSync(path);
      const obs = (r0.header.arrays as { name: string; offset: number; shape: number[] }[]).find((d) => d.name === "obs")!;
      expect(obs.offset % 8).toBe(0);
      const got = new Float32Array(new Uint8Array(file.subarray(obs.offset, obs.offset + e0.obs.byteLength)).buffer);
      expect(got).toEqual(e0.obs.slice());
      // The slot is open now: later requests name it without a path.
      const acts = new Int32Array(e0.count);
      const [step] = new FrameReader().push(Buffer.concat(encodeFrame({ type: "step", id: 2, shm: 0 }, [["actions", acts, [acts.length]]])));
      expect(parse(bridge.handle(step.header, step.frame).reply).header).toMatchObject({ type: "step", shm: 0 });
      expect(() => bridge.handle({ v: PROTOCOL_VERSION, type: "reset", id: 3, shm: 5 }, Buffer.alloc(0))).toThrow(/slot 5 was never opened/);
      expect(() => bridge.handle({ v: PROTOCOL_VERSION, type: "reset", id: 3, shm: -1 }, Buffer.alloc(0))).toThrow(/shm must be a slot number/);
      const bad = parse(bridge.handle({ v: PROTOCOL_VERSION, type: "reset", id: 4, seed: 4, shm: 1, shm_path: join(dir, "missing", "x") }, Buffer.alloc(0)).reply);
      expect(bad.header.shm).toBeUndefined();
      expect(String(bad.header.shm_error)).toMatch(/ENOENT/);
      expect(arrayOf(bad, "obs")).toEqual(e0.obs.slice());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("townlet serve --stdio", () => {
  it("hello, reset, steps and close over the real process", async () => {
    const c = new Child(["--max-cycles", "3"]);
    children.push(c);
    const hello = await c.request({ type: "hello", id: 1 });
    expect(hello.header).toMatchObject({ type: "hello", id: 1, protocol: PROTOCOL_VERSION, env: "townlet_v1", config_id: "townlet-default-v1", max_cycles: 3 });
    expect(hello.header.config_hash).toMatch(/^[0-9a-f]{16}$/);
    const sp = hello.header.spaces as { observation: { shape: number[] }; action: { n: number } };
    const reset = await c.request({ type: "reset", id: 2, seed: 1 });
    const n = reset.header.count as number;
    expect(n).toBeGreaterThan(0);
    expect(reset.header.ids).toHaveLength(n);
    const shapes = Object.fromEntries((reset.header.arrays as { name: string; shape: number[] }[]).map((d) => [d.name, d.shape]));
    expect(shapes.obs).toEqual([n, sp.observation.shape[0]]);
    expect(shapes.masks).toEqual([n, sp.action.n]);
    let last = reset;
    for (let t = 0; t < 3; t++) {
      last = await c.request({ type: "step", id: 3 + t }, [["actions", new Int32Array(last.header.count as number), [last.header.count as number]]]);
      expect(last.header).toMatchObject({ type: "step", id: 3 + t, cycles: t + 1 });
      expect(last.header.ids).toBeUndefined(); // after a step only the joined rows' ids travel
      expect(last.header.joined_ids).toHaveLength(last.header.joined as number);
    }
    expect(last.header.done).toBe(true);
    expect(Array.from(arrayOf(last, "truncated")).every((x) => x === 1)).toBe(true);
    const after = await c.request({ type: "step", id: 9 }, [["actions", new Int32Array(n), [n]]]);
    expect(after.header).toMatchObject({ type: "error", fatal: false });
    const bye = await c.request({ type: "close", id: 10 });
    expect(bye.header.type).toBe("close");
    expect(await c.exited).toBe(0);
  });

  it("a malformed frame gets a fatal error frame and exit code 2", async () => {
    const c = new Child([]);
    children.push(c);
    c.send(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]));
    const r = await c.next();
    expect(r.header).toMatchObject({ type: "error", fatal: true });
    expect(String(r.header.message)).toMatch(/malformed frame/);
    expect(await c.exited).toBe(2);
    expect(c.stderr).toMatch(/malformed frame/);
  });

  it("exits when its stdin closes (the parent died)", async () => {
    const c = new Child([]);
    children.push(c);
    await c.request({ type: "hello", id: 1 });
    c.proc.stdin!.end();
    expect(await c.exited).toBe(0);
  });
});
