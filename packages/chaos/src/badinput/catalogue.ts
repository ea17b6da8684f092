/**
 * The HTTP case catalogue, generated from tables:
 *   transport × route      bytes that are not a good msgpack map (truncated, length bombs, the
 *                          never-used type byte, deep nesting), bodies over the route's limit,
 *                          wrong content types, empty bodies, non-map bodies, other methods
 *   field × bad value      every field of every route spoiled with the bad values of its kind
 *                          (the full table on the first field of a kind, the core list after)
 *   key injection × route  `__proto__`, `constructor`, `prototype`, ... keys in the body
 *   semantics              the hand-listed rest: unknown routes, writes to followers, stale
 *                          terms and epochs, offset gaps, and the cases run last because they
 *                          may change state if the bug they look for is there
 */
import { encode, LIMITS, type ErrorCode } from '@tessera/common';
import type { At, BuildContext, Expectation, HttpCase, Phase } from './model.js';
import { deepArrays, deepMaps, Ext, mapOf, mp, RawStr, withEntries, type MpValue } from './msgpack.js';
import { ALL_ROUTES, type Body, type FieldSpec, type RouteSpec } from './routes.js';
import { badValues, MISSING, type BadValue } from './values.js';

const MSGPACK = 'application/msgpack';
const UINT32_MAX = 0xffffffff;

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

const codes = (...c: ErrorCode[]): Expectation => ({ codes: c });
const uniq = (c: readonly ErrorCode[]): ErrorCode[] => [...new Set(c)];

// ------------------------------------------------------------------------------------ transport

/**
 * What a transport case's body decodes to, which decides where it may be sent:
 *   pre     refused before the handler runs (safe everywhere)
 *   nonmap  a value that is not a map (refused by bodyObject)
 *   map     a map (benign request plus junk): only to routes that require fields
 *   nobody  no body and no content type: the handler runs with no body
 */
type TransportClass = 'pre' | 'nonmap' | 'map' | 'nobody';

interface TransportDef {
  label: string;
  cls: TransportClass;
  /** In the short list every route gets. `rotate` entries are shared out one per route. */
  short?: boolean;
  rotate?: boolean;
  method?: string;
  contentType?: string | null;
  /** Declares a Content-Length of this many bytes and sends only `bytes` (the start of the body). */
  declare?: (limit: number) => number;
  /** `junk`: the route acts on any decodable body, so the bytes must not decode at all. */
  bytes: (benign: Buffer, limit: number, junk: boolean) => Buffer | undefined;
  expect: (benignCodes: readonly ErrorCode[]) => Expectation;
}

const DECODE = (): Expectation => codes('DECODE_ERROR');
const MEDIA = (): Expectation => codes('UNSUPPORTED_MEDIA_TYPE');
const NONMAP = (): Expectation => codes('INVALID_ARGUMENT');
const WITH_BENIGN = (b: readonly ErrorCode[]): Expectation => ({ codes: uniq([...b, 'DECODE_ERROR', 'INVALID_ARGUMENT']) });
const bomb = (typeByte: number, extra: number[] = []): Buffer => Buffer.concat([Buffer.from([typeByte]), be32(UINT32_MAX), Buffer.from(extra)]);
const nested = (inner: Buffer): Buffer => Buffer.concat([Buffer.from([0x81, 0xa3]), Buffer.from('tid'), inner]);

