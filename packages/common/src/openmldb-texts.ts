/**
 * OpenMLDB's own words, in one table: the refusal texts and failure prefixes that Tessera prints
 * (ns_client) or answers (nameserver) *as OpenMLDB's*, each with where OpenMLDB says it
 * (4paradigm/OpenMLDB src/, read at c5ffa75). Its tools and scripts match these texts, so they
 * are copied to the character, spaces included (`Fail to makesnapshot. error msg:` has none after
 * the colon). ns_client and the nameserver take them from here only; the test
 * packages/cli/test/nsclient-texts.test.ts runs a command for every entry against real processes
 * and compares what it prints. Templates use printf's `%s`/`%u`/`%d`, filled by `openmldbText`.
 */
import type { ErrorCode } from './errors.js';

export interface OpenmldbText {
  /** The text, a printf template where OpenMLDB formats one. */
  text: string;
  /** Where OpenMLDB prints or answers it. */
  source: string;
}

export const OPENMLDB_TEXTS = {
  // --- nameserver answers (after ns_client's prefix) ---
  tableNotExist: { text: 'table does not exist', source: 'nameserver/name_server_impl.cc Migrate, ChangeLeader, RecoverTable, MakeSnapshotNS, AddReplicaNS, DelReplicaNS' },
  leaderEndpointEmpty: { text: 'leader endpoint is empty. name[%s] pid[%u]', source: 'nameserver/name_server_impl.cc Migrate (also a pid the table does not have: it has no leader)' },
  opNotCancelable: { text: 'op status is not kDoing or kInited', source: 'nameserver/name_server_impl.cc CancelOP (also an op id it does not know)' },
  opIdNotExist: { text: 'op id does not exist', source: 'nameserver/name_server_impl.cc DeleteOP' },
  autoFailoverEnabled: { text: 'auto_failover is enabled', source: 'nameserver/name_server_impl.cc Migrate, ChangeLeader, OfflineEndpoint, RecoverEndpoint, RecoverTable, CancelOP, UpdateTableAliveStatus, SetTablePartition' },
  // --- tablet answers ---
  idxNameNotFound: { text: 'idx name not found', source: 'tablet/tablet_impl.cc Get, Scan, Count (kIdxNameNotFound)' },
  // --- ns_client's own lines ---
  pidGroupFormatError: { text: 'pid group[%s] format error', source: 'cmd/openmldb.cc HandleNSClientMigrate, HandleNSAddReplica, HandleNSDelReplica' },
  pidGroupEmpty: { text: 'has not valid pid', source: 'cmd/openmldb.cc HandleNSClientMigrate, HandleNSAddReplica, HandleNSDelReplica (a range like 6-4)' },
  offlineConcurrencyNotPositive: { text: 'Invalid args. concurrency should be greater than 0', source: 'cmd/openmldb.cc HandleNSClientOfflineEndpoint (an integer <= 0)' },
  offlineConcurrencyNotUint: { text: 'Invalid args. concurrency should be uint32_t', source: 'cmd/openmldb.cc HandleNSClientOfflineEndpoint (not an integer)' },
  recoverConcurrencyNotUint: { text: 'Invalid args. concurrency should be uint32', source: 'cmd/openmldb.cc HandleNSClientRecoverEndpoint (0 means the default)' },
  deleteIdxNotExist: { text: 'idx_name %s does not exist', source: 'cmd/openmldb.cc HandleNSDelete' },
  // --- ns_client's failure prefixes ---
  makesnapshotFailed: { text: 'Fail to makesnapshot. error msg:', source: 'cmd/openmldb.cc HandleNSMakeSnapshot' },
  addreplicaFailed: { text: 'Fail to addreplica. error msg:', source: 'cmd/openmldb.cc HandleNSAddReplica' },
  delreplicaFailed: { text: 'Fail to delreplica. error msg:', source: 'cmd/openmldb.cc HandleNSDelReplica' },
  recovertableFailed: { text: 'Fail to recover table. error msg:', source: 'cmd/openmldb.cc HandleNSClientRecoverTable' },
  migrateFailed: { text: 'failed to migrate partition. error msg: ', source: 'cmd/openmldb.cc HandleNSClientMigrate' },
  changeleaderFailed: { text: 'failed to change leader. error msg: ', source: 'cmd/openmldb.cc HandleNSClientChangeLeader' },
  offlineFailed: { text: 'failed to offline endpoint. error msg: ', source: 'cmd/openmldb.cc HandleNSClientOfflineEndpoint' },
  recoverendpointFailed: { text: 'failed to recover endpoint. error msg: ', source: 'cmd/openmldb.cc HandleNSClientRecoverEndpoint' },
  /** Followed by base::Status::ToString(): `ReturnCode[<code>]<msg>`. */
  cancelopFailed: { text: 'Cancel op failed, error msg: ReturnCode[%d]%s', source: 'cmd/openmldb.cc HandleNSClientCancelOP, base/status.h Status::ToString' },
  deleteopFailed: { text: 'Delete op failed, error msg: ReturnCode[%d]%s', source: 'cmd/openmldb.cc HandleNSClientDeleteOP, base/status.h Status::ToString' },
  countFailed: { text: 'Count failed. error msg: ', source: 'cmd/openmldb.cc HandleNSCount' },
  getFailed: { text: 'Fail to get value! error msg: ', source: 'cmd/openmldb.cc HandleNSGet' },
  scanFailed: { text: 'Fail to scan table. error msg: ', source: 'cmd/openmldb.cc HandleNSScan' },
} as const satisfies Record<string, OpenmldbText>;

export type OpenmldbTextKey = keyof typeof OPENMLDB_TEXTS;

/** The entry's text with `%s`/`%u`/`%d` replaced by `args` in order. */
export function openmldbText(key: OpenmldbTextKey, ...args: Array<string | number>): string {
  let i = 0;
  return OPENMLDB_TEXTS[key].text.replace(/%[sud]/g, () => String(args[i++] ?? ''));
}

/**
 * OpenMLDB's ReturnCode numbers (base/status.h) for the catalogue codes of the commands whose
 * failure line prints `ReturnCode[n]` (cancelop, deleteop); -1 (kError) otherwise.
 */
const RETURN_CODES: Readonly<Record<'cancelop' | 'deleteop', Partial<Record<ErrorCode, number>>>> = {
  // kOpStatusIsNotKdoingOrKinited 312 also for an unknown id; kAutoFailoverIsEnabled 301;
  // kNameserverIsNotLeader 300; kInvalidParameter 307.
  cancelop: { OP_NOT_FOUND: 312, OP_STATE: 312, PRECONDITION_FAILED: 301, NS_NOT_LEADER: 300, INVALID_ARGUMENT: 307 },
  // kDeleteFailed 136 for an unknown id; kInvalidParameter 307 for the refused statuses.
  deleteop: { OP_NOT_FOUND: 136, OP_STATE: 307, INVALID_ARGUMENT: 307, NS_NOT_LEADER: 300 },
};

/** OpenMLDB's ReturnCode for a failure of `command` with catalogue code `code`. */
export function openmldbReturnCode(command: 'cancelop' | 'deleteop', code: ErrorCode | undefined): number {
  return (code === undefined ? undefined : RETURN_CODES[command][code]) ?? -1;
}
