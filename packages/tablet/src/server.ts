/**
 * The tablet process: opens its replicas from disk, serves the data and control routes over
 * HTTP/msgpack, runs TTL GC on a timer, and shuts down cleanly (in-flight requests finish, every
 * database is closed). Replication and ZooKeeper registration plug in through hooks.
 */
import { createHttpServer, parseEndpoint, registeredRoutes, registerHealthRoute, ServerMetrics, TesseraError, type HttpServer, type InjectRequest, type InjectResponse, type Logger } from '@tessera/common';
import { CoordSession, retryWhileZkUnreachable, TabletRegistrar, type Coord } from '@tessera/coord';
import { ReplicaManager } from './replica-manager.js';
import { registerDataRoutes } from './routes-data.js';
import { EpochFence, registerControlRoutes } from './routes-control.js';
import { TabletReplication } from './replication/tablet-replication.js';
import { registerOpRoutes } from './routes-ops.js';
import { registerChecksumRoutes } from './checksum-routes.js';
import { registerBatchRoute } from './routes-batch.js';
import { LeaseKeeper, type LeaseToken } from './lease.js';
import type { Replica } from './replica.js';

/** Read routes whose answer from a leader is re-checked against the lease before it is sent. */
import { registerTabletMetrics } from './metrics.js';
const LEASED_READ_ROUTES = new Set(['/v1/data/get', '/v1/data/get_multi', '/v1/data/scan', '/v1/data/count', '/v1/data/preview']);

export interface TabletOptions {
  /** host:port to listen on. */
  endpoint: string;
  /**
   * host:port this tablet is known by (registration, replica endpoints, replication, routing,
   * self-checks); default `endpoint`. A proxy listening there forwards to `endpoint`.
   */
  advertiseEndpoint?: string;
  dbRootPath: string;
  gcIntervalMinutes: number;
  bodyBytesMax: number;
  shutdownTimeoutMs: number;
  /** Binlog entries kept per replica (a follower further behind gets a snapshot). */
  binlogRetentionEntries: number;
  /** How long a replica_ack=all write waits for its in-sync followers. */
  replicaAckTimeoutMs: number;
  /** Snapshot transfer rate limit per stream, bytes/s (0 = unlimited). */
  snapshotBytesPerSecondMax: number;
  /** Replicas (leader included) that must hold a replica_ack=all write (capped by the partition's size). */
  minInSyncReplicas: number;
  /** Data requests and replication appends taking this long or longer are logged at WARN; 0 or absent = never. */
  slowRequestMs?: number;
  logger: Logger;
  /** Where replicas live: LevelDB under dbRootPath (default), or memory-level (in-process route tests). */
  storage?: 'leveldb' | 'memory';
  /** ZooKeeper to register in; absent = a standalone tablet (tests, benchmarks). */
  zk?: { cluster: string; rootPath: string; sessionTimeoutMs: number };
}

/**
 * What the slow-request log watches: the foreground path — data requests and the replication
 * appends a replica_ack=all write waits for. Snapshots, checksums and control calls are long by
 * nature and stay out of it.
 */
const SLOW_REQUEST_PATHS = ['/v1/data/', '/v1/replica/append'] as const;

export class TabletServer {
  readonly replicas: ReplicaManager;
  readonly fence = new EpochFence();
  readonly replication: TabletReplication;
  /** Served at GET /metrics. */
  readonly metrics = new ServerMetrics('tablet');
  private readonly app: HttpServer;
  private gcTimer: NodeJS.Timeout | undefined;
  private gcRunning = false;
  /** The move checks' routes (checksum-routes.ts); their peer client closes with the tablet. */
  private readonly checksums: { close(): Promise<void> };
  private stopped = false;
  private coord: Coord | undefined;
  private registrar: TabletRegistrar | undefined;
  /** Standalone (always leased) until joinCluster replaces it with one renewed from ZooKeeper. */
  private lease = new LeaseKeeper({ session: undefined, nodePath: '', sessionTimeoutMs: 0, onLost: () => undefined });

