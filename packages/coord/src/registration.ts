/**
 * A tablet's membership: the ephemeral `/nodes/<endpoint>` node holding a TabletRegistration.
 * Owns that node for the life of the process: registers on start, again for every new session and
 * whenever the node disappears, and deletes it on stop. `startup` is true only on the first
 * registration after the process started (OpenMLDB's `startup_` mark: "restarted, memory lost").
 * A node left by a dead session of the same endpoint (a quick restart, OpenMLDB #2439) is deleted
 * rather than waited for; a node of this endpoint that holds something else is waited for.
 */
import { EventEmitter } from 'node:events';
import { TesseraError, silentLogger, type Logger, type TabletRegistration } from '@tessera/common';
import type { ZkLayout } from './layout.js';
import { SerialRunner } from './serial-runner.js';
import { createOwned, firstEventWithin, SessionListeners } from './owned-node.js';
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
  private readonly startTimeoutMs: number;
  private readonly listenEndpoint: string | undefined;
  private readonly runner: SerialRunner;
  private running = false;
  private registeredInSession: string | undefined;
  private firstRegistrationDone = false;
  /** Session events and the node's watch, while running. */
  private readonly sessionEvents: SessionListeners;

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
    this.startTimeoutMs = opts.startTimeoutMs ?? COORD_LIMITS.connectTimeoutMsDefault;
    this.listenEndpoint = opts.listenEndpoint !== undefined && opts.listenEndpoint !== endpoint ? opts.listenEndpoint : undefined;
    this.sessionEvents = new SessionListeners(session, { connected: () => this.onConnected(), expired: () => this.onExpired() });
    this.runner = new SerialRunner(() => this.reconcile(), {
      retryBaseMs: COORD_LIMITS.watchRetryBaseMs,
      retryMaxMs: COORD_LIMITS.watchRetryMaxMs,
      onError: (err) => this.log.warn(`registration of ${this.endpoint} failed, will retry: ${(err as Error).message}`),
    });
  }

  /** True while the node exists in the current session. */
  get registered(): boolean {
    return this.registeredInSession !== undefined && this.registeredInSession === this.session.sessionId;
  }

  /** Registers and resolves once the node exists; on timeout it stops again and rejects with COORD_ERROR. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const registered = firstEventWithin(this, ['registered'], this.startTimeoutMs, () => new TesseraError('COORD_ERROR', `${this.endpoint} not registered in ZooKeeper after ${this.startTimeoutMs} ms`, {
      zkError: 'ZOPERATIONTIMEOUT',
      endpoint: this.endpoint,
    }));
    this.sessionEvents.attach(() => this.session.watchData(this.path, (value) => {
      if (value === undefined) this.registeredInSession = undefined;
      this.runner.kick();
    }));
    this.runner.kick();
    try {
      await registered;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops keeping the node alive and deletes it if it is ours and reachable. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.runner.stop();
    this.sessionEvents.detach();
    this.registeredInSession = undefined;
    if (!this.session.isConnected) return;
    try {
      const node = await this.session.get(this.path);
      if (node !== undefined && node.ephemeralOwner === this.session.sessionId) await this.session.delete(this.path, node.version);
    } catch (err) {
      this.log.warn(`could not delete ${this.path} (it goes away with the session): ${(err as Error).message}`);
    }
  }

  private readonly onConnected = (): void => this.runner.kick();

  private readonly onExpired = (): void => {
    this.registeredInSession = undefined;
  };

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
        this.runner.kick();
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
        this.runner.kick(); // someone was faster; look again
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
