// Seeing what a migrate does, on real processes (ZooKeeper, one nameserver, three tablets): a
// follower of a loaded partition whose leader freed its binlog (makesnapshot) is migrated with
// `--reason` under `confset snapshot_bytes_per_sec` low enough that the copy takes seconds:
// `showop` shows the copy under way (rows and bytes of the total, blocked_because=throttle);
// raising the limit while it runs finishes the copy within seconds; `showopstatus --wait <id>`
// (no terminal: plain lines) returns when the op is done; `showop --format=json` then has every
// task with start, end and result, the finished copy with exact totals, and who issued it; the
// nameserver's log has one JSON line per op and task start and end with the op's fields. A writer
// runs from the copy's start to the op's end: the op stores the new replica's checksum and its leader's at
// one offset past the loaded rows (kCheckChecksum), equal, and `showop` prints them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { waitFor, type OpDetail } from '@tessera/common';
import { Client } from '@tessera/client';
import { startTestCluster } from '@tessera/testkit';

/** Bound on every awaited condition (a loaded 2-core machine). */
const WAIT_MS = 60_000;
const ROWS = 20_000;
/** Low enough that ~2 MB of snapshot takes well over ten seconds. */
const SLOW_BYTES_PER_SEC = 100_000;

t.test('showop, showopstatus --wait, the op log and the live throttle during a migrate', async (t) => {
  const { dir, client, tablets, cli } = await startTestCluster(t, {
    name: 'showop', zkRootPath: '/showop', zkSessionTimeoutMs: 4000,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    nameservers: 1, tablets: 3,
    nsFlags: { get_table_status_interval: 300 },
    httpTimeoutMs: 20_000, tabletsHealthyTimeoutMs: WAIT_MS, database: 'db',
  });
  const [t1, t2, t3] = tablets.map((x) => x.endpoint) as [string, string, string];
  const columns = [{ name: 'card', type: 'string' as const }, { name: 'pad', type: 'string' as const }, { name: 'at', type: 'timestamp' as const }];
  await client.createTable('db', { name: 'm', partitionNum: 1, replicaNum: 2, partitions: [{ pid: 0, leader: t1, followers: [t2] }], columns, indexes: [{ name: 'card', keys: ['card'], ts: 'at' }] });
  const pad = 'x'.repeat(60);
  for (let i = 0; i < ROWS; i += 1000) await client.putBatch('db', 'm', Array.from({ length: 1000 }, (_, j) => ({ card: `c${i + j}`, pad, at: 1000 + i + j })));
  t.match((await cli('makesnapshot m 0')).stdout, /MakeSnapshot ok/);
  const json = async (cmd: string): Promise<{ ok: boolean; data?: unknown; error?: string }> => JSON.parse((await cli(cmd, { format: 'json' })).stdout.trim().split('\n').pop()!) as { ok: boolean; data?: unknown };
  await waitFor('makesnapshot done', async () => ((await json('showopstatus m')).data as { ops: Array<{ status: string }> }).ops.every((o) => o.status === 'kDone'), { timeoutMs: WAIT_MS, intervalMs: 200 });

  t.equal((await cli(`confset snapshot_bytes_per_sec ${SLOW_BYTES_PER_SEC}`)).code, 0, 'confset snapshot_bytes_per_sec');
  t.match((await cli('confget')).stdout, new RegExp(`snapshot_bytes_per_sec\\s+${SLOW_BYTES_PER_SEC}`));
  t.match((await cli('confset snapshot_bytes_per_sec lots')).stdout, /value must be bytes per second/, 'a bad value is refused');

  const migrated = await json(`migrate ${t2} m 0 ${t3} --reason "disk swap on t2"`);
  t.equal(migrated.ok, true, `migrate accepted: ${JSON.stringify(migrated)}`);
  const opId = ((migrated.data as { opIds: number[] }).opIds)[0]!;

  const showop = async (): Promise<OpDetail> => ((await json(`showop ${opId}`)).data as { op: OpDetail }).op;
  const throttled = await waitFor('the copy under way and throttled', async () => {
    const d = await showop();
    return d.transfer !== undefined && d.transfer.rowsCopied > 0 && !d.transfer.done && d.blockedBecause === 'throttle' ? d : undefined;
  }, { timeoutMs: WAIT_MS, intervalMs: 300 });
  // A writer from the copy's start to the op's end (its rows reach the new replica by the binlog).
  let writing = true;
  let acked = 0;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await client.put('db', 'm', { card: `w${i}`, pad: 'w', at: 5_000_000 + i }).then(() => acked++, () => undefined);
    }
  })();
  t.equal(throttled.status, 'kDoing');
  t.equal(throttled.transfer!.src, t1, 'copied from the leader');
  t.equal(throttled.transfer!.des, t3, 'to the destination');
  t.equal(throttled.transfer!.rowsTotal, ROWS, 'rows of the total: the partition\'s rows');
  t.ok(throttled.transfer!.bytesCopied < throttled.transfer!.bytesTotal, `bytes copied ${throttled.transfer!.bytesCopied} of ${throttled.transfer!.bytesTotal}`);
  t.same(throttled.issuedBy?.reason, 'disk swap on t2', 'the reason is kept with the op');
  t.match(throttled.issuedBy?.client ?? '', /^127\.0\.0\.1:\d+$/, 'and the client address');
  t.ok(throttled.tasks.some((x) => x.status === 'kDone' && x.startMs !== undefined && x.endMs !== undefined), 'finished tasks carry start and end');
  const slow = await waitFor('a rate', async () => {
    const d = await showop();
    return d.bytesPerSec !== undefined && d.bytesPerSec > 0 && d.etaMs !== undefined ? d : undefined;
  }, { timeoutMs: WAIT_MS, intervalMs: 500 });
  t.ok(slow.bytesPerSec! <= SLOW_BYTES_PER_SEC * 1.5, `the rate ${slow.bytesPerSec} B/s stays near the limit ${SLOW_BYTES_PER_SEC}`);
  t.comment(`throttled: ${slow.bytesPerSec} B/s, ETA ${slow.etaMs} ms, ${slow.transfer?.bytesCopied}/${slow.transfer?.bytesTotal} bytes`);

  const lifted = Date.now();
  t.equal((await cli('confset snapshot_bytes_per_sec 0')).code, 0, 'the limit lifted while the copy runs');
  const waited = await cli(`showopstatus --wait ${opId}`);
  const tookMs = Date.now() - lifted;
  t.equal(waited.code, 0, `--wait ends with the op done: ${waited.stdout}`);
  t.match(waited.stdout, new RegExp(`op ${opId} kDone\\s*$`));
  t.match(waited.stdout, new RegExp(`op ${opId} kMigrateOP m pid 0 k(Doing|Done) +\\[[#.]+\\]`), 'progress lines with the bar');
  t.notMatch(waited.stdout, /\r|\x1b\[/, 'plain lines without a terminal (no redraw)');
  t.ok(tookMs < 30_000, `done ${tookMs} ms after the limit was lifted (the rest at ${SLOW_BYTES_PER_SEC} B/s would take far longer)`);

  writing = false;
  await writer;
  const done = await showop();
  t.equal(done.status, 'kDone');
  t.ok(acked > 0, `${acked} writes acknowledged during the migrate`);
  t.equal(done.checksums?.length, 1, `one checksum check stored: ${JSON.stringify(done.checksums)}`);
  const sum = done.checksums![0]!;
  t.equal(sum.match, true, 'the new replica equals its leader');
  t.match(sum, { leader: { endpoint: t1 }, replica: { endpoint: t3 } });
  t.same([sum.replica.rows, sum.replica.sha256], [sum.leader.rows, sum.leader.sha256], 'same rows and sha256 at the same offset');
  // The new replica was built from a snapshot: checked at the snapshot's offset, every loaded
  // row in it (checksum-routes.ts: the leader's digest of what it sent, the replica's of what it wrote).
  t.ok(sum.offset >= ROWS && sum.leader.rows >= ROWS, `taken at offset ${sum.offset} (${sum.leader.rows} rows), the ${ROWS} loaded rows in it`);
  t.equal(done.tasks[sum.taskIndex]?.kind, 'kCheckChecksum');
  t.ok(done.tasks.length > 0 && done.tasks.every((x) => x.status === 'kDone' && x.startMs !== undefined && x.endMs !== undefined && x.endMs >= x.startMs), 'every task done with its start and end');
  t.equal(done.transfer?.done, true, 'the copy is done');
  t.equal(done.transfer?.rowsCopied, ROWS, 'every row copied');
  t.equal(done.transfer?.bytesCopied, done.transfer?.bytesTotal, 'bytes copied = the exact total');
  t.equal(done.blockedBecause, undefined);
  t.same(done.endpoints.slice(0, 2), [t2, t3], 'endpoints: src, des');
  const text = (await cli(`showop ${opId}`)).stdout;
  t.match(text, /copied_rows\s+20000 of 20000/);
  t.match(text, /issued_by\s+127\.0\.0\.1:\d+ reason: disk swap on t2/);
  t.match(text, new RegExp(`checksum\\s+equal at offset ${sum.offset}: leader ${t1} ${sum.leader.rows} rows [0-9a-f]{16}, new replica ${t3} ${sum.leader.rows} rows`), 'showop prints the check');
  const listed = (await json('showopstatus m')).data as { ops: unknown[]; details?: OpDetail[] };
  t.ok(listed.details?.some((d) => d.opId === opId && d.tasks.length === done.tasks.length), 'showopstatus --format=json carries each op\'s detail');
  t.match((await cli('showop 99999')).stdout, /op 99999 does not exist/);

  const log = readFileSync(path.join(dir, 'ns1.log'), 'utf8').split('\n').filter((l) => l.includes('"op":{')).map((l) => JSON.parse(l) as { msg: string; op: Record<string, unknown> });
  const mine = log.filter((l) => l.op.id === opId);
  const events = mine.map((l) => l.op.event);
  t.equal(events.filter((e) => e === 'op.start').length, 1, 'one op.start line');
  t.equal(events.filter((e) => e === 'op.end').length, 1, 'one op.end line');
  t.equal(events.filter((e) => e === 'task.start').length, done.tasks.length, 'one task.start line per task');
  t.equal(events.filter((e) => e === 'task.end').length, done.tasks.length, 'one task.end line per task');
  const end = mine.find((l) => l.op.event === 'op.end')!;
  t.match(end.op, { type: 'kMigrateOP', db: 'db', table: 'm', pid: 0, status: 'kDone', reason: 'disk swap on t2', endpoints: [t2, t3] }, 'op.end has the op\'s fields');
  t.ok(typeof end.op.durationMs === 'number' && (end.op.durationMs as number) > 0, 'and its duration');
  t.ok(mine.filter((l) => l.op.event === 'task.end').every((l) => typeof l.op.durationMs === 'number' && typeof l.op.task === 'string'), 'task.end lines carry the task and its duration');
  t.match(end.msg, new RegExp(`op ${opId} kMigrateOP db\\.m pid 0 done in \\d+ ms`));
});
