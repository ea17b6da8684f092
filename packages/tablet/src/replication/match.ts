/**
 * The match-or-snapshot decision of a push stream, pure: given what the follower answered to a
 * probe and what the leader holds, resume streaming after the follower's offset, or rebuild the
 * follower from a snapshot. The rule (docs/replication.md, "The push stream"): a follower whose
 * history differs, that is ahead of the leader, that holds a partial snapshot, or that is behind
 * the oldest retained entry is rebuilt — a diverged tail is never kept. follower-stream.ts does
 * the I/O around it.
 */

export interface MatchFacts {
  /** The follower's offset and the term of its entry there (undefined at offset 0). */
  followerOffset: number;
  followerTerm: number | undefined;
  /** The follower holds an interrupted snapshot load. */
  followerIncomplete: boolean;
  leaderOffset: number;
  /** The term of the leader's entry at the follower's offset: its binlog, or the term it kept for the newest freed entry; undefined when it cannot tell. */
  leaderTermThere: number | undefined;
  /** The oldest offset the leader's binlog still holds. */
  firstBinlogOffset: number;
  /** The snapshot this stream last delivered into the follower (offset and term there). */
  delivered: { offset: number; term: number } | undefined;
}

export type MatchDecision = { resume: 'stream'; nextOffset: number } | { resume: 'snapshot'; why: string };

export function decideMatch(m: MatchFacts): MatchDecision {
  if (m.followerIncomplete) return { resume: 'snapshot', why: 'the follower holds a partial snapshot' };
  if (m.followerOffset > m.leaderOffset) return { resume: 'snapshot', why: 'the follower is ahead of the leader' };
  if (m.followerOffset > 0) {
    const justLoaded = m.delivered !== undefined && m.delivered.offset === m.followerOffset && m.delivered.term === m.followerTerm;
    if (!justLoaded && (m.leaderTermThere === undefined || m.leaderTermThere !== m.followerTerm)) {
      return { resume: 'snapshot', why: m.leaderTermThere === undefined ? 'the follower\'s position cannot be verified' : 'the follower\'s history differs' };
    }
  }
  if (m.followerOffset + 1 < m.firstBinlogOffset) return { resume: 'snapshot', why: 'the entries the follower needs are no longer retained' };
  return { resume: 'stream', nextOffset: m.followerOffset + 1 };
}
