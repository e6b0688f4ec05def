// Public surface of the env API (PettingZoo's parallel contract, its batch form and the shipped
// conformance suite), listed by hand so it is reviewed in one place. Types apart.
export { TownletParallelEnv, ENV_NAME } from "./parallel.ts";
export { TownletVectorEnv, DEFAULT_ENV_CONFIG, checkSeed } from "./vector.ts";
export { ShardedVectorEnv, EnvWorkerDied } from "./sharded.ts";
export { parallelApiTest, seedTest } from "./conformance.ts";

export type { ParallelEnv, ParallelEnvOptions, AgentObservation, AgentInfo, ResetArgs, ObservationSpace, BoxSpace, DiscreteSpace } from "./parallel.ts";
export type { ShardedEnvOptions } from "./sharded.ts";
export type { EnvOptions, VectorStep } from "./vector.ts";
export type { CheckResult, SuiteResult, EnvFactory, ParallelApiOptions, SeedTestOptions } from "./conformance.ts";
