/**
 * A TCP proxy on 127.0.0.1 in front of one ZooKeeper server, used to cut a client off the server
 * while the server keeps running (so that the server, not the client, decides when the session
 * expires). partition() drops every connection and refuses new ones until heal().
 */
import net from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private partitioned = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static start(targetPort: number): Promise<TcpProxy> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => {
        const address = server.address();
        if (address === null || typeof address !== 'object') return reject(new Error('proxy has no port'));
        const proxy = new TcpProxy(server, address.port);
        server.on('connection', (client) => proxy.accept(client, targetPort));
        resolve(proxy);
      });
    });
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  partition(): void {
    this.partitioned = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.partitioned = false;
  }

  close(): Promise<void> {
    this.partition();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, targetPort: number): void {
    if (this.partitioned) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}
