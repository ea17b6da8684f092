/** Public face of @tessera/nameserver: the pure core and the server shell around it. */
export * from './core/index.js';
export * from './server/index.js';
