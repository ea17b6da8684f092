/**
 * TTL rules, as OpenMLDB defines them per index: `absolute` (a row expires when
 * ts + absMinutes ≤ now; 0 = never), `latest` (keep the newest N rows of a key; 0 = unlimited),
 * `absandlat` (expired only when both hold), `absorlat` (expired when either holds). Pure.
 */
import type { TtlDef } from '@tessera/common';

const MINUTE_MS = 60_000;

/** Whether the row at `position` (0 = newest of its key) with time `ts` is expired at `nowMs`. */
export function isExpired(ttl: TtlDef, ts: number, position: number, nowMs: number): boolean {
  const absExpired = ttl.absMinutes > 0 && ts + ttl.absMinutes * MINUTE_MS <= nowMs;
  const latExpired = ttl.latest > 0 && position >= ttl.latest;
  switch (ttl.type) {
    case 'absolute':
      return absExpired;
    case 'latest':
      return latExpired;
    case 'absandlat':
      return ttl.absMinutes > 0 && ttl.latest > 0 && absExpired && latExpired;
    case 'absorlat':
      return absExpired || latExpired;
  }
}

/** Whether reads must count a key's newer rows to judge a row (the latest component is on). */
export function needsPosition(ttl: TtlDef): boolean {
  return ttl.type !== 'absolute' && ttl.latest > 0;
}
