/**
 * A fake cluster for the nameserver core's tests: tablets holding partition replicas as logs of
 * terms (entry i has the term it was written in; offset = log length), with roles, terms, snapshot
 * state, follower sets and write fences. It executes the engine's tablet commands with the same
 * idempotent semantics a real tablet must have, refuses stale nameserver epochs and stale terms,
 * replicates leader logs to followers, accepts client writes on unfenced leaders, and reports
 * replica status. Deterministic; no I/O.
 */
import { ERROR_CATALOGUE, isErrorCode, type Endpoint, type PartitionMeta, type ReplicaRole, type ReplicaState } from '@tessera/common';
import type { ReplicaCall, ReplicaReport, TabletCommand, TabletNotice } from '../src/core/index.js';
import { partitionKey } from '../src/core/index.js';

export interface FakeReplica {
  tid: number;
  pid: number;
  name: string;
  db: string;
  role: ReplicaRole | 'none';
  state: ReplicaState;
  term: number;
  /** Term of each entry; offset = log.length. */
  log: number[];
  followers: Set<Endpoint>;
  fenced: boolean;
  snapshotOffset: number;
  /** Leader only: the in-sync set as last told (`set_in_sync`, or with its role). */
  inSync: Set<Endpoint>;
}

interface Staged {
  name: string;
  db: string;
  log: number[];
}

export interface CommandResult {
  ok: boolean;
  error?: string;
  retryable?: boolean;
  /** What the tablet answered (CompareChecksum's comparison). */
  detail?: unknown;
}

/** Entries a leader pushes to one follower per replication round. */
export const REPLICATION_BATCH_ENTRIES = 4;

export class FakeTablet {
  up = true;
  epochSeen = 0;
  readonly replicas = new Map<string, FakeReplica>();
  readonly staged = new Map<string, Staged>();
  /** Partitions whose replica here sums differently from its rows (a corrupt copy, for the checksum check). */
  readonly corruptChecksums = new Set<string>();

  constructor(readonly endpoint: Endpoint) {}

  replica(tid: number, pid: number): FakeReplica | undefined {
    return this.replicas.get(partitionKey(tid, pid));
  }

  /** A status poll from a nameserver of `epoch`: later commands of lower epochs are refused. */
  observeEpoch(epoch: number): void {
    this.epochSeen = Math.max(this.epochSeen, epoch);
  }

  report(): ReplicaReport[] {
    return [...this.replicas.values()]
      .sort((a, b) => a.tid - b.tid || a.pid - b.pid)
      .map((r) => {
        const out: ReplicaReport = {
          tid: r.tid,
          pid: r.pid,
          name: r.name,
          db: r.db,
          role: r.role,
          state: r.state,
          term: r.term,
          offset: r.log.length,
          recordCnt: r.log.length,
          memUsed: 0,
          diskUsed: 0,
          snapshotOffset: r.snapshotOffset,
        };
        if (r.role === 'leader') {
          out.followers = [...r.followers].sort();
          out.fenced = r.fenced;
        }
        return out;
      });
  }

  /** Process restart: replicas stay on disk but are not served until told their role again. */
  restart(): void {
    this.up = true;
    this.staged.clear();
    for (const r of this.replicas.values()) {
      r.role = 'none';
      r.state = 'unassigned';
      r.followers.clear();
      r.fenced = false;
      r.inSync.clear();
    }
  }
}

const serving = (r: FakeReplica | undefined): r is FakeReplica => r !== undefined && r.role !== 'none' && (r.state === 'normal' || r.state === 'snapshotPaused');

export class FakeCluster {
  readonly tablets = new Map<Endpoint, FakeTablet>();
  /** When each follower (endpoint/partition) last confirmed to its leader. */
  private readonly lastAckMs = new Map<string, number>();
  /** When a leader (endpoint, term) first reported a follower: its stream's start. */
  private readonly streamSinceMs = new Map<string, number>();

  constructor(endpoints: readonly Endpoint[]) {
    for (const e of endpoints) this.tablets.set(e, new FakeTablet(e));
  }

