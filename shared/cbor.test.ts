import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { CborError, Tag, TOKEN_LIMITS, asUint, checkCbor, decodeCbor, encodeCbor, wideUint } from './cbor.js';

interface Hostile {
  name: string;
  hex?: string;
  repeat?: { hex: string; times: number };
  suffix?: string;
}
const hostileFile = JSON.parse(
  readFileSync(new URL('../test/hostile-inputs.json', import.meta.url), 'utf8'),
) as {
  inputs: Hostile[];
};
const hostile = hostileFile.inputs.map((h) => ({
  name: h.name,
  bytes: fromHex((h.hex ?? '') + (h.repeat ? h.repeat.hex.repeat(h.repeat.times) : '') + (h.suffix ?? '')),
}));

/** Byte strings come back as Buffers from cbor-x; compare them as hex. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: toHex(v) };
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Map) return [...v].map(([k, x]) => [k, normalize(x)]);
  if (v instanceof Tag) return { tag: v.tag, value: normalize(v.value) };
  return v;
}

describe('bounded CBOR', () => {
  describe('hostile inputs (test/hostile-inputs.json)', () => {
    it('the list is non-trivial', () => {
      expect(hostile.length).toBeGreaterThan(40);
    });
    for (const h of hostile) {
      it(`refuses ${h.name}`, () => {
        expect(() => decodeCbor(h.bytes)).toThrow(CborError);
      });
    }
    it('refuses all of them without allocating their announced sizes', () => {
      const before = process.memoryUsage().arrayBuffers;
      for (let round = 0; round < 20; round++)
        for (const h of hostile) expect(() => decodeCbor(h.bytes)).toThrow(CborError);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    });
  });

  describe('accepted forms', () => {
    it.each([
      ['0', '00', 0],
      ['23', '17', 23],
      ['24', '1818', 24],
      ['65536', '1a00010000', 65536],
      ['-1', '20', -1],
      ['-500', '3901f3', -500],
      ['true', 'f5', true],
      ['false', 'f4', false],
      ['null', 'f6', null],
      ['"a"', '6161', 'a'],
    ])('decodes %s', (_what, hex, value) => {
      expect(decodeCbor(fromHex(hex))).toEqual(value);
    });

    it('decodes tag 18 (COSE_Sign1) and returns a Tag', () => {
      const v = decodeCbor(fromHex('d28440a04040'));
      expect(v).toBeInstanceOf(Tag);
      expect((v as Tag).tag).toBe(18);
    });

    it('accepts nesting up to the limit and refuses one more', () => {
      const nested = (n: number): Uint8Array => fromHex('81'.repeat(n) + '00');
      expect(() => decodeCbor(nested(TOKEN_LIMITS.maxDepth))).not.toThrow();
      expect(() => decodeCbor(nested(TOKEN_LIMITS.maxDepth + 1))).toThrow(/nesting/);
    });

    it('accepts exactly 2048 bytes and refuses 2049', () => {
      const exact = fromHex('5907fd' + '00'.repeat(2045));
      expect(exact.length).toBe(2048);
      expect(() => decodeCbor(exact)).not.toThrow();
      const over = fromHex('5907fe' + '00'.repeat(2046));
      expect(() => decodeCbor(over)).toThrow(/2048-byte limit/);
    });

    it('checkCbor refuses a tag that the limits do not allow', () => {
      expect(() => checkCbor(fromHex('d28440a04040'), { ...TOKEN_LIMITS, allowedTags: [] })).toThrow(
        /tag 18/,
      );
    });
  });

  describe('wide integers', () => {
    it('encodes values above 2^32 as CBOR unsigned integers, not floats', () => {
      const ms = 1_767_225_600_123;
      const bytes = encodeCbor(wideUint(ms));
      expect(toHex(bytes)).toBe('1b' + ms.toString(16).padStart(16, '0'));
      expect(asUint(decodeCbor(bytes))).toBe(ms);
      // Without wideUint cbor-x writes a float64, which the checker refuses.
      expect(() => decodeCbor(encodeCbor(ms))).toThrow(CborError);
    });

    it('asUint accepts safe non-negative integers only', () => {
      expect(asUint(5)).toBe(5);
      expect(asUint(5n)).toBe(5);
      expect(asUint(-1)).toBeUndefined();
      expect(asUint(1.5)).toBeUndefined();
      expect(asUint(2n ** 60n)).toBeUndefined();
      expect(asUint('5')).toBeUndefined();
    });
  });

  describe('properties', () => {
    const leaf = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
      fc.string({ maxLength: 20 }),
      fc.uint8Array({ maxLength: 20 }),
      fc.boolean(),
      fc.constant(null),
    );
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 4 }),
        fc
          .uniqueArray(
            fc.tuple(
              fc.oneof(fc.integer({ min: -100, max: 100 }), fc.string({ maxLength: 6 })),
              tie('value'),
            ),
            {
              maxLength: 4,
              selector: ([k]) => k,
            },
          )
          .map((entries) => new Map(entries)),
      ),
    }));

    it('round-trips values of the accepted types (encode → bounded decode)', () => {
      fc.assert(
        fc.property(value, (v) => {
          const bytes = encodeCbor(v);
          fc.pre(bytes.length <= TOKEN_LIMITS.maxBytes);
          expect(normalize(decodeCbor(bytes, { ...TOKEN_LIMITS, maxDepth: 64 }))).toEqual(normalize(v));
        }),
        { numRuns: 500 },
      );
    });

    it('random bytes either decode or throw CborError, never anything else', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          try {
            decodeCbor(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(CborError);
          }
        }),
        { numRuns: 2000 },
      );
    });

    it('whatever the checker lets through re-encodes to the same bytes (canonical subset)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 24 }), (bytes) => {
          let v: unknown;
          try {
            v = decodeCbor(bytes, { ...TOKEN_LIMITS, allowedTags: [] });
          } catch {
            return;
          }
          expect(toHex(encodeCbor(v))).toBe(toHex(bytes));
        }),
        { numRuns: 3000 },
      );
    });
  });
});
