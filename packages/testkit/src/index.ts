/** Public face of @tessera/testkit: support for tests only, never imported by production code. */
export * from './ports.js';
export * from './tmp.js';
export * from './zookeeper.js';
export * from './roles.js';
export * from './nsclient.js';
export * from './scripts.js';
export * from './cluster.js';
export * from './chromium.js';
export * from './netns.js';
export * from './inject.js';
export * from './writers.js';
