// showop's text and showopstatus --wait (src/nsclient/op-format.ts, op-commands.ts) in process:
// durations, the progress bar, the fraction shown, the detail text with every field, the wait
// loop ending when the op ends (plain lines without a terminal, redraws with one) and failing
// when it fails, and --reason reaching every admin request.
import t from 'tap';
import type { NsAdmin, OpDetail } from '@tessera/common';
import { formatDurationMs, opDetailText, opFraction, progressBar, progressLine } from '../src/nsclient/op-format.js';
import { takeReason, waitForOps, withReason } from '../src/nsclient/op-commands.js';
import type { CommandContext } from '../src/nsclient/commands.js';

const detail = (over: Partial<OpDetail> = {}): OpDetail => ({
  opId: 7, opType: 'kMigrateOP', db: 'd', name: 't', pid: 0, status: 'kDoing', tid: 3, createdMs: 0, startMs: 1_000, parentId: 2, childIds: [],
  endpoints: ['a:1', 'b:2'], tasksDone: 2, tasksTotal: 8, curTask: 'kCheckBinlogSyncProgress',
  tasks: [
    { index: 0, kind: 'kSendSnapshot', status: 'kDone', endpoint: 'a:1', startMs: 1_000, endMs: 1_500 },
    { index: 1, kind: 'kAddReplica', status: 'kDoing', endpoint: 'a:1', startMs: 1_500 },
  ],
  transfer: { des: 'b:2', src: 'a:1', rowsCopied: 250, rowsTotal: 1000, bytesCopied: 25_600, bytesTotal: 102_400, done: false, startMs: 1_500 },
  rowsPerSec: 100, bytesPerSec: 10_240, lagEntries: 800, etaMs: 7_500, blockedBecause: 'throttle', blockedDetail: 'snapshot bandwidth limit',
  issuedBy: { client: '127.0.0.1:5000', reason: 'disk swap' },
  ...over,
});

t.test('durations and the bar', async (t) => {
  t.equal(formatDurationMs(850), '850ms');
  t.equal(formatDurationMs(12_340), '12.3s');
  t.equal(formatDurationMs(245_000), '4m05s');
  t.equal(formatDurationMs(7_380_000), '2h03m');
  t.equal(formatDurationMs(-5), '0ms');
  t.equal(progressBar(0.3, 10), '[###.......]  30.0%');
  t.equal(progressBar(2, 4), '[####] 100.0%', 'clamped');
  t.equal(progressBar(Number.NaN, 4), '[....]   0.0%');
});

t.test('fraction: bytes while copying, tasks otherwise', async (t) => {
  t.equal(opFraction(detail()), 0.25);
  t.equal(opFraction(detail({ transfer: undefined })), 0.25, '2 of 8 tasks');
  t.equal(opFraction(detail({ status: 'kDone' })), 1);
});

t.test('the texts', async (t) => {
  const line = progressLine(detail());
  t.match(line, /^op 7 kMigrateOP t pid 0 kDoing {2}\[#+\.+\] {2}25\.0%/);
  t.match(line, /250\/1000 rows 25\.000K\/100\.000K/);
  t.match(line, /10\.000K\/s {2}lag 800 {2}eta 7\.5s {2}kCheckBinlogSyncProgress {2}blocked_because=throttle$/);
  const text = opDetailText(detail(), 3_000);
  for (const re of [/^op_id {11}7$/m, /^parent {10}2$/m, /^children {8}-$/m, /^copied_rows {5}250 of 1000$/m, /^copied_bytes {4}25\.000K of 100\.000K \(estimated\)$/m,
    /^rate {12}100 rows\/s, 10\.000K\/s$/m, /^lag {13}800 entries$/m, /^eta {13}7\.5s$/m, /^blocked_because {1}throttle \(snapshot bandwidth limit\)$/m,
    /^issued_by {7}127\.0\.0\.1:5000 reason: disk swap$/m, /^ {3}0 kSendSnapshot .* kDone .* 500ms a:1$/m, /^ {3}1 kAddReplica .* kDoing .* - 1\.5s\+ a:1$/m]) {
    t.match(text, re);
  }
});

function fakeAdmin(states: OpDetail[]): { admin: NsAdmin; calls: unknown[] } {
  const calls: unknown[] = [];
  let i = 0;
  const admin = {
    showop: async (req: unknown) => {
      calls.push(req);
      return { op: states[Math.min(i++, states.length - 1)]! };
    },
    showopstatus: async (req: unknown) => {
      calls.push(req);
      const d = states[Math.min(i++, states.length - 1)]!;
      return { ops: [], details: [d, { ...d, opId: 99, status: 'kDone' as const }] };
    },
  } as unknown as NsAdmin;
  return { admin, calls };
}

const ctxOf = (admin: NsAdmin, extra: Partial<CommandContext> = {}): CommandContext & { lines: string[] } => {
  const lines: string[] = [];
  return {
    admin, data: {} as CommandContext['data'], db: '', interactive: false, confirm: async () => false, readTextFile: async () => '', nowMs: () => 0,
    progress: (l: string) => lines.push(l), sleep: async () => undefined, lines, ...extra,
  };
};

t.test('--wait ends when the op ends', async (t) => {
  const { admin } = fakeAdmin([detail(), detail(), detail({ transfer: { ...detail().transfer!, bytesCopied: 51_200 } }), detail({ status: 'kDone', blockedBecause: undefined, etaMs: undefined })]);
  const ctx = ctxOf(admin);
  const r = await waitForOps(7, {}, ctx);
  t.equal(r.ok, true);
  t.equal(r.output, 'op 7 kDone');
  t.equal(ctx.lines.length, 3, 'plain lines, one per change (the repeated state is not printed again)');
  const redraws: Array<string | undefined> = [];
  const tty = ctxOf(fakeAdmin([detail(), detail({ status: 'kFailed', error: 'checksum differs' })]).admin, { redraw: (l) => redraws.push(l) });
  const failed = await waitForOps(7, {}, tty);
  t.equal(failed.ok, false, 'a failed op fails the wait');
  t.equal(failed.output, 'op 7 kFailed: checksum differs');
  t.equal(redraws.length, 3, 'two redraws and the final newline');
  t.equal(redraws.at(-1), undefined);
  t.equal(tty.lines.length, 0, 'nothing printed as plain lines on a terminal');
});

t.test('--wait without an id waits for the ops unfinished at the start', async (t) => {
  const { admin, calls } = fakeAdmin([detail(), detail({ status: 'kDone' })]);
  const r = await waitForOps(undefined, { db: 'd' }, ctxOf(admin));
  t.equal(r.output, 'op 7 kDone', 'op 99, finished at the start, is not waited for');
  t.same(calls[0], { db: 'd', detail: true });
});

t.test('--reason', async (t) => {
  t.same(takeReason(['a', '--reason', 'disk swap', 'b']), { args: ['a', 'b'], reason: 'disk swap' });
  t.same(takeReason(['--reason=x']), { args: [], reason: 'x' });
  t.same(takeReason(['a']), { args: ['a'] });
  const seen: unknown[] = [];
  const admin = withReason({ migrate: async (req: unknown) => { seen.push(req); return { opIds: [1] }; } } as unknown as NsAdmin, 'why');
  await admin.migrate({ db: 'd', name: 't', src: 'a:1', des: 'b:2', pids: [0] });
  t.same(seen[0], { db: 'd', name: 't', src: 'a:1', des: 'b:2', pids: [0], reason: 'why' });
});
