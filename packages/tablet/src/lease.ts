/**
 * The tablet's leader lease: leader replicas serve reads (and accept a leader role) only while
 * this tablet holds a lease that no new leader can hold at the same time. Owns the lease
 * arithmetic (LeaseState, pure, clock passed in) and its renewal (LeaseKeeper, the I/O shell).
 *
 * The authority: the nameserver fails a tablet over only after its ZooKeeper session expired
 * (the ephemeral /nodes/<endpoint> gone) plus --tablet_heartbeat_timeout. A successful read of our
 * own registration node, owned by our current session, sent at monotonic time `s`, proves the
 * session was alive when the server answered (after `s`), so ZooKeeper cannot expire it before
 * `s + sessionTimeout` on its clock. The lease is therefore valid until
 * `s + sessionTimeout × (1 − LEASE_LIMITS.clockDriftBound) − LEASE_LIMITS.marginMs` on this
 * process's monotonic clock (performance.now()). The timing argument is in docs/replication.md.
 *
 * Limits (named): the requested session timeout is used; a ZooKeeper server that negotiates a
 * shorter one (maxSessionTimeout below the request) would make the lease too long. A read served
 * by a lagging ZooKeeper follower server proves the session only as that server saw it (ZooKeeper
 * followers drop their clients once they lose their leader). Only this tablet deletes its node.
 */
import type { Coord } from '@tessera/coord';

/** Bounds of the lease, named once. */
export const LEASE_LIMITS = {
  /** Assumed bound on the rate difference between this clock and ZooKeeper's (2 %). */
  clockDriftBound: 0.02,
  /** Subtracted from every lease: scheduling between a check and the read it guards. */
  marginMs: 100,
  /** Renewals per session timeout (one round trip every sessionTimeout / 4). */
  renewalsPerSessionTimeout: 4,
  /** Longest a read (or a leader assignment) waits for a fresh round trip when the lease lapsed. */
  confirmWaitMsMax: 1_000,
} as const;

/** What the lease looks like, for /v1/control/status. */
export interface LeaseStatus {
  /** 'standalone' (no ZooKeeper: always leased), 'held' or 'expired'. */
  state: 'standalone' | 'held' | 'expired';
  /** Ms the lease still holds (0 when expired). */
  remainingMs: number;
  /** Session the lease was granted in. */
  sessionId: string | undefined;
  /** Ms since the last successful renewal was sent; undefined before the first. */
  sinceRenewalMs: number | undefined;
  /** Step-downs and role refusals caused by a lost lease or session since start. */
  generation: number;
}

/** The lease arithmetic: pure, every time passed in (monotonic ms). */
export class LeaseState {
  private validUntilMs = Number.NEGATIVE_INFINITY;
  private lastSentMs: number | undefined;
  private session: string | undefined;
  /** Bumped whenever the lease is lost with its session: a token taken before is stale. */
  private gen = 0;

  constructor(readonly sessionTimeoutMs: number, readonly standalone = false) {
    if (!standalone && !(sessionTimeoutMs > 0)) throw new Error(`sessionTimeoutMs must be positive: ${sessionTimeoutMs}`);
  }

