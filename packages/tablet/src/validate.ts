/**
 * Checks of request fields shared by the tablet's routes: ids, strings, numbers. Each refusal is
 * INVALID_ARGUMENT naming the field.
 */
import { invalidArgument, LIMITS, parseEndpoint } from '@tessera/common';

export function uint(body: Record<string, unknown>, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw invalidArgument(`${field} must be an integer from 0 to ${max}`, { field });
  }
  return v;
}

export function optUint(body: Record<string, unknown>, field: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  return body[field] === undefined || body[field] === null ? fallback : uint(body, field, max);
}

export function int(body: Record<string, unknown>, field: string, fallback: number): number {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidArgument(`${field} must be an integer`, { field });
  return v;
}

export function str(body: Record<string, unknown>, field: string, maxChars = LIMITS.stringBytesMax): string {
  const v = body[field];
  if (typeof v !== 'string') throw invalidArgument(`${field} must be a string`, { field });
  if (v.length > maxChars) throw invalidArgument(`${field} is longer than ${maxChars} characters`, { field });
  return v;
}

export function optStr(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  return str(body, field, LIMITS.nameCharsMax * 4);
}

/** A `host:port` endpoint field. */
export function endpoint(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.length > 256) throw invalidArgument(`${field} must be a host:port endpoint`, { field });
  parseEndpoint(v);
  return v;
}

export function optEndpoint(body: Record<string, unknown>, field: string): string | undefined {
  return body[field] === undefined || body[field] === null ? undefined : endpoint(body, field);
}

/** A list of distinct `host:port` endpoints (followers, in-sync sets). */
export function strList(body: Record<string, unknown>, field: string): string[] {
  const v = body[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > LIMITS.replicasMax || v.some((x) => typeof x !== 'string' || x.length > 256)) {
    throw invalidArgument(`${field} must be a list of at most ${LIMITS.replicasMax} endpoints`, { field });
  }
  for (const x of v as string[]) {
    try {
      parseEndpoint(x);
    } catch {
      throw invalidArgument(`${field} holds '${x}', not a host:port endpoint`, { field });
    }
  }
  if (new Set(v).size !== v.length) throw invalidArgument(`${field} lists an endpoint twice`, { field });
  return v as string[];
}

export function tidPid(body: Record<string, unknown>): { tid: number; pid: number } {
  return { tid: uint(body, 'tid', 2 ** 31 - 1), pid: uint(body, 'pid', LIMITS.partitionsMax - 1) };
}
