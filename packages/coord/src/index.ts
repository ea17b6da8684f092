/** Public face of @tessera/coord: the Coord interface and its two backends (ZooKeeper, in-memory), the typed layout, election, registration. */
export * from './coord.js';
export * from './memory.js';
export * from './layout.js';
export * from './session.js';
export * from './election.js';
export * from './registration.js';
export * from './retry.js';
export * from './notify.js';
export * from './read-many.js';
