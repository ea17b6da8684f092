/**
 * The nameserver process: joins the election under `/leader`; the winner raises `/ns_epoch`,
 * loads metadata from ZooKeeper and answers admin commands; standbys answer NS_NOT_LEADER with
 * the leader's endpoint and keep watching tablets so they can take over at once. Every control
 * request to a tablet carries the epoch (tablets refuse lower ones). The process listens on
 * `endpoint` and is known by `advertiseEndpoint` (default `endpoint`) everywhere else: its
 * election node, showns, health, NS_NOT_LEADER hints. disconnectzk closes the ZooKeeper session
 * (a leader steps down before the command answers) and keeps it closed until connectzk, which
 * opens a new session and rejoins the election (as a standby when another nameserver leads).
 */
import {
  bodyObject, createHttpServer, NS_COMMANDS, parseEndpoint, nsRoute, registeredRoutes, registerHealthRoute, ServerMetrics, TesseraError, type HttpServer, type InjectRequest, type InjectResponse, type Logger, type NsCommand,
  type ApplyRequest, type RebalanceRequest, type ScaleOutRequest,
  type OpIssuer,
} from '@tessera/common';
import { CoordSession, LeaderElection, readLeader, retryWhileZkUnreachable, zkLayout, type Coord, type ZkLayout } from '@tessera/coord';
import { seededRandom } from '../core/random.js';
import { MetadataCommands } from './metadata-commands.js';
import { MetadataStore } from './metadata.js';
import { StatusPoller } from './status-poller.js';
import { TabletControl } from './tablet-client.js';
import { TabletTracker } from './tablets.js';
import { issuerContext, OpShell } from './op-shell.js';
import { OpView } from './op-view.js';
import { SnapshotLimits } from './snapshot-limits.js';
import { validateAdminBody } from './admin-validate.js';
import { FailoverTimer } from './failover.js';
import { systemClock, type Clock } from './clock.js';
import { registerStatusPage } from './status-page.js';
import { statusView } from './status-view.js';
import { registerNameserverMetrics } from './metrics.js';
import { setTtl } from './setttl.js';
import type { AdminCommand } from '../core/events.js';
import { PlanStore } from './plans.js';
import { AUTO_FAILOVER_ENABLED, cancelRefusedWithAutoFailover, refusedWithAutoFailover } from '../core/failover-gate.js';


export interface NameServerOptions {
  /** host:port to listen on. */
  endpoint: string;
  /** host:port this nameserver is known by (election node, showns, hints); default `endpoint`. */
  advertiseEndpoint?: string;
  zkCluster: string;
  zkRootPath: string;
  zkSessionTimeoutMs: number;
  autoFailover: boolean;
  tabletHeartbeatTimeoutMs: number;
  taskConcurrency: number;
  tableStatusIntervalMs: number;
  inSyncLagEntriesMax: number;
  syncDeltaEntriesMax: number;
  /** A sync check that nothing can end fails after this long (ms). */
  syncStallTimeoutMs?: number;
  inSyncSilentMsMax: number;
  partitionNumDefault: number;
  replicaNumDefault: number;
  requestTimeoutMs: number;
  logger: Logger;
  /** Wall time for the whole shell (server/clock.ts); default the process clock. Tests drive their own. */
  clock?: Clock;
}

type Handler = (body: Record<string, unknown>) => unknown;

/** How often the op engine is ticked (its timeouts and resends are in its own config). */
const OP_TICK_INTERVAL_MS = 500;
/** How often offline tablets are checked against tablet_heartbeat_timeout (OpenMLDB: 1 s). */
const FAILOVER_CHECK_INTERVAL_MS = 500;

export class NameServer {
  /** Served at GET /metrics. */
  readonly metrics = new ServerMetrics('nameserver');
  private readonly app: HttpServer;
  private readonly log: Logger;
  private session!: Coord;
  private layout!: ZkLayout;
  private election!: LeaderElection;
  private tablets!: TabletTracker;
  private meta!: MetadataStore;
  private control!: TabletControl;
  private poller!: StatusPoller;
  private ops!: OpShell;
  /** scaleout/rebalance plans kept for `apply` (plans.ts). */
  private readonly plans = new PlanStore((c) => this.ops.admin(c));
  private failover!: FailoverTimer;
  private admin!: MetadataCommands;
  private opView!: OpView;
  private snapshotLimits!: SnapshotLimits;
  private epoch = 0;
  private leading = false;
  private leaderEndpoint: string | undefined;
  private transition: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(private readonly options: NameServerOptions) {
    this.log = options.logger;
    this.app = createHttpServer({ logger: options.logger, bodyBytesMax: 1024 * 1024, metrics: this.metrics });
    registerHealthRoute(this.app, () => ({ ok: true, role: 'nameserver', endpoint: this.endpoint, listenEndpoint: options.endpoint, leader: this.leading, zkConnected: this.session?.isConnected ?? false }));
    registerNameserverMetrics(this.metrics, {
      isLeader: () => this.leading,
      healthyTablets: () => this.tablets?.healthy().length ?? 0,
      knownTablets: () => this.tablets?.all().length ?? 0,
      ops: () => (this.leading ? this.ops.core.ops() : []),
    });
  }

