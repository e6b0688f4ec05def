// Typed messages (events): declared once with `defineMessage`, sent by systems, read at phase
// boundaries. A message sent in phase P of tick t is seen by every system exactly once: by
// systems of later phases in tick t and of phases up to P in tick t+1. Storage is columnar
// (one Float64Array per field) so sending allocates nothing once the buffers have grown; a
// buffer that a burst grew shrinks again once the burst is over (MessageChannel.settle).
import { PHASES } from "./phases.ts";

/** eid: an entity id; int/float: numbers; str: an interned string id (world.intern/text). */
export type MessageFieldKind = "eid" | "int" | "float" | "str";
export type MessageFields = Record<string, MessageFieldKind>;

export interface MessageDef<F extends MessageFields = MessageFields> {
  readonly kind: "message";
  readonly name: string;
  readonly fields: F;
  /** Field names in declaration order (plain strings, so a typed message is still a `MessageDef`). */
  readonly keys: readonly string[];
}

export function defineMessage<F extends MessageFields>(name: string, fields: F): MessageDef<F> {
  if (!/^[a-z][a-z0-9_.]*$/.test(name)) throw new Error(`message name "${name}" must be snake_case`);
  return { kind: "message", name, fields, keys: Object.keys(fields) as (keyof F & string)[] };
}

/**
 * The messages visible to a reader: indices `start <= i < end` into each field column.
 * `view.agent[i]` is the `agent` field of message i. Valid until the next send or tick.
 */
export type MessageView<F extends MessageFields = MessageFields> = {
  start: number;
  end: number;
  /** Number of visible messages. */
  count: number;
} & { readonly [K in keyof F]: Float64Array };

const NPHASE = PHASES.length;
/** Messages a channel starts with room for, and the least it shrinks to. */
const MIN_ROOM = 16;
/** Tick starts in a row under an eighth full before a channel gives back room (see MessageChannel.settle). */
export const SHRINK_AFTER = 32;
/**
 * Tick starts per window of a channel's traffic peak (more than a day of 1,440 ticks): a channel
 * never shrinks below the most it held at a tick's end over the last one to two windows, so a
 * daily burst (the shift ends) keeps its room instead of growing it again every day.
 */
export const PEAK_WINDOW = 2048;

/** One message type's buffer: [previous tick's messages][current tick's messages]. */
export class MessageChannel<F extends MessageFields = MessageFields> {
  cols: Float64Array[];
  len = 0;
  prevCount = 0;
  /** Length of the current-tick section when each phase began; [NPHASE] = at tick end. */
  curOffsets = new Int32Array(NPHASE + 1);
  prevOffsets = new Int32Array(NPHASE + 1);
  readonly view: MessageView<F>;

  constructor(readonly def: MessageDef<F>) {
    this.cols = def.keys.map(() => new Float64Array(MIN_ROOM));
    this.view = { start: 0, end: 0, count: 0 } as MessageView<F>;
    this.bindView();
  }

  private bindView(): void {
    const v = this.view as unknown as Record<string, unknown>;
    this.def.keys.forEach((k, i) => (v[k] = this.cols[i]));
  }

  private grow(): void {
    // In place, not cols.map: map's array had another elements kind when made in optimised code
    // than the constructor's, and pushN, optimised on the first, deoptimised ("wrong map": issue
    // #19, twelfth session, the first growth in the employment events at tick 163 of the 100k bench).
    const cols = this.cols;
    for (let i = 0; i < cols.length; i++) {
      const g = new Float64Array(cols[i].length * 2);
      g.set(cols[i]);
      cols[i] = g;
    }
    this.bindView();
  }

  push(values: ArrayLike<number>): void {
    const n = this.def.keys.length;
    if (values.length !== n) {
      throw new TypeError(
        `message "${this.def.name}" takes ${n} value(s) (${this.def.keys.join(", ")}), got ${values.length}`,
      );
    }
    if (this.len === this.cols[0]?.length) this.grow();
    for (let i = 0; i < n; i++) this.cols[i][this.len] = values[i];
    this.len++;
  }

  /**
   * push() without an array: the first `n` of a..h (n <= 8), for ctx.send's fixed-arity path
   * (a rest array per message was garbage). Same check, same growth, same stores as push().
   */
  pushN(n: number, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number, h?: number): void {
    const k = this.def.keys.length;
    if (n !== k) {
      throw new TypeError(`message "${this.def.name}" takes ${k} value(s) (${this.def.keys.join(", ")}), got ${n}`);
    }
    if (this.len === this.cols[0]?.length) this.grow();
    const cols = this.cols;
    const i = this.len;
    if (k > 0) cols[0][i] = a!;
    if (k > 1) cols[1][i] = b!;
    if (k > 2) cols[2][i] = c!;
    if (k > 3) cols[3][i] = d!;
    if (k > 4) cols[4][i] = e!;
    if (k > 5) cols[5][i] = f!;
    if (k > 6) cols[6][i] = g!;
    if (k > 7) cols[7][i] = h!;
    this.len++;
  }

