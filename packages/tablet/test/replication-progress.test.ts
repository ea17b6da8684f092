// The pure parts of replication, table by table (as raft's tracker/progress_test.go):
// progress.ts — the offset writes wait for, the commit point, joining and leaving the leader's
// expanding set, binlog retention — and match.ts, the match-or-snapshot decision of a stream.
import t from 'tap';
import { decideMatch, type MatchFacts } from '../src/replication/match.js';
import { dropsFromExpanding, joinsAtAck, minWaitingAcked, nextCommitted, rejoinsAtOrder, retentionFloor, type FollowerView } from '../src/replication/progress.js';

const streams = (acked: Record<string, number>) => new Map(Object.entries(acked).map(([f, a]) => [f, { progress: { ackedOffset: a } }]));

t.test('minWaitingAcked', async (t) => {
  const cases: Array<{ name: string; acked: Record<string, number>; confirmed: string[]; expanding: string[]; leader: number; min: number; want: number }> = [
    { name: 'no follower waited for, none required', acked: {}, confirmed: [], expanding: [], leader: 10, min: 2, want: 10 },
    { name: 'streams exist but none waited for: fewer than required', acked: { a: 10 }, confirmed: [], expanding: [], leader: 10, min: 2, want: -1 },
    { name: 'min_in_sync_replicas 1: the leader alone', acked: { a: 3 }, confirmed: [], expanding: [], leader: 10, min: 1, want: 10 },
    { name: 'lowest of the recorded set', acked: { a: 7, b: 9 }, confirmed: ['a', 'b'], expanding: [], leader: 10, min: 2, want: 7 },
    { name: 'expanding counts too', acked: { a: 9, b: 4 }, confirmed: ['a'], expanding: ['b'], leader: 10, min: 2, want: 4 },
    { name: 'a follower not waited for does not hold it back', acked: { a: 9, b: 1 }, confirmed: ['a'], expanding: [], leader: 10, min: 2, want: 9 },
    { name: 'a recorded follower without a stream counts as nothing confirmed', acked: { a: 9 }, confirmed: ['a', 'gone'], expanding: [], leader: 10, min: 2, want: -1 },
    { name: 'required capped by the number of streams', acked: { a: 8 }, confirmed: ['a'], expanding: [], leader: 10, min: 3, want: 8 },
    { name: 'never above the leader', acked: { a: 12 }, confirmed: ['a'], expanding: [], leader: 10, min: 2, want: 10 },
    { name: 'before the first answer', acked: { a: -1 }, confirmed: ['a'], expanding: [], leader: 10, min: 2, want: -1 },
  ];
  for (const c of cases) {
    t.equal(minWaitingAcked({ streams: streams(c.acked), confirmed: new Set(c.confirmed), expanding: new Set(c.expanding) }, c.leader, c.min), c.want, c.name);
  }
});

t.test('nextCommitted', async (t) => {
  const cases: Array<[string, number, number, number, number]> = [
    // name, committed, minAcked, takeoverOffset, want
    ['not before the followers hold the takeover offset', -1, 9, 10, -1],
    ['known once they do', -1, 10, 10, 10],
    ['moves forward', 10, 12, 10, 12],
    ['never back (the set shrank to a slower follower)', 12, 11, 10, 12],
    ['never back to unknown', 12, -1, 10, 12],
    ['a leader that took over an empty replica', -1, 0, 0, 0],
  ];
  for (const [name, committed, min, takeover, want] of cases) t.equal(nextCommitted(committed, min, takeover), want, name);
});

t.test('joinsAtAck and rejoinsAtOrder', async (t) => {
  const join: Array<[string, { waited: boolean; state: FollowerView['state']; offset: number }, number, boolean]> = [
    ['streaming and holding every acknowledged write', { waited: false, state: 'stream', offset: 10 }, 10, true],
    ['behind the acknowledged writes', { waited: false, state: 'stream', offset: 9 }, 10, false],
    ['already waited for', { waited: true, state: 'stream', offset: 10 }, 10, false],
    ['not streaming (a snapshot just delivered)', { waited: false, state: 'match', offset: 10 }, 10, false],
    ['being rebuilt', { waited: false, state: 'snapshot', offset: 10 }, 10, false],
  ];
  for (const [name, f, acknowledged, want] of join) t.equal(joinsAtAck(f, acknowledged), want, `join: ${name}`);
  const rejoin: Array<[string, { recorded: boolean; state: FollowerView['state']; ackedOffset: number }, number, number, boolean]> = [
    // name, follower, acknowledged, leader offset, want
    ['left out while it holds everything the leader has', { recorded: false, state: 'stream', ackedOffset: 10 }, 10, 10, true],
    ['left out while behind the leader (an ack will come)', { recorded: false, state: 'stream', ackedOffset: 10 }, 10, 11, false],
    ['left out before it matched', { recorded: false, state: 'match', ackedOffset: -1 }, 10, 10, false],
    ['kept in the recorded set', { recorded: true, state: 'stream', ackedOffset: 10 }, 10, 10, false],
  ];
  for (const [name, f, acknowledged, leader, want] of rejoin) t.equal(rejoinsAtOrder(f, acknowledged, leader), want, `rejoin: ${name}`);
});

