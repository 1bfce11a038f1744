// The kiosk screen on loopback: GET / (page), /screen.css, /screen.js, /events (server-sent events: the
// current KioskView, then every change), POST /control/{checkout|return|done|cancel} (the page's buttons;
// the x-kiosk header makes a browser preflight, so no other site can press them).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { listen } from '../../shared/net.js';
import type { Kiosk, KioskView } from './kiosk.js';
import { KIOSK_CONTROLS, type KioskControl } from './scan-lines.js';
import { SCREEN_CSS, SCREEN_HTML, SCREEN_JS } from './screen-assets.js';

const ASSETS: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: SCREEN_HTML },
  '/screen.css': { type: 'text/css; charset=utf-8', body: SCREEN_CSS },
  '/screen.js': { type: 'text/javascript; charset=utf-8', body: SCREEN_JS },
};
const MAX_CLIENTS = 8;

export class KioskScreenServer {
  private server: Server | undefined;
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe: (() => void) | undefined;
  private boundPort = 0;

  constructor(
    private readonly kiosk: Kiosk,
    private readonly opts: { host: string; port: number },
    private readonly logger: Logger,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.kiosk.onView((v) => this.broadcast(v));
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const asset = ASSETS[path];
      if (req.method === 'GET' && asset) {
        res.writeHead(200, {
          'content-type': asset.type,
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'",
        });
        res.end(asset.body);
      } else if (req.method === 'GET' && path === '/events') {
        if (this.clients.size >= MAX_CLIENTS) return void res.writeHead(503).end();
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        res.write(`data: ${JSON.stringify(this.kiosk.view())}\n\n`);
        this.clients.add(res);
        req.on('close', () => this.clients.delete(res));
      } else if (req.method === 'POST' && path.startsWith('/control/')) {
        const c = path.slice('/control/'.length);
        if (req.headers['x-kiosk'] !== '1' || !(KIOSK_CONTROLS as readonly string[]).includes(c))
          return void res.writeHead(400).end();
        this.kiosk.control(c as KioskControl).then(
          () => res.writeHead(204).end(),
          (err: unknown) => {
            this.logger.error({ err }, 'kiosk control failed');
            res.writeHead(500).end();
          },
        );
      } else res.writeHead(404).end();
    });
    this.boundPort = await listen(server, this.opts.port, this.opts.host);
    this.server = server;
    this.logger.info({ host: this.opts.host, port: this.boundPort }, 'kiosk screen listening');
  }

  private broadcast(view: KioskView): void {
    const data = `data: ${JSON.stringify(view)}\n\n`;
    for (const c of this.clients) c.write(data);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    for (const c of this.clients) c.end();
    this.clients.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
