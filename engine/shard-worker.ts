// A worker thread of a sharded world (engine/shards.ts): builds its blocks from the config, the
// plug-in specs and its host module (the same inputs as the main thread, so the same worlds),
// reports ready, then answers step/hashes/kpis/schedule/reset requests one at a time (reset: the
// blocks start over with a new root seed and are readied again, as when built). An error is sent
// back with its block, towns and tick (ShardError) or as it is; the main thread stops the run.
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { resolvePlugins } from "./plugin-loader.ts";
import { BlockSet, ShardError, callExtension, EXT_PENDING, loadShardedConfig, planBlocks, readyBlocks, shardsOf } from "./shard-blocks.ts";
import type { ShardExtension, ShardHost, WorkerInit } from "./shards.ts";

function errorOf(e: unknown): { name: string; message: string; stack?: string; block?: number; towns?: [number, number]; tick?: number } {
  if (e instanceof ShardError) return { name: e.name, message: e.message, block: e.block, towns: [e.towns[0], e.towns[1]], tick: e.tick };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "Error", message: String(e) };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  let set: BlockSet;
  let ext: ShardExtension | undefined;
  let host: ShardHost;
  try {
    host = (await import(init.hostModule.startsWith("file:") ? init.hostModule : pathToFileURL(init.hostModule).href)) as ShardHost;
    const plugins = await resolvePlugins(host.corePlugins, init.configFile, init.pluginSpecs);
    const config = loadShardedConfig(init.configFile, plugins, init.build);
    const s = config.settings;
    const plans = planBlocks(s.world.towns, shardsOf(s), s.seed);
    set = new BlockSet(
      init.blocks.map((b) => plans[b]),
      s,
      plugins,
    );
    ext = await readyBlocks(set, host, init.policy);
    if (init.beat) set.heartbeat = new Int32Array(init.beat);
  } catch (e) {
    port.postMessage({ ready: false, error: { id: 0, ok: false, error: errorOf(e) } });
    return;
  }
  port.on("message", (m: { id: number; op: string; hashes?: boolean; ticks?: number; configHash?: string | null; blocks?: Uint8Array[]; name?: string; payload?: unknown; seed?: number }) => {
    try {
      let value: unknown;
      if (m.op === "reset") {
        // Readying may wait (a policy's preparation): the reply follows when it is done.
        set.reset(m.seed ?? 0);
        ext = undefined;
        readyBlocks(set, host, init.policy).then(
          (e) => {
            ext = e;
            port.postMessage({ id: m.id, ok: true, value: set.agents() });
          },
          (e: unknown) => port.postMessage({ id: m.id, ok: false, error: errorOf(e) }),
        );
        return;
      }
      if (m.op === "ext") {
        if (!ext) throw new Error(`the host has no extension for "${m.name}"`);
        const v = callExtension(port, m.id, ext, m.name ?? "", m.payload, errorOf);
        if (v === EXT_PENDING) return;
        value = v;
      } else if (m.op === "step") {
        const r = set.step(m.hashes === true);
        if (ext?.afterStep) r.extra = ext.afterStep();
        value = r;
      }
      else if (m.op === "advance") value = set.advance(m.ticks ?? 1, m.hashes === true);
      else if (m.op === "hashes") value = set.hashes();
      else if (m.op === "kpis") value = set.kpis();
      else if (m.op === "schedule") value = set.worlds[0].formatSchedule();
      else if (m.op === "timing") value = set.enableTiming();
      else if (m.op === "times") value = set.systemTimes();
      else if (m.op === "save") value = set.save(m.configHash ?? null);
      else if (m.op === "load") value = ((u) => [set.tick, set.agents(), u])(set.load(m.blocks ?? [], m.configHash ?? null));
      else throw new Error(`unknown request "${m.op}"`);
      port.postMessage({ id: m.id, ok: true, value });
    } catch (e) {
      port.postMessage({ id: m.id, ok: false, error: errorOf(e) });
    }
  });
  port.postMessage({ ready: true, agents: set.agents() });
}

// Runs on import in a shard worker (its boot code imports this module; the namespace it gets back
// through tsx's loader in an eval'd worker may be empty, so nothing is called from outside).
if (!isMainThread && (workerData as Partial<WorkerInit> | undefined)?.shardWorker === true) void main();
