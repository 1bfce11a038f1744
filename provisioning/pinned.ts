// Talking to central's enrollment listener with its certificate pinned by SHA-256 fingerprint: the TLS
// handshake completes, the fingerprint is compared, and only then is the first byte of a request
// written (on the very same socket). No CA is consulted: the fingerprint came in the enrollment string.
import { request } from 'node:http';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

export interface PinnedEndpoint {
  host: string;
  port: number;
  /** 64 lowercase hex characters. */
  fingerprint: string;
}

/** The server presented another certificate than the one pinned. */
export class PinMismatch extends Error {
  override name = 'PinMismatch';
  constructor(readonly got: string) {
    super('central presented a different certificate than the pinned one');
  }
}

/** The server could not be reached (refused, timed out, not TLS). */
export class Unreachable extends Error {
  override name = 'Unreachable';
}

/** TLS handshake only; resolves with the peer certificate's SHA-256 (lowercase hex) and the socket. */
export function tlsHandshake(
  host: string,
  port: number,
  timeoutMs = 10_000,
): Promise<{ fingerprint: string; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      // The chain is not what we trust: the fingerprint is, checked right below before any byte is sent.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Unreachable(`no TLS answer from ${host}:${port} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      const fingerprint = (cert.fingerprint256 ?? '').replaceAll(':', '').toLowerCase();
      resolve({ fingerprint, socket });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Unreachable(`cannot reach ${host}:${port} (${err.code ?? err.message})`));
    });
  });
}

/** Resolves with the fingerprint the server presents (for doctor), closing the connection. */
export async function peerFingerprint(host: string, port: number, timeoutMs?: number): Promise<string> {
  const { fingerprint, socket } = await tlsHandshake(host, port, timeoutMs);
  socket.destroy();
  return fingerprint;
}

/** POSTs JSON to the pinned endpoint; resolves with the status and the parsed answer. */
export async function pinnedPost(
  to: PinnedEndpoint,
  path: string,
  body: unknown,
  timeoutMs = 15_000,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { fingerprint, socket } = await tlsHandshake(to.host, to.port, timeoutMs);
  if (fingerprint !== to.fingerprint) {
    socket.destroy();
    throw new PinMismatch(fingerprint);
  }
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: to.host,
        port: to.port,
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          connection: 'close',
        },
        createConnection: () => socket,
        timeout: timeoutMs,
      },
      (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1 << 20) {
            req.destroy(new Unreachable('answer over 1 MiB'));
            return;
          }
          parts.push(c);
        });
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            const v: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
            if (typeof v === 'object' && v !== null && !Array.isArray(v))
              parsed = v as Record<string, unknown>;
          } catch {
            // reported through the status below
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Unreachable(`no answer from ${to.host}:${to.port}`)));
    req.on('error', (err) =>
      reject(
        err instanceof Unreachable
          ? err
          : new Unreachable(`request to ${to.host}:${to.port} failed (${err.message})`),
      ),
    );
    req.end(payload);
  });
}
