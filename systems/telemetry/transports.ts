// Telemetry sinks for a stream (stdout) and a file (NDJSON, rotated by size). Both bound their
// memory: the stream counts bytes it handed to the writable and not yet flushed; above the
// high-water mark it stops writing diffs, counts them as dropped, and writes one fresh snapshot
// once the stream drained. The file is written synchronously, so it never buffers.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Writable } from "node:stream";
import type { Published, TelemetryPublisher, TelemetrySink } from "./publisher.ts";
import type { DiffPayloadT, SnapshotPayloadT } from "./schema.ts";

/** Writes NDJSON to a writable stream (stdout by default) with a bounded backlog. */
export class StreamSink implements TelemetrySink {
  private inFlight = 0;
  private stale = false;
  /** Diffs not written because the stream was behind. */
  dropped = 0;

  constructor(
    private readonly publisher: TelemetryPublisher,
    private readonly out: Writable = process.stdout,
    private readonly highWaterBytes = publisher.cfg.transport.buffer.max_buffer_bytes,
  ) {}

  deliver(p: Published): void {
    if (this.stale || this.inFlight > this.highWaterBytes) {
      this.stale = true;
      this.dropped++;
      return;
    }
    this.write(p.line());
  }

  private write(line: string): void {
    const bytes = Buffer.byteLength(line) + 1;
    this.inFlight += bytes;
    this.out.write(line + "\n", () => {
      this.inFlight -= bytes;
      if (this.stale && this.inFlight <= this.highWaterBytes / 2) {
        this.stale = false;
        const snap = this.publisher.snapshot("stale");
        snap.dropped = { events: 0, payloads: this.dropped };
        this.write(JSON.stringify(snap));
      }
    });
  }
}

export interface FileSinkOptions {
  /** Rotate before a write would take the file past this size. */
  rotateBytes: number;
  /** Rotated files kept: path.1 (newest) .. path.<keep>. */
  keep: number;
}

/**
 * Appends NDJSON to `path`. When the file would pass `rotateBytes` it becomes path.1 (older ones
 * shift up, the oldest beyond `keep` is deleted) and the new file starts with a snapshot, so every
 * file can be read on its own.
 */
export class FileSink implements TelemetrySink {
  private fd: number;
  private size: number;
  rotations = 0;

  constructor(
    private readonly publisher: Pick<TelemetryPublisher, "cfg" | "snapshot">,
    readonly path: string,
    private readonly opts: FileSinkOptions = {
      rotateBytes: publisher.cfg.stream.file_rotate_bytes,
      keep: publisher.cfg.stream.file_keep,
    },
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, "a");
    this.size = fstatSync(this.fd).size;
  }

  deliver(p: Published): void {
    if (this.fd < 0) return;
    let line = p.line() + "\n";
    if (this.size > 0 && this.size + Buffer.byteLength(line) > this.opts.rotateBytes) {
      this.rotate();
      if (p.payload.payload_type === "diff") {
        // The new file starts from a snapshot that already includes this diff (same seq).
        const d = p.payload as DiffPayloadT;
        const snap: SnapshotPayloadT = this.publisher.snapshot("rotate");
        snap.events = d.events;
        snap.narrations = d.narrations;
        line = JSON.stringify(snap) + "\n";
      }
    }
    this.size += writeSync(this.fd, line);
  }

  private rotate(): void {
    closeSync(this.fd);
    const { keep } = this.opts;
    if (existsSync(`${this.path}.${keep}`)) rmSync(`${this.path}.${keep}`);
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, "a");
    this.size = 0;
    this.rotations++;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The sink a `--telemetry SPEC` flag or the config's transport asks for: "stdout", "file:PATH",
 * or (no spec) telemetry.transport (stdout, or file with file_path). Other transport types
 * (websocket: use TelemetryServer; tcp, http, prometheus) have no sink here: undefined.
 */
export function createTransportSink(publisher: TelemetryPublisher, spec?: string): TelemetrySink | undefined {
  if (spec !== undefined) {
    if (spec === "stdout") return new StreamSink(publisher);
    if (spec.startsWith("file:") && spec.length > 5) return new FileSink(publisher, spec.slice(5));
    throw new RangeError(`telemetry: expected "stdout" or "file:PATH", got "${spec}"`);
  }
  const t = publisher.cfg.transport;
  if (t.type === "stdout") return new StreamSink(publisher);
  if (t.type === "file" && t.file_path) return new FileSink(publisher, t.file_path);
  return undefined;
}