  /** How long one round trip keeps the lease. */
  get durationMs(): number {
    return this.sessionTimeoutMs * (1 - LEASE_LIMITS.clockDriftBound) - LEASE_LIMITS.marginMs;
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  get generation(): number {
    return this.gen;
  }

  /** The hot path: true while the lease holds at `nowMs`. */
  holds(nowMs: number): boolean {
    return this.standalone || nowMs < this.validUntilMs;
  }

  /**
   * A round trip sent at `sentAtMs` in `sessionId` succeeded (our node exists, owned by it). One
   * from another session than the lease's starts a new lease (the old session's is dropped).
   */
  renewed(sentAtMs: number, sessionId: string): void {
    if (sessionId !== this.session) {
      if (this.session !== undefined) this.lost();
      this.session = sessionId;
    }
    this.lastSentMs = Math.max(this.lastSentMs ?? sentAtMs, sentAtMs);
    this.validUntilMs = Math.max(this.validUntilMs, sentAtMs + this.durationMs);
  }

  /** The session expired or was closed: nothing leased until a round trip in a new session. */
  lost(): void {
    if (this.session === undefined && this.validUntilMs === Number.NEGATIVE_INFINITY) return;
    this.validUntilMs = Number.NEGATIVE_INFINITY;
    this.session = undefined;
    this.gen++;
  }

  /** Marks a step-down that was not caused by the session (the lease lapsed unconfirmed). */
  bump(): void {
    this.gen++;
  }

  status(nowMs: number): LeaseStatus {
    if (this.standalone) return { state: 'standalone', remainingMs: 0, sessionId: undefined, sinceRenewalMs: undefined, generation: this.gen };
    const held = this.holds(nowMs);
    return {
      state: held ? 'held' : 'expired',
      remainingMs: held ? Math.round(this.validUntilMs - nowMs) : 0,
      sessionId: this.session,
      sinceRenewalMs: this.lastSentMs === undefined ? undefined : Math.round(nowMs - this.lastSentMs),
      generation: this.gen,
    };
  }
}

/** A snapshot of the lease taken when a request arrived; stale once the generation moved. */
export interface LeaseToken {
  generation: number;
  sessionId: string | undefined;
}

export interface LeaseKeeperOptions {
  /** The session whose round trips grant the lease; undefined = standalone (always leased). */
  session: Coord | undefined;
  /** Path of this tablet's registration node. */
  nodePath: string;
  sessionTimeoutMs: number;
  /** Called when the lease lapsed and a round trip could not confirm it: leaders step down. */
  onLost: (reason: string) => void;
  now?: () => number;
}

/** Keeps the lease: renews it on a timer and confirms it on demand (one round trip at a time). */
export class LeaseKeeper {
  readonly state: LeaseState;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<boolean> | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.state = new LeaseState(options.sessionTimeoutMs, options.session === undefined);
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    const session = this.options.session;
    if (session === undefined || this.timer) return;
    session.on('expired', this.onExpired);
    const everyMs = Math.max(1, Math.floor(this.options.sessionTimeoutMs / LEASE_LIMITS.renewalsPerSessionTimeout));
    this.timer = setInterval(() => void this.renew(), everyMs);
    this.timer.unref();
    void this.renew();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.options.session?.off('expired', this.onExpired);
  }

  private readonly onExpired = (): void => this.state.lost();

  /** Hot path: true while leased (synchronous comparison on the monotonic clock). */
  holds(): boolean {
    return this.state.holds(this.now());
  }

  token(): LeaseToken {
    return { generation: this.state.generation, sessionId: this.options.session?.sessionId };
  }

  /** True while no lease loss happened since `t` was taken. */
  unchangedSince(t: LeaseToken): boolean {
    return this.state.generation === t.generation;
  }

  /**
   * Resolves true when the lease holds, after a fresh round trip if it had lapsed (at most
   * LEASE_LIMITS.confirmWaitMsMax). With a token, the lease must still be the one of the session
   * the token saw: a session lost meanwhile means this tablet may have been failed over.
   */
  async confirm(t?: LeaseToken): Promise<boolean> {
    const ok = (): boolean => this.holds() && (t === undefined || (this.unchangedSince(t) && this.state.sessionId === t.sessionId));
    if (ok()) return true;
    if (t !== undefined && !this.unchangedSince(t)) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), LEASE_LIMITS.confirmWaitMsMax);
    });
    await Promise.race([this.renew(), timeout]);
    if (timer) clearTimeout(timer);
    return ok();
  }

  /** One round trip (shared by concurrent callers); steps down when the lease lapsed unconfirmed. */
  renew(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    this.inflight = this.roundTrip().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async roundTrip(): Promise<boolean> {
    const session = this.options.session;
    if (session === undefined) return true;
    const sentAtMs = this.now();
    const sessionId = session.sessionId;
    let confirmed = false;
    let reason = 'no session';
    if (sessionId !== undefined && session.isConnected) {
      try {
        const node = await session.get(this.options.nodePath);
        confirmed = node !== undefined && node.ephemeralOwner === sessionId && session.sessionId === sessionId;
        if (!confirmed) reason = node === undefined ? `${this.options.nodePath} is gone` : `${this.options.nodePath} is not owned by session ${sessionId}`;
      } catch (err) {
        reason = (err as Error).message;
      }
    } else {
      reason = 'not connected to ZooKeeper';
    }
    if (confirmed) {
      this.state.renewed(sentAtMs, sessionId!);
      return true;
    }
    if (!this.holds()) this.options.onLost(reason);
    return false;
  }
}