  tablet(endpoint: Endpoint): FakeTablet {
    const t = this.tablets.get(endpoint);
    if (t === undefined) throw new Error(`no fake tablet ${endpoint}`);
    return t;
  }

  addTablet(endpoint: Endpoint): FakeTablet {
    const t = new FakeTablet(endpoint);
    this.tablets.set(endpoint, t);
    return t;
  }

  /** A create or drop table's call (core/table-create.ts's ReplicaCall) on a tablet, as the tablet's control route does it. */
  replicaCall(nsEpoch: number, call: ReplicaCall): CommandResult {
    const tablet = this.tablet(call.endpoint);
    if (!tablet.up) return { ok: false, error: 'UNAVAILABLE: down' };
    if (call.type === 'DropReplica') return this.execute(call.endpoint, nsEpoch, { type: 'DropTable', tid: call.tid, pid: call.pid });
    tablet.replicas.set(partitionKey(call.tid, call.pid), {
      tid: call.tid,
      pid: call.pid,
      name: call.schema.name,
      db: call.schema.db,
      role: call.role,
      state: 'normal',
      term: call.term,
      log: [],
      followers: new Set(call.followers ?? []),
      fenced: false,
      snapshotOffset: 0,
      inSync: new Set(call.inSync ?? []),
    });
    return { ok: true };
  }

  /**
   * A client write routed by metadata to `leader`: accepted by an up, serving, unfenced leader.
   * Returns the acknowledged offset (replica_ack=leader) or undefined when refused.
   */
  write(tid: number, partition: PartitionMeta, leader: Endpoint | undefined): number | undefined {
    if (leader === undefined) return undefined;
    const tablet = this.tablets.get(leader);
    const r = tablet?.replica(tid, partition.pid);
    if (tablet === undefined || !tablet.up || !serving(r) || r.role !== 'leader' || r.fenced) return undefined;
    r.log.push(r.term);
    return r.log.length;
  }

  /** One replication round: every leader pushes up to a batch of entries to each follower. */
  replicate(): void {
    for (const tablet of this.tablets.values()) {
      if (!tablet.up) continue;
      for (const leader of tablet.replicas.values()) {
        if (!serving(leader) || leader.role !== 'leader') continue;
        for (const endpoint of leader.followers) {
          const target = this.tablets.get(endpoint);
          const f = target?.replica(leader.tid, leader.pid);
          if (target === undefined || !target.up || !serving(f) || f.role !== 'follower') continue;
          if (f.term > leader.term) continue; // fenced: a lower-term leader is refused
          f.term = leader.term;
          if (f.log.length < leader.log.length) f.log.push(...leader.log.slice(f.log.length, f.log.length + REPLICATION_BATCH_ENTRIES));
        }
      }
    }
  }

  /**
   * A tablet's report as the real one: a leader adds its replication (Kafka's ISR, as
   * docs/replication.md): each follower's confirmed offset, and `waitingFor` = the in-sync set it
   * was told plus every streaming follower that holds all its entries (the leader's expanding set).
   */
  report(endpoint: Endpoint, nowMs: number): ReplicaReport[] {
    const tablet = this.tablet(endpoint);
    return tablet.report().map((out) => {
      const r = tablet.replica(out.tid, out.pid)!;
      if (out.role !== 'leader' || !serving(r)) return out;
      const followers = [...r.followers].sort().map((e) => {
        const t = this.tablets.get(e);
        const f = t?.replica(r.tid, r.pid);
        const streaming = t !== undefined && t.up && serving(f) && f.role === 'follower' && f.term <= r.term;
        if (streaming) this.lastAckMs.set(`${e}/${partitionKey(r.tid, r.pid)}`, nowMs);
        const streamKey = `${endpoint}@${r.term}>${e}/${partitionKey(r.tid, r.pid)}`;
        if (!this.streamSinceMs.has(streamKey)) this.streamSinceMs.set(streamKey, nowMs);
        return {
          endpoint: e, state: streaming ? 'stream' : 'connecting', ackedOffset: streaming ? Math.min(f.log.length, r.log.length) : -1,
          lastAckMs: this.lastAckMs.get(`${e}/${partitionKey(r.tid, r.pid)}`) ?? 0, sinceMs: this.streamSinceMs.get(streamKey)!, snapshotsSent: 0,
        };
      });
      const waitingFor = [...new Set([...r.inSync, ...followers.filter((f) => f.state === 'stream' && f.ackedOffset === r.log.length).map((f) => f.endpoint)])].sort();
      return { ...out, replication: { term: r.term, offset: r.log.length, nowMs, inSync: [...r.inSync].sort(), waitingFor, followers } };
    });
  }

