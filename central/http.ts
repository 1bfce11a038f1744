// The small admin HTTP API (localhost by default): JSON in, JSON out, bodies validated field by field.
// Every route needs `Authorization: Bearer <admin token>` except POST /enroll (a terminal redeeming its
// one-time code: the code is the credential) and GET /healthz.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import {
  ADMIN_ROUTES as R,
  MAX_ADMIN_BODY_BYTES,
  parseAdminBody,
  readAcceptGapRequest,
  readRetireRequest,
  type AcceptGapResponse,
  type RetireResponse,
  readAddTerminalRequest,
  readCommandRequest,
  readEnrollCodeRequest,
  readEnrollRequest,
  readIssuerKeyRequest,
  readSerialRequest,
  readSubjectRequest,
  readCardRequest,
  type AdminBody,
  type CommandResponse,
  type EnrollCodeResponse,
  type EnrollmentResult,
  type ListVersionResponse,
  type TerminalCredentials,
} from '../shared/admin-api.js';
import { InvalidInput } from '../shared/errors.js';
import type { CentralAdmin } from './admin.js';
import { bearerMatches } from './admin-token.js';
import type { FleetReport } from './fleet.js';
import { listen } from '../shared/net.js';
import type { LibraryService } from './loans/library.js';
import { libraryChange, libraryRoute } from './loans/http.js';

async function readBody(req: IncomingMessage): Promise<AdminBody> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_ADMIN_BODY_BYTES) throw new InvalidInput('body', `over ${MAX_ADMIN_BODY_BYTES} bytes`);
    parts.push(chunk as Buffer);
  }
  return parseAdminBody(Buffer.concat(parts).toString('utf8'));
}

export interface AdminHttpOptions {
  admin: CentralAdmin;
  status: () => Promise<FleetReport>;
  /** GET /healthz: 200 when `ok`, else 503 with the same body (e.g. the database is unreachable). */
  health?: () => Promise<{ ok: boolean } & Record<string, unknown>>;
  port: number;
  host?: string;
  /** The bearer token every admin request must carry (see admin-token.ts). */
  token: string;
  /** GET /library/… (loans, conflicts, Koha export): central/loans/http.ts. */
  library?: LibraryService;
  logger: Logger;
  /** With the enrollment listener: the string carrying a new code, central's address and fingerprint. */
  enrollmentString?: (code: string) => { enrollment: string; enrollUrl: string; fingerprint: string };
}

/** Routes open without the admin token. */
const PUBLIC_ROUTES = new Set([`POST ${R.enroll}`, `GET ${R.healthz}`]);

export class AdminHttp {
  private server: Server | undefined;
  private readonly log: Logger;
  port = 0;

  constructor(private readonly opts: AdminHttpOptions) {
    this.log = opts.logger.child({ component: 'admin-http' });
  }

