/**
 * The scaleout/rebalance plans the leading nameserver keeps for `apply <plan_id>`: made by the
 * core (core/rebalance.ts), kept here in memory, the oldest dropped beyond PLANS_KEPT_MAX. A plan
 * does not survive a nameserver failover (the new leader answers `plan N not found`; make it
 * again). `apply` hands exactly the stored moves to the core, which refuses them if the cluster
 * drifted.
 */
import { TesseraError, type ApplyRequest, type ApplyResponse, type PlanResponse, type RebalanceMove, type RebalanceRequest, type ScaleOutRequest, type ScaleTabletCount } from '@tessera/common';
import type { AdminCommand } from '../core/events.js';

/** Plans kept at once. */
export const PLANS_KEPT_MAX = 64;

interface PlanData {
  moves: RebalanceMove[];
  tablets: ScaleTabletCount[];
}

export class PlanStore {
  private readonly plans = new Map<number, PlanData>();
  private nextId = 1;

  constructor(private readonly admin: (command: AdminCommand) => Promise<unknown>) {}

  private save(plan: PlanData): number {
    const id = this.nextId++;
    this.plans.set(id, plan);
    for (const old of this.plans.keys()) {
      if (this.plans.size <= PLANS_KEPT_MAX) break;
      this.plans.delete(old);
    }
    return id;
  }

  private async make(command: AdminCommand, dryRun: boolean): Promise<PlanResponse> {
    const plan = (await this.admin(command)) as PlanData;
    const planId = this.save({ moves: plan.moves, tablets: plan.tablets });
    if (dryRun) return { planId, moves: plan.moves, tablets: plan.tablets, opIds: [], applied: false };
    const { opIds } = await this.apply({ planId });
    return { planId, moves: plan.moves, tablets: plan.tablets, opIds, applied: true };
  }

  scaleout(req: ScaleOutRequest): Promise<PlanResponse> {
    return this.make({ type: 'rebalanceplan', tables: [], ...(req.endpoints !== undefined ? { destinations: req.endpoints } : {}), scaleout: true }, req.dryRun === true);
  }

  rebalance(req: RebalanceRequest): Promise<PlanResponse> {
    return this.make({ type: 'rebalanceplan', tables: req.tables ?? [], ...(req.db !== undefined ? { db: req.db } : {}), scaleout: false }, req.dryRun === true);
  }

  async apply(req: ApplyRequest): Promise<ApplyResponse> {
    const plan = this.plans.get(req.planId);
    if (plan === undefined) throw new TesseraError('PRECONDITION_FAILED', `plan ${req.planId} not found (plans live in the leading nameserver's memory; make it again)`);
    const res = (await this.admin({ type: 'applyplan', moves: plan.moves })) as ApplyResponse;
    this.plans.delete(req.planId);
    return { opIds: res.opIds };
  }
}