  /** A notice outside any op (set_in_sync, a restarted replica's role), as the tablet takes it. */
  notify(endpoint: Endpoint, nsEpoch: number, notice: TabletNotice): CommandResult {
    const tablet = this.tablets.get(endpoint);
    if (tablet === undefined || !tablet.up) return { ok: false, error: `UNAVAILABLE: ${endpoint} unreachable` };
    if (nsEpoch < tablet.epochSeen) return { ok: false, error: `STALE_NS_EPOCH: ${nsEpoch} < ${tablet.epochSeen}` };
    tablet.observeEpoch(nsEpoch);
    const r = tablet.replica(notice.tid, notice.pid);
    if (notice.type === 'SetInSync') {
      if (!serving(r) || r.role !== 'leader' || r.term !== notice.term) return { ok: false, error: 'NOT_LEADER: not the leader at that term' };
      r.inSync = new Set(notice.inSync);
      return { ok: true };
    }
    if (r === undefined || (r.state !== 'unassigned' && !serving(r))) return { ok: false, error: 'TABLE_NOT_FOUND: no replica' };
    if (notice.term < r.term) return { ok: false, error: `STALE_TERM: ${notice.term} < ${r.term}` };
    r.state = 'normal';
    r.role = notice.role;
    r.term = notice.term;
    r.followers = new Set(notice.role === 'leader' ? (notice.followers ?? []) : []);
    r.inSync = new Set(notice.role === 'leader' ? (notice.inSync ?? []) : []);
    r.fenced = false;
    return { ok: true };
  }

