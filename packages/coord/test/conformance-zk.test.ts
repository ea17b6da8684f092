// The coordination conformance suite on a real ZooKeeper (CoordSession).
import t from 'tap';
import { coordConformance } from './conformance.js';
import { connect, startZk } from './helpers.js';

const zkPromise = startZk(t);

t.test('conformance: zookeeper', async (t) => {
  const zk = await zkPromise;
  coordConformance(t, { name: 'zookeeper', connect: (t, rootPath, sessionTimeoutMs) => connect(t, zk, rootPath, sessionTimeoutMs) });
});
