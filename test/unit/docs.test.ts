// Every command in the README, docs/python.md and docs/modding.md runs as written. Fast checks, no long runs:
//  - each `townlet ...` command line (in sh blocks and in the README's command table) names a
//    command that exists and its flags parse with that command's own flag table (tools/args.ts),
//    and the files it names exist; `npm run X` / `npm start` / `npm test` name package scripts;
//  - the cheap ones are run for real (validate, config explain, --help);
//  - the README's env example runs as written (its `townlet/env` import mapped to the sources);
//  - the README's plug-in listing is the fixture the plug-in tests run, and its typed-resources
//    example runs (its imports added);
//  - each Python block compiles and uses no name it never defines (python3, skipped without it);
//  - no doc points at ../shared (a reader has only this repository).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCommand, HelpRequested } from "../../tools/args.ts";
import { COMMANDS, main } from "../../tools/cli.ts";
import { PROJECT_ROOT } from "../../engine/paths.ts";
import type { AnyPlugin } from "../../engine/plugin.ts";
import type { ResourceKey } from "../../engine/resource.ts";
import { corePlugins } from "../../systems/index.ts";
import { makeWorld } from "../helpers/world.ts";

const DOCS = ["README.md", "docs/python.md", "docs/modding.md"];
const read = (f: string) => readFileSync(join(PROJECT_ROOT, f), "utf8");

interface Block {
  file: string;
  lang: string;
  line: number;
  text: string;
}

function blocks(file: string): Block[] {
  const out: Block[] = [];
  const lines = read(file).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\w*)\s*$/.exec(lines[i]);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({ file, lang: m[1], line: start + 1, text: body.join("\n") });
  }
  return out;
}

/** Shell words of one command line: quotes kept together, comments and here-doc bodies dropped. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(#.*$)|(\S+)/g;
  for (let m; (m = re.exec(line)); ) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]);
  }
  return out;
}

/** Command lines of a shell block: continuations joined, here-documents skipped. */
function commandLines(text: string): string[] {
  const out: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    while (l.endsWith("\\") && i + 1 < lines.length) l = l.slice(0, -1) + " " + lines[++i].trim();
    const here = /<<-?'?(\w+)'?/.exec(l);
    if (here) while (i + 1 < lines.length && lines[++i].trim() !== here[1]);
    if (l.trim()) out.push(l.trim());
  }
  return out;
}

/** The `townlet` invocation in a command line (`npx townlet`, `townlet`, `node bin/townlet.mjs`), if any. */
function townletArgs(w: string[]): string[] | undefined {
  const i = w.findIndex((x, k) => x === "townlet" || (x === "bin/townlet.mjs" && w[k - 1] === "node"));
  return i < 0 ? undefined : w.slice(i + 1);
}

const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };

interface Cmd {
  where: string;
  argv: string[];
}

