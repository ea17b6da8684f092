/**
 * The routes replication serves on a tablet: the follower side — appends (`/v1/replica/append`,
 * coalesced `/v1/replica/append_multi`) and snapshot transfers (`/v1/replica/snapshot_*`), each
 * term-fenced through the replica's state machine — and the leader side's in-sync set order
 * from the nameserver (`/v1/control/set_in_sync`).
 */
import { bodyObject, invalidArgument, LIMITS, normalizeRow, TesseraError, type HttpServer, type Logger } from '@tessera/common';
import { measurePackedChunk, validateEntry, type BinlogEntry, type PackedSnapshotChunk, type SnapshotChunk } from '@tessera/storage';
import type { Replica } from '../replica.js';
import type { ReplicaManager } from '../replica-manager.js';
import type { EpochFence } from '../routes-control.js';
import { strList, tidPid, uint } from '../validate.js';
import { REPLICATION } from './limits.js';
import { replicaKey as key, type LeaderRoles } from './roles.js';
import type { SnapshotReceiver } from './snapshot-receiver.js';

export class ReplicaRoutes {
  constructor(
    private readonly replicas: ReplicaManager,
    private readonly leaders: LeaderRoles,
    private readonly receiver: SnapshotReceiver,
    private readonly log: Logger,
  ) {}

  register(app: HttpServer, fence: EpochFence): void {
    app.post('/v1/replica/append', async (req) => this.applyAppend(bodyObject(req.body)));

    // Appends of several partitions from one leader tablet (append-mux.ts): each part is applied
    // and answered on its own, `{ results: [{ offset, ... } | { error }] }` in the order of `parts`.
    app.post('/v1/replica/append_multi', async (req) => {
      const body = bodyObject(req.body);
      const parts = body.parts;
      if (!Array.isArray(parts) || parts.length === 0 || parts.length > LIMITS.partitionsMax) {
        throw invalidArgument(`parts must be a list of 1 to ${LIMITS.partitionsMax} appends`, { field: 'parts' });
      }
      const results = await Promise.all(parts.map(async (part: unknown) => {
        try {
          return await this.applyAppend(bodyObject(part));
        } catch (err) {
          if (err instanceof TesseraError) return err.toWire();
          throw err;
        }
      }));
      return { results };
    });

    app.post('/v1/replica/snapshot_begin', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const replica = this.replicas.require(tid, pid);
      const term = uint(body, 'term');
      const session = sessionId(body);
      const header = { tid, pid, offset: uint(body, 'offset'), term: uint(body, 'offsetTerm') };
      await this.acceptTerm(replica, term);
      await this.receiver.begin(replica, session, header);
      // This follower reads packed chunks (storage snapshot-pack.ts); a leader sends the list form otherwise.
      return { ok: true, packedChunks: true };
    });