  static async start(options: NameServerOptions): Promise<NameServer> {
    const ns = new NameServer(options);
    await ns.init(undefined);
    return ns;
  }

  /**
   * A nameserver on the given coordination session (the in-memory backend) that does not listen:
   * its routes answer fastify's inject(). For in-process tests of the shell; `zkCluster` unused.
   */
  static async open(options: NameServerOptions, coord: Coord): Promise<NameServer> {
    const ns = new NameServer(options);
    await ns.init(coord);
    return ns;
  }

  /** Answers one request in process (fastify's inject), as the socket would. */
  inject(request: InjectRequest): Promise<InjectResponse> {
    return this.app.inject(request);
  }

  /** Every route this nameserver registered (method and url). */
  routes(): Array<{ method: string; url: string }> {
    return registeredRoutes(this.app);
  }

  /** The endpoint this nameserver is known by (the advertised one). */
  get endpoint(): string {
    return this.options.advertiseEndpoint ?? this.options.endpoint;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts on `coord` without listening, or on its own ZooKeeper session listening on the endpoint. */
  private async init(coord: Coord | undefined): Promise<void> {
    const o = this.options;
    const { host, port } = parseEndpoint(o.endpoint);
    parseEndpoint(this.endpoint);
    this.session = coord ?? await CoordSession.connect({ zkCluster: o.zkCluster, rootPath: o.zkRootPath, sessionTimeoutMs: o.zkSessionTimeoutMs, logger: this.log.child('zk') });
    this.metrics.watchZkSession(this.session);
    this.layout = zkLayout(o.zkRootPath);
    const clock = o.clock ?? systemClock;
    this.tablets = new TabletTracker(this.session, this.layout, this.log.child('tablets'), clock);
    this.meta = new MetadataStore(this.session, this.layout, this.log.child('meta'));
    this.control = new TabletControl(() => this.epoch, o.requestTimeoutMs);
    this.poller = new StatusPoller(this.tablets, this.control, o.tableStatusIntervalMs, clock, this.log.child('status'));
    const random = seededRandom(clock.nowMs() >>> 0);
    this.ops = new OpShell(this.session, this.layout, this.meta, this.tablets, this.poller, this.control, random, {
      taskConcurrency: o.taskConcurrency, syncDeltaEntriesMax: o.syncDeltaEntriesMax, syncStallTimeoutMs: o.syncStallTimeoutMs, tabletDownTaskGraceMs: o.tabletHeartbeatTimeoutMs, tickIntervalMs: OP_TICK_INTERVAL_MS, clock,
      inSyncLagEntriesMax: o.inSyncLagEntriesMax, inSyncSilentMsMax: o.inSyncSilentMsMax,
    }, this.log.child('ops'));
    this.failover = new FailoverTimer(this.session, this.layout, this.tablets, this.ops, {
      heartbeatTimeoutMs: o.tabletHeartbeatTimeoutMs, checkIntervalMs: FAILOVER_CHECK_INTERVAL_MS,
    }, this.log.child('failover'));
    this.opView = new OpView({ ops: this.ops, poller: this.poller, control: this.control, tablets: this.tablets, clock, concurrencyMax: o.taskConcurrency, syncDeltaEntriesMax: o.syncDeltaEntriesMax });
    this.snapshotLimits = new SnapshotLimits(this.session, this.layout, this.tablets, this.control, this.log.child('snapshot-limits'));
    this.poller.onPolled(() => {
      if (this.leading) void this.snapshotLimits.pushAll();
    });
    this.admin = new MetadataCommands({
      session: this.session, layout: this.layout, meta: this.meta, tablets: this.tablets, poller: this.poller,
      ops: this.ops, defaults: { partitionNum: o.partitionNumDefault, replicaNum: o.replicaNumDefault },
      snapshotLimits: this.snapshotLimits,
    });
    this.registerRoutes();
    registerStatusPage(this.app, {
      leading: () => this.leading,
      leader: async () => this.leaderEndpoint ?? (await readLeader(this.session, this.layout).catch(() => undefined)),
      view: async () => statusView({
        nowMs: clock.nowMs(), leader: this.endpoint, epoch: this.epoch, tablets: this.admin.showtablet().tablets, tables: this.meta.allTables(),
        replica: (ep, tid, pid) => this.poller.replica(ep, tid, pid), replicasOf: (ep) => this.poller.replicasOf(ep),
        hasReport: (ep) => this.poller.hasReport(ep), ops: this.ops.core.ops(),
      }),
    });
    if (coord === undefined) await this.app.listen({ host, port });
    else await this.app.ready();
    await retryWhileZkUnreachable('watch the tablets', () => this.tablets.start(), this.log);
    this.election = new LeaderElection(this.session, this.layout, this.endpoint, { logger: this.log });
    this.election.on('leader', () => this.queueTransition(() => this.becomeLeader()));
    this.election.on('standby', (leader) => {
      // Stop acting as leader now, not after a takeover still in the queue.
      this.stepDown();
      this.queueTransition(() => this.becomeStandby(leader));
    });
    await retryWhileZkUnreachable('join the leader election', () => this.election!.start(), this.log);
    const known = this.endpoint === o.endpoint ? '' : ` (known as ${this.endpoint})`;
    this.log.info(`nameserver ${o.endpoint}${known} started (${this.leading ? 'leader' : 'standby'})`);
  }

  private queueTransition(fn: () => Promise<void>): void {
    this.transition = this.transition.then(fn).catch((err) => this.log.error(`leadership change failed: ${(err as Error).stack ?? String(err)}`));
  }

  private async becomeLeader(): Promise<void> {
    if (this.stopped || this.leading) return;
    this.epoch = await this.session.incrementCounter(this.layout.nsEpoch);
    await this.meta.load();
    if (!(await this.session.exists(this.layout.autoFailover))) {
      await this.session.createOrSet(this.layout.autoFailover, String(this.options.autoFailover));
    }
    await this.snapshotLimits.load();
    this.poller.start();
    try {
      await this.ops.becomeLeader(this.epoch);
    } catch (err) {
      this.poller.stop();
      this.ops.lostLeadership();
      throw err;
    }
    if (!this.election.isLeader) {
      // Leadership was lost while taking over (disconnectzk, a lost connection): undo.
      this.poller.stop();
      this.ops.lostLeadership();
      this.log.warn(`lost leadership while taking over with epoch ${this.epoch}`);
      return;
    }
    this.failover.start();
    this.leaderEndpoint = this.endpoint;
    this.leading = true;
    this.log.info(`leading with epoch ${this.epoch}`);
  }

  private async becomeStandby(leader: string | undefined): Promise<void> {
    this.stepDown();
    this.leaderEndpoint = leader;
  }

  /** Stops every leader activity at once (admin commands answer NS_NOT_LEADER from here on). */
  private stepDown(): void {
    if (!this.leading) return;
    this.leading = false;
    this.leaderEndpoint = undefined;
    this.log.warn(`lost leadership (epoch ${this.epoch}); standing by`);
    this.poller.stop();
    this.ops.lostLeadership();
    this.failover.stop();
  }

  private handlers(): Partial<Record<NsCommand, Handler>> {
    const a = this.admin;
    return {
      showtablet: () => a.showtablet(),
      showns: () => this.showns(),
      createdb: (b) => a.createdb(b),
      dropdb: (b) => a.dropdb(b),
      showdb: () => a.showdb(),
      createtable: (b) => a.createtable(b),
      droptable: (b) => a.droptable(b),
      showtable: (b) => a.showtable(b),
      showschema: (b) => a.showschema(b),
      info: (b) => a.info(b),
      confset: (b) => a.confset(b),
      migrate: (b) => this.ops.admin({ type: 'migrate', ...b } as AdminCommand),
      addreplica: (b) => this.ops.admin({ type: 'addreplica', ...b } as AdminCommand),
      delreplica: (b) => this.ops.admin({ type: 'delreplica', ...b } as AdminCommand),
      changeleader: (b) => this.ops.admin({ type: 'changeleader', ...b } as AdminCommand),
      showopstatus: async (b) => {
        const { detail, ...filter } = b;
        const res = (await this.ops.admin({ type: 'showopstatus', ...filter } as AdminCommand)) as { ops: Array<{ opId: number }> };
        if (detail !== true) return res;
        const ops = res.ops.map((r) => this.ops.core.op(r.opId)).filter((o) => o !== undefined);
        return { ...res, details: this.opView.details(ops) };
      },
      showop: (b) => this.opView.detail(b.opId as number).then((op) => ({ op })),
      cancelop: (b) => this.ops.admin({ type: 'cancelop', ...b } as AdminCommand),
      deleteop: (b) => this.ops.admin({ type: 'deleteop', ...b } as AdminCommand),
      offlineendpoint: (b) => this.ops.admin({ type: 'offlineendpoint', ...b } as AdminCommand),
      recoverendpoint: (b) => this.ops.admin({ type: 'recoverendpoint', ...b } as AdminCommand),
      recovertable: (b) => this.ops.admin({ type: 'recovertable', ...b } as AdminCommand),
      makesnapshot: (b) => this.ops.admin({ type: 'makesnapshot', ...b } as AdminCommand),
      preupgrade: (b) => this.ops.admin({ type: 'preupgrade', ...b } as AdminCommand),
      postupgrade: (b) => this.ops.admin({ type: 'postupgrade', ...b } as AdminCommand),
      scalein: (b) => this.ops.admin({ type: 'scalein', ...b } as AdminCommand),
      scaleout: (b) => this.plans.scaleout(b as ScaleOutRequest),
      rebalance: (b) => {
        // A database that does not exist is a typo, not an empty plan (the tables are looked up in it).
        if (typeof b.db === 'string') this.meta.requireDb(b.db);
        return this.plans.rebalance(b as RebalanceRequest);
      },
      apply: (b) => this.plans.apply(b as unknown as ApplyRequest),
      updatetablealive: (b) => a.updatetablealive(b),
      gettablepartition: (b) => a.gettablepartition(b),
      settablepartition: (b) => a.settablepartition(b),
      setttl: (b) => setTtl(b, { meta: this.meta, ops: this.ops, control: this.control, tablets: this.tablets, log: this.log }),
      confget: (b) => a.confget(b),
      disconnectzk: async () => {
        await this.session.disconnect();
        // The election stepped down synchronously; wait for the queued standby transition too.
        await this.transition;
        return {};
      },
      connectzk: async () => {
        await this.session.reconnect();
        return {};
      },
    };
  }

  private registerRoutes(): void {
    const handlers = this.handlers();
    // Answered by any nameserver, leader or not (they only read ZooKeeper or act on this process).
    const anyRole = new Set<NsCommand>(['showns', 'disconnectzk', 'connectzk']);
    for (const cmd of NS_COMMANDS) {
      const h = handlers[cmd];
      if (!h) continue;
      this.app.post(nsRoute(cmd), async (req) => {
        const body = req.body === undefined ? {} : bodyObject(req.body);
        if (!anyRole.has(cmd) && !this.leading) {
          const leader = this.leaderEndpoint ?? (await readLeader(this.session, this.layout).catch(() => undefined));
          throw new TesseraError('NS_NOT_LEADER', 'nameserver is not leader', leader ? { leader } : undefined);
        }
        // OpenMLDB's order: not leader, then auto_failover, then the fields (core/failover-gate.ts).
        if (refusedWithAutoFailover(cmd) && (await this.admin.autoFailover())) throw new TesseraError('PRECONDITION_FAILED', AUTO_FAILOVER_ENABLED);
        if (cmd === 'cancelop' && typeof body.opId === 'number') {
          const op = this.ops.core.op(body.opId);
          if (op !== undefined && cancelRefusedWithAutoFailover(op) && (await this.admin.autoFailover())) throw new TesseraError('PRECONDITION_FAILED', AUTO_FAILOVER_ENABLED);
        }
        const issuedBy = issuerOf(body, req.ip, req.socket.remotePort);
        delete body.reason;
        validateAdminBody(cmd, body);
        return (await issuerContext.run(issuedBy, () => h(body))) ?? {};
      });
    }
  }

  private async showns(): Promise<{ nameservers: Array<{ endpoint: string; role: 'leader' | 'standby' }> }> {
    const names = (await this.session.children(this.layout.leaderDir)).filter((n) => n.startsWith(this.layout.leaderLockName));
    names.sort((x, y) => Number(x.slice(this.layout.leaderLockName.length)) - Number(y.slice(this.layout.leaderLockName.length)));
    const out: Array<{ endpoint: string; role: 'leader' | 'standby' }> = [];
    for (const n of names) {
      const node = await this.session.get(`${this.layout.leaderDir}/${n}`);
      if (node) out.push({ endpoint: node.data.toString('utf8'), role: out.length === 0 ? 'leader' : 'standby' });
    }
    return { nameservers: out };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.poller?.stop();
    this.ops?.stop();
    this.failover?.stop();
    this.tablets?.stop();
    await this.election?.stop().catch(() => undefined);
    await this.app.close();
    await this.control?.close();
    await this.session?.close().catch(() => undefined);
    this.log.info('nameserver stopped');
  }
}

/** Longest `--reason` text kept with an op. */
const REASON_CHARS_MAX = 512;

/** Who sent an admin request: its `reason` field (`--reason`) and the client's address. */
function issuerOf(body: Record<string, unknown>, ip: string, port: number | undefined): OpIssuer {
  const reason = body.reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > REASON_CHARS_MAX)) {
    throw new TesseraError('INVALID_ARGUMENT', `reason must be a string of at most ${REASON_CHARS_MAX} characters`, { field: 'reason' });
  }
  const issuer: OpIssuer = { client: port === undefined ? ip : `${ip}:${port}` };
  if (typeof reason === 'string' && reason !== '') issuer.reason = reason;
  return issuer;
}
