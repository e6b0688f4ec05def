// The console's audit trail: one NDJSON line per command (accepted, refused or replayed) with
// cmd_id, role, label, command, args, result and tick. Never the token. Written synchronously
// so a crash loses nothing; results larger than `maxResultBytes` are summarised.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { AuditRecordT } from "./protocol.ts";

export interface AuditSink {
  write(rec: AuditRecordT): void;
}

export class AuditLog implements AuditSink {
  lines = 0;

  constructor(
    readonly path: string,
    private readonly maxResultBytes = 16_384,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  write(rec: AuditRecordT): void {
    let line = JSON.stringify(rec);
    if (rec.result !== undefined && Buffer.byteLength(line) > this.maxResultBytes) {
      const bytes = Buffer.byteLength(JSON.stringify(rec.result));
      line = JSON.stringify({ ...rec, result: { truncated: true, bytes } });
    }
    appendFileSync(this.path, line + "\n");
    this.lines++;
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