const TRANSPORT: readonly TransportDef[] = [
  { label: 'truncated msgpack (half the bytes)', cls: 'pre', short: true, bytes: (b) => b.subarray(0, Math.max(1, Math.floor(b.length / 2))), expect: DECODE },
  { label: 'truncated msgpack (map header only)', cls: 'pre', bytes: () => Buffer.from([0x83]), expect: DECODE },
  { label: 'truncated msgpack (str8 claims 255 bytes, has 1)', cls: 'pre', bytes: () => Buffer.from([0xd9, 0xff, 0x61]), expect: DECODE },
  // msgpackr alone decodes 0xc1 to a marker object; the codec refuses it wherever it is.
  { label: 'never-used type byte 0xc1', cls: 'map', bytes: () => Buffer.from([0xc1]), expect: DECODE },
  { label: 'never-used type byte 0xc1 as a field value', cls: 'map', bytes: () => nested(Buffer.from([0xc1])), expect: DECODE },
  { label: 'length bomb: array32 of 2^32-1 items', cls: 'pre', rotate: true, bytes: () => bomb(0xdd), expect: DECODE },
  { label: 'length bomb: map32 of 2^32-1 entries', cls: 'pre', rotate: true, bytes: () => bomb(0xdf), expect: DECODE },
  { label: 'length bomb: str32 of 2^32-1 bytes', cls: 'pre', rotate: true, bytes: () => bomb(0xdb), expect: DECODE },
  { label: 'length bomb: bin32 of 2^32-1 bytes', cls: 'pre', rotate: true, bytes: () => bomb(0xc6), expect: DECODE },
  { label: 'length bomb: ext32 of 2^32-1 bytes', cls: 'pre', rotate: true, bytes: () => bomb(0xc9, [0x01]), expect: DECODE },
  { label: 'length bomb: array32 of 2^32-1 items as a field value', cls: 'pre', bytes: () => nested(bomb(0xdd)), expect: DECODE },
  { label: 'length bomb: map32 of 2^32-1 entries as a field value', cls: 'pre', bytes: () => nested(bomb(0xdf)), expect: DECODE },
  { label: 'length bomb: str32 of 2^32-1 bytes as a field value', cls: 'pre', bytes: () => nested(bomb(0xdb)), expect: DECODE },
  { label: 'length bomb: bin32 of 2^32-1 bytes as a field value', cls: 'pre', bytes: () => nested(bomb(0xc6)), expect: DECODE },
  { label: 'length bomb: array16 of 65535 items, 1 present', cls: 'pre', bytes: () => Buffer.from([0xdc, 0xff, 0xff, 0x01]), expect: DECODE },
  { label: 'body over the route limit by 1 byte', cls: 'pre', short: true, bytes: (_b, limit, junk) => (junk ? Buffer.concat([JUNK, Buffer.alloc(limit + 1)]) : mp({ tid: 1, pad: Buffer.alloc(limit) })), expect: () => codes('BODY_TOO_LARGE') },
  { label: 'Content-Length 4x over the route limit (refused from the header)', cls: 'pre', declare: (limit) => limit * 4 + 1, bytes: () => Buffer.concat([JUNK, Buffer.alloc(64 * 1024)]), expect: () => codes('BODY_TOO_LARGE') },
  { label: 'content type application/json (JSON body)', cls: 'pre', short: true, contentType: 'application/json', bytes: () => Buffer.from('{"tid":1,"pid":0}'), expect: MEDIA },
  { label: 'content type text/plain', cls: 'pre', contentType: 'text/plain', bytes: (b) => b, expect: MEDIA },
  { label: 'content type application/x-msgpack', cls: 'pre', contentType: 'application/x-msgpack', bytes: (b) => b, expect: MEDIA },
  { label: 'content type application/msgpackx', cls: 'pre', contentType: 'application/msgpackx', bytes: (b) => b, expect: MEDIA },
  { label: 'content type application/octet-stream', cls: 'pre', contentType: 'application/octet-stream', bytes: (b) => b, expect: MEDIA },
  { label: 'content type multipart/form-data', cls: 'pre', contentType: 'multipart/form-data; boundary=x', bytes: (b) => b, expect: MEDIA },
  { label: 'no content type, msgpack body', cls: 'pre', contentType: null, bytes: (b) => b, expect: MEDIA },
  { label: 'empty body (msgpack content type)', cls: 'pre', short: true, bytes: () => Buffer.alloc(0), expect: DECODE },
  { label: 'method GET', cls: 'pre', method: 'GET', bytes: () => undefined, expect: () => codes('ROUTE_NOT_FOUND') },
  { label: 'method PUT', cls: 'pre', method: 'PUT', bytes: (b) => b, expect: () => codes('ROUTE_NOT_FOUND') },
  { label: 'method DELETE', cls: 'pre', method: 'DELETE', bytes: () => undefined, expect: () => codes('ROUTE_NOT_FOUND') },
  { label: 'method PATCH', cls: 'pre', method: 'PATCH', bytes: (b) => b, expect: () => codes('ROUTE_NOT_FOUND') },
  { label: 'empty body, no content type', cls: 'nobody', short: true, contentType: null, bytes: () => undefined, expect: () => codes('DECODE_ERROR', 'INVALID_ARGUMENT', 'UNSUPPORTED_MEDIA_TYPE') },
  { label: 'non-map body: nil', cls: 'nonmap', short: true, bytes: () => mp(null), expect: NONMAP },
  { label: 'non-map body: array', cls: 'nonmap', bytes: () => mp([1, 2]), expect: NONMAP },
  { label: 'non-map body: string', cls: 'nonmap', bytes: () => mp('tid'), expect: NONMAP },
  { label: 'non-map body: int', cls: 'nonmap', bytes: () => mp(7), expect: NONMAP },
  { label: 'non-map body: true', cls: 'nonmap', bytes: () => mp(true), expect: NONMAP },
  { label: 'non-map body: bin', cls: 'nonmap', bytes: (b) => mp(b), expect: NONMAP },
  { label: 'non-map body: float64 NaN', cls: 'nonmap', bytes: () => mp(Number.NaN), expect: NONMAP },
  { label: 'non-map body: ext', cls: 'nonmap', bytes: () => mp(new Ext(5, Buffer.from([1, 2]))), expect: () => codes('DECODE_ERROR', 'INVALID_ARGUMENT') },
  { label: 'non-map body: the request inside an array', cls: 'nonmap', bytes: (b) => Buffer.concat([Buffer.from([0x91]), b]), expect: NONMAP },
  { label: 'deep nesting: 100000 arrays', cls: 'nonmap', bytes: () => mp(deepArrays(100_000)), expect: () => codes('DECODE_ERROR', 'INVALID_ARGUMENT') },
  { label: 'deep nesting: 100000 maps', cls: 'map', bytes: () => mp(deepMaps(100_000)), expect: () => codes('DECODE_ERROR', 'INVALID_ARGUMENT') },
  { label: 'trailing bytes after the value', cls: 'map', bytes: (b) => Buffer.concat([b, Buffer.from([0xc0, 0x01])]), expect: DECODE },
];

