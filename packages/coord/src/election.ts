/**
 * Nameserver leader election, as OpenMLDB does it: each candidate holds one ephemeral sequential
 * `<root>/leader/lock_request<seq>` node whose value is its endpoint; the lowest sequence leads.
 * Owns the candidate's node: re-creates it for every new session and removes leftovers of its own
 * endpoint from dead sessions (a quick restart must not wait for the old session to expire).
 * Leadership is given up (`standby` with no leader) as soon as the connection is lost, because a
 * leader that cannot see ZooKeeper cannot know it still holds the lowest node; it is taken again
 * on reconnect if the node is still the lowest. Decisions are level-based: every run re-reads the
 * children, so missed or duplicated watch events cannot leave a wrong state behind.
 */
import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '@tessera/common';
import type { ZkLayout } from './layout.js';
import { createOwned, OwnedNodeKeeper } from './owned-node.js';
import { COORD_LIMITS, type Coord } from './coord.js';

export interface LeaderElectionEvents {
  /** This candidate now leads. */
  leader: [];
  /** This candidate does not lead; the argument is the leader's endpoint, if known. */
  standby: [leaderEndpoint: string | undefined];
}

export interface LeaderElectionOptions {
  logger?: Logger;
  /** Bound on start() reaching its first decision; default COORD_LIMITS.connectTimeoutMsDefault. */
  startTimeoutMs?: number;
}

