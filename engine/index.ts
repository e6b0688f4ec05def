// Public surface of the kernel, listed by hand so it is reviewed in one place. Types apart.
export { World, createWorld, SystemError, pluginStreamName } from "./world.ts";
export { defineComponent, isComponentDef, ComponentStore } from "./component.ts";
export { Town, Agent } from "./core-components.ts";
export { defineMessage, MessageBus, MessageChannel } from "./message.ts";
export { definePlugin, isPersistentState } from "./plugin.ts";
export { defineResource, ResourceError } from "./resource.ts";
export type { ResourceKey, ResourceSource } from "./resource.ts";
export { defineCommand, CommandError, requireAgent, checkTown, checkTile, gridSize, unavailable, ROLES, ERROR_CODES } from "./command.ts";
export type { CommandContext, CommandIssuer, Role, ErrorCode } from "./command.ts";
export { round4, agentsPerTown, townMeans } from "./telemetry.ts";
export type { TelemetryContext, TelemetryOptions, TelemetryPart, EventField } from "./telemetry.ts";
export type { ObservationContext, ObservationFeatures, FeatureWriter } from "./observation.ts";
export { defineRewardTerm, type RewardTerm, type RewardBias } from "./reward-term.ts";
export { PHASES, phaseIndex } from "./phases.ts";
export { resolveSchedule, formatSchedule, ScheduleError } from "./schedule.ts";
export { createRng, RngStreams, CORE_STREAMS, isRngState } from "./rng.ts";
export { StateHasher } from "./hash.ts";
export { runLoop, REALTIME_TICK_MS } from "./loop.ts";
export { ticksPerDay, DEFAULT_TICKS_PER_DAY } from "./clock.ts";
export {
  loadConfig,
  parseConfigText,
  parseConfigObject,
  validateFile,
  loadDocument,
  collectSections,
  resolveReferencedPath,
  canonicalJson,
  formatProblem,
  ConfigError,
} from "./config/loader.ts";
export { coreSections } from "./config/core.ts";
export { didYouMean, editDistance } from "./text.ts";
export {
  saveSnapshot,
  loadSnapshot,
  writeSnapshotFile,
  readSnapshotFile,
  newestValidSnapshot,
  registerMigration,
  snapshotFileName,
  SnapshotError,
  SNAPSHOT_FORMAT_VERSION,
} from "./snapshot.ts";
export { initTensorBackend, currentTensorBackend, TensorBackendError } from "./tensor.ts";

export type { WorldOptions, InitValues } from "./world.ts";
export type { ColumnCtor, Column, FieldSpec, ComponentSchema, Columns, ComponentDef } from "./component.ts";
export type { MessageDef, MessageFields, MessageFieldKind, MessageView } from "./message.ts";
export type {
  PluginDef,
  AnyPlugin,
  SystemDef,
  SystemContext,
  SetupContext,
  PersistentState,
  CommandDef,
  FileReference,
  ConfigCheckProblem,
  ComponentDecls,
} from "./plugin.ts";
export type { Phase } from "./phases.ts";
export type { Rng, RngState, CoreStream } from "./rng.ts";
export { buildWorld } from "./build.ts";
export type { BuildOverrides } from "./build.ts";
export type { LoopOptions } from "./loop.ts";
export type { ConfigProblem, LoadedConfig, LoadOptions } from "./config/loader.ts";
export type { ConfigSections, SectionSchemas } from "./config/sections.ts";
export type { SnapshotMeta, SnapshotData, SnapshotHeader, Migration, SnapshotErrorCode } from "./snapshot.ts";
export type { TensorBackend, BackendName } from "./tensor.ts";
