// The first ticks of a bench world under V8 (issue #19, twelfth session): no object the hot code
// reads changes its hidden class after that code was optimised, and the decision pass's run is not
// deoptimised by the first agent its scan lists on hunger alone. Traced at 100k agents, the first
// finish made the affordances Runtime's `touched` a double (a Smi field before: a new map), the
// first (town, type) view made the type index's views array hold objects (a new elements kind),
// and gather's needs list, made by Array.prototype.map, had another elements kind once gather was
// optimised: each deoptimised every optimised reader ("wrong map", ticks 2-10: hookCall, wake,
// start, powered, firstFailing, lookupName, objectsRun, topUp, stockPantry, stoveReady, chatOverride).
// Read from V8's own trace in a child process (test/helpers/first-ticks-jit.ts): no timing.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { takeLines, v8Trace } from "../helpers/v8-trace.ts";

const TICKS = 45;

/** The child's trace after "MADE": each deoptimisation as "function | reason | where". */
function deoptsAfterWarmUp(): string[] {
  const path = fileURLToPath(new URL("../helpers/first-ticks-jit.ts", import.meta.url));
  const script = `const m = await import(${JSON.stringify(path)}); await m.runBenchTicks(${TICKS}, console.log);`;
  const raw = execFileSync(process.execPath, ["--trace-deopt-verbose", "--no-concurrent-recompilation", "--no-concurrent-osr", "--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 256 << 20,
    env: { ...process.env, TSX_DISABLE_CACHE: "1" },
  });
  const { trace, at, missing } = takeLines(raw, ["MADE", "END"]);
  expect(missing).toBeUndefined();
  const lines = trace.slice(at[0], at[1]).split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /bailout \(kind: [^,]+, reason: ([^)]*)\).*?<JSFunction (\S+) /.exec(lines[i]);
    if (!m) continue;
    const where = lines.slice(i + 1, i + 4).find((l) => l.includes("deoptimize at")) ?? "";
    out.push(`${m[2]} | ${m[1]} | ${where.replace(/.*deoptimize at /, "").replace(/file:\/\/\S*?\/(systems|engine|components)\//g, "$1/")}`);
  }
  return out;
}

/** The functions that read the Runtime, the type index or gather's needs list (deoptimised on their maps at 100k). */
const READERS = ["hookCall", "wake", "follow", "start", "powered", "watered", "priceMultiplier", "firstFailing", "lookupName", "objectsRun", "topUp", "stockPantry", "stoveReady", "stockedIn", "choose", "gather", "chatOverride"];

describe("the first ticks of a 10k bench world under V8", () => {
  it("change no map the optimised runtime, decision and reward code read: no wrong-map deoptimisation of them", () => {
    const wrongMap = deoptsAfterWarmUp().filter((d) => d.includes("| wrong map |") && READERS.includes(d.split(" | ")[0]));
    expect(wrongMap).toEqual([]);
  });

  it("do not deoptimise the decision pass's run when its scan first lists an agent on hunger alone", () => {
    // run, or the test it calls per listed agent where V8 did not inline it.
    const run = deoptsAfterWarmUp().filter((d) => /^(run|keepsListed|keepsUse) \| /.test(d) && d.includes("behavior/decide.ts"));
    expect(run).toEqual([]);
  });
});

/** The lines of `fn` in `part` of a --trace-opt --trace-deopt trace. */
function linesOf(part: string, fn: string): string[] {
  return part.split("\n").filter((l) => l.includes(`<JSFunction ${fn} `));
}

describe("code that sets options and grows message columns, under V8", () => {
  it("keeps a loop of chooseOption optimised when agents first leave a Use, after rounds of Wait to Use only", () => {
    const { trace, at, missing } = takeLines(v8Trace("./first-ticks-jit.ts", "runChooseOption", 300), ["MADE", "switches 0", "END"]);
    expect(missing).toBeUndefined();
    expect(linesOf(trace.slice(0, at[0]), "chooseAll").some((l) => /completed (compiling|optimizing)/.test(l))).toBe(true);
    expect(linesOf(trace.slice(at[0]), "chooseAll").filter((l) => /deoptimizing/.test(l))).toEqual([]);
  });

  it("grows a message channel's columns in their own array, of the kind the constructor made, also in optimised code", () => {
    // Array.prototype.map in optimised code made a holey array where the builtin made a packed one:
    // pushN and the employment events that inline it deoptimised on it ("wrong map", tick 163 at
    // 100k agents). V8's own test functions (--allow-natives-syntax) compile grow and compare maps.
    const path = fileURLToPath(new URL("../../engine/message.ts", import.meta.url));
    const script = `const { MessageChannel, defineMessage } = await import(${JSON.stringify(path)});
const def = defineMessage("probe", { agent: "eid", value: "int" });
const made = new MessageChannel(def);
const grow = MessageChannel.prototype.grow;
%PrepareFunctionForOptimization(grow);
new MessageChannel(def).grow();
new MessageChannel(def).grow();
%OptimizeFunctionOnNextCall(grow);
const ch = new MessageChannel(def);
const cols = ch.cols;
ch.grow();
console.log("optimised", (%GetOptimizationStatus(grow) & 16) !== 0, "same array", ch.cols === cols, "same map", %HaveSameMap(made.cols, ch.cols), "room", ch.cols[0].length);`;
    const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000, env: { ...process.env, TSX_DISABLE_CACHE: "1" } });
    expect(out.trim().split("\n").pop()).toBe("optimised true same array true same map true room 32");
  });
});
