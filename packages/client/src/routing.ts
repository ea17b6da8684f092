/**
 * Routing, pure: which partition a key goes to (the frozen hash of common), how a row splits into
 * per-partition puts by its index keys (OpenMLDB's dimensions), and which replica leads a
 * partition. The ns_client and the SDK both route through here.
 */
import { indexKey, leaderOf, pidOfKey, planIndexes, TesseraError, type IndexPlan, type TableInfo, type Value } from '@tessera/common';

const plansCache = new WeakMap<TableInfo, IndexPlan[]>();

export function plansOf(table: TableInfo): IndexPlan[] {
  let plans = plansCache.get(table);
  if (!plans) {
    plans = planIndexes(table.schema);
    plansCache.set(table, plans);
  }
  return plans;
}

/** Per partition, the index numbers whose key of this row hashes there. */
export function splitByPartition(table: TableInfo, values: readonly Value[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const plans = plansOf(table);
  for (let i = 0; i < plans.length; i++) {
    const pid = pidOfKey(indexKey(plans[i]!, values), table.partitionNum);
    const dims = out.get(pid);
    if (dims) dims.push(i);
    else out.set(pid, [i]);
  }
  return out;
}

/** The endpoint of the alive leader of a partition, or UNAVAILABLE naming the pid. */
export function leaderEndpoint(table: TableInfo, pid: number): string {
  const p = table.partitions[pid];
  const leader = p ? leaderOf(p) : undefined;
  if (!leader) throw new TesseraError('UNAVAILABLE', `cannot find healthy endpoint. pid is ${pid}`, { pid });
  return leader.endpoint;
}

export function pidOf(table: TableInfo, key: string): number {
  return pidOfKey(key, table.partitionNum);
}