  /** Executes one command on `endpoint` as a tablet would. */
  execute(endpoint: Endpoint, nsEpoch: number, command: TabletCommand): CommandResult {
    const tablet = this.tablets.get(endpoint);
    if (tablet === undefined || !tablet.up) return { ok: false, error: `UNAVAILABLE: ${endpoint} unreachable`, retryable: true };
    if (nsEpoch < tablet.epochSeen) return { ok: false, error: `STALE_NS_EPOCH: ${nsEpoch} < ${tablet.epochSeen}` };
    tablet.observeEpoch(nsEpoch);
    const key = partitionKey(command.tid, command.pid);
    const r = tablet.replicas.get(key);
    // Retryable as the real shell marks it: by the catalogue's retry policy of the code.
    const fail = (error: string): CommandResult => {
      const code = error.split(':')[0];
      return { ok: false, error, retryable: isErrorCode(code) && ERROR_CATALOGUE[code].retry !== 'no' };
    };
    switch (command.type) {
      case 'PauseSnapshot':
        if (!serving(r)) return fail('TABLE_NOT_FOUND: no serving replica');
        r.state = 'snapshotPaused';
        return { ok: true };
      case 'RecoverSnapshot':
        if (!serving(r)) return fail('TABLE_NOT_FOUND: no serving replica');
        r.state = 'normal';
        return { ok: true };
      case 'SendSnapshot': {
        if (!serving(r) || r.role !== 'leader') return fail('NOT_LEADER: not a serving leader');
        if (r.state !== 'snapshotPaused') return fail('PRECONDITION_FAILED: table status is not kSnapshotPaused');
        const des = this.tablets.get(command.des);
        if (des === undefined || !des.up) return fail(`UNAVAILABLE: ${command.des} unreachable`);
        des.staged.set(key, { name: r.name, db: r.db, log: [...r.log] });
        return { ok: true };
      }
      case 'LoadTable': {
        const onDisk: FakeReplica | undefined = tablet.replicas.get(key);
        const staged = tablet.staged.get(key);
        if (staged === undefined && serving(r)) return r.role === command.role ? { ok: true } : fail('TABLE_EXISTS: table already exists');
        const log = staged?.log ?? onDisk?.log;
        if (log === undefined) return fail('TABLE_NOT_FOUND: no snapshot to load');
        tablet.staged.delete(key);
        tablet.replicas.set(key, {
          tid: command.tid,
          pid: command.pid,
          name: command.name,
          db: command.db,
          role: command.role,
          state: 'normal',
          term: Math.max(command.term, staged === undefined ? (onDisk?.term ?? 0) : 0),
          log: [...log],
          followers: new Set(),
          fenced: false,
          snapshotOffset: staged === undefined ? (onDisk?.snapshotOffset ?? 0) : log.length,
          inSync: new Set(),
        });
        return { ok: true };
      }
      case 'AddReplica':
        if (!serving(r) || r.role !== 'leader') return fail('NOT_LEADER: table is follower');
        r.followers.add(command.follower);
        return { ok: true };
      case 'DelReplica':
        if (!serving(r) || r.role !== 'leader') return fail('NOT_LEADER: table is follower');
        r.followers.delete(command.follower);
        r.inSync.delete(command.follower);
        return { ok: true };
      case 'ChangeRole':
        // As the real tablet's change_role: a replica a restart left unassigned takes the role.
        if (r === undefined || (r.state !== 'unassigned' && !serving(r))) return fail('TABLE_NOT_FOUND: no serving replica');
        if (command.term < r.term) return fail(`STALE_TERM: ${command.term} < ${r.term}`);
        if (r.state === 'unassigned') r.state = 'normal';
        r.role = command.role;
        r.term = command.term;
        r.followers = new Set(command.role === 'leader' ? command.followers : []);
        r.inSync = new Set([...r.inSync].filter((e) => r.followers.has(e)));
        r.fenced = false;
        return { ok: true };
      case 'FenceLeader':
        if (!serving(r) || r.role !== 'leader') return fail('NOT_LEADER: table is follower');
        if (r.term !== command.term) return fail(`STALE_TERM: leader term ${r.term} is not ${command.term}`);
        r.fenced = true;
        return { ok: true };
      case 'DropTable':
        tablet.replicas.delete(key);
        tablet.staged.delete(key);
        return { ok: true };
      case 'MakeSnapshot':
        if (!serving(r)) return fail('TABLE_NOT_FOUND: no serving replica');
        if (r.state !== 'normal') return fail('PRECONDITION_FAILED: table status is not kNormal');
        r.snapshotOffset = r.log.length;
        return { ok: true };
      case 'CompareChecksum': {
        // As the real leader: the replica's checksum at its own offset, its own at that offset.
        if (!serving(r) || r.role !== 'leader') return fail('NOT_LEADER: not a serving leader');
        if (!r.followers.has(command.replica)) return fail(`PRECONDITION_FAILED: ${command.replica} is not a follower`);
        const other = this.tablets.get(command.replica);
        const theirs = other?.up === true ? other.replica(command.tid, command.pid) : undefined;
        if (theirs === undefined) return fail(`PRECONDITION_FAILED: new replica ${command.replica} does not answer`);
        const offset = theirs.log.length;
        if (offset > r.log.length) return fail(`PRECONDITION_FAILED: ${command.replica} is ahead of its leader`);
        const sum = (t: FakeTablet, log: number[]) => ({ endpoint: t.endpoint, rows: log.length, sha256: `${t.corruptChecksums.has(key) ? 'x' : ''}${log.join('.')}` });
        return { ok: true, detail: { offset, leader: sum(tablet, r.log.slice(0, offset)), replica: sum(other!, theirs.log) } };
      }
    }
  }
}
