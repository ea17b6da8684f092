/**
 * The tablet's flags, named as OpenMLDB names them where it has them, with defaults suited to one
 * machine. `scripts/tessera --role=tablet` parses these (plus the shared ones) from argv and
 * flagfiles.
 */
import type { FlagSpecs } from '@tessera/common';

export const TABLET_FLAGS = {
  endpoint: { type: 'string', default: '', doc: 'host:port this tablet listens on (any local address: 127.0.0.1, a LAN address, 0.0.0.0 with --advertise_endpoint)' },
  advertise_endpoint: { type: 'string', default: '', doc: 'host:port this tablet is known by in ZooKeeper, metadata, replication and routing (a proxy in front of it); empty = --endpoint' },
  db_root_path: { type: 'string', default: './var/tablet/db', doc: 'directory holding one LevelDB per replica (<tid>_<pid>/)' },
  zk_cluster: { type: 'string', default: '', doc: 'ZooKeeper servers, host:port,host:port (empty: run without a cluster)' },
  zk_root_path: { type: 'string', default: '/tessera', doc: 'root node of this cluster in ZooKeeper' },
  zk_session_timeout: { type: 'int', default: 10000, doc: 'ZooKeeper session timeout, ms' },
  gc_interval: { type: 'int', default: 120, doc: 'minutes between TTL garbage collection passes' },
  log_level: { type: 'string', default: 'info', doc: 'debug | info | warn | error (debug adds one line per HTTP request)' },
  log_file: { type: 'string', default: '', doc: 'file the log is appended to as JSON lines (reopened on SIGHUP, for logrotate); empty = stdout, readable lines on a terminal' },
  http_body_bytes_max: { type: 'int', default: 8 * 1024 * 1024, doc: 'largest request body accepted, bytes' },
  binlog_retention_entries: { type: 'int', default: 1_000_000, doc: 'binlog entries kept per replica; a follower further behind is rebuilt from a snapshot' },
  replica_ack_timeout: { type: 'int', default: 10000, doc: 'ms a replica_ack=all write waits for its in-sync followers before failing with TIMEOUT' },
  min_in_sync_replicas: { type: 'int', default: 2, doc: 'replicas (leader included, capped by the partition size) that must hold a replica_ack=all write before it is acknowledged' },
  stream_bandwidth_limit: { type: 'int', default: 0, doc: 'bytes/s one snapshot transfer may use (0 = unlimited), as OpenMLDB' },
  slow_request_ms: { type: 'int', default: 1000, doc: 'a data request or replication append taking this many ms or more is logged at WARN with its route and time (the slow-request log); 0 = never' },
  shutdown_timeout: { type: 'int', default: 10000, doc: 'ms to let in-flight requests finish on SIGTERM' },
} as const satisfies FlagSpecs;
