/**
 * Parent ops (pure): a scale-in (kScaleInOP) holds no partition and has no task of its own. Each
 * time the engine drives it, it plans the next step of the drain against the metadata now
 * (scalein.ts) and makes a child op per move for the partitions no op holds; the scheduler runs
 * the children under the concurrency limits and priorities (schedule.ts). It ends
 * - kDone when nothing is left on the leaving tablets and no child runs;
 * - kFailed when a child failed or was canceled on its own (no new child is made; the running
 *   ones finish first), with the child's error stored in the parent's;
 * - kCanceled after `cancelop` of the parent, which cancels its children (admin-direct.ts):
 *   a waiting child is dropped, a running one undoes what it did unless past its commit task
 *   (then it finishes: what was moved stays consistent). The parent ends when they all did.
 */
import type { AdminView, OpRequest } from './admin.js';
import { isTerminal, type Op } from './op.js';
import { planScaleInStep } from './scalein.js';

export type ParentAction =
  | { kind: 'spawn'; requests: OpRequest[] }
  | { kind: 'finish'; status: 'kDone' | 'kFailed' | 'kCanceled'; error?: string }
  | { kind: 'wait'; why: string };

function describe(child: Op): string {
  return `child op ${child.id} (${child.type} ${child.name} pid ${child.pid}) ${child.status === 'kFailed' ? 'failed' : 'was canceled'}${child.error === undefined ? '' : `: ${child.error}`}`;
}

export function decideParent(parent: Op, children: readonly Op[], view: AdminView): ParentAction {
  if (parent.data.kind !== 'scaleIn') return { kind: 'finish', status: 'kFailed', error: `op ${parent.id} (${parent.type}) is no parent op` };
  const live = children.filter((c) => !isTerminal(c.status));
  const waitChildren = (): ParentAction => ({ kind: 'wait', why: `waiting for child ops ${live.map((c) => c.id).join(',')}` });
  if (parent.cancelRequested) return live.length > 0 ? waitChildren() : { kind: 'finish', status: 'kCanceled', error: 'canceled by admin' };
  const failed = children.filter((c) => c.status === 'kFailed' || c.status === 'kCanceled');
  if (failed.length > 0) return live.length > 0 ? waitChildren() : { kind: 'finish', status: 'kFailed', error: failed.map(describe).join('; ') };
  // The pre-checks ran when the scale-in was asked; mid-way a moved copy is not yet in sync and
  // would fail them. A leaving tablet that goes down fails the children that move from it.
  const step = planScaleInStep(parent.data.endpoints, view, false);
  if (!step.ok) return live.length > 0 ? waitChildren() : { kind: 'finish', status: 'kFailed', error: step.error.error.message };
  if (step.ops.length > 0) return { kind: 'spawn', requests: step.ops };
  if (!step.pending && live.length === 0) return { kind: 'finish', status: 'kDone' };
  return { kind: 'wait', why: step.lines.join('; ') || 'waiting' };
}
