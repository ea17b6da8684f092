/**
 * Table metadata as the SDK sees it: every TableInfo read from ZooKeeper, refreshed whenever
 * `/table/notify` changes and on demand (after a NOT_LEADER). Lookups by (db, name) and tid.
 */
import { TesseraError, type TableInfo } from '@tessera/common';
import type { CoordSession, ZkLayout } from '@tessera/coord';

export class TableCache {
  private byTid = new Map<number, TableInfo>();
  private unwatch: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private dirty = false;
  /** Callers waiting for the next completed refresh (see `changed`). */
  private waiters: Array<() => void> = [];

  constructor(
    private readonly session: CoordSession,
    private readonly layout: ZkLayout,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.unwatch = this.session.watchData(this.layout.notify, () => void this.refresh().catch(() => undefined));
  }

  stop(): void {
    this.unwatch?.();
  }

  /** Re-reads every table (coalesces concurrent calls; one more pass if asked meanwhile). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.dirty = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.dirty = false;
        const next = new Map<number, TableInfo>();
        let names: string[] = [];
        try {
          names = await this.session.children(this.layout.tableDataDir);
        } catch (err) {
          if ((err as TesseraError).details?.zkError !== 'ZNONODE') throw err;
        }
        for (const name of names) {
          const tid = Number(name);
          if (!Number.isSafeInteger(tid)) continue;
          const node = await this.session.getJson<TableInfo>(this.layout.tableData(tid));
          if (node) next.set(tid, node.value);
        }
        this.byTid = next;
      } while (this.dirty);
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * Resolves when the next refresh completes — at once after the nameserver bumps /table/notify
   * (a leader change), so a caller waiting out a failover retries as soon as routing changed.
   */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  find(db: string, name: string): TableInfo | undefined {
    for (const t of this.byTid.values()) if (t.schema.db === db && t.schema.name === name) return t;
    return undefined;
  }

  /** The table, or TABLE_NOT_FOUND; refreshes once before giving up. */
  async require(db: string, name: string): Promise<TableInfo> {
    let t = this.find(db, name);
    if (!t) {
      await this.refresh();
      t = this.find(db, name);
    }
    if (!t) throw new TesseraError('TABLE_NOT_FOUND', `table ${name} does not exist in database ${db}`, { db, name });
    return t;
  }

  byId(tid: number): TableInfo | undefined {
    return this.byTid.get(tid);
  }
}
