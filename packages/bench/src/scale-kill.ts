/**
 * The kill half of `pnpm bench scale` (issue 16): on the cluster the create half filled, SIGKILL
 * the tablet leading the most partitions while a paced writer runs on a sample of tables, then
 * print the time until every partition it led accepts a write again (each probed by one put, by a
 * pool of probers, until one is acknowledged), the ops the nameserver created for it, whether any
 * other process lost its ZooKeeper session (`tessera_zk_session_expirations_total` on every other /metrics) or the
 * nameserver leadership moved, and the worst event-loop delay each process saw meanwhile
 * (prom-client's `nodejs_eventloop_lag_max_seconds`, from perf_hooks monitorEventLoopDelay,
 * reset at every scrape: the scrape just before the kill starts the window).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pidOfKey, sleep, type TableInfo } from '@tessera/common';
import type { Client, Row } from '@tessera/client';
import { printFigure, round } from './measure.js';

/** Tables the paced writer writes to during the kill. */
const WRITER_TABLES = 8;
const WRITER_INTERVAL_MS = 50;
/** Probes of not-yet-writable partitions in flight at once. */
const PROBES_IN_FLIGHT = 256;
/** Pause of a prober whose put failed (after the SDK's own retries) before it takes the next partition. */
const PROBE_RETRY_MS = 200;
const WRITABLE_TIMEOUT_MS = 600_000;

export interface KillTarget {
  dir: string;
  db: string;
  tableNames: string[];
  partitions: number;
  /** host:port of every tablet, by its cluster.sh index (1-based). */
  tablets: Map<number, string>;
  nameservers: string[];
}

async function metric(endpoint: string, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  } catch {
    return undefined;
  }
}

