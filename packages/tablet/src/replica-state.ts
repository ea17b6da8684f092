/**
 * The one owner of a replica's role, term, serving state, fence and snapshot pause (and what goes
 * with a role: followers, leader hint, replica_ack). Nothing else assigns them: every change is a
 * named transition (raft's becomeLeader / becomeFollower; the nameserver core's transitionOp),
 * checked against TRANSITIONS, a table of (phase, transition) → next phase or a coded refusal.
 *
 * A transition runs in one order, one at a time per replica: refuse (table, then the term and
 * argument guards), persist role and term in the store when they change, change memory, then
 * tell the one change hook (replication subscribes; its promise is what the caller awaits). The
 * rules and the table are in docs/replication.md, "The replica state machine".
 */
import { TesseraError, type ErrorCode, type ReplicaAck, type ReplicaRole, type ReplicaState } from '@tessera/common';

/** The phases the table is written over (derived from role, serving state and fence). */
export type ReplicaPhase = 'unassigned' | 'loading' | 'follower' | 'leader' | 'fenced';
export const PHASES: readonly ReplicaPhase[] = ['unassigned', 'loading', 'follower', 'leader', 'fenced'];

export type TransitionName =
  | 'becomeLeader' | 'becomeFollower' | 'followTerm' | 'stepDown' | 'relinquish' | 'fence' | 'setFollowers'
  | 'beginSnapshotLoad' | 'endSnapshotLoad' | 'pauseSnapshot' | 'resumeSnapshot';
export const TRANSITION_NAMES: readonly TransitionName[] = [
  'becomeLeader', 'becomeFollower', 'followTerm', 'stepDown', 'relinquish', 'fence', 'setFollowers',
  'beginSnapshotLoad', 'endSnapshotLoad', 'pauseSnapshot', 'resumeSnapshot',
];

/**
 * A cell: the phase after the transition; 'same' (stays); 'byStore' (follower, or loading when
 * the store holds an interrupted snapshot load); or the refusal with its catalogue code.
 */
export type Cell = ReplicaPhase | 'same' | 'byStore' | { refuse: ErrorCode; why: string };

const notLeader: Cell = { refuse: 'NOT_LEADER', why: 'is not a leader' };
const notAssigned: Cell = { refuse: 'REPLICA_NOT_SERVING', why: 'is not assigned a role yet' };

export const TRANSITIONS: Readonly<Record<ReplicaPhase, Readonly<Record<TransitionName, Cell>>>> = {
  unassigned: {
    becomeLeader: 'leader', becomeFollower: 'byStore', followTerm: notAssigned, stepDown: notLeader, relinquish: notLeader,
    fence: notLeader, setFollowers: notLeader, beginSnapshotLoad: notAssigned,
    endSnapshotLoad: { refuse: 'PRECONDITION_FAILED', why: 'is not loading a snapshot' },
    pauseSnapshot: { refuse: 'PRECONDITION_FAILED', why: 'is unassigned, not normal' }, resumeSnapshot: 'same',
  },
  loading: {
    becomeLeader: { refuse: 'REPLICA_NOT_SERVING', why: 'is being rebuilt from a snapshot' }, becomeFollower: 'same', followTerm: 'same',
    stepDown: notLeader, relinquish: notLeader, fence: notLeader, setFollowers: notLeader, beginSnapshotLoad: 'same', endSnapshotLoad: 'follower',
    pauseSnapshot: { refuse: 'PRECONDITION_FAILED', why: 'is loading, not normal' }, resumeSnapshot: 'same',
  },
  follower: {
    becomeLeader: 'leader', becomeFollower: 'follower', followTerm: 'same', stepDown: notLeader, relinquish: notLeader,
    fence: notLeader, setFollowers: notLeader, beginSnapshotLoad: 'loading',
    endSnapshotLoad: { refuse: 'PRECONDITION_FAILED', why: 'is not loading a snapshot' }, pauseSnapshot: 'same', resumeSnapshot: 'same',
  },
  leader: {
    becomeLeader: 'leader', becomeFollower: 'follower', followTerm: 'follower', stepDown: 'unassigned', relinquish: 'unassigned',
    fence: 'fenced', setFollowers: 'same', beginSnapshotLoad: { refuse: 'PRECONDITION_FAILED', why: 'is a leader' },
    endSnapshotLoad: { refuse: 'PRECONDITION_FAILED', why: 'is not loading a snapshot' }, pauseSnapshot: 'same', resumeSnapshot: 'same',
  },
  fenced: {
    becomeLeader: 'leader', becomeFollower: 'follower', followTerm: 'follower', stepDown: 'unassigned', relinquish: 'unassigned',
    fence: 'same', setFollowers: 'same', beginSnapshotLoad: { refuse: 'PRECONDITION_FAILED', why: 'is a leader' },
    endSnapshotLoad: { refuse: 'PRECONDITION_FAILED', why: 'is not loading a snapshot' }, pauseSnapshot: 'same', resumeSnapshot: 'same',
  },
};

