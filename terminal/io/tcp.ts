// A local TCP line socket (simulation, tests, the demo): one line in, one JSON line back per line.
// Lines on one connection are decided in order; bound to loopback by config.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { listen } from '../../shared/net.js';
import type { TcpInputConfig } from './config.js';
import { OK, type DeviceHealth, type InputDevice, type InputSink } from './device.js';
import { LineFeed, simulationLineToScan } from './lines.js';

export class TcpInput implements InputDevice {
  readonly type = 'tcp';
  readonly name: string;
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private boundPort = 0;

  constructor(
    private readonly config: TcpInputConfig,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
  }

  get port(): number {
    return this.boundPort;
  }

  async start(sink: InputSink): Promise<void> {
    const server = createServer((socket) => this.accept(socket, sink));
    server.maxConnections = 16;
    this.boundPort = await listen(server, this.config.port, this.config.host);
    this.server = server;
    this.logger.info({ host: this.config.host, port: this.boundPort }, 'tcp line input listening');
  }

  health(): DeviceHealth {
    return this.server ? OK : { state: 'absent', reason: 'not_listening' };
  }

  private accept(socket: Socket, sink: InputSink): void {
    this.sockets.add(socket);
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
    socket.on('data', (chunk: string) => feed.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.end();
    setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 500).unref();
    await closed;
  }
}
