// Helpers of the runtime (runtime.ts): the names a precondition reads (its PreconditionScope
// lookup: the object's state, the agent's needs and wallet, the tick), the read-only pass of
// Runtime.finishChunk over the rows a chunk of finishes touches, and the waiter a finishing agent
// hands its object to.
import type { Columns } from "../../engine/component.ts";
import type { Obj } from "../../components/objects.ts";
import type { Activity } from "../../components/activity.ts";
import type { Value } from "./preconditions.ts";
import type { Runtime } from "./runtime.ts";
import type { NeedTable } from "../../components/needs.ts";
import type { SocialLedger } from "../../components/social.ts";

/** The value of a precondition's name `path` for agent `a` at object `o` (null: unknown). */
export function lookupName(rt: Runtime, a: number, o: number, path: readonly string[]): Value {
  const { O, N, W } = rt;
  const head = path[0];
  if (path.length === 1) {
    switch (head) {
      case "occupied":
        return O.holder[o] !== 0 && O.holder[o] !== a;
      case "power_on":
        return rt.powered(o);
      case "water_on":
        return rt.watered(o);
      case "meal_available":
        return O.meals[o] > 0;
      case "wallet":
        return W.money[a];
      case "queue_length":
        return O.queue_len[o];
      case "reservation_active":
        return O.holder[o] !== 0;
      case "tick":
        return rt.tick;
    }
    return null;
  }
  const key = path[path.length - 1];
  if (head === "needs" || (head === "agent" && path[1] === "needs")) {
    const col = N[key];
    if (col !== undefined) return col[a];
  }
  if (head === "agent" && key === "wallet") return W.money[a];
  if (head === "stock" || (head === "object" && path[1] === "stock")) {
    if (key === "meals") return O.meals[o];
    if (key === "raw_ingredients") return O.raw_ingredients[o];
    if (key === "sleep_slots") return O.sleep_slots[o];
    if (key === "power_on") return O.power_on[o];
    if (key === "water_on") return O.water_on[o];
  }
  if (head === "world" && key === "tick") return rt.tick;
  return null;
}

/**
 * The sum of the rows finish reads and writes for agents[j] at objects[j], j < n: the agent's
 * Activity, need and wallet rows and wake word, the object's queue fields, the head waiter's
 * rows. Writes nothing; the caller keeps the sum so that the loads are made.
 */
export function sumFinishRows(
  A: Columns<(typeof Activity)["schema"]>,
  O: Columns<(typeof Obj)["schema"]>,
  money: Float32Array | Float64Array,
  wake: Uint32Array,
  uid: Uint32Array,
  cols: readonly Float32Array[],
  agents: Int32Array,
  objects: Int32Array,
  n: number,
): number {
  const { running, charged, holding, pending, cooldown_obj, cooldown_until, queue_next, queued, joined_tick } = A;
  const { stall, idle_since, queue_head, queue_len } = O;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const a = agents[j];
    const o = objects[j];
    sum += running[a] + charged[a] + holding[a] + pending[a] + cooldown_obj[a] + cooldown_until[a] + money[a] + wake[a >>> 5];
    for (let k = 0; k < cols.length; k++) sum += cols[k][a];
    const head = queue_head[o];
    sum += stall[o] + idle_since[o] + queue_len[o];
    if (head !== 0) sum += queue_next[head] + queued[head] + holding[head] + joined_tick[head] + uid[head] + wake[head >>> 5];
  }
  return sum;
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Why an affordance's effects do not fit a world's needs, or undefined when they do. */
export function effectProblem(spec: { id: string; effects?: Readonly<Record<string, number>> }, needs: NeedTable): string | undefined {
  for (const key of Object.keys(spec.effects ?? {})) {
    if (key !== "money" && needs.index(key) < 0) {
      return `affordance "${spec.id}": effect "${key}" is not a need of this world (needs: ${needs.names.join(", ")}; add it under needs:) nor money`;
    }
  }
  return undefined;
}

/**
 * The waiter of the queue from `head` (linked through `queueNext`) that `agent` likes best, with
 * trust + familiarity - rivalry - 0.05 * place > 0, or 0 (Runtime.handover). `agent` has edges (a
 * block in the ledger, else 0): the lookup is SocialLedger.find's loop over its block.
 */
export function preferredWaiter(ledger: SocialLedger, queueNext: Int32Array, uid: Uint32Array, head: number, agent: number): number {
  const base = ledger.base(agent);
  if (base < 0) return 0;
  const { other, trust, familiarity, rivalry } = ledger;
  const K = ledger.maxEdges;
  let best = 0;
  let bestScore = 0;
  let i = 0;
  for (let cur = head; cur !== 0; cur = queueNext[cur], i++) {
    const u = uid[cur];
    let s = -1;
    for (let k = 0; k < K; k++) {
      if (other[base + k] === u) {
        s = base + k;
        break;
      }
    }
    if (s < 0) continue;
    const score = trust[s] + familiarity[s] - rivalry[s] - 0.05 * i;
    if (score > bestScore) {
      bestScore = score;
      best = cur;
    }
  }
  return best;
}
