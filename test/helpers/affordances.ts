// configs/affordances/core.yaml without its objects, written once to a temporary file: tests that
// place their own objects point `affordances.affordances_file` at it.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";

const CORE_YAML = fileURLToPath(new URL("../../configs/affordances/core.yaml", import.meta.url));

/** Writes the core affordances without core.yaml's objects under a new temp dir named by `prefix`; returns the file. */
export function affordancesOnlyFile(prefix: string): string {
  const entries = (parse(readFileSync(CORE_YAML, "utf8")) as { type?: string }[]).filter((e) => e.type !== "object");
  const file = join(mkdtempSync(join(tmpdir(), prefix)), "affordances-only.yaml");
  writeFileSync(file, stringify(entries));
  return file;
}