  private async route(method: string, path: string, body: AdminBody): Promise<unknown> {
    const { lists, registry, commands, incidents } = this.opts.admin;
    if (method === 'GET' && path === R.healthz) return { ok: true };
    if (method === 'GET' && path === R.status) return this.opts.status();
    if (method === 'GET' && path === R.alerts) return { alerts: await incidents.alerts(100) };
    if (method !== 'POST') return undefined;
    const version = async (v: Promise<number>): Promise<ListVersionResponse> => ({ version: await v });
    switch (path) {
      case R.revoke:
        return version(lists.revoke(readSerialRequest(body).cti));
      case R.unrevoke:
        return version(lists.unrevoke(readSerialRequest(body).cti));
      case R.suspend:
        return version(lists.suspend(readSubjectRequest(body).sub));
      case R.unsuspend:
        return version(lists.unsuspend(readSubjectRequest(body).sub));
      case R.cardBind: {
        const r = readCardRequest(body, true);
        return version(
          lists.bindCard(r.uid, { sub: r.sub!, ent: r.ent!, ...(r.exp !== undefined ? { exp: r.exp } : {}) }),
        );
      }
      case R.cardBlock:
        return version(lists.blockCard(readCardRequest(body, false).uid));
      case R.cardUnbind:
        return version(lists.unbindCard(readCardRequest(body, false).uid));
      case R.issuerKeys:
        return version(lists.trustIssuerKey(readIssuerKeyRequest(body)));
      case R.terminals: {
        const r = readAddTerminalRequest(body);
        return registry.addTerminal(r.id, r.role, r.publicKey, r.alg) satisfies Promise<TerminalCredentials>;
      }
      case R.enrollCodes: {
        const r = readEnrollCodeRequest(body);
        const code = await registry.createEnrollmentCode(
          r.terminal,
          r.role,
          r.ttlSeconds === undefined ? undefined : r.ttlSeconds * 1000,
        );
        return { code, ...this.opts.enrollmentString?.(code) } satisfies EnrollCodeResponse;
      }
      case R.acceptGap: {
        const r = readAcceptGapRequest(body);
        return incidents.acceptGap(r.terminal, r.from) satisfies Promise<AcceptGapResponse>;
      }
      case R.retire:
        return registry.retire(readRetireRequest(body).terminal) satisfies Promise<RetireResponse>;
      case R.command: {
        const { terminal, command } = readCommandRequest(body);
        const { online } = await commands.send(terminal, command);
        return { sent: true, terminal, command, online } satisfies CommandResponse;
      }
      case R.enroll: {
        const r = readEnrollRequest(body);
        const result: EnrollmentResult | undefined = await registry.enroll(r.code, r.publicKey, r.alg);
        if (!result)
          throw new InvalidInput('code', 'unknown, already used or expired; ask for a new enrollment code');
        return result;
      }
      default:
        return undefined;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (code: number, v: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      // Authenticate before reading the body: a refused request changes nothing.
      if (
        !PUBLIC_ROUTES.has(`${req.method} ${path}`) &&
        !bearerMatches(req.headers.authorization, this.opts.token)
      ) {
        this.log.warn(
          { method: req.method, path: path.slice(0, 64) },
          'refused an admin request without a valid token',
        );
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
        res.end(
          JSON.stringify({
            error: 'unauthorized',
            message:
              'missing or wrong admin token: send Authorization: Bearer <the token in DATA/admin.token>',
          }),
        );
        return;
      }
      if (req.method === 'GET' && path === R.healthz && this.opts.health) {
        const h = await this.opts.health();
        return send(h.ok ? 200 : 503, h);
      }
      if (req.method === 'GET' && path.startsWith('/library/') && this.opts.library) {
        const lib = await libraryRoute(
          this.opts.library,
          path,
          new URL(req.url ?? '/', 'http://x').searchParams,
        );
        if (lib === undefined) return send(404, { error: 'not_found', message: `no GET ${path}` });
        if (typeof lib === 'string') {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          return void res.end(lib);
        }
        return send(200, lib);
      }
      const body = req.method === 'POST' ? await readBody(req) : {};
      if (req.method === 'POST' && path.startsWith('/library/') && this.opts.library) {
        const changed = await libraryChange(this.opts.library, path, body);
        if (changed === undefined) return send(404, { error: 'not_found', message: `no POST ${path}` });
        return send(200, changed);
      }
      const out = await this.route(req.method ?? 'GET', path, body);
      if (out === undefined) return send(404, { error: 'not_found', message: `no ${req.method} ${path}` });
      send(200, out);
    } catch (err) {
      if (err instanceof InvalidInput)
        return send(400, { error: 'invalid', message: (err as Error).message });
      this.log.error({ err }, 'admin request failed');
      send(500, { error: 'internal', message: 'central could not complete the request; see its log' });
    }
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      // Never an unhandled rejection (it would end central): e.g. a reply after the headers went out.
      this.handle(req, res).catch((err: Error) => {
        this.log.error({ err }, 'admin request failed after the reply started');
        res.destroy();
      });
    });
    this.server = server;
    this.port = await listen(server, this.opts.port, this.opts.host ?? '127.0.0.1');
    this.log.info({ port: this.port }, 'admin HTTP API listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
}
