/** Public face of @tessera/common. */
export * from './errors.js';
export * from './limits.js';
export * from './codec.js';
export * from './http-server.js';
export * from './http-client.js';
export * from './flags.js';
export * from './log.js';
export * from './hash.js';
export * from './schema.js';
export * from './wait.js';
export * from './meta.js';
export * from './ns-api.js';
export * from './endpoint.js';
export * from './openmldb-texts.js';
export * from './metrics.js';
export * as fields from './fields.js';
export * from './op-detail.js';
