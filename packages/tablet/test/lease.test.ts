// The leader lease (src/lease.ts) in process, on an injected clock: the arithmetic (how long one
// round trip leases, where it ends to the millisecond, a new session starting afresh, loss), and
// the keeper's decisions over a session whose answers the test controls: a lapsed lease is
// confirmed by one fresh round trip, a token from a lost session is never confirmed, and a lease
// that lapsed and cannot be confirmed calls onLost (the tablet's leaders step down).
import t from 'tap';
import { EventEmitter } from 'node:events';
import type { CoordSession } from '@tessera/coord';
import { LEASE_LIMITS, LeaseKeeper, LeaseState } from '../src/lease.js';

t.test('LeaseState arithmetic', async (t) => {
  const s = new LeaseState(3000);
  const duration = 3000 * (1 - LEASE_LIMITS.clockDriftBound) - LEASE_LIMITS.marginMs;
  t.equal(s.durationMs, duration, 'sessionTimeout × (1 − drift) − margin');
  t.notOk(s.holds(0), 'nothing leased before a round trip');
  s.renewed(1000, 'a');
  t.ok(s.holds(1000 + duration - 1), 'holds until just before send time + duration');
  t.notOk(s.holds(1000 + duration), 'lapses exactly at send time + duration');
  s.renewed(500, 'a');
  t.ok(s.holds(1000 + duration - 1), 'an older round trip answered late never shortens the lease');
  s.renewed(2000, 'a');
  t.ok(s.holds(2000 + duration - 1), 'a later round trip extends it');
  t.equal(s.status(2000).state, 'held');
  t.equal(s.status(2000).remainingMs, Math.round(duration));
  const gen = s.generation;
  s.renewed(2100, 'b');
  t.equal(s.sessionId, 'b');
  t.equal(s.generation, gen + 1, 'a round trip in a new session drops the old lease (generation moves)');
  t.notOk(s.holds(2100 + duration), 'the new lease counts from its own round trip only');
  s.lost();
  t.notOk(s.holds(2200), 'lost with the session');
  t.equal(s.status(2200).state, 'expired');
  t.equal(s.generation, gen + 2);
  s.lost();
  t.equal(s.generation, gen + 2, 'losing nothing twice moves nothing');
  const standalone = new LeaseState(0, true);
  t.ok(standalone.holds(Number.MAX_SAFE_INTEGER), 'a standalone tablet is always leased');
  t.equal(standalone.status(0).state, 'standalone');
  t.throws(() => new LeaseState(0), 'a cluster lease needs a positive session timeout');
});

/** A session whose answers the test decides: the registration node's owner, or a failure. */
class ScriptedSession extends EventEmitter {
  sessionId: string | undefined = 's1';
  isConnected = true;
  owner: string | undefined = 's1';
  fail = false;
  calls = 0;
  async get(_path: string): Promise<{ data: Buffer; version: number; ephemeralOwner: string | undefined } | undefined> {
    this.calls++;
    if (this.fail) throw new Error('ZSESSIONEXPIRED');
    return this.owner === undefined ? undefined : { data: Buffer.alloc(0), version: 0, ephemeralOwner: this.owner };
  }
}

t.test('LeaseKeeper decisions', async (t) => {
  let nowMs = 10_000;
  const session = new ScriptedSession();
  const lost: string[] = [];
  const k = new LeaseKeeper({ session: session as unknown as CoordSession, nodePath: '/t/nodes/x', sessionTimeoutMs: 3000, onLost: (r) => lost.push(r), now: () => nowMs });
  t.notOk(k.holds(), 'not leased before the first round trip');
  k.start(); // listens for 'expired' (renewal timer unref'd; the test drives round trips itself)
  t.teardown(() => k.stop());
  t.ok(await k.renew(), 'a round trip finding our node owned by our session');
  t.ok(k.holds());
  const token = k.token();
  nowMs += 5000; // paused past the lease
  t.notOk(k.holds(), 'lapsed after the pause');
  const before = session.calls;
  t.ok(await k.confirm(token), 'confirmed by one fresh round trip in the same session');
  t.equal(session.calls, before + 1);
  t.same(lost, [], 'nothing lost');

  nowMs += 5000;
  session.emit('expired', { sessionId: 's1' }); // the session expired while paused
  session.sessionId = 's2';
  session.owner = 's2';
  t.notOk(k.holds(), 'nothing leased after expiry');
  const calls = session.calls;
  t.notOk(await k.confirm(token), 'an order that arrived in session s1 is never confirmed in s2');
  t.equal(session.calls, calls, 'refused without a round trip: the generation moved');
  t.ok(await k.renew(), 'a round trip in s2');
  t.ok(k.holds(), 'leases the tablet again in s2 (for orders that arrive now)');
  t.notOk(await k.confirm(token), 'still not for the order from s1');
  t.ok(await k.confirm(k.token()), 'a fresh token confirms');

  nowMs += 5000;
  session.fail = true;
  t.notOk(await k.confirm(), 'a lapsed lease whose round trip fails is not confirmed');
  t.equal(lost.length, 1, 'and onLost is called (leaders step down)');
  session.fail = false;
  session.owner = 'someone-else';
  t.notOk(await k.confirm(), 'a node owned by another session confirms nothing');
  t.equal(lost.length, 2);
  t.match(lost[1], /not owned by session s2/);
  session.owner = undefined;
  t.notOk(await k.renew(), 'a node gone confirms nothing');

  const alone = new LeaseKeeper({ session: undefined, nodePath: '', sessionTimeoutMs: 0, onLost: () => lost.push('x') });
  t.ok(alone.holds(), 'standalone: always leased');
  t.ok(await alone.confirm(alone.token()));
});
