/**
 * The replication limits and timings of a tablet, named once. Flags override the ones an
 * operator tunes (`--binlog_retention_entries`, `--replica_ack_timeout`).
 */
export const REPLICATION = {
  /** Binlog entries in one append request, and their bytes. */
  batchEntriesMax: 1024,
  batchBytesMax: 2 * 1024 * 1024,
  /** Append requests in flight to one follower (pipelining). */
  pipelineDepthMax: 4,
  /** Backoff after a failed append or probe. */
  retryBaseMs: 50,
  retryMaxMs: 2000,
  /** Time limit of one append request. */
  appendTimeoutMs: 10_000,
  /** A snapshot load that receives nothing for this long is abandoned. */
  snapshotIdleTimeoutMs: 30_000,
  /**
   * Bytes of one snapshot chunk request. 128 KiB (~1,300 rows of 100 bytes): with 1 MiB the new
   * replica wrote ~10,000 rows a batch; in a 1,000,000-row migrate its peak RSS went from 300–307
   * to 227–242 MiB (anonymous at the end 178–185 → 108–122 MiB) at the same copy rate; the
   * writer's p99 during the copy did not change beyond its noise (docs/benchmarks.md, session 11).
   */
  snapshotChunkBytesMax: 128 * 1024,
  /** Write ids remembered per leader replica for de-duplicating retried writes. */
  writeIdWindowEntries: 200_000,
  /** A follower the leader waits for on its own (not yet recorded) is dropped past these. */
  expandingLagEntriesMax: 10_000,
  expandingSilentMsMax: 2_000,
  expandingPruneIntervalMs: 500,
  /** A follower streaming (or just rebuilt) that answered within this long keeps the binlog it needs. */
  retentionPinActiveMsMax: 30_000,
  /** How often the binlog retention is enforced. */
  retentionCheckIntervalMs: 5_000,
  /** A read on a leader that just took over waits this long for its commit point, then fails (retryable). */
  readSettleWaitMs: 2_000,
  /** While it waits, a read is woken by follower acknowledgements and re-checks at least this often. */
  readSettleRecheckMs: 50,
} as const;
