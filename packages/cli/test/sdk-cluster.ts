/**
 * What the process tests here share beyond testkit: their cluster with the SDK as its client
 * (`startSdkCluster`: testkit's startTestCluster with `Client.connect`, and unless given,
 * database `db` and 30 s bounds on HTTP calls and on the wait for healthy tablets), and the
 * `flow` table of card payments many of them create (`FLOW`, `createFlow`, `unreadableFlowRows`).
 */
import { Client } from '@tessera/client';
import { startTestCluster, unreadable, type TestCluster, type TestClusterOptions, type TestHandle } from '@tessera/testkit';

/** Options with a default here. */
type Defaulted = 'httpTimeoutMs' | 'tabletsHealthyTimeoutMs' | 'database';
export type SdkClusterOptions = Omit<TestClusterOptions<Client>, 'connect' | Defaulted> & Partial<Pick<TestClusterOptions<Client>, Defaulted>>;

const HTTP_TIMEOUT_MS = 30_000;
const TABLETS_HEALTHY_TIMEOUT_MS = 30_000;

export function startSdkCluster(t: TestHandle, opts: SdkClusterOptions): Promise<TestCluster<Client>> {
  return startTestCluster(t, {
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    httpTimeoutMs: HTTP_TIMEOUT_MS, tabletsHealthyTimeoutMs: TABLETS_HEALTHY_TIMEOUT_MS, database: 'db',
    ...opts,
  });
}

/** Columns and index of the card-payments `flow` table: `{ name: 'flow', partitionNum, replicaNum, ...FLOW }`. */
export const FLOW = {
  columns: [{ name: 'card', type: 'string' as const }, { name: 'amt', type: 'double' as const }, { name: 'at', type: 'timestamp' as const }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'at' }],
};

/** `flow` in `db`, 2 partitions × 3 replicas: pid 0 led by `a`, pid 1 by `b`, each followed by the two others. */
export async function createFlow(client: Client, [a, b, c]: [string, string, string]): Promise<void> {
  await client.createTable('db', {
    name: 'flow', partitionNum: 2, replicaNum: 3,
    partitions: [{ pid: 0, leader: a, followers: [b, c] }, { pid: 1, leader: b, followers: [a, c] }],
    ...FLOW,
  });
}

/** How many of `rows` a get on `flow` does not find. */
export async function unreadableFlowRows(client: Client, rows: Array<{ card: string }>): Promise<number> {
  return (await unreadable(rows.map((r) => r.card), (key) => client.get('db', 'flow', { key }))).length;
}
