/**
 * Role assignment, pure: a tablet that restarted serves nothing until told its replicas' roles
 * (its replicas report `unassigned`). From the tablet's report and table metadata this says, for
 * every unassigned replica the metadata marks alive, the role, term and peers to tell it.
 * Replicas marked not alive are left to the failover checker's recovery ops, and a partition an
 * op holds to that op. The engine runs it
 * on every report of a tablet, at once after the tablet (re)appears or leadership is won, then
 * at most every `roleAssignRetryMs` per tablet while it still reports unassigned replicas.
 */
import { currentTerm, type Endpoint, type TableInfo } from '@tessera/common';
import type { ReplicaReport, TabletNotice } from './events.js';

export function roleAssignments(endpoint: Endpoint, replicas: readonly ReplicaReport[], table: (tid: number) => TableInfo | undefined): Array<Extract<TabletNotice, { type: 'AssignRole' }>> {
  const out: Array<Extract<TabletNotice, { type: 'AssignRole' }>> = [];
  for (const st of replicas) {
    if (st.state !== 'unassigned') continue;
    const t = table(st.tid);
    const p = t?.partitions.find((x) => x.pid === st.pid);
    const r = p?.replicas.find((x) => x.endpoint === endpoint);
    if (!t || !p || !r || !r.isAlive) continue;
    const term = currentTerm(p);
    const leader = p.replicas.find((x) => x.isLeader && x.isAlive);
    out.push(r.isLeader
      ? { type: 'AssignRole', tid: st.tid, pid: st.pid, role: 'leader', term, followers: p.replicas.filter((x) => !x.isLeader && x.isAlive).map((x) => x.endpoint), inSync: [...p.inSync], replicaAck: t.replicaAck }
      : { type: 'AssignRole', tid: st.tid, pid: st.pid, role: 'follower', term, ...(leader ? { leader: leader.endpoint } : {}), replicaAck: t.replicaAck });
  }
  return out;
}
