// Runs a test helper's function in a child Node process under V8's optimisation and deoptimisation
// trace (compiles on the main thread: --no-concurrent-*), for the tests that read which code V8
// made for a generated kernel's loop (issue #19, tenth session: on-stack-replacement code is not
// specialised on the kernel's arrays). No timing is read.
//
// The child's stdout is not line-atomic: tsx's module hooks run on a loader thread with its own V8
// isolate, which traces to the same stdout, and V8 writes a trace line in pieces. A line the helper
// prints can land inside a V8 line (seen in CI: "[marking END\n0x3bad... <JSFunction
// expireDiskCache ...]"). So the helper's lines are found anywhere, taken out, and the V8 lines
// they cut are whole again; tsx's disk cache (whose expiry ran on the loader thread at the end of
// the run) is turned off for the child.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The child's stdout. `helper`: a path relative to test/helpers/; its export `fn` is called as fn(ticks, console.log). */
export function v8Trace(helper: string, fn: string, ticks: number): string {
  const path = fileURLToPath(new URL(helper, import.meta.url));
  const script = `const m = await import(${JSON.stringify(path)}); m[${JSON.stringify(fn)}](${ticks}, console.log);`;
  return execFileSync(process.execPath, ["--trace-opt", "--trace-deopt", "--no-concurrent-recompilation", "--no-concurrent-osr", "--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 64 << 20,
    env: { ...process.env, TSX_DISABLE_CACHE: "1" },
  });
}

/**
 * Takes the helper's `lines` (each printed once, in this order) out of `raw`, wherever they are;
 * returns the rest (V8's trace) and where each line was in it, or `missing`: the first not found.
 */
export function takeLines(raw: string, lines: readonly string[]): { trace: string; at: number[]; missing?: string } {
  let trace = raw;
  const at: number[] = [];
  let from = 0;
  for (const line of lines) {
    const i = trace.indexOf(`${line}\n`, from);
    if (i < 0) return { trace, at, missing: line };
    trace = trace.slice(0, i) + trace.slice(i + line.length + 1);
    at.push(i);
    from = i;
  }
  return { trace, at };
}
