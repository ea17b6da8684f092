/** Public face of @tessera/tablet. */
export * from './flags.js';
export * from './server.js';
export * from './replica.js';
export * from './replica-manager.js';
export * from './routes-control.js';
export * from './replication/tablet-replication.js';
export * from './replication/limits.js';
