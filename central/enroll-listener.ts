// Central's enrollment listener: HTTPS on an address terminals can reach, separate from the admin API
// (which stays on loopback). It serves only what a terminal holding no admin token may do:
//   POST /enroll {code, publicKey, alg?}  redeem a one-time code (the code is the credential)
//   POST /terminal {action, terminal, t, publicKey?, sig}  rotate / rotate-commit / retire, signed with
//        the terminal's key (central/terminal-requests.ts)
//   GET /healthz
// Every request is counted against its address (a token bucket: a burst, then a steady rate), bodies over
// 4 KiB are refused before they are read in full, and slow clients are cut off. Terminals pin the
// certificate by fingerprint (provisioning/enrollment-string.ts), so it may be self-signed.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { fromHex } from '../shared/bytes.js';
import { InvalidInput } from '../shared/errors.js';
import { parseTerminalRequest } from '../shared/terminal-request.js';
import { listen } from '../shared/net.js';
import type { CentralAdmin, EnrollmentResult } from './admin.js';
import { certificateFingerprint, type TlsFiles } from './enroll-cert.js';
import { RequestRefused, type TerminalRequests } from './terminal-requests.js';

export const MAX_ENROLL_BODY = 4096;

/** What `/enroll` answers: the admin's result plus the broker certificate to pin (mqtts only). */
export interface NetworkEnrollmentResult extends EnrollmentResult {
  /** PEM of the broker's TLS certificate, when terminals connect with mqtts://. */
  mqttCertificate?: string;
}

export interface EnrollListenerOptions {
  admin: CentralAdmin;
  requests: TerminalRequests;
  tls: TlsFiles;
  port: number;
  host: string;
  /** PEM of the broker's certificate, handed to terminals to pin for mqtts://. */
  mqttCertificate?: string;
  /** Requests per address: burst size and refill per minute (default 20 and 20). */
  burst?: number;
  perMinute?: number;
  logger: Logger;
}

class Bucket {
  tokens: number;
  at: number;
  constructor(burst: number, now: number) {
    this.tokens = burst;
    this.at = now;
  }
}

const MAX_TRACKED_ADDRESSES = 10_000;

export class EnrollListener {
  private server: Server | undefined;
  private readonly buckets = new Map<string, Bucket>();
  private readonly log: Logger;
  port = 0;
  readonly fingerprint: string;

  constructor(private readonly opts: EnrollListenerOptions) {
    this.log = opts.logger.child({ component: 'enroll-listener' });
    this.fingerprint = certificateFingerprint(readFileSync(opts.tls.certFile));
  }

  /** One token per request; false when the address has used its burst and the refill. */
  private allow(address: string): boolean {
    const burst = this.opts.burst ?? 20;
    const perMs = (this.opts.perMinute ?? 20) / 60_000;
    const now = Date.now();
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= MAX_TRACKED_ADDRESSES) {
        // Forget full buckets first (they carry no information); a flood of addresses can't grow memory.
        for (const [k, v] of this.buckets)
          if (v.tokens + (now - v.at) * perMs >= burst) this.buckets.delete(k);
        if (this.buckets.size >= MAX_TRACKED_ADDRESSES) this.buckets.clear();
      }
      b = new Bucket(burst, now);
      this.buckets.set(address, b);
    }
    b.tokens = Math.min(burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_ENROLL_BODY) throw new RequestRefused(400, `body: over ${MAX_ENROLL_BODY} bytes`);
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_ENROLL_BODY) throw new RequestRefused(400, `body: over ${MAX_ENROLL_BODY} bytes`);
      parts.push(chunk as Buffer);
    }
    let v: unknown;
    try {
      v = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      throw new RequestRefused(400, 'body: not valid JSON');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new RequestRefused(400, 'body: expected a JSON object');
    return v as Record<string, unknown>;
  }

  private async route(req: IncomingMessage, path: string): Promise<unknown> {
    if (req.method === 'GET' && path === '/healthz') return { ok: true };
    if (req.method !== 'POST') return undefined;
    if (path === '/enroll') {
      const body = await this.readBody(req);
      const { code, publicKey, alg } = body;
      if (typeof code !== 'string' || code.length < 1 || code.length > 64)
        throw new RequestRefused(400, 'code: required text of at most 64 characters');
      if (typeof publicKey !== 'string' || publicKey.length > 256)
        throw new RequestRefused(400, 'publicKey: hex of the terminal key');
      if (alg !== undefined && alg !== 'EdDSA' && alg !== 'ES256')
        throw new RequestRefused(400, 'alg: EdDSA or ES256');
      const r = await this.opts.admin.registry.enroll(code, fromHex(publicKey, 'publicKey'), alg ?? 'EdDSA');
      if (!r)
        throw new RequestRefused(
          400,
          'code: unknown, already used or expired; ask for a new enrollment code (passgate issuer enroll-code)',
        );
      const out: NetworkEnrollmentResult = { ...r };
      if (this.opts.mqttCertificate) out.mqttCertificate = this.opts.mqttCertificate;
      return out;
    }
    if (path === '/terminal') {
      const parsed = parseTerminalRequest(await this.readBody(req));
      if (typeof parsed === 'string') throw new RequestRefused(400, parsed);
      return this.opts.requests.handle(parsed);
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (code: number, v: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(v));
    };
    const address = req.socket.remoteAddress ?? '?';
    if (!this.allow(address)) {
      this.log.warn({ address }, 'enrollment listener: rate limit');
      res.setHeader('retry-after', '60');
      return send(429, {
        error: 'rate_limited',
        message: 'too many requests from this address: wait a minute',
      });
    }
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    try {
      const out = await this.route(req, path);
      if (out === undefined)
        return send(404, { error: 'not_found', message: 'this listener only enrolls terminals' });
      send(200, out);
    } catch (err) {
      if (err instanceof RequestRefused) {
        this.log.warn(
          { address, path, status: err.status, why: err.message.slice(0, 120) },
          'enrollment request refused',
        );
        return send(err.status, { error: 'refused', message: err.message });
      }
      if (err instanceof RangeError || err instanceof InvalidInput)
        return send(400, { error: 'invalid', message: (err as Error).message });
      this.log.error({ err }, 'enrollment request failed');
      send(500, { error: 'internal', message: 'central could not complete the request; see its log' });
    }
  }

  async start(): Promise<void> {
    const server = createServer(
      { cert: readFileSync(this.opts.tls.certFile), key: readFileSync(this.opts.tls.keyFile) },
      (req, res) => {
        this.handle(req, res).catch((err: Error) => {
          this.log.error({ err }, 'enrollment request failed after the reply started');
          res.destroy();
        });
      },
    );
    server.headersTimeout = 5_000;
    server.requestTimeout = 10_000;
    server.maxHeadersCount = 32;
    server.on('tlsClientError', () => undefined); // scanners and wrong pins: nothing to log per attempt
    this.server = server;
    this.port = await listen(server, this.opts.port, this.opts.host);
    this.log.info(
      { port: this.port, fingerprint: this.fingerprint },
      'enrollment listener (HTTPS) listening',
    );
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
