// Starts the enrollment listener for startCentral: picks its certificate (given, the broker's, or a
// self-signed one), the address terminals are told, and makes enrollment strings for new codes.
import type { Logger } from 'pino';
import { encodeEnrollment } from '../shared/enrollment-string.js';
import type { CentralAdmin } from './admin.js';
import { ensureSelfSignedCertificate, localAddresses, readPem, type TlsFiles } from './enroll-cert.js';
import { EnrollListener } from './enroll-listener.js';
import type { TerminalRequests } from './terminal-requests.js';

export interface EnrollOptions {
  /** Port (0 = any free one). */
  port: number;
  /** Address to bind (default 0.0.0.0: terminals are on other machines). */
  host?: string;
  /** Host name or address terminals use to reach central (default: the broker URL's host when it is not
   * loopback, else this machine's first non-loopback IPv4 address, else 127.0.0.1). */
  publicHost?: string;
  /** Port terminals use, if a proxy or NAT maps it (default: the bound port). */
  publicPort?: number;
  tls?: TlsFiles;
  /** Rate limit per address (see EnrollListener). */
  burst?: number;
  perMinute?: number;
}

export interface Enrollment {
  port: number;
  host: string;
  /** SHA-256 of the listener's certificate, lowercase hex. */
  fingerprint: string;
  url: string;
  stringFor(code: string): { enrollment: string; enrollUrl: string; fingerprint: string };
  stop(): Promise<void>;
}

function defaultPublicHost(mqttUrl: string): string {
  const host = new URL(mqttUrl).hostname.replace(/^\[|\]$/g, '');
  if (host && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1' && host !== '0.0.0.0')
    return host;
  return localAddresses()[0] ?? '127.0.0.1';
}

export async function startEnrollment(
  o: EnrollOptions,
  deps: {
    dataDir: string;
    admin: CentralAdmin;
    requests: TerminalRequests;
    mqttUrl: string;
    brokerTls?: TlsFiles;
    logger: Logger;
  },
): Promise<Enrollment> {
  const host = o.publicHost ?? defaultPublicHost(deps.mqttUrl);
  const tls = o.tls ?? deps.brokerTls ?? ensureSelfSignedCertificate(deps.dataDir, [host]);
  const listener = new EnrollListener({
    admin: deps.admin,
    requests: deps.requests,
    tls,
    port: o.port,
    host: o.host ?? '0.0.0.0',
    ...(deps.brokerTls && deps.mqttUrl.startsWith('mqtts:')
      ? { mqttCertificate: readPem(deps.brokerTls.certFile) }
      : {}),
    ...(o.burst !== undefined ? { burst: o.burst } : {}),
    ...(o.perMinute !== undefined ? { perMinute: o.perMinute } : {}),
    logger: deps.logger,
  });
  await listener.start();
  const port = o.publicPort ?? listener.port;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    port: listener.port,
    host,
    fingerprint: listener.fingerprint,
    url,
    stringFor: (code) => ({
      enrollment: encodeEnrollment({ code, host, port, fingerprint: listener.fingerprint }),
      enrollUrl: url,
      fingerprint: listener.fingerprint,
    }),
    stop: () => listener.stop(),
  };
}
