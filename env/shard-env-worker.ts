// A worker thread of the sharded batch env (env/sharded.ts): builds its blocks' envs from the
// config (the same inputs as the main thread, so the same worlds), then answers reset/step one
// at a time. Actions arrive in SharedArrayBuffers (one per block, written by the main thread);
// each block's arrays go into a SharedArrayBuffer of its own (replaced by a larger one, sent with
// the reply, when its rows outgrow it). Per request one message back on the port, then the
// worker's control word is set and notified: the main thread waits on it (Atomics.wait) and
// takes the message with receiveMessageOnPort, so the bridge stays synchronous.
import { isMainThread, workerData, type MessagePort } from "node:worker_threads";
import { loadConfig } from "../engine/config/loader.ts";
import { ShardError, planBlocks, shardsOf } from "../engine/shard-blocks.ts";
import { corePlugins } from "../systems/index.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { BlockEnvs, type BlockMeta } from "./shard-blocks-env.ts";
import { blockViews, blockBytes, type EnvWorkerInit, type WorkerReply, type WorkerRequest } from "./shard-groups.ts";

function errorOf(e: unknown): Extract<WorkerReply, { ok: false }>["error"] {
  if (e instanceof ShardError) return { name: e.name, message: e.message, block: e.block, towns: [e.towns[0], e.towns[1]], tick: e.tick };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: "Error", message: String(e) };
}

async function main(): Promise<void> {
  const init = workerData as EnvWorkerInit;
  const port: MessagePort = init.port;
  const ctrl = new Int32Array(init.envCtrl);
  const reply = (m: WorkerReply) => {
    port.postMessage(m);
    Atomics.store(ctrl, init.slot, 1);
    Atomics.notify(ctrl, init.slot);
  };
  process.on("uncaughtException", (e) => reply({ ok: false, error: errorOf(e) }));
  // A worker that ends (process.exit in a plug-in, a V8 heap limit, terminate()) is reported by
  // the supervisor thread that started it (env/shard-groups.ts): no exit handler here, since a
  // worker stopped by V8 or terminate() never runs one.
  let set: BlockEnvs;
  try {
    const plugins = await resolvePlugins(corePlugins, init.configFile, init.pluginSpecs);
    const config = loadConfig(init.configFile, plugins, { overrides: init.overrides });
    const s = config.settings;
    const plans = planBlocks(s.world.towns, shardsOf(s), s.seed);
    set = new BlockEnvs(
      init.blocks.map((b) => plans[b]),
      config,
      plugins,
      init.maxCycles,
    );
    set.heartbeat = new Int32Array(init.envCtrl, 4 * init.progress, 1);
  } catch (e) {
    reply({ ok: false, error: errorOf(e) });
    return;
  }
  const env0 = set.envs[0];
  const D = env0.observationSize;
  const A = env0.actionCount;
  const caps = set.envs.map(() => 0);
  const outs: (SharedArrayBuffer | undefined)[] = set.envs.map(() => undefined);
  let actionBufs: Int32Array[] = set.envs.map(() => new Int32Array(0));

  /** Copies each block's last result into its shared buffer; returns the buffers that were replaced. */
  const publish = (metas: BlockMeta[]): (SharedArrayBuffer | null)[] => {
    const fresh: (SharedArrayBuffer | null)[] = [];
    for (let i = 0; i < metas.length; i++) {
      const n = metas[i].count;
      let sent: SharedArrayBuffer | null = null;
      if (n > caps[i] || outs[i] === undefined) {
        caps[i] = Math.max(16, n * 2);
        outs[i] = new SharedArrayBuffer(blockBytes(caps[i], D, A));
        sent = outs[i]!;
      }
      const v = blockViews(outs[i]!, caps[i], D, A);
      const r = set.results[i];
      v.agents.set(r.agents);
      v.uids.set(r.uids);
      v.rewards.set(r.rewards);
      v.obs.set(r.obs);
      v.masks.set(r.masks);
      v.terminated.set(r.terminated);
      v.truncated.set(r.truncated);
      v.taken.set(r.taken);
      v.invalid.set(r.invalid);
      fresh.push(sent);
    }
    return fresh;
  };

  port.on("message", (m: WorkerRequest) => {
    try {
      if (m.op === "reset") {
        const metas = set.reset(m.seed);
        reply({ ok: true, metas, sabs: publish(metas) });
      } else if (m.op === "step") {
        if (m.actions) actionBufs = m.actions.map((b) => new Int32Array(b));
        const metas = set.step(m.counts.map((c, i) => actionBufs[i].subarray(0, c)));
        reply({ ok: true, metas, sabs: publish(metas) });
      } else {
        throw new Error(`unknown request ${JSON.stringify((m as { op: unknown }).op)}`);
      }
    } catch (e) {
      reply({ ok: false, error: errorOf(e) });
    }
  });
  reply({ ok: true, metas: [], sabs: [], spaces: { D, A, features: env0.featureCount, map: [...env0.mapShape], agents: set.envs.reduce((k, e) => k + e.world.agents.length, 0) } });
}

// Runs on import in an env shard worker (its boot code imports this module through tsx's loader).
if (!isMainThread && (workerData as Partial<EnvWorkerInit> | undefined)?.shardEnvWorker === true) void main();
