/**
 * Every HTTP route of the tablet and the nameserver, as data: where a case for it is sent, how
 * the route treats a body, its body limit, and its fields with their kinds.
 *
 * `base` is a body that passes every check up to the field being spoiled, so each spoiled field
 * reaches its own check; it is never sent unspoiled. It points at things chosen so that a spoiled
 * value wrongly accepted does as little harm as possible (fresh ids and names, the follower with
 * its own term, an endpoint that holds the partition already) — and any harm shows up in the
 * state check. `benign` is a well-formed request refused harmlessly with `benignCodes`; it
 * carries the key-injection cases (`__proto__`, ...) and the transport cases' bytes.
 */
import { LIMITS, type ErrorCode } from '@tessera/common';
import { suiteSchema } from './cluster.js';
import type { At, BuildContext, Phase } from './model.js';
import type { MpValue } from './msgpack.js';
import type { KindName, ValueClass } from './values.js';

export type Body = Record<string, MpValue>;

/**
 * required      a msgpack map must be sent
 * optional      absent body = `{}`; a map of valid optional fields is a valid request
 * optional-exec as optional, but every map runs the command (disconnectzk): only bodies refused
 *               before or at bodyObject are sent
 * ignored       the handler reads no body and acts on any request: only bodies refused before
 *               the handler (bad bytes, content type, size, method) are sent
 */
export type BodyMode = 'required' | 'optional' | 'optional-exec' | 'ignored';

export interface FieldSpec {
  /** Dotted path into the body (`schema.indexes.0.ttl`). */
  path: string;
  kind: KindName;
  required: boolean;
  /** Codes also right for a `lookup` value (well-formed, names nothing): TABLE_NOT_FOUND, ... */
  notFound?: readonly ErrorCode[];
  /** Codes also right for every bad value of this field, with the reason in `alsoWhy`. */
  also?: readonly ErrorCode[];
  /** Bad values (by label) not sent for this field: they are valid here, or unsafe. */
  skip?: readonly string[];
  /** Value classes not sent for this field. */
  skipClasses?: readonly ValueClass[];
}

export interface RouteSpec {
  server: 'tablet' | 'ns';
  path: string;
  at: At;
  mode: BodyMode;
  limit: number;
  base?: (c: BuildContext) => Body;
  benign?: (c: BuildContext) => Body;
  benignCodes?: readonly ErrorCode[];
  fields?: readonly FieldSpec[];
  /** Phase of its field cases (default `fields`): `risky` when an accepted spoiled value would do harm. */
  fieldPhase?: Phase;
  /** Gets every transport case, not only the short list. */
  representative?: boolean;
  /** Answers several requests in one and refuses a bad one in its own `results` entry (Expectation.perPart). */
  perPart?: boolean;
}

const DATA_LIMIT = LIMITS.httpBodyBytesMax;
const CONTROL_LIMIT = LIMITS.controlBodyBytesMax;
const NS_LIMIT = LIMITS.controlBodyBytesMax;
const UNKNOWN_TID = 999_999;
const NO_TABLET = '127.0.0.1:1';

const f = (path: string, kind: KindName, required: boolean, extra: Partial<FieldSpec> = {}): FieldSpec => ({ path, kind, required, ...extra });

// ------------------------------------------------------------------------------------ tablet

const TID = f('tid', 'tid', true);
const PID = f('pid', 'pid', true);
const EPOCH = f('nsEpoch', 'uintOpt', false);
const TERM = f('term', 'uint', true);
const NEVER_KEY = 'chaos_never_written';
const ROW = { card: NEVER_KEY, mcc: 'm', amt: 1.5, ts: 1000 };

const p0 = (c: BuildContext) => c.v.parts[0]!;
const p1 = (c: BuildContext) => c.v.parts[1]!;
const unknownTid = (body: (c: BuildContext) => Body) => (c: BuildContext): Body => ({ ...body(c), tid: UNKNOWN_TID });