  beginTick(): void {
    this.notePeak(this.len);
    // Drop the previous tick; the current tick becomes the previous one.
    const drop = this.prevCount;
    // Index loops here and in MessageBus: for-of left an array iterator per channel per tick.
    if (drop > 0) for (let i = 0; i < this.cols.length; i++) this.cols[i].copyWithin(0, drop, this.len);
    this.len -= drop;
    this.prevCount = this.len;
    this.prevOffsets.set(this.curOffsets);
    this.curOffsets.fill(0);
    this.settle();
  }

  /** Ticks in a row that the buffer held under an eighth of its room (see settle). */
  private quietTicks = 0;
  /** The most messages held at a tick's start during those ticks. */
  private quietPeak = 0;
  /** Tick starts seen, and the most held at a tick's end in this PEAK_WINDOW and the one before. */
  private starts = 0;
  private peakNow = 0;
  private peakPrev = 0;

  /**
   * Counts `held` (the messages at a tick's end: the previous tick's and this one's) in the
   * traffic peak. The first SHRINK_AFTER tick starts are not counted: they hold the build's
   * messages (a world's spawn burst, read through tick 1), whose room is given back as before.
   */
  private notePeak(held: number): void {
    const n = ++this.starts;
    if (n <= SHRINK_AFTER) return;
    if (held > this.peakNow) this.peakNow = held;
    if (n % PEAK_WINDOW === 0) {
      this.peakPrev = this.peakNow;
      this.peakNow = 0;
    }
  }

  /**
   * Gives back the room of a burst (issue #19 memory: a world's 1M spawn messages kept a 34-byte-
   * per-agent buffer for good): after SHRINK_AFTER tick starts in a row holding under an eighth
   * of the room, the columns shrink to four times the most held then, and at least the traffic
   * peak of the last one to two PEAK_WINDOWs (a power of two, at least 16). At most one
   * allocation per SHRINK_AFTER ticks, none while the traffic fills them, and none for a burst
   * that comes back within the window (a shrink there was regrown the next day: F's finding,
   * ArrayBuffer churn that brings major GCs).
   */
  private settle(): void {
    const room = this.cols[0]?.length ?? 0;
    if (room <= MIN_ROOM || this.len * 8 >= room) {
      this.quietTicks = 0;
      this.quietPeak = 0;
      return;
    }
    if (this.len > this.quietPeak) this.quietPeak = this.len;
    if (++this.quietTicks < SHRINK_AFTER) return;
    const floor = Math.max(this.quietPeak * 4, this.peakNow, this.peakPrev);
    let n = MIN_ROOM;
    while (n < floor) n *= 2;
    if (n < room) {
      for (let i = 0; i < this.cols.length; i++) this.cols[i] = this.cols[i].slice(0, n); // in place, as grow()
      this.bindView();
    }
    this.quietTicks = 0;
    this.quietPeak = 0;
  }

  /** Bytes held by the columns. */
  bytes(): number {
    let b = 0;
    for (const c of this.cols) b += c.byteLength;
    return b;
  }

  beginPhase(q: number): void {
    this.curOffsets[q] = this.len - this.prevCount;
  }

  endTick(): void {
    this.curOffsets[NPHASE] = this.len - this.prevCount;
  }

  /** Visible range for a system in phase q (see the file comment). */
  read(q: number): MessageView<F> {
    const v = this.view;
    v.start = this.prevOffsets[q];
    v.end = this.prevCount + this.curOffsets[q];
    v.count = v.end - v.start;
    return v;
  }

  /** Messages of the tick that just ended (everything sent since the tick began). */
  lastTick(): MessageView<F> {
    const v = this.view;
    v.start = this.prevCount;
    v.end = this.len;
    v.count = v.end - v.start;
    return v;
  }
}

/** Every message channel of a world, in registration order. */
export class MessageBus {
  readonly channels: MessageChannel[] = [];
  private readonly byDef = new Map<MessageDef, MessageChannel>();
  private readonly byName = new Map<string, MessageDef>();

  register(def: MessageDef, owner: string): void {
    if (this.byDef.has(def)) return;
    const clash = this.byName.get(def.name);
    if (clash) throw new Error(`message "${def.name}" is declared twice (second time by plug-in "${owner}")`);
    const ch = new MessageChannel(def);
    this.channels.push(ch);
    this.byDef.set(def, ch);
    this.byName.set(def.name, def);
  }

  channel<F extends MessageFields>(def: MessageDef<F>): MessageChannel<F> {
    const ch = this.byDef.get(def as unknown as MessageDef);
    if (!ch) throw new Error(`message "${def.name}" is not registered in this world (no plug-in declares it)`);
    return ch as unknown as MessageChannel<F>;
  }

  has(def: MessageDef): boolean {
    return this.byDef.has(def);
  }

  beginTick(): void {
    for (let i = 0; i < this.channels.length; i++) this.channels[i].beginTick();
  }
  beginPhase(q: number): void {
    for (let i = 0; i < this.channels.length; i++) this.channels[i].beginPhase(q);
  }
  endTick(): void {
    for (let i = 0; i < this.channels.length; i++) this.channels[i].endTick();
  }
}
