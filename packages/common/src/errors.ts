/**
 * The one error catalogue. Every failure that crosses a process boundary carries one of these
 * stable UPPER_SNAKE codes, an HTTP status and what a retry means. Servers and the SDK share it,
 * so a client rebuilds the same typed error from the code it receives, and both clients decide
 * their retries from it (packages/client/src/retry-policy.ts). Codes are never renamed or reused;
 * `docs/errors.md` lists them.
 */

/**
 * What retrying means for a code:
 * - `no`: the same request gets the same answer (its shape, or the cluster's state, decides it);
 * - `same`: the same request to the same server may succeed later (busy, slow, an op running);
 * - `refreshRouting`: the request reached a server that does not serve it (a leader moved, a
 *   server is gone); re-read who serves it, then send it there.
 */
export type RetryMeaning = 'no' | 'same' | 'refreshRouting';

export interface ErrorSpec {
  /** HTTP status sent with the error. */
  readonly status: number;
  /** What retrying the request means (see RetryMeaning). */
  readonly retry: RetryMeaning;
  /** One line on what it means, for docs/errors.md. */
  readonly doc: string;
}

export const ERROR_CATALOGUE = {
  // --- request shape ---
  DECODE_ERROR: { status: 400, retry: 'no', doc: 'The body is not valid msgpack (or JSON where JSON is accepted).' },
  BODY_TOO_LARGE: { status: 413, retry: 'no', doc: 'The body is larger than the route allows (limits.httpBodyBytesMax).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retry: 'no', doc: 'The content type is not application/msgpack.' },
  INVALID_ARGUMENT: { status: 400, retry: 'no', doc: 'A field is missing, of the wrong type or out of range; details name it.' },
  ROUTE_NOT_FOUND: { status: 404, retry: 'no', doc: 'No such route or method.' },
  // --- tables and replicas ---
  TABLE_NOT_FOUND: { status: 404, retry: 'no', doc: 'No table of that name or id (a tablet\'s control and replication routes: no replica of that tid/pid here).' },
  TABLE_EXISTS: { status: 409, retry: 'no', doc: 'A table (or replica) of that name or id already exists.' },
  PARTITION_NOT_FOUND: { status: 404, retry: 'no', doc: 'The pid is outside the table\'s partitions.' },
  DATABASE_NOT_FOUND: { status: 404, retry: 'no', doc: 'No database of that name.' },
  DATABASE_EXISTS: { status: 409, retry: 'no', doc: 'A database of that name already exists.' },
  DATABASE_NOT_EMPTY: { status: 409, retry: 'no', doc: 'The database still holds tables.' },
  SCHEMA_MISMATCH: { status: 400, retry: 'no', doc: 'The row or request does not fit the table\'s schema.' },
  // --- roles, terms, fencing ---
  NOT_LEADER: { status: 409, retry: 'refreshRouting', doc: 'This replica is not the partition leader; details.leader hints the leader.' },
  REPLICA_NOT_SERVING: { status: 503, retry: 'refreshRouting', doc: 'The replica is on disk but not yet told its role, or is loading.' },
  REPLICA_NOT_HERE: { status: 404, retry: 'refreshRouting', doc: 'A data route: this tablet holds no replica of that tid/pid (it moved off, or the routing is stale); TABLE_NOT_FOUND only when refreshed metadata has no such table.' },
  STALE_TERM: { status: 409, retry: 'no', doc: 'The request carries a term lower than the replica\'s: it comes from a deposed leader.' },
  STALE_NS_EPOCH: { status: 409, retry: 'no', doc: 'The control request comes from a nameserver epoch older than one already seen.' },
  OFFSET_GAP: { status: 409, retry: 'same', doc: 'An append does not start right after the follower\'s offset; details.offset says where it is.' },
  NS_NOT_LEADER: { status: 409, retry: 'refreshRouting', doc: 'This nameserver is a standby; details.leader names the leader.' },
  // --- ops ---
  OP_NOT_FOUND: { status: 404, retry: 'no', doc: 'No op with that id.' },
  OP_CONFLICT: { status: 409, retry: 'same', doc: 'Another op is running on the same partition.' },
  OP_STATE: { status: 409, retry: 'no', doc: 'The op is not in a state that allows this command.' },
  PRECONDITION_FAILED: { status: 409, retry: 'no', doc: 'The cluster is not in a state that allows this command; the message says why.' },
  TABLET_NOT_HEALTHY: { status: 409, retry: 'same', doc: 'The named tablet is not registered or not healthy.' },
  // --- capacity and availability ---
  LIMIT_EXCEEDED: { status: 400, retry: 'no', doc: 'A named limit was exceeded (batch rows, scan limit, string bytes ...).' },
  OVERLOADED: { status: 503, retry: 'same', doc: 'A bounded queue is full; retry later.' },
  UNAVAILABLE: { status: 503, retry: 'refreshRouting', doc: 'The server or a peer cannot serve now (shutting down, unreachable, no leader).' },
  TIMEOUT: { status: 504, retry: 'same', doc: 'The operation did not finish within its time limit.' },
  COORD_ERROR: { status: 503, retry: 'same', doc: 'ZooKeeper could not be reached or refused the operation.' },
  // --- storage ---
  STORAGE_IO: { status: 500, retry: 'no', doc: 'LevelDB failed to read or write.' },
  STORAGE_CORRUPTION: { status: 500, retry: 'no', doc: 'Stored data does not decode; the replica needs a rebuild.' },
  INTERNAL: { status: 500, retry: 'no', doc: 'A bug: an invariant did not hold. The message and logs say where.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code);
}

const TESSERA_ERROR = Symbol.for('tessera.error');

/** An expected failure with a stable code. Programmer errors stay plain `Error`s. */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly [TESSERA_ERROR] = true;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TesseraError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  /** What retrying means (the catalogue's `retry`). */
  get retry(): RetryMeaning {
    return ERROR_CATALOGUE[this.code].retry;
  }

  /** True unless retrying gets the same answer (`retry` is not `no`). */
  get retryable(): boolean {
    return this.retry !== 'no';
  }

  /** The wire shape: `{ error: { code, message, details? } }`. */
  toWire(): WireError {
    return this.details === undefined
      ? { error: { code: this.code, message: this.message } }
      : { error: { code: this.code, message: this.message, details: this.details } };
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TESSERA_ERROR] === true;
  }
}