  private constructor(private readonly options: TabletOptions) {
    // The one change hook of every replica's state machine: replication follows roles and terms.
    this.replicas = new ReplicaManager(options.dbRootPath, options.logger.child('replicas'), options.storage, (r, change) => this.replication.replicaChanged(r, change));
    this.app = createHttpServer({
      logger: options.logger, bodyBytesMax: options.bodyBytesMax, metrics: this.metrics,
      slowRequests: { ms: options.slowRequestMs ?? 0, pathPrefixes: SLOW_REQUEST_PATHS },
    });
    this.replication = new TabletReplication(this.replicas, {
      binlogRetentionEntries: options.binlogRetentionEntries,
      ackTimeoutMs: options.replicaAckTimeoutMs,
      snapshotBytesPerSecondMax: options.snapshotBytesPerSecondMax,
      minInSyncReplicas: options.minInSyncReplicas,
      log: options.logger.child('replication'),
    });
    const repl = this.replication;
    // A leased read is checked on arrival; its answer is checked again before it leaves, so a leader
    // paused between the two (its lease lapsing meanwhile) never sends what it read.
    // A read that spans a step-down (the lease generation moved since it arrived) is refused too:
    // it may have started as a leader read on the replica that is a follower by now. So is one on a
    // replica that stepped down meanwhile (deposed by a higher term: unassigned until told its role).
    // The route names the replicas it answered from (hooks.readFrom): the check decodes nothing again.
    // A get_multi is re-checked for every replica it read and refused whole (the SDK then sends each get alone).
    const leasedReads = new WeakMap<object, { token: LeaseToken; replicas: Replica[] }>();
    registerDataRoutes(this.app, this.replicas, {
      writeOnce: (r, rows) => repl.writeOnce(r, rows),
      knownWrite: (r, id) => repl.knownWrite(r, id),
      rememberOne: (r, id, offset) => repl.rememberOne(r, id, offset),
      afterLocalWrite: (r, offset) => repl.afterLocalWrite(r, offset),
      visibleOffset: (r) => repl.visibleOffset(r),
      leaderRead: (r) => (r.role === 'leader' && !this.lease.holds() ? this.confirmLeaderRead(r, this.lease.token()) : undefined),
      readFrom: (req, r) => {
        leasedReads.get(req)?.replicas.push(r);
      },
    });
    // Both hooks take a callback, not a promise: they run on every request (writes too), and an
    // async hook costs a promise and a microtask hop each time.
    this.app.addHook('onRequest', (req, _reply, done) => {
      if (LEASED_READ_ROUTES.has(req.url)) leasedReads.set(req, { token: this.lease.token(), replicas: [] });
      done();
    });
    this.app.addHook('preSerialization', (req, reply, payload, done) => {
      const read = leasedReads.get(req);
      if (read === undefined || reply.statusCode >= 300) {
        done(null, payload);
        return;
      }
      for (const r of read.replicas) {
        try {
          r.assertReadable(); // demoted, fenced or unassigned since the read arrived: NOT_LEADER / REPLICA_NOT_SERVING
        } catch (err) {
          done(err as Error);
          return;
        }
        if (!this.lease.holds() || !this.lease.unchangedSince(read.token)) {
          done(this.leaseRefusal(r));
          return;
        }
      }
      done(null, payload);
    });
    registerControlRoutes(this.app, this.replicas, this.fence, {
      progress: (r) => repl.progress(r),
      dropping: (r) => repl.dropping(r),
      zkSession: () => this.coord,
      lease: {
        token: () => this.lease.token(),
        confirm: async (token, what) => {
          if (!(await this.lease.confirm(token))) throw new TesseraError('REPLICA_NOT_SERVING', `${what}: no leader lease (ZooKeeper session not confirmed, or lost since the order arrived)`);
        },
        unchangedSince: (token: LeaseToken) => this.lease.unchangedSince(token),
        status: () => this.leaseStatus(),
      },
    });
    repl.register(this.app, this.fence);
    registerOpRoutes(this.app, this.replicas, this.fence, repl, this.endpoint);
    this.checksums = registerChecksumRoutes(this.app, this.replicas, this.fence, this.endpoint, (r, e) => repl.deliveredSnapshot(r, e));
    registerBatchRoute(this.app, this.fence);
    registerTabletMetrics(this.metrics, this.replicas, repl);
    registerHealthRoute(this.app, () => ({ ok: true, role: 'tablet', endpoint: this.endpoint, listenEndpoint: options.endpoint, replicas: this.replicas.all().length, zkConnected: this.coord ? this.coord.isConnected : null }));
    // A no-op round trip: the HTTP/msgpack floor that every data route pays (benchmarks use it).
    this.app.post('/v1/ping', async () => ({ ok: true }));
  }