/** Lock node names under the leader dir, lowest sequence first. */
async function readLocks(session: Coord, layout: ZkLayout): Promise<string[]> {
  const names = (await session.children(layout.leaderDir)).filter((n) => n.startsWith(layout.leaderLockName));
  const seq = (name: string): number => Number(name.slice(layout.leaderLockName.length));
  return names.sort((a, b) => seq(a) - seq(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Endpoint of the current leader (value of the lowest lock node), or undefined if there is none. */
export async function readLeader(session: Coord, layout: ZkLayout): Promise<string | undefined> {
  for (const name of await readLocks(session, layout)) {
    const node = await session.get(`${layout.leaderDir}/${name}`);
    if (node !== undefined) return node.data.toString('utf8');
  }
  return undefined;
}

export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  private readonly log: Logger;
  private leading = false;
  /** Leader endpoint last announced with `standby`; null before the first announcement. */
  private announcedLeader: string | undefined | null = null;
  private myNode: string | undefined;
  private myNodeSession: string | undefined;
  /** Runs the passes over session events and the leader dir's watch, from start() to stop(). */
  private readonly keeper: OwnedNodeKeeper;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    readonly endpoint: string,
    opts: LeaderElectionOptions = {},
  ) {
    super();
    layout.node(endpoint); // validates the endpoint
    this.log = (opts.logger ?? silentLogger).child('election');
    this.keeper = new OwnedNodeKeeper(session, {
      endpoint,
      startTimeoutMs: opts.startTimeoutMs ?? COORD_LIMITS.connectTimeoutMsDefault,
      log: this.log,
      pass: 'election step',
      reconcile: () => this.reconcile(),
      watch: (kick) => session.watchChildren(layout.leaderDir, kick),
      sessionEvents: { disconnected: () => this.stepDown('ZooKeeper connection lost'), expired: () => this.onExpired() },
      release: () => this.release(),
    });
  }

  private get running(): boolean {
    return this.keeper.running;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Endpoint of the current leader as ZooKeeper has it now. */
  leaderEndpoint(): Promise<string | undefined> {
    return readLeader(this.session, this.layout);
  }

  /**
   * Joins the election and resolves once it has decided (`leader` or `standby` emitted); on
   * timeout it leaves the election again and rejects with COORD_ERROR.
   */
  start(): Promise<void> {
    return this.keeper.start(this, ['leader', 'standby'], `leader election for ${this.endpoint} undecided`);
  }

  /** Leaves the election: deletes this candidate's node (if reachable) and stops emitting. */
  stop(): Promise<void> {
    return this.keeper.stop();
  }

  private async release(): Promise<void> {
    this.leading = false;
    const node = this.myNode;
    this.myNode = undefined;
    if (node !== undefined && this.session.isConnected && this.myNodeSession === this.session.sessionId) {
      try {
        await this.session.delete(node);
      } catch (err) {
        this.log.warn(`could not delete ${node} (it goes away with the session): ${(err as Error).message}`);
      }
    }
  }

  private readonly onExpired = (): void => {
    this.myNode = undefined;
    this.stepDown('ZooKeeper session expired');
    // Out of the election until the next pass joins again: that pass's decision is a new one and
    // is announced even when the leader is the same as before (a silent rejoin looked stuck).
    this.announcedLeader = null;
  };

  /** One idempotent pass: make sure our node exists in this session, then decide. */
  private async reconcile(): Promise<void> {
    if (!this.running || !this.session.isConnected) return;
    const sessionId = this.session.sessionId;
    await this.session.ensurePath(this.layout.leaderDir);
    let locks = await readLocks(this.session, this.layout);
    if (this.myNode !== undefined && (this.myNodeSession !== sessionId || !locks.includes(this.baseName(this.myNode)))) {
      this.log.warn(`election node ${this.myNode} is gone; joining again`);
      this.myNode = undefined;
    }
    if (this.myNode === undefined) {
      await this.join(locks, sessionId);
      locks = await readLocks(this.session, this.layout);
    }
    if (!this.running || this.myNode === undefined) return;
    const mine = this.baseName(this.myNode);
    if (!locks.includes(mine)) {
      this.keeper.kick(); // deleted between create and read; the next run joins again
      return;
    }
    if (locks[0] === mine) {
      this.becomeLeader();
      return;
    }
    const leaderNode = await this.session.get(`${this.layout.leaderDir}/${locks[0]}`);
    if (leaderNode === undefined) {
      this.keeper.kick(); // the leader just left; decide again
      return;
    }
    if (this.running) this.becomeStandby(leaderNode.data.toString('utf8'));
  }

  /** Adopts our node of this session if a lost reply hid it, removes ours of dead sessions, else creates one. */
  private async join(locks: string[], sessionId: string | undefined): Promise<void> {
    let adopted: string | undefined;
    for (const name of locks) {
      const path = `${this.layout.leaderDir}/${name}`;
      const node = await this.session.get(path);
      if (node === undefined || node.data.toString('utf8') !== this.endpoint) continue;
      if (adopted === undefined && sessionId !== undefined && node.ephemeralOwner === sessionId) {
        adopted = path;
      } else {
        this.log.warn(`removing leftover election node ${path} of ${this.endpoint} (session ${node.ephemeralOwner ?? '-'})`);
        await this.session.delete(path, node.version);
      }
    }
    if (!this.running) return;
    // stop() may run while the create is in flight: the node is taken back then.
    const created = adopted ?? (await createOwned(this.session, this.layout.leaderLockPrefix, this.endpoint, { sequential: true }, () => this.running));
    if (created === undefined || !this.running) return;
    this.myNode = created;
    this.myNodeSession = sessionId;
    this.log.info(`${this.endpoint} joined the election as ${this.myNode}`);
  }

  private baseName(path: string): string {
    return path.slice(path.lastIndexOf('/') + 1);
  }

  private becomeLeader(): void {
    if (this.leading) return;
    this.leading = true;
    this.announcedLeader = null;
    this.log.info(`${this.endpoint} is the leader`);
    this.safeEmit('leader');
  }

  private becomeStandby(leaderEndpoint: string): void {
    if (!this.leading && this.announcedLeader === leaderEndpoint) return;
    this.leading = false;
    this.announcedLeader = leaderEndpoint;
    this.log.info(`${this.endpoint} is standby; leader ${leaderEndpoint}`);
    this.safeEmit('standby', leaderEndpoint);
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.announcedLeader = undefined;
    this.log.warn(`${this.endpoint} gives up leadership: ${why}`);
    this.safeEmit('standby', undefined);
  }

  private safeEmit<K extends keyof LeaderElectionEvents>(event: K, ...args: LeaderElectionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: LeaderElectionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error(`a '${event}' listener threw: ${(err as Error).stack ?? String(err)}`);
    }
  }
}
