// `townlet run ... --json --quiet` in-process (tools/cli.ts main): its exit code, the JSON summary
// (its last line; {} when it failed) and what it wrote to stderr.
import { main } from "../../tools/cli.ts";

export async function runJson(args: string[]): Promise<{ code: number; json: Record<string, unknown>; errs: string[] }> {
  const logs: string[] = [];
  const errs: string[] = [];
  const code = await main(["run", ...args, "--json", "--quiet"], { log: (l) => logs.push(l), err: (l) => errs.push(l) });
  const last = logs.join("\n").trim().split("\n").at(-1) ?? "{}";
  return { code, json: code === 0 ? (JSON.parse(last) as Record<string, unknown>) : {}, errs };
}