    app.post('/v1/replica/snapshot_chunk', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const replica = this.replicas.require(tid, pid);
      const term = uint(body, 'term');
      const entries = chunkEntries(body);
      const session = sessionId(body);
      const seq = uint(body, 'seq');
      await this.acceptTerm(replica, term);
      await this.receiver.chunk(replica, session, seq, entries);
      return { ok: true };
    });

    app.post('/v1/replica/snapshot_end', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const replica = this.replicas.require(tid, pid);
      const term = uint(body, 'term');
      const session = sessionId(body);
      const chunks = uint(body, 'chunks');
      await this.acceptTerm(replica, term);
      return { offset: await this.receiver.end(replica, session, chunks) };
    });

    app.post('/v1/control/set_in_sync', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const term = uint(body, 'term');
      const inSync = strList(body, 'inSync');
      fence.check(body);
      const replica = this.replicas.require(tid, pid);
      if (replica.role !== 'leader' || replica.term !== term) {
        throw new TesseraError('NOT_LEADER', `replica ${key(replica)} is not the leader of term ${term}`);
      }
      const lr = this.leaders.get(replica);
      if (!lr || lr.term !== term) throw new TesseraError('NOT_LEADER', `replica ${key(replica)} is not leading (yet)`);
      lr.setInSync(inSync);
      return { ok: true };
    });
  }

  /** One append from a leader (`{ tid, pid, term, entries }`); no entries = a probe of this replica's offset. */
  private async applyAppend(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { tid, pid } = tidPid(body);
    const term = uint(body, 'term');
    const replica = this.replicas.require(tid, pid);
    if (!Array.isArray(body.entries)) throw invalidArgument('entries must be a list', { field: 'entries' });
    const store = replica.store;
    if (body.entries.length === 0) {
      await this.acceptTerm(replica, term);
      const offset = store.offset;
      const offsetTerm = await store.termAt(offset);
      return { offset, ...(offsetTerm !== undefined ? { offsetTerm } : {}), ...(store.incomplete ? { incomplete: true } : {}) };
    }
    if (replica.state === 'loading' || store.incomplete) throw new TesseraError('REPLICA_NOT_SERVING', `replica ${key(replica)} is being rebuilt`);
    if (body.entries.length > REPLICATION.batchEntriesMax) throw new TesseraError('LIMIT_EXCEEDED', `at most ${REPLICATION.batchEntriesMax} entries per append`);
    const columns = store.schema.columns.length;
    const first = (body.entries[0] as { offset?: unknown }).offset;
    if (typeof first !== 'number') throw invalidArgument('entries[0].offset must be a number');
    const entries: BinlogEntry[] = body.entries.map((e: unknown, i: number) => {
      const entry = validateEntry(e, first + i);
      if (entry.kind === 'put') {
        if (entry.values.length !== columns) throw invalidArgument(`entry ${entry.offset} has ${entry.values.length} values, table has ${columns} columns`);
        // The leader checked the row; checking again keeps a hostile append from planting bad rows.
        normalizeRow(store.schema, entry.values);
      }
      return entry;
    });
    // Only a well-formed request may move this replica's term.
    const adopting = this.acceptTerm(replica, term);
    if (adopting) await adopting;
    return { offset: await store.appendReplicated(entries) };
  }

  /**
   * Term fencing on the follower side: a lower term is refused (STALE_TERM, with ours, thrown);
   * anything else is the replica state machine's followTerm (a higher term adopted, a leader of a
   * lower one steps down, an unassigned replica refuses). A promise only when the machine has
   * something to do: the usual append costs no await here.
   */
  private acceptTerm(replica: Replica, term: number): Promise<void> | undefined {
    // A lower term first, whatever the state: it tells a deposed leader so.
    if (term < replica.term) throw new TesseraError('STALE_TERM', `term ${term} is lower than replica term ${replica.term}`, { term: replica.term });
    return replica.machine.followsTerm(term) ? undefined : this.adoptTerm(replica, term);
  }

  private async adoptTerm(replica: Replica, term: number): Promise<void> {
    const wasLeader = replica.role === 'leader';
    await replica.machine.followTerm(term);
    if (wasLeader && replica.role !== 'leader') this.log.warn(`replica ${key(replica)} stepped down: a leader of term ${term} is appending`);
  }
}

function sessionId(body: Record<string, unknown>): string {
  const s = body.session;
  if (typeof s !== 'string' || !/^[0-9a-f]{1,64}$/.test(s)) throw invalidArgument('session must be a hex id', { field: 'session' });
  return s;
}

/** A chunk's pairs: `packed` (one byte string, snapshot-pack.ts) or `entries` (a list of [key, value] byte pairs). */
function chunkEntries(body: Record<string, unknown>): SnapshotChunk | PackedSnapshotChunk {
  if (body.packed !== undefined) {
    if (body.entries !== undefined) throw invalidArgument('a chunk has entries or packed, not both');
    // Checked whole and counted, passed on packed (the load unpacks it where it writes it).
    const chunk = body.packed instanceof Uint8Array ? measurePackedChunk(body.packed) : undefined;
    if (chunk === undefined) throw invalidArgument('packed must be bytes of length-prefixed keys and values');
    return chunk;
  }
  const entries = body.entries;
  if (!Array.isArray(entries) || entries.some((e) => !Array.isArray(e) || e.length !== 2 || !(e[0] instanceof Uint8Array) || !(e[1] instanceof Uint8Array))) {
    throw invalidArgument('entries must be a list of [key, value] byte pairs');
  }
  return entries as SnapshotChunk;
}
