/** Public face of @tessera/storage: partition replicas on abstract-level, in one LevelDB per tablet. */
export * from './replica-store.js';
export * from './binlog.js';
export * from './ttl.js';
export * from './open.js';
export * from './tablet-store.js';
export * from './migrate-layout.js';
export * from './shared-batch.js';
export * from './snapshot-pack.js';
export * from './queue-holds.js';
export * from './snapshot-worker.js';
export * from './snapshot-load.js';
