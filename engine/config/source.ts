// Config files as YAML sources: reading them (size and kind checked first), parsing with line
// numbers, the structural checks (repeated keys, aliases) and the line of any key path.
import { readFileSync, statSync } from "node:fs";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import { formatPath, type ConfigProblem } from "./problems.ts";

/** A parsed YAML document with its line table. */
export interface Source {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The document as plain values (aliases expanded, checked first). */
  raw: unknown;
}

/** Parses YAML text with line numbers; invalid YAML, repeated keys and bad aliases are problems. */
export function parseSource(file: string, text: string): { src?: Source; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  // Repeated keys are found by structureProblems: the library's own check compares each key
  // with every earlier one of its mapping (20,000 keys took 27 s).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line,
    path: "",
    message: `invalid YAML: ${e.message.split("\n")[0]}`,
  }));
  if (problems.length) return { problems };
  const structure = structureProblems(file, doc, lines);
  if (structure.problems.length) return { problems: structure.problems };
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // The library refuses aliases that expand to too many copies (a "billion laughs" file).
    const line = structure.firstAliasAt !== undefined ? lines.linePos(structure.firstAliasAt).line : 1;
    const why = e instanceof Error ? e.message : String(e);
    const message = /alias count/i.test(why)
      ? "aliases expand to too many copies (more than 100); write the values out or use fewer aliases (*name)"
      : `cannot expand the YAML (${why})`;
    return { problems: [{ file, line, path: "", message }] };
  }
  return { src: { file, doc, lines, raw }, problems: [] };
}

type Range = [number, number, number];
const rangeOf = (n: unknown) => (n as { range?: Range | null } | null)?.range ?? undefined;

/**
 * Repeated mapping keys and aliases that cannot be expanded (no anchor before them, or inside
 * the value their anchor names), in one pass over the document in text order, without
 * recursion: linear in the size of the file.
 */
function structureProblems(file: string, doc: Document.Parsed, lines: LineCounter): { problems: ConfigProblem[]; firstAliasAt?: number } {
  const problems: ConfigProblem[] = [];
  const anchors = new Map<string, unknown>();
  let firstAliasAt: number | undefined;
  const stack: { node: unknown; path: PropertyKey[] }[] = [{ node: doc.contents, path: [] }];
  while (stack.length > 0 && problems.length < 20) {
    const { node, path } = stack.pop()!;
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, node);
    if (isMap(node)) {
      const firstAt = new Map<unknown, number>();
      const next: { node: unknown; path: PropertyKey[] }[] = [];
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : String(pair.key);
        const at = rangeOf(pair.key)?.[0];
        const first = firstAt.get(key);
        if (first !== undefined && at !== undefined) {
          problems.push({ file, line: lines.linePos(at).line, path: formatPath([...path, String(key)]), message: `duplicate key (first set on line ${lines.linePos(first).line})` });
        } else if (at !== undefined) firstAt.set(key, at);
        if (pair.key !== null && typeof pair.key === "object") next.push({ node: pair.key, path });
        next.push({ node: pair.value, path: [...path, String(key)] });
      }
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]);
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i], path: [...path, i] });
    } else if (isAlias(node)) {
      const at = rangeOf(node)?.[0] ?? 0;
      firstAliasAt ??= at;
      const target = anchors.get(node.source);
      const r = rangeOf(target);
      if (target === undefined) {
        problems.push({ file, line: lines.linePos(at).line, path: formatPath(path), message: `alias *${node.source} has no anchor &${node.source} before it` });
      } else if (r && at > r[0] && at < r[2]) {
        problems.push({ file, line: lines.linePos(at).line, path: formatPath(path), message: `alias *${node.source} is inside the value its anchor &${node.source} names (line ${lines.linePos(r[0]).line}): it would never end` });
      }
    }
  }
  problems.sort((a, b) => a.line - b.line);
  return { problems, firstAliasAt };
}

/**
 * The line of the node at `path` (or of its key when `key` is given). A path that is not in the
 * file (a key left out) gives the line of its nearest written parent's key (`world:`).
 */
export function lineOf(src: Source, path: readonly PropertyKey[], key?: string): number {
  const keyLine = (node: unknown, k: unknown): number | undefined => {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((it) => (it.key as { value?: unknown })?.value === k);
    const r = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    return r ? src.lines.linePos(r[0]).line : undefined;
  };
  const nodeAt = (p: readonly PropertyKey[]): unknown => (p.length ? src.doc.getIn(p as unknown[], true) : src.doc.contents);
  for (let n = path.length; n >= 0; n--) {
    const node = nodeAt(path.slice(0, n));
    if (node && typeof node === "object") {
      if (n === path.length && key !== undefined) {
        const line = keyLine(node, key);
        if (line !== undefined) return line;
      }
      if (n < path.length && n > 0) {
        const line = keyLine(nodeAt(path.slice(0, n - 1)), path[n - 1]);
        if (line !== undefined) return line;
      }
      const r = (node as { range?: [number, number, number] }).range;
      if (r) return src.lines.linePos(r[0]).line;
    }
  }
  return 1;
}

/** Largest YAML file the loader reads, bytes (a 10 MB config loads in seconds; a device never). */
export const MAX_CONFIG_FILE_BYTES = 32 * 1024 * 1024;

/** Reads a config file, refusing what is not a regular file or is too large. */
export function readSource(file: string): { text?: string; problem?: ConfigProblem } {
  try {
    // Absolute or relative, a file is checked before it is read: /dev/zero or a folder is refused
    // at once instead of read until memory runs out.
    const st = statSync(file);
    if (!st.isFile()) return { problem: { file, line: 0, path: "", message: `not a regular file (${st.isDirectory() ? "a folder" : "a device, pipe or socket"}); give a YAML file` } };
    if (st.size > MAX_CONFIG_FILE_BYTES) return { problem: { file, line: 0, path: "", message: `file is ${st.size} bytes, larger than the ${MAX_CONFIG_FILE_BYTES} bytes a config may have` } };
    return { text: readFileSync(file, "utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: { file, line: 0, path: "", message: code === "ENOENT" ? "file not found" : `cannot read file (${code ?? String(e)})` } };
  }
}
