/**
 * The auto_failover gate table (core/failover-gate.ts): docs/ns_client.md holds it as rendered,
 * exactly the commands it marks not allowed are refused, and every gated command is one OpenMLDB
 * refuses too (Tessera never refuses more than OpenMLDB). The refusal over HTTP with a real
 * nameserver is proven by packages/cli/test/nsclient-texts.test.ts.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { NS_COMMANDS } from '@tessera/common';
import { AUTO_FAILOVER_ENABLED, cancelRefusedWithAutoFailover, FAILOVER_GATE, refusedWithAutoFailover, renderFailoverGateDoc } from '../src/core/failover-gate.js';
import type { Op, OpData, OpType } from '../src/core/op.js';

t.test('docs/ns_client.md holds the gate table as rendered', async (t) => {
  const doc = readFileSync(new URL('../../../../docs/ns_client.md', import.meta.url), 'utf8');
  t.ok(doc.includes(renderFailoverGateDoc()), 'paste renderFailoverGateDoc() into docs/ns_client.md');
});

t.test('refused exactly where the table says, and only where OpenMLDB refuses too', async (t) => {
  const refused = NS_COMMANDS.filter((c) => refusedWithAutoFailover(c)).sort();
  t.same(refused, ['offlineendpoint', 'recoverendpoint', 'recovertable', 'settablepartition', 'updatetablealive']);
  for (const [cmd, rule] of Object.entries(FAILOVER_GATE)) {
    t.ok((NS_COMMANDS as readonly string[]).includes(cmd), `${cmd} is a nameserver command`);
    if (!rule.allowed) t.equal(rule.openmldb, 'refuses', `${cmd}: refused only where OpenMLDB refuses`);
    t.ok(rule.why.length > 20, `${cmd} says why`);
  }
  t.notOk(refusedWithAutoFailover('showtable'), 'commands outside the table are never refused');
  t.notOk(refusedWithAutoFailover('migrate'), 'a planned migrate runs');
  t.notOk(refusedWithAutoFailover('changeleader'), 'a planned changeleader runs');
  t.equal(AUTO_FAILOVER_ENABLED, 'auto_failover is enabled');
});

t.test('cancelop with auto_failover on: moves and operator ops are canceled, the monitor\'s own ops are not', async (t) => {
  const op = (type: OpType, data: OpData, origin?: Op['origin']): Op => ({ type, data, ...(origin === undefined ? {} : { origin }) } as Op);
  const changeLeader = (request: 'candidate' | 'auto' | 'deadLeader' | 'offline'): OpData => ({ kind: 'changeLeader', request, candidate: null, oldLeader: null, oldTerm: 1, handOver: false, followersBefore: [], selected: null });
  const ROWS: Array<[string, Op, boolean]> = [
    ['migrate', op('kMigrateOP', { kind: 'migrate', src: 'a:1', des: 'b:1' }), false],
    ['addreplica', op('kAddReplicaOP', { kind: 'replica', endpoint: 'b:1' }), false],
    ['delreplica', op('kDelReplicaOP', { kind: 'replica', endpoint: 'b:1' }), false],
    ['a scale-in parent', op('kScaleInOP', { kind: 'scaleIn', endpoints: ['a:1'] }), false],
    ['a rebalance move', op('kMigrateOP', { kind: 'migrate', src: 'a:1', des: 'b:1' }, 'rebalance'), false],
    ['a hand-over changeleader', op('kChangeLeaderOP', changeLeader('candidate')), false],
    ['changeleader auto', op('kChangeLeaderOP', changeLeader('auto')), false],
    ['the failover of a dead leader', op('kChangeLeaderOP', changeLeader('deadLeader')), true],
    ['offlineendpoint\'s leader change', op('kChangeLeaderOP', changeLeader('offline')), true],
    ['offline replica', op('kOfflineReplicaOP', { kind: 'replica', endpoint: 'b:1' }), true],
    ['recover table', op('kRecoverTableOP', { kind: 'recoverTable', endpoint: 'b:1', childOpId: null }), true],
    ['re-add replica', op('kReAddReplicaNoSendOP', { kind: 'replica', endpoint: 'b:1' }), true],
    ['the reconciler\'s repair', op('kRepairPartitionOP', { kind: 'repair', reasons: [] }), true],
  ];
  for (const [name, o, refused] of ROWS) t.equal(cancelRefusedWithAutoFailover(o), refused, `${name}: ${refused ? 'refused' : 'canceled'}`);
});