const dataRoute = (path: string, base: (c: BuildContext) => Body, fields: FieldSpec[], representative = false): RouteSpec => ({
  server: 'tablet', path, at: 'p0leader', mode: 'required', limit: DATA_LIMIT, base, benign: unknownTid(base), benignCodes: ['REPLICA_NOT_HERE'], fields, representative,
});

/** A control route on an unknown replica: every field is checked before the replica is looked up. */
const unknownReplicaRoute = (path: string, extra: (c: BuildContext) => Body, fields: FieldSpec[]): RouteSpec => {
  const base = (c: BuildContext): Body => ({ tid: UNKNOWN_TID, pid: 0, ...extra(c), nsEpoch: c.live.epoch(c.v.tablets[0]) });
  return { server: 'tablet', path, at: 'tabletA', mode: 'required', limit: CONTROL_LIMIT, base, benign: base, benignCodes: ['TABLE_NOT_FOUND'], fields: [TID, PID, ...fields, EPOCH] };
};

/** A replica route to the follower of partition 1, with its own term (accepted without change). */
const replicaRoute = (path: string, extra: (c: BuildContext) => Body, fields: FieldSpec[], representative = false): RouteSpec => {
  const base = (c: BuildContext): Body => ({ tid: c.v.tid, pid: 1, term: c.live.term(p1(c).follower, c.v.tid, 1), ...extra(c) });
  return {
    server: 'tablet', path, at: 'p1follower', mode: 'required', limit: DATA_LIMIT, base, benign: unknownTid(base), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [TID, PID, TERM, ...fields], representative,
  };
};

/**
 * A route that carries one request per partition in the list `key` (put_multi, get_multi,
 * append_multi): the list itself is spoiled, and each field of its first element; a bad element
 * is refused in its own result (`perPart`).
 */
const multiRoute = (path: string, at: At, key: string, part: (c: BuildContext) => Body, fields: FieldSpec[], unknownReplica: ErrorCode): RouteSpec => ({
  server: 'tablet', path, at, mode: 'required', limit: DATA_LIMIT, perPart: true,
  base: (c) => ({ [key]: [part(c)] }), benign: (c) => ({ [key]: [{ ...part(c), tid: UNKNOWN_TID }] }), benignCodes: [unknownReplica],
  fields: [f(key, 'parts', true), ...fields.map((x) => ({ ...x, path: `${key}.0.${x.path}` }))],
});

