/**
 * The cluster metadata the leader nameserver keeps: databases and tables (TableInfo by tid), read
 * from ZooKeeper when it takes over and written through on every change (compare-and-set on the
 * node version, so a deposed leader cannot overwrite a newer table), with `/table/notify` bumped
 * after each change naming the table it was about, so that SDKs re-read that one table (see
 * coord/src/notify.ts): a create, update or drop costs O(that table) in ZooKeeper, never O(all).
 */
import { TesseraError, validateName, type Logger, type TableInfo } from '@tessera/common';
import { bumpNotify, readJsonMany, type Coord, type NotifyHint, type ZkLayout } from '@tessera/coord';

/**
 * This process's bumps of `/table/notify` go one at a time, so they never contend with each other
 * on its compare-and-set (a bulk failover writes hundreds of tables at once: each bump retried
 * against the others, with backoff, took tens of seconds at 100 tables). Bumps asked for while one
 * is under way are merged into the next: it names the table when only one changed meanwhile, else
 * it jumps the seq by 2, so that SDKs re-read everything once instead of each table once (a bump
 * of 1 naming no table made them re-read no table: a bulk failover's tables stayed stale in every
 * SDK cache — snapshot-resend.test under CI).
 */
/** A merged bump's seq step: a jump, which readers answer by re-reading every table. */
const MERGED_SEQ_STEP = 2;

export class NotifyBumps {
  private last: Promise<void> = Promise.resolve();
  private next: { tids: Set<number | null>; done: Promise<void> } | undefined;

  constructor(private readonly bump: (tid: number | null, seqStep: number) => Promise<unknown>) {}

  request(tid: number | null): Promise<void> {
    if (this.next !== undefined) {
      this.next.tids.add(tid);
      return this.next.done;
    }
    const tids = new Set<number | null>([tid]);
    const done = this.last.catch(() => undefined).then(async () => {
      if (this.next?.tids === tids) this.next = undefined;
      if (tids.size === 1) await this.bump([...tids][0]!, 1);
      else await this.bump(null, MERGED_SEQ_STEP);
    });
    this.next = { tids, done };
    this.last = done;
    return done;
  }

  /** Resolves when every bump asked for so far has been written or has failed. */
  settled(): Promise<void> {
    return this.last.catch(() => undefined);
  }
}

/** Values a nameserver reserves from a ZooKeeper counter in one write (named limit). */
export const COUNTER_BLOCK_SIZE = 16;

/**
 * Ids handed out from blocks of a ZooKeeper counter: one compare-and-set reserves
 * COUNTER_BLOCK_SIZE values, so fifteen creates in sixteen allocate their tid and term without a
 * ZooKeeper round trip (2–5 ms of a ~40 ms create on a quiet machine, issue 16). Every value is
 * still handed out once across nameservers (each block is the reserving session's alone); a block
 * left unused by a leadership that ended is skipped, so tids may have gaps, as after a failed
 * create. Takes are served in order of asking; one reservation is under way at a time.
 */
export class CounterBlock {
  private next = 1;
  private last = 0;
  private reserving: Promise<void> | undefined;

  constructor(private readonly reserve: (count: number) => Promise<number>, private readonly size = COUNTER_BLOCK_SIZE) {}

  async take(): Promise<number> {
    while (this.next > this.last) {
      this.reserving ??= this.reserve(this.size).then(
        (top) => {
          this.next = top - this.size + 1;
          this.last = top;
        },
      ).finally(() => {
        this.reserving = undefined;
      });
      await this.reserving;
    }
    return this.next++;
  }
}

interface Versioned {
  info: TableInfo;
  version: number;
}

