// The small admin HTTP API (localhost by default): JSON in, JSON out, bodies validated field by field.
// Every route needs `Authorization: Bearer <admin token>` except POST /enroll (a terminal redeeming its
// one-time code: the code is the credential) and GET /healthz.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { fromHex } from '../shared/bytes.js';
import type { Alg } from '../shared/keys.js';
import type { CentralAdmin } from './admin.js';
import { bearerMatches } from './admin-token.js';
import type { FleetReport } from './fleet.js';
import { listen } from '../shared/net.js';
import type { LibraryService } from './loans/library.js';
import { libraryRoute } from './loans/http.js';

const MAX_BODY = 64 * 1024;
const MAX_CODE_TTL_SECONDS = 30 * 86_400;

class BadRequest extends Error {}

type Body = Record<string, unknown>;

function text(b: Body, field: string, max = 256): string {
  const v = b[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new BadRequest(`${field}: required text of at most ${max} characters`);
  return v;
}

function optInt(b: Body, field: string): number | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new BadRequest(`${field}: a non-negative integer`);
  return v;
}

function alg(b: Body): Alg {
  const v = b.alg ?? 'EdDSA';
  if (v !== 'EdDSA' && v !== 'ES256') throw new BadRequest('alg: EdDSA or ES256');
  return v;
}

function hexField(b: Body, field: string): Uint8Array {
  try {
    return fromHex(text(b, field, 256), field);
  } catch (err) {
    throw new BadRequest((err as Error).message);
  }
}

async function readJson(req: IncomingMessage): Promise<Body> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BadRequest(`body over ${MAX_BODY} bytes`);
    parts.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new BadRequest('body: not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new BadRequest('body: expected a JSON object');
  return v as Body;
}

export interface AdminHttpOptions {
  admin: CentralAdmin;
  status: () => Promise<FleetReport>;
  port: number;
  host?: string;
  /** The bearer token every admin request must carry (see admin-token.ts). */
  token: string;
  /** GET /library/… (loans, conflicts, Koha export): central/loans/http.ts. */
  library?: LibraryService;
  logger: Logger;
}

/** Routes open without the admin token. */
const PUBLIC_ROUTES = new Set(['POST /enroll', 'GET /healthz']);

export class AdminHttp {
  private server: Server | undefined;
  private readonly log: Logger;
  port = 0;

  constructor(private readonly opts: AdminHttpOptions) {
    this.log = opts.logger.child({ component: 'admin-http' });
  }

  private async route(method: string, path: string, body: Body): Promise<unknown> {
    const a = this.opts.admin;
    if (method === 'GET' && path === '/healthz') return { ok: true };
    if (method === 'GET' && path === '/status') return this.opts.status();
    if (method !== 'POST') return undefined;
    switch (path) {
      case '/revoke':
        return { version: await a.revoke(text(body, 'cti', 32)) };
      case '/unrevoke':
        return { version: await a.unrevoke(text(body, 'cti', 32)) };
      case '/suspend':
        return { version: await a.suspend(text(body, 'sub', 128)) };
      case '/unsuspend':
        return { version: await a.unsuspend(text(body, 'sub', 128)) };
      case '/issuer-keys': {
        const k = {
          alg: alg(body),
          publicKey: hexField(body, 'publicKey'),
          issuer: text(body, 'issuer', 128),
        };
        const notBefore = optInt(body, 'notBefore');
        const notAfter = optInt(body, 'notAfter');
        return {
          version: await a.trustIssuerKey({
            ...k,
            ...(notBefore !== undefined ? { notBefore } : {}),
            ...(notAfter !== undefined ? { notAfter } : {}),
          }),
        };
      }
      case '/terminals':
        return a.addTerminal(
          text(body, 'id', 63),
          text(body, 'role', 32),
          hexField(body, 'publicKey'),
          alg(body),
        );
      case '/enroll-codes': {
        const ttl = optInt(body, 'ttlSeconds');
        if (ttl !== undefined && (ttl < 1 || ttl > MAX_CODE_TTL_SECONDS))
          throw new BadRequest(`ttlSeconds: between 1 and ${MAX_CODE_TTL_SECONDS} (30 days)`);
        return {
          code: await a.createEnrollmentCode(
            text(body, 'terminal', 63),
            text(body, 'role', 32),
            ttl === undefined ? undefined : ttl * 1000,
          ),
        };
      }
      case '/command': {
        const terminal = text(body, 'terminal', 63);
        const command = text(body, 'command', 32);
        const { online } = await a.sendCommand(terminal, command);
        return { sent: true, terminal, command, online };
      }
      case '/enroll': {
        const r = await a.enroll(text(body, 'code', 64), hexField(body, 'publicKey'), alg(body));
        if (!r) throw new BadRequest('code: unknown, already used or expired; ask for a new enrollment code');
        return r;
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
      const body = req.method === 'POST' ? await readJson(req) : {};
      const out = await this.route(req.method ?? 'GET', path, body);
      if (out === undefined) return send(404, { error: 'not_found', message: `no ${req.method} ${path}` });
      send(200, out);
    } catch (err) {
      if (err instanceof BadRequest || err instanceof RangeError)
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
