// Issue #19's sizing rules: a message buffer that a burst grew gives the room back once the
// burst is over (and never while the traffic fills it), the read views follow the new columns;
// the spatial index keeps a tile's head and object in one byte in towns of up to 15 members;
// agents take the low entity ids and every column is sized to its highest member.
import { describe, expect, it } from "vitest";
import { MessageChannel, PEAK_WINDOW, SHRINK_AFTER, defineMessage } from "../../engine/message.ts";
import { PHASES } from "../../engine/phases.ts";
import { SpatialIndex } from "../../components/grid.ts";
import { StateHasher } from "../../engine/hash.ts";
import { EntityIndex } from "../../engine/entities.ts";
import { AgentList } from "../../engine/agent-list.ts";
import { EmbeddingAllocator } from "../../systems/observations/embedding.ts";
import { EmbeddingAllocatorSection } from "../../systems/observations/config.ts";
import { parseConfigObject } from "../../engine/config/loader.ts";
import { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Needs } from "../../components/needs.ts";
import { SocialLedger } from "../../components/social.ts";
import { corePlugins } from "../../systems/index.ts";

const Ping = defineMessage("ping", { agent: "eid", amount: "float" });

/** One tick of a channel alone: `n` messages sent in the first phase. */
function tick(ch: MessageChannel, n: number, base = 0): void {
  ch.beginTick();
  ch.beginPhase(0);
  for (let i = 0; i < n; i++) ch.push([base + i, (base + i) / 2]);
  for (let q = 1; q < PHASES.length; q++) ch.beginPhase(q);
  ch.endTick();
}

describe("MessageChannel sizing", () => {
  it("gives back a burst's room once it has been quiet for SHRINK_AFTER ticks, keeping the messages in flight", () => {
    const ch = new MessageChannel(Ping);
    tick(ch, 100_000);
    const burst = ch.bytes();
    expect(burst).toBeGreaterThanOrEqual(100_000 * 2 * 8);
    for (let t = 0; t < SHRINK_AFTER; t++) tick(ch, 3, 1000 * t);
    expect(ch.bytes()).toBe(burst);
    tick(ch, 5, 7000);
    expect(ch.bytes()).toBeLessThanOrEqual(2 * 8 * 64);
    // The tick that shrank it still reads what was sent in it (the views follow the new columns).
    const v = ch.lastTick();
    expect(v.count).toBe(5);
    expect(Array.from(v.agent.subarray(v.start, v.end))).toEqual([7000, 7001, 7002, 7003, 7004]);
    expect(Array.from(v.amount.subarray(v.start, v.end))).toEqual([3500, 3500.5, 3501, 3501.5, 3502]);
  });

  it("keeps its columns (no allocation) while each tick's traffic fills them", () => {
    const ch = new MessageChannel(Ping);
    tick(ch, 500);
    tick(ch, 500);
    const cols = ch.cols;
    for (let t = 0; t < 4 * SHRINK_AFTER; t++) tick(ch, t % 2 === 0 ? 500 : 400);
    expect(ch.cols).toBe(cols);
  });

  it("does not shrink when a burst comes back before the quiet stretch is over", () => {
    const ch = new MessageChannel(Ping);
    tick(ch, 10_000);
    const cols = ch.cols;
    for (let round = 0; round < 3; round++) {
      for (let t = 0; t < SHRINK_AFTER - 2; t++) tick(ch, 2);
      tick(ch, 5000);
    }
    expect(ch.cols).toBe(cols);
  });

  it("keeps the room of a burst that comes back within PEAK_WINDOW ticks (a daily shift end), and gives it back once it stops", () => {
    const ch = new MessageChannel(Ping);
    for (let t = 0; t < SHRINK_AFTER; t++) tick(ch, 3);
    tick(ch, 10_000);
    const cols = ch.cols;
    // Three "days" of 500 quiet ticks between bursts: no shrink, so no regrowth either.
    for (let day = 0; day < 3; day++) {
      for (let t = 0; t < 500; t++) tick(ch, 3, 100 * t);
      tick(ch, 10_000);
    }
    expect(ch.cols).toBe(cols);
    // The bursts stop: within two windows the peak is forgotten and the room given back.
    for (let t = 0; t < 2 * PEAK_WINDOW + SHRINK_AFTER; t++) tick(ch, 3);
    expect(ch.bytes()).toBeLessThanOrEqual(2 * 8 * 64);
  });
});

