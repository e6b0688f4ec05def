// The command line's one parser (tools/args.ts) through the real dispatcher (tools/cli.ts):
// help on every command, one clear line for a bad flag or value, positional configs, and the
// shared flags meaning the same on every command.
import { describe, expect, it } from "vitest";
import { COMMANDS, main } from "../../tools/cli.ts";
import { FLAG, HelpRequested, UsageError, closest, parseCommand, type CommandSpec } from "../../tools/args.ts";

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { log: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A command line as the shell would split it (single quotes kept together). */
function words(line: string): string[] {
  return (line.match(/'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^'(.*)'$/, "$1"));
}

const names = Object.keys(COMMANDS);

describe("townlet --help and help CMD", () => {
  it.each(names)("townlet %s --help prints its flags one per line and an example, exit 0", async (name) => {
    const r = await cli(name, "--help");
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    const spec = (await COMMANDS[name].load()).spec;
    const flagBlock = r.out.split("\nflags:\n")[1].split("\n\n")[0].split("\n");
    expect(flagBlock).toHaveLength(Object.keys(spec.flags).length + 1);
    for (const f of Object.keys(spec.flags)) expect(flagBlock.filter((l) => l.includes(`--${f} `) || l.endsWith(`--${f}`) || (spec.flags[f].negatable && / --\[no-\]/.test(l) && (l.includes(`]${f} `) || l.endsWith(`]${f}`)))).length).toBeGreaterThanOrEqual(1);
    expect(r.out).toMatch(/\nexamples:\n {2}townlet /);
    expect((await cli("help", name)).out).toBe(r.out);
    expect((await cli(name, "-h")).out).toBe(r.out);
  });

  it("lists every command with its summary, and the summary matches the command's own", async () => {
    const r = await cli("help");
    expect(r.code).toBe(0);
    for (const name of names) {
      const spec = (await COMMANDS[name].load()).spec;
      expect(spec.summary).toBe(COMMANDS[name].summary);
      expect(r.out).toContain(`  ${name}`);
    }
  });

  it("prints the package version for --version", async () => {
    const r = await cli("--version");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^townlet \d+\.\d+\.\d+/);
  });

  it("suggests the nearest command for a misspelt one", async () => {
    const r = await cli("rnu");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unknown command "rnu"; did you mean run\?/);
    expect((await cli("help", "bnech")).err).toMatch(/did you mean bench\?/);
  });

  it("shows help even when the rest of the line is wrong", async () => {
    const r = await cli("run", "--ticks", "-5", "--nonsense", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^townlet run: /);
  });
});

describe("bad flags and values: one line, exit 1", () => {
  const cases: [string[], RegExp][] = [
    [["run", "--ticks", "-5"], /^townlet run: --ticks: expected an integer >= 0, got "-5"$/],
    [["run", "--agents", "0"], /^townlet run: --agents: expected an integer >= 1, got "0"$/],
    [["run", "--tick", "100"], /^townlet run: unknown flag --tick; did you mean --ticks\? /],
    [["serve", "--port", "70000"], /^townlet serve: --port: expected an integer in \[0, 65535\], got "70000"$/],
    [["bench", "--agents", "1000,x"], /^townlet bench: --agents: expected comma-separated integers >= 1, got "x"$/],
    [["bench", "--policy", "neurl"], /^townlet bench: --policy: expected one of scripted, random, neural, got "neurl"; did you mean neural\?$/],
    [["train", "--lr", "2"], /^townlet train: --lr: expected a number in \[1e-8, 1\], got "2"$/],
    [["env-check", "--cycles"], /^townlet env-check: --cycles: expected a value \(N\)$/],
    [["validate", "--json=yes"], /^townlet validate: --json takes no value, got "yes"$/],
    [["run", "--seed", "1", "--seed", "2"], /^townlet run: --seed given twice$/],
  ];
  it.each(cases)("townlet %j", async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err.split("\n")).toHaveLength(1);
    expect(r.err).toMatch(message);
  });
});

describe("positional config files", () => {
  it("runs the config given as the first argument, not the default", async () => {
    const r = await cli("run", "configs/many-towns.yaml", "--towns", "2", "--ticks", "1", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).config_id).toBe("townlet-many-towns-v1");
  });

  it("refuses a config given both ways, and a second positional", async () => {
    const both = await cli("run", "configs/many-towns.yaml", "--config", "configs/default.yaml");
    expect(both.code).toBe(1);
    expect(both.err).toMatch(/the config was given twice/);
    const two = await cli("run", "configs/default.yaml", "configs/many-towns.yaml");
    expect(two.err).toMatch(/^townlet run: unexpected argument "configs\/many-towns.yaml"/);
  });

  it("bench refuses a config with the big layout or the policy suite, with the reason", async () => {
    const big = await cli("bench", "configs/default.yaml", "--layout", "big");
    expect(big.code).toBe(1);
    expect(big.err).toMatch(/a config \("configs\/default.yaml"\) only with --layout towns and --suite sim/);
    const policy = await cli("bench", "--config", "configs/default.yaml", "--suite", "policy");
    expect(policy.code).toBe(1);
    expect(policy.err).toMatch(/only with --layout towns and --suite sim/);
  });
});

