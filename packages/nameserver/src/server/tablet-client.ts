/**
 * Control requests from the leader nameserver to tablets: every one carries the nameserver's
 * epoch, so that a tablet refuses orders from a deposed leader (STALE_NS_EPOCH).
 */
import { HttpClient, type ReplicaStatus, type TableSchema, type CompressType, type ReplicaAck } from '@tessera/common';
import { CommandCoalescer } from './command-coalescer.js';

/** The header of a status report (packages/tablet/src/status-report.ts). */
export interface StatusReportHeader {
  stream: string;
  seq: number;
  delta: boolean;
  removed: Array<[number, number]>;
}

export interface CreateReplicaCommand {
  tid: number;
  pid: number;
  schema: TableSchema;
  compressType: CompressType;
  replicaAck: ReplicaAck;
  role: 'leader' | 'follower';
  term: number;
  followers?: string[];
  inSync?: string[];
  leader?: string;
}

export class TabletControl {
  private readonly http: HttpClient;
  private readonly creates: CommandCoalescer;

  constructor(
    private readonly epoch: () => number,
    timeoutMs: number,
  ) {
    this.http = new HttpClient({ connectionsPerEndpoint: 4, timeoutMs });
    this.creates = new CommandCoalescer((endpoint, path, body) => this.call(endpoint, path, body));
  }

  private call<T>(endpoint: string, route: string, body: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    return this.http.call<T>(endpoint, route, { ...body, nsEpoch: this.epoch() }, timeoutMs === undefined ? {} : { timeoutMs });
  }

  /** The creates of one stage of a createtable go to each tablet in one batch request. */
  createReplica(endpoint: string, cmd: CreateReplicaCommand): Promise<unknown> {
    return this.creates.call(endpoint, '/v1/control/create_replica', { ...cmd });
  }

  dropReplica(endpoint: string, tid: number, pid: number): Promise<unknown> {
    return this.call(endpoint, '/v1/control/drop_replica', { tid, pid });
  }

  changeRole(endpoint: string, cmd: { tid: number; pid: number; role: 'leader' | 'follower'; term: number; followers?: string[]; inSync?: string[]; leader?: string; replicaAck?: ReplicaAck }): Promise<unknown> {
    return this.call(endpoint, '/v1/control/change_role', { ...cmd });
  }

  /** A paused or unreachable tablet must not hold up the polls of the others: a short limit. */
  /** Every replica's status on the tablet, or only (tid, pid)'s when given. */
  async status(endpoint: string, timeoutMs: number, only?: { tid: number; pid: number }): Promise<ReplicaStatus[]> {
    const res = await this.call<{ replicas: ReplicaStatus[] }>(endpoint, '/v1/control/status', only ? { ...only } : {}, timeoutMs);
    return res.replicas;
  }

  /**
   * A poll of the tablet's status as changes since the report `cursor.ack` of `cursor.stream`
   * (the tablet's status-report.ts); `report` is absent from a tablet that sends every replica.
   */
  async statusReport(endpoint: string, timeoutMs: number, cursor: { stream: string; ack: number }): Promise<{ replicas: ReplicaStatus[]; report?: StatusReportHeader }> {
    return this.call<{ replicas: ReplicaStatus[]; report?: StatusReportHeader }>(endpoint, '/v1/control/status', { report: cursor }, timeoutMs);
  }

  /** Raw call for commands the op engine sends. */
  command<T>(endpoint: string, route: string, body: Record<string, unknown>): Promise<T> {
    return this.call<T>(endpoint, route, body);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
