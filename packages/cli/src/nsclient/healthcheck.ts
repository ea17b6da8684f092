/**
 * The `healthcheck [--checksum] [--lag_entries=N]` command: gathers the nameservers and tablets
 * (admin API), the tables as ZooKeeper holds them and every healthy tablet's replica status
 * (`ClusterProbe`), optionally each partition's replica checksums, and prints health-core's
 * verdict. Its exit code with `--cmd` is the verdict's: 0 healthy, 1 degraded, 2 unavailable.
 */
import { TesseraError, type ReplicaStatus, type TableInfo, type TabletRow, type NameserverRow } from '@tessera/common';
import type { CommandContext, CommandResult } from './result.js';
import { evaluateHealth, HEALTH_LAG_ENTRIES_MAX_DEFAULT, renderHealth, type ChecksumResult, type TabletReport } from './health-core.js';
import { parseUint } from './parse.js';

/** What healthcheck reads beyond the admin API (ns-client-role implements it over ZooKeeper and HTTP). */
export interface ClusterProbe {
  /** Every table as stored in ZooKeeper. */
  tables(): Promise<TableInfo[]>;
  /** A tablet's report of every replica it holds. */
  tabletStatus(endpoint: string): Promise<ReplicaStatus[]>;
  /** A replica's content checksum and the offset it was taken at. */
  checksum(endpoint: string, tid: number, pid: number): Promise<{ sha256: string; rows: number; offset: number }>;
}

/** Tries per partition to find its replicas at one offset (writes may move them). */
export const CHECKSUM_ATTEMPTS = 3;

export const HEALTHCHECK_USAGE = '[--checksum] [--lag_entries=N]';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function compareChecksums(probe: ClusterProbe, table: TableInfo, pid: number): Promise<ChecksumResult> {
  const p = table.partitions.find((x) => x.pid === pid)!;
  const endpoints = p.replicas.filter((r) => r.isAlive).map((r) => r.endpoint);
  if (endpoints.length < 2) return { tid: table.tid, pid, outcome: 'skipped', detail: 'fewer than two alive replicas' };
  let last = '';
  for (let attempt = 0; attempt < CHECKSUM_ATTEMPTS; attempt++) {
    let sums: Array<{ endpoint: string; sha256: string; rows: number; offset: number }>;
    try {
      sums = await Promise.all(endpoints.map(async (endpoint) => ({ endpoint, ...(await probe.checksum(endpoint, table.tid, pid)) })));
    } catch (err) {
      return { tid: table.tid, pid, outcome: 'skipped', detail: `a replica did not answer: ${messageOf(err)}` };
    }
    const offsets = new Set(sums.map((s) => s.offset));
    if (offsets.size > 1) {
      last = sums.map((s) => `${s.endpoint} at ${s.offset}`).join(', ');
      continue;
    }
    const first = sums[0]!;
    const differing = sums.filter((s) => s.sha256 !== first.sha256);
    if (differing.length === 0) return { tid: table.tid, pid, outcome: 'equal', detail: `offset ${first.offset}, ${first.rows} rows` };
    return { tid: table.tid, pid, outcome: 'differ', detail: `at offset ${first.offset}: ${sums.map((s) => `${s.endpoint} ${s.rows} rows ${s.sha256.slice(0, 12)}`).join(', ')}` };
  }
  return { tid: table.tid, pid, outcome: 'skipped', detail: `offsets moved (writes under way): ${last}` };
}

export async function healthcheck(args: string[], ctx: CommandContext): Promise<CommandResult> {
  let withChecksum = false;
  let lagEntriesMax = HEALTH_LAG_ENTRIES_MAX_DEFAULT;
  for (const a of args) {
    if (a === '--checksum' || a === 'checksum') withChecksum = true;
    else if (a.startsWith('--lag_entries=')) {
      const n = parseUint(a.slice('--lag_entries='.length));
      if (n === undefined) return { ok: false, output: 'Invalid args. --lag_entries should be uint64_t' };
      lagEntriesMax = n;
    } else return { ok: false, output: `usage: healthcheck ${HEALTHCHECK_USAGE}` };
  }
  const probe = ctx.probe;
  if (!probe) return { ok: false, output: 'healthcheck needs a connection to the cluster' };
  const unreadable: Array<{ subject: string; message: string }> = [];
  let nameservers: NameserverRow[] = [];
  let tablets: TabletRow[] = [];
  let tables: TableInfo[] = [];
  try {
    nameservers = (await ctx.admin.showns({})).nameservers;
  } catch (err) {
    unreadable.push({ subject: 'nameserver', message: `cannot list nameservers: ${messageOf(err)}` });
  }
  try {
    tablets = (await ctx.admin.showtablet({})).tablets;
  } catch (err) {
    unreadable.push({ subject: 'nameserver', message: `cannot list tablets from the leader: ${messageOf(err)}` });
  }
  try {
    tables = await probe.tables();
  } catch (err) {
    unreadable.push({ subject: 'zookeeper', message: `cannot read the tables: ${messageOf(err)}` });
  }
  const reports = new Map<string, TabletReport>();
  await Promise.all(
    tablets
      .filter((t) => t.state === 'kTabletHealthy')
      .map(async (t) => {
        try {
          reports.set(t.endpoint, { replicas: await probe.tabletStatus(t.endpoint) });
        } catch (err) {
          reports.set(t.endpoint, { error: err instanceof TesseraError ? `${err.code}: ${err.message}` : messageOf(err) });
        }
      }),
  );
  let checksums: ChecksumResult[] | undefined;
  if (withChecksum) {
    checksums = [];
    for (const table of tables) for (const p of table.partitions) checksums.push(await compareChecksums(probe, table, p.pid));
  }
  const report = evaluateHealth({ nameservers, tablets, tables, reports, lagEntriesMax, unreadable, ...(checksums ? { checksums } : {}) });
  return { ok: true, output: renderHealth(report), data: report, exitCode: report.exitCode };
}
