// Snapshots: the whole simulation state of a world in one binary file, restored bit for bit
// (a world restored at tick T and run on gives the same state hash at every later tick as the
// run that never stopped). Little-endian layout:
//
//   "TWNLSNAP"  u32 format version  u32 header length  header (canonical JSON, UTF-8)
//   sections: u32 name length, name (UTF-8), u32 byte length, bytes     (payload_bytes in all)
//   sha256 of everything before it (32 bytes)
//
// The header carries the identity (format and schema versions, config_id, config hash, tick,
// seed, RNG stream states, policy hash, observation variant, anneal ratio), the state hash the
// world had when saved, the payload's length and sha256, and the schema of what follows
// (components with their field types, town state, message channels, plug-in states). Sections:
//   kernel            JSON: custom agent names, interned strings
//   kernel/dense      u32: the entity index, engine/entities.ts (live ids first, then ids to recycle)
//   comp/<C>/<field>  raw column bytes over entity ids [0, max_id]; comp/<C>/$has: u8 flags
//   town/<C>/<field>  raw column bytes over town ids [0, towns); town/<C>/$has
//   msg/<name>/offsets  i32 [count, phase offsets...] and msg/<name>/data f64 (field-major):
//                     messages still in flight (the last tick's section of each channel)
//   state/<plug-in>   JSON of its PersistentState's save(); typed arrays inside it are stored
//                     as raw sections state/<plug-in>/<k>, non-finite numbers and -0 tagged.
// Files are written atomically: a unique temporary file, fsync, rename, fsync of the folder.//
// The parts: snapshot/format.ts (layout constants, header and error types), write.ts, read.ts
// (verify and split), plugin-state.ts, migrate.ts, upgrade.ts (earlier builds' component layouts),
// load.ts (check and restore), files.ts.
export {
  SNAPSHOT_EXTENSION,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  SNAPSHOT_SCHEMA_VERSION,
  SnapshotError,
  type ComponentSchemaEntry,
  type FieldSchema,
  type SnapshotData,
  type SnapshotErrorCode,
  type SnapshotHeader,
  type SnapshotMeta,
} from "./snapshot/format.ts";
export { encodeSnapshot, saveSnapshot } from "./snapshot/write.ts";
export { decodeSnapshot, encodeSnapshotData, peekSnapshotHeader } from "./snapshot/read.ts";
export {
  MigrationRegistry,
  cloneSnapshot,
  migrations,
  registerMigration,
  snapshotColumn,
  snapshotPluginState,
  withSnapshotColumn,
  withSnapshotPluginState,
  type Migration,
} from "./snapshot/migrate.ts";
export { loadSnapshot, type LoadSnapshotOptions, type LoadSnapshotResult } from "./snapshot/load.ts";
export { LAYOUT_UPGRADES, REWARD_BREAKDOWN_OUT, applyLayoutUpgrade, schemaUpgradeNote, upgradeLayouts, upgradeNotes, type LayoutUpgrade } from "./snapshot/upgrade.ts";
export { newestValidSnapshot, pruneSnapshots, readSnapshotFile, snapshotFileName, writeFileAtomic, writeSnapshotFile } from "./snapshot/files.ts";
