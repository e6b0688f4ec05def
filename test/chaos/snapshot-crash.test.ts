// Crash safety of snapshot files: a child process runs a town and writes a snapshot after every
// tick (retaining 3), resuming from the newest valid snapshot each time it starts; the parent
// SIGKILLs it at random moments, many times. After every kill each *.snapshot file in the folder
// verifies (temporary file + fsync + rename: a reader never sees half a file), the newest one
// loads, and at the end the run that was killed and resumed again and again has the same state
// hash as a run that was never interrupted.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../engine/config/loader.ts";
import { createRng } from "../../engine/rng.ts";
import { loadSnapshot, newestValidSnapshot, readSnapshotFile, writeSnapshotFile } from "../../engine/snapshot.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CONFIG = join(ROOT, "configs/many-towns.yaml");
const TOWNS = 60;
const mod = (p: string) => JSON.stringify(pathToFileURL(join(ROOT, p)).href);

const CHILD = `
import { loadConfig } from ${mod("engine/config/loader.ts")};
import { World } from ${mod("engine/world.ts")};
import { corePlugins } from ${mod("systems/index.ts")};
import { loadSnapshot, newestValidSnapshot, writeSnapshotFile } from ${mod("engine/snapshot.ts")};
import { existsSync } from "node:fs";
const [dir, configPath, towns] = process.argv.slice(2);
const config = loadConfig(configPath, corePlugins, { overrides: { "world.towns": Number(towns) } });
const world = new World({ settings: config.settings, plugins: corePlugins });
const found = existsSync(dir) ? newestValidSnapshot(dir) : undefined;
if (found) loadSnapshot(world, found.snapshot, { configHash: config.configHash });
process.stdout.write("start " + world.tick + "\\n");
for (;;) {
  world.step();
  writeSnapshotFile(dir, world, { configHash: config.configHash }, { retain: 3 });
  process.stdout.write("wrote " + world.tick + "\\n");
}
`;

// A writer of one file, over and over, with 16 MB payloads (~100 ms a write): killed within 60 ms
// of saying it starts a write, so kills land mid-write.
const BIG_CHILD = `
import { encodeSnapshot, writeFileAtomic } from ${mod("engine/snapshot.ts")};
const [path] = process.argv.slice(2);
const pad = new Uint8Array(16 << 20);
for (let i = 1; ; i++) {
  pad.fill(i & 255);
  const header = { format_version: 1, schema_version: 1, config_id: "big", tick: i };
  const bytes = encodeSnapshot(header as never, [["pad", pad]]);
  process.stdout.write("writing " + i + "\\n");
  writeFileAtomic(path, bytes);
  process.stdout.write("wrote " + i + "\\n");
}
`;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "townlet-crash-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Starts a writer, waits until it has written `minWrites` files, then kills it `delayMs` later
 * (with armOn "writing": `delayMs` after it next says it starts a file write).
 */
function runAndKill(
  dir: string,
  script: string,
  minWrites: number,
  delayMs: number,
  args: string[] = [dir, CONFIG, String(TOWNS)],
  armOn: "wrote" | "writing" = "wrote",
): Promise<{ started: number; last: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let started = -1;
    let last = -1;
    let writes = 0;
    let armed = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const lines = out.split("\n");
      out = lines.pop()!;
      for (const l of lines) {
        const [what, tick] = l.split(" ");
        if (what === "start") started = Number(tick);
        if (what === "wrote") {
          last = Number(tick);
          writes++;
        }
        if (!armed && writes >= minWrites && what === armOn) {
          armed = true;
          setTimeout(() => child.kill("SIGKILL"), delayMs);
        }
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`writer exited with ${code ?? signal} before it was killed:\n${err}`));
      else resolve({ started, last, signal });
    });
  });
}

describe("a writer killed at random moments", () => {
  it("writeFileAtomic: a kill during a 16 MB write leaves the previous file whole", async () => {
    const dir = join(tmp, "big");
    const script = join(tmp, "big-writer.ts");
    writeFileSync(script, BIG_CHILD);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "big-0000000000.snapshot");
    const rng = createRng(7, "chaos-big");
    let torn = 0;
    for (let round = 0; round < 4; round++) {
      const r = await runAndKill(dir, script, 1, rng.int(60), [path], "writing");
      if (readdirSync(dir).some((f) => f.endsWith(".tmp"))) torn++;
      const snap = readSnapshotFile(path); // verifies length and sha256
      expect(snap.header.tick).toBeGreaterThanOrEqual(r.last);
      expect(snap.sections.get("pad")!.every((b) => b === (snap.header.tick & 255))).toBe(true);
    }
    console.log(`snapshot-crash (16 MB): 4 kills, ${torn} during a write`);
    expect(torn).toBeGreaterThan(0);
  }, 120_000);

  it("always leaves the previous snapshot loadable, and the resumed run matches the uninterrupted one", async () => {
    const dir = join(tmp, "snaps");
    const script = join(tmp, "writer.ts");
    writeFileSync(script, CHILD);
    const config = loadConfig(CONFIG, corePlugins, { overrides: { "world.towns": TOWNS } });
    const rng = createRng(20240611, "chaos");
    let torn = 0;
    let newest = 0;
    for (let round = 0; round < 8; round++) {
      const r = await runAndKill(dir, script, 1 + rng.int(3), rng.int(200));
      expect(r.started).toBe(newest); // resumed exactly where the newest valid snapshot left off
      const files = readdirSync(dir);
      if (files.some((f) => f.endsWith(".tmp"))) torn++;
      for (const f of files.filter((x) => x.endsWith(".snapshot"))) {
        const snap = readSnapshotFile(join(dir, f)); // throws on a torn or damaged file
        expect(f).toContain(String(snap.header.tick).padStart(10, "0"));
      }
      const found = newestValidSnapshot(dir);
      expect(found).toBeDefined();
      expect(found!.snapshot.header.tick).toBeGreaterThanOrEqual(r.last);
      newest = found!.snapshot.header.tick;
    }
    // The chain of killed-and-resumed runs equals one run that was never interrupted.
    const plain = new World({ settings: config.settings, plugins: corePlugins });
    plain.run(newest);
    const resumed = new World({ settings: config.settings, plugins: corePlugins });
    loadSnapshot(resumed, readSnapshotFile(newestValidSnapshot(dir)!.path), { configHash: config.configHash });
    expect(resumed.tick).toBe(newest);
    expect(resumed.stateHash()).toBe(plain.stateHash());
    plain.run(5);
    resumed.run(5);
    expect(resumed.stateHash()).toBe(plain.stateHash());
    // The next write of a live process sweeps the temporary files of dead writers.
    writeSnapshotFile(dir, resumed, { configHash: config.configHash }, { retain: 3 });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith(".snapshot")).length).toBe(3);
    console.log(`snapshot-crash: 8 kills, ${torn} left a half-written temporary file, newest tick ${newest}`);
  }, 180_000);
});
