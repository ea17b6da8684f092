// ZooKeeper's GC pauses read from its JVM's log (src/zk-gc.ts): lines as OpenJDK 17 writes them
// with -Xlog:gc:...:uptime and the serial collector, a rotation, and a cluster without the log.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseGcPauses, zkGcWatch } from '../src/zk-gc.js';

// Written by `java -XX:+UseSerialGC -Xmn512k -Xlog:gc:file=...:uptime` here (OpenJDK 17.0.15).
const LOG = `[0.563s] Using Serial
[1.583s] GC(0) Pause Young (Allocation Failure) 0M->0M(15M) 1.325ms
[2.579s] GC(1) Pause Young (Allocation Failure) 0M->0M(15M) 16.953ms
[9.001s] GC(2) Pause Full (Allocation Failure) 120M->80M(512M) 2345.500ms
`;

t.test('parse: every pause, young and full, nothing else', async (t) => {
  t.same(parseGcPauses(LOG), [1.325, 16.953, 2345.5]);
  t.same(parseGcPauses(''), []);
  t.same(parseGcPauses('[0.1s] Using Serial\n'), []);
});

t.test('watch: the pauses since the last look, a rotated log, no log', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zk-gc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(zkGcWatch(dir).since(), undefined, 'no zk/gc.log: nothing to tell');
  mkdirSync(path.join(dir, 'zk'));
  const file = path.join(dir, 'zk', 'gc.log');
  writeFileSync(file, LOG);
  const w = zkGcWatch(dir);
  t.same(w.since(), { count: 3, maxMs: 2345.5, totalMs: 1.325 + 16.953 + 2345.5 });
  t.same(w.since(), { count: 0, maxMs: 0, totalMs: 0 }, 'nothing new');
  appendFileSync(file, '[10.0s] GC(3) Pause Young (Allocation Failure) 90M->80M(512M) 4.000ms\n');
  t.same(w.since(), { count: 1, maxMs: 4, totalMs: 4 });
  writeFileSync(file, '[11.0s] GC(4) Pause Young (Allocation Failure) 90M->80M(512M) 7.000ms\n');
  t.same(w.since(), { count: 1, maxMs: 7, totalMs: 7 }, 'after a rotation: the new file');
});
