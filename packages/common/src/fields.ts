/**
 * The one field validator of request bodies (tablet routes, nameserver admin commands): each
 * reader returns the field's value or throws INVALID_ARGUMENT naming the field
 * (`details.field`). Exported as the `fields` namespace of @tessera/common.
 */
import { invalidArgument } from './errors.js';
import { parseEndpoint } from './endpoint.js';
import { LIMITS } from './limits.js';

export type Body = Record<string, unknown>;

/** Longest text field of an admin command (names, keys). */
export const TEXT_CHARS_MAX = 512;
/** Most endpoints one command names (far above any cluster this runs). */
export const ENDPOINTS_PER_COMMAND_MAX = 256;
/** Most names (tables) one command names. */
export const NAMES_PER_COMMAND_MAX = 1024;
/** Most partition ids one command names. */
export const PIDS_PER_COMMAND_MAX = 1024;
/** Longest endpoint text. */
const ENDPOINT_CHARS_MAX = 256;

const absent = (v: unknown): boolean => v === undefined || v === null;

export function uint(body: Body, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw invalidArgument(`${field} must be an integer from 0 to ${max}`, { field });
  }
  return v;
}

export function optUint(body: Body, field: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  return absent(body[field]) ? fallback : uint(body, field, max);
}

export function int(body: Body, field: string, fallback: number): number {
  const v = body[field];
  if (absent(v)) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidArgument(`${field} must be an integer`, { field });
  return v;
}

export function str(body: Body, field: string, maxChars = LIMITS.stringBytesMax): string {
  const v = body[field];
  if (typeof v !== 'string') throw invalidArgument(`${field} must be a string`, { field });
  if (v.length > maxChars) throw invalidArgument(`${field} is longer than ${maxChars} characters`, { field });
  return v;
}

export function optStr(body: Body, field: string): string | undefined {
  return absent(body[field]) ? undefined : str(body, field, LIMITS.nameCharsMax * 4);
}

/** A non-empty string of at most maxChars (names, keys of admin commands). */
export function text(body: Body, field: string, maxChars = TEXT_CHARS_MAX): string {
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxChars) throw invalidArgument(`${field} must be a non-empty string`, { field });
  return v;
}

export function bool(body: Body, field: string): boolean {
  const v = body[field];
  if (typeof v !== 'boolean') throw invalidArgument(`${field} must be true or false`, { field });
  return v;
}

/** True for a `host:port` endpoint text. */
export function isEndpoint(v: unknown): v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > ENDPOINT_CHARS_MAX) return false;
  try {
    parseEndpoint(v);
    return true;
  } catch {
    return false;
  }
}

/** A `host:port` endpoint. */
export function endpoint(body: Body, field: string): string {
  const v = body[field];
  if (!isEndpoint(v)) throw invalidArgument(`${field} must be a host:port endpoint`, { field });
  return v;
}

export function optEndpoint(body: Body, field: string): string | undefined {
  return absent(body[field]) ? undefined : endpoint(body, field);
}

/** An optional set of distinct endpoints (followers, in-sync sets): [] when absent. */
export function endpointSet(body: Body, field: string): string[] {
  const v = body[field];
  if (absent(v)) return [];
  if (!Array.isArray(v) || v.length > LIMITS.replicasMax || v.some((x) => typeof x !== 'string' || x.length > ENDPOINT_CHARS_MAX)) {
    throw invalidArgument(`${field} must be a list of at most ${LIMITS.replicasMax} endpoints`, { field });
  }
  for (const x of v as string[]) if (!isEndpoint(x)) throw invalidArgument(`${field} holds '${x}', not a host:port endpoint`, { field });
  if (new Set(v).size !== v.length) throw invalidArgument(`${field} lists an endpoint twice`, { field });
  return v as string[];
}

/** A non-empty list of endpoints a command acts on (scalein, scaleout). */
export function endpointList(body: Body, field: string): string[] {
  const v = body[field];
  if (!Array.isArray(v) || v.length === 0 || v.length > ENDPOINTS_PER_COMMAND_MAX) throw invalidArgument(`${field} must be a non-empty list of host:port endpoints`, { field });
  v.forEach((_, i) => endpoint(v as unknown as Body, String(i)));
  return v as string[];
}

/** A list of names (possibly empty). */
export function textList(body: Body, field: string): string[] {
  const v = body[field];
  if (!Array.isArray(v) || v.length > NAMES_PER_COMMAND_MAX) throw invalidArgument(`${field} must be a list of names`, { field });
  v.forEach((_, i) => text(v as unknown as Body, String(i)));
  return v as string[];
}

/** A non-empty list of partition ids. */
export function pids(body: Body, field: string): number[] {
  const v = body[field];
  if (!Array.isArray(v) || v.length === 0 || v.length > PIDS_PER_COMMAND_MAX || v.some((x) => typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)) {
    throw invalidArgument(`${field} must be a non-empty list of partition ids`, { field });
  }
  return v as number[];
}

/** A replica's (tid, pid). */
export function tidPid(body: Body): { tid: number; pid: number } {
  return { tid: uint(body, 'tid', 2 ** 31 - 1), pid: uint(body, 'pid', LIMITS.partitionsMax - 1) };
}

/** A reader made optional: absent (undefined or null) passes. */
export function optional<T>(read: (body: Body, field: string) => T): (body: Body, field: string) => T | undefined {
  return (body, field) => (absent(body[field]) ? undefined : read(body, field));
}
