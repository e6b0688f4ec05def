// A sharded world's merged telemetry (tools/serve-shard-stream.ts) publishes the keys the generic
// merge got wrong by the one-block rules (tools/serve-shard-exact.ts): economy.towns and
// towns_listed under stream.max_towns_listed, the economy's mean price multiplier over towns,
// aggregates.by_town, employment.daily_exit_cap (the config's, not a sum), and narrations
// rate-limited once over the merged events. Each block here is a small world of its own whose
// payloads are named globally as a served block's are; the one-block world has the same towns.
import { describe, expect, it } from "vitest";
import { TownEconomy } from "../../components/economy.ts";
import { ExitReason, Lifecycle } from "../../components/people.ts";
import type { World } from "../../engine/world.ts";
import { NarrationLimiter, narrate, DEFAULT_NARRATORS } from "../../systems/telemetry/narration.ts";
import type { SnapshotPayloadT, TelemetryPayloadT, TelemetryPublisher } from "../../systems/telemetry/index.ts";
import { TelemetrySection } from "../../systems/telemetry/config.ts";
import { ShardStream } from "../../tools/serve-shard-stream.ts";
import { ExactMerge } from "../../tools/serve-shard-exact.ts";
import { mergeValues } from "../../engine/shard-blocks.ts";
import { payloadToGlobal, type BlockFrame } from "../../tools/serve-shard-ids.ts";
import type { BlockPayloads } from "../../tools/serve-shard-host.ts";
import { makeWorld } from "../helpers/world.ts";

const pubOf = (w: World) => w.state<TelemetryPublisher>("telemetry");
type Over = Record<string, unknown>;

/** Blocks of `towns[b]` towns (agents per town `agents[b]`), a stream merging them, and what it published. */
function sharded(over: Over, towns: number[], agents: number[], setup: (worlds: World[]) => void = () => {}) {
  const worldTowns = towns.reduce((a, b) => a + b, 0);
  const cfg = TelemetrySection.parse((over.telemetry as Over | undefined) ?? {});
  const frames: BlockFrame[] = [];
  const worlds = towns.map((n, b) => {
    frames.push({ block: b, offset: towns.slice(0, b).reduce((a, x) => a + x, 0), towns: n, worldTowns });
    return makeWorld({ ...over, world: { towns: n, agents_per_town: agents[b], grid_size: [12, 12] } });
  });
  setup(worlds);
  const out: BlockPayloads[] = worlds.map(() => []);
  worlds.forEach((w, b) => pubOf(w).addSink({ deliver: (p) => out[b].push(payloadToGlobal(p.payload, frames[b])) }));
  const stream = new ShardStream(cfg, "test", worlds.length, worldTowns, frames);
  const got: TelemetryPayloadT[] = [];
  const take = () => out.map((o) => o.splice(0, o.length));
  stream.ingest(take(), 0);
  stream.addSink({ deliver: (p) => void got.push(p.payload as TelemetryPayloadT) });
  const step = () => {
    for (const w of worlds) w.step();
    stream.ingest(take(), worlds[0].tick);
  };
  return { worlds, stream, got, step, frames };
}

const oneBlock = (over: Over, towns: number) => makeWorld({ ...over, world: { towns, agents_per_town: 2, grid_size: [12, 12] } });

