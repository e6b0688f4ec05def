// Public schedule sets: names that plug-ins order their systems against
// (`after: [NeedsSets.Decay]`), so nobody depends on another plug-in's private system names.

/** Sets of the `needs` phase. */
export const NeedsSets = {
  /** Need decay: every need falls by its rate, clamped to [0,1]. */
  Decay: "needs:decay",
} as const;
