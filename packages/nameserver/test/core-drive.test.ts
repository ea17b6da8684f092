/**
 * The drive step as a table (core/drive.ts): each row is a set of flags about a running op's
 * current task and the one action decideDrive must name. The rows follow DRIVE_ORDER, and pairs
 * of rows show which rule wins when two hold at once.
 */
import t from 'tap';
import { DRIVE_ORDER, decideDrive, type DriveAction, type DriveFacts } from '../src/core/index.js';

/** A started tablet task that is neither done nor due: waiting for its answer. */
const BASE: DriveFacts = {
  running: true,
  writePending: false,
  applyWaiting: false,
  hasTask: true,
  spawnWait: 'none',
  taskStarted: true,
  tableExists: true,
  tabletDown: false,
  tabletDownGraceOver: false,
  timedOut: false,
  recheck: false,
  reportAwaited: false,
  cancelRequested: false,
  inFlight: true,
  commandPending: true,
  lastSendRecent: true,
  retryDue: true,
  hasApply: false,
};

const ROWS: Array<[string, Partial<DriveFacts>, DriveAction]> = [
  ['not running', { running: false, writePending: true }, { kind: 'idle' }],
  ['own write pending beats everything below', { writePending: true, hasTask: false, cancelRequested: true }, { kind: 'wait', reason: 'opWrite' }],
  ['metadata write pending', { applyWaiting: true, hasTask: false }, { kind: 'wait', reason: 'metadataWrite' }],
  ['no task left', { hasTask: false, tabletDown: true }, { kind: 'finishOp' }],
  ['child not yet created', { spawnWait: 'uncreated', taskStarted: false }, { kind: 'wait', reason: 'childCreated' }],
  ['child created', { spawnWait: 'created' }, { kind: 'completeTask' }],
  ['task not started', { taskStarted: false, tableExists: false }, { kind: 'startTask' }],
  ['table gone', { tableExists: false, tabletDown: true }, { kind: 'failOp', error: 'table does not exist' }],
  ['tablet down within grace', { tabletDown: true, recheck: true, cancelRequested: true }, { kind: 'wait', reason: 'tabletDown' }],
  ['tablet down past grace', { tabletDown: true, tabletDownGraceOver: true }, { kind: 'failTask', reason: 'tabletDown' }],
  ['tablet down past the task timeout (post-commit)', { tabletDown: true, timedOut: true }, { kind: 'failTask', reason: 'tabletDown' }],
  ['recheck waits for a report', { recheck: true, reportAwaited: true, cancelRequested: true }, { kind: 'wait', reason: 'report' }],
  ['recheck with a report', { recheck: true, cancelRequested: true }, { kind: 'recheck' }],
  ['cancel with nothing in flight', { cancelRequested: true, inFlight: false }, { kind: 'cancel' }],
  ['cancel waits for the command in flight', { cancelRequested: true, inFlight: true }, { kind: 'wait', reason: 'answer' }],
  ['command timed out, last send recent: one more interval', { timedOut: true }, { kind: 'wait', reason: 'answer' }],
  ['command timed out, last send old', { timedOut: true, lastSendRecent: false }, { kind: 'failTask', reason: 'commandTimeout' }],
  ['command timed out, nothing in flight', { timedOut: true, inFlight: false, lastSendRecent: false }, { kind: 'failTask', reason: 'commandTimeout' }],
  ['first send', { inFlight: false, lastSendRecent: false }, { kind: 'send' }],
  ['retry not yet due', { inFlight: false, lastSendRecent: false, retryDue: false }, { kind: 'wait', reason: 'retry' }],
  ['resend after the interval', { lastSendRecent: false }, { kind: 'send' }],
  ['metadata change', { commandPending: false, inFlight: false, hasApply: true }, { kind: 'apply' }],
  ['check task or answered command', { commandPending: false, inFlight: false }, { kind: 'observe' }],
];

t.test('decideDrive: every row of the table', async (t) => {
  for (const [name, facts, want] of ROWS) t.same(decideDrive({ ...BASE, ...facts }), want, name);
});

t.test('every rule of DRIVE_ORDER has a row', async (t) => {
  const kinds = new Set(ROWS.map(([, , a]) => (a.kind === 'wait' ? `wait ${a.reason}` : a.kind)));
  const needed = ['idle', 'wait opWrite', 'wait metadataWrite', 'finishOp', 'wait childCreated', 'completeTask', 'startTask', 'failOp', 'failTask', 'wait tabletDown', 'wait report', 'recheck', 'cancel', 'wait answer', 'send', 'wait retry', 'apply', 'observe'];
  for (const k of needed) t.ok(kinds.has(k), k);
  t.equal(DRIVE_ORDER.length, 13);
});

t.test('the table is exhaustive over the boolean flags that matter at each rule: no combination throws or returns undefined', async (t) => {
  const flags: Array<keyof DriveFacts> = ['writePending', 'applyWaiting', 'hasTask', 'taskStarted', 'tableExists', 'tabletDown', 'tabletDownGraceOver', 'timedOut', 'recheck', 'reportAwaited', 'cancelRequested', 'inFlight', 'commandPending', 'lastSendRecent', 'retryDue', 'hasApply'];
  let combos = 0;
  for (let mask = 0; mask < 1 << flags.length; mask++) {
    const f: DriveFacts = { ...BASE };
    flags.forEach((name, i) => ((f as unknown as Record<string, boolean>)[name] = (mask & (1 << i)) !== 0));
    const a = decideDrive(f);
    if (a === undefined || typeof a.kind !== 'string') t.fail(`no action for ${JSON.stringify(f)}`);
    // A command in flight is never overtaken by a cancel.
    if (a.kind === 'cancel' && f.inFlight) t.fail('cancel with a command in flight');
    // Nothing is sent while the op's own write is unconfirmed.
    if (a.kind === 'send' && f.writePending) t.fail('send before the op write is confirmed');
    combos++;
  }
  t.equal(combos, 1 << flags.length);
});
