/**
 * healthcheck's I/O: every table as ZooKeeper holds it (read afresh, not from the SDK's cache),
 * and the tablets' own answers — their replica status and content checksums — over the tablets'
 * control routes (read-only; sent without a nameserver epoch, so they fence nothing).
 */
import { TesseraError, type HttpClient, type ReplicaStatus, type TableInfo } from '@tessera/common';
import type { CoordSession, ZkLayout } from '@tessera/coord';
import type { ClusterProbe } from './nsclient/healthcheck.js';

/** Bound on one tablet's answer, so a hung tablet cannot hang the check. */
export const PROBE_TIMEOUT_MS = 5_000;
/** Bound on one checksum (it reads every live row of the replica). */
export const CHECKSUM_TIMEOUT_MS = 60_000;

export function clusterProbe(session: CoordSession, layout: ZkLayout, http: HttpClient): ClusterProbe {
  return {
    async tables(): Promise<TableInfo[]> {
      let names: string[] = [];
      try {
        names = await session.children(layout.tableDataDir);
      } catch (err) {
        if ((err as TesseraError).details?.zkError !== 'ZNONODE') throw err;
      }
      const out: TableInfo[] = [];
      for (const name of names) {
        const tid = Number(name);
        if (!Number.isSafeInteger(tid)) continue;
        const node = await session.getJson<TableInfo>(layout.tableData(tid));
        if (node) out.push(node.value);
      }
      return out.sort((a, b) => a.tid - b.tid);
    },
    async tabletStatus(endpoint: string): Promise<ReplicaStatus[]> {
      const res = await http.call<{ replicas: ReplicaStatus[] }>(endpoint, '/v1/control/status', {}, { timeoutMs: PROBE_TIMEOUT_MS });
      return res.replicas;
    },
    async checksum(endpoint: string, tid: number, pid: number) {
      return http.call<{ sha256: string; rows: number; offset: number }>(endpoint, '/v1/control/checksum', { tid, pid }, { timeoutMs: CHECKSUM_TIMEOUT_MS });
    },
  };
}