/** Every townlet command of the docs' shell blocks, plus the README's command table rows. */
function documentedCommands(): { townlet: Cmd[]; npm: Cmd[] } {
  const townlet: Cmd[] = [];
  const npm: Cmd[] = [];
  for (const file of DOCS) {
    for (const b of blocks(file)) {
      if (b.lang !== "sh" && b.lang !== "bash") continue;
      for (const l of commandLines(b.text)) {
        for (const part of l.split(/\s*(?:&&|\|\||;)\s*/)) {
          const w = words(part);
          const t = townletArgs(w);
          if (t) townlet.push({ where: `${file}:${b.line}: ${part}`, argv: t });
          else if (w[0] === "npm") npm.push({ where: `${file}:${b.line}: ${part}`, argv: w.slice(1) });
        }
      }
    }
  }
  // The README's table: `townlet CMD [--flag VALUE] ...` in its first column, options in brackets.
  for (const row of read("README.md").split("\n").filter((l) => l.startsWith("| `townlet "))) {
    const cell = /^\| `([^`]+)`/.exec(row)![1];
    if (cell.includes("...")) continue;
    const argv = cell
      .replace(/\\\|/g, "|")
      .replace(/[[\]]/g, " ")
      .split(/\s+/)
      .filter(Boolean)
      .slice(1);
    // A placeholder (N, FILE) stands for a value; `a|b` for one of the choices.
    const value = (a: string) => (/^[A-Z][A-Z_|.]*$/.test(a) ? placeholderValue(a) : !a.startsWith("-") && a.includes("|") ? a.split("|")[0] : a);
    townlet.push({ where: `README.md table: ${cell}`, argv: argv.map(value) });
  }
  return { townlet, npm };
}

/** A value for a placeholder in the command table (N, FILE, DIR, ...). */
function placeholderValue(p: string): string {
  if (p === "N" || p === "K") return "1";
  if (p === "FILE" || p === "FILE|DIR") return "configs/default.yaml";
  if (p === "DIR") return "configs";
  if (p === "P") return "scripted";
  return "x";
}

describe("the docs' commands", () => {
  const { townlet, npm } = documentedCommands();

  it("finds the documented commands", () => {
    expect(townlet.length).toBeGreaterThan(10);
    expect(npm.map((c) => c.argv[0])).toEqual(expect.arrayContaining(["install", "test"]));
  });

  it("every townlet command names a command and flags its parser accepts, and its files exist", async () => {
    const problems: string[] = [];
    for (const c of townlet) {
      const [name, ...rest] = c.argv;
      if (name === "--version" || name === "help") continue;
      const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
      if (!entry) {
        problems.push(`${c.where}: no command "${name}"`);
        continue;
      }
      const { spec } = await entry.load();
      // `serve --stdio` is the bridge, with its own table.
      const target = name === "serve" && rest.includes("--stdio") ? (await import("../../tools/bridge.ts")).BRIDGE_SPEC : spec;
      const argv = rest.filter((a) => !(name === "serve" && a === "--stdio"));
      try {
        const { positionals, values } = parseCommand(target, argv);
        const files = [...positionals, ...(typeof values.config === "string" ? [values.config] : [])].filter((p) => /\.ya?ml$/.test(p) || p.startsWith("configs"));
        for (const f of files) if (!existsSync(join(PROJECT_ROOT, f)) && !/^(tokens|my-)/.test(f)) problems.push(`${c.where}: ${f} does not exist`);
      } catch (e) {
        if (!(e instanceof HelpRequested)) problems.push(`${c.where}: ${(e as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("npm commands name scripts of package.json", () => {
    const problems: string[] = [];
    for (const c of npm) {
      const [verb, script] = c.argv;
      if (verb === "run" && !pkg.scripts[script]) problems.push(`${c.where}: no script "${script}"`);
      if ((verb === "start" || verb === "test") && !pkg.scripts[verb]) problems.push(`${c.where}: no script "${verb}"`);
    }
    expect(problems).toEqual([]);
  });

  it("the cheap documented commands run as written", async () => {
    const cheap = townlet.filter((c) => ["validate", "config"].includes(c.argv[0]) && !c.where.includes("table"));
    for (const c of cheap) {
      const err: string[] = [];
      const code = await main(c.argv, { log: () => {}, err: (l) => err.push(l) });
      expect({ where: c.where, code, err }).toEqual({ where: c.where, code: 0, err: [] });
    }
  });
});

