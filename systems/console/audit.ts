// The console's audit trail: one NDJSON line per command (accepted, refused or replayed) with
// cmd_id, role, label, command, args, result and tick. Never the token. Written synchronously
// so a crash loses nothing; results larger than `maxResultBytes` are summarised, and so are
// args that cannot be written (too deep, too large). The file is rotated past `maxBytes`
// (FILE -> FILE.1 -> ... -> FILE.<keep>), so a flood of commands cannot fill the disk.
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { AuditRecordT } from "./protocol.ts";

export interface AuditSink {
  write(rec: AuditRecordT): void;
}

export interface AuditLogOptions {
  /** Largest record before its result is summarised, bytes. */
  maxResultBytes?: number;
  /** Size at which the file is rotated, bytes (default 64 MiB). */
  maxBytes?: number;
  /** Rotated files kept beside the live one (default 3). */
  keep?: number;
}

export class AuditLog implements AuditSink {
  lines = 0;
  /** Times the file was rotated since start. */
  rotations = 0;
  private bytes: number;
  private readonly maxResultBytes: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    readonly path: string,
    opts: AuditLogOptions | number = {},
  ) {
    const o = typeof opts === "number" ? { maxResultBytes: opts } : opts;
    this.maxResultBytes = o.maxResultBytes ?? 16_384;
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    this.keep = Math.max(1, o.keep ?? 3);
    mkdirSync(dirname(path), { recursive: true });
    this.bytes = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  }

  write(rec: AuditRecordT): void {
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch (e) {
      // Args that JSON cannot write (a cycle, a stack overflow): the record says so instead.
      line = JSON.stringify({ ...rec, args: { omitted: `args not written: ${e instanceof Error ? e.message : String(e)}` }, result: undefined });
    }
    const summary = (v: unknown) => ({ truncated: true, bytes: Buffer.byteLength(safeJson(v)) });
    if (Buffer.byteLength(line) > this.maxResultBytes && rec.result !== undefined) {
      line = JSON.stringify({ ...rec, result: summary(rec.result) });
    }
    if (Buffer.byteLength(line) > this.maxResultBytes) line = JSON.stringify({ ...rec, args: summary(rec.args), ...(rec.result !== undefined ? { result: summary(rec.result) } : {}) });
    const n = Buffer.byteLength(line) + 1;
    if (this.bytes > 0 && this.bytes + n > this.maxBytes) this.rotate();
    appendFileSync(this.path, line + "\n");
    this.bytes += n;
    this.lines++;
  }

  private rotate(): void {
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    if (existsSync(this.path)) renameSync(this.path, `${this.path}.1`);
    this.bytes = 0;
    this.rotations++;
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "";
  } catch {
    return "";
  }
}

/** Keeps audit records in memory (tests, or when no file is wanted); bounded. */
export class MemoryAudit implements AuditSink {
  readonly records: AuditRecordT[] = [];
  constructor(private readonly max = 10_000) {}
  write(rec: AuditRecordT): void {
    this.records.push(rec);
    if (this.records.length > this.max) this.records.shift();
  }
}
