/**
 * The pure nameserver core: placement, the op model and planner, task specs, the engine
 * (events in, effects out) and showopstatus rows. No I/O anywhere below this module.
 */
export * from './random.js';
export * from './config.js';
export * from './op.js';
export * from './events.js';
export * from './observed.js';
export * from './partition.js';
export * from './placement.js';
export * from './tasks.js';
export * from './plan.js';
export * from './admin.js';
export * from './repair.js';
export * from './repair-gate.js';
export * from './table-alive.js';
export * from './table-partition.js';
export * from './opstatus.js';
export * from './engine.js';
export * from './drive.js';
export * from './writes.js';
export * from './admin-direct.js';
export * from './schedule.js';
export * from './parent.js';
export * from './failover-gate.js';
export * from './in-sync.js';
export * from './failover-check.js';
export * from './role-check.js';
export * from './checkers.js';
export * from './checksum-check.js';
export * from './bulk-failover.js';
export * from './table-create.js';