t.test('dropsFromExpanding', async (t) => {
  const limits = { lagEntriesMax: 100, silentMsMax: 2000 };
  const cases: Array<[string, { ackedOffset: number; lastAckMs: number } | undefined, number, number, boolean]> = [
    // name, progress, leader offset, now, want
    ['its stream is gone', undefined, 10, 0, true],
    ['caught up and silent (idle)', { ackedOffset: 10, lastAckMs: 0 }, 10, 10_000, false],
    ['behind, answering', { ackedOffset: 5, lastAckMs: 9_000 }, 10, 10_000, false],
    ['behind and silent past the limit', { ackedOffset: 5, lastAckMs: 7_999 }, 10, 10_000, true],
    ['behind and silent exactly at the limit', { ackedOffset: 5, lastAckMs: 8_000 }, 10, 10_000, false],
    ['further behind than the lag limit', { ackedOffset: 10, lastAckMs: 10_000 }, 111, 10_000, true],
    ['exactly at the lag limit', { ackedOffset: 10, lastAckMs: 10_000 }, 110, 10_000, false],
  ];
  for (const [name, p, leader, now, want] of cases) t.equal(dropsFromExpanding(p, leader, now, limits), want, name);
});

t.test('retentionFloor', async (t) => {
  const f = (state: FollowerView['state'], ackedOffset: number, lastAckMs: number, snapshotOffset?: number): FollowerView => ({ state, ackedOffset, lastAckMs, snapshotOffset });
  const now = 100_000;
  const active = 30_000;
  const cases: Array<[string, FollowerView[], number | undefined]> = [
    ['no followers', [], undefined],
    ['a streaming follower keeps what it has not confirmed', [f('stream', 40, now - 1)], 41],
    ['a silent streaming follower pins nothing', [f('stream', 40, now - active)], undefined],
    ['a snapshot in flight keeps what follows it, silent or not', [f('snapshot', -1, 0, 70)], 71],
    ['a snapshot still being prepared (no offset yet) pins nothing', [f('snapshot', -1, 0)], undefined],
    ['matching after a snapshot, active', [f('match', 70, now - 1, 70)], 71],
    ['matching after a snapshot, silent', [f('match', 70, now - active, 70)], undefined],
    ['matching without a snapshot pins nothing', [f('match', 20, now - 1)], undefined],
    ['the lowest need wins', [f('stream', 40, now - 1), f('snapshot', -1, 0, 30), f('stream', 90, now - 1)], 31],
  ];
  for (const [name, followers, want] of cases) t.equal(retentionFloor(followers, now, active), want, name);
});

t.test('decideMatch', async (t) => {
  const base: MatchFacts = { followerOffset: 50, followerTerm: 2, followerIncomplete: false, leaderOffset: 80, leaderTermThere: 2, firstBinlogOffset: 1, delivered: undefined };
  const cases: Array<[string, Partial<MatchFacts>, 'stream' | 'snapshot']> = [
    ['same history, behind: stream from the next entry', {}, 'stream'],
    ['caught up', { followerOffset: 80 }, 'stream'],
    ['an empty follower, binlog complete', { followerOffset: 0, followerTerm: undefined, leaderTermThere: undefined }, 'stream'],
    ['an empty follower, binlog freed', { followerOffset: 0, followerTerm: undefined, leaderTermThere: undefined, firstBinlogOffset: 10 }, 'snapshot'],
    ['a partial snapshot', { followerIncomplete: true }, 'snapshot'],
    ['ahead of the leader (a diverged tail)', { followerOffset: 81, leaderTermThere: undefined }, 'snapshot'],
    ['a different term there (diverged)', { leaderTermThere: 3 }, 'snapshot'],
    ['the leader cannot tell its term there', { leaderTermThere: undefined }, 'snapshot'],
    ['unverifiable, but the snapshot this stream just delivered', { leaderTermThere: undefined, delivered: { offset: 50, term: 2 } }, 'stream'],
    ['a delivered snapshot of another term does not vouch', { leaderTermThere: undefined, delivered: { offset: 50, term: 1 } }, 'snapshot'],
    ['a delivered snapshot at another offset does not vouch', { leaderTermThere: undefined, delivered: { offset: 49, term: 2 } }, 'snapshot'],
    ['behind the oldest retained entry', { firstBinlogOffset: 52 }, 'snapshot'],
    ['right at the oldest retained entry', { firstBinlogOffset: 51 }, 'stream'],
  ];
  for (const [name, facts, want] of cases) {
    const d = decideMatch({ ...base, ...facts });
    t.equal(d.resume, want, name);
    if (d.resume === 'stream') t.equal(d.nextOffset, (facts.followerOffset ?? base.followerOffset) + 1, `${name}: resumes after the follower's offset`);
  }
});