/** Everything the machine owns, as one value. */
export interface ReplicaFields {
  role: ReplicaRole | 'none';
  term: number;
  /** The serving state without the pause: unassigned, normal or loading. */
  serving: 'unassigned' | 'normal' | 'loading';
  /** Binlog held for an op (pause_snapshot): reported as state snapshotPaused. */
  paused: boolean;
  fenced: boolean;
  followers: string[];
  leaderHint: string | undefined;
  replicaAck: ReplicaAck;
}

/** What the change hook is told after a transition changed something. */
export interface ReplicaChange {
  transition: TransitionName;
  from: ReplicaPhase;
  to: ReplicaPhase;
  before: Readonly<ReplicaFields>;
  /** The in-sync set that came with a role order, when it came with one. */
  inSync: string[] | undefined;
}

export type ChangeHook = (change: ReplicaChange) => Promise<void> | void;

/** What the machine needs of the replica's store. */
export interface RolePersistence {
  /** Persists role and term (the store refuses a lower term: STALE_TERM). */
  setRole(role: ReplicaRole, term: number): Promise<void>;
  /** True while (or after an interrupted) snapshot load. */
  readonly incomplete: boolean;
}

export function phaseOf(f: Pick<ReplicaFields, 'serving' | 'role' | 'fenced'>): ReplicaPhase {
  if (f.serving === 'unassigned') return 'unassigned';
  if (f.serving === 'loading') return 'loading';
  if (f.role === 'leader') return f.fenced ? 'fenced' : 'leader';
  return 'follower';
}

/** Arguments of the role orders (the nameserver's change_role / create_replica). */
export interface RoleOrder {
  term: number;
  replicaAck?: ReplicaAck;
  inSync?: string[];
  /** Checked before the role is persisted and again before it takes effect (the lease gate). */
  guard?: () => void;
}

export class ReplicaStateMachine {
  private f: ReplicaFields;
  private queue: Promise<unknown> = Promise.resolve();
  /** Transitions queued or running. */
  private queued = 0;

  constructor(
    private readonly label: string,
    private readonly store: RolePersistence,
    initial: { role: ReplicaRole | 'none'; term: number; state: ReplicaState },
    private readonly hook: ChangeHook = () => undefined,
  ) {
    const serving = initial.state === 'snapshotPaused' ? 'normal' : initial.state;
    this.f = { role: initial.role, term: initial.term, serving, paused: initial.state === 'snapshotPaused', fenced: false, followers: [], leaderHint: undefined, replicaAck: 'all' };
  }

  get fields(): Readonly<ReplicaFields> {
    return this.f;
  }

  get phase(): ReplicaPhase {
    return phaseOf(this.f);
  }

  get role(): ReplicaRole | 'none' {
    return this.f.role;
  }

  get term(): number {
    return this.f.term;
  }

  /** The serving state as reported (snapshotPaused while paused and otherwise normal). */
  get state(): ReplicaState {
    return this.f.serving === 'normal' && this.f.paused ? 'snapshotPaused' : this.f.serving;
  }

