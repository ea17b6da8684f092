/**
 * Table metadata as the SDK sees it: TableInfo by tid, kept current from `/table/notify`. The
 * notify stamp names the table that changed (coord/src/notify.ts), so a create, update or drop
 * costs this cache one read of that table's node; only a gap in the sequence (coalesced watches,
 * a reconnect), an older nameserver's bare counter, or an explicit `refresh()` re-reads every
 * table. Lookups by (db, name) and tid are map lookups.
 */
import { TesseraError, type TableInfo } from '@tessera/common';
import { parseNotify, readJsonMany, type Coord, type NotifyStamp, type ZkLayout } from '@tessera/coord';

const nameKey = (db: string, name: string): string => `${db}\u0000${name}`;

export class TableCache {
  private byTid = new Map<number, TableInfo>();
  private byName = new Map<string, number>();
  private unwatch: (() => void) | undefined;
  /** The notify seq this cache is current with; undefined when unknown (next stamp: full read). */
  private seq: number | undefined;
  private wantAll = false;
  private wantTids = new Set<number>();
  private running: Promise<void> | undefined;
  /** Callers waiting for the next completed refresh (see `changed`). */
  private waiters: Array<() => void> = [];

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
  ) {}

  /** Reads the stamp, then every table once; afterwards follows the stamp one table at a time. */
  async start(): Promise<void> {
    const node = await this.session.get(this.layout.notify);
    const stamp = parseNotify(node?.data);
    await this.refresh();
    this.seq = stamp?.seq;
    this.unwatch = this.session.watchData(this.layout.notify, (data) => this.onNotify(parseNotify(data)));
  }

  stop(): void {
    this.unwatch?.();
  }

  private onNotify(stamp: NotifyStamp | undefined): void {
    const last = this.seq;
    this.seq = stamp?.seq;
    if (stamp !== undefined && last !== undefined && stamp.seq === last) return;
    if (stamp !== undefined && last !== undefined && stamp.seq === last + 1) {
      if (stamp.tid === null) return;
      this.wantTids.add(stamp.tid);
    } else {
      this.wantAll = true;
    }
    void this.run().catch(() => undefined);
  }

  /** Re-reads every table (coalesces with a pass under way; one more pass if asked meanwhile). */
  refresh(): Promise<void> {
    this.wantAll = true;
    return this.run();
  }

  /** Re-reads one table's node (gone: forgotten). */
  refreshTable(tid: number): Promise<void> {
    this.wantTids.add(tid);
    return this.run();
  }

  private run(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        while (this.wantAll || this.wantTids.size > 0) {
          if (this.wantAll) {
            this.wantAll = false;
            this.wantTids.clear();
            await this.readAll();
          } else {
            const tids = [...this.wantTids];
            this.wantTids.clear();
            for (const tid of tids) await this.readOne(tid);
          }
        }
      } catch (err) {
        this.seq = undefined; // a change may have been missed: the next stamp re-reads everything
        throw err;
      }
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async readAll(): Promise<void> {
    let names: string[] = [];
    try {
      names = await this.session.children(this.layout.tableDataDir);
    } catch (err) {
      if ((err as TesseraError).details?.zkError !== 'ZNONODE') throw err;
    }
    const next = new Map<number, TableInfo>();
    const tids = names.map(Number).filter((tid) => Number.isSafeInteger(tid));
    const nodes = await readJsonMany<TableInfo>(this.session, tids.map((tid) => this.layout.tableData(tid)));
    nodes.forEach((node, i) => {
      if (node) next.set(tids[i]!, node.value);
    });
    this.byTid = next;
    this.byName = new Map([...next.values()].map((t) => [nameKey(t.schema.db, t.schema.name), t.tid]));
  }

  private async readOne(tid: number): Promise<void> {
    const node = await this.session.getJson<TableInfo>(this.layout.tableData(tid));
    const old = this.byTid.get(tid);
    if (old) this.byName.delete(nameKey(old.schema.db, old.schema.name));
    if (node) {
      this.byTid.set(tid, node.value);
      this.byName.set(nameKey(node.value.schema.db, node.value.schema.name), tid);
    } else {
      this.byTid.delete(tid);
    }
  }

  /**
   * Resolves when the next refresh completes — at once after the nameserver bumps /table/notify
   * (a leader change), so a caller waiting out a failover retries as soon as routing changed.
   */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  find(db: string, name: string): TableInfo | undefined {
    const tid = this.byName.get(nameKey(db, name));
    return tid === undefined ? undefined : this.byTid.get(tid);
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
