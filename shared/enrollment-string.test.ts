import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeEnrollment,
  encodeEnrollment,
  normaliseFingerprint,
  showFingerprint,
} from './enrollment-string.js';

const fp = 'a1'.repeat(32);
const sample = { code: 'Xy9_k2-QmB7vT0pLs', host: 'central.example', port: 8443, fingerprint: fp };

describe('enrollment string', () => {
  it('round-trips and uses only QR-alphanumeric, shell-safe characters', () => {
    const s = encodeEnrollment(sample);
    expect(s).toMatch(/^PGE1:[A-Z2-7]+$/);
    expect(decodeEnrollment(s)).toEqual(sample);
    // case, spaces and dashes do not matter (read aloud, typed in groups)
    expect(decodeEnrollment(s.toLowerCase().replace(/(.{5})/g, '$1 -'))).toEqual(sample);
  });

  it('catches every single-character typo with the checksum', () => {
    const s = encodeEnrollment({ ...sample, host: '10.0.0.5' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    for (let i = 5; i < s.length; i++)
      for (const c of [
        alphabet[(alphabet.indexOf(s[i]!) + 1) % 32]!,
        alphabet[(alphabet.indexOf(s[i]!) + 17) % 32]!,
      ]) {
        const typo = s.slice(0, i) + c + s.slice(i + 1);
        expect(() => decodeEnrollment(typo), typo).toThrow(/mistyped|version/);
      }
    expect(() => decodeEnrollment(s.slice(0, -3))).toThrow(/mistyped/);
    expect(() => decodeEnrollment('PG1:ABC')).toThrow(/must start with PGE1:/);
    expect(() => decodeEnrollment('PGE1:18')).toThrow(/mistyped/); // not base32
  });

  it('round-trips any valid input (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...'abcXYZ0189_-'.split('')) }),
        fc.constantFrom('127.0.0.1', 'gate.example.org', '::1', 'central'),
        fc.integer({ min: 1, max: 65535 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (code, host, port, bytes) => {
          const e = { code, host, port, fingerprint: Buffer.from(bytes).toString('hex') };
          expect(decodeEnrollment(encodeEnrollment(e))).toEqual(e);
        },
      ),
    );
  });

  it('refuses bad fields when encoding and reads fingerprints in either form', () => {
    expect(() => encodeEnrollment({ ...sample, port: 0 })).toThrow(/port/);
    expect(() => encodeEnrollment({ ...sample, host: 'a b' })).toThrow(/host/);
    expect(() => encodeEnrollment({ ...sample, fingerprint: 'xyz' })).toThrow(/fingerprint/);
    expect(normaliseFingerprint(showFingerprint(fp))).toBe(fp);
  });
});
