/**
 * The tablet's snapshot bandwidth limits, changeable while snapshots stream: a limit per stream
 * (per op: one op moves one partition, so one stream) and a limit per destination tablet, shared
 * by every stream this tablet sends to it. Set by the nameserver (`confset snapshot_bytes_per_sec`
 * / `snapshot_bytes_per_sec_per_tablet`, pushed as `/v1/control/snapshot_limit`); the
 * `--stream_bandwidth_limit` flag is the per-stream value until the nameserver sets one.
 *
 * Each limit is a debt counter: sending n bytes adds n, the debt drains at the current limit, and
 * a sender waits while it owes anything. A sender waits in slices of at most WAIT_SLICE_MS and
 * re-reads the limits after each, so a changed limit takes effect within a slice. 0 = unlimited.
 */
import { sleep } from '@tessera/common';

/** Longest single sleep of a throttled sender: how soon a changed limit takes effect. */
export const WAIT_SLICE_MS = 200;

/** Smallest piece a throttled chunk is split into. */
export const PIECE_BYTES_MIN = 16 * 1024;

export interface SnapshotLimits {
  /** Bytes/s of one snapshot stream (one op); 0 = unlimited. */
  perStreamBytesPerSec: number;
  /** Bytes/s into one destination tablet, over every stream from this tablet; 0 = unlimited. */
  perDestinationBytesPerSec: number;
}

class Debt {
  bytes = 0;
  atMs = 0;

  /** Drains what the rate paid since the last look; returns what is still owed. */
  owed(rate: number, nowMs: number): number {
    if (rate <= 0) this.bytes = 0;
    else if (this.atMs > 0) this.bytes = Math.max(0, this.bytes - ((nowMs - this.atMs) * rate) / 1000);
    this.atMs = nowMs;
    return this.bytes;
  }
}

/** One stream's debt, owned by the stream (it ends with it). */
export type StreamDebt = Debt;

export class SnapshotThrottle {
  private limits: SnapshotLimits;
  private readonly perDestination = new Map<string, Debt>();

  constructor(
    flagBytesPerSec: number,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { perStreamBytesPerSec: Math.max(0, flagBytesPerSec), perDestinationBytesPerSec: 0 };
  }

  get current(): SnapshotLimits {
    return { ...this.limits };
  }

  /**
   * Largest snapshot request under the current limits: about one wait slice's worth of bytes (at
   * least PIECE_BYTES_MIN), so that a throttled copy moves, and reports progress, in small steps
   * rather than one 1 MiB chunk every few seconds; unlimited when no limit is set.
   */
  pieceBytesMax(): number {
    const rates = [this.limits.perStreamBytesPerSec, this.limits.perDestinationBytesPerSec].filter((r) => r > 0);
    if (rates.length === 0) return Number.POSITIVE_INFINITY;
    return Math.max(PIECE_BYTES_MIN, Math.floor((Math.min(...rates) * WAIT_SLICE_MS) / 1000));
  }

  set(limits: SnapshotLimits): void {
    this.limits = { perStreamBytesPerSec: Math.max(0, limits.perStreamBytesPerSec), perDestinationBytesPerSec: Math.max(0, limits.perDestinationBytesPerSec) };
  }

  newStreamDebt(): StreamDebt {
    return new Debt();
  }

  /** Milliseconds `stream` (sending to `des`) still has to wait before its next chunk; 0 = go. */
  waitMs(stream: StreamDebt, des: string): number {
    const nowMs = this.now();
    const { perStreamBytesPerSec: s, perDestinationBytesPerSec: d } = this.limits;
    const ownMs = s > 0 ? (stream.owed(s, nowMs) / s) * 1000 : (stream.owed(0, nowMs), 0);
    const dest = this.destDebt(des);
    const destMs = d > 0 ? (dest.owed(d, nowMs) / d) * 1000 : (dest.owed(0, nowMs), 0);
    return Math.max(ownMs, destMs);
  }

  /** Records `bytes` sent by `stream` to `des`. */
  sent(stream: StreamDebt, des: string, bytes: number): void {
    // Settle the debts up to now first: time spent idle is no credit for later chunks.
    const nowMs = this.now();
    stream.owed(this.limits.perStreamBytesPerSec, nowMs);
    stream.bytes += bytes;
    const dest = this.destDebt(des);
    dest.owed(this.limits.perDestinationBytesPerSec, nowMs);
    dest.bytes += bytes;
  }

  /**
   * Waits until `stream` may send to `des`, in slices, calling `blocked(true)` while it waits and
   * `blocked(false)` when it may go; gives up early when `stopped()` says so.
   */
  async acquire(stream: StreamDebt, des: string, stopped: () => boolean, blocked: (waiting: boolean) => void): Promise<void> {
    for (;;) {
      const ms = this.waitMs(stream, des);
      if (ms <= 0 || stopped()) break;
      blocked(true);
      await sleep(Math.min(WAIT_SLICE_MS, Math.ceil(ms)));
    }
    blocked(false);
  }

  private destDebt(des: string): Debt {
    let d = this.perDestination.get(des);
    if (d === undefined) {
      d = new Debt();
      this.perDestination.set(des, d);
    }
    return d;
  }
}
