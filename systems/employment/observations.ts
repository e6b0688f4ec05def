// Employment's observation features: the lateness counter, on_shift, attendance, wages withheld
// and the shift state one-hot (pre, on_time, late, absent, post; idle and await_start read as
// pre). Without the employment plug-in the observations plug-in sets shift_pre to 1.
import type { ObservationFeatures } from "../../engine/observation.ts";
import { Employment } from "../../components/people.ts";

/** The shift one-hot's features, in order. */
const SHIFT_FEATURES = ["shift_pre", "shift_on_time", "shift_late", "shift_absent", "shift_post"] as const;
const FEATURES = ["lateness_counter", "on_shift", "attendance_ratio", "wages_withheld", ...SHIFT_FEATURES] as const;

/** One-hot slot (0..4 = pre, on_time, late, absent, post) of each ShiftState. */
const SHIFT_SLOT = Int8Array.of(0, 0, 0, 1, 2, 3, 4);

export const employmentObservations: ObservationFeatures = {
  features: () => FEATURES,
  bind({ world }, at) {
    if (!world.components.isRegistered(Employment)) return undefined;
    const E = world.columns(Employment);
    const lateness = E.lateness_counter;
    const onShift = E.on_shift;
    const attendance = E.attendance_ratio;
    const withheld = E.wages_withheld;
    const state = E.shift_state;
    const [aLate, aOn, aAtt, aWith] = at;
    // The one-hot's slots by ShiftState (unknown states read as pre).
    const shiftAt = Int32Array.from(SHIFT_SLOT, (s) => at[4 + s]);
    const pre = at[4];
    return (agents, n, f, stride) => {
      for (let i = 0, row = 0; i < n; i++, row += stride) {
        const eid = agents[i];
        f[row + aLate] = lateness[eid];
        f[row + aOn] = onShift[eid] === 1 ? 1 : 0;
        f[row + aAtt] = attendance[eid];
        f[row + aWith] = withheld[eid];
        const s = state[eid];
        f[row + (s < shiftAt.length ? shiftAt[s] : pre)] = 1;
      }
    };
  },
};
