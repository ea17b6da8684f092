// gettablepartition / settablepartition through ns_client against real processes (ZooKeeper, a
// nameserver with auto_failover off, three tablets): the partition written to <table>_<pid>.txt
// in the current directory, a follower marked not alive by an edited file and back, a leader
// moved by an edited file (the tablets follow metadata and writes go on), and the refusals — a
// file of another table or pid, an unknown endpoint, two alive leaders, auto_failover on — each
// with its code and metadata unchanged.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { pidOfKey, waitFor, type PartitionMeta } from '@tessera/common';
import { MAIN_JS, parseTable } from '@tessera/testkit';
import { createFlow, startSdkCluster } from './sdk-cluster.js';

const run = promisify(execFile);

t.test('gettablepartition and settablepartition', async (t) => {
  const root = '/tp';
  const { client, tablets, cli, zk, dir } = await startSdkCluster(t, {
    name: 'table-partition', zkRootPath: root, zkSessionTimeoutMs: 2000,
    nameservers: 1, tablets: 3,
    nsFlags: { auto_failover: false, get_table_status_interval: 300 },
  });
  const [t0, t1, t2] = tablets.map((x) => x.endpoint) as [string, string, string];
  await createFlow(client, [t0, t1, t2]);
  await client.createTable('db', {
    name: 'other', partitionNum: 1, replicaNum: 1,
    columns: [{ name: 'k', type: 'string' }], indexes: [{ name: 'k', keys: ['k'] }],
  });
  /** ns_client run in the cluster's dir, where gettablepartition writes its file. */
  const cliHere = async (cmd: string, extra: string[] = []): Promise<{ code: number; stdout: string }> => {
    const args = [MAIN_JS, '--role=ns_client', `--zk_cluster=${zk.connectString}`, `--zk_root_path=${root}`, '--interactive=false', '--database=db', `--cmd=${cmd}`, ...extra];
    try {
      const { stdout } = await run(process.execPath, args, { cwd: dir, timeout: 120_000 });
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '' };
    }
  };
  const meta = async (): Promise<PartitionMeta[]> => (await client.admin.showschema({ db: 'db', name: 'flow' })).table.partitions;
  const shown = async (): Promise<string[]> =>
    parseTable((await cli('showtable flow')).stdout, 'name').map((r) => `${r.pid} ${r.endpoint} ${r.role} ${r.is_alive}`).sort();
  const file = path.join(dir, 'flow_0.txt');
  let original = '';

  await t.test('gettablepartition writes flow_0.txt in the current directory', async (t) => {
    const r = await cliHere('gettablepartition flow 0');
    t.equal(r.stdout, 'get table partition ok\n');
    original = readFileSync(file, 'utf8');
    const tid = (await client.table('db', 'flow')).tid;
    t.match(original, new RegExp(`^# table: flow db: db tid: ${tid}\\npid: 0\\npartition_meta \\{\\n  endpoint: "${t0}"\\n  is_leader: true\\n  is_alive: true\\n\\}\\n`));
    t.equal(original.match(/partition_meta \{/g)?.length, 3, 'three replicas');
    t.match(original, /term_offset \{\n  term: \d+\n  offset: \d+\n\}/);
    t.match((await cliHere('gettablepartition flow 5')).stdout, /^Fail to get table partition\. error msg: pid\[5\] does not exist in table\[flow\]$/m);
  });

  await t.test('an edited file marks a follower not alive; the original file sets it back', async (t) => {
    const edited = original.replace(new RegExp(`(endpoint: "${t1}"\\n  is_leader: false\\n  is_alive: )true`), '$1false');
    t.not(edited, original);
    writeFileSync(path.join(dir, 'edited.txt'), edited);
    t.equal((await cli(`settablepartition flow ${path.join(dir, 'edited.txt')}`)).stdout, 'set table partition ok\n');
    t.ok((await shown()).includes(`0 ${t1} follower no`), 'showtable: pid 0 on t1 is_alive no');
    t.notOk((await meta())[0]!.inSync.includes(t1), 'out of the in-sync set');
    t.equal((await cli(`settablepartition flow ${file}`)).stdout, 'set table partition ok\n');
    t.ok((await shown()).includes(`0 ${t1} follower yes`), 'alive again');
  });

  await t.test('refusals: a code each, metadata unchanged', async (t) => {
    const before = JSON.stringify(await meta());
    const tid = (await client.table('db', 'flow')).tid;
    const refusedWith = async (what: string, text: string, code: string, message: RegExp): Promise<void> => {
      const f = path.join(dir, `refused-${code}-${Math.random().toString(36).slice(2)}.txt`);
      writeFileSync(f, text);
      const r = await cli(`settablepartition flow ${f}`, { format: 'json' });
      const out = JSON.parse(r.stdout) as { ok: boolean; code?: string; error?: string };
      t.equal(r.code, 1, `${what}: exit code 1`);
      t.same({ ok: out.ok, code: out.code }, { ok: false, code }, `${what}: ${out.error}`);
      t.match(out.error ?? '', message, what);
    };
    await refusedWith("another table's file (by name)", original.replace('# table: flow', '# table: other'), 'INVALID_ARGUMENT', /the partition file is of table db\.other, not db\.flow/);
    await refusedWith("another table's file (by tid)", original.replace(`tid: ${tid}`, `tid: ${tid + 1}`), 'INVALID_ARGUMENT', new RegExp(`the partition file is of table tid\\[${tid + 1}\\]`));
    await refusedWith('a pid outside the table', original.replace('pid: 0', 'pid: 7'), 'PARTITION_NOT_FOUND', /pid\[7\] does not exist in table\[flow\]/);
    await refusedWith('an unknown endpoint', original.replace(`"${t2}"`, '"10.11.12.13:7777"'), 'TABLET_NOT_HEALTHY', /endpoint 10\.11\.12\.13:7777 does not exist/);
    await refusedWith('two alive leaders', original.replace(new RegExp(`(endpoint: "${t1}"\\n  is_leader: )false`), '$1true'), 'INVALID_ARGUMENT', /has more than one alive leader/);
    await refusedWith('no leader', original.replace(new RegExp(`(endpoint: "${t0}"\\n  is_leader: )true`), '$1false'), 'INVALID_ARGUMENT', /has no leader/);
    await refusedWith('not a partition file', 'pid: 0\npartition_meta {', 'INVALID_ARGUMENT', /table partition file format error: missing '\}'/);
    t.match((await cli('confset auto_failover true')).stdout, /set auto_failover ok/);
    await refusedWith('auto_failover on', original, 'PRECONDITION_FAILED', /auto_failover is enabled/);
    t.match((await cli('confset auto_failover false')).stdout, /set auto_failover ok/);
    t.equal(JSON.stringify(await meta()), before, 'metadata unchanged by every refusal');
  });

  await t.test('an edited file moves the leadership of pid 0; the tablets follow and writes go on', async (t) => {
    const swapped = original
      .replace(new RegExp(`(endpoint: "${t0}"\\n  is_leader: )true`), '$1false')
      .replace(new RegExp(`(endpoint: "${t1}"\\n  is_leader: )false`), '$1true');
    writeFileSync(path.join(dir, 'swapped.txt'), swapped);
    const termsBefore = (await meta())[0]!.termOffsets.length;
    t.equal((await cli(`settablepartition flow ${path.join(dir, 'swapped.txt')}`)).stdout, 'set table partition ok\n');
    t.ok((await shown()).includes(`0 ${t1} leader yes`) && (await shown()).includes(`0 ${t0} follower yes`), 'showtable: t1 leads pid 0');
    const key = Array.from({ length: 100 }, (_, i) => `card${i}`).find((k) => pidOfKey(k, 2) === 0)!;
    await waitFor('a write to pid 0 succeeds on its new leader', async () => client.put('db', 'flow', { card: key, amt: 1, at: 1000 }).then(() => true, () => false), { timeoutMs: 30_000, intervalMs: 200 });
    t.same((await client.get('db', 'flow', { key }))?.amt, 1, 'the row reads back');
    // The tablets were brought to metadata by the partition reconciler, which records the new term.
    await waitFor('the term history grew', async () => (await meta())[0]!.termOffsets.length > termsBefore, { timeoutMs: 10_000, intervalMs: 200 });
    t.pass(`term history now ${JSON.stringify((await meta())[0]!.termOffsets)}`);
  });
});
