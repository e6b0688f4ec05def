// The features the observations plug-in computes from the clock and its own state, for a whole
// batch: time of day (time_sin, time_cos), the embedding slot (embedding_slot_norm), the context
// reset flag and the episode's progress. Updates the per-agent context tracking (a first
// observation, a requested reset, or a move farther than walking allows sets ctx_reset_flag).
import type { World } from "../../engine/world.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Position } from "../../components/space.ts";
import { F_CTX_RESET, F_EPISODE, F_SLOT, F_TIME_COS, F_TIME_SIN } from "./layout.ts";
import type { ObservationsState } from "./state.ts";

/**
 * Writes the own features of the first `n` agents of `agents` for the decision tick `tick`:
 * agent `agents[i]`'s row starts at `i * stride`, its agent features at `agentFeatures` within it.
 */
export function writeOwnFeatures(
  world: World,
  st: ObservationsState,
  tick: number,
  agents: Int32Array,
  n: number,
  f: Float32Array,
  stride: number,
  agentFeatures: number,
): void {
  const { x: PX, y: PY } = world.columns(Position);
  const slotOf = st.allocator.slotOf;
  const maxSlots = st.allocator.maxSlots;
  const tpd = Math.max(1, ticksPerDay(world.settings));
  const phase = (tick % tpd) / tpd;
  const timeSin = Math.sin(2 * Math.PI * phase);
  const timeCos = Math.cos(2 * Math.PI * phase);
  st.track();
  const { lastTick, lastX, lastY, resetTick, pendingReset, spawnTick } = st;
  for (let i = 0; i < n; i++) {
    const eid = agents[i];
    const fo = i * stride + agentFeatures;
    f[fo + F_TIME_SIN] = timeSin;
    f[fo + F_TIME_COS] = timeCos;
    const slot = eid < slotOf.length ? slotOf[eid] : -1;
    f[fo + F_SLOT] = slot >= 0 ? slot / maxSlots : 0;
    const cx = PX[eid];
    const cy = PY[eid];
    const last = lastTick[eid];
    if (last !== tick) {
      // A first observation, a requested reset, or a move farther than walking allows (teleport).
      const moved = Math.abs(cx - lastX[eid]) + Math.abs(cy - lastY[eid]);
      if (last < 0 || pendingReset[eid] === 1 || moved > tick - last) resetTick[eid] = tick;
      lastTick[eid] = tick;
      lastX[eid] = cx;
      lastY[eid] = cy;
      pendingReset[eid] = 0;
    } else if (pendingReset[eid] === 1) {
      resetTick[eid] = tick;
      pendingReset[eid] = 0;
    }
    f[fo + F_CTX_RESET] = resetTick[eid] === tick ? 1 : 0;
    const ep = (tick - spawnTick[eid]) / tpd;
    f[fo + F_EPISODE] = ep < 0 ? 0 : ep > 1 ? 1 : ep;
  }
}
