// The replica state machine (src/replica-state.ts) in process: every (phase, transition) pair is
// listed below with its outcome — the phase it leads to or the catalogue code it is refused
// with — and run against a machine put in that phase; then the rules around the table: terms
// (lower refused, equal on a leader refused), the lease guard checked before and after the role
// is persisted, stopping to lead taking effect even when the disk write fails, an interrupted
// snapshot load coming back as loading, the change hook told once per change with the in-sync
// set of the order, and transitions applied one at a time in call order.
import t from 'tap';
import { TesseraError, type ErrorCode, type ReplicaRole, type ReplicaState } from '@tessera/common';
import { PHASES, ReplicaStateMachine, TRANSITION_NAMES, TRANSITIONS, type ReplicaChange, type ReplicaPhase, type TransitionName } from '../src/replica-state.js';

type Outcome = ReplicaPhase | ErrorCode;

/** The expected outcome of every pair, written out here independently of the module's table. */
const EXPECTED: Record<ReplicaPhase, Record<TransitionName, Outcome>> = {
  unassigned: {
    becomeLeader: 'leader', becomeFollower: 'follower', followTerm: 'REPLICA_NOT_SERVING', stepDown: 'NOT_LEADER', relinquish: 'NOT_LEADER',
    fence: 'NOT_LEADER', setFollowers: 'NOT_LEADER', beginSnapshotLoad: 'REPLICA_NOT_SERVING', endSnapshotLoad: 'PRECONDITION_FAILED',
    pauseSnapshot: 'PRECONDITION_FAILED', resumeSnapshot: 'unassigned',
  },
  loading: {
    becomeLeader: 'REPLICA_NOT_SERVING', becomeFollower: 'loading', followTerm: 'loading', stepDown: 'NOT_LEADER', relinquish: 'NOT_LEADER',
    fence: 'NOT_LEADER', setFollowers: 'NOT_LEADER', beginSnapshotLoad: 'loading', endSnapshotLoad: 'follower',
    pauseSnapshot: 'PRECONDITION_FAILED', resumeSnapshot: 'loading',
  },
  follower: {
    becomeLeader: 'leader', becomeFollower: 'follower', followTerm: 'follower', stepDown: 'NOT_LEADER', relinquish: 'NOT_LEADER',
    fence: 'NOT_LEADER', setFollowers: 'NOT_LEADER', beginSnapshotLoad: 'loading', endSnapshotLoad: 'PRECONDITION_FAILED',
    pauseSnapshot: 'follower', resumeSnapshot: 'follower',
  },
  leader: {
    becomeLeader: 'leader', becomeFollower: 'follower', followTerm: 'follower', stepDown: 'unassigned', relinquish: 'unassigned',
    fence: 'fenced', setFollowers: 'leader', beginSnapshotLoad: 'PRECONDITION_FAILED', endSnapshotLoad: 'PRECONDITION_FAILED',
    pauseSnapshot: 'leader', resumeSnapshot: 'leader',
  },
  fenced: {
    becomeLeader: 'leader', becomeFollower: 'follower', followTerm: 'follower', stepDown: 'unassigned', relinquish: 'unassigned',
    fence: 'fenced', setFollowers: 'fenced', beginSnapshotLoad: 'PRECONDITION_FAILED', endSnapshotLoad: 'PRECONDITION_FAILED',
    pauseSnapshot: 'fenced', resumeSnapshot: 'fenced',
  },
};

const TERM = 3;

interface Disk {
  setRole(role: ReplicaRole, term: number): Promise<void>;
  incomplete: boolean;
  writes: Array<[string, number]>;
  failWrites: boolean;
}

function disk(incomplete = false): Disk {
  const d: Disk = {
    incomplete, writes: [], failWrites: false,
    async setRole(role, term) {
      if (d.failWrites) throw new TesseraError('STORAGE_IO', 'disk gone');
      d.writes.push([role, term]);
    },
  };
  return d;
}

