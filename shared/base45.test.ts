import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Base45Error, base45Decode, base45Encode } from './base45.js';

const ALPHABET_CHAR = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:');
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('base45 (RFC 9285)', () => {
  // RFC 9285 §4.3 examples.
  it.each([
    ['AB', 'BB8'],
    ['Hello!!', '%69 VD92EX0'],
    ['base-45', 'UJCLQE7W581'],
  ])('encodes %j as %j and back', (plain, encoded) => {
    expect(base45Encode(text(plain))).toBe(encoded);
    expect(str(base45Decode(encoded))).toBe(plain);
  });

  it('decodes "QED8WEX0" to "ietf!" (RFC 9285 §4.3)', () => {
    expect(str(base45Decode('QED8WEX0'))).toBe('ietf!');
  });

  it('encodes the empty string as the empty string', () => {
    expect(base45Encode(new Uint8Array(0))).toBe('');
    expect(base45Decode('')).toEqual(new Uint8Array(0));
  });

  it('encodes the byte extremes', () => {
    expect(base45Encode(Uint8Array.of(0xff, 0xff))).toBe('FGW');
    expect(base45Decode('FGW')).toEqual(Uint8Array.of(0xff, 0xff));
    expect(base45Encode(Uint8Array.of(0xff))).toBe('U5');
    expect(base45Encode(Uint8Array.of(0, 0))).toBe('000');
  });

  it.each([
    ['lower-case letters', 'bb8'],
    ['a character outside the alphabet', 'BB#'],
    ['a non-ASCII character', 'BBé'],
    ['a dangling single character', 'BB8A'],
    ['a group over 65535 (":::" = 45^3 − 1)', ':::'],
    ['a group just over 65535 ("GGW" = 65536)', 'GGW'],
    ['a final pair over 255 ("::")', '::'],
    ['a final pair just over 255 ("V5" = 256)', 'V5'],
  ])('refuses %s', (_what, input) => {
    expect(() => base45Decode(input)).toThrow(Base45Error);
  });

  it('round-trips any byte string (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const encoded = base45Encode(bytes);
        expect(encoded).toMatch(/^[0-9A-Z $%*+\-./:]*$/);
        expect(encoded.length).toBe(Math.floor(bytes.length / 2) * 3 + (bytes.length % 2) * 2);
        expect(base45Decode(encoded)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('either decodes or throws Base45Error for any string (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: ALPHABET_CHAR, maxLength: 60 })),
        (s) => {
          try {
            const bytes = base45Decode(s);
            // Whatever decodes re-encodes to the same text: the encoding is canonical.
            expect(base45Encode(bytes)).toBe(s);
          } catch (err) {
            expect(err).toBeInstanceOf(Base45Error);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
