// buildWorld lives in the engine (engine/build.ts); this re-export keeps older imports working.
export { buildWorld, type BuildOverrides } from "../engine/build.ts";
