// The frames of `townlet serve --stdio` (moved out of bridge.ts, which describes the protocol):
// encoding a reply (inline, or its arrays into a shared-memory slot), splitting the request
// stream into frames (FrameReader, with its length limits) and reading a request's arrays.
import { writevSync } from "node:fs";

export const PROTOCOL_VERSION = 3;
/** Largest frame accepted from the client (actions only: 4 bytes per agent). */
const MAX_REQUEST = 256 * 1024 * 1024;

export type Dtype = "float32" | "int32" | "uint32" | "uint8";
export type Typed = Float32Array | Int32Array | Uint32Array | Uint8Array;
const DTYPE_OF = (a: Typed): Dtype => (a instanceof Float32Array ? "float32" : a instanceof Int32Array ? "int32" : a instanceof Uint32Array ? "uint32" : "uint8");

export interface ArrayDesc {
  name: string;
  dtype: Dtype;
  shape: number[];
  offset: number;
}

const align8 = (n: number) => (n + 7) & ~7;

/** Encodes one frame: header (with `arrays` filled in) plus the arrays. */
export function encodeFrame(header: Record<string, unknown>, arrays: [string, Typed, number[]][] = []): Buffer[] {
  // Offsets depend on the header length, which depends on the offsets: iterate to a fixed point.
  let headerLen = 0;
  let descs: ArrayDesc[] = [];
  let json = "";
  for (let iter = 0; iter < 4; iter++) {
    let at = align8(8 + headerLen);
    descs = arrays.map(([name, a, shape]) => {
      const d = { name, dtype: DTYPE_OF(a), shape, offset: at };
      at = align8(at + a.byteLength);
      return d;
    });
    json = JSON.stringify({ ...header, v: PROTOCOL_VERSION, arrays: descs });
    const len = Buffer.byteLength(json);
    if (len === headerLen) break;
    headerLen = len;
  }
  const head = Buffer.from(json, "utf8");
  if (head.length !== headerLen) throw new Error("internal error: frame header did not settle");
  const parts: Buffer[] = [];
  let pos = 8 + head.length;
  const total = descs.length ? align8(descs[descs.length - 1].offset + arrays[arrays.length - 1][1].byteLength) : pos;
  const pre = Buffer.alloc(8);
  pre.writeUInt32LE(total - 4, 0);
  pre.writeUInt32LE(head.length, 4);
  parts.push(pre, head);
  for (let i = 0; i < arrays.length; i++) {
    const a = arrays[i][1];
    if (descs[i].offset > pos) parts.push(Buffer.alloc(descs[i].offset - pos));
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    pos = descs[i].offset + a.byteLength;
  }
  if (total > pos) parts.push(Buffer.alloc(total - pos));
  return parts;
}

/**
 * A frame whose arrays go to a shared-memory file (a slot the client named) instead of the pipe:
 * written with one pwritev at 8-byte-aligned offsets from 0 of the file, listed in header.arrays
 * as usual, with header.shm = the slot. The client maps the file: no copy through the pipe.
 * Throws what the write throws (ENOSPC on a full tmpfs, ...): the caller falls back to the pipe.
 */
export function encodeShmFrame(header: Record<string, unknown>, arrays: [string, Typed, number[]][], fd: number, slot: number): Buffer[] {
  let at = 0;
  const descs: ArrayDesc[] = [];
  const parts: Uint8Array[] = [];
  for (const [name, a, shape] of arrays) {
    descs.push({ name, dtype: DTYPE_OF(a), shape, offset: at });
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const next = align8(at + a.byteLength);
    if (next > at + a.byteLength) parts.push(PAD.subarray(0, next - at - a.byteLength));
    at = next;
  }
  writeAllAt(fd, parts, 0);
  const head = Buffer.from(JSON.stringify({ ...header, v: PROTOCOL_VERSION, shm: slot, arrays: descs }), "utf8");
  const pre = Buffer.alloc(8);
  pre.writeUInt32LE(4 + head.length, 0);
  pre.writeUInt32LE(head.length, 4);
  return [pre, head];
}

const PAD = new Uint8Array(8);

/** pwritev until every byte is written (a regular file may take fewer bytes than asked). */
function writeAllAt(fd: number, parts: Uint8Array[], position: number): void {
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length > 0) {
    let n = writevSync(fd, rest, position);
    position += n;
    while (rest.length > 0 && n >= rest[0].length) {
      n -= rest[0].length;
      rest = rest.slice(1);
    }
    if (n > 0) rest = [rest[0].subarray(n), ...rest.slice(1)];
  }
}

export class FrameError extends Error {
  override name = "FrameError";
}

/** One frame read from the stream; `refused` (a request over the reader's `limit`): its body was skipped unread. */
export interface ReadFrame {
  header: Record<string, unknown>;
  /** The whole frame (prefix included; array offsets index it), or only prefix and header when refused. */
  frame: Buffer;
  refused?: string;
}

export interface FrameReaderOptions {
  /** Largest frame at all (bytes, prefix included): a longer declared length is a fatal FrameError. */
  max?: number;
  /** Largest header (bytes): a longer one is a fatal FrameError before anything is buffered. */
  maxHeader?: number;
  /**
   * The most bytes a frame may take now (e.g. a step request: 4 bytes per row of the last result).
   * A longer frame is read up to its header only, its body is skipped as it streams by (never
   * buffered), and it comes out with `refused` so that the caller can answer it and go on.
   */
  limit?: () => number;
}

/**
 * Splits a byte stream into frames. Linear in the bytes read: the 8-byte prefix is checked
 * against the limits before anything else is buffered, then the frame is allocated once at its
 * declared length and each chunk is copied into it once (no re-concatenation per chunk).
 */
