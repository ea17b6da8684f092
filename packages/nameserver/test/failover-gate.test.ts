/**
 * The auto_failover gate table (core/failover-gate.ts): docs/ns_client.md holds it as rendered,
 * exactly the commands it marks not allowed are refused, and every gated command is one OpenMLDB
 * refuses too (Tessera never refuses more than OpenMLDB). The refusal over HTTP with a real
 * nameserver is proven by packages/cli/test/nsclient-texts.test.ts.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { NS_COMMANDS } from '@tessera/common';
import { AUTO_FAILOVER_ENABLED, FAILOVER_GATE, refusedWithAutoFailover, renderFailoverGateDoc } from '../src/core/failover-gate.js';

t.test('docs/ns_client.md holds the gate table as rendered', async (t) => {
  const doc = readFileSync(new URL('../../../../docs/ns_client.md', import.meta.url), 'utf8');
  t.ok(doc.includes(renderFailoverGateDoc()), 'paste renderFailoverGateDoc() into docs/ns_client.md');
});

t.test('refused exactly where the table says, and only where OpenMLDB refuses too', async (t) => {
  const refused = NS_COMMANDS.filter((c) => refusedWithAutoFailover(c)).sort();
  t.same(refused, ['cancelop', 'offlineendpoint', 'recoverendpoint', 'recovertable', 'settablepartition', 'updatetablealive']);
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