async function machineIn(phase: ReplicaPhase, changes: ReplicaChange[] = [], d: Disk = disk()): Promise<ReplicaStateMachine> {
  const initial: Record<ReplicaPhase, { role: ReplicaRole; state: ReplicaState }> = {
    unassigned: { role: 'leader', state: 'unassigned' },
    loading: { role: 'follower', state: 'loading' },
    follower: { role: 'follower', state: 'normal' },
    leader: { role: 'leader', state: 'normal' },
    fenced: { role: 'leader', state: 'normal' },
  };
  const m = new ReplicaStateMachine('1_0', d, { ...initial[phase], term: TERM }, (c) => {
    changes.push(c);
  });
  if (phase === 'fenced') await m.fence(TERM);
  changes.length = 0;
  return m;
}

function apply(m: ReplicaStateMachine, tr: TransitionName): Promise<void> {
  switch (tr) {
    case 'becomeLeader': return m.becomeLeader({ term: TERM + 1, followers: ['f1'] });
    case 'becomeFollower': return m.becomeFollower({ term: TERM + 1, leader: 'l1' });
    case 'followTerm': return m.followTerm(TERM + 1);
    case 'stepDown': return m.stepDown(TERM + 1);
    case 'relinquish': return m.relinquish();
    case 'fence': return m.fence(TERM);
    case 'setFollowers': return m.setFollowers(['f2']);
    case 'beginSnapshotLoad': return m.beginSnapshotLoad();
    case 'endSnapshotLoad': return m.endSnapshotLoad();
    case 'pauseSnapshot': return m.pauseSnapshot();
    case 'resumeSnapshot': return m.resumeSnapshot();
  }
}

t.test('the table lists every (phase, transition) pair', async (t) => {
  t.equal(PHASES.length * TRANSITION_NAMES.length, 55);
  for (const p of PHASES) t.same(Object.keys(TRANSITIONS[p]).sort(), [...TRANSITION_NAMES].sort(), `${p}: every transition has a cell`);
  t.same(Object.keys(EXPECTED).sort(), [...PHASES].sort());
});

for (const phase of PHASES) {
  for (const tr of TRANSITION_NAMES) {
    const expected = EXPECTED[phase][tr];
    t.test(`${phase} × ${tr} → ${expected}`, async (t) => {
      const changes: ReplicaChange[] = [];
      const m = await machineIn(phase, changes);
      t.equal(m.phase, phase, `set up in ${phase}`);
      const before = { ...m.fields };
      const allowed = m.allows(tr);
      const refused = await apply(m, tr).then(() => undefined, (err: TesseraError) => err);
      if ((PHASES as readonly string[]).includes(expected)) {
        t.equal(refused, undefined, 'allowed');
        t.equal(m.phase, expected);
        t.equal(allowed, true, 'allows() agreed');
        const changed = JSON.stringify(before) !== JSON.stringify(m.fields);
        t.equal(changes.length, changed ? 1 : 0, 'the hook is told once per change, never for none');
        if (changed) t.match(changes[0], { transition: tr, from: phase, to: expected });
      } else {
        t.ok(refused instanceof TesseraError, 'refused with a coded error');
        t.equal(refused?.code, expected);
        t.equal(allowed, false, 'allows() agreed');
        t.same(m.fields, before, 'nothing changed');
        t.equal(changes.length, 0, 'the hook is not told');
      }
    });
  }
}

t.test('terms', async (t) => {
  const m = await machineIn('follower');
  await t.rejects(m.becomeLeader({ term: TERM - 1, followers: [] }), { code: 'STALE_TERM' }, 'a lower term is refused');
  await t.rejects(m.followTerm(TERM - 1), { code: 'STALE_TERM' });
  await m.followTerm(TERM);
  t.equal(m.term, TERM, 'the same term on a follower changes nothing');
  const l = await machineIn('leader');
  await t.rejects(l.followTerm(TERM), { code: 'PRECONDITION_FAILED' }, 'an append of its own term to a leader is refused');
  await t.rejects(l.stepDown(TERM), { code: 'STALE_TERM' }, 'a step-down needs a higher term');
  await t.rejects(l.fence(TERM + 1), { code: 'NOT_LEADER' }, 'a fence of another term is refused');
  await l.stepDown(TERM + 2);
  t.match(l.fields, { role: 'follower', term: TERM + 2, serving: 'unassigned' }, 'a deposed leader adopts the term and serves nothing');
});