describe("a sharded world's merged telemetry follows the one-block rules", () => {
  it("lists the world's towns off baseline beyond max_towns_listed, once over the joined list, with the mean over towns", () => {
    const over = { telemetry: { stream: { max_towns_listed: 3 } } };
    const one = oneBlock(over, 4);
    const E1 = one.townColumns(TownEconomy);
    E1.price_multiplier[1] = 2;
    E1.power[3] = 0;
    // Blocks of 3 and 1 towns, each listing all of its towns (3 <= max_towns_listed), unequal live agents.
    const s = sharded(over, [3, 1], [2, 6], ([a, b]) => {
      a.townColumns(TownEconomy).price_multiplier[1] = 2;
      b.townColumns(TownEconomy).power[0] = 0;
    });
    const want = pubOf(one).snapshot("request");
    const merged = s.stream.snapshot("request") as SnapshotPayloadT;
    expect(want.economy.towns_listed).toBe("off_baseline");
    expect(merged.economy).toEqual(want.economy);
    expect(merged.economy.towns.map((t) => t.town)).toEqual([1, 3]);
    expect(merged.economy.summary.price_multiplier_mean).toBe(1.25);
    expect(merged.kpis.price_multiplier_mean).toBe(want.kpis.price_multiplier_mean);
    expect(want.kpis.price_multiplier_mean).toBe(1.25);
    expect(want.aggregates.by_town).toBeUndefined();
    expect(merged.aggregates.by_town).toBeUndefined();
  });

  it("lists every town and agents per town when the world has at most max_towns_listed towns", () => {
    const over = { telemetry: { stream: { max_towns_listed: 4 } } };
    const s = sharded(over, [2, 2], [2, 2]);
    const merged = s.stream.snapshot("request") as SnapshotPayloadT;
    expect(merged.economy.towns_listed).toBe("all");
    expect(merged.economy.towns.map((t) => t.town)).toEqual([0, 1, 2, 3]);
    expect(merged.aggregates.by_town).toEqual([2, 2, 2, 2]);
  });

  it("publishes the config's daily_exit_cap, not the sum over blocks", () => {
    const over = { employment: { daily_exit_cap: 2 } };
    const want = pubOf(oneBlock(over, 3)).snapshot("request");
    const s = sharded(over, [1, 1, 1], [2, 2, 2]);
    const merged = s.stream.snapshot("request") as SnapshotPayloadT;
    expect(want.employment.daily_exit_cap).toBe(2);
    expect(merged.employment.daily_exit_cap).toBe(2);
  });

  it("rate-limits narrations once over the merged events, blocks in order", () => {
    const over = { rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } }, telemetry: { narration: { global_cooldown_ticks: 30 } } };
    const s = sharded(over, [1, 1], [3, 3]);
    s.step();
    // One agent leaves in each block in the same tick: a one-block world narrates the first only (cooldown).
    for (const w of s.worlds) w.columns(Lifecycle).exit_reason[w.agents[0]] = ExitReason.Console;
    s.step();
    const d = s.got.at(-1)!;
    const exits = d.events.filter((e) => e.event === "agent_exit");
    expect(exits).toHaveLength(2);
    const limiter = new NarrationLimiter(TelemetrySection.parse(over.telemetry).narration);
    const want = [s.got.slice(0, -1), [d]].flatMap((ps) => ps.map((p) => narrate(p.tick, p.events, DEFAULT_NARRATORS, limiter))).at(-1)!;
    expect(d.narrations).toEqual(want);
    expect(d.narrations.filter((n) => n.category === "lifecycle")).toHaveLength(1);
    expect(d.narrations[0].data.agent_id).toBe(exits[0].agent);
  });

  describe("figures pooled from the blocks' samples (two blocks' sections as mergeValues merges them, then ExactMerge)", () => {
    const exact = () => new ExactMerge(TelemetrySection.parse({}), 4);
    it("pools the stability monitor's reward variance and weights its rates by their samples, alerts once in order", () => {
      // Block 0: 2 samples of 0 and 2 (mean 1, variance 1); block 1: 6 samples of 4 (mean 4, variance 0).
      const b0 = { metrics: { option_switch_rate: 0.5, option_samples: 2, reward_mean: 1, reward_variance: 1, reward_samples: 2, alerts: ["lateness_spike"] }, alerts: ["lateness_spike"] };
      const b1 = { metrics: { option_switch_rate: 0.1, option_samples: 8, reward_mean: 4, reward_variance: 0, reward_samples: 6, alerts: ["rivalry_spike", "lateness_spike"] }, alerts: ["rivalry_spike", "lateness_spike"] };
      const m = exact().section("stability", mergeValues([b0, b1], [1, 1]), [b0, b1], [2, 2], [1, 1]) as typeof b0;
      const xs = [0, 2, 4, 4, 4, 4, 4, 4];
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(m.metrics.reward_mean).toBeCloseTo(mean, 12);
      expect(m.metrics.reward_variance).toBeCloseTo(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length, 12);
      expect(m.metrics.option_switch_rate).toBeCloseTo((0.5 * 2 + 0.1 * 8) / 10, 12);
      expect(m.metrics.alerts).toEqual(["rivalry_spike", "lateness_spike"]);
      expect(m.alerts).toEqual(["rivalry_spike", "lateness_spike"]);
    });

    it("takes the embedding reuse rate from the summed counts, its warning as 0 or 1, rivalry.max_mean over live agents", () => {
      const e0 = { allocations_total: 10, forced_reuse_count: 5, forced_reuse_rate: 0.5, reuse_warning: 1 };
      const e1 = { allocations_total: 30, forced_reuse_count: 3, forced_reuse_rate: 0.1, reuse_warning: 1 };
      const em = exact().section("embedding_metrics", mergeValues([e0, e1], [2, 6]), [e0, e1], [2, 2], [2, 6]) as typeof e0;
      expect(em.forced_reuse_rate).toBeCloseTo(8 / 40, 12);
      expect(em.reuse_warning).toBe(1);
      const k0 = { alive_agents: 2, rivalry: { max_mean: 0.8 }, stability: { alerts: [], pass_streak: 3, candidate_ready: true } };
      const k1 = { alive_agents: 6, rivalry: { max_mean: 0.4 }, stability: { alerts: [], pass_streak: 1, candidate_ready: false } };
      const km = exact().section("kpis", mergeValues([k0, k1], [2, 6]), [k0, k1], [2, 2], [2, 6]) as typeof k0;
      expect(km.rivalry.max_mean).toBeCloseTo((0.8 * 2 + 0.4 * 6) / 8, 12);
      expect(km.stability).toEqual({ alerts: [], pass_streak: 1, candidate_ready: false });
    });
  });
});
