// Issue #19's sizing rules: a message buffer that a burst grew gives the room back once the
// burst is over (and never while the traffic fills it), the read views follow the new columns.
import { describe, expect, it } from "vitest";
import { MessageChannel, SHRINK_AFTER, defineMessage } from "../../engine/message.ts";
import { PHASES } from "../../engine/phases.ts";

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
});
