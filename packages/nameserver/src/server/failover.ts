/**
 * Automatic failover (OpenMLDB's auto_failover, run through the op engine): a tablet whose
 * registration has been gone for `tablet_heartbeat_timeout` is taken offline — each partition it
 * led gets a new leader chosen among the in-sync followers, highest offset first; its follower
 * replicas are marked not alive; a partition whose only live replica it was is marked not alive
 * — and when it registers again its replicas are recovered (caught up, or rebuilt where their
 * history diverged) and rejoin as followers. Every step is an op, visible in showopstatus.
 * Reads `/config/auto_failover` on every check, so `confset` takes effect at once.
 *
 * Both directions are level-triggered: a lost tablet that metadata still credits with an alive
 * replica (a failover op failed, e.g. its candidate left too, or the partition was busy) is taken
 * offline again, and a healthy tablet holding replicas marked not alive is recovered again, each
 * at most every RETRY_MS.
 */
import type { Logger } from '@tessera/common';
import type { Coord, ZkLayout } from '@tessera/coord';
import type { OpShell } from './op-shell.js';
import type { TabletTracker } from './tablets.js';
import type { MetadataStore } from './metadata.js';

/** Added to the heartbeat timeout when scheduling a vanished tablet's check, so it is surely due. */
const DUE_SLACK_MS = 5;
/** Least time between two recoverendpoint (offlineendpoint) runs for one tablet whose replicas stay not alive (alive). */
const RETRY_MS = 2000;

export interface FailoverOptions {
  heartbeatTimeoutMs: number;
  checkIntervalMs: number;
}

export class FailoverMonitor {
  /** Endpoints taken offline by this monitor (or found offline at takeover), to recover on return. */
  private readonly offlined = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** When recoverendpoint was last issued per endpoint (the level-triggered retry's throttle). */
  private readonly lastRecoverMs = new Map<string, number>();
  /** When offlineendpoint was last issued per endpoint (the level-triggered failover's throttle). */
  private readonly lastOfflineMs = new Map<string, number>();
  /** A check was asked for while one ran: run another when it ends. */
  private checkAgain = false;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    private readonly tablets: TabletTracker,
    private readonly ops: OpShell,
    private readonly meta: MetadataStore,
    private readonly options: FailoverOptions,
    private readonly log: Logger,
  ) {
    tablets.on('up', (t) => {
      if (this.timer && this.handles(t.endpoint)) void this.recover(t.endpoint);
    });
    // A check exactly when a vanished tablet's heartbeat timeout ends, not up to one interval later.
    tablets.on('down', () => {
      if (this.timer) setTimeout(() => void this.check(), this.options.heartbeatTimeoutMs + DUE_SLACK_MS).unref();
    });
  }

  /**
   * Whether a returning tablet's replicas are this monitor's to bring back (not a plain role
   * re-assignment): it was failed over by this nameserver, or the metadata marks a replica on it
   * not alive (failed over by a previous leader).
   */
  handles(endpoint: string): boolean {
    return this.offlined.has(endpoint) || this.holdsDeadReplica(endpoint);
  }

  /** On taking over: also recovers tablets that are up but hold replicas marked not alive. */
  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
    for (const ep of this.tablets.healthy()) if (this.handles(ep)) void this.recover(ep);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async enabled(): Promise<boolean> {
    const node = await this.session.get(this.layout.autoFailover).catch(() => undefined);
    return node?.data.toString('utf8') === 'true';
  }

  private async check(): Promise<void> {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    this.checkAgain = false;
    try {
      const now = Date.now();
      const lost = this.tablets.all().filter((t) => t.state === 'kTabletOffline' && now - t.sinceMs >= this.options.heartbeatTimeoutMs);
      // Level-triggered failover: a lost tablet still credited with an alive replica is taken
      // offline again (its failover op failed or its partition was busy), throttled.
      const due = lost.filter((t) => !this.offlined.has(t.endpoint) || (this.holdsAliveReplica(t.endpoint) && now - (this.lastOfflineMs.get(t.endpoint) ?? 0) >= RETRY_MS));
      // Level-triggered recovery: a healthy tablet still holding replicas marked not alive (it came
      // back while its failover ops ran, or a recovery was refused) is recovered again, throttled.
      const recoverDue = this.tablets.healthy().filter((ep) => this.holdsDeadReplica(ep) && now - (this.lastRecoverMs.get(ep) ?? 0) >= RETRY_MS);
      if ((due.length === 0 && recoverDue.length === 0) || !(await this.enabled())) return;
      for (const t of due) {
        const again = this.offlined.has(t.endpoint);
        this.offlined.add(t.endpoint);
        this.lastOfflineMs.set(t.endpoint, now);
        this.log.warn(`tablet ${t.endpoint} offline for ${now - t.sinceMs} ms: ${again ? 'replicas still alive in metadata, failing them over again' : 'failing over its partitions'}`);
        try {
          await this.ops.admin({ type: 'offlineendpoint', endpoint: t.endpoint });
        } catch (err) {
          this.log.warn(`offlineendpoint ${t.endpoint}: ${(err as Error).message}`);
        }
      }
      for (const ep of recoverDue) await this.recover(ep);
    } finally {
      this.checking = false;
      if (this.checkAgain && this.timer) void this.check();
    }
  }

  private holdsAliveReplica(endpoint: string): boolean {
    return this.meta.allTables().some((t) => t.partitions.some((p) => p.replicas.some((r) => r.endpoint === endpoint && r.isAlive)));
  }

  private holdsDeadReplica(endpoint: string): boolean {
    return this.meta.allTables().some((t) => t.partitions.some((p) => p.replicas.some((r) => r.endpoint === endpoint && !r.isAlive)));
  }

  private async recover(endpoint: string): Promise<void> {
    if (!(await this.enabled())) return;
    this.lastRecoverMs.set(endpoint, Date.now());
    this.offlined.delete(endpoint);
    this.log.info(`tablet ${endpoint} is back: recovering its replicas`);
    try {
      await this.ops.admin({ type: 'recoverendpoint', endpoint });
    } catch (err) {
      this.log.warn(`recoverendpoint ${endpoint}: ${(err as Error).message}`);
      this.offlined.add(endpoint);
    }
  }
}