  /**
   * A tablet that does not listen: its routes answer fastify's inject(). Standalone, or registered
   * through the given coordination session (the in-memory backend). For in-process tests, with
   * `storage: 'memory'`.
   */
  static async open(options: Omit<TabletOptions, 'zk'>, coord?: Coord): Promise<TabletServer> {
    const server = new TabletServer(options);
    await server.replicas.loadFromDisk();
    await server.app.ready();
    if (coord !== undefined) await server.joinWith(coord);
    return server;
  }

  /** Answers one request in process (fastify's inject), as the socket would. */
  inject(request: InjectRequest): Promise<InjectResponse> {
    return this.app.inject(request);
  }

  /** Every route this tablet registered (method and url). */
  routes(): Array<{ method: string; url: string }> {
    return registeredRoutes(this.app);
  }

  /** Listens on the endpoint; joins ZooKeeper when `options.zk` is set, or registers through `coord` (in-memory backend). */
  static async start(options: TabletOptions, coord?: Coord): Promise<TabletServer> {
    const { host, port } = parseEndpoint(options.endpoint);
    if (options.advertiseEndpoint !== undefined) parseEndpoint(options.advertiseEndpoint);
    const server = new TabletServer(options);
    const found = await server.replicas.loadFromDisk();
    await server.app.listen({ host, port });
    const known = server.endpoint === options.endpoint ? '' : ` (known as ${server.endpoint})`;
    options.logger.info(`tablet ${options.endpoint}${known} serving; ${found} replica(s) found on disk under ${options.dbRootPath}, not served until assigned`);
    server.scheduleGc();
    if (options.zk || coord) {
      try {
        if (options.zk) await server.joinCluster(options.zk);
        else await server.joinWith(coord!);
      } catch (err) {
        await server.stop();
        throw err;
      }
    }
    return server;
  }

  /** Registers `/nodes/<advertised endpoint>` (ephemeral), re-registered by the registrar after expiry. */
  private async joinCluster(zk: NonNullable<TabletOptions['zk']>): Promise<void> {
    const log = this.options.logger;
    await this.joinWith(await CoordSession.connect({ zkCluster: zk.cluster, rootPath: zk.rootPath, sessionTimeoutMs: zk.sessionTimeoutMs, logger: log.child('zk') }));
  }

  private async joinWith(coord: Coord): Promise<void> {
    const log = this.options.logger;
    this.coord = coord;
    this.registrar = new TabletRegistrar(this.coord, coord.layout, this.endpoint, { logger: log, listenEndpoint: this.options.endpoint });
    this.registrar.on('registered', (r) => log.info(`registered in ZooKeeper (startup=${r.startup})`));
    this.coord.on('expired', () => this.onSessionExpired());
    this.lease = new LeaseKeeper({
      session: this.coord, nodePath: this.registrar.path, sessionTimeoutMs: coord.sessionTimeoutMs,
      onLost: (reason) => this.stepDownAll(`leader lease lapsed and not confirmed (${reason})`),
    });
    const lease = this.lease;
    this.registrar.on('registered', () => void lease.renew());
    this.metrics.watchZkSession(this.coord);
    const registrar = this.registrar;
    await retryWhileZkUnreachable('register in ZooKeeper', () => registrar.start(), log);
    lease.start();
    await lease.renew();
  }

