import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, pidAlive, removeDir, startZooKeeper, tempDir, zkCommand } from '../src/index.js';

t.test('freePort gives a bindable port; tempDir gives a fresh dir', async (t) => {
  const port = await freePort();
  t.ok(port > 0 && port < 65536);
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve()));
  });
  const a = tempDir('kit');
  const b = tempDir('kit');
  t.not(a, b);
  t.ok(existsSync(a));
  removeDir(a);
  removeDir(b);
  t.notOk(existsSync(a));
  removeDir(a);
});

t.test('a standalone ZooKeeper on 127.0.0.1: ready, restartable, stopped for good', async (t) => {
  const zk = await startZooKeeper();
  t.teardown(() => zk.stop());
  t.equal(zk.connectString, `127.0.0.1:${zk.port}`);
  t.ok(pidAlive(zk.pid));
  t.match(await zkCommand(zk.port, 'srvr'), /Mode: standalone/);
  t.equal(await zkCommand(zk.port, 'ruok'), 'imok');
  const cfg = readFileSync(path.join(zk.dir, 'conf', 'zoo.cfg'), 'utf8');
  t.match(cfg, /clientPortAddress=127\.0\.0\.1/);
  t.match(cfg, /admin\.enableServer=false/);
  t.match(cfg, /tickTime=200/);
  t.ok(existsSync(path.join(zk.dir, 'zookeeper.log')), 'log4j writes into the dir');

  const pidBefore = zk.pid;
  await zk.restart();
  t.not(zk.pid, pidBefore);
  t.notOk(pidAlive(pidBefore), 'the old process is gone');
  t.match(await zkCommand(zk.port, 'srvr'), /Mode: standalone/, 'same port after restart');

  zk.kill('SIGKILL');
  await zk.restart();
  t.match(await zkCommand(zk.port, 'srvr'), /Mode: standalone/, 'restart after SIGKILL');

  const pid = zk.pid;
  const dir = zk.dir;
  zk.kill('SIGSTOP');
  await zk.stop();
  t.notOk(pidAlive(pid), 'stop() ends even a paused server');
  t.notOk(existsSync(dir), 'its own temp dir is removed');
  await zk.stop();
});

t.test('two servers side by side; a given dir is kept', async (t) => {
  const dir = tempDir('zk-given');
  t.teardown(() => removeDir(dir));
  const [a, b] = await Promise.all([startZooKeeper({ dir }), startZooKeeper()]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  t.not(a.port, b.port);
  t.match(await zkCommand(a.port, 'conf'), new RegExp(`dataDir=${dir}`));
  await a.stop();
  t.ok(existsSync(path.join(dir, 'conf', 'zoo.cfg')), 'a caller-owned dir stays');
  t.match(await zkCommand(b.port, 'srvr'), /Mode: standalone/);
});

t.test('a taken port is reported, not hidden', async (t) => {
  const zk = await startZooKeeper();
  t.teardown(() => zk.stop());
  await t.rejects(startZooKeeper({ port: zk.port }), /did not start/);
});
