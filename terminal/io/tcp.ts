// A local TCP line socket (simulation, tests, the demo): one line in, one JSON line back per line.
// Lines on one connection are decided in order; bound to loopback by config. At most TCP_MAX_CONNECTIONS
// at once; a connection idle for TCP_IDLE_TIMEOUT_MS is closed, and when all slots are taken a new
// connection takes the slot of the one idle the longest, so idle sockets cannot lock the input out.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { listen } from '../../shared/net.js';
import type { TcpInputConfig } from './config.js';
import { OK, type DeviceHealth, type InputDevice, type InputSink } from './device.js';
import { LineFeed, simulationLineToScan } from './lines.js';

export const TCP_IDLE_TIMEOUT_MS = 60_000;
export const TCP_MAX_CONNECTIONS = 16;

export class TcpInput implements InputDevice {
  readonly type = 'tcp';
  readonly name: string;
  private server: Server | undefined;
  /** Open connections → when each last sent a byte. */
  private sockets = new Map<Socket, number>();
  private boundPort = 0;

  constructor(
    private readonly config: TcpInputConfig,
    private readonly logger: Logger,
    private readonly limits: { idleTimeoutMs: number; maxConnections: number } = {
      idleTimeoutMs: TCP_IDLE_TIMEOUT_MS,
      maxConnections: TCP_MAX_CONNECTIONS,
    },
  ) {
    this.name = config.name;
  }

  get port(): number {
    return this.boundPort;
  }

  async start(sink: InputSink): Promise<void> {
    const server = createServer((socket) => this.accept(socket, sink));
    this.boundPort = await listen(server, this.config.port, this.config.host);
    this.server = server;
    this.logger.info({ host: this.config.host, port: this.boundPort }, 'tcp line input listening');
  }

  health(): DeviceHealth {
    return this.server ? OK : { state: 'absent', reason: 'not_listening' };
  }

  private accept(socket: Socket, sink: InputSink): void {
    if (this.sockets.size >= this.limits.maxConnections) {
      let oldest: Socket | undefined;
      for (const [s, at] of this.sockets) if (!oldest || at < this.sockets.get(oldest)!) oldest = s;
      this.logger.warn('tcp input full: closing the connection idle the longest');
      this.sockets.delete(oldest!);
      oldest!.destroy();
    }
    this.sockets.set(socket, performance.now());
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    const { name, direction } = this.config;
    const feed = new LineFeed(
      {
        ...this.config,
        input: name,
        toScan: (line) => simulationLineToScan(line, name, direction, Date.now()),
      },
      sink,
      (r) => {
        if (!socket.destroyed) socket.write(JSON.stringify(r) + '\n');
      },
    );
    socket.on('data', (chunk: string) => {
      if (this.sockets.has(socket)) this.sockets.set(socket, performance.now());
      feed.push(chunk);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets.keys()) s.end();
    setTimeout(() => {
      for (const s of this.sockets.keys()) s.destroy();
    }, 500).unref();
    await closed;
  }
}
