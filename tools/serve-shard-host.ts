// The host of a sharded world served by `townlet serve` (tools/serve-shards.ts): the run host's
// plug-ins and policies (tools/shard-host.ts), plus an extension for each thread's blocks. Each
// block publishes its own telemetry in its own thread (a snapshot, then one diff per tick, named
// globally: tools/serve-shard-ids.ts); the payloads go back with the step's reply and the main
// thread merges them (tools/serve-shard-stream.ts). Console commands the main thread routed to a
// block are queued in that block's console and answered when they are applied. For the release of
// the main thread's network (tools/shard-release.ts) each block reports its promotion gate, and
// block 0 sends the world's policy_promoted / policy_rolled_back event. Worker threads import this
// module by its URL (SERVE_SHARD_HOST_MODULE).
import type { LoadedConfig } from "../engine/config/loader.ts";
import type { BlockPlan, BlockSet } from "../engine/shard-blocks.ts";
import type { ShardSnapshot } from "../engine/shard-snapshot.ts";
import type { ShardExtension, ShardHost } from "../engine/shards.ts";
import type { ConsoleService, Principal, Via } from "../systems/console/index.ts";
import { PersistenceKey } from "../systems/persistence/index.ts";
import { PolicyPromoted, PolicyRolledBack } from "../systems/policy/release.ts";
import { StabilityKey, type PromotionStatus } from "../components/stability.ts";
import type { Published as PublishedPayload, TelemetryPublisher } from "../systems/telemetry/index.ts";
import { bindSystems } from "./serve-bind.ts";
import { corePlugins, prepareBlock } from "./shard-host.ts";
import { frameOf, payloadToGlobal, toGlobal, type BlockFrame } from "./serve-shard-ids.ts";

export { corePlugins, prepareBlock };

/**
 * The sharded world a server drives, whoever decides: engine/shards.ts ShardedSim (each block
 * runs its own scripted or random policy) or tools/shard-neural.ts ShardedInference (one neural
 * batch per tick on the main thread). Both run this host's extension in every thread.
 */
export interface ServedBlocks {
  readonly config: LoadedConfig;
  readonly plans: readonly BlockPlan[];
  readonly tick: number;
  /** Live agents after the last tick. */
  readonly agents: number;
  readonly blocks: number;
  readonly towns: number;
  readonly seed: number;
  readonly workers: number;
  readonly requestedWorkers: number;
  /** What each block's extension reported after the last step, in block order. */
  readonly extras: unknown[];
  readonly stoppedBy: Error | undefined;
  /** Compute the state hash after every step (lastHash). */
  hashEveryTick: boolean;
  readonly lastHash: string | undefined;
  step(): Promise<unknown>;
  ext(op: string, payload: unknown, block?: number): Promise<unknown[]>;
  stateHash(): Promise<string>;
  snapshot(): Promise<ShardSnapshot>;
  restore(s: ShardSnapshot, path?: string): Promise<{ upgraded: boolean }>;
  close(): Promise<void>;
}

/** What the main thread asks a thread's blocks (ServedBlocks.ext). */
export type ServeRequest =
  | { op: "init"; configHash: string | null; worldTowns: number; mode: "full" | "aggregate" }
  | { op: "command"; block: number; name: string; args: unknown; principal: Principal; via: Via }
  | { op: "flush"; force: boolean }
  | { op: "watch"; block: number; ids: string[]; on: boolean }
  | { op: "watchTowns"; block: number; towns: number[]; on: boolean }
  | { op: "mode"; mode: "full" | "aggregate" }
  /** Each block's promotion gate (its stability monitor's; null without one), between ticks. */
  | { op: "gate" }
  /** The release's event, sent in `block`'s world between ticks (as a one-block world's release sends it): seen from the next tick. */
  | { op: "releaseEvent"; block: number; event: "promoted" | "rolled_back"; seq: number; checkpoint: string; policy_hash: string; previous_checkpoint: string; previous_hash: string; flag: number };

/** What `gate` answers: the thread's blocks and each one's promotion gate. */
export interface BlockGates {
  blocks: number[];
  gates: (PromotionStatus | null)[];
}

/** What a request that may publish answers: the thread's blocks and what each published since the last report. */
export interface Published {
  blocks: number[];
  payloads: BlockPayloads[];
}

/** Payloads each block published since the last report (usually one diff), named globally. */
export type BlockPayloads = PublishedPayload["payload"][];

/**
 * The block publisher's mode as the main thread decided it over the whole world: full (every
 * agent), or aggregate (sections and the watched agents and towns) whenever the block has more
 * than one live agent (a block of one agent publishes it; the main thread filters per client).
 */
function setMode(pub: TelemetryPublisher, mode: "full" | "aggregate"): void {
  (pub.cfg.stream as { aggregate_above_agents: number }).aggregate_above_agents = mode === "full" ? 0 : 1;
}

interface Served {
  svc: ConsoleService;
  pub: TelemetryPublisher;
  frame: BlockFrame;
  out: BlockPayloads;
  /** The publisher's eventsDropped already sent with a payload. */
  droppedSent: number;
}

