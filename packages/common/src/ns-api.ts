/**
 * The nameserver's admin API as types: for each ns_client command a request and a response type
 * and its route (`POST /v1/ns/<command>`, msgpack bodies, errors as `{ error: { code, message } }`).
 * `NsAdmin` is what the nameserver HTTP client implements and what ns_client calls; a failure is
 * thrown as a `TesseraError` whose message is the nameserver's own text, which ns_client prints
 * after OpenMLDB's prefixes ("failed to migrate partition. error msg: <text>"). `DataOps` is the
 * data side (put/get/scan/count/preview/delete), implemented on top of the SDK. Also the TTL text
 * that `showtable`/`showschema` print, so that nameserver and client render it alike.
 */
import type { Endpoint, PartitionMeta, Pid, TableInfo, Tid } from './meta.js';
import type { OpDetail, ShowOpRequest, ShowOpResponse } from './op-detail.js';
import type { CompressType, ReplicaAck, TableSchema, TtlDef, TtlType, Value } from './schema.js';

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/** Every admin command of the nameserver, by route name. */
export const NS_COMMANDS = [
  'showtablet',
  'showns',
  'createdb',
  'dropdb',
  'showdb',
  'createtable',
  'droptable',
  'showtable',
  'showschema',
  'info',
  'migrate',
  'addreplica',
  'delreplica',
  'changeleader',
  'showopstatus',
  'showop',
  'cancelop',
  'deleteop',
  'confset',
  'confget',
  'offlineendpoint',
  'recoverendpoint',
  'recovertable',
  'updatetablealive',
  'makesnapshot',
  'preupgrade',
  'postupgrade',
  'scalein',
  'scaleout',
  'rebalance',
  'apply',
  'disconnectzk',
  'connectzk',
  'gettablepartition',
  'settablepartition',
  'setttl',
] as const;

export type NsCommand = (typeof NS_COMMANDS)[number];

/** The HTTP path of a command: always POST, msgpack request and response bodies. */
export function nsRoute(command: NsCommand): string {
  return `/v1/ns/${command}`;
}

export const NS_ROUTES: Readonly<Record<NsCommand, string>> = Object.freeze(
  Object.fromEntries(NS_COMMANDS.map((c) => [c, nsRoute(c)])) as Record<NsCommand, string>,
);

// ---------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------

/** A request that names nothing. */
export type EmptyRequest = Record<string, never>;
/** A response that carries nothing beyond success. */
export type EmptyResponse = Record<string, never>;

/** Names a table of a database. */
export interface TableRef {
  db: string;
  name: string;
}

/** Answer of the commands that only create ops (migrate, addreplica, ...): the ids created. */
export interface OpsCreatedResponse {
  opIds: number[];
}

// ---------------------------------------------------------------------------------------------
// Cluster status
// ---------------------------------------------------------------------------------------------

export type TabletState = 'kTabletHealthy' | 'kTabletOffline';

export interface TabletRow {
  endpoint: Endpoint;
  state: TabletState;
  /** Time since the last state change. */
  ageMs: number;
  /** Replicas (alive or not) the table metadata places on the tablet; 0 after a scalein. */
  replicas?: number;
  /** Partitions it leads (alive leader replicas). */
  leaders?: number;
  /** Where the tablet listens when it differs from `endpoint` (OpenMLDB's real_endpoint); absent otherwise. */
  realEndpoint?: Endpoint;
}

export type ShowTabletRequest = EmptyRequest;
export interface ShowTabletResponse {
  tablets: TabletRow[];
}

export interface NameserverRow {
  endpoint: Endpoint;
  /** Where the nameserver listens when it differs from `endpoint`; absent otherwise. */
  realEndpoint?: Endpoint;
  role: 'leader' | 'standby';
}

/** ns_client reads `/leader` from ZooKeeper itself; the route gives the same answer. */
export type ShowNsRequest = EmptyRequest;
export interface ShowNsResponse {
  nameservers: NameserverRow[];
}

// ---------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------

export interface CreateDbRequest {
  db: string;
}
export type CreateDbResponse = EmptyResponse;

export interface DropDbRequest {
  db: string;
}
export type DropDbResponse = EmptyResponse;