/** Junk map keys, each added to the benign request. */
const JUNK_KEYS: ReadonlyArray<readonly [string, MpValue, MpValue]> = [
  ['map key invalid UTF-8', new RawStr(Buffer.from([0xff, 0xfe, 0xfd])), 1],
  ['map key int', 7, 1],
  ['map key nil', null, 1],
  ['map key array', [1, 2], 1],
  ['map key map', { a: 1 }, 1],
  ['map key bin', Buffer.from([1, 2]), 1],
  ['map key float64', 1.5, 1],
];

/** Keys that must not reach an object's prototype (or its methods). */
const INJECTED_KEYS: ReadonlyArray<readonly [string, MpValue]> = [
  ['__proto__', { tid: 1, pid: 0, isLeader: true, polluted: true }],
  ['constructor', { prototype: { polluted: true } }],
  ['prototype', { polluted: true }],
  ['hasOwnProperty', 1],
  ['toString', 1],
  ['valueOf', 'x'],
];

/**
 * Bytes no decoder accepts (a str8 claiming 5 bytes, holding 1): what routes that act on any
 * request get instead of a request.
 */
const JUNK = Buffer.from([0xd9, 0x05, 0x61]);

function transportCases(route: RouteSpec, routeIndex: number): HttpCase[] {
  const out: HttpCase[] = [];
  const rotating = TRANSPORT.filter((t) => t.rotate);
  const mine = rotating[routeIndex % rotating.length];
  // Routes that act on any decodable request (disconnectzk) get only bytes that cannot be decoded
  // where a bug could let the bytes through (content type, size).
  const actsOnAny = route.mode === 'ignored' || route.mode === 'optional-exec';
  for (const t of TRANSPORT) {
    const wanted = route.representative || t.short || t === mine;
    if (!wanted) continue;
    if (route.mode === 'ignored' && t.cls !== 'pre') continue;
    if (route.mode !== 'required' && (t.cls === 'map' || t.cls === 'nobody')) continue;
    const contentType = t.contentType === null ? undefined : (t.contentType ?? MSGPACK);
    const bodyless = t.method === 'GET' || t.method === 'DELETE';
    out.push({
      kind: 'http',
      id: `${route.path}: ${t.label}`,
      phase: 'transport',
      at: route.at,
      method: t.method ?? 'POST',
      path: route.path,
      contentType: bodyless ? undefined : contentType,
      body: (c) => {
        if (actsOnAny && (t.contentType !== undefined || t.label.startsWith('body over'))) return t.bytes(JUNK, route.limit, true);
        return t.bytes(route.benign ? mp(route.benign(c)) : mp({ chaos: 'truncate-me' }), route.limit, false);
      },
      limit: route.limit,
      ...(t.declare ? { declaredLength: t.declare(route.limit) } : {}),
      expect: perPartOf(route, t.expect(route.benignCodes ?? [])),
    });
  }
  if (route.mode === 'required' && route.benign) {
    const benign = route.benign;
    const junk = route.representative ? JUNK_KEYS : [];
    for (const [label, k, v] of junk) {
      out.push(httpCase(route, label, 'transport', (c) => mp(withEntries(benign(c), [k, v])), k instanceof RawStr ? DECODE() : WITH_BENIGN(route.benignCodes ?? [])));
    }
  }
  return out;
}

/** A multi route (put_multi, ...) refuses a bad part in its own result: that counts as refused too. */
function perPartOf(route: RouteSpec, expect: Expectation): Expectation {
  return route.perPart ? { ...expect, perPart: true } : expect;
}

function httpCase(route: RouteSpec, label: string, phase: Phase, body: (c: BuildContext) => Buffer, expect: Expectation, at: At = route.at): HttpCase {
  return { kind: 'http', id: `${route.path}: ${label}`, phase, at, method: 'POST', path: route.path, contentType: MSGPACK, body, limit: route.limit, expect: perPartOf(route, expect) };
}

// ------------------------------------------------------------------------------------ fields

function clone(v: MpValue): MpValue {
  if (Array.isArray(v)) return (v as MpValue[]).map(clone);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v as Record<string, MpValue>).map(([k, x]) => [k, clone(x)]));
  }
  return v;
}

/** Sets (or removes, for MISSING) the value at a dotted path of a cloned body. */
function spoil(body: Body, path: string, value: MpValue | typeof MISSING): Body {
  const root = clone(body) as Record<string, MpValue>;
  const keys = path.split('.');
  let at: Record<string, MpValue> | MpValue[] = root;
  for (const k of keys.slice(0, -1)) at = (at as Record<string, MpValue>)[k] as Record<string, MpValue>;
  const last = keys[keys.length - 1]!;
  if (value === MISSING) delete (at as Record<string, MpValue>)[last];
  else (at as Record<string, MpValue>)[last] = value;
  return root;
}

/** Replaces `@A`/`@B` placeholders with the tablets' endpoints. */
function fill(v: MpValue, c: BuildContext): MpValue {
  if (v === '@A') return c.v.tablets[0];
  if (v === '@B') return c.v.tablets[1];
  if (Array.isArray(v)) return (v as MpValue[]).map((x) => fill(x, c));
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v as Record<string, MpValue>).map(([k, x]) => [k, fill(x, c)]));
  }
  return v;
}

export function expectedFor(field: FieldSpec, b: BadValue): Expectation {
  let c: ErrorCode[];
  switch (b.cls) {
    case 'type':
    case 'range':
      c = ['INVALID_ARGUMENT'];
      break;
    case 'lookup':
      c = ['INVALID_ARGUMENT', ...(field.notFound ?? [])];
      break;
    case 'limit':
      c = ['LIMIT_EXCEEDED', 'INVALID_ARGUMENT', ...(field.notFound ?? [])];
      break;
    case 'exact':
      c = [...(b.codes ?? [])];
      break;
  }
  return { codes: uniq([...c, ...(field.also ?? [])]) };
}

/**
 * A field kind gets the full table of bad values on the first route (per server) that has it
 * (representative routes first), and the core list on every other field of that kind.
 */
function fieldCases(route: RouteSpec, seen: Set<string>): HttpCase[] {
  const base = route.base;
  if (!base || !route.fields) return [];
  const out: HttpCase[] = [];
  for (const field of route.fields) {
    const key = `${route.server}|${field.kind}`;
    const coreOnly = seen.has(key);
    seen.add(key);
    for (const b of badValues(field.kind, field.required, coreOnly)) {
      if (field.skip?.includes(b.label) || field.skipClasses?.includes(b.cls)) continue;
      out.push(httpCase(route, `${field.path} = ${b.label}`, route.fieldPhase ?? 'fields', (c) => mp(spoil(base(c), field.path, b.value === MISSING ? MISSING : fill(b.value, c))), expectedFor(field, b)));
    }
  }
  return out;
}

function injectionCases(route: RouteSpec): HttpCase[] {
  const benign = route.benign;
  if (route.mode !== 'required' || !benign) return [];
  const expect = WITH_BENIGN(route.benignCodes ?? []);
  const keys = route.representative ? INJECTED_KEYS : INJECTED_KEYS.slice(0, 1);
  const out = keys.map(([k, v]) => httpCase(route, `key ${k} in the body`, 'fields', (c) => mp(withEntries(benign(c), [k, v])), expect));
  // The request's fields only inside __proto__: they must not be read through the prototype.
  // Where every field is optional, a body with none is still a request: refused as the benign one is.
  const noneRequired = (route.fields ?? []).every((f) => !f.required);
  out.push(httpCase(route, 'every field inside a __proto__ key', 'fields', (c) => mp(mapOf(['__proto__', benign(c)])), noneRequired ? expect : codes('INVALID_ARGUMENT')));
  if (route.server === 'ns') out.push(httpCase(route, 'key type = "bogus" (the op shell spreads the body)', 'fields', (c) => mp(withEntries(benign(c), ['type', 'bogus'])), expect));
  return out;
}

// ------------------------------------------------------------------------------------ semantics

interface Extra {
  label: string;
  at: At;
  path: string;
  method?: string;
  contentType?: string | null;
  phase?: Phase;
  body: (c: BuildContext) => Buffer | undefined;
  expect: Expectation;
}

const t = (c: BuildContext) => c.v.tid;
const part = (c: BuildContext, pid: number) => c.v.parts[pid]!;
const good = { card: 'chaos_never_written', mcc: 'm', amt: 1.5, ts: 1000 };
const termOf = (c: BuildContext, at: 'leader' | 'follower', pid: number) => c.live.term(part(c, pid)[at], c.v.tid, pid);
const offsetOf = (c: BuildContext, pid: number) => c.live.offset(part(c, pid).follower, c.v.tid, pid);
const epochOf = (c: BuildContext, ep: string) => c.live.epoch(ep);
/** A well-formed binlog put entry at `offset` (values as given). */
const entry = (offset: number, term: number, extra: Record<string, MpValue> = {}): Record<string, MpValue> => ({ offset, term, kind: 'put', ts: 1000, values: ['chaos_k', 'm', 1.5, 1000], ...extra });
const e = encode;

const UNKNOWN_ROUTES: ReadonlyArray<readonly [At, string, string]> = [
  ['tabletA', 'POST', '/v1/data/explode'],
  ['tabletA', 'POST', '/v1/data/PUT'],
  ['tabletA', 'POST', '/v1/data/put/'],
  ['tabletA', 'POST', '/v1/data/../control/status'],
  ['tabletA', 'POST', '/v1/data/%2e%2e/control/status'],
  ['tabletA', 'POST', '/v1/control/__proto__'],
  ['tabletA', 'POST', '/v1/control/constructor'],
  ['tabletA', 'POST', '/v1/replica/'],
  ['tabletA', 'POST', '/'],
  ['tabletA', 'POST', '/v2/data/put'],
  ['tabletA', 'POST', '/v1/health'],
  ['tabletA', 'OPTIONS', '/v1/data/get'],
  ['ns', 'POST', '/v1/ns/bogus'],
  ['ns', 'POST', '/v1/ns/__proto__'],
  ['ns', 'POST', '/v1/ns/constructor'],
  ['ns', 'POST', '/v1/ns/toString'],
  ['ns', 'POST', '/v1/ns/'],
  ['ns', 'POST', '/v1/ns/SHOWDB'],
  ['ns', 'POST', '/v1/ns/showdb/'],
  ['ns', 'POST', '/v1/ns/%2e%2e/ns/showdb'],
  ['ns', 'POST', '/v1/control/status'],
  ['ns', 'GET', '/v1/ns/showdb'],
  ['ns', 'DELETE', '/v1/ns/droptable'],
];

const EXTRAS: readonly Extra[] = [
  ...UNKNOWN_ROUTES.map(([at, method, path]): Extra => ({
    label: `unknown route ${method} ${path}`, at, path, method, body: () => (method === 'POST' ? e({ tid: 1, pid: 0 }) : undefined), expect: codes('ROUTE_NOT_FOUND'),
  })),
  { label: 'request line of 20000 characters', at: 'tabletA', path: `/v1/data/${'x'.repeat(20_000)}`, body: () => e({}), expect: { codes: ['ROUTE_NOT_FOUND'], bareStatus: 431 } },
  { label: 'request line of 20000 characters', at: 'ns', path: `/v1/ns/${'x'.repeat(20_000)}`, body: () => e({}), expect: { codes: ['ROUTE_NOT_FOUND'], bareStatus: 431 } },

  // Writes go to the leader only.
  { label: 'put to the follower', at: 'p0follower', path: '/v1/data/put', body: (c) => e({ tid: t(c), pid: 0, row: good }), expect: codes('NOT_LEADER') },
  { label: 'put_batch to the follower', at: 'p0follower', path: '/v1/data/put_batch', body: (c) => e({ tid: t(c), pid: 0, rows: [{ row: good }] }), expect: codes('NOT_LEADER') },
  { label: 'delete on the follower', at: 'p0follower', path: '/v1/data/delete', body: (c) => e({ tid: t(c), pid: 0, key: 'chaos_never_written' }), expect: codes('NOT_LEADER') },
  // Ranges and limits.
  { label: 'scan with st < et', at: 'p0leader', path: '/v1/data/scan', body: (c) => e({ tid: t(c), pid: 0, key: c.v.storedKey, st: 10, et: 20 }), expect: codes('INVALID_ARGUMENT') },
  { label: 'scan with st = et', at: 'p0leader', path: '/v1/data/scan', body: (c) => e({ tid: t(c), pid: 0, key: c.v.storedKey, st: 10, et: 10 }), expect: codes('INVALID_ARGUMENT') },
  // Control commands the replica cannot take.
  { label: 'create_replica of a replica that exists', at: 'tabletA', path: '/v1/control/create_replica', body: (c) => e({ tid: t(c), pid: 0, role: 'follower', term: 1, nsEpoch: epochOf(c, c.v.tablets[0]), schema: { name: 'flow', db: c.v.db, columns: [{ name: 'card', type: 'string' }], indexes: [{ name: 'card', keys: ['card'] }] } }), expect: codes('TABLE_EXISTS') },
  { label: 'change_role with an older nameserver epoch', at: 'p0follower', path: '/v1/control/change_role', body: (c) => e({ tid: t(c), pid: 0, role: 'follower', term: termOf(c, 'follower', 0), leader: part(c, 0).leader, nsEpoch: Math.max(0, epochOf(c, part(c, 0).follower) - 1) }), expect: codes('STALE_NS_EPOCH') },
  { label: 'fence_leader sent to the follower', at: 'p0follower', path: '/v1/control/fence_leader', body: (c) => e({ tid: t(c), pid: 0, term: termOf(c, 'follower', 0), nsEpoch: epochOf(c, part(c, 0).follower) }), expect: codes('NOT_LEADER') },
  { label: 'send_snapshot sent to the follower', at: 'p0follower', path: '/v1/control/send_snapshot', body: (c) => e({ tid: t(c), pid: 0, des: part(c, 0).leader, nsEpoch: epochOf(c, part(c, 0).follower) }), expect: codes('NOT_LEADER') },
  { label: 'add_replica sent to the follower', at: 'p0follower', path: '/v1/control/add_replica', body: (c) => e({ tid: t(c), pid: 0, follower: part(c, 0).leader, nsEpoch: epochOf(c, part(c, 0).follower) }), expect: codes('NOT_LEADER') },
  { label: 'del_replica sent to the follower', at: 'p0follower', path: '/v1/control/del_replica', body: (c) => e({ tid: t(c), pid: 0, follower: part(c, 0).leader, nsEpoch: epochOf(c, part(c, 0).follower) }), expect: codes('NOT_LEADER') },
  { label: 'set_in_sync sent to the follower', at: 'p0follower', path: '/v1/control/set_in_sync', body: (c) => e({ tid: t(c), pid: 0, term: termOf(c, 'follower', 0), inSync: [], nsEpoch: epochOf(c, part(c, 0).follower) }), expect: codes('NOT_LEADER') },
  { label: 'set_in_sync to the leader with another term', at: 'p0leader', path: '/v1/control/set_in_sync', body: (c) => e({ tid: t(c), pid: 0, term: termOf(c, 'leader', 0) + 7, inSync: [], nsEpoch: epochOf(c, part(c, 0).leader) }), expect: codes('NOT_LEADER') },
  // Replication requests the follower must refuse.
  { label: 'append to the leader with its own term', at: 'p0leader', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 0, term: termOf(c, 'leader', 0), entries: [] }), expect: codes('PRECONDITION_FAILED') },
  { label: 'append with an older term', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1) - 1, entries: [] }), expect: codes('STALE_TERM', 'INVALID_ARGUMENT') },
  { label: 'append of 1025 entries (over batchEntriesMax)', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: Array.from({ length: 1025 }, (_, i) => entry(offsetOf(c, 1) + 1 + i, termOf(c, 'follower', 1), { kind: 'bogus' })) }), expect: codes('LIMIT_EXCEEDED') },
  { label: 'append of an entry of unknown kind', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 1, termOf(c, 'follower', 1), { kind: 'bogus' })] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'append of an entry with 1 value for 4 columns', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 1, termOf(c, 'follower', 1), { values: ['k'] })] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'append of an entry with ts -1', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 1, termOf(c, 'follower', 1), { ts: -1 })] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'append of an entry with term -1', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 1, -1)] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'append of an entry with dims [300]', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 1, termOf(c, 'follower', 1), { dims: [300] })] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'append of a delete entry with indexNo "x"', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [{ offset: offsetOf(c, 1) + 1, term: termOf(c, 'follower', 1), kind: 'delete', indexNo: 'x', key: 'k' }] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'snapshot_chunk of a transfer never begun', at: 'p1follower', path: '/v1/replica/snapshot_chunk', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), session: 'c0ffee', seq: 0, entries: [[Buffer.from('k'), Buffer.from('v')]] }), expect: codes('PRECONDITION_FAILED') },
  { label: 'snapshot_end of a transfer never begun', at: 'p1follower', path: '/v1/replica/snapshot_end', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), session: 'c0ffee', chunks: 0 }), expect: codes('PRECONDITION_FAILED') },

  // Nameserver commands the cluster cannot take.
  { label: 'createdb of a database that exists', at: 'ns', path: '/v1/ns/createdb', body: (c) => e({ db: c.v.db }), expect: codes('DATABASE_EXISTS') },
  { label: 'dropdb of a database that holds a table', at: 'ns', path: '/v1/ns/dropdb', body: (c) => e({ db: c.v.db }), expect: codes('DATABASE_NOT_EMPTY') },
  { label: 'createtable of a table that exists', at: 'ns', path: '/v1/ns/createtable', body: (c) => e({ schema: { name: c.v.table, db: c.v.db, columns: [{ name: 'card', type: 'string' }], indexes: [{ name: 'card', keys: ['card'] }] }, partitionNum: 1, replicaNum: 1 }), expect: codes('TABLE_EXISTS') },
  { label: 'createtable with replicaNum 3 on 2 tablets', at: 'ns', path: '/v1/ns/createtable', body: (c) => e({ schema: { name: `chaos_r3_${c.n}`, db: c.v.db, columns: [{ name: 'card', type: 'string' }], indexes: [{ name: 'card', keys: ['card'] }] }, partitionNum: 1, replicaNum: 3 }), expect: codes('PRECONDITION_FAILED') },
  { label: 'createtable placing a partition on an unknown tablet', at: 'ns', path: '/v1/ns/createtable', body: (c) => e({ schema: { name: `chaos_pl_${c.n}`, db: c.v.db, columns: [{ name: 'card', type: 'string' }], indexes: [{ name: 'card', keys: ['card'] }] }, partitions: [{ pid: 0, leader: '127.0.0.1:1', followers: [] }] }), expect: codes('TABLET_NOT_HEALTHY', 'INVALID_ARGUMENT') },
  { label: 'migrate with src = des', at: 'ns', path: '/v1/ns/migrate', body: (c) => e({ db: c.v.db, name: c.v.table, src: c.v.tablets[0], des: c.v.tablets[0], pids: [0] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'migrate to an unknown tablet', at: 'ns', path: '/v1/ns/migrate', body: (c) => e({ db: c.v.db, name: c.v.table, src: c.v.tablets[0], des: '127.0.0.1:1', pids: [0] }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'migrate to a tablet that holds the partition', at: 'ns', path: '/v1/ns/migrate', body: (c) => e({ db: c.v.db, name: c.v.table, src: part(c, 0).leader, des: part(c, 0).follower, pids: [0] }), expect: codes('PRECONDITION_FAILED') },
  { label: 'migrate of pid 5 of a 2-partition table', at: 'ns', path: '/v1/ns/migrate', body: (c) => e({ db: c.v.db, name: c.v.table, src: part(c, 0).leader, des: part(c, 0).follower, pids: [5] }), expect: codes('INVALID_ARGUMENT', 'PARTITION_NOT_FOUND') },
  { label: 'addreplica on a tablet that holds the partition', at: 'ns', path: '/v1/ns/addreplica', body: (c) => e({ db: c.v.db, name: c.v.table, pids: [0], endpoint: part(c, 0).follower }), expect: codes('PRECONDITION_FAILED') },
  { label: 'changeleader of pid 99', at: 'ns', path: '/v1/ns/changeleader', body: (c) => e({ db: c.v.db, name: c.v.table, pid: 99 }), expect: codes('INVALID_ARGUMENT', 'PARTITION_NOT_FOUND') },
  { label: 'changeleader to a candidate that is not a follower', at: 'ns', path: '/v1/ns/changeleader', body: (c) => e({ db: c.v.db, name: c.v.table, pid: 0, candidate: '127.0.0.1:1' }), expect: codes('PRECONDITION_FAILED', 'TABLET_NOT_HEALTHY', 'INVALID_ARGUMENT') },
  { label: 'cancelop of an unknown op', at: 'ns', path: '/v1/ns/cancelop', body: () => e({ opId: 424_242 }), expect: codes('OP_NOT_FOUND') },
  { label: 'deleteop of status "bogus"', at: 'ns', path: '/v1/ns/deleteop', body: () => e({ status: 'bogus' }), expect: codes('INVALID_ARGUMENT') },
  { label: 'deleteop of status 1', at: 'ns', path: '/v1/ns/deleteop', body: () => e({ status: 1 }), expect: codes('INVALID_ARGUMENT') },
  { label: 'deleteop with no opId and no status', at: 'ns', path: '/v1/ns/deleteop', body: () => e({}), expect: codes('INVALID_ARGUMENT') },
  { label: 'confset of an unknown key', at: 'ns', path: '/v1/ns/confset', body: () => e({ key: 'chaos_no_such_key', value: 'true' }), expect: codes('INVALID_ARGUMENT') },
  { label: 'confset auto_failover "maybe"', at: 'ns', path: '/v1/ns/confset', body: () => e({ key: 'auto_failover', value: 'maybe' }), expect: codes('INVALID_ARGUMENT') },
  { label: 'confget of an unknown key', at: 'ns', path: '/v1/ns/confget', body: () => e({ key: 'chaos_no_such_key' }), expect: codes('INVALID_ARGUMENT') },
  { label: 'preupgrade of an unknown tablet', at: 'ns', path: '/v1/ns/preupgrade', body: () => e({ endpoint: '127.0.0.1:1' }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'postupgrade of an unknown tablet', at: 'ns', path: '/v1/ns/postupgrade', body: () => e({ endpoint: '127.0.0.1:1' }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'scalein of an unknown tablet', at: 'ns', path: '/v1/ns/scalein', body: () => e({ endpoints: ['127.0.0.1:1'], dryRun: true }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'apply of an unknown plan', at: 'ns', path: '/v1/ns/apply', body: () => e({ planId: 424_242 }), expect: codes('PRECONDITION_FAILED') },
  { label: 'scaleout onto an unknown tablet', at: 'ns', path: '/v1/ns/scaleout', body: () => e({ endpoints: ['127.0.0.1:1'], dryRun: true }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'scalein of no endpoint', at: 'ns', path: '/v1/ns/scalein', body: () => e({ endpoints: [] }), expect: codes('INVALID_ARGUMENT') },
  { label: 'offlineendpoint of an unknown tablet', at: 'ns', path: '/v1/ns/offlineendpoint', body: () => e({ endpoint: '127.0.0.1:1' }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'recovertable on an unknown tablet', at: 'ns', path: '/v1/ns/recovertable', body: (c) => e({ db: c.v.db, name: c.v.table, pid: 0, endpoint: '127.0.0.1:1' }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'makesnapshot of pid 99', at: 'ns', path: '/v1/ns/makesnapshot', body: (c) => e({ db: c.v.db, name: c.v.table, pid: 99 }), expect: codes('INVALID_ARGUMENT', 'PARTITION_NOT_FOUND') },
  { label: 'updatetablealive of pid 99', at: 'ns', path: '/v1/ns/updatetablealive', body: (c) => e({ db: c.v.db, name: c.v.table, pid: 99, endpoint: part(c, 0).follower, isAlive: false }), expect: codes('PARTITION_NOT_FOUND') },
  { label: 'updatetablealive of an unknown table', at: 'ns', path: '/v1/ns/updatetablealive', body: (c) => e({ db: c.v.db, name: 'chaos_no_such_table', endpoint: part(c, 0).follower, isAlive: false }), expect: codes('TABLE_NOT_FOUND') },
  { label: 'updatetablealive on an unknown tablet', at: 'ns', path: '/v1/ns/updatetablealive', body: (c) => e({ db: c.v.db, name: c.v.table, endpoint: '127.0.0.1:1', isAlive: false }), expect: codes('TABLET_NOT_HEALTHY') },
  { label: 'updatetablealive with isAlive "x" (an ns_client command)', at: 'ns', path: '/v1/ns/updatetablealive', body: (c) => e({ db: c.v.db, name: c.v.table, endpoint: '127.0.0.1:1', isAlive: 'x' }), expect: codes('INVALID_ARGUMENT') },

  // ---- Last: cases that change state if the bug they look for is there (partition 1 mostly).
  // A refused request must not raise the fence: fields are checked before the epoch is taken.
  { label: 'change_role with a higher epoch and role "king"', phase: 'risky', at: 'p0follower', path: '/v1/control/change_role', body: (c) => e({ tid: t(c), pid: 0, role: 'king', term: termOf(c, 'follower', 0), nsEpoch: epochOf(c, part(c, 0).follower) + 1000 }), expect: codes('INVALID_ARGUMENT') },
  { label: 'create_replica with a higher epoch and a bad schema', phase: 'risky', at: 'tabletA', path: '/v1/control/create_replica', body: (c) => e({ tid: 600_000 + c.n, pid: 0, role: 'follower', term: 1, schema: { name: '../x' }, nsEpoch: epochOf(c, c.v.tablets[0]) + 1000 }), expect: codes('INVALID_ARGUMENT') },
  // Endpoints named to the leader must be host:port.
  { label: 'add_replica of follower "../x" on the leader', phase: 'risky', at: 'p1leader', path: '/v1/control/add_replica', body: (c) => e({ tid: t(c), pid: 1, follower: '../x', nsEpoch: epochOf(c, part(c, 1).leader) }), expect: codes('INVALID_ARGUMENT') },
  { label: 'del_replica of follower "../x" on the leader', phase: 'risky', at: 'p1leader', path: '/v1/control/del_replica', body: (c) => e({ tid: t(c), pid: 1, follower: '../x', nsEpoch: epochOf(c, part(c, 1).leader) }), expect: codes('INVALID_ARGUMENT') },
  { label: 'send_snapshot to des "../x" on the leader', phase: 'risky', at: 'p1leader', path: '/v1/control/send_snapshot', body: (c) => e({ tid: t(c), pid: 1, des: '../x', nsEpoch: epochOf(c, part(c, 1).leader) }), expect: codes('INVALID_ARGUMENT') },
  { label: 'set_in_sync naming "../x" on the leader', phase: 'risky', at: 'p1leader', path: '/v1/control/set_in_sync', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'leader', 1), inSync: ['../x'], nsEpoch: epochOf(c, part(c, 1).leader) }), expect: codes('INVALID_ARGUMENT') },
  // Binlog entries must fit the schema and follow the follower's offset.
  { label: 'append of an entry whose values do not fit the schema', phase: 'risky', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 1, termOf(c, 'follower', 1), { values: [7, true, 'not a double', 'not a timestamp'] })] }), expect: codes('INVALID_ARGUMENT', 'SCHEMA_MISMATCH') },
  { label: 'append whose second entry skips an offset', phase: 'risky', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 1, termOf(c, 'follower', 1)), entry(offsetOf(c, 1) + 3, termOf(c, 'follower', 1))] }), expect: codes('INVALID_ARGUMENT', 'OFFSET_GAP') },
  { label: 'append of an entry 100 offsets ahead', phase: 'risky', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1), entries: [entry(offsetOf(c, 1) + 100, termOf(c, 'follower', 1))] }), expect: codes('OFFSET_GAP') },
  // A malformed replication request must not move the follower to a higher term.
  { label: 'append with a higher term and entries "x"', phase: 'risky', at: 'p1follower', path: '/v1/replica/append', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1) + 1, entries: 'x' }), expect: codes('INVALID_ARGUMENT') },
  { label: 'snapshot_begin with a higher term and session "../x"', phase: 'risky', at: 'p1follower', path: '/v1/replica/snapshot_begin', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1) + 1, session: '../x', offset: 0, offsetTerm: 0 }), expect: codes('INVALID_ARGUMENT') },
  { label: 'snapshot_chunk with a higher term and entries "x"', phase: 'risky', at: 'p1follower', path: '/v1/replica/snapshot_chunk', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1) + 1, session: 'c0ffee', seq: 0, entries: 'x' }), expect: codes('INVALID_ARGUMENT') },
  { label: 'snapshot_end with a higher term and chunks -1', phase: 'risky', at: 'p1follower', path: '/v1/replica/snapshot_end', body: (c) => e({ tid: t(c), pid: 1, term: termOf(c, 'follower', 1) + 1, session: 'c0ffee', chunks: -1 }), expect: codes('INVALID_ARGUMENT') },
];

function extraCases(): HttpCase[] {
  return EXTRAS.map((x) => ({
    kind: 'http' as const,
    id: `${x.method && x.method !== 'POST' ? `${x.method} ` : ''}${x.path.length > 60 ? `${x.path.slice(0, 40)}…` : x.path}: ${x.label}`,
    phase: x.phase ?? 'semantics',
    at: x.at,
    method: x.method ?? 'POST',
    path: x.path,
    contentType: x.contentType === null ? undefined : (x.contentType ?? (x.method === undefined || x.method === 'POST' ? MSGPACK : undefined)),
    body: x.body,
    limit: x.at === 'ns' ? LIMITS.controlBodyBytesMax : LIMITS.httpBodyBytesMax,
    expect: x.expect,
  }));
}

/** Every HTTP case, in no particular order (the runner orders them by phase). */
export function httpCatalogue(): HttpCase[] {
  const out: HttpCase[] = [];
  ALL_ROUTES.forEach((route, i) => out.push(...transportCases(route, i)));
  const seen = new Set<string>();
  const ordered = [...ALL_ROUTES.filter((r) => r.representative), ...ALL_ROUTES.filter((r) => !r.representative)];
  for (const route of ordered) out.push(...fieldCases(route, seen));
  for (const route of ALL_ROUTES) out.push(...injectionCases(route));
  out.push(...extraCases());
  return out;
}

