// Health and metrics on a localhost port: GET /healthz (200 or 503 with why), /metrics (Prometheus
// text), /status (JSON report). Nothing here changes state.
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { TerminalReport } from './status.js';
import { listen } from '../shared/net.js';

export interface HttpSources {
  report(): TerminalReport;
  metrics(): string;
}

export class HealthServer {
  private server: Server | undefined;
  private boundPort = 0;

  constructor(
    private readonly opts: { host: string; port: number },
    private readonly sources: HttpSources,
    private readonly logger: Logger,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      try {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method !== 'GET') {
          res.writeHead(405, { allow: 'GET' }).end();
        } else if (path === '/healthz') {
          const r = this.sources.report();
          res.writeHead(r.healthy ? 200 : 503, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ ok: r.healthy, clock: r.clock, problems: r.problems, warnings: r.warnings }) +
              '\n',
          );
        } else if (path === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.sources.metrics());
        } else if (path === '/status') {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify(this.sources.report()) + '\n');
        } else res.writeHead(404).end();
      } catch (err) {
        this.logger.error({ err }, 'http handler failed');
        res.writeHead(500).end();
      }
    });
    this.boundPort = await listen(server, this.opts.port, this.opts.host);
    this.server = server;
    this.logger.info({ host: this.opts.host, port: this.boundPort }, 'health and metrics listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
