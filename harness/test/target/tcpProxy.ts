import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a board's sshd, so a test can cut the
 * network under a live SSH connection (both directions die without an SSH
 * disconnect message, as when a cable is pulled) and keep it down for a while.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private down = false;
  port = 0;

  constructor(
    private readonly host: string,
    private targetPort: number,
  ) {}

  /** Sends new connections to another port (a board that came back on another forwarded port). */
  retarget(port: number): void {
    this.targetPort = port;
  }

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.host);
      this.sockets.add(client).add(upstream);
      const bye = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', bye).on('close', bye);
      upstream.on('error', bye).on('close', bye);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  /** Cuts every live connection; with `stayDown`, new connections are dropped until {@link restore}. */
  cut(stayDown = true): void {
    this.down = stayDown;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.down = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
