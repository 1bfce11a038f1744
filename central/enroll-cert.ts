// The certificate of central's enrollment listener: the one given (usually the broker's --tls-cert), or a
// self-signed one central makes on first start (P-256 key from node:crypto, the X.509 wrapper from the
// openssl command, which Node cannot write) and keeps in DATA/enroll-tls/. Terminals pin it by its
// SHA-256 fingerprint, carried in the enrollment string, so no CA is needed.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** SHA-256 of the certificate's DER bytes, 64 lowercase hex characters. */
export function certificateFingerprint(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** This machine's addresses (for the certificate's names and the default public address). */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') out.push(a.address);
  return out;
}

/**
 * Returns DATA/enroll-tls/{cert,key}.pem, creating them when missing. `names` (host names or addresses
 * terminals use to reach central) go into subjectAltName with localhost, 127.0.0.1 and this host's name
 * and addresses, so the same certificate can also serve MQTT over TLS with the usual host name check.
 */
export function ensureSelfSignedCertificate(dataDir: string, names: string[] = []): TlsFiles {
  const dir = join(dataDir, 'enroll-tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tmpKey = `${keyFile}.${process.pid}.tmp`;
  writeFileSync(tmpKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(tmpKey, 0o600);
  const all = new Set(['localhost', '127.0.0.1', hostname(), ...localAddresses(), ...names]);
  const san = [...all]
    .filter((n) => /^[A-Za-z0-9.:-]{1,253}$/.test(n))
    .map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`))
    .join(',');
  const tmpCert = `${certFile}.${process.pid}.tmp`;
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-key',
        tmpKey,
        '-out',
        tmpCert,
        '-days',
        '3650',
        '-subj',
        '/CN=passgate-central',
        '-addext',
        `subjectAltName=${san}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
  } catch (err) {
    throw new Error(
      `could not create the enrollment certificate with openssl (${(err as Error).message.split('\n')[0]}); ` +
        'install openssl or pass --tls-cert/--tls-key',
    );
  }
  renameSync(tmpKey, keyFile);
  renameSync(tmpCert, certFile);
  return { certFile, keyFile };
}

export function readPem(file: string): string {
  return readFileSync(file, 'utf8');
}