export async function killLeaderTablet(c: Client, t: KillTarget): Promise<Record<string, number>> {
  const tables = new Map<string, TableInfo>();
  for (const name of t.tableNames) tables.set(name, (await c.admin.showschema({ db: t.db, name })).table);
  const leads = new Map<string, Array<{ name: string; pid: number }>>();
  for (const [name, info] of tables) {
    for (const p of info.partitions) {
      const l = p.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
      if (l !== undefined) leads.set(l, [...(leads.get(l) ?? []), { name, pid: p.pid }]);
    }
  }
  const [victimIndex, victimEp] = [...t.tablets].sort((a, b) => (leads.get(b[1])?.length ?? 0) - (leads.get(a[1])?.length ?? 0))[0]!;
  const led = leads.get(victimEp) ?? [];
  const others = [...t.tablets.values()].filter((e) => e !== victimEp);
  const everyone = [...others, ...t.nameservers];
  const expirationsBefore = new Map<string, number | undefined>();
  for (const ep of everyone) expirationsBefore.set(ep, await metric(ep, 'tessera_zk_session_expirations_total'));
  const leaderBefore = (await c.admin.showns({})).nameservers.find((n) => n.role === 'leader')?.endpoint;
  const opsBefore = (await c.admin.showopstatus({})).ops.reduce((m, o) => Math.max(m, o.opId), 0);
  for (const ep of everyone) await metric(ep, 'nodejs_eventloop_lag_max_seconds'); // starts the window

  // The paced writer on a sample of tables.
  let writing = true;
  let writes = 0;
  let writeFailures = 0;
  const sample = t.tableNames.slice(0, WRITER_TABLES);
  const writers = sample.map(async (name, k) => {
    for (let n = 0; writing; n++) {
      const row: Row = { id: `w${k}-${n}`, v: 'x', at: 1_000_000 + n };
      await c.put(t.db, name, row).then(() => writes++, () => writeFailures++);
      await sleep(WRITER_INTERVAL_MS);
    }
  });

  const keyFor = (name: string, pid: number): string => {
    let k = `probe-${name}-${pid}`;
    for (let i = 0; pidOfKey(k, t.partitions) !== pid; i++) k = `probe-${name}-${pid}-${i}`;
    return k;
  };
  const pending = led.map((x) => ({ ...x, key: keyFor(x.name, x.pid) }));
  const writableMs: number[] = [];
  const pidFile = path.join(t.dir, `tablet-${victimIndex}`, 'tablet.pid');
  const killedAt = performance.now();
  process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  process.stdout.write(`\n-- SIGKILL of ${victimEp} (leader of ${led.length} partitions), writer on ${sample.length} tables\n`);
  // A pool of probes, not rounds: each of PROBES_IN_FLIGHT probers takes the next partition not
  // yet written; a put that fails after the SDK's own retry budget puts its partition back at the
  // end of the queue. (Rounds of 64 puts at a time made every partition wait for the slowest put
  // of its round — up to the SDK's retry budget before the failover, the new table's routing
  // after it — so the last partition's time was the probe's pace more than the failover's.)
  const probe = async (): Promise<void> => {
    for (let x = pending.shift(); x !== undefined; x = pending.shift()) {
      if (performance.now() - killedAt > WRITABLE_TIMEOUT_MS) throw new Error(`${pending.length + 1} partitions still refuse writes ${WRITABLE_TIMEOUT_MS} ms after the kill`);
      const ok = await c.put(t.db, x.name, { id: x.key, v: 'p', at: 1 }).then(() => true, () => false);
      if (ok) {
        writableMs.push(performance.now() - killedAt);
      } else {
        pending.push(x);
        await sleep(PROBE_RETRY_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: PROBES_IN_FLIGHT }, probe));
  const allWritableMs = performance.now() - killedAt;
  writing = false;
  await Promise.all(writers);
  const lagMax = new Map<string, number | undefined>();
  for (const ep of everyone) lagMax.set(ep, await metric(ep, 'nodejs_eventloop_lag_max_seconds'));
  const ops = (await c.admin.showopstatus({})).ops.filter((o) => o.opId > opsBefore);
  const byType = new Map<string, number>();
  for (const o of ops) byType.set(o.opType, (byType.get(o.opType) ?? 0) + 1);
  let sessionsLost = 0;
  for (const ep of everyone) {
    const after = await metric(ep, 'tessera_zk_session_expirations_total');
    const before = expirationsBefore.get(ep);
    if (after !== undefined && before !== undefined && after > before) {
      sessionsLost++;
      process.stdout.write(`  ${ep} lost its ZooKeeper session (${after - before} expiration(s))\n`);
    }
  }
  const leaderAfter = (await c.admin.showns({})).nameservers.find((n) => n.role === 'leader')?.endpoint;
  writableMs.sort((a, b) => a - b);
  printFigure('kill → every led partition writable', round(allWritableMs), `ms (${led.length} partitions; first ${round(writableMs[0] ?? 0)} ms, median ${round(writableMs[Math.floor(writableMs.length / 2)] ?? 0)} ms)`);
  printFigure('ops created', ops.length, `(${[...byType].map(([k, v]) => `${v} ${k}`).join(', ')})`);
  printFigure('other processes that lost their ZooKeeper session', sessionsLost, `of ${everyone.length}`);
  printFigure('nameserver leader moved', leaderBefore === leaderAfter ? 'no' : `yes (${leaderBefore} → ${leaderAfter})`);
  printFigure('writer during the kill', writes, `puts acknowledged, ${writeFailures} failed calls`);
  for (const [ep, s] of lagMax) printFigure(`event-loop delay max ${ep}`, s === undefined ? 'n/a' : round(s * 1000), 'ms');
  const figures: Record<string, number> = {
    kill_led_partitions: led.length,
    kill_all_writable_ms: round(allWritableMs),
    kill_ops_created: ops.length,
    kill_sessions_lost: sessionsLost,
    kill_ns_leader_moved: leaderBefore === leaderAfter ? 0 : 1,
    kill_lag_max_ms: round(Math.max(0, ...[...lagMax.values()].map((s) => (s ?? 0) * 1000))),
  };
  return figures;
}
