// A worker thread of a sharded training world (training/sharded-rollout.ts): builds its blocks
// from the config (the same inputs as the main thread, so the same worlds) into PolicyBlocks,
// reports ready with its shared buffers, then answers one request at a time (decide, advance,
// reset, final, kpis, hashes, and `ext`: requests to a tool's extension of the blocks, e.g. townlet
// serve's telemetry and console, when its host module was given). Per request one small message back: counts, a few numbers per
// block, and a buffer only when one grew. A block's error goes back with its block, towns and
// tick (ShardError); an error outside a request reaches the main thread as the worker's 'error'.
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import type { ShardHost } from "../engine/shards.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { callExtension, EXT_PENDING, ShardError, loadShardedConfig, planBlocks, shardsOf } from "../engine/shard-blocks.ts";
import { corePlugins } from "../systems/index.ts";
import { PolicyBlocks, type BlockMode } from "./sharded-blocks.ts";
import { RowChain } from "./sharded-batch.ts";
import type { PolicyWorkerInit, PolicyWorkerRequest } from "./sharded-groups.ts";

export function errorOf(e: unknown): { name: string; message: string; reason?: string; block?: number; towns?: [number, number]; tick?: number } {
  if (e instanceof ShardError) return { name: e.name, message: e.message, reason: e.reason, block: e.block, towns: [e.towns[0], e.towns[1]], tick: e.tick };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: "Error", message: String(e) };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as PolicyWorkerInit;
  let set: PolicyBlocks;
  try {
    const plugins = await resolvePlugins(corePlugins, init.configFile, init.pluginSpecs);
    const config = loadShardedConfig(init.configFile, plugins, init.build);
    const s = config.settings;
    const plans = planBlocks(s.world.towns, shardsOf(s), s.seed);
    set = new PolicyBlocks(
      init.blocks.map((b) => plans[b]),
      s,
      plugins,
      plans.length,
    );
    if (init.hostModule) {
      const host = (await import(init.hostModule.startsWith("file:") ? init.hostModule : pathToFileURL(init.hostModule).href)) as ShardHost;
      set.extendWith(host.extend ? (b) => host.extend!(b) : undefined);
    }
    if (init.beat) set.set.heartbeat = new Int32Array(init.beat);
    set.chain = new RowChain(init.chain, init.thread);
  } catch (e) {
    port.postMessage({ id: 0, ok: false, error: errorOf(e) });
    return;
  }
  port.on("message", (m: PolicyWorkerRequest) => {
    try {
      let value: unknown;
      if (m.op === "ext") {
        if (!set.ext) throw new Error(`the blocks have no extension for "${m.name}"`);
        const v = callExtension(port, m.id, set.ext, m.name, m.payload, errorOf);
        if (v === EXT_PENDING) return;
        value = v;
      } else if (m.op === "decide") {
        set.useBatch(m.batch);
        set.setMode(m.mode as BlockMode, m.ratio);
        value = set.decide(m.seq);
      } else if (m.op === "advance") {
        set.useBatch(m.batch);
        value = set.advance(m.conflict, m.hashes, m.next);
      } else if (m.op === "reset") value = set.reset(m.seed);
      else if (m.op === "final") {
        set.useBatch(m.batch);
        value = set.final(m.at);
      }
      else if (m.op === "kpis") value = set.set.kpis();
      else if (m.op === "hashes") value = set.set.hashes();
      else if (m.op === "save") value = set.set.save(m.configHash);
      else if (m.op === "load") value = set.load(m.blocks, m.configHash);
      else throw new Error(`unknown request "${(m as { op: string }).op}"`);
      port.postMessage({ id: m.id, ok: true, value });
    } catch (e) {
      port.postMessage({ id: m.id, ok: false, error: errorOf(e) });
    }
  });
  port.postMessage({ id: 0, ok: true, value: { sabs: set.sabs, live: set.worlds.map((w) => w.agents.length), tick: set.set.tick } });
}

// Runs on import in a training shard worker (its boot code imports this module through tsx's loader).
if (!isMainThread && (workerData as Partial<PolicyWorkerInit> | undefined)?.policyShardWorker === true) void main();