export class MetadataStore {
  private dbs = new Set<string>();
  private tables = new Map<number, Versioned>();
  /** What this nameserver's last bump wrote (its next one is a single compare-and-set). */
  private readonly notifyHint: NotifyHint = {};
  private tidBlock = this.counterBlock('tableIndex');
  private termBlock = this.counterBlock('term');
  private readonly bumps = new NotifyBumps((tid, seqStep) => bumpNotify(this.session, this.layout.notify, tid, seqStep, this.notifyHint));

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    private readonly log: Logger,
  ) {}

  /** Reads everything from ZooKeeper (on becoming leader). */
  async load(): Promise<void> {
    const L = this.layout;
    // Blocks reserved in an earlier leadership are left unused: ids go on from the counters.
    this.tidBlock = this.counterBlock('tableIndex');
    this.termBlock = this.counterBlock('term');
    for (const p of [L.dbDir, L.tableDataDir, L.opDataDir, L.configDir, L.nodes, L.leaderDir]) await this.session.ensurePath(p);
    this.dbs = new Set(await this.session.children(L.dbDir));
    const tables = new Map<number, Versioned>();
    const tids = (await this.session.children(L.tableDataDir)).map(Number).filter((tid) => Number.isSafeInteger(tid));
    const nodes = await readJsonMany<TableInfo>(this.session, tids.map((tid) => L.tableData(tid)));
    nodes.forEach((node, i) => {
      if (node) tables.set(tids[i]!, { info: node.value, version: node.version });
    });
    this.tables = tables;
    this.log.info(`metadata loaded: ${this.dbs.size} database(s), ${tables.size} table(s)`);
  }

  databases(): string[] {
    return [...this.dbs].sort();
  }

  hasDb(db: string): boolean {
    return this.dbs.has(db);
  }

  requireDb(db: string): void {
    if (!this.dbs.has(db)) throw new TesseraError('DATABASE_NOT_FOUND', 'database not found', { db });
  }

  async createDb(db: string): Promise<void> {
    validateName('database', db);
    if (this.dbs.has(db)) throw new TesseraError('DATABASE_EXISTS', 'database already exists', { db });
    try {
      await this.session.create(this.layout.db(db), '');
    } catch (err) {
      if ((err as TesseraError).details?.zkError !== 'ZNODEEXISTS') throw err;
    }
    this.dbs.add(db);
    await this.bumpNotify(null);
  }

  async dropDb(db: string): Promise<void> {
    this.requireDb(db);
    if (this.tablesOf(db).length > 0) throw new TesseraError('DATABASE_NOT_EMPTY', 'database not empty', { db });
    await this.session.delete(this.layout.db(db));
    this.dbs.delete(db);
    await this.bumpNotify(null);
  }

  allTables(): TableInfo[] {
    return [...this.tables.values()].map((v) => v.info).sort((a, b) => a.tid - b.tid);
  }

  tablesOf(db: string): TableInfo[] {
    return this.allTables().filter((t) => t.schema.db === db);
  }

  findTable(db: string, name: string): TableInfo | undefined {
    for (const v of this.tables.values()) if (v.info.schema.db === db && v.info.schema.name === name) return v.info;
    return undefined;
  }

  /** The table, or TABLE_NOT_FOUND with OpenMLDB's text. */
  requireTable(db: string, name: string): TableInfo {
    const t = this.findTable(db, name);
    if (!t) throw new TesseraError('TABLE_NOT_FOUND', `table ${name} does not exist`, { db, name });
    return t;
  }

  table(tid: number): TableInfo | undefined {
    return this.tables.get(tid)?.info;
  }

  /** A fresh block of one of the layout's counters (nothing reserved until the first take). */
  private counterBlock(counter: 'tableIndex' | 'term'): CounterBlock {
    return new CounterBlock((n) => this.session.incrementCounter(this.layout[counter], n));
  }

  /** A new table's tid (from a block this nameserver reserved; see CounterBlock). */
  allocTid(): Promise<number> {
    return this.tidBlock.take();
  }

  /** A new table's first term (the term counter serves creates only). */
  allocTerm(): Promise<number> {
    return this.termBlock.take();
  }

  /**
   * Writes a new table's node (fails if the tid is taken) and notifies without waiting for it: the
   * creating SDK reads the new table itself, and an SDK that looks a table up by name and misses
   * re-reads before it answers TABLE_NOT_FOUND (client/src/table-cache.ts `require`), so the
   * create's answer need not wait for a second ZooKeeper write (~5 ms of a ~45 ms create on a
   * quiet machine, issue 16). A bump that fails is logged; the next one that does not name this
   * table still leaves SDKs to find it by that re-read.
   */
  async addTable(info: TableInfo): Promise<void> {
    await this.session.create(this.layout.tableData(info.tid), info);
    // A node this create made is at version 0 (ZooKeeper counts data versions from its creation).
    this.tables.set(info.tid, { info, version: 0 });
    this.bumpNotify(info.tid).catch((err: unknown) => this.log.warn(`notify of new table ${info.schema.db}.${info.schema.name} (tid ${info.tid}) failed: ${(err as Error).message}`));
  }

  /** Replaces a table's info, compare-and-set on the version this nameserver last saw. */
  async updateTable(info: TableInfo): Promise<void> {
    const current = this.tables.get(info.tid);
    if (!current) throw new TesseraError('TABLE_NOT_FOUND', `table tid ${info.tid} does not exist`);
    const res = await this.session.setJson(this.layout.tableData(info.tid), info, current.version);
    if (!res.ok) {
      throw new TesseraError('COORD_ERROR', `table ${info.schema.name} changed in ZooKeeper under this nameserver (${res.reason}); is another nameserver leading?`);
    }
    this.tables.set(info.tid, { info, version: res.version });
    await this.bumpNotify(info.tid);
  }

  async deleteTable(tid: number): Promise<void> {
    await this.session.delete(this.layout.tableData(tid));
    this.tables.delete(tid);
    await this.bumpNotify(tid);
  }

  /** Resolves when the notify bumps asked for so far (addTable's too) have landed or failed. */
  notifySettled(): Promise<void> {
    return this.bumps.settled();
  }

  /** Tells SDKs that `tid` changed (null: something that is no table's, e.g. a database). */
  async bumpNotify(tid: number | null): Promise<void> {
    await this.bumps.request(tid);
  }
}
