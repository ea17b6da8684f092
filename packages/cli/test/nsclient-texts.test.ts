// OpenMLDB's texts (packages/common/src/openmldb-texts.ts) as ns_client prints them against real
// processes (ZooKeeper, a nameserver, three tablets): every entry of the table is printed by at
// least one command here, compared line for line; and the auto_failover gate
// (nameserver core/failover-gate.ts): while auto_failover is on, each gated command is refused
// with `auto_failover is enabled` and the planned hand-overs (migrate, changeleader) run; after
// `confset auto_failover false` the same commands pass the gate.
import t, { type Test } from 'tap';
import { OPENMLDB_TEXTS, openmldbText as T, waitFor, type OpenmldbTextKey } from '@tessera/common';
import { parseTable } from '@tessera/testkit';
import { FLOW, startSdkCluster } from './sdk-cluster.js';

interface Case {
  cmd: string;
  /** The whole line ns_client prints. */
  line: string;
  /** The table entries the line is made of. */
  uses: OpenmldbTextKey[];
}

t.test('OpenMLDB texts and the auto_failover gate', async (t) => {
  const { client, tablets, cli } = await startSdkCluster(t, {
    name: 'nsclient-texts', zkRootPath: '/texts', zkSessionTimeoutMs: 3000,
    nameservers: 1, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: 60_000, get_table_status_interval: 300 },
  });
  const [a, b, c] = tablets.map((x) => x.endpoint) as [string, string, string];
  await client.createTable('db', {
    name: 'flow', partitionNum: 2, replicaNum: 2,
    partitions: [{ pid: 0, leader: a, followers: [b] }, { pid: 1, leader: b, followers: [c] }],
    ...FLOW,
  });

  /** Runs the cases in one ns_client process; each prints exactly one line. */
  const runCases = async (t: Test, cases: Case[]): Promise<void> => {
    const out = await cli(cases.map((x) => x.cmd).join('; '));
    const lines = out.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('ns leader:'));
    t.equal(lines.length, cases.length, 'one line per command', { stdout: out.stdout, stderr: out.stderr });
    cases.forEach((x, i) => t.equal(lines[i], x.line, x.cmd));
  };
  const covered = new Set<OpenmldbTextKey>();
  const cases = (list: Case[]): Case[] => {
    for (const x of list) for (const k of x.uses) covered.add(k);
    return list;
  };
  const showOps = async (): Promise<Array<Record<string, string>>> => parseTable((await cli('showopstatus flow')).stdout, 'op_id');

  await t.test('auto_failover on: the gated commands are refused, planned hand-overs run', async (t) => {
    t.match((await cli('confget auto_failover')).stdout, /auto_failover\s+true/);
    const gated = 'auto_failover is enabled';
    t.equal(T('autoFailoverEnabled'), gated);
    await runCases(t, cases([
      { cmd: `offlineendpoint ${a}`, line: T('offlineFailed') + gated, uses: ['offlineFailed', 'autoFailoverEnabled'] },
      { cmd: `recoverendpoint ${a}`, line: T('recoverendpointFailed') + gated, uses: ['recoverendpointFailed', 'autoFailoverEnabled'] },
      { cmd: `recovertable flow 0 ${b}`, line: T('recovertableFailed') + gated, uses: ['recovertableFailed', 'autoFailoverEnabled'] },
      // cancelop passes the gate (moves are canceled); only the monitor's own ops are refused (failover-gate.test).
      { cmd: 'cancelop 1', line: T('cancelopFailed', 312, T('opNotCancelable')), uses: ['cancelopFailed', 'opNotCancelable'] },
      { cmd: `updatetablealive flow 0 ${b} no`, line: `Fail to update table alive. error msg: ${gated}`, uses: ['autoFailoverEnabled'] },
    ]));
    t.match((await cli(`migrate ${b} flow 0 ${c}`)).stdout, /^partition migrate ok$/m, 'migrate runs with auto_failover on');
    t.match((await cli('changeleader flow 1 auto')).stdout, /^change leader ok\./m, 'changeleader runs with auto_failover on');
    await waitFor('the migrate and the changeleader done, nothing running', async () => {
      const ops = await showOps();
      const done = (type: string): boolean => ops.some((o) => o.op_type === type && o.status === 'kDone');
      return done('kMigrateOP') && done('kChangeLeaderOP') && ops.every((o) => o.status !== 'kInited' && o.status !== 'kDoing');
    }, { timeoutMs: 60_000, intervalMs: 300 });
    const info = await client.table('db', 'flow');
    t.same(info.partitions[0]!.replicas.map((r) => r.endpoint).sort(), [a, c].sort(), 'pid 0 migrated from b to c');
    t.equal(info.partitions[1]!.replicas.find((r) => r.isLeader && r.isAlive)!.endpoint, c, 'pid 1 handed over to c');
    t.equal(parseTable((await cli('showtable flow')).stdout, 'name').filter((r) => r.is_alive === 'yes').length, 4, 'every replica alive');
  });

  await t.test('auto_failover off: the same commands pass the gate', async (t) => {
    t.match((await cli('confset auto_failover false')).stdout, /^set auto_failover ok$/m);
    await runCases(t, cases([
      { cmd: 'offlineendpoint 127.0.0.1:1', line: `${T('offlineFailed')}endpoint does not exist`, uses: ['offlineFailed'] },
      { cmd: 'recoverendpoint 127.0.0.1:1', line: `${T('recoverendpointFailed')}endpoint does not exist`, uses: ['recoverendpointFailed'] },
      { cmd: `recovertable flow 0 ${a}`, line: `${T('recovertableFailed')}table is alive, need not recover`, uses: ['recovertableFailed'] },
      { cmd: 'cancelop 424242', line: T('cancelopFailed', 312, T('opNotCancelable')), uses: ['cancelopFailed', 'opNotCancelable'] },
      { cmd: `updatetablealive flow 0 ${a} yes`, line: 'update ok', uses: [] },
    ]));
  });

  await t.test('every other text of the table, as printed', async (t) => {
    const idx = T('idxNameNotFound');
    await runCases(t, cases([
      // the nameserver's `table does not exist`, after each command's prefix
      { cmd: `migrate ${a} nosuch 0 ${b}`, line: T('migrateFailed') + T('tableNotExist'), uses: ['migrateFailed', 'tableNotExist'] },
      { cmd: 'changeleader nosuch 0', line: T('changeleaderFailed') + T('tableNotExist'), uses: ['changeleaderFailed', 'tableNotExist'] },
      { cmd: 'makesnapshot nosuch 0', line: T('makesnapshotFailed') + T('tableNotExist'), uses: ['makesnapshotFailed', 'tableNotExist'] },
      { cmd: `addreplica nosuch 0 ${b}`, line: T('addreplicaFailed') + T('tableNotExist'), uses: ['addreplicaFailed', 'tableNotExist'] },
      { cmd: `delreplica nosuch 0 ${b}`, line: T('delreplicaFailed') + T('tableNotExist'), uses: ['delreplicaFailed', 'tableNotExist'] },
      { cmd: `recovertable nosuch 0 ${b}`, line: T('recovertableFailed') + T('tableNotExist'), uses: ['recovertableFailed', 'tableNotExist'] },
      // a migrate pid the table does not have: OpenMLDB finds no leader for it
      { cmd: `migrate ${a} flow 9 ${b}`, line: T('migrateFailed') + T('leaderEndpointEmpty', 'flow', 9), uses: ['migrateFailed', 'leaderEndpointEmpty'] },
      // pid groups: printed alone
      { cmd: `migrate ${a} flow 0-x ${b}`, line: T('pidGroupFormatError', '0-x'), uses: ['pidGroupFormatError'] },
      { cmd: `addreplica flow 1,a ${b}`, line: T('pidGroupFormatError', '1,a'), uses: ['pidGroupFormatError'] },
      { cmd: `delreplica flow 1- ${b}`, line: T('pidGroupFormatError', '1-'), uses: ['pidGroupFormatError'] },
      { cmd: `migrate ${a} flow 6-4 ${b}`, line: T('pidGroupEmpty'), uses: ['pidGroupEmpty'] },
      { cmd: `addreplica flow 6-4 ${b}`, line: T('pidGroupEmpty'), uses: ['pidGroupEmpty'] },
      // concurrency words
      { cmd: `offlineendpoint ${a} 0`, line: T('offlineConcurrencyNotPositive'), uses: ['offlineConcurrencyNotPositive'] },
      { cmd: `offlineendpoint ${a} -1`, line: T('offlineConcurrencyNotPositive'), uses: ['offlineConcurrencyNotPositive'] },
      { cmd: `offlineendpoint ${a} abc`, line: T('offlineConcurrencyNotUint'), uses: ['offlineConcurrencyNotUint'] },
      { cmd: `recoverendpoint ${a} false -1`, line: T('recoverConcurrencyNotUint'), uses: ['recoverConcurrencyNotUint'] },
      { cmd: `recoverendpoint ${a} false abc`, line: T('recoverConcurrencyNotUint'), uses: ['recoverConcurrencyNotUint'] },
      // ops
      { cmd: 'deleteop 424242', line: T('deleteopFailed', 136, T('opIdNotExist')), uses: ['deleteopFailed', 'opIdNotExist'] },
      // an index the table does not have
      { cmd: 'count flow c1 nosuch', line: T('countFailed') + idx, uses: ['countFailed', 'idxNameNotFound'] },
      { cmd: 'get flow c1 nosuch 0', line: T('getFailed') + idx, uses: ['getFailed', 'idxNameNotFound'] },
      { cmd: 'scan flow c1 nosuch 10 0', line: T('scanFailed') + idx, uses: ['scanFailed', 'idxNameNotFound'] },
      { cmd: 'delete flow c1 nosuch', line: T('deleteIdxNotExist', 'nosuch'), uses: ['deleteIdxNotExist'] },
    ]));
  });

  await t.test('every entry of the table was printed by some command above', async (t) => {
    t.same(Object.keys(OPENMLDB_TEXTS).filter((k) => !covered.has(k as OpenmldbTextKey)), []);
  });

  await t.test('recoverendpoint concurrency 0 means the default, as OpenMLDB', async (t) => {
    t.match((await cli(`recoverendpoint ${a} false 0`)).stdout, /^recover endpoint ok$/m);
  });
});
