/**
 * A tablet's membership: the ephemeral `/nodes/<endpoint>` node holding a TabletRegistration.
 * Owns that node for the life of the process: registers on start, again for every new session and
 * whenever the node disappears, and deletes it on stop. `startup` is true only on the first
 * registration after the process started (OpenMLDB's `startup_` mark: "restarted, memory lost").
 * A node left by a dead session of the same endpoint (a quick restart, OpenMLDB #2439) is deleted
 * rather than waited for; a node of this endpoint that holds something else is waited for.
 */
import { EventEmitter } from 'node:events';
import { silentLogger, type Logger, type TabletRegistration } from '@tessera/common';
import type { ZkLayout } from './layout.js';
import { createOwned, OwnedNodeKeeper } from './owned-node.js';
import { COORD_LIMITS, isCoordError, type Coord } from './coord.js';

export interface TabletRegistrarEvents {
  /** The node now exists in the current session with this value. */
  registered: [registration: TabletRegistration];
}

export interface TabletRegistrarOptions {
  logger?: Logger;
  /** Process start time, epoch ms; default the time this Node.js process started. */
  startMs?: number;
  /** Bound on start() completing the first registration; default COORD_LIMITS.connectTimeoutMsDefault. */
  startTimeoutMs?: number;
  /** Where the process listens, recorded when it differs from the endpoint (showtablet's real_endpoint). */
  listenEndpoint?: string;
}

function parseRegistration(data: Buffer): TabletRegistration | undefined {
  try {
    const value = JSON.parse(data.toString('utf8')) as Partial<TabletRegistration> | null;
    return value !== null && typeof value === 'object' && typeof value.endpoint === 'string' ? (value as TabletRegistration) : undefined;
  } catch {
    return undefined;
  }
}

export class TabletRegistrar extends EventEmitter<TabletRegistrarEvents> {
  readonly path: string;
  private readonly log: Logger;
  private readonly startMs: number;
  private readonly listenEndpoint: string | undefined;
  private registeredInSession: string | undefined;
  private firstRegistrationDone = false;
  /** Runs the passes over session events and the node's watch, from start() to stop(). */
  private readonly keeper: OwnedNodeKeeper;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    readonly endpoint: string,
    opts: TabletRegistrarOptions = {},
  ) {
    super();
    this.path = layout.node(endpoint);
    this.log = (opts.logger ?? silentLogger).child('registrar');
    this.startMs = opts.startMs ?? Math.round(performance.timeOrigin);
    this.listenEndpoint = opts.listenEndpoint !== undefined && opts.listenEndpoint !== endpoint ? opts.listenEndpoint : undefined;
    this.keeper = new OwnedNodeKeeper(session, {
      endpoint,
      startTimeoutMs: opts.startTimeoutMs ?? COORD_LIMITS.connectTimeoutMsDefault,
      log: this.log,
      pass: `registration of ${endpoint}`,
      reconcile: () => this.reconcile(),
      watch: (kick) =>
        session.watchData(this.path, (value) => {
          if (value === undefined) this.registeredInSession = undefined;
          kick();
        }),
      sessionEvents: { expired: () => (this.registeredInSession = undefined) },
      release: () => this.release(),
    });
  }

  private get running(): boolean {
    return this.keeper.running;
  }

  /** True while the node exists in the current session. */
  get registered(): boolean {
    return this.registeredInSession !== undefined && this.registeredInSession === this.session.sessionId;
  }

  /** Registers and resolves once the node exists; on timeout it stops again and rejects with COORD_ERROR. */
  start(): Promise<void> {
    return this.keeper.start(this, ['registered'], `${this.endpoint} not registered in ZooKeeper`);
  }

  /** Stops keeping the node alive and deletes it if it is ours and reachable. */
  stop(): Promise<void> {
    return this.keeper.stop();
  }

  private async release(): Promise<void> {
    this.registeredInSession = undefined;
    if (!this.session.isConnected) return;
    try {
      const node = await this.session.get(this.path);
      if (node !== undefined && node.ephemeralOwner === this.session.sessionId) await this.session.delete(this.path, node.version);
    } catch (err) {
      this.log.warn(`could not delete ${this.path} (it goes away with the session): ${(err as Error).message}`);
    }
  }

  /** One idempotent pass: make the node exist in the current session. */
  private async reconcile(): Promise<void> {
    if (!this.running || !this.session.isConnected) return;
    const sessionId = this.session.sessionId;
    if (sessionId === undefined) return;
    const node = await this.session.get(this.path);
    if (node !== undefined) {
      if (node.ephemeralOwner === sessionId) {
        // Ours already (e.g. the reply to our create was lost).
        this.markRegistered(sessionId, parseRegistration(node.data));
        return;
      }
      const previous = parseRegistration(node.data);
      if (previous?.endpoint !== this.endpoint) {
        this.log.warn(`${this.path} is held by session ${node.ephemeralOwner ?? '-'} with foreign data; waiting for it to go away`);
        return; // the data watch kicks again when it changes or disappears
      }
      this.log.warn(`deleting ${this.path} left by dead session ${node.ephemeralOwner ?? '-'} (OpenMLDB #2439)`);
      const deleted = await this.session.delete(this.path, node.version);
      if (!deleted.ok && deleted.reason === 'badVersion') {
        this.keeper.kick();
        return;
      }
    }
    await this.session.ensurePath(this.layout.nodes);
    if (!this.running) return;
    const registration: TabletRegistration = { endpoint: this.endpoint, startMs: this.startMs, startup: !this.firstRegistrationDone, ...(this.listenEndpoint ? { listenEndpoint: this.listenEndpoint } : {}) };
    try {
      // stop() may run while the create is in flight: the node is taken back then.
      if ((await createOwned(this.session, this.path, registration, {}, () => this.running)) === undefined) return;
    } catch (err) {
      if (isCoordError(err, 'ZNODEEXISTS')) {
        this.keeper.kick(); // someone was faster; look again
        return;
      }
      throw err;
    }
    this.markRegistered(sessionId, registration);
  }

  private markRegistered(sessionId: string, registration: TabletRegistration | undefined): void {
    if (!this.running || this.registeredInSession === sessionId) return;
    this.registeredInSession = sessionId;
    this.firstRegistrationDone = true;
    const value = registration ?? { endpoint: this.endpoint, startMs: this.startMs, startup: false };
    this.log.info(`${this.endpoint} registered at ${this.path} (startup ${String(value.startup)}, session ${sessionId})`);
    try {
      this.emit('registered', value);
    } catch (err) {
      this.log.error(`a 'registered' listener threw: ${(err as Error).stack ?? String(err)}`);
    }
  }
}