export type ShowDbRequest = EmptyRequest;
export interface ShowDbResponse {
  dbs: string[];
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

/** Explicit placement of one partition (bypasses the nameserver's placement). */
export interface PartitionPlacement {
  pid: Pid;
  leader: Endpoint;
  followers: Endpoint[];
}

/**
 * A table to create, shaped like TableInfo: the schema carries `db` and `name`. Omitted counts
 * take the nameserver's defaults (partition_num 8, replica_num min(3, healthy tablets)). With
 * `partitions`, every pid 0..partitionNum-1 appears once and replicaNum = 1 + followers.
 */
export interface CreateTableRequest {
  schema: TableSchema;
  partitionNum?: number;
  replicaNum?: number;
  compressType?: CompressType;
  replicaAck?: ReplicaAck;
  partitions?: PartitionPlacement[];
}
export interface CreateTableResponse {
  tid: Tid;
}

export type DropTableRequest = TableRef;
export type DropTableResponse = EmptyResponse;

/** All tables of `db`, or only `name`. */
export interface ShowTableRequest {
  db: string;
  name?: string;
}

/** One replica, as a row of `showtable`. Status fields are absent while unknown. */
export interface ShowTableRow {
  name: string;
  tid: Tid;
  pid: Pid;
  endpoint: Endpoint;
  role: 'leader' | 'follower';
  /** TTL of the table's first index, as `ttlText` renders it. */
  ttl: string;
  isAlive: boolean;
  compressType: CompressType;
  offset?: number;
  recordCnt?: number;
  /** Bytes of live rows. */
  memUsed?: number;
  /** Bytes on disk. */
  diskUsed?: number;
}
export interface ShowTableResponse {
  replicas: ShowTableRow[];
}

export type ShowSchemaRequest = TableRef;
export interface ShowSchemaResponse {
  table: TableInfo;
}

export type InfoRequest = TableRef;
/** The table and, when known, its size summed over partition leaders. */
export interface InfoResponse {
  table: TableInfo;
  recordCnt?: number;
  memUsed?: number;
  diskUsed?: number;
}

// ---------------------------------------------------------------------------------------------
// Replicas and ops
// ---------------------------------------------------------------------------------------------

export interface MigrateRequest extends TableRef {
  src: Endpoint;
  des: Endpoint;
  pids: Pid[];
}
export type MigrateResponse = OpsCreatedResponse;

export interface AddReplicaRequest extends TableRef {
  pids: Pid[];
  endpoint: Endpoint;
}
export type AddReplicaResponse = OpsCreatedResponse;

export interface DelReplicaRequest extends TableRef {
  pids: Pid[];
  endpoint: Endpoint;
}
export type DelReplicaResponse = OpsCreatedResponse;

/**
 * Without `candidate` and `auto`, the current leader must be dead. `auto`: choose the follower
 * with the highest offset even though the leader is alive. `candidate`: that alive follower.
 */
export interface ChangeLeaderRequest extends TableRef {
  pid: Pid;
  candidate?: Endpoint;
  auto?: boolean;
}
export type ChangeLeaderResponse = OpsCreatedResponse;

export type OpStatus = 'kInited' | 'kDoing' | 'kDone' | 'kFailed' | 'kCanceled';

export interface OpStatusRow {
  opId: number;
  /** kMigrateOP, kAddReplicaOP, ... */
  opType: string;
  db: string;
  name: string;
  pid: Pid;
  status: OpStatus;
  /** Epoch ms; absent while kInited. */
  startMs?: number;
  /** Epoch ms; absent while not finished. */
  endMs?: number;
  /** Type of the current task (kSendSnapshot, ...); absent when done or not started. */
  curTask?: string;
  /** Why the op failed or was canceled (stored with the op); absent when none. */
  error?: string;
  /** The op that made this one (a scale-in's move, a recovery's child); absent when none. */
  parentId?: number;
}

/** Ops of `db` (all databases when absent), of one table, of one partition. */
export interface ShowOpStatusRequest {
  db?: string;
  name?: string;
  pid?: Pid;
  /** Also return `details`, one OpDetail per row (`showopstatus --format=json`). */
  detail?: boolean;
}
export interface ShowOpStatusResponse {
  ops: OpStatusRow[];
  details?: OpDetail[];
}

export interface CancelOpRequest {
  opId: number;
}
export type CancelOpResponse = EmptyResponse;

/** Either one op by id, or every finished op of a status. */
export type DeleteOpRequest = { opId: number } | { status: 'done' | 'failed' | 'canceled' };
export type DeleteOpResponse = EmptyResponse;

export interface ConfSetRequest {
  key: string;
  value: string;
}
export type ConfSetResponse = EmptyResponse;

export interface ConfGetRequest {
  /** Absent = every key. */
  key?: string;
}
export interface ConfGetResponse {
  conf: Array<{ key: string; value: string }>;
}

export interface OfflineEndpointRequest {
  endpoint: Endpoint;
  concurrency?: number;
}
export type OfflineEndpointResponse = OpsCreatedResponse;

export interface RecoverEndpointRequest {
  endpoint: Endpoint;
  needRestore?: boolean;
  concurrency?: number;
}
export type RecoverEndpointResponse = OpsCreatedResponse;

export interface RecoverTableRequest extends TableRef {
  pid: Pid;
  endpoint: Endpoint;
}
export type RecoverTableResponse = OpsCreatedResponse;

/** `pid` absent = every partition (ns_client's `*`). */
export interface UpdateTableAliveRequest extends TableRef {
  pid?: Pid;
  endpoint: Endpoint;
  isAlive: boolean;
}
export type UpdateTableAliveResponse = EmptyResponse;

export interface MakeSnapshotRequest extends TableRef {
  pid: Pid;
}
export type MakeSnapshotResponse = OpsCreatedResponse;

/** pre-upgrade / post-upgrade of one tablet: one step of its plan per call (ns_client repeats it). */
export interface UpgradeStepRequest {
  endpoint: Endpoint;
}
export interface UpgradeStepResponse extends OpsCreatedResponse {
  /** Nothing is left to do for the tablet. */
  done: boolean;
  /** What this step started or waits for, one line per partition (`<name> pid <n>: ...`). */
  steps: string[];
}

/** A partition's metadata as stored, for editing by hand (OpenMLDB's GetTablePartition). */
export interface GetTablePartitionRequest extends TableRef {
  pid: Pid;
}
export interface GetTablePartitionResponse {
  tid: Tid;
  partition: PartitionMeta;
}

/**
 * Sets a partition's metadata back (OpenMLDB's SetTablePartition; auto_failover must be off). `tid`, when given (the file
 * names the table it was taken from), must be the table's: a file of another table is refused.
 */
export interface SetTablePartitionRequest extends TableRef {
  /** Without `inSync` the partition keeps its in-sync set (less followers no longer alive). */
  partition: Omit<PartitionMeta, 'inSync'> & { inSync?: Endpoint[] };
  tid?: Tid;
}
export type SetTablePartitionResponse = EmptyResponse;

/** scalein: drain tablets as one parent op with a child op per move, or with dryRun the whole plan. */
export interface ScaleInRequest {
  endpoints: Endpoint[];
  dryRun?: boolean;
}
/** One move of a scale-in plan: a leadership handed over, or a replica moved, added or removed. */
export interface ScaleMove {
  table: string;
  pid: number;
  action: 'changeleader' | 'migrate' | 'addreplica' | 'delreplica';
  /** The role of the replica that moves (`leader` for a hand-over). */
  role: 'leader' | 'follower';
  src: Endpoint | null;
  des: Endpoint | null;
}
/** Replicas and leaders of one healthy tablet before and after the planned moves. */
export interface ScaleTabletCount {
  endpoint: Endpoint;
  leaving: boolean;
  replicasBefore: number;
  leadersBefore: number;
  replicasAfter: number;
  leadersAfter: number;
}
export interface ScaleInResponse extends UpgradeStepResponse {
  /** The whole remaining plan, from the metadata as it is now. */
  moves: ScaleMove[];
  /** The scale-in already running for these endpoints (asked again); a new one is in `opIds`. */
  parentOpId?: number;
  tablets: ScaleTabletCount[];
}

/** A move of a scaleout/rebalance plan: the table named and identified, so `apply` sees a drop. */
export interface RebalanceMove extends ScaleMove {
  db: string;
  tid: number;
}
/** scaleout: even replicas and leaders out onto `endpoints` (default: the healthy tablets holding nothing). */
export interface ScaleOutRequest {
  endpoints?: Endpoint[];
  dryRun?: boolean;
}
/** rebalance: even replicas and leaders of the tables (all when absent) in `db` across healthy tablets. */
export interface RebalanceRequest {
  db?: string;
  tables?: string[];
  dryRun?: boolean;
}
export interface PlanResponse extends OpsCreatedResponse {
  /** Kept by the leading nameserver (in memory) for `apply`. */
  planId: number;
  moves: RebalanceMove[];
  tablets: ScaleTabletCount[];
  /** The plan was applied (no dryRun): `opIds` are its ops. */
  applied: boolean;
}
export interface ApplyRequest {
  planId: number;
}
export type ApplyResponse = OpsCreatedResponse;
/** setttl: the TTL of one index, or of every index when `index` is absent (OpenMLDB's setttl). */
export interface SetTtlRequest extends TableRef {
  ttl: TtlDef;
  index?: string;
}
export type SetTtlResponse = EmptyResponse;

export type DisconnectZkRequest = EmptyRequest;
export type DisconnectZkResponse = EmptyResponse;
export type ConnectZkRequest = EmptyRequest;
export type ConnectZkResponse = EmptyResponse;

// ---------------------------------------------------------------------------------------------
// The admin interface
// ---------------------------------------------------------------------------------------------

/** Request and response type of every route, for generic clients and servers. */
export interface NsApi {
  showtablet: { req: ShowTabletRequest; res: ShowTabletResponse };
  showns: { req: ShowNsRequest; res: ShowNsResponse };
  createdb: { req: CreateDbRequest; res: CreateDbResponse };
  dropdb: { req: DropDbRequest; res: DropDbResponse };
  showdb: { req: ShowDbRequest; res: ShowDbResponse };
  createtable: { req: CreateTableRequest; res: CreateTableResponse };
  droptable: { req: DropTableRequest; res: DropTableResponse };
  showtable: { req: ShowTableRequest; res: ShowTableResponse };
  showschema: { req: ShowSchemaRequest; res: ShowSchemaResponse };
  info: { req: InfoRequest; res: InfoResponse };
  migrate: { req: MigrateRequest; res: MigrateResponse };
  addreplica: { req: AddReplicaRequest; res: AddReplicaResponse };
  delreplica: { req: DelReplicaRequest; res: DelReplicaResponse };
  changeleader: { req: ChangeLeaderRequest; res: ChangeLeaderResponse };
  showopstatus: { req: ShowOpStatusRequest; res: ShowOpStatusResponse };
  showop: { req: ShowOpRequest; res: ShowOpResponse };
  cancelop: { req: CancelOpRequest; res: CancelOpResponse };
  deleteop: { req: DeleteOpRequest; res: DeleteOpResponse };
  confset: { req: ConfSetRequest; res: ConfSetResponse };
  confget: { req: ConfGetRequest; res: ConfGetResponse };
  offlineendpoint: { req: OfflineEndpointRequest; res: OfflineEndpointResponse };
  recoverendpoint: { req: RecoverEndpointRequest; res: RecoverEndpointResponse };
  recovertable: { req: RecoverTableRequest; res: RecoverTableResponse };
  updatetablealive: { req: UpdateTableAliveRequest; res: UpdateTableAliveResponse };
  makesnapshot: { req: MakeSnapshotRequest; res: MakeSnapshotResponse };
  preupgrade: { req: UpgradeStepRequest; res: UpgradeStepResponse };
  postupgrade: { req: UpgradeStepRequest; res: UpgradeStepResponse };
  scalein: { req: ScaleInRequest; res: ScaleInResponse };
  scaleout: { req: ScaleOutRequest; res: PlanResponse };
  rebalance: { req: RebalanceRequest; res: PlanResponse };
  apply: { req: ApplyRequest; res: ApplyResponse };
  disconnectzk: { req: DisconnectZkRequest; res: DisconnectZkResponse };
  connectzk: { req: ConnectZkRequest; res: ConnectZkResponse };
  gettablepartition: { req: GetTablePartitionRequest; res: GetTablePartitionResponse };
  settablepartition: { req: SetTablePartitionRequest; res: SetTablePartitionResponse };
  setttl: { req: SetTtlRequest; res: SetTtlResponse };
}

/** One async method per admin command; failures are thrown as TesseraError (nameserver's text). */
export interface NsAdmin {
  showtablet(req: ShowTabletRequest): Promise<ShowTabletResponse>;
  showns(req: ShowNsRequest): Promise<ShowNsResponse>;
  createdb(req: CreateDbRequest): Promise<CreateDbResponse>;
  dropdb(req: DropDbRequest): Promise<DropDbResponse>;
  showdb(req: ShowDbRequest): Promise<ShowDbResponse>;
  createtable(req: CreateTableRequest): Promise<CreateTableResponse>;
  droptable(req: DropTableRequest): Promise<DropTableResponse>;
  showtable(req: ShowTableRequest): Promise<ShowTableResponse>;
  showschema(req: ShowSchemaRequest): Promise<ShowSchemaResponse>;
  info(req: InfoRequest): Promise<InfoResponse>;
  migrate(req: MigrateRequest): Promise<MigrateResponse>;
  addreplica(req: AddReplicaRequest): Promise<AddReplicaResponse>;
  delreplica(req: DelReplicaRequest): Promise<DelReplicaResponse>;
  changeleader(req: ChangeLeaderRequest): Promise<ChangeLeaderResponse>;
  showopstatus(req: ShowOpStatusRequest): Promise<ShowOpStatusResponse>;
  showop(req: ShowOpRequest): Promise<ShowOpResponse>;
  cancelop(req: CancelOpRequest): Promise<CancelOpResponse>;
  deleteop(req: DeleteOpRequest): Promise<DeleteOpResponse>;
  confset(req: ConfSetRequest): Promise<ConfSetResponse>;
  confget(req: ConfGetRequest): Promise<ConfGetResponse>;
  offlineendpoint(req: OfflineEndpointRequest): Promise<OfflineEndpointResponse>;
  recoverendpoint(req: RecoverEndpointRequest): Promise<RecoverEndpointResponse>;
  recovertable(req: RecoverTableRequest): Promise<RecoverTableResponse>;
  updatetablealive(req: UpdateTableAliveRequest): Promise<UpdateTableAliveResponse>;
  makesnapshot(req: MakeSnapshotRequest): Promise<MakeSnapshotResponse>;
  preupgrade(req: UpgradeStepRequest): Promise<UpgradeStepResponse>;
  postupgrade(req: UpgradeStepRequest): Promise<UpgradeStepResponse>;
  scalein(req: ScaleInRequest): Promise<ScaleInResponse>;
  scaleout(req: ScaleOutRequest): Promise<PlanResponse>;
  rebalance(req: RebalanceRequest): Promise<PlanResponse>;
  apply(req: ApplyRequest): Promise<ApplyResponse>;
  disconnectzk(req: DisconnectZkRequest): Promise<DisconnectZkResponse>;
  connectzk(req: ConnectZkRequest): Promise<ConnectZkResponse>;
  gettablepartition(req: GetTablePartitionRequest): Promise<GetTablePartitionResponse>;
  settablepartition(req: SetTablePartitionRequest): Promise<SetTablePartitionResponse>;
  setttl(req: SetTtlRequest): Promise<SetTtlResponse>;
}

/** Compile-time proof that NsAdmin and NsApi list the same commands with the same types. */
type NsAdminFromApi = { [K in NsCommand]: (req: NsApi[K]['req']) => Promise<NsApi[K]['res']> };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const NS_ADMIN_MATCHES_API: Same<NsAdmin, NsAdminFromApi> = true;

// ---------------------------------------------------------------------------------------------
// Data commands
// ---------------------------------------------------------------------------------------------

/** A stored row: its time in the index read and its values in column order. */
export interface DataRow {
  tsMs: number;
  values: Value[];
}

/**
 * The data commands of ns_client, routed to partition leaders. `key` is the index key text (key
 * column values joined with `|`); `index` an index name of the table.
 */
export interface DataOps {
  /** Writes one row (values in column order, already typed); `tsMs` is its time for indexes without a ts column. */
  put(table: TableInfo, tsMs: number, values: Value[]): Promise<void>;
  /** The newest row with ts ≤ `tsMs` (the newest of all when `tsMs` is absent); undefined when none. */
  get(table: TableInfo, key: string, index: string, tsMs?: number): Promise<DataRow | undefined>;
  /** Rows with etMs < ts ≤ stMs, newest first, at most `limit`. */
  scan(table: TableInfo, key: string, index: string, stMs: number, etMs: number, limit: number): Promise<DataRow[]>;
  /** Rows of the key in the index; expired rows left out when `filterExpired`. */
  count(table: TableInfo, key: string, index: string, filterExpired: boolean): Promise<number>;
  /** Up to `limit` rows, partitions in pid order (rows of the first index). */
  preview(table: TableInfo, limit: number): Promise<DataRow[]>;
  /** Removes every row of the key in the index. */
  delete(table: TableInfo, key: string, index: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// TTL text
// ---------------------------------------------------------------------------------------------

const TTL_TYPE_NAMES: Readonly<Record<TtlType, string>> = {
  absolute: 'kAbsoluteTime',
  latest: 'kLatestTime',
  absandlat: 'kAbsAndLat',
  absorlat: 'kAbsOrLat',
};

/** OpenMLDB's name of a TTL type (`kAbsoluteTime`, `kLatestTime`, `kAbsAndLat`, `kAbsOrLat`). */
export function ttlTypeName(type: TtlType): string {
  return TTL_TYPE_NAMES[type];
}

/** A TTL as `showtable` prints it: `0min`, `latest:10`, `10min&&5`, `10min||5`. */
export function ttlText(ttl: TtlDef): string {
  switch (ttl.type) {
    case 'absolute':
      return `${ttl.absMinutes}min`;
    case 'latest':
      return `latest:${ttl.latest}`;
    case 'absandlat':
      return `${ttl.absMinutes}min&&${ttl.latest}`;
    case 'absorlat':
      return `${ttl.absMinutes}min||${ttl.latest}`;
  }
}
