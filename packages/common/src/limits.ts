/**
 * Every limit in one place. A limit is a name, a value and a reason; code asserts against these
 * names, never against a bare number. Changing one here changes it for server and client alike.
 */
export const LIMITS = {
  /** Largest HTTP body a data route accepts (a 1,000-row batch of ~4 KiB rows fits). */
  httpBodyBytesMax: 8 * 1024 * 1024,
  /** Largest body a control route accepts (schemas, op requests). */
  controlBodyBytesMax: 1024 * 1024,
  /** Rows in one put_batch request. */
  batchRowsMax: 10_000,
  /** Rows one scan returns at most (OpenMLDB's preview cap is 1000; scans default to this). */
  scanRowsMax: 10_000,
  /** Default rows for preview, and its cap. */
  previewRowsDefault: 100,
  previewRowsMax: 1000,
  /** Bytes of one string value. */
  stringBytesMax: 1024 * 1024,
  /** Bytes of one encoded row. */
  rowBytesMax: 4 * 1024 * 1024,
  /** Columns per table. */
  columnsMax: 1024,
  /** Indexes per table. */
  indexesMax: 64,
  /** Key columns per index. */
  indexKeyColumnsMax: 16,
  /** Partitions per table. */
  partitionsMax: 1024,
  /** Replicas per partition. */
  replicasMax: 9,
  /** Length of a table, database, column or index name. */
  nameCharsMax: 128,
  /** OpenMLDB's limits on TTL values. */
  absoluteTtlMinutesMax: 30 * 365 * 24 * 60,
  latestTtlMax: 1000,
  /** Entries one group-commit batch may hold before it is written. */
  groupCommitEntriesMax: 4096,
  /** Binlog entries sent in one replication batch, and their bytes. */
  replicationBatchEntriesMax: 2048,
  replicationBatchBytesMax: 4 * 1024 * 1024,
  /** Commands in one /v1/control/batch request (a bulk failover phase or a turn's creates; more go as several). */
  controlBatchCommandsMax: 1024,
  /**
   * Replicas a tablet may hold and still list one by one in /metrics (tid/pid series); above it
   * only the tablet's totals, so a scrape costs the same at 8,000 replicas as at 8 (issue 16).
   */
  metricsReplicaSeriesMax: 256,
} as const;

export type LimitName = keyof typeof LIMITS;
