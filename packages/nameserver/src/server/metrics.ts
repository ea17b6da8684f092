/**
 * The nameserver's own Prometheus metrics, computed when `/metrics` is scraped: whether this
 * process leads, healthy tablets, the ops the engine lists by type and status, and finished ops
 * counted with their durations (`tessera_ops_finished_total`, `tessera_op_duration_seconds`; an
 * op is counted at the first scrape that sees it finished, once per process). Nothing is added to
 * the op engine or the request path. Labels are op types and statuses (a small fixed set).
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ServerMetrics } from '@tessera/common';
import type { Op } from '../core/op.js';

/** Op duration buckets, seconds: 10 ms to 1 h. */
const OP_DURATION_BUCKETS_S = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export interface NameserverMetricsSource {
  isLeader(): boolean;
  healthyTablets(): number;
  knownTablets(): number;
  /** The ops the engine lists now (empty on a standby). */
  ops(): readonly Op[];
}

const FINISHED = new Set(['kDone', 'kFailed', 'kCanceled']);

export function registerNameserverMetrics(metrics: ServerMetrics, src: NameserverMetricsSource): void {
  const registers = [metrics.registry];
  new Gauge({ name: 'tessera_nameserver_is_leader', help: '1 when this nameserver leads', registers, collect() { this.set(src.isLeader() ? 1 : 0); } });
  new Gauge({ name: 'tessera_nameserver_tablets_healthy', help: 'Tablets registered in ZooKeeper', registers, collect() { this.set(src.healthyTablets()); } });
  new Gauge({ name: 'tessera_nameserver_tablets_known', help: 'Tablets known, healthy or offline', registers, collect() { this.set(src.knownTablets()); } });
  const finished = new Counter({ name: 'tessera_ops_finished_total', help: 'Ops finished, by type and status (kDone, kFailed, kCanceled)', labelNames: ['type', 'status'], registers });
  const duration = new Histogram({ name: 'tessera_op_duration_seconds', help: 'Duration of finished ops from start to end, by type and status', labelNames: ['type', 'status'], buckets: OP_DURATION_BUCKETS_S, registers });
  const counted = new Set<number>();
  new Gauge({
    name: 'tessera_ops', help: 'Ops the leader lists now, by type and status', labelNames: ['type', 'status'], registers,
    collect() {
      this.reset();
      for (const op of src.ops()) {
        this.inc({ type: op.type, status: op.status });
        if (FINISHED.has(op.status) && !counted.has(op.id)) {
          counted.add(op.id);
          finished.inc({ type: op.type, status: op.status });
          if (op.startMs > 0 && op.endMs >= op.startMs) duration.observe({ type: op.type, status: op.status }, (op.endMs - op.startMs) / 1000);
        }
      }
    },
  });
}
