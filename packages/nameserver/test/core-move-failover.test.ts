/**
 * Moves and the failover monitor together (auto_failover on, issue 12 "found while trying it"):
 * a move's destination is recorded as a not-alive replica while it is built, which the monitor
 * must not take for a tablet back from a failure ("is back: recovering its replicas") nor repair;
 * a move canceled under auto_failover is undone and leaves nothing for the monitor to do; and a
 * real loss during a move is still failed over once the move gave up.
 */
import t from 'tap';
import { invariantViolations, scaleOutCluster } from './core-harness.js';

const CONFIG = { syncDeltaEntriesMax: 0, tabletHeartbeatTimeoutMs: 1_000, failoverRetryMs: 500, roleAssignRetryMs: 500, tabletDownTaskGraceMs: 2_000 };
const migrate = (src: string, des: string) => ({ type: 'migrate' as const, db: 'demo_db', name: 'flow', src, des, pids: [0] });

/** A migrate of pid 0 to ep4 held at its last step before the commit (its leader refuses the compare, retryable). */
function heldMigrate() {
  const c = scaleOutCluster({ config: CONFIG, autoFailover: true });
  c.h.faults.command = (_ep, x) => (x.type === 'CompareChecksum' ? 'failBefore' : 'deliver');
  c.h.faults.retryable = () => true;
  c.h.adminReply(migrate(c.src, 'ep4'));
  return c;
}

const monitorLines = (transcript: string[]): string[] => transcript.filter((l) => /is back: recovering|recoverendpoint|offline for/.test(l));

t.test('a move held for seconds before its commit: the monitor neither recovers nor repairs its destination', async (t) => {
  const { h } = heldMigrate();
  for (let i = 0; i < 40; i++) h.tick();
  t.match(h.engine.op(1), { status: 'kDoing', taskIndex: 7, tasks: [{}, {}, {}, {}, {}, {}, {}, { kind: 'kCheckChecksum', status: 'kDoing' }] }, 'the move waits 4 s before its commit');
  t.ok(h.layout(1, 0).includes('ep4:F-dead'), 'its destination is recorded not alive meanwhile');
  t.same(monitorLines(h.transcript), [], 'no failover or recovery decision');
  t.same(h.engine.opSummaries().map((o) => o.type), ['kMigrateOP'], 'no other op');
  h.faults.command = undefined;
  h.runUntilIdle();
  for (let i = 0; i < 40; i++) h.tick();
  t.equal(h.engine.op(1)!.status, 'kDone');
  t.same(h.engine.opSummaries().map((o) => o.type), ['kMigrateOP'], 'still no other op after the move');
  t.same(monitorLines(h.transcript), []);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('a move canceled under auto_failover: undone, and nothing for the monitor to do after', async (t) => {
  const { h } = heldMigrate();
  const before = h.layout(1, 0).filter((x) => !x.startsWith('ep4'));
  for (let i = 0; i < 10; i++) h.tick();
  t.match(h.adminReply({ type: 'cancelop', opId: 1 }), { ok: true, message: 'Cancel op ok' });
  h.runUntilIdle();
  for (let i = 0; i < 40; i++) h.tick();
  t.equal(h.engine.op(1)!.status, 'kCanceled');
  t.same(h.layout(1, 0), before, 'the partition as before the move');
  t.equal(h.cluster.tablet('ep4').replica(1, 0), undefined, 'nothing left on the destination');
  t.same(h.engine.opSummaries().map((o) => o.type), ['kMigrateOP']);
  t.same(monitorLines(h.transcript), []);
});

t.test('the destination lost during a move: the move gives up and is undone, the monitor takes the lost tablet offline, nothing is left', async (t) => {
  const { h } = heldMigrate();
  for (let i = 0; i < 5; i++) h.tick();
  h.tabletDown('ep4');
  h.faults.command = undefined; // the leader now answers: the new replica does not answer
  for (let i = 0; i < 200; i++) h.tick();
  t.equal(h.engine.op(1)!.status, 'kFailed', 'the move gave up on its lost destination');
  t.notOk(h.layout(1, 0).some((x) => x.startsWith('ep4')), 'and forgot it');
  t.ok(monitorLines(h.transcript).some((l) => /ep4 offline for/.test(l)), 'the monitor saw ep4 lost');
  t.same(invariantViolations(h, { allAlive: true }), []);
});
