// The enrollment string `issuer enroll-code` prints and `provision enroll` takes: one token carrying the
// one-time code, central's enrollment address and the SHA-256 fingerprint of central's certificate, so
// the terminal pins central from the first byte it sends. Text form: `PGE1:` + RFC 4648 base32 (no
// padding) of
//   u8 version (1) · u8 len + code (UTF-8) · u8 len + host (UTF-8) · u16 port · 32-byte fingerprint ·
//   4-byte checksum (the first bytes of SHA-256 over everything before it).
// Base32 keeps the string to characters a QR code's alphanumeric mode, a shell and a person reading it
// aloud all handle (case does not matter; spaces and dashes are ignored); the checksum turns a typo into
// a clear "mistyped" instead of a network call with a wrong code.
import { createHash } from 'node:crypto';
import { InvalidInput } from './errors.js';

export const ENROLLMENT_PREFIX = 'PGE1:';
const VERSION = 1;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

export interface Enrollment {
  code: string;
  host: string;
  port: number;
  /** SHA-256 of central's certificate (DER), 64 lowercase hex characters. */
  fingerprint: string;
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  // Canonical form only: the last character's unused bits are zero (else a typo there would go unseen).
  if (value !== 0 || bits >= 5) return undefined;
  return Uint8Array.from(out);
}

function checksum(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest().subarray(0, 4);
}

/** A fingerprint as OpenSSL and browsers show it (AB:CD:…) or plain hex → 64 lowercase hex characters. */
export function normaliseFingerprint(text: string): string | undefined {
  const hex = text.replaceAll(':', '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** AB:CD:… for people. */
export function showFingerprint(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(':');
}

export function encodeEnrollment(e: Enrollment): string {
  const code = Buffer.from(e.code, 'utf8');
  const host = Buffer.from(e.host, 'utf8');
  const fp = normaliseFingerprint(e.fingerprint);
  if (code.length < 1 || code.length > 64) throw new InvalidInput('code', '1-64 bytes');
  if (!HOST.test(e.host)) throw new InvalidInput('host', `"${e.host}" is not a host name or address`);
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535)
    throw new InvalidInput('port', 'an integer 1-65535');
  if (!fp) throw new InvalidInput('fingerprint', '64 hex characters (SHA-256)');
  const body = Buffer.concat([
    Buffer.from([VERSION, code.length]),
    code,
    Buffer.from([host.length]),
    host,
    Buffer.from([e.port >> 8, e.port & 255]),
    Buffer.from(fp, 'hex'),
  ]);
  return ENROLLMENT_PREFIX + base32(Buffer.concat([body, checksum(body)]));
}

/**
 * Reads an enrollment string. Throws InvalidInput('enrollment string', …) saying whether it is not one
 * at all, was mistyped (checksum), or comes from a newer passgate.
 */
export function decodeEnrollment(text: string): Enrollment {
  const field = 'enrollment string';
  const compact = text.replace(/[\s-]/g, '').toUpperCase();
  if (!compact.startsWith(ENROLLMENT_PREFIX))
    throw new InvalidInput(
      field,
      `it must start with ${ENROLLMENT_PREFIX} (the line \`passgate issuer enroll-code\` printed)`,
    );
  const bytes = unbase32(compact.slice(ENROLLMENT_PREFIX.length));
  const mistyped = new InvalidInput(
    field,
    'it was mistyped or cut short (the checksum does not match): copy it again or scan its QR code',
  );
  if (!bytes || bytes.length < 1 + 1 + 1 + 1 + 2 + 32 + 4) throw mistyped;
  const body = bytes.subarray(0, bytes.length - 4);
  if (!Buffer.from(checksum(body)).equals(Buffer.from(bytes.subarray(bytes.length - 4)))) throw mistyped;
  if (body[0] !== VERSION)
    throw new InvalidInput(field, `version ${body[0]} is not known here: update passgate on this terminal`);
  let at = 1;
  const take = (n: number): Uint8Array => {
    if (at + n > body.length) throw mistyped;
    const part = body.subarray(at, at + n);
    at += n;
    return part;
  };
  const code = Buffer.from(take(body[at++]!)).toString('utf8');
  const host = Buffer.from(take(body[at++]!)).toString('utf8');
  const portBytes = take(2);
  const port = (portBytes[0]! << 8) | portBytes[1]!;
  const fingerprint = Buffer.from(take(32)).toString('hex');
  if (at !== body.length || !HOST.test(host) || port === 0 || code.length === 0) throw mistyped;
  return { code, host, port, fingerprint };
}
