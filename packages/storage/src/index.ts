/** Public face of @tessera/storage: one partition replica on abstract-level. */
export * from './replica-store.js';
export * from './binlog.js';
export * from './ttl.js';
export * from './open.js';