/** The extension of one thread's blocks. */
export function extend(set: BlockSet): ShardExtension {
  let served: Served[] | undefined;
  let routed = 0;
  const take = () => (served ?? []).map((s) => s.out.splice(0, s.out.length));
  const published = (): Published => ({ blocks: set.plans.map((p) => p.index), payloads: take() });
  const block = (b: number) => {
    const i = set.plans.findIndex((p) => p.index === b);
    if (i < 0 || !served) throw new Error(`serve extension: block ${b} is not on this thread`);
    return served[i];
  };
  return {
    afterStep: () => take(),
    call(op: string, payload: unknown): unknown {
      const r = payload as ServeRequest;
      if (op === "init" && r.op === "init") {
        served = set.worlds.map((w, i) => {
          const { console: svc, publisher: pub } = bindSystems(w, { configHash: r.configHash });
          const persistence = w.optionalResource(PersistenceKey);
          if (persistence) persistence.configHash = r.configHash;
          pub.townOverview = true;
          // The main thread decides the mode over the whole world (tools/serve-shard-stream.ts).
          setMode(pub, r.mode);
          const s: Served = { svc, pub, frame: frameOf(set.plans[i], r.worldTowns), out: [], droppedSent: 0 };
          pub.addSink({
            deliver: (p) => {
              const g = payloadToGlobal(p.payload, s.frame);
              // Events this block left out (stream.max_events_per_tick) since its last payload: the
              // main thread counts them for /metrics (a block's payload never carries them otherwise).
              const d = pub.eventsDropped - s.droppedSent;
              if (d > 0) {
                g.dropped = { events: d, payloads: 0 };
                s.droppedSent = pub.eventsDropped;
              }
              s.out.push(g);
            },
          });
          return s;
        });
        return published();
      }
      if (op === "gate" && r.op === "gate") {
        return { blocks: set.plans.map((p) => p.index), gates: set.worlds.map((w) => w.optionalResource(StabilityKey)?.promotion() ?? null) } satisfies BlockGates;
      }
      if (op === "releaseEvent" && r.op === "releaseEvent") {
        const i = set.plans.findIndex((p) => p.index === r.block);
        if (i < 0) throw new Error(`serve extension: block ${r.block} is not on this thread`);
        const w = set.worlds[i];
        const msg = r.event === "promoted" ? PolicyPromoted : PolicyRolledBack;
        w.send(msg, r.seq, w.intern(r.checkpoint), w.intern(r.policy_hash), w.intern(r.previous_checkpoint), w.intern(r.previous_hash), r.flag);
        return null;
      }
      if (!served) throw new Error(`serve extension: "${op}" before "init"`);
      if (op === "command" && r.op === "command") {
        const i = set.plans.findIndex((p) => p.index === r.block);
        if (i < 0) throw new Error(`serve extension: block ${r.block} is not on this thread`);
        // Checked already by the main thread's console (role, arguments, cmd_id); this block's
        // console checks again, applies it in its next tick (or flush) and answers.
        const frame = served[i].frame;
        return served[i].svc.submit({ name: r.name, args: r.args, cmd_id: `routed-${++routed}` }, r.principal, r.via, "townlet-serve-router").then((res) => toGlobal(res, frame));
      }
      if (op === "watch" && r.op === "watch") {
        // Clients' subscriptions: aggregate mode publishes these agents (at once, so that a
        // subscriber sees them without waiting for a tick); reward_breakdown follows them in either mode.
        const s = block(r.block);
        if (r.on) s.pub.watch(r.ids);
        else s.pub.unwatch(r.ids);
        if (r.on && s.pub.mode === "aggregate") s.pub.publishNow();
        return published();
      }
      if (op === "watchTowns" && r.op === "watchTowns") {
        const s = block(r.block);
        if (r.on) s.pub.watchTowns(r.towns);
        else s.pub.unwatchTowns(r.towns);
        if (r.on && s.pub.mode === "aggregate") s.pub.publishNow();
        return published();
      }
      if (op === "mode" && r.op === "mode") {
        // Takes effect at the blocks' next publish (a snapshot: the mode changed).
        for (const s of served) setMode(s.pub, r.mode);
        return null;
      }
      if (op === "flush" && r.op === "flush") {
        // Between ticks (a paused loop, a boundary command): queued commands apply now.
        for (const s of served) if (s.svc.drain("all") > 0 || r.force) s.pub.publishNow();
        return published();
      }
      throw new Error(`serve extension: unknown request "${op}"`);
    },
  };
}

export const SERVE_SHARD_HOST: ShardHost = { corePlugins, prepareBlock, extend };
/** This module's URL for worker threads (as SHARD_HOST_MODULE: the compiled file from the CLI bundle). */
export const SERVE_SHARD_HOST_MODULE = /\/tools\/serve-shard-host\.[mc]?[jt]s$/.test(import.meta.url) ? import.meta.url : new URL("../tools/serve-shard-host.js", import.meta.url).href;