  get fenced(): boolean {
    return this.f.fenced;
  }

  get followers(): readonly string[] {
    return this.f.followers;
  }

  get leaderHint(): string | undefined {
    return this.f.leaderHint;
  }

  get replicaAck(): ReplicaAck {
    return this.f.replicaAck;
  }

  /** Whether the table allows `t` in the current phase (guards on arguments aside). */
  allows(t: TransitionName): boolean {
    return typeof TRANSITIONS[this.phase][t] === 'string';
  }

  // ------------------------------------------------------------ the named transitions

  /** The nameserver makes this replica the leader of `term` with these followers. */
  becomeLeader(o: RoleOrder & { followers: string[] }): Promise<void> {
    return this.run('becomeLeader', o.inSync, o.guard, (f) => {
      this.termNotLower(f, o.term);
      if (this.store.incomplete) throw this.refusal('REPLICA_NOT_SERVING', 'holds an interrupted snapshot load; it cannot lead');
      return { role: 'leader', term: o.term, fenced: false, followers: [...o.followers], leaderHint: undefined, replicaAck: o.replicaAck ?? f.replicaAck };
    });
  }

  /** The nameserver makes this replica a follower of `term` (leader hint for NOT_LEADER answers). */
  becomeFollower(o: RoleOrder & { leader?: string }): Promise<void> {
    return this.run('becomeFollower', o.inSync, o.guard, (f) => {
      this.termNotLower(f, o.term);
      return { role: 'follower', term: o.term, fenced: false, followers: [], leaderHint: o.leader, replicaAck: o.replicaAck ?? f.replicaAck };
    });
  }

  /**
   * A leader of `term` appends (or sends a snapshot): a lower term is refused (STALE_TERM, with
   * ours), a higher one adopted; a leader of a lower term becomes its follower.
   */
  followTerm(term: number): Promise<void> {
    if (this.followsTerm(term)) return Promise.resolve();
    return this.run('followTerm', undefined, undefined, (f, from) => {
      this.termNotLower(f, term);
      if ((from === 'leader' || from === 'fenced') && term === f.term) throw this.refusal('PRECONDITION_FAILED', `is the leader of term ${term}`);
      if (term === f.term) return {};
      return { role: 'follower', term, fenced: false, followers: [], leaderHint: undefined };
    });
  }

  /**
   * The hot path (every append), synchronous: true when followTerm(term) would change nothing —
   * a follower (or a replica loading) of this term with no transition queued.
   */
  followsTerm(term: number): boolean {
    return this.queued === 0 && term === this.f.term && (this.phase === 'follower' || this.phase === 'loading');
  }

  /**
   * A follower revealed a higher term: stop leading and serve nothing (reads too) until the
   * nameserver assigns a role again — a deposed leader answering as a follower would hand out what
   * the new leader has since replaced.
   */
  stepDown(term: number): Promise<void> {
    return this.run('stepDown', undefined, undefined, (f) => {
      if (term <= f.term) throw this.refusal('STALE_TERM', `term ${term} does not depose term ${f.term}`, { term: f.term });
      return { role: 'follower', term, fenced: false, followers: [], leaderHint: undefined };
    });
  }

  /** This tablet may have been failed over (session or lease lost): stop leading, serve nothing. */
  relinquish(): Promise<void> {
    return this.run('relinquish', undefined, undefined, () => ({ role: 'follower', fenced: false, followers: [], leaderHint: undefined }));
  }

  /** A hand-over: the leader of `term` refuses writes from now on and keeps replicating. */
  fence(term: number): Promise<void> {
    return this.run('fence', undefined, undefined, (f) => {
      if (term !== f.term) throw this.refusal('NOT_LEADER', `is not the leader of term ${term}`);
      return { fenced: true };
    });
  }

  /** add_replica / del_replica: the leader's follower list. */
  setFollowers(followers: string[]): Promise<void> {
    return this.run('setFollowers', undefined, undefined, () => ({ followers: [...followers] }));
  }

