/**
 * Test ports lie outside the kernel's ephemeral range (where outgoing connections take their
 * local port, so a picked port could be taken before its server binds it) and can be bound.
 */
import net from 'node:net';
import t from 'tap';
import { ephemeralPortRange, freePort, freePortRange } from '../src/ports.js';

const [low, high] = ephemeralPortRange();
const outside = (p: number): boolean => p < low || p > high;

function bind(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve()));
  });
}

t.test('freePort: outside the ephemeral range, bindable', async (t) => {
  t.ok(low >= 1024 && high >= low, `ephemeral range ${low}-${high}`);
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    t.ok(outside(p) && p >= 10_000 && p <= 65_535, `port ${p}`);
  }
  await bind(await freePort());
});

t.test('freePortRange: every port of the span outside the ephemeral range and free', async (t) => {
  for (let i = 0; i < 20; i++) {
    const base = await freePortRange(40);
    t.ok(outside(base) && outside(base + 39), `range ${base}-${base + 39}`);
    t.ok(!(base < low && base + 39 >= low), 'does not straddle the range start');
  }
  const base = await freePortRange(5);
  for (let p = base; p < base + 5; p++) await bind(p);
});
