/**
 * The arithmetic behind `showop`: rates from progress samples, the ETA, and why an op waits.
 * Pure (no clock, no I/O): op-detail.ts passes the samples it took (at the times the shell gave)
 * and the cluster facts the shell read. Rates are taken over the last RATE_WINDOW_MS of samples, so a copy that
 * sped up or slowed down shows its current pace, not its average.
 */
import type { BlockedBecause, Endpoint, OpTransferDetail } from '@tessera/common';
import type { Op } from './op.js';

/** Samples older than this (behind the newest) do not count towards the current rate. */
export const RATE_WINDOW_MS = 10_000;
/** Samples kept per op. */
export const SAMPLES_MAX = 64;

export interface ProgressSample {
  atMs: number;
  rowsCopied: number;
  bytesCopied: number;
  /** Entries the destination is behind its leader, when known. */
  lagEntries?: number;
}

export interface Rates {
  rowsPerSec: number;
  bytesPerSec: number;
  /** How fast the lag shrinks (entries/s; negative when it grows); undefined without two lag samples. */
  lagDrainPerSec?: number;
}

/** Appends a sample, keeping at most SAMPLES_MAX (oldest dropped); an older or same-time sample replaces nothing. */
export function addSample(samples: ProgressSample[], s: ProgressSample): void {
  const last = samples[samples.length - 1];
  if (last !== undefined && s.atMs <= last.atMs) return;
  samples.push(s);
  while (samples.length > SAMPLES_MAX) samples.shift();
}

/** Rates between the oldest sample within RATE_WINDOW_MS of the newest and the newest; undefined with fewer than two. */
export function ratesOf(samples: readonly ProgressSample[]): Rates | undefined {
  const last = samples[samples.length - 1];
  if (last === undefined) return undefined;
  const first = samples.find((s) => last.atMs - s.atMs <= RATE_WINDOW_MS && s.atMs < last.atMs);
  if (first === undefined) return undefined;
  const seconds = (last.atMs - first.atMs) / 1000;
  const rates: Rates = {
    rowsPerSec: Math.max(0, (last.rowsCopied - first.rowsCopied) / seconds),
    bytesPerSec: Math.max(0, (last.bytesCopied - first.bytesCopied) / seconds),
  };
  const withLag = samples.filter((s) => s.lagEntries !== undefined && last.atMs - s.atMs <= RATE_WINDOW_MS);
  if (withLag.length >= 2) {
    const a = withLag[0]!;
    const b = withLag[withLag.length - 1]!;
    if (b.atMs > a.atMs) rates.lagDrainPerSec = (a.lagEntries! - b.lagEntries!) / ((b.atMs - a.atMs) / 1000);
  }
  return rates;
}

/** A finished copy's average rate. */
export function averageRates(t: OpTransferDetail): Rates | undefined {
  if (t.endMs === undefined || t.endMs <= t.startMs) return undefined;
  const seconds = (t.endMs - t.startMs) / 1000;
  return { rowsPerSec: t.rowsCopied / seconds, bytesPerSec: t.bytesCopied / seconds };
}

/**
 * Milliseconds until the destination holds everything: the bytes still to copy at the current
 * byte rate, then (or, with no copy under way, alone) the lag at the rate it drains. 0 when
 * nothing is left; undefined when a needed rate is unknown or not positive.
 */
export function etaMs(transfer: OpTransferDetail | undefined, rates: Rates | undefined, lagEntries: number | undefined, lagDoneEntries: number): number | undefined {
  if (transfer !== undefined && !transfer.done) {
    const left = Math.max(0, transfer.bytesTotal - transfer.bytesCopied);
    if (left === 0) return 0;
    if (rates === undefined || rates.bytesPerSec <= 0) return undefined;
    return Math.round((left / rates.bytesPerSec) * 1000);
  }
  if (lagEntries === undefined) return transfer?.done === true ? 0 : undefined;
  if (lagEntries <= lagDoneEntries) return 0;
  if (rates?.lagDrainPerSec === undefined || rates.lagDrainPerSec <= 0) return undefined;
  return Math.round((lagEntries / rates.lagDrainPerSec) * 1000);
}

/** The facts blockedBecause is judged from (read by the shell). */
export interface WaitFacts {
  /** Ops running now (kDoing), by id → partition key. */
  running: ReadonlyArray<{ id: number; tid: number; pid: number }>;
  /** The cluster's limit of ops running at once. */
  concurrencyMax: number;
  /** The tablet the current task commands, when it commands one, and whether it is healthy. */
  taskEndpoint?: { endpoint: Endpoint; healthy: boolean };
  /** The copy waits for the snapshot bandwidth limit. */
  throttled: boolean;
  /** The current task waits for the destination to enter the partition's in-sync set. */
  waitingForInSync: boolean;
}

/** Why the op does not move now, with a detail; undefined when it is moving or finished. */
export function blockedBecause(op: Pick<Op, 'id' | 'tid' | 'pid' | 'status'>, f: WaitFacts): { because: BlockedBecause; detail: string } | undefined {
  if (op.status === 'kInited') {
    const same = f.running.find((o) => o.id !== op.id && o.tid === op.tid && o.pid === op.pid);
    if (same !== undefined) return { because: 'partition busy', detail: `op ${same.id} runs on partition ${op.tid}/${op.pid}` };
    if (f.running.length >= f.concurrencyMax) return { because: 'concurrency limit', detail: `${f.running.length} op(s) running, at most ${f.concurrencyMax}` };
    return undefined;
  }
  if (op.status !== 'kDoing') return undefined;
  if (f.taskEndpoint !== undefined && !f.taskEndpoint.healthy) return { because: 'tablet down', detail: `tablet ${f.taskEndpoint.endpoint} is not healthy` };
  if (f.throttled) return { because: 'throttle', detail: 'snapshot bandwidth limit (confset snapshot_bytes_per_sec)' };
  if (f.waitingForInSync) return { because: 'waiting for the in-sync set', detail: 'the destination is not in the in-sync set yet' };
  return undefined;
}
