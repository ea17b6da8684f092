/** Public face of @tessera/client: the SDK, its admin client, and the routing it shares with ns_client. */
export * from './client.js';
export * from './admin-client.js';
export * from './data-client.js';
export * from './table-cache.js';
export * from './routing.js';
export * from './retry-policy.js';
