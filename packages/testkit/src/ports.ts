/**
 * Free TCP ports for tests. A port is found by binding port 0 on 127.0.0.1 and releasing it; the
 * caller must still be ready for another process to grab it first (retry on bind failure).
 */
import net from 'node:net';

/** Resolves to a port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((err) => (err || port === 0 ? reject(err ?? new Error('no port assigned')) : resolve(port)));
    });
  });
}
