// A local TCP line socket (simulation, tests, the demo): one line in, one JSON line back per line.
// Lines on one connection are decided in order; bound to loopback by config. At most `maxConnections`
// at once; a connection idle for `idleTimeoutMs` is closed, and when all slots are taken a new
// connection takes the slot of the one idle the longest, so idle sockets cannot lock the input out
// (issue 8 item 10).
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
  /** Default 60 s. */
  idleTimeoutMs?: number;
  /** Default 16. */
  maxConnections?: number;
}

export const TCP_IDLE_TIMEOUT_MS = 60_000;
export const TCP_MAX_CONNECTIONS = 16;

export class TcpLineInput implements LineInput {
  readonly name = 'tcp';
  private server: Server | undefined;
  /** Open connections → when each last sent a byte. */
  private sockets = new Map<Socket, number>();
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
    this.boundPort = await listen(server, this.opts.port, this.opts.host);
    this.server = server;
    this.logger.info({ host: this.opts.host, port: this.boundPort }, 'tcp line input listening');
  }

  private accept(socket: Socket, handler: LineHandler, ignored: IgnoredHandler): void {
    if (this.sockets.size >= (this.opts.maxConnections ?? TCP_MAX_CONNECTIONS)) {
      let oldest: Socket | undefined;
      for (const [s, at] of this.sockets) if (!oldest || at < this.sockets.get(oldest)!) oldest = s;
      this.logger.warn('tcp input full: closing the connection idle the longest');
      this.sockets.delete(oldest!);
      oldest!.destroy();
    }
    this.sockets.set(socket, performance.now());
    socket.setTimeout(this.opts.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
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
    socket.on('data', (chunk: string) => {
      if (this.sockets.has(socket)) this.sockets.set(socket, performance.now());
      splitter.push(chunk);
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