export class FrameReader {
  private readonly max: number;
  private readonly maxHeader: number;
  private readonly limit: (() => number) | undefined;
  private readonly prefix = Buffer.alloc(8);
  private prefixHave = 0;
  /** The frame being filled (undefined: reading a prefix). */
  private buf: Buffer | undefined;
  private have = 0;
  /** Body bytes of a refused frame still to skip, after its header. */
  private skip = 0;
  private refused: string | undefined;

  constructor(options: number | FrameReaderOptions = {}) {
    const o = typeof options === "number" ? { max: options } : options;
    this.max = o.max ?? MAX_REQUEST;
    this.maxHeader = o.maxHeader ?? this.max;
    this.limit = o.limit;
  }

  push(chunk: Buffer): ReadFrame[] {
    const out: ReadFrame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.buf === undefined && this.skip > 0) {
        // The body of a refused frame, after its header came out.
        const k = Math.min(this.skip, chunk.length - at);
        this.skip -= k;
        at += k;
        continue;
      }
      if (this.buf === undefined) {
        const k = Math.min(8 - this.prefixHave, chunk.length - at);
        chunk.copy(this.prefix, this.prefixHave, at, at + k);
        this.prefixHave += k;
        at += k;
        if (this.prefixHave < 8) break;
        this.prefixHave = 0;
        this.begin();
      } else {
        const buf = this.buf;
        const k = Math.min(buf.length - this.have, chunk.length - at);
        chunk.copy(buf, this.have, at, at + k);
        this.have += k;
        at += k;
      }
      if (this.buf !== undefined && this.have === this.buf.length) out.push(this.complete());
    }
    return out;
  }

  /** A prefix arrived: check it, then allocate the frame (or, over the limit, its header only). */
  private begin(): void {
    const body = this.prefix.readUInt32LE(0);
    const hlen = this.prefix.readUInt32LE(4);
    if (body < 4 || body + 4 > this.max) throw new FrameError(`malformed frame: length ${body} outside [4, ${this.max - 4}]`);
    if (hlen > body - 4) throw new FrameError(`malformed frame: header length ${hlen} exceeds the frame (${body + 4} bytes)`);
    if (hlen > this.maxHeader) throw new FrameError(`malformed frame: header length ${hlen} exceeds the limit of ${this.maxHeader} bytes`);
    const limit = this.limit?.();
    let size = body + 4;
    this.refused = undefined;
    if (limit !== undefined && size > limit) {
      this.refused = `a frame of ${size} bytes is longer than the ${limit} bytes a request may take now`;
      this.skip = size - (8 + hlen);
      size = 8 + hlen;
    }
    // Its own ArrayBuffer (not the pool's): arrays at 8-byte offsets are aligned for typed views.
    const buf = Buffer.allocUnsafeSlow(size);
    this.prefix.copy(buf, 0);
    this.buf = buf;
    this.have = 8;
  }

  private complete(): ReadFrame {
    const frame = this.buf!;
    this.buf = undefined;
    this.have = 0;
    const hlen = frame.readUInt32LE(4);
    let header: unknown;
    try {
      header = JSON.parse(frame.subarray(8, 8 + hlen).toString("utf8"));
    } catch (e) {
      throw new FrameError(`malformed frame: header is not JSON (${(e as Error).message})`);
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) throw new FrameError("malformed frame: header is not a JSON object");
    const r: ReadFrame = { header: header as Record<string, unknown>, frame };
    if (this.refused !== undefined) r.refused = this.refused;
    return r;
  }
}

/** Reads array `name` of a request frame as `dtype` (copying when misaligned). */
export function readArray(header: Record<string, unknown>, frame: Buffer, name: string, dtype: Dtype): Typed {
  const arrays = header.arrays;
  if (!Array.isArray(arrays)) throw new FrameError(`malformed frame: "${header.type}" needs header.arrays`);
  const d = arrays.find((x: ArrayDesc) => x && x.name === name) as ArrayDesc | undefined;
  if (!d) throw new FrameError(`malformed frame: "${header.type}" needs array "${name}"`);
  if (d.dtype !== dtype) throw new FrameError(`malformed frame: array "${name}" must be ${dtype}, got ${d.dtype}`);
  if (!Array.isArray(d.shape) || !d.shape.every((s) => Number.isInteger(s) && s >= 0)) throw new FrameError(`malformed frame: array "${name}" has a bad shape`);
  const n = d.shape.reduce((a, b) => a * b, 1);
  const size = dtype === "uint8" ? 1 : 4;
  if (!Number.isInteger(d.offset) || d.offset < 8 || d.offset + n * size > frame.length) {
    throw new FrameError(`malformed frame: array "${name}" (offset ${d.offset}, ${n * size} bytes) lies outside the frame (${frame.length} bytes)`);
  }
  const start = frame.byteOffset + d.offset;
  if (start % size !== 0) {
    const copy = new Uint8Array(n * size);
    copy.set(frame.subarray(d.offset, d.offset + n * size));
    return typedOf(dtype, copy.buffer, 0, n);
  }
  return typedOf(dtype, frame.buffer, start, n);
}

function typedOf(dtype: Dtype, buf: ArrayBufferLike, at: number, n: number): Typed {
  switch (dtype) {
    case "int32":
      return new Int32Array(buf, at, n);
    case "uint32":
      return new Uint32Array(buf, at, n);
    case "float32":
      return new Float32Array(buf, at, n);
    case "uint8":
      return new Uint8Array(buf, at, n);
  }
}