export const TABLET_ROUTES: readonly RouteSpec[] = [
  dataRoute('/v1/data/put', (c) => ({ tid: c.v.tid, pid: 0, row: { ...ROW } }), [
    TID, PID, f('row', 'row', true), f('ts', 'uintOpt', false), f('dims', 'dims', false), f('writeId', 'writeId', false),
  ], true),
  dataRoute('/v1/data/put_batch', (c) => ({ tid: c.v.tid, pid: 0, rows: [{ row: { ...ROW } }] }), [TID, PID, f('rows', 'rows', true)]),
  dataRoute('/v1/data/get', (c) => ({ tid: c.v.tid, pid: 0, index: 'card', key: c.v.storedKey, ts: 0 }), [
    TID, PID, f('index', 'indexName', false), f('key', 'key', true), f('ts', 'intOpt', false),
  ]),
  dataRoute('/v1/data/scan', (c) => ({ tid: c.v.tid, pid: 0, index: 'card', key: c.v.storedKey, st: 5000, et: 0, limit: 10 }), [
    TID, PID, f('index', 'indexName', false), f('key', 'key', true), f('st', 'intOpt', false), f('et', 'intOpt', false), f('limit', 'scanLimit', false),
  ]),
  dataRoute('/v1/data/count', (c) => ({ tid: c.v.tid, pid: 0, index: 'card', key: c.v.storedKey }), [TID, PID, f('index', 'indexName', false), f('key', 'key', true)]),
  dataRoute('/v1/data/preview', (c) => ({ tid: c.v.tid, pid: 0, limit: 10 }), [TID, PID, f('limit', 'previewLimit', false)]),
  dataRoute('/v1/data/delete', (c) => ({ tid: c.v.tid, pid: 0, index: 'card', key: NEVER_KEY }), [
    TID, PID, f('index', 'indexName', false), f('key', 'key', true), f('writeId', 'writeId', false),
  ]),
  {
    // A fresh tid per case: a spoiled request wrongly accepted creates a replica nobody uses.
    server: 'tablet', path: '/v1/control/create_replica', at: 'tabletA', mode: 'required', limit: CONTROL_LIMIT,
    base: (c) => ({
      tid: 500_000 + c.n, pid: 0, schema: suiteSchema('flow', c.v.db) as Body, role: 'follower', term: 1, leader: p0(c).leader, nsEpoch: c.live.epoch(c.v.tablets[0]),
    }),
    benign: (c) => ({ tid: c.v.tid, pid: 0, schema: suiteSchema('flow', c.v.db) as Body, role: 'follower', term: 1, nsEpoch: c.live.epoch(c.v.tablets[0]) }),
    benignCodes: ['TABLE_EXISTS'],
    fields: [
      f('tid', 'tid', true, { skip: ['unknown tid 999999'] }), f('pid', 'pid', true, { skip: ['7 (no such partition)'] }),
      f('schema', 'schema', true), f('schema.name', 'nameCreate', true), f('schema.db', 'nameCreate', true),
      f('schema.columns', 'columns', true), f('schema.indexes', 'indexes', true), f('schema.indexes.0.ttl', 'ttl', false),
      f('role', 'enum', true), TERM, f('followers', 'endpointList', false), f('replicaAck', 'enumOpt', false), f('compressType', 'enumOpt', false),
      f('leader', 'endpointOpt', false), f('inSync', 'endpointList', false), EPOCH,
    ],
  },
  unknownReplicaRoute('/v1/control/drop_replica', () => ({}), []),
  {
    // The follower of partition 0, told what it already is: a spoiled value wrongly accepted changes nothing.
    server: 'tablet', path: '/v1/control/change_role', at: 'p0follower', mode: 'required', limit: CONTROL_LIMIT,
    base: (c) => ({
      tid: c.v.tid, pid: 0, role: 'follower', term: c.live.term(p0(c).follower, c.v.tid, 0), leader: p0(c).leader, nsEpoch: c.live.epoch(p0(c).follower),
    }),
    benign: (c) => ({ tid: UNKNOWN_TID, pid: 0, role: 'follower', term: 1, nsEpoch: c.live.epoch(p0(c).follower) }),
    benignCodes: ['TABLE_NOT_FOUND'],
    fields: [TID, PID, f('role', 'enum', true), TERM, f('followers', 'endpointList', false), f('leader', 'endpointOpt', false),
      f('replicaAck', 'enumOpt', false), f('inSync', 'endpointList', false), EPOCH],
  },
  {
    server: 'tablet', path: '/v1/control/status', at: 'tabletA', mode: 'optional', limit: CONTROL_LIMIT,
    base: (c) => ({ tid: c.v.tid, pid: 0 }), benign: () => ({ tid: UNKNOWN_TID, pid: 0 }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [f('tid', 'tid', false), PID],
  },
  {
    server: 'tablet', path: '/v1/control/checksum', at: 'tabletA', mode: 'required', limit: CONTROL_LIMIT,
    base: (c) => ({ tid: c.v.tid, pid: 0 }), benign: () => ({ tid: UNKNOWN_TID, pid: 0 }), benignCodes: ['TABLE_NOT_FOUND'], fields: [TID, PID],
  },
  unknownReplicaRoute('/v1/control/pause_snapshot', () => ({}), []),
  unknownReplicaRoute('/v1/control/set_ttl', () => ({ ttls: { card: { type: 'absolute', absMinutes: 0, latest: 0 } } }), [f('ttls.card', 'ttl', true)]),
  unknownReplicaRoute('/v1/control/recover_snapshot', () => ({}), []),
  unknownReplicaRoute('/v1/control/send_snapshot', (c) => ({ des: c.v.tablets[1] }), [f('des', 'endpoint', true)]),
  unknownReplicaRoute('/v1/control/add_replica', (c) => ({ follower: c.v.tablets[1] }), [f('follower', 'endpoint', true)]),
  unknownReplicaRoute('/v1/control/del_replica', (c) => ({ follower: c.v.tablets[1] }), [f('follower', 'endpoint', true)]),
  unknownReplicaRoute('/v1/control/fence_leader', () => ({ term: 1 }), [TERM]),
  unknownReplicaRoute('/v1/control/make_snapshot', () => ({ endOffset: 0 }), [f('endOffset', 'uintOpt', false)]),
  unknownReplicaRoute('/v1/control/set_in_sync', (c) => ({ term: 1, inSync: [c.v.tablets[1]] }), [TERM, f('inSync', 'endpointList', false)]),
  { server: 'tablet', path: '/v1/control/disconnectzk', at: 'tabletA', mode: 'ignored', limit: CONTROL_LIMIT },
  { server: 'tablet', path: '/v1/control/connectzk', at: 'tabletA', mode: 'ignored', limit: CONTROL_LIMIT },
  { server: 'tablet', path: '/v1/ping', at: 'tabletA', mode: 'ignored', limit: CONTROL_LIMIT },
  replicaRoute('/v1/replica/append', () => ({ entries: [] }), [f('entries', 'entries', true)]),
  replicaRoute('/v1/replica/snapshot_begin', () => ({ session: 'c0ffee', offset: 0, offsetTerm: 0 }), [
    f('session', 'session', true), f('offset', 'uint', true), f('offsetTerm', 'uint', true),
  ]),
  replicaRoute('/v1/replica/snapshot_chunk', () => ({ session: 'c0ffee', seq: 0, entries: [[Buffer.from('k'), Buffer.from('v')]] }), [
    f('session', 'session', true), f('seq', 'uint', true), f('entries', 'chunkEntries', true),
  ]),
  replicaRoute('/v1/replica/snapshot_end', () => ({ session: 'c0ffee', chunks: 0 }), [f('session', 'session', true), f('chunks', 'uint', true)]),
  {
    // Read-only (no nsEpoch): a checksum of an unknown replica.
    server: 'tablet', path: '/v1/control/checksum_at', at: 'tabletA', mode: 'required', limit: CONTROL_LIMIT,
    base: () => ({ tid: UNKNOWN_TID, pid: 0, ttlAtMs: 0, offset: 0 }), benign: () => ({ tid: UNKNOWN_TID, pid: 0, ttlAtMs: 0 }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [TID, PID, f('ttlAtMs', 'uint', true), f('offset', 'uintOpt', false)],
  },
  {
    // Read-only (no nsEpoch): the loaded checksum of an unknown replica.
    server: 'tablet', path: '/v1/control/loaded_checksum', at: 'tabletA', mode: 'required', limit: CONTROL_LIMIT,
    base: () => ({ tid: UNKNOWN_TID, pid: 0 }), benign: () => ({ tid: UNKNOWN_TID, pid: 0 }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [TID, PID],
  },
  unknownReplicaRoute('/v1/control/compare_checksum', (c) => ({ replica: c.v.tablets[1], opId: 0 }), [
    f('replica', 'endpoint', true, { notFound: ['TABLE_NOT_FOUND'] }), f('opId', 'uintOpt', false),
  ]),
  {
    // Every command names an unknown replica: each is refused in its own result, nothing changes.
    server: 'tablet', path: '/v1/control/batch', at: 'tabletA', mode: 'required', limit: CONTROL_LIMIT, perPart: true,
    base: (c) => ({ commands: [{ path: '/v1/control/change_role', body: { tid: UNKNOWN_TID, pid: 0, role: 'follower', term: 1 } }], nsEpoch: c.live.epoch(c.v.tablets[0]) }),
    benign: (c) => ({ commands: [{ path: '/v1/control/del_replica', body: { tid: UNKNOWN_TID, pid: 0, follower: c.v.tablets[1] } }], nsEpoch: c.live.epoch(c.v.tablets[0]) }),
    benignCodes: ['TABLE_NOT_FOUND'],
    fields: [f('commands', 'parts', true), EPOCH],
  },
  {
    // Without nsEpoch every request is refused as from an older nameserver: nothing changes.
    server: 'tablet', path: '/v1/control/snapshot_limit', at: 'tabletA', mode: 'required', limit: CONTROL_LIMIT,
    base: () => ({ perStreamBytesPerSec: 0, perDestinationBytesPerSec: 0 }), benign: () => ({ perStreamBytesPerSec: 0 }), benignCodes: ['STALE_NS_EPOCH'],
    fields: [f('perStreamBytesPerSec', 'uintOpt', false), f('perDestinationBytesPerSec', 'uintOpt', false), EPOCH],
  },
  multiRoute('/v1/data/put_multi', 'p0leader', 'parts', (c) => ({ tid: c.v.tid, pid: 0, rows: [{ row: { ...ROW } }] }), [TID, PID, f('rows', 'rows', true)], 'REPLICA_NOT_HERE'),
  multiRoute('/v1/data/get_multi', 'p0leader', 'gets', (c) => ({ tid: c.v.tid, pid: 0, index: 'card', key: c.v.storedKey, ts: 0 }), [
    TID, PID, f('index', 'indexName', false), f('key', 'key', true), f('ts', 'intOpt', false),
  ], 'REPLICA_NOT_HERE'),
  multiRoute('/v1/replica/append_multi', 'p1follower', 'parts', (c) => ({ tid: c.v.tid, pid: 1, term: c.live.term(p1(c).follower, c.v.tid, 1), entries: [] }), [
    TID, PID, TERM, f('entries', 'entries', true),
  ], 'TABLE_NOT_FOUND'),
];

// ------------------------------------------------------------------------------------ nameserver

const NF_DB: readonly ErrorCode[] = ['DATABASE_NOT_FOUND', 'TABLE_NOT_FOUND'];
const NF_TABLE: readonly ErrorCode[] = ['TABLE_NOT_FOUND'];
const NF_TABLET: readonly ErrorCode[] = ['TABLET_NOT_HEALTHY'];
const DB = f('db', 'nameLookup', true, { notFound: NF_DB });
const NAME = f('name', 'nameLookup', true, { notFound: NF_TABLE });

const nsRoute = (path: string, r: Omit<RouteSpec, 'server' | 'path' | 'at' | 'limit'>): RouteSpec => ({ server: 'ns', path: `/v1/ns/${path}`, at: 'ns', limit: NS_LIMIT, ...r });
const table = (c: BuildContext): Body => ({ db: c.v.db, name: c.v.table });
const noTable = (c: BuildContext): Body => ({ db: c.v.db, name: 'chaos_no_such_table' });

export const NS_ROUTES: readonly RouteSpec[] = [
  nsRoute('showtablet', { mode: 'optional' }),
  nsRoute('showns', { mode: 'optional' }),
  nsRoute('showdb', { mode: 'optional' }),
  nsRoute('createdb', {
    mode: 'required', base: (c) => ({ db: `chaos_new_db_${c.n}` }), benign: (c) => ({ db: c.v.db }), benignCodes: ['DATABASE_EXISTS'],
    fields: [f('db', 'nameCreate', true)],
  }),
  nsRoute('dropdb', {
    mode: 'required', base: () => ({ db: 'chaos_no_such_db' }), benign: () => ({ db: 'chaos_no_such_db' }), benignCodes: ['DATABASE_NOT_FOUND'],
    fields: [f('db', 'nameLookup', true, { notFound: ['DATABASE_NOT_FOUND'] })],
  }),
  nsRoute('createtable', {
    mode: 'required', representative: true,
    base: (c) => ({ schema: suiteSchema(`chaos_new_table_${c.n}`, c.v.db) as Body, partitionNum: 1, replicaNum: 1 }),
    benign: (c) => ({ schema: suiteSchema(`chaos_new_table_${c.n}`, 'chaos_no_such_db') as Body, partitionNum: 1, replicaNum: 1 }),
    benignCodes: ['DATABASE_NOT_FOUND'],
    fields: [
      f('schema', 'schema', true), f('schema.name', 'nameCreate', true), f('schema.db', 'nameCreate', true),
      f('schema.columns', 'columns', true), f('schema.indexes', 'indexes', true), f('schema.indexes.0.ttl', 'ttl', false),
      f('partitionNum', 'count', false), f('replicaNum', 'count', false, { also: ['PRECONDITION_FAILED'] }),
      f('compressType', 'enumOpt', false), f('replicaAck', 'enumOpt', false), f('partitions', 'placement', false),
    ],
  }),
  nsRoute('droptable', { mode: 'required', base: noTable, benign: noTable, benignCodes: ['TABLE_NOT_FOUND'], fields: [DB, NAME] }),
  nsRoute('showtable', {
    mode: 'required', base: table, benign: () => ({ db: 'chaos_no_such_db' }), benignCodes: ['DATABASE_NOT_FOUND'],
    fields: [DB, f('name', 'nameLookupOpt', false, { notFound: NF_TABLE })],
  }),
  nsRoute('showschema', { mode: 'required', base: table, benign: noTable, benignCodes: ['TABLE_NOT_FOUND'], fields: [DB, NAME] }),
  nsRoute('info', { mode: 'required', base: table, benign: noTable, benignCodes: ['TABLE_NOT_FOUND'], fields: [DB, NAME] }),
  nsRoute('migrate', {
    // des already holds the partition: the unspoiled request is refused (PRECONDITION_FAILED).
    mode: 'required', base: (c) => ({ ...table(c), src: p0(c).leader, des: p0(c).follower, pids: [0] }),
    benign: (c) => ({ ...noTable(c), src: p0(c).leader, des: p0(c).follower, pids: [0] }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [DB, NAME, f('src', 'endpoint', true, { notFound: NF_TABLET }), f('des', 'endpoint', true, { notFound: NF_TABLET }), f('pids', 'pids', true)],
  }),
  nsRoute('addreplica', {
    mode: 'required', base: (c) => ({ ...table(c), pids: [0], endpoint: p0(c).follower }),
    benign: (c) => ({ ...noTable(c), pids: [0], endpoint: p0(c).follower }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [DB, NAME, f('pids', 'pids', true), f('endpoint', 'endpoint', true, { notFound: NF_TABLET })],
  }),
  nsRoute('delreplica', {
    // Unspoiled, this would remove a follower: its field cases run in the last phase.
    mode: 'required', fieldPhase: 'risky', base: (c) => ({ ...table(c), pids: [0], endpoint: p0(c).follower }),
    benign: (c) => ({ ...noTable(c), pids: [0], endpoint: p0(c).follower }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [DB, NAME, f('pids', 'pids', true), f('endpoint', 'endpoint', true, { notFound: NF_TABLET })],
  }),
  nsRoute('changeleader', {
    mode: 'required', fieldPhase: 'risky', base: (c) => ({ ...table(c), pid: 0 }),
    benign: (c) => ({ ...noTable(c), pid: 0 }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [DB, NAME, f('pid', 'uint', true), f('candidate', 'endpointOpt', false, { notFound: [...NF_TABLET, 'PRECONDITION_FAILED'] }), f('auto', 'bool', false)],
  }),
  nsRoute('showopstatus', {
    mode: 'optional', base: (c) => ({ ...table(c), pid: 0 }), benign: (c) => ({ ...table(c), pid: 0 }),
    // Filters: a name that matches nothing lists nothing, which is right.
    fields: [f('db', 'nameLookupOpt', false, { skipClasses: ['lookup', 'limit'] }), f('name', 'nameLookupOpt', false, { skipClasses: ['lookup', 'limit'] }), f('pid', 'uintOpt', false)],
  }),
  nsRoute('cancelop', { mode: 'required', base: () => ({ opId: 999_999 }), benign: () => ({ opId: 999_999 }), benignCodes: ['OP_NOT_FOUND'], fields: [f('opId', 'uint', true)] }),
  nsRoute('deleteop', { mode: 'required', base: () => ({ opId: 999_999 }), benign: () => ({ opId: 999_999 }), benignCodes: ['OP_NOT_FOUND'], fields: [f('opId', 'uint', true)] }),
  nsRoute('confset', {
    mode: 'required', base: () => ({ key: 'auto_failover', value: 'false' }), benign: () => ({ key: 'chaos_no_such_key', value: 'false' }), benignCodes: ['INVALID_ARGUMENT'],
    fields: [f('key', 'enum', true), f('value', 'enum', true)],
  }),
  nsRoute('confget', { mode: 'optional', base: () => ({ key: 'auto_failover' }), benign: () => ({ key: 'auto_failover' }), fields: [f('key', 'enumOpt', false)] }),
  nsRoute('offlineendpoint', {
    // An endpoint no tablet has: offlining a real one is not a bad input. So `concurrency` is
    // refused for the endpoint first, which is right too.
    mode: 'required', base: () => ({ endpoint: NO_TABLET }), benign: () => ({ endpoint: NO_TABLET }), benignCodes: NF_TABLET,
    fields: [f('endpoint', 'endpoint', true, { notFound: NF_TABLET }), f('concurrency', 'uintOpt', false, { also: NF_TABLET })],
  }),
  nsRoute('recoverendpoint', {
    // Every replica of the tablet is alive: the unspoiled request creates no op.
    mode: 'required', base: (c) => ({ endpoint: c.v.tablets[0], needRestore: false, concurrency: 1 }),
    benign: () => ({ endpoint: NO_TABLET }), benignCodes: NF_TABLET,
    fields: [f('endpoint', 'endpoint', true, { notFound: NF_TABLET }), f('needRestore', 'bool', false), f('concurrency', 'uintOpt', false)],
  }),
  // pre-upgrade / post-upgrade of a real tablet are not bad inputs: an endpoint no tablet has, as for offlineendpoint.
  nsRoute('preupgrade', {
    mode: 'required', base: () => ({ endpoint: NO_TABLET }), benign: () => ({ endpoint: NO_TABLET }), benignCodes: NF_TABLET,
    fields: [f('endpoint', 'endpoint', true, { notFound: NF_TABLET })],
  }),
  nsRoute('postupgrade', {
    mode: 'required', base: () => ({ endpoint: NO_TABLET }), benign: () => ({ endpoint: NO_TABLET }), benignCodes: NF_TABLET,
    fields: [f('endpoint', 'endpoint', true, { notFound: NF_TABLET })],
  }),
  nsRoute('recovertable', {
    mode: 'required', fieldPhase: 'risky', base: (c) => ({ ...table(c), pid: 0, endpoint: p0(c).follower }),
    benign: (c) => ({ ...table(c), pid: 0, endpoint: NO_TABLET }), benignCodes: NF_TABLET,
    fields: [DB, NAME, f('pid', 'uint', true), f('endpoint', 'endpoint', true, { notFound: NF_TABLET })],
  }),
  nsRoute('makesnapshot', {
    mode: 'required', base: (c) => ({ ...table(c), pid: 0 }), benign: (c) => ({ ...table(c), pid: 99 }), benignCodes: ['INVALID_ARGUMENT'],
    fields: [DB, NAME, f('pid', 'uint', true)],
  }),
  nsRoute('updatetablealive', {
    // Unspoiled it marks an alive replica alive (no change); a spoiled isAlive taken as "no"
    // would mark it not alive, so its field cases run in the last phase.
    mode: 'required', fieldPhase: 'risky', base: (c) => ({ ...table(c), pid: 0, endpoint: p0(c).follower, isAlive: true }),
    benign: (c) => ({ ...table(c), pid: 0, endpoint: NO_TABLET, isAlive: true }), benignCodes: NF_TABLET,
    fields: [DB, NAME, f('pid', 'uintOpt', false), f('endpoint', 'endpoint', true, { notFound: NF_TABLET }), f('isAlive', 'bool', true)],
  }),
  nsRoute('gettablepartition', {
    mode: 'required', base: (c) => ({ ...table(c), pid: 0 }), benign: (c) => ({ ...table(c), pid: 99 }), benignCodes: ['PARTITION_NOT_FOUND'],
    fields: [DB, NAME, f('pid', 'uint', true)],
  }),
  nsRoute('setttl', {
    // Unspoiled it sets the TTL the index already has (no change); an unknown index is refused.
    mode: 'required', base: (c) => ({ ...table(c), ttl: { type: 'absolute', absMinutes: 0, latest: 0 }, index: 'card' }),
    benign: (c) => ({ ...table(c), ttl: { type: 'absolute', absMinutes: 0, latest: 0 }, index: 'chaos_no_such_index' }), benignCodes: ['INVALID_ARGUMENT'],
    fields: [DB, NAME, f('ttl', 'ttl', true), f('index', 'indexName', false)],
  }),
  nsRoute('showop', { mode: 'required', base: () => ({ opId: 999_999 }), benign: () => ({ opId: 999_999 }), benignCodes: ['INVALID_ARGUMENT', 'OP_NOT_FOUND'], fields: [f('opId', 'uint', true)] }),
  // Plans only (dryRun): a spoiled value wrongly taken makes a plan, moves nothing.
  nsRoute('scalein', {
    mode: 'required', fieldPhase: 'risky', base: () => ({ endpoints: [NO_TABLET], dryRun: true }), benign: () => ({ endpoints: [NO_TABLET], dryRun: true }),
    benignCodes: [...NF_TABLET, 'PRECONDITION_FAILED', 'INVALID_ARGUMENT'],
    fields: [f('endpoints', 'endpointList', true, { notFound: [...NF_TABLET, 'PRECONDITION_FAILED'] }), f('dryRun', 'bool', false, { also: [...NF_TABLET, 'PRECONDITION_FAILED'] })],
  }),
  // Every field is optional: an empty body is a valid request (a plan applied at once).
  nsRoute('scaleout', {
    mode: 'optional', fieldPhase: 'risky', base: () => ({ endpoints: [NO_TABLET], dryRun: true }), benign: () => ({ endpoints: [NO_TABLET], dryRun: true }),
    benignCodes: [...NF_TABLET, 'PRECONDITION_FAILED', 'INVALID_ARGUMENT'],
    fields: [f('endpoints', 'endpointList', false, { notFound: [...NF_TABLET, 'PRECONDITION_FAILED'] }), f('dryRun', 'bool', false, { also: [...NF_TABLET, 'PRECONDITION_FAILED'] })],
  }),
  nsRoute('rebalance', {
    mode: 'optional', fieldPhase: 'risky', base: () => ({ db: 'chaos_no_such_db', dryRun: true }), benign: () => ({ db: 'chaos_no_such_db', dryRun: true }),
    benignCodes: NF_DB,
    fields: [f('db', 'nameLookupOpt', false, { notFound: NF_DB }), f('dryRun', 'bool', false, { also: NF_DB })],
  }),
  nsRoute('apply', { mode: 'required', base: () => ({ planId: 987_654 }), benign: () => ({ planId: 987_654 }), benignCodes: ['PRECONDITION_FAILED'], fields: [f('planId', 'uint', true)] }),
  nsRoute('settablepartition', {
    // On a table that does not exist: a spoiled value wrongly taken changes no table.
    mode: 'required', base: (c) => ({ ...noTable(c), partition: { pid: 0, replicas: [], termOffsets: [] } }),
    benign: (c) => ({ ...noTable(c), partition: { pid: 0, replicas: [], termOffsets: [] } }), benignCodes: ['TABLE_NOT_FOUND'],
    fields: [DB, NAME, f('tid', 'uintOpt', false, { also: NF_TABLE })],
  }),
  nsRoute('disconnectzk', { mode: 'optional-exec' }),
  nsRoute('connectzk', { mode: 'optional-exec' }),
];

export const ALL_ROUTES: readonly RouteSpec[] = [...TABLET_ROUTES, ...NS_ROUTES];