export interface WireError {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** Rebuilds a typed error from a wire body; unknown codes become INTERNAL with the code kept. */
export function errorFromWire(body: unknown, httpStatus: number): TesseraError {
  const e = (body as WireError | undefined)?.error;
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    const details = e.details && typeof e.details === 'object' ? e.details : undefined;
    if (isErrorCode(e.code)) return new TesseraError(e.code, String(e.message ?? e.code), details);
    return new TesseraError('INTERNAL', `unknown error code ${e.code}: ${String(e.message)}`, { ...details, code: e.code });
  }
  return new TesseraError('INTERNAL', `HTTP ${httpStatus} without an error body`);
}

/** Shorthand for the most common refusal. */
export function invalidArgument(message: string, details?: Record<string, unknown>): TesseraError {
  return new TesseraError('INVALID_ARGUMENT', message, details);
}

/** docs/errors.md, generated from the catalogue (a test keeps the file in step). */
export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    'Every error that crosses a process boundary is `{ error: { code, message, details? } }` with one of',
    'these codes. Codes are stable: never renamed or reused. Generated from',
    '`packages/common/src/errors.ts` (`node -e "import(\'@tessera/common\').then(m => process.stdout.write(m.renderErrorsDoc()))"`).',
    '',
    'Retry: `no` — the same request gets the same answer; `same` — the same request to the same',
    'server may succeed later; `refreshRouting` — it reached a server that does not serve it: re-read',
    'who does (table metadata, the leader nameserver), then send it there. The SDK retries data calls',
    '(idempotent: writes carry a write id) on `same` and `refreshRouting`; the admin client retries',
    'admin commands (not idempotent) only on `refreshRouting` (packages/client/src/retry-policy.ts).',
    '',
    '| code | HTTP | retry | meaning |',
    '|---|---|---|---|',
  ];
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) lines.push(`| \`${code}\` | ${spec.status} | ${spec.retry} | ${spec.doc} |`);
  return `${lines.join('\n')}\n`;
}
