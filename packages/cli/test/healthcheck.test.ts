// The operator's view on real processes: `healthcheck` on a healthy cluster (exit 0, with
// --checksum too), after a tablet is SIGKILLed (degraded, exit 1, lines naming it) and after it is
// back and recovered (0 again); /metrics on a tablet and a nameserver in Prometheus text;
// /v1/health in JSON for Accept: application/json and msgpack otherwise; ns_client's output
// through a pipe is as long as into a file.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { decode, waitFor } from '@tessera/common';
import { MAIN_JS } from '@tessera/testkit';
import { startSdkCluster } from './sdk-cluster.js';

const run = promisify(execFile);

t.test('healthcheck, metrics, health JSON on a real cluster', async (t) => {
  const { client, tablets, ns, startTablet, cli, dir, zk } = await startSdkCluster(t, {
    name: 'healthcheck', zkRootPath: '/hc', zkSessionTimeoutMs: 3000,
    nameservers: 1, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: 1000, get_table_status_interval: 500, in_sync_silent_ms: 2000 },
  });
  await client.createTable('db', {
    name: 'ev', partitionNum: 4, replicaNum: 3,
    columns: [{ name: 'id', type: 'string' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
  });
  for (let i = 0; i < 40; i++) await client.put('db', 'ev', { id: `k${i}`, at: 1_000_000 + i });

  // Every replica reports in and joins the in-sync set within a few status polls.
  let healthy = await cli('healthcheck');
  await waitFor('a healthy cluster', async () => (healthy = await cli('healthcheck')).code === 0, { timeoutMs: 30_000, intervalMs: 500 });
  t.match(healthy.stdout, /status: healthy \(exit code 0\)/);
  t.match(healthy.stdout, /tablets: 3 of 3 healthy/);
  t.match(healthy.stdout, /partitions: 4 in 1 table\(s\): 4 with a serving leader, 4 with replica_num alive in-sync replicas/);
  t.match(healthy.stdout, /problems: none/);
  t.comment(`healthy:\n${healthy.stdout}`);

  const sums = await cli('healthcheck --checksum');
  t.equal(sums.code, 0, sums.stdout);
  t.match(sums.stdout, /checksums: 4 partition\(s\) equal, 0 differ, 0 not compared/);
  const json = await cli('healthcheck', { format: 'json' });
  t.equal(json.code, 0);
  const parsed = JSON.parse(json.stdout) as { ok: boolean; cmd: string; data: { status: string; exitCode: number; problems: unknown[] } };
  t.same({ cmd: parsed.cmd, status: parsed.data.status, exitCode: parsed.data.exitCode, problems: parsed.data.problems }, { cmd: 'healthcheck', status: 'healthy', exitCode: 0, problems: [] });

  // /v1/health: JSON when asked for, msgpack otherwise; on both roles.
  for (const ep of [tablets[0]!.endpoint, ns[0]!.endpoint]) {
    const res = await fetch(`http://${ep}/v1/health`, { headers: { accept: 'application/json' } });
    t.match(res.headers.get('content-type'), /^application\/json/);
    const body = (await res.json()) as { ok: boolean; endpoint: string; zkConnected: boolean };
    t.same({ ok: body.ok, endpoint: body.endpoint, zkConnected: body.zkConnected }, { ok: true, endpoint: ep, zkConnected: true });
    const packed = await fetch(`http://${ep}/v1/health`);
    t.match(packed.headers.get('content-type'), /msgpack/);
    t.equal((decode(Buffer.from(await packed.arrayBuffer())) as { ok: boolean }).ok, true);
  }

  // /metrics in Prometheus text format.
  const tabletMetrics = await (await fetch(`http://${tablets[0]!.endpoint}/metrics`)).text();
  for (const re of [
    /^# TYPE tessera_http_request_duration_seconds histogram$/m,
    /^tessera_http_requests_total\{method="POST",route="\/v1\/control\/status",code="200",role="tablet"\} \d+$/m,
    /^tessera_replica_offset\{tid="\d+",pid="\d+",role="tablet"\} \d+$/m,
    /^tessera_replica_rows\{/m,
    /^tessera_replica_follower_in_sync\{tid="\d+",pid="\d+",follower="127\.0\.0\.1:\d+",role="tablet"\} 1$/m,
    /^tessera_replication_sent_bytes_total\{kind="binlog",role="tablet"\} [1-9]\d*$/m,
    /^tessera_zk_session_connected\{role="tablet"\} 1$/m,
    /^process_resident_memory_bytes\{role="tablet"\} [1-9]\d*$/m,
    /^nodejs_eventloop_lag_seconds\{role="tablet"\} /m,
  ]) t.match(tabletMetrics, re);
  const nsMetrics = await (await fetch(`http://${ns[0]!.endpoint}/metrics`)).text();
  t.match(nsMetrics, /^tessera_nameserver_is_leader\{role="nameserver"\} 1$/m);
  t.match(nsMetrics, /^tessera_nameserver_tablets_healthy\{role="nameserver"\} 3$/m);
  t.match(nsMetrics, /^tessera_http_requests_total\{method="POST",route="\/v1\/ns\/createtable",code="200",role="nameserver"\} 1$/m);

  // A tablet SIGKILLed: the cluster is degraded (failed over) and the lines name it.
  const victim = tablets[2]!;
  victim.kill('SIGKILL');
  await victim.exited;
  let degraded = await cli('healthcheck');
  await waitFor('degraded after the kill', async () => (degraded = await cli('healthcheck')).code === 1, { timeoutMs: 30_000, intervalMs: 500 });
  t.match(degraded.stdout, /status: degraded \(exit code 1\)/);
  t.match(degraded.stdout, new RegExp(`DEGRADED +tablet ${victim.endpoint.replace(/\./g, '\\.')}: kTabletOffline`));
  t.match(degraded.stdout, new RegExp(`replica on ${victim.endpoint.replace(/\./g, '\\.')} is not alive in the metadata`));
  t.match(degraded.stdout, /2 of 3 replicas alive and in sync/);
  t.comment(`after SIGKILL of ${victim.endpoint}:\n${degraded.stdout}`);

  // Back on its endpoint: auto_failover recovers its replicas, and the check is healthy again.
  tablets[2] = await startTablet(3, victim.endpoint);
  let back = await cli('healthcheck');
  await waitFor('healthy after the restart', async () => (back = await cli('healthcheck')).code === 0, { timeoutMs: 60_000, intervalMs: 1000 });
  t.match(back.stdout, /status: healthy/);
  const backSums = await cli('healthcheck --checksum');
  t.match(backSums.stdout, /checksums: 4 partition\(s\) equal/);

  // ns_client through a pipe prints as much as into a file (it used to exit before stdout drained).
  const many = Array.from({ length: 200 }, () => 'help').join(';');
  const args = `--role=ns_client --zk_cluster=${zk.connectString} --zk_root_path=/hc --interactive=false`;
  const file = path.join(dir, 'help.out');
  await run('bash', ['-c', `node ${MAIN_JS} ${args} --cmd='${many}' > ${file}`]);
  const fileBytes = readFileSync(file).length;
  t.ok(fileBytes > 200_000, `${fileBytes} bytes into a file`);
  // The cut was a race (about one run in three lost bytes here before the fix): try several times.
  const pipedBytes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const shell = i % 2 === 0 ? `node ${MAIN_JS} ${args} --cmd='${many}' | wc -c` : `node ${MAIN_JS} ${args} --cmd='${many}' | cat | wc -c`;
    pipedBytes.push(Number((await run('bash', ['-c', shell])).stdout.trim()));
  }
  t.same(pipedBytes, pipedBytes.map(() => fileBytes), 'a pipe gets every byte too, every time');
});