  /** A leader read arriving while the lease lapsed: one fresh round trip (bounded), else refused. */
  private async confirmLeaderRead(r: Replica, token: LeaseToken): Promise<void> {
    if (!(await this.lease.confirm(token)) || r.role !== 'leader') throw this.leaseRefusal(r);
  }

  private leaseRefusal(r: Replica): TesseraError {
    return new TesseraError('REPLICA_NOT_SERVING', `replica ${r.tid}_${r.pid}: leader lease lapsed and not confirmed; it may have been failed over`);
  }

  /** The lease state, for /v1/control/status. */
  leaseStatus(): ReturnType<LeaseKeeper['state']['status']> {
    return this.lease.state.status(performance.now());
  }

  /**
   * The ZooKeeper session expired (or was dropped by disconnectzk): the nameserver may have failed
   * this tablet over, and a leader that does not know it yet would answer reads stale. Its leader
   * replicas step down and serve nothing until the nameserver assigns their role again (as after
   * a restart): a new leader elsewhere, or the same role back when nothing was failed over.
   */
  private onSessionExpired(): void {
    this.stepDownAll('ZooKeeper session lost');
  }

  /**
   * Every assigned leader replica steps down, whatever its serving state (a leader paused for a
   * snapshot too; before, only 'normal' ones did), and the lease generation moves so that a role order already under way is refused.
   */
  private stepDownAll(why: string): void {
    // Unassigned replicas (found on disk after a restart, role not told yet) lead nothing.
    const stepped = this.replicas.all().filter((r) => r.machine.allows('relinquish'));
    if (stepped.length === 0) return;
    this.lease.state.bump();
    for (const r of stepped) void this.replication.relinquish(r);
    this.options.logger.warn(`${why}: ${stepped.length} leader replica(s) step down and serve nothing until the nameserver assigns their roles again`);
  }

  /** The ZooKeeper session, when in a cluster (disconnectzk/connectzk use it). */
  get coordSession(): Coord | undefined {
    return this.coord;
  }

  /** The endpoint this tablet is known by (the advertised one). */
  get endpoint(): string {
    return this.options.advertiseEndpoint ?? this.options.endpoint;
  }

  private scheduleGc(): void {
    const intervalMs = Math.max(1, this.options.gcIntervalMinutes) * 60_000;
    this.gcTimer = setInterval(() => void this.runGc(), intervalMs);
    this.gcTimer.unref();
  }

  /** One GC pass over every replica: TTL-expired rows, and deletes committed since the last pass. */
  async runGc(): Promise<number> {
    if (this.gcRunning) return 0;
    this.gcRunning = true;
    let removed = 0;
    try {
      for (const r of this.replicas.all()) {
        try {
          removed += (await r.store.gc()).removed;
          // Deletes the read point has passed (all of them on a follower, which reads unbounded).
          const visible = this.replication.visibleOffset(r);
          if (typeof visible === 'number') await r.store.purgeDeletes(visible);
        } catch (err) {
          this.options.logger.warn(`gc of ${r.tid}_${r.pid} failed: ${(err as Error).message}`);
        }
      }
    } finally {
      this.gcRunning = false;
    }
    return removed;
  }

  /** Stops taking requests, lets in-flight ones finish (bounded), closes every database. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.lease.stop();
    const log = this.options.logger;
    // Leave the cluster first, so the nameserver stops routing to this tablet.
    await this.registrar?.stop().catch((err) => log.warn(`deregistration failed: ${(err as Error).message}`));
    await this.coord?.close().catch(() => undefined);
    const closing = this.app.close();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.shutdownTimeoutMs);
    });
    const outcome = await Promise.race([closing.then(() => 'closed' as const), timeout]);
    if (timer) clearTimeout(timer);
    if (outcome === 'timeout') log.warn(`in-flight requests did not finish within ${this.options.shutdownTimeoutMs} ms`);
    await this.replication.stop();
    await this.checksums.close().catch(() => undefined);
    await this.replicas.closeAll();
    log.info('tablet stopped; databases closed');
  }
}