describe("the docs' code", () => {
  it("docs/modding.md shows the thirst mod's plug-in as examples/mods/thirst/thirst.ts has it", () => {
    const block = blocks("docs/modding.md").find((b) => b.lang === "ts" && b.text.includes("definePlugin({"));
    expect(block).toBeDefined();
    const file = read("examples/mods/thirst/thirst.ts");
    expect(file.slice(file.indexOf("import "))).toBe(`${block!.text}\n`);
  });

  it("the README's plug-in listing is test/fixtures/graffiti.ts as it is (test/unit/plugins.test.ts runs that file)", () => {
    const block = blocks("README.md").find((b) => b.lang === "ts" && b.text.includes('name: "graffiti"'));
    expect(block).toBeDefined();
    const file = read("test/fixtures/graffiti.ts");
    expect(file.slice(file.indexOf("import "))).toBe(`${block!.text}\n`);
  });

  it("the README's typed-resources example runs as written: the user reads the provider's resource each tick, and refuses to start without it", async () => {
    const block = blocks("README.md").find((b) => b.lang === "ts" && b.text.includes("defineResource<TagService>"));
    expect(block).toBeDefined();
    const url = (...p: string[]) => JSON.stringify(pathToFileURL(join(PROJECT_ROOT, ...p)).href);
    const dir = mkdtempSync(join(PROJECT_ROOT, ".tmp-docs-"));
    try {
      const file = join(dir, "resources-example.ts");
      // The block's own names, imported; each definePlugin(...) it writes is collected.
      const head = [
        `import { defineResource } from ${url("engine", "resource.ts")};`,
        `import { definePlugin as define } from ${url("engine", "plugin.ts")};`,
        `import { SpaceKey } from ${url("components", "grid.ts")};`,
        `import { SocialKey } from ${url("components", "social.ts")};`,
        "export const plugins: unknown[] = [];",
        "const definePlugin = ((p: unknown) => (plugins.push(p), p)) as typeof define;",
      ].join("\n");
      writeFileSync(file, `${head}\n${block!.text}\n`);
      const m = (await import(pathToFileURL(file).href)) as { plugins: AnyPlugin[]; TagsKey: ResourceKey<{ tagsOf(eid: number): number }> };
      expect(m.plugins.map((p) => p.name)).toEqual(["tags", "tag-report"]);
      const w = makeWorld({}, corePlugins, m.plugins);
      const tags = w.resource(m.TagsKey);
      let calls = 0;
      const tagsOf = tags.tagsOf;
      tags.tagsOf = (eid) => (calls++, tagsOf(eid));
      w.run(3);
      expect(calls).toBe(3 * w.agents.length);
      expect(() => makeWorld({}, corePlugins, [m.plugins[1]])).toThrow('plug-in "tag-report" requires resource "tags" from plug-in "tags", which is not in this world');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the README's env example runs as written", async () => {
    const block = blocks("README.md").find((b) => b.lang === "ts" && b.text.includes('from "townlet/env"'))!;
    expect(block).toBeDefined();
    const dir = mkdtempSync(join(PROJECT_ROOT, ".tmp-docs-"));
    try {
      const file = join(dir, "env-example.ts");
      const src = block.text.replace('from "townlet/env"', `from ${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, "env", "index.ts")).href)}`);
      writeFileSync(file, `export const ran = true;\n${src}\n`);
      const cwd = process.cwd();
      process.chdir(PROJECT_ROOT); // the example's config path is relative to the project
      try {
        const m = (await import(pathToFileURL(file).href)) as { ran: boolean };
        expect(m.ran).toBe(true);
      } finally {
        process.chdir(cwd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const python = spawnSync("python3", ["--version"]).status === 0;
  it.skipIf(!python)("each Python block of docs/python.md compiles and defines every name it uses (python3)", () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-docs-"));
    try {
      const checker = join(dir, "names.py");
      // Names loaded but never bound in the block (imports, assignments, loops, defs, arguments,
      // comprehensions, with/except targets) and not builtins: an example that cannot run.
      writeFileSync(
        checker,
        [
          "import ast, builtins, json, sys",
          "src = open(sys.argv[1]).read()",
          "tree = ast.parse(src)",
          "bound = set(dir(builtins))",
          "for n in ast.walk(tree):",
          "    if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)): bound.add(n.id)",
          "    elif isinstance(n, (ast.Import, ast.ImportFrom)): bound.update((a.asname or a.name).split('.')[0] for a in n.names)",
          "    elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): bound.add(n.name)",
          "    elif isinstance(n, ast.arg): bound.add(n.arg)",
          "    elif isinstance(n, ast.ExceptHandler) and n.name: bound.add(n.name)",
          "missing = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound})",
          "print(json.dumps(missing))",
        ].join("\n"),
      );
      const problems: string[] = [];
      for (const b of blocks("docs/python.md").filter((x) => x.lang === "python")) {
        const f = join(dir, `block-${b.line}.py`);
        writeFileSync(f, b.text);
        const r = spawnSync("python3", [checker, f], { encoding: "utf8" });
        if (r.status !== 0) problems.push(`docs/python.md:${b.line}: does not compile: ${r.stderr.trim().split("\n").pop()}`);
        else for (const name of JSON.parse(r.stdout) as string[]) problems.push(`docs/python.md:${b.line}: "${name}" is used but never defined`);
      }
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("no doc points at ../shared", () => {
    for (const f of ["README.md", "docs/python.md", "docs/config.md", "docs/differences.md", "bench/README.md"]) {
      if (!existsSync(join(PROJECT_ROOT, f))) continue;
      expect({ f, hits: read(f).split("\n").filter((l) => l.includes("../shared")) }).toEqual({ f, hits: [] });
    }
  });
});