describe("the parser", () => {
  const spec = {
    name: "t",
    summary: "a test command",
    positionals: { name: "FILE", min: 0, max: 1, help: "a file" },
    flags: {
      n: { kind: "int", min: 1, max: 9, help: "a count" },
      x: { kind: "number", above: 0, help: "a rate" },
      set: { kind: "string", multiple: true, help: "repeatable" },
      mode: { kind: "string", choices: ["a", "b"], help: "a mode" },
      quiet: FLAG.quiet,
      fast: { kind: "boolean", negatable: true, help: "on unless --no-fast" },
    },
    examples: ["townlet t --n 3 FILE"],
  } as const satisfies CommandSpec;

  it("reads --flag value, --flag=value, short aliases, repeats and --", () => {
    const p = parseCommand(spec, ["--n=3", "-q", "--x", "0.5", "--set", "a=1", "--set", "b=2", "--mode", "b", "--", "--file"]);
    expect(p.values).toEqual({ n: 3, quiet: true, x: 0.5, set: ["a=1", "b=2"], mode: "b" });
    expect(p.positionals).toEqual(["--file"]);
  });

  it("refuses a value outside the range with the range in the message", () => {
    expect(() => parseCommand(spec, ["--n", "10"])).toThrow(/--n: expected an integer in \[1, 9\], got "10"/);
    expect(() => parseCommand(spec, ["--x", "0"])).toThrow(/--x: expected a number > 0, got "0"/);
    expect(() => parseCommand(spec, ["--n", "2.5"])).toThrow(UsageError);
  });

  it("throws HelpRequested for -h but not for a value that is -h", () => {
    expect(() => parseCommand(spec, ["-h"])).toThrow(HelpRequested);
    expect(parseCommand(spec, ["--set", "-h"]).values.set).toEqual(["-h"]);
  });

  it("reads --no-<flag> as false for a negatable boolean only, and refuses both forms together", () => {
    expect(parseCommand(spec, ["--no-fast"]).values.fast).toBe(false);
    expect(parseCommand(spec, ["--fast"]).values.fast).toBe(true);
    expect(parseCommand(spec, []).values.fast).toBeUndefined();
    expect(() => parseCommand(spec, ["--no-quiet"])).toThrow(/unknown flag --no-quiet/);
    expect(() => parseCommand(spec, ["--fast", "--no-fast"])).toThrow(/--fast and --no-fast given together/);
    expect(() => parseCommand(spec, ["--no-fast", "--fast"])).toThrow(/--fast and --no-fast given together/);
    expect(() => parseCommand(spec, ["--no-fast=1"])).toThrow(/--no-fast takes no value/);
  });

  it("finds the closest name within two edits, or none", () => {
    expect(closest("agnets", ["agents", "ticks"])).toBe("agents");
    expect(closest("zzzz", ["agents", "ticks"])).toBeUndefined();
  });
});

describe("every command's declared examples and shared flags", () => {
  it.each(names)("%s: each example parses against its flag table", async (name) => {
    const { spec } = await COMMANDS[name].load();
    for (const ex of spec.examples) {
      const argv = words(ex);
      expect(argv.slice(0, 2)).toEqual(["townlet", name]);
      expect(() => parseCommand(spec, argv.slice(2))).not.toThrow();
    }
  });

  // bench measures sizes, not towns: its --agents is a list of totals and its --ticks counts measured
  // ticks, and its --workers is a list of thread counts, one row each (all say so in its help).
  // Every other use of a shared name is the shared flag.
  const EXCEPTIONS = new Set(["bench --agents", "bench --ticks", "bench --workers"]);
  it.each(names)("%s: --config, --seed, --ticks, --json, --quiet, --towns and --agents have the shared kind and range", async (name) => {
    const { spec } = await COMMANDS[name].load();
    for (const [flag, shared] of Object.entries(FLAG)) {
      if (EXCEPTIONS.has(`${name} --${flag}`)) continue;
      const mine = (spec.flags as Record<string, (typeof FLAG)[keyof typeof FLAG]>)[flag];
      if (!mine) continue;
      const { help: _a, default: _b, ...rest } = mine as typeof mine & { default?: unknown };
      const { help: _c, ...sharedRest } = shared;
      expect(rest).toEqual(sharedRest);
    }
  });
});
