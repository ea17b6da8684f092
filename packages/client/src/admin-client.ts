/**
 * The nameserver admin API over HTTP: finds the leader nameserver in ZooKeeper (`/leader`),
 * sends each command to it, and follows a leader change (NS_NOT_LEADER with the new leader's
 * endpoint, or an unreachable leader) with bounded retries: the admin policy of retry-policy.ts.
 */
import {
  backoffMs, HttpClient, NS_COMMANDS, nsRoute, sleep, TesseraError, type NsAdmin, type NsApi, type NsCommand,
} from '@tessera/common';
import { readLeader, type Coord, type ZkLayout } from '@tessera/coord';
import { ADMIN_CALL, ADMIN_RETRY, shouldRetry } from './retry-policy.js';


export class NsAdminClient {
  private leader: string | undefined;
  private readonly http: HttpClient;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    timeoutMs = 60_000,
  ) {
    this.http = new HttpClient({ connectionsPerEndpoint: 2, timeoutMs });
  }

  /** The leader nameserver's endpoint as last seen (refreshed from ZooKeeper when unknown). */
  async leaderEndpoint(refresh = false): Promise<string | undefined> {
    if (refresh || !this.leader) this.leader = await readLeader(this.session, this.layout);
    return this.leader;
  }

  get cachedLeader(): string | undefined {
    return this.leader;
  }

  async call<K extends NsCommand>(cmd: K, req: NsApi[K]['req']): Promise<NsApi[K]['res']> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < ADMIN_RETRY.attemptsMax; attempt++) {
      const leader = await this.leaderEndpoint(attempt > 0);
      if (!leader) {
        lastErr = new TesseraError('UNAVAILABLE', 'no nameserver is leading');
      } else {
        try {
          return await this.http.call<NsApi[K]['res']>(leader, nsRoute(cmd), req);
        } catch (err) {
          if (!shouldRetry(err, ADMIN_CALL)) throw err;
          const e = err as TesseraError;
          lastErr = err;
          const hinted = e.details?.leader;
          if (typeof hinted === 'string' && hinted !== leader) {
            this.leader = hinted;
            continue;
          }
        }
      }
      await sleep(backoffMs(attempt, ADMIN_RETRY.backoffBaseMs, ADMIN_RETRY.backoffMaxMs));
    }
    throw lastErr;
  }

  /** This client as an `NsAdmin` (one method per command). */
  asNsAdmin(): NsAdmin {
    const admin: Record<string, (req: unknown) => Promise<unknown>> = {};
    for (const cmd of NS_COMMANDS) admin[cmd] = (req) => this.call(cmd, req as never);
    return admin as unknown as NsAdmin;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
