/** Public face of @tessera/coord: ZooKeeper sessions, the typed layout, election, registration. */
export * from './layout.js';
export * from './session.js';
export * from './election.js';
export * from './registration.js';
export * from './retry.js';
export * from './notify.js';
