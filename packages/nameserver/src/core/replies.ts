/**
 * Replies to admin commands. A reply to a command that changed something goes out only once
 * ZooKeeper confirmed the change (the ops it created, the table it wrote): it waits here until
 * the engine says those writes are settled. On loss of leadership every waiting reply is answered
 * NS_NOT_LEADER. Pure.
 */
import type { ErrorCode, Tid } from '@tessera/common';
import type { EngineEffect, ReplyError, RequestId } from './events.js';

export interface PendingReply {
  requestId: RequestId;
  /** Ops whose writes must be confirmed before the reply goes out. */
  opIds: number[];
  /** A table whose writes must be confirmed before the reply goes out. */
  tid?: Tid;
  message: string;
  data: unknown;
}

export function replyOk(requestId: RequestId, message: string, data: unknown): EngineEffect {
  return { kind: 'reply', requestId, ok: true, message, data };
}

export function replyError(requestId: RequestId, code: ErrorCode, message: string): EngineEffect {
  const error: ReplyError = { code, message };
  return { kind: 'reply', requestId, ok: false, error };
}

export class PendingReplies {
  private pending: PendingReply[] = [];

  add(reply: PendingReply): void {
    this.pending.push(reply);
  }

  /** The replies whose writes are settled, in the order they were added; the rest keep waiting. */
  flush(settled: (reply: PendingReply) => boolean): EngineEffect[] {
    const out: EngineEffect[] = [];
    const waiting: PendingReply[] = [];
    for (const p of this.pending) {
      if (settled(p)) out.push(replyOk(p.requestId, p.message, p.data));
      else waiting.push(p);
    }
    this.pending = waiting;
    return out;
  }

  /** Every waiting reply answered NS_NOT_LEADER; none left. */
  notLeader(): EngineEffect[] {
    const out = this.pending.map((p) => replyError(p.requestId, 'NS_NOT_LEADER', 'nameserver is not leader'));
    this.pending = [];
    return out;
  }

  clear(): void {
    this.pending = [];
  }
}
