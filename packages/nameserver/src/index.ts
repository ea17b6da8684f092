/** Public face of @tessera/nameserver. */
export * from './core/index.js';
