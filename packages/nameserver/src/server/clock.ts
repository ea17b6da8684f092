/**
 * The nameserver shell's one clock. Every engine event the shell posts is stamped from it, and
 * every decision that depends on time (pure functions in core/ and status-view.ts) is handed its
 * `nowMs` from it: this is the one place in the shell that reads wall time. Tests inject their
 * own clock (`NameServerOptions.clock`) to drive it.
 */

/** Wall time in epoch milliseconds. */
export interface Clock {
  nowMs(): number;
}

/** The process clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };
