/**
 * The partition file of `gettablepartition` / `settablepartition`: a partition's metadata in
 * protobuf text format, as OpenMLDB writes its TablePartition (`pid`, `partition_meta { endpoint
 * is_leader is_alive }`, `term_offset { term offset }`), plus Tessera's in-sync set as repeated
 * `in_sync` and a first comment line naming the table it was taken from:
 *
 *   # table: flow db: demo_db tid: 4
 *   pid: 0
 *   partition_meta {
 *     endpoint: "127.0.0.1:9527"
 *     is_leader: true
 *     is_alive: true
 *   }
 *   term_offset {
 *     term: 3
 *     offset: 0
 *   }
 *   in_sync: "127.0.0.1:9528"
 *
 * The reader also takes OpenMLDB's own files (its extra status fields are read and ignored; a
 * file without `in_sync` keeps the partition's in-sync set). Pure functions; a file that does not
 * parse is INVALID_ARGUMENT `table partition file format error: <why>`.
 */
import { invalidArgument, type PartitionMeta, type TesseraError } from '@tessera/common';

export interface PartitionFileTable {
  name: string;
  db: string;
  tid: number;
}

export interface PartitionFile {
  /** The table named by the header comment, when the file has one. */
  table?: PartitionFileTable;
  partition: Omit<PartitionMeta, 'inSync'> & { inSync?: string[] };
}

/** The file name OpenMLDB uses: `<table>_<pid>.txt`. */
export function partitionFileName(table: string, pid: number): string {
  return `${table}_${pid}.txt`;
}

/** Renders a partition's metadata as a partition file. */
export function renderPartitionFile(table: PartitionFileTable, p: PartitionMeta): string {
  const lines = [`# table: ${table.name} db: ${table.db} tid: ${table.tid}`, `pid: ${p.pid}`];
  for (const r of p.replicas) {
    lines.push('partition_meta {', `  endpoint: ${JSON.stringify(r.endpoint)}`, `  is_leader: ${r.isLeader}`, `  is_alive: ${r.isAlive}`, '}');
  }
  for (const t of p.termOffsets) lines.push('term_offset {', `  term: ${t.term}`, `  offset: ${t.offset}`, '}');
  for (const e of p.inSync) lines.push(`in_sync: ${JSON.stringify(e)}`);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading: a small protobuf text format reader (fields, nested messages, strings, numbers, bools)
// ---------------------------------------------------------------------------------------------

type Scalar = string | number | boolean;
interface Message {
  [field: string]: Array<Scalar | Message>;
}

const formatError = (why: string): TesseraError => invalidArgument(`table partition file format error: ${why}`);

const HEADER_RE = /^#\s*table:\s*(\S+)\s+db:\s*(\S+)\s+tid:\s*(\d+)\s*$/;
const TOKEN_RE = /\s*(?:(#[^\n]*)|([A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\\n]|\\.)*")|(-?\d+)|([:{}<>]))/y;

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string };

function tokens(text: string): Token[] {
  const out: Token[] = [];
  TOKEN_RE.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN_RE.lastIndex = at;
    const m = TOKEN_RE.exec(text);
    if (!m) throw formatError(`unexpected text at character ${at}: ${JSON.stringify(text.slice(at, at + 20).trim())}`);
    at = TOKEN_RE.lastIndex;
    if (m[1] !== undefined) continue;
    if (m[2] !== undefined) out.push({ kind: 'ident', text: m[2] });
    else if (m[3] !== undefined) out.push({ kind: 'string', text: m[3] });
    else if (m[4] !== undefined) out.push({ kind: 'number', text: m[4] });
    else out.push({ kind: 'punct', text: m[5]! });
  }
  return out;
}

function parseMessage(ts: Token[], pos: { i: number }, close: string | undefined): Message {
  const msg: Message = Object.create(null) as Message;
  for (;;) {
    const tok = ts[pos.i];
    if (tok === undefined) {
      if (close !== undefined) throw formatError(`missing '${close}'`);
      return msg;
    }
    if (tok.kind === 'punct' && tok.text === close) {
      pos.i++;
      return msg;
    }
    if (tok.kind !== 'ident') throw formatError(`expected a field name, got '${tok.text}'`);
    pos.i++;
    let next = ts[pos.i];
    let colon = false;
    if (next?.kind === 'punct' && next.text === ':') {
      colon = true;
      pos.i++;
      next = ts[pos.i];
    }
    let value: Scalar | Message;
    if (next?.kind === 'punct' && (next.text === '{' || next.text === '<')) {
      pos.i++;
      value = parseMessage(ts, pos, next.text === '{' ? '}' : '>');
    } else {
      if (!colon || next === undefined) throw formatError(`field ${tok.text} has no value`);
      pos.i++;
      if (next.kind === 'string') value = JSON.parse(next.text) as string;
      else if (next.kind === 'number') value = Number(next.text);
      else if (next.kind === 'ident' && (next.text === 'true' || next.text === 'false')) value = next.text === 'true';
      else throw formatError(`field ${tok.text} has the value '${next.text}'`);
    }
    (msg[tok.text] ??= []).push(value);
  }
}

function fields(m: Message, where: string, known: readonly string[], ignored: readonly string[]): void {
  for (const f of Object.keys(m)) {
    if (!known.includes(f) && !ignored.includes(f)) throw formatError(`unknown field ${f} in ${where}`);
  }
}

function one<T>(m: Message, field: string, where: string, check: (v: unknown) => v is T, what: string, fallback?: T): T {
  const vs = m[field];
  if (vs === undefined || vs.length === 0) {
    if (fallback !== undefined) return fallback;
    throw formatError(`${where} has no ${field}`);
  }
  if (vs.length > 1) throw formatError(`${where} has ${field} twice`);
  if (!check(vs[0])) throw formatError(`${where}.${field} must be ${what}`);
  return vs[0];
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';
const isMessage = (v: unknown): v is Message => typeof v === 'object' && v !== null;

/** OpenMLDB's status fields, read and ignored (Tessera keeps them out of metadata). */
const IGNORED_TOP = ['record_cnt', 'record_byte_size', 'diskused', 'remote_partition_meta'];
const IGNORED_META = ['offset', 'record_cnt', 'record_byte_size', 'tablet_has_partition', 'diskused', 'remote_tid', 'alias'];

/** Reads a partition file. */
export function parsePartitionFile(text: string): PartitionFile {
  const first = text.split('\n').find((l) => l.trim() !== '');
  const header = first === undefined ? null : HEADER_RE.exec(first.trim());
  const top = parseMessage(tokens(text), { i: 0 }, undefined);
  fields(top, 'the file', ['pid', 'partition_meta', 'term_offset', 'in_sync'], IGNORED_TOP);
  const pid = one(top, 'pid', 'the file', isUint, 'a non-negative integer');
  const replicas = (top.partition_meta ?? []).map((v, i) => {
    const where = `partition_meta[${i}]`;
    if (!isMessage(v)) throw formatError(`${where} must be a message`);
    fields(v, where, ['endpoint', 'is_leader', 'is_alive'], IGNORED_META);
    return {
      endpoint: one(v, 'endpoint', where, isString, 'a string'),
      isLeader: one(v, 'is_leader', where, isBool, 'true or false'),
      // OpenMLDB's default for is_alive is true.
      isAlive: one(v, 'is_alive', where, isBool, 'true or false', true),
    };
  });
  const termOffsets = (top.term_offset ?? []).map((v, i) => {
    const where = `term_offset[${i}]`;
    if (!isMessage(v)) throw formatError(`${where} must be a message`);
    fields(v, where, ['term', 'offset'], []);
    return { term: one(v, 'term', where, isUint, 'a non-negative integer'), offset: one(v, 'offset', where, isUint, 'a non-negative integer') };
  });
  const partition: PartitionFile['partition'] = { pid, replicas, termOffsets };
  if (top.in_sync !== undefined) {
    partition.inSync = top.in_sync.map((v) => {
      if (!isString(v)) throw formatError('in_sync must be strings');
      return v;
    });
  }
  const out: PartitionFile = { partition };
  if (header) out.table = { name: header[1]!, db: header[2]!, tid: Number(header[3]) };
  return out;
}
