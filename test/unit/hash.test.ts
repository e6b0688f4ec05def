// StateHasher and world.stateHash: equal inputs give equal digests, any change shows.
import { describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { defineComponent, type Column } from "../../engine/component.ts";
import { parseConfigObject } from "../../engine/config/loader.ts";
import { StateHasher } from "../../engine/hash.ts";
import { defineMessage } from "../../engine/message.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { CORE_STREAMS } from "../../engine/rng.ts";
import { pluginStreamName, World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";

const words = [0, 1, 0xdeadbeef, 0x7fffffff, 42, 0xffffffff];
const digestOf = (ws: number[]) => ws.reduce((h, w) => h.u32(w), new StateHasher()).digest();

describe("StateHasher", () => {
  it("gives the same 16-hex-digit digest for the same input", () => {
    const d = digestOf(words);
    expect(d).toMatch(/^[0-9a-f]{16}$/);
    expect(digestOf(words)).toBe(d);
    expect(new StateHasher().digest()).toMatch(/^[0-9a-f]{16}$/);
    const mixed = () => new StateHasher().u32(7).f64(Math.PI).f32(0.1).str("needs").digest();
    expect(mixed()).toBe(mixed());
  });

  it("changes when any one bit of any word flips", () => {
    const base = digestOf(words);
    for (let at = 0; at < words.length; at++) {
      for (let bit = 0; bit < 32; bit++) {
        const flipped = [...words];
        flipped[at] = (flipped[at] ^ (1 << bit)) >>> 0;
        expect(digestOf(flipped), `word ${at} bit ${bit}`).not.toBe(base);
      }
    }
  });

  it("changes when any one bit of a double flips, sign of zero included", () => {
    const buf = new Float64Array(1);
    const bits = new Uint32Array(buf.buffer);
    const x = 0.1234567;
    const base = new StateHasher().f64(x).digest();
    for (let bit = 0; bit < 64; bit++) {
      buf[0] = x;
      bits[bit >> 5] ^= 1 << (bit & 31);
      expect(new StateHasher().f64(buf[0]).digest(), `bit ${bit}`).not.toBe(base);
    }
    expect(new StateHasher().f64(0).digest()).not.toBe(new StateHasher().f64(-0).digest());
  });

  it("depends on order, length and string boundaries", () => {
    expect(digestOf([1, 2])).not.toBe(digestOf([2, 1]));
    expect(digestOf([0])).not.toBe(digestOf([0, 0]));
    expect(new StateHasher().str("ab").str("c").digest()).not.toBe(new StateHasher().str("a").str("bc").digest());
    expect(new StateHasher().f32(0.1).digest()).not.toBe(new StateHasher().f32(0.1000001).digest());
  });
});

describe("world.stateHash", () => {
  const Probe = defineComponent("Probe", {
    f32: Float32Array,
    f64: Float64Array,
    i8: Int8Array,
    u8: Uint8Array,
    i16: Int16Array,
    u16: Uint16Array,
    i32: Int32Array,
    u32: Uint32Array,
  });
  const Poked = defineMessage("poked", { agent: "eid" });
  const probe = definePlugin({
    name: "probe",
    messages: [Poked],
    components: { Probe },
    townState: { Stock: { meals: Uint16Array, price: Float32Array } },
    onAgentSpawn: ({ world }, eid) => world.addComponent(eid, Probe, { f32: 0.5, f64: 0.25, i8: -3, u8: 3, i16: -300, u16: 300, i32: -70000, u32: 70000 }),
  });

  function world(agents = 3): World {
    const plugins = [...corePlugins, probe];
    const settings = parseConfigObject({ config_id: "t", world: { towns: 2, agents_per_town: agents } }, plugins);
    return new World({ settings, plugins });
  }

  /** Changes a column value to a different one of the same type, however small the step. */
  function nudge(col: Column, id: number): void {
    if (col instanceof Float32Array) col[id] = Math.fround(col[id] + 2 ** -20);
    else if (col instanceof Float64Array) col[id] = col[id] + 2 ** -50;
    else col[id] = col[id] === 1 ? 2 : 1;
  }

  it("is the same for two fresh worlds of one config, and repeatable", () => {
    const a = world();
    expect(a.stateHash()).toBe(world().stateHash());
    expect(a.stateHash()).toBe(a.stateHash());
  });

  it("changes when any single value of any component an entity has changes, and returns when restored", () => {
    const w = world();
    const base = w.stateHash();
    let checked = 0;
    w.components.forEach((def, cols, has) => {
      for (const f of def.fields) {
        for (let eid = 1; eid <= w.maxEntityId(); eid++) {
          if (has[eid] !== 1) continue;
          const col = cols[f.name];
          const old = col[eid];
          nudge(col, eid);
          expect(w.stateHash(), `${def.name}.${f.name}[${eid}]`).not.toBe(base);
          col[eid] = old;
          checked++;
        }
      }
    });
    expect(w.stateHash()).toBe(base);
    expect(checked).toBeGreaterThanOrEqual(6 * (2 + 8)); // Town, Agent and 8 Probe fields per agent
  });

  it("changes when a single need of a single agent changes", () => {
    const w = world();
    const base = w.stateHash();
    const hunger = w.columns(Needs).hunger;
    hunger[w.agents[0]] = Math.fround(hunger[w.agents[0]] - 0.125);
    expect(w.stateHash()).not.toBe(base);
  });

  it("changes when any single value of per-town state changes", () => {
    const w = world();
    const base = w.stateHash();
    w.townStore.forEach((def, cols) => {
      for (const f of def.fields) {
        for (let t = 0; t < w.towns; t++) {
          const old = cols[f.name][t];
          nudge(cols[f.name], t);
          expect(w.stateHash(), `${def.name}.${f.name}[${t}]`).not.toBe(base);
          cols[f.name][t] = old;
        }
      }
    });
    expect(w.stateHash()).toBe(base);
  });

  it("changes when any stream draws, core or plug-in", () => {
    for (const name of [...CORE_STREAMS, pluginStreamName("needs"), pluginStreamName("probe")]) {
      const w = world();
      const base = w.stateHash();
      w.rng.get(name).next();
      expect(w.stateHash(), name).not.toBe(base);
    }
  });

  it("changes with the tick, a spawn, a removal, an interned string and a message in flight", () => {
    const fresh = world().stateHash();
    const ticked = world();
    ticked.step();
    expect(ticked.stateHash()).not.toBe(fresh);

    const spawned = world();
    spawned.spawnAgent(1);
    expect(spawned.stateHash()).not.toBe(fresh);

    const removed = world();
    removed.removeEntity(removed.agents[0]);
    expect(removed.stateHash()).not.toBe(fresh);

    const interned = world();
    interned.intern("fridge");
    expect(interned.stateHash()).not.toBe(fresh);

    const poked = world();
    poked.send(Poked, poked.agents[0]);
    expect(poked.stateHash()).not.toBe(fresh);
  });

  it("tells apart worlds whose only difference is an agent's name", () => {
    const a = world(0);
    const b = world(0);
    a.spawnAgent(0, { name: "ann" });
    b.spawnAgent(0, { name: "bob" });
    expect(a.stateHash()).not.toBe(b.stateHash());
  });
});