t.test('the role and term are persisted before they take effect; the guard is checked before and after', async (t) => {
  const d = disk();
  const m = await machineIn('unassigned', [], d);
  let guardCalls = 0;
  await m.becomeLeader({ term: 5, followers: ['a', 'b'], replicaAck: 'leader', guard: () => void guardCalls++ });
  t.same(d.writes, [['leader', 5]]);
  t.equal(guardCalls, 2, 'before the write and after it');
  t.match(m.fields, { role: 'leader', term: 5, serving: 'normal', followers: ['a', 'b'], replicaAck: 'leader', fenced: false });
  let lost = false;
  const f = await machineIn('follower');
  const failing = f.becomeLeader({ term: 6, followers: [], guard: () => {
    if (lost) throw new TesseraError('REPLICA_NOT_SERVING', 'lease lost');
    lost = true;
  } });
  await t.rejects(failing, { code: 'REPLICA_NOT_SERVING' }, 'a lease lost while the role was written refuses the order');
  t.equal(f.role, 'follower', 'and the replica does not lead');
});

t.test('stopping to lead takes effect even when the disk write fails', async (t) => {
  const d = disk();
  const m = await machineIn('leader', [], d);
  d.failWrites = true;
  await m.relinquish();
  t.equal(m.phase, 'unassigned');
  t.equal(m.state, 'unassigned');
});

t.test('an interrupted snapshot load comes back as loading, and cannot lead', async (t) => {
  const d = disk(true);
  const m = await machineIn('unassigned', [], d);
  await t.rejects(m.becomeLeader({ term: 4, followers: [] }), { code: 'REPLICA_NOT_SERVING' });
  await m.becomeFollower({ term: 4 });
  t.equal(m.phase, 'loading');
  t.equal(m.state, 'loading');
});

t.test('pause is reported as snapshotPaused and cleared by leaving service', async (t) => {
  const m = await machineIn('leader');
  await m.pauseSnapshot();
  t.equal(m.state, 'snapshotPaused');
  t.equal(m.phase, 'leader');
  await m.fence(TERM);
  t.equal(m.state, 'snapshotPaused', 'a fence keeps the pause');
  await m.relinquish();
  t.equal(m.state, 'unassigned', 'unassigned clears it');
});

t.test('the in-sync set of a role order reaches the hook even when nothing else changed', async (t) => {
  const changes: ReplicaChange[] = [];
  const m = await machineIn('leader', changes);
  await m.becomeLeader({ term: TERM, followers: [], inSync: ['x'] });
  await m.becomeLeader({ term: TERM, followers: [] });
  t.equal(changes.length, 1);
  t.same(changes[0]?.inSync, ['x']);
});

t.test('transitions apply one at a time, in call order; the caller waits for the hook', async (t) => {
  const order: string[] = [];
  let release!: () => void;
  const hookDone = new Promise<void>((r) => {
    release = r;
  });
  const m = new ReplicaStateMachine('1_0', disk(), { role: 'follower', term: 1, state: 'normal' }, async (c) => {
    order.push(`hook ${c.transition}`);
    if (c.transition === 'becomeLeader') await hookDone;
  });
  const a = m.becomeLeader({ term: 2, followers: ['f'] }).then(() => order.push('leader settled'));
  const b = m.relinquish().then(() => order.push('relinquish settled'));
  await b;
  t.same(order, ['hook becomeLeader', 'hook relinquish', 'relinquish settled'], 'the second transition does not wait for the first one\'s hook');
  release();
  await a;
  t.equal(m.phase, 'unassigned');
});
