// A local TCP line socket (simulation, tests, the demo): one line in, one JSON line back per line.
// Lines on one connection are decided in order; bound to loopback by config.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  LineHygiene,
  LineSplitter,
  type IgnoredHandler,
  type LineHandler,
  type LineInput,
  type LineResponse,
} from './line-input.js';
import { listen } from '../../shared/net.js';

export interface TcpInputOptions {
  host: string;
  port: number;
  maxLineLength: number;
  repeatIgnoreMs: number;
}

export class TcpLineInput implements LineInput {
  readonly name = 'tcp';
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private boundPort = 0;

  constructor(
    private readonly opts: TcpInputOptions,
    private readonly logger: Logger,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  async start(handler: LineHandler, ignored: IgnoredHandler = () => undefined): Promise<void> {
    const server = createServer((socket) => this.accept(socket, handler, ignored));
    server.maxConnections = 16;
    this.boundPort = await listen(server, this.opts.port, this.opts.host);
    this.server = server;
    this.logger.info({ host: this.opts.host, port: this.boundPort }, 'tcp line input listening');
  }

  private accept(socket: Socket, handler: LineHandler, ignored: IgnoredHandler): void {
    this.sockets.add(socket);
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    const hygiene = new LineHygiene(this.opts);
    let chain: Promise<void> = Promise.resolve();
    const reply = (r: LineResponse) => {
      if (!socket.destroyed) socket.write(JSON.stringify(r) + '\n');
    };
    const splitter = new LineSplitter(
      this.opts.maxLineLength,
      (raw) => {
        chain = chain.then(async () => {
          const h = hygiene.check(raw);
          if (!h.ok) ignored(h.why, this.name);
          reply(h.ok ? await handler(h.line, this.name) : { ignored: h.why });
        });
      },
      () => {
        chain = chain.then(() => {
          ignored('line_too_long', this.name);
          reply({ ignored: 'line_too_long' });
        });
      },
    );
    socket.on('data', (chunk: string) => splitter.push(chunk));
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
