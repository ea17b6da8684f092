/**
 * `/table/notify`: what it holds and how it is bumped. The node holds a sequence number and the tid
 * the change was about (`{"seq":12,"tid":7}`; tid null for a change that is no table's, e.g. a
 * database). A reader that saw seq n and now sees n+1 re-reads only that one table's node; any
 * other jump (watches coalesce), an unknown format or a missing node means "re-read everything".
 * This keeps a metadata change O(that table) for every SDK instead of O(all tables).
 */
import { TesseraError, backoffMs, sleep } from '@tessera/common';
import { parentPath } from './layout.js';
import { COORD_LIMITS, isCoordError, type Coord } from './coord.js';

export interface NotifyStamp {
  seq: number;
  /** The table the change was about; null when it was about no table. */
  tid: number | null;
}

/**
 * Parses the node's data. A bare decimal (the older counter format) is a seq with no tid, which
 * readers take as "unknown table" and answer with a full re-read. Anything else: undefined.
 */
export function parseNotify(data: Buffer | string | undefined): NotifyStamp | undefined {
  if (data === undefined) return undefined;
  const text = data.toString().trim();
  if (text === '') return { seq: 0, tid: null };
  if (/^\d+$/.test(text)) {
    const seq = Number(text);
    return Number.isSafeInteger(seq) ? { seq, tid: null } : undefined;
  }
  try {
    const v = JSON.parse(text) as { seq?: unknown; tid?: unknown };
    if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 0) return undefined;
    if (v.tid !== null && (!Number.isSafeInteger(v.tid) || (v.tid as number) < 0)) return undefined;
    return { seq: v.seq as number, tid: v.tid as number | null };
  } catch {
    return undefined;
  }
}

/** What the one bumping process last wrote to the node: its next bump tries it without a read. */
export interface NotifyHint {
  last?: { seq: number; version: number };
}

/**
 * Bumps the seq by `seqStep` (1: one change, about `tid`; null: no table) with compare-and-set. A
 * step of 2 or more is a jump, which readers answer by re-reading everything: the bump that
 * stands for several tables at once (a step of 1 naming no table re-reads no table). A missing
 * node starts at seq `seqStep`. Returns the new stamp. With a `hint` of what this process wrote
 * last (the leading nameserver is the only writer), the bump is one compare-and-set on that
 * version, read first only when it misses (another writer, a new leader).
 */
export async function bumpNotify(session: Coord, path: string, tid: number | null, seqStep = 1, hint?: NotifyHint): Promise<NotifyStamp> {
  if (hint?.last !== undefined) {
    const stamp = { seq: hint.last.seq + seqStep, tid };
    const r = await session.set(path, Buffer.from(JSON.stringify(stamp)), hint.last.version);
    if (r.ok) {
      hint.last = { seq: stamp.seq, version: r.version };
      return stamp;
    }
    hint.last = undefined;
  }
  for (let attempt = 0; attempt < COORD_LIMITS.counterAttemptsMax; attempt++) {
    const node = await session.get(path);
    if (node === undefined) {
      const stamp = { seq: seqStep, tid };
      try {
        await session.ensurePath(parentPath(path));
        await session.create(path, Buffer.from(JSON.stringify(stamp)));
        return stamp;
      } catch (err) {
        if (!isCoordError(err, 'ZNODEEXISTS')) throw err;
      }
    } else {
      const current = parseNotify(node.data);
      if (current === undefined) throw new TesseraError('INTERNAL', `${path} holds neither a count nor a notify stamp`, { path });
      const stamp = { seq: current.seq + seqStep, tid };
      const r = await session.set(path, Buffer.from(JSON.stringify(stamp)), node.version);
      if (r.ok) {
        if (hint !== undefined) hint.last = { seq: stamp.seq, version: r.version };
        return stamp;
      }
    }
    await sleep(backoffMs(attempt, COORD_LIMITS.counterBackoffBaseMs, COORD_LIMITS.counterBackoffMaxMs));
  }
  throw new TesseraError('COORD_ERROR', `${path}: still contended after ${COORD_LIMITS.counterAttemptsMax} attempts`, { path });
}
