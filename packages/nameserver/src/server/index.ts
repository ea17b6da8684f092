/** The nameserver's I/O shell: ZooKeeper, HTTP, tablets, timers around the pure core. */
export * from './flags.js';
export * from './server.js';
