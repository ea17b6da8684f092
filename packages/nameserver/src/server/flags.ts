/**
 * The nameserver's flags, named as OpenMLDB names them. Defaults are OpenMLDB's production
 * template values where it has them; scripts/cluster.sh passes shorter ones suited to one machine.
 */
import type { FlagSpecs } from '@tessera/common';

export const NAMESERVER_FLAGS = {
  endpoint: { type: 'string', default: '', doc: 'host:port this nameserver listens on' },
  advertise_endpoint: { type: 'string', default: '', doc: 'host:port this nameserver is known by (its election node, showns, NS_NOT_LEADER hints; a proxy in front of it); empty = --endpoint' },
  zk_cluster: { type: 'string', default: '127.0.0.1:2181', doc: 'ZooKeeper servers, host:port,host:port' },
  zk_root_path: { type: 'string', default: '/tessera', doc: 'root node of this cluster in ZooKeeper' },
  zk_session_timeout: { type: 'int', default: 10000, doc: 'ZooKeeper session timeout, ms' },
  auto_failover: { type: 'bool', default: false, doc: 'initial value of /config/auto_failover (ZooKeeper wins afterwards)' },
  tablet_heartbeat_timeout: { type: 'int', default: 60000, doc: 'ms a tablet may be gone before failover starts' },
  tablet_offline_check_interval: { type: 'int', default: 1000, doc: 'ms between checks of offline tablets' },
  name_server_task_concurrency: { type: 'int', default: 2, doc: 'ops running at once' },
  get_table_status_interval: { type: 'int', default: 2000, doc: 'ms between replica status polls of every tablet' },
  in_sync_lag_entries: { type: 'int', default: 100000, doc: 'a follower further behind its leader leaves the in-sync set' },
  in_sync_silent_ms: { type: 'int', default: 5000, doc: 'a follower behind and silent this long leaves the in-sync set' },
  check_binlog_sync_progress_delta: { type: 'int', default: 1000, doc: 'a new replica counts as caught up within this many entries of its leader' },
  sync_stall_timeout: { type: 'int', default: 20000, doc: 'ms a replica sync check may wait with nothing able to end it (follower or leader unassigned, not replicated to) before its op fails and undoes' },
  partition_num: { type: 'int', default: 8, doc: 'default partitions of a new table' },
  replica_num: { type: 'int', default: 3, doc: 'default replicas of a new table (capped by healthy tablets)' },
  request_timeout: { type: 'int', default: 20000, doc: 'ms a control request to a tablet may take' },
  log_level: { type: 'string', default: 'info', doc: 'debug | info | warn | error (debug adds one line per HTTP request)' },
  log_file: { type: 'string', default: '', doc: 'file the log is appended to as JSON lines (reopened on SIGHUP, for logrotate); empty = stdout, readable lines on a terminal' },
} as const satisfies FlagSpecs;