describe("SpatialIndex tile packing", () => {
  /** The same moves on any index: 3 towns of 4x4, objects and agents placed, moved and removed. */
  const script = (ix: SpatialIndex, extra: number) => {
    let eid = 1;
    for (let town = 0; town < 3; town++) for (let k = 0; k < 5; k++) ix.placeObject(eid++, town, k % 4, (k * 3) % 4, k % 2);
    const agents: number[] = [];
    for (let town = 0; town < 3; town++) for (let k = 0; k < 8 + (town === 1 ? extra : 0); k++) {
      ix.place(eid, town, (k * 5) % 4, (k * 7) % 4);
      agents.push(eid++);
    }
    for (let i = 0; i < agents.length; i += 3) ix.place(agents[i], (i / 3) % 3, 3 - (i % 4), i % 4);
    for (let i = 1; i < agents.length; i += 5) ix.unplace(agents[i]);
    ix.removeObject(2, 1, 3, 1);
    return ix;
  };
  const view = (ix: SpatialIndex) => {
    const out: number[][] = [];
    for (let town = 0; town < 3; town++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
      const row = [ix.objectAt(town, x, y)];
      for (let a = ix.agentsAt(town, x, y); a !== 0; a = ix.next[a]) row.push(a);
      out.push(row);
    }
    return out;
  };
  const hash = (ix: SpatialIndex) => {
    const h = new StateHasher();
    ix.hash(h);
    return h.digest();
  };

  it("packs head and object in one byte per tile in towns of up to 15 members, and lists the same as two arrays", () => {
    const packed = script(new SpatialIndex(3, 4, 4, 3 * 13 + 1), 0);
    const wide = script(new SpatialIndex(3, 4, 4, 3 * 64), 0);
    expect(packed.packedTiles).toBe(true);
    expect(wide.packedTiles).toBe(false);
    expect(view(packed)).toEqual(view(wide));
    expect(hash(packed)).toBe(hash(wide));
    const heads = (ix: SpatialIndex) => (ix.save() as { tileHead: Int32Array }).tileHead;
    expect(heads(packed)).toEqual(heads(wide));
    // The member tables differ in size; the per-tile part is one byte a tile against two.
    const tiles = 3 * 16;
    expect(wide.tileBytes() - packed.tileBytes()).toBeGreaterThanOrEqual(tiles);
  });

  it("unpacks when a town needs a 16th slot, keeping every tile's agents and object", () => {
    const grown = script(new SpatialIndex(3, 4, 4, 3 * 13 + 1), 10);
    const wide = script(new SpatialIndex(3, 4, 4, 3 * 64), 10);
    expect(grown.packedTiles).toBe(false);
    expect(view(grown)).toEqual(view(wide));
    expect(hash(grown)).toBe(hash(wide));
  });

  it("restores a saved index into a packed one with the same lists", () => {
    const src = script(new SpatialIndex(3, 4, 4, 3 * 64), 0);
    const dst = new SpatialIndex(3, 4, 4, 3 * 13 + 1);
    dst.load(src.save());
    expect(dst.packedTiles).toBe(true);
    for (let town = 0; town < 3; town++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
      const a: number[] = [];
      const b: number[] = [];
      for (let e = src.agentsAt(town, x, y); e !== 0; e = src.next[e]) a.push(e);
      for (let e = dst.agentsAt(town, x, y); e !== 0; e = dst.next[e]) b.push(e);
      expect(b).toEqual(a);
    }
    expect(hash(dst)).toBe(hash(src));
  });
});

