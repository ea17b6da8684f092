/**
 * One replica as the tablet serves it: the store plus its state machine (replica-state.ts), which
 * owns what the nameserver told it (role, term, followers, leader hint, replica_ack) and its
 * serving state; this class only reads them. A replica found on disk after a restart is
 * `unassigned` and serves nothing until its role is set again.
 */
import { TesseraError, type ReplicaRole, type ReplicaState, type ReplicaStatus, type ReplicaAck } from '@tessera/common';
import { diskUsage, type LoadedChecksum, type ReplicaStore } from '@tessera/storage';
import { ReplicaStateMachine, type ReplicaChange } from './replica-state.js';

/** The one change hook: told after every transition of every replica (replication subscribes). */
export type ReplicaChangeHook = (replica: Replica, change: ReplicaChange) => Promise<void> | void;

export class Replica {
  readonly store: ReplicaStore;
  readonly dir: string;
  /** The only writer of role, term, state, fence, followers, leader hint and replica_ack. */
  readonly machine: ReplicaStateMachine;
  /**
   * The last snapshot transfer loaded into this replica: the sender's session and the checksum of
   * what the load wrote (storage loadedChecksum), for the check a move ends with (checksum-routes.ts).
   */
  loadedSnapshot: (LoadedChecksum & { session: string }) | undefined;

  /** `dir`: where the replica lives (a label for logs); `diskUsed`: its bytes on disk. */
  constructor(store: ReplicaStore, dir: string, state: ReplicaState, private readonly diskUsed: () => Promise<number> = () => diskUsage(dir), onChange?: ReplicaChangeHook) {
    this.store = store;
    this.dir = dir;
    const r = store.role;
    this.machine = new ReplicaStateMachine(`${store.info.tid}_${store.info.pid}`, store, { role: r.role, term: r.term, state }, (c) => onChange?.(this, c));
  }

  get role(): ReplicaRole | 'none' {
    return this.machine.role;
  }

  get term(): number {
    return this.machine.term;
  }

  get state(): ReplicaState {
    return this.machine.state;
  }

  /** A leader fenced for a hand-over: it refuses writes but keeps replicating. */
  get fenced(): boolean {
    return this.machine.fenced;
  }

  get followers(): readonly string[] {
    return this.machine.followers;
  }

  get leaderHint(): string | undefined {
    return this.machine.leaderHint;
  }

  get replicaAck(): ReplicaAck {
    return this.machine.replicaAck;
  }

  get tid(): number {
    return this.store.info.tid;
  }

  get pid(): number {
    return this.store.info.pid;
  }

  /** Refuses a write unless this replica is a serving leader. */
  assertWritable(): void {
    this.assertServing();
    if (this.role !== 'leader') {
      throw new TesseraError('NOT_LEADER', `replica ${this.tid}_${this.pid} is a ${this.role}`, this.leaderHint ? { leader: this.leaderHint } : undefined);
    }
    if (this.fenced) throw new TesseraError('NOT_LEADER', `replica ${this.tid}_${this.pid} is handing its leadership over`);
  }

  /**
   * Refuses a client read unless this replica is a serving leader. A follower answers at its own
   * offset, which may be behind a write the leader acknowledged: a read addressed to it (stale
   * routing, a leader just demoted, a restarted tablet recovering as a follower) is refused with
   * `NOT_LEADER` and the leader hint, and the SDK refreshes its routing.
   */
  assertReadable(): void {
    this.assertServing();
    if (this.role !== 'leader') {
      throw new TesseraError('NOT_LEADER', `replica ${this.tid}_${this.pid} is a ${this.role} and serves no reads`, this.leaderHint ? { leader: this.leaderHint } : undefined);
    }
    // Fenced for a hand-over, the next leader may already accept writes this one will never see.
    if (this.fenced) throw new TesseraError('NOT_LEADER', `replica ${this.tid}_${this.pid} is handing its leadership over`);
  }

  /** Refuses a request unless this replica is serving (any role). */
  assertServing(): void {
    if (this.state === 'unassigned') {
      throw new TesseraError('REPLICA_NOT_SERVING', `replica ${this.tid}_${this.pid} is not assigned a role yet`);
    }
    if (this.state === 'loading') throw new TesseraError('REPLICA_NOT_SERVING', `replica ${this.tid}_${this.pid} is loading`);
  }

  async status(): Promise<ReplicaStatus & { followers?: string[]; fenced?: boolean }> {
    return this.statusWith(await this.diskUsed(), await this.store.firstBinlogOffset());
  }

  /** Bytes on disk now (an `approximateSize` call into LevelDB): what status-report.ts caches. */
  measureDisk(): Promise<number> {
    return this.diskUsed();
  }

  /** The status with the two figures that need I/O given (status-report.ts passes cached ones). */
  statusWith(diskUsed: number, binlogFirstOffset: number): ReplicaStatus & { followers?: string[]; fenced?: boolean } {
    const s = this.store;
    return {
      tid: this.tid,
      pid: this.pid,
      name: s.info.schema.name,
      db: s.info.schema.db,
      role: this.role,
      state: this.state,
      term: this.term,
      offset: s.offset,
      recordCnt: s.recordCnt,
      memUsed: s.memUsed,
      diskUsed,
      binlogFirstOffset,
      ...(this.role === 'leader' ? { followers: [...this.followers], fenced: this.fenced } : {}),
    };
  }
}
