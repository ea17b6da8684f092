/**
 * The snapshot bandwidth settings of the cluster (`confset snapshot_bytes_per_sec N` per op,
 * `confset snapshot_bytes_per_sec_per_tablet N` per destination tablet; 0 = unlimited), kept in
 * ZooKeeper under /config and pushed by the leading nameserver to every healthy tablet
 * (`/v1/control/snapshot_limit`): at once on confset, and after each status poll to any tablet
 * that has not yet acknowledged the current values (a tablet that came up, a push that failed).
 * Tablets apply a new value to running transfers within a throttle slice (200 ms).
 */
import { invalidArgument, type Logger } from '@tessera/common';
import type { Coord, ZkLayout } from '@tessera/coord';
import { PerTablet } from './per-tablet.js';
import type { TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';

export const SNAPSHOT_LIMIT_KEYS = ['snapshot_bytes_per_sec', 'snapshot_bytes_per_sec_per_tablet'] as const;
export type SnapshotLimitKey = (typeof SNAPSHOT_LIMIT_KEYS)[number];

/** Largest value accepted (bytes/s): 1 TiB/s, far above any link. */
const BYTES_PER_SEC_MAX = 2 ** 40;

export function isSnapshotLimitKey(key: string): key is SnapshotLimitKey {
  return (SNAPSHOT_LIMIT_KEYS as readonly string[]).includes(key);
}

/** Parses a confset value: a non-negative integer of bytes/s (0 = unlimited). */
export function parseBytesPerSec(value: string): number {
  if (!/^\d{1,14}$/.test(value) || Number(value) > BYTES_PER_SEC_MAX) throw invalidArgument(`value must be bytes per second, an integer 0..${BYTES_PER_SEC_MAX} (0 = unlimited)`);
  return Number(value);
}

export class SnapshotLimits {
  private values: Record<SnapshotLimitKey, number> = { snapshot_bytes_per_sec: 0, snapshot_bytes_per_sec_per_tablet: 0 };
  /**
   * The keys an operator set with confset. Only these are pushed: a tablet keeps its own
   * `--stream_bandwidth_limit` for a key never set (pushing the default 0 undid that flag on every
   * tablet after the first status poll, so throttled migrates ran unthrottled: ops-faults.test).
   */
  private readonly setKeys = new Set<SnapshotLimitKey>();
  /** What each tablet acknowledged, as `perStream/perDestination` (forgotten when it comes up or goes down). */
  private readonly pushed: PerTablet<string>;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    private readonly tablets: TabletTracker,
    private readonly control: TabletControl,
    private readonly log: Logger,
  ) {
    this.pushed = new PerTablet(tablets);
  }

  private path(key: SnapshotLimitKey): string {
    return `${this.layout.configDir}/${key}`;
  }

  /** Reads the values from ZooKeeper (at takeover); tablets get them at the next push. */
  async load(): Promise<void> {
    for (const key of SNAPSHOT_LIMIT_KEYS) {
      const node = await this.session.get(this.path(key));
      this.values[key] = node === undefined ? 0 : Number(node.data.toString('utf8')) || 0;
      if (node === undefined) this.setKeys.delete(key);
      else this.setKeys.add(key);
    }
    this.pushed.clear();
  }

  get(key: SnapshotLimitKey): number {
    return this.values[key];
  }

  async set(key: SnapshotLimitKey, bytesPerSec: number): Promise<void> {
    await this.session.createOrSet(this.path(key), String(bytesPerSec));
    this.values[key] = bytesPerSec;
    this.setKeys.add(key);
    await this.pushAll();
  }

  /** Pushes the values set with confset to every healthy tablet that does not hold them yet. */
  async pushAll(): Promise<void> {
    if (this.setKeys.size === 0) return;
    const body: { perStreamBytesPerSec?: number; perDestinationBytesPerSec?: number } = {};
    if (this.setKeys.has('snapshot_bytes_per_sec')) body.perStreamBytesPerSec = this.values.snapshot_bytes_per_sec;
    if (this.setKeys.has('snapshot_bytes_per_sec_per_tablet')) body.perDestinationBytesPerSec = this.values.snapshot_bytes_per_sec_per_tablet;
    const want = `${body.perStreamBytesPerSec ?? '-'}/${body.perDestinationBytesPerSec ?? '-'}`;
    await Promise.all(this.tablets.healthy().filter((ep) => this.pushed.get(ep) !== want).map(async (ep) => {
      try {
        await this.control.command(ep, '/v1/control/snapshot_limit', body);
        this.pushed.set(ep, want);
      } catch (err) {
        this.log.debug(`snapshot limit to ${ep} failed: ${(err as Error).message}`);
      }
    }));
  }
}