  beginSnapshotLoad(): Promise<void> {
    return this.run('beginSnapshotLoad', undefined, undefined, () => ({}));
  }

  endSnapshotLoad(): Promise<void> {
    return this.run('endSnapshotLoad', undefined, undefined, () => ({}));
  }

  /** pause_snapshot: keep the binlog for an op (reported as snapshotPaused). */
  pauseSnapshot(): Promise<void> {
    return this.run('pauseSnapshot', undefined, undefined, () => ({ paused: true }));
  }

  resumeSnapshot(): Promise<void> {
    return this.run('resumeSnapshot', undefined, undefined, () => ({ paused: false }));
  }

  // ------------------------------------------------------------ the one path every change takes

  private refusal(code: ErrorCode, why: string, details?: Record<string, unknown>): TesseraError {
    return new TesseraError(code, `replica ${this.label} ${why}`, details);
  }

  private termNotLower(f: ReplicaFields, term: number): void {
    if (term < f.term) throw new TesseraError('STALE_TERM', `term ${term} is lower than replica term ${f.term}`, { term: f.term });
  }

  /**
   * Serialised per replica: a transition sees the state the previous one left. The returned
   * promise settles when the change hook's work settled; the next transition waits only for this
   * one's own step, not for the hook.
   */
  private run(t: TransitionName, inSync: string[] | undefined, guard: (() => void) | undefined, change: (f: ReplicaFields, from: ReplicaPhase) => Partial<ReplicaFields>): Promise<void> {
    this.queued++;
    const step = this.queue.then(() => this.step(t, inSync, guard, change)).finally(() => {
      this.queued--;
    });
    this.queue = step.then(() => undefined, () => undefined);
    return step.then((r) => r.told);
  }

  private async step(t: TransitionName, inSync: string[] | undefined, guard: (() => void) | undefined, change: (f: ReplicaFields, from: ReplicaPhase) => Partial<ReplicaFields>): Promise<{ told: Promise<void> | void }> {
    const from = this.phase;
    const cell = TRANSITIONS[from][t];
    if (typeof cell !== 'string') throw this.refusal(cell.refuse, cell.why);
    const before = { ...this.f };
    const next: ReplicaFields = { ...before, ...change(before, from) };
    next.serving = nextServing(cell, before.serving, this.store.incomplete);
    if (next.serving !== 'normal') next.paused = false;
    const persist = (next.role !== before.role || next.term !== before.term) && next.role !== 'none';
    if (STOP_FIRST.has(t)) {
      // Stopping to lead takes effect at once; the role on disk follows as it can (a restart
      // comes back unassigned either way).
      this.f = next;
      if (persist) await this.store.setRole(next.role as ReplicaRole, next.term).catch(() => undefined);
    } else {
      guard?.();
      if (persist) {
        await this.store.setRole(next.role as ReplicaRole, next.term);
        guard?.();
      }
      if (sameFields(before, next) && inSync === undefined) return { told: undefined };
      this.f = next;
    }
    return { told: this.hook({ transition: t, from, to: this.phase, before, inSync }) };
  }
}

/** Transitions that stop a leader: memory first, persistence best effort. */
const STOP_FIRST: ReadonlySet<TransitionName> = new Set(['stepDown', 'relinquish']);

function nextServing(cell: Cell, serving: ReplicaFields['serving'], incomplete: boolean): ReplicaFields['serving'] {
  switch (cell) {
    case 'same':
      return serving;
    case 'byStore':
      return incomplete ? 'loading' : 'normal';
    case 'unassigned':
      return 'unassigned';
    case 'loading':
      return 'loading';
    default:
      return 'normal';
  }
}

function sameFields(a: ReplicaFields, b: ReplicaFields): boolean {
  return a.role === b.role && a.term === b.term && a.serving === b.serving && a.paused === b.paused && a.fenced === b.fenced
    && a.leaderHint === b.leaderHint && a.replicaAck === b.replicaAck && a.followers.length === b.followers.length && a.followers.every((x, i) => x === b.followers[i]);
}