describe("agents' ids first", () => {
  it("hands agents the reserved ids in order and other entities the ids above, recycled ids first", () => {
    const ix = new EntityIndex(8);
    ix.reserve(4);
    expect([ix.add(false), ix.add(true), ix.add(false), ix.add(true)]).toEqual([5, 1, 6, 2]);
    ix.remove(1);
    expect(ix.add(false)).toBe(1); // a recycled id goes to whoever comes next, as before
    expect([ix.add(true), ix.add(true), ix.add(true)]).toEqual([3, 4, 7]); // reservation used up: above
    expect(ix.maxId).toBe(7);
    expect(Array.from(ix.dense).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("restores a saved index with reserved ids not yet handed out, and refuses inconsistent ones", () => {
    const ix = new EntityIndex();
    ix.reserve(10);
    for (let k = 0; k < 3; k++) ix.add(true);
    ix.add(false);
    ix.remove(2);
    const copy = new EntityIndex();
    copy.restore(ix.dense.slice(), ix.aliveCount, ix.maxId, [ix.reserveNext, ix.reserveEnd]);
    expect([copy.add(true), copy.add(true), copy.add(false)]).toEqual([ix.add(true), ix.add(true), ix.add(false)]);
    expect(() => new EntityIndex().restore([1, 2, 3], 3, 12, [4, 10])).toThrow(/3 ids saved for max id 12/);
    expect(() => new EntityIndex().restore([1, 2, 5, 11], 4, 11, [4, 10])).toThrow(/id 5 out of range .* or reserved/);
  });

  it("builds a world whose agents hold ids 1..agents, objects the ids above, each column sized to its highest member", () => {
    const settings = parseConfigObject({ config_id: "t", world: { towns: 40, agents_per_town: 6 } }, corePlugins);
    const w = new World({ settings, plugins: corePlugins });
    const agents = Array.from(w.agents);
    expect(agents).toEqual(Array.from({ length: 240 }, (_, i) => i + 1));
    expect(w.maxEntityId()).toBeGreaterThan(240);
    let expected = 0;
    let pooledOwn = 0;
    let narrowestPrefix = Infinity;
    let pooledColumns = 0;
    w.components.forEach((def, cols, has, base) => {
      let top = 0;
      for (let id = has.length - 1; id > 0 && top === 0; id--) if (has[id] === 1) top = id;
      expect([def.name, has.length]).toEqual([def.name, Math.max(16, top + 1)]);
      for (const f of def.fields) expect([def.name, f.name, cols[f.name].length]).toEqual([def.name, f.name, has.length]);
      expected += has.length;
      for (const f of def.fields) {
        const size = f.type.BYTES_PER_ELEMENT;
        expected += (has.length - base) * size;
        if (base > 0) pooledOwn += (has.length - base) * size;
        if (base > 0) narrowestPrefix = Math.min(narrowestPrefix, base * size);
        if (base > 0) pooledColumns++;
      }
    });
    // The store's bytes are that: no slack beyond each component's members, and the pooled
    // (objects') columns' rows from their lowest member up, plus once the rows below it of the
    // pool's first (narrowest) column and under 8 bytes of alignment per column (memory-pool.test.ts).
    expect(pooledOwn).toBeGreaterThan(0);
    const slack = w.components.poolBytes() - pooledOwn - narrowestPrefix;
    expect(slack).toBeGreaterThanOrEqual(0);
    expect(slack).toBeLessThan(8 * pooledColumns);
    expect(w.components.bytes()).toBe(expected + narrowestPrefix + slack);
    // Agent-only components end at the last agent; those of objects too (Town, Position) at the last entity.
    expect(w.columns(Needs).hunger.length).toBe(241);
    expect(w.columns(Town).id.length).toBe(w.maxEntityId() + 1);
    // A removed agent's id goes to the next agent, a later agent beyond the reservation above every id.
    w.removeEntity(7);
    expect(w.spawnAgent(0)).toBe(7);
    expect(w.spawnAgent(0)).toBe(w.maxEntityId());
  });
});

describe("SocialLedger edge pool", () => {
  it("doubles its pool up to a block per agent row, then grows by a quarter, keeping every edge", () => {
    const K = 3;
    const L = new SocialLedger(K, 6000);
    const sizes: number[] = [L.other.length / K];
    for (let eid = 1; eid <= 7000; eid++) {
      L.slot(eid, 100_000 + eid);
      if (L.other.length / K !== sizes[sizes.length - 1]) sizes.push(L.other.length / K);
    }
    // 1,024 first; doubling to 4,096, then the 6,000 rows (not 8,192); past them (the rows grew
    // to 7,500) the larger of a quarter more and the rows.
    expect(sizes).toEqual([1024, 2048, 4096, 6000, 7500]);
    const wrong: number[] = [];
    for (let eid = 1; eid <= 7000; eid++) if (L.other[L.base(eid)] !== 100_000 + eid) wrong.push(eid);
    expect(wrong).toEqual([]);
  });
});

describe("AgentList sizing", () => {
  it("sizes the list by the agents, not the entity ids, and grows it by a quarter when they outgrow it", () => {
    const list = new AgentList();
    const has = new Uint8Array(1001);
    for (let e = 1; e <= 100; e++) has[e] = 1; // agents 1..100, other entities up to 1000
    list.rebuild(1000, has);
    expect(list.agents().length).toBe(100);
    expect(list.agents().buffer.byteLength).toBe(100 * 4);
    for (let e = 101; e <= 110; e++) has[e] = 1;
    has[3] = 0;
    list.rebuild(1000, has);
    expect(Array.from(list.agents())).toEqual([1, 2, ...Array.from({ length: 107 }, (_, i) => i + 4)]);
    expect(list.agents().buffer.byteLength).toBe(125 * 4);
    expect(Array.from(list.spans())).toEqual([1, 3, 4, 111]);
  });
});

describe("SpatialIndex slot numbers", () => {
  it("keeps each entity's slot in one byte while towns have up to 128 slots, and widens it with the towns' tables", () => {
    const ix = new SpatialIndex(2, 20, 20, 2 * 13 + 1);
    const before = ix.tileBytes();
    // Packed tiles (1 byte each), 16 slots per town (Int32 entities), top and free heads, 27 one-byte slots.
    expect(before).toBe(2 * 400 + 2 * 16 * 4 + 2 * 4 + 2 * 4 + 27);
    // 300 agents in town 0: its table doubles past 128 slots and past 256; lists stay right.
    for (let e = 1; e <= 300; e++) ix.place(e, 0, e % 20, (e * 7) % 20);
    for (let e = 301; e <= 305; e++) ix.place(e, 1, 0, 0);
    expect(ix.tileBytes()).toBeGreaterThan(before);
    const seen = new Set<number>();
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) for (let a = ix.agentsAt(0, x, y); a !== 0; a = ix.next[a]) {
      expect([a % 20, (a * 7) % 20]).toEqual([x, y]);
      seen.add(a);
    }
    expect(seen.size).toBe(300);
    const town1: number[] = [];
    for (let a = ix.agentsAt(1, 0, 0); a !== 0; a = ix.next[a]) town1.push(a);
    expect(town1).toEqual([305, 304, 303, 302, 301]);
    for (let e = 1; e <= 300; e += 2) ix.unplace(e);
    let left = 0;
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) for (let a = ix.agentsAt(0, x, y); a !== 0; a = ix.next[a]) left++;
    expect(left).toBe(150);
  });
});

describe("column types hold their whole range", () => {
  it("an embedding slot (Int16) holds the largest slot the config allows, and the config refuses one more", () => {
    expect(EmbeddingAllocatorSection.safeParse({ max_slots: 257 }).success).toBe(false);
    const cfg = EmbeddingAllocatorSection.parse({ max_slots: 256, cooldown_ticks: 0 });
    const alloc = new EmbeddingAllocator(cfg, 16);
    const slots: number[] = [];
    for (let e = 1; e <= 257; e++) slots.push(alloc.allocate(e, e, 0));
    expect(slots[255]).toBe(255);
    expect(alloc.slotOf[256]).toBe(255);
    expect(alloc.slotOf[257]).toBe(slots[256]); // the 257th agent shares a slot (no slot left)
  });
});
