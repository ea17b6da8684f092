/**
 * Field checks of the admin commands the op engine answers, so that a missing or wrong-typed
 * field is INVALID_ARGUMENT naming it (not a not-found from deeper down). Shapes from ns-api.
 */
import { invalidArgument, parseEndpoint, type NsCommand } from '@tessera/common';

type Body = Record<string, unknown>;
type Check = (b: Body, f: string) => void;

const text: Check = (b, f) => {
  if (typeof b[f] !== 'string' || (b[f] as string).length === 0 || (b[f] as string).length > 512) throw invalidArgument(`${f} must be a non-empty string`, { field: f });
};
const uint: Check = (b, f) => {
  const v = b[f];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${f} must be a non-negative integer`, { field: f });
};
const endpoint: Check = (b, f) => {
  text(b, f);
  try {
    parseEndpoint(b[f] as string);
  } catch {
    throw invalidArgument(`${f} must be a host:port endpoint`, { field: f });
  }
};
const pids: Check = (b, f) => {
  const v = b[f];
  if (!Array.isArray(v) || v.length === 0 || v.length > 1024 || v.some((x) => typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)) {
    throw invalidArgument(`${f} must be a non-empty list of partition ids`, { field: f });
  }
};
const bool: Check = (b, f) => {
  if (typeof b[f] !== 'boolean') throw invalidArgument(`${f} must be true or false`, { field: f });
};
const optional = (c: Check): Check => (b, f) => {
  if (b[f] !== undefined && b[f] !== null) c(b, f);
};

const FIELDS: Partial<Record<NsCommand, Record<string, Check>>> = {
  migrate: { db: text, name: text, src: endpoint, des: endpoint, pids },
  addreplica: { db: text, name: text, pids, endpoint },
  delreplica: { db: text, name: text, pids, endpoint },
  changeleader: { db: text, name: text, pid: uint, candidate: optional(endpoint), auto: optional(bool) },
  showopstatus: { db: optional(text), name: optional(text), pid: optional(uint) },
  cancelop: { opId: uint },
  offlineendpoint: { endpoint, concurrency: optional(uint) },
  recoverendpoint: { endpoint, needRestore: optional(bool), concurrency: optional(uint) },
  recovertable: { db: text, name: text, pid: uint, endpoint },
  makesnapshot: { db: text, name: text, pid: uint },
  preupgrade: { endpoint },
  postupgrade: { endpoint },
  updatetablealive: { db: text, name: text, pid: optional(uint), endpoint, isAlive: bool },
};

/** Throws INVALID_ARGUMENT for the first field of `body` that does not fit `command`. */
export function validateAdminBody(command: NsCommand, body: Body): void {
  if (command === 'deleteop') {
    if (body.status !== undefined) {
      if (body.status !== 'done' && body.status !== 'failed' && body.status !== 'canceled') throw invalidArgument('status must be done, failed or canceled', { field: 'status' });
      return;
    }
    uint(body, 'opId');
    return;
  }
  const fields = FIELDS[command];
  if (!fields) return;
  for (const [f, check] of Object.entries(fields)) check(body, f);
}
