/**
 * The op model's status table and showopstatus rows: legal and illegal transitions, the seed's
 * output line, running / waiting / finished rows, filters, local-time formatting.
 */
import t from 'tap';
import {
  OP_STATUS_COLUMNS,
  STATUS_TRANSITIONS,
  formatOpTime,
  isTerminal,
  newTask,
  opStatusCells,
  opStatusRows,
  opStatusTable,
  transitionOp,
  transitionTask,
  type Op,
} from '../src/core/index.js';

function op(fields: Partial<Op> = {}): Op {
  return {
    id: 51,
    type: 'kMigrateOP',
    db: 'demo_db',
    name: 'flow',
    tid: 4,
    pid: 0,
    tasks: [newTask({ kind: 'kPauseSnapshot', endpoint: 'a' }), newTask({ kind: 'kSendSnapshot', endpoint: 'a', des: 'b' })],
    taskIndex: 0,
    commitTaskIndex: 1,
    status: 'kInited',
    createdMs: 1000,
    startMs: 0,
    endMs: 0,
    nsEpoch: 1,
    parentId: null,
    data: { kind: 'migrate', src: 'c', des: 'b' },
    progress: { tasksDone: 0, tasksTotal: 2 },
    cancelRequested: false,
    ...fields,
  };
}

t.test('status transitions follow the one table', async (t) => {
  t.same(STATUS_TRANSITIONS.kInited, ['kDoing', 'kFailed', 'kCanceled']);
  t.same(STATUS_TRANSITIONS.kDoing, ['kDone', 'kFailed', 'kCanceled']);
  for (const s of ['kDone', 'kFailed', 'kCanceled'] as const) t.ok(isTerminal(s));
  const o = op();
  transitionOp(o, 'kDoing', 5000);
  t.equal(o.startMs, 5000);
  transitionTask(o, 0, 'kDoing');
  transitionTask(o, 0, 'kDone');
  t.throws(() => transitionTask(o, 0, 'kDoing'), { message: 'invalid op 51 task 0 (kPauseSnapshot) status transition [kDone -> kDoing]' });
  t.throws(() => transitionTask(o, 7, 'kDoing'), { message: 'op 51 has no task 7' });
  transitionOp(o, 'kDone', 9000);
  t.equal(o.endMs, 9000);
  t.throws(() => transitionOp(o, 'kDoing', 9999), { message: 'invalid op 51 status transition [kDone -> kDoing]' });
  t.throws(() => transitionOp(op(), 'kDone', 1), { message: 'invalid op 51 status transition [kInited -> kDone]' });
});

t.test('the seed line: kMigrateOP flow 0 kDone, 12s, cur_task -', async (t) => {
  const utc8 = 8 * 60; // the seed was recorded in UTC+8
  const start = Date.UTC(2018, 7, 24, 8, 33, 16);
  const done = op({ status: 'kDone', startMs: start, endMs: start + 12_000, taskIndex: 2 });
  t.same(OP_STATUS_COLUMNS, ['op_id', 'op_type', 'name', 'pid', 'status', 'start_time', 'execute_time', 'end_time', 'cur_task']);
  t.same(opStatusTable([done], { name: 'flow' }, start + 99_000, utc8), [
    ['51', 'kMigrateOP', 'flow', '0', 'kDone', '20180824163316', '12s', '20180824163328', '-'],
  ]);
});

t.test('rows for waiting, running and finished ops; filters; order by id', async (t) => {
  const start = Date.UTC(2024, 0, 2, 3, 4, 5);
  const waiting = op({ id: 60, pid: 2 });
  const running = op({ id: 55, status: 'kDoing', startMs: start, taskIndex: 1 });
  const other = op({ id: 57, name: 'other', status: 'kFailed', startMs: start, endMs: start + 1_500, db: 'db2' });
  const rows = opStatusRows([waiting, running, other]);
  t.same(rows.map((r) => r.opId), [55, 57, 60]);
  t.same(rows[0], { opId: 55, opType: 'kMigrateOP', db: 'demo_db', name: 'flow', pid: 0, status: 'kDoing', startMs: start, curTask: 'kSendSnapshot' });
  t.same(rows[2], { opId: 60, opType: 'kMigrateOP', db: 'demo_db', name: 'flow', pid: 2, status: 'kInited' });
  t.same(opStatusCells(rows[0]!, start + 7_900, 0), ['55', 'kMigrateOP', 'flow', '0', 'kDoing', '20240102030405', '7s', '-', 'kSendSnapshot']);
  t.same(opStatusCells(rows[1]!, start + 7_900, 0), ['57', 'kMigrateOP', 'other', '0', 'kFailed', '20240102030405', '1s', '20240102030406', '-']);
  t.same(opStatusCells(rows[2]!, start, 0), ['60', 'kMigrateOP', 'flow', '2', 'kInited', '-', '-', '-', '-']);
  t.same(opStatusRows([waiting, running, other], { db: 'demo_db', name: 'flow', pid: 0 }).map((r) => r.opId), [55]);
  t.same(opStatusRows([waiting, running, other], { db: 'db2' }).map((r) => r.opId), [57]);
});

t.test('times are local time by default', async (t) => {
  const ms = Date.UTC(2024, 5, 30, 23, 59, 58);
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  t.equal(formatOpTime(ms), `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`);
  t.equal(formatOpTime(ms, 0), '20240630235958');
  t.equal(formatOpTime(ms, 60), '20240701005958');
});
