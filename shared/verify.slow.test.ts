import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base45Decode, base45Encode } from './base45.js';
import { toHex } from './bytes.js';
import { TOKEN_REASONS, type Reason } from './reasons.js';
import { verify } from './verify.js';
import { at, makeQr, T, trustStore } from './verify.fixture.js';

// The property and fuzz half of verify.test.ts (seconds of CPU): runs with the integration project.
describe('verify', () => {
  describe('properties and fuzzing', () => {
    const valid = makeQr({ nonce: 0x5eed });
    const validBytes = valid.presentation;

    it('any single-byte mutation of a valid presentation is denied, never throws (both backends)', () => {
      fc.assert(
        fc.property(
          fc.nat({ max: validBytes.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          fc.boolean(),
          (i, x, noble) => {
            const mutated = new Uint8Array(validBytes);
            mutated[i]! ^= x;
            const d = verify(
              'PG1:' + base45Encode(mutated),
              trustStore(),
              at(T, { backend: noble ? 'noble' : 'node' }),
            );
            expect(d.decision).toBe('deny');
            expect(TOKEN_REASONS).toContain(d.reason);
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('every possible single-byte value at every position is denied (exhaustive over 8 values per byte)', () => {
      const store = trustStore();
      for (let i = 0; i < validBytes.length; i++)
        for (const x of [0x01, 0x02, 0x10, 0x20, 0x40, 0x80, 0xff, 0x7f]) {
          const mutated = new Uint8Array(validBytes);
          mutated[i]! ^= x;
          const d = verify('PG1:' + base45Encode(mutated), store, at(T));
          if (d.decision !== 'deny') throw new Error(`mutation at ${i} (xor ${x}) was accepted`);
        }
    });

    it('random bytes after PG1: are malformed', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
          expect(verify('PG1:' + base45Encode(bytes), trustStore(), at(T)).reason).toBe('malformed');
        }),
        { numRuns: 1000 },
      );
    });

    it('random text is malformed or unsupported_version, never a throw', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 200 }),
            fc.string({ maxLength: 200 }).map((s) => 'PG1:' + s),
          ),
          (s) => {
            expect(['malformed', 'unsupported_version']).toContain(verify(s, trustStore(), at(T)).reason);
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('fuzz: 20,000 mutated and random inputs, always a deny Decision with a token reason', () => {
      let state = 20_260_101; // fixed seed: the same 20,000 inputs on every run
      const next = (): number => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state;
      };
      const store = trustStore();
      const qrText = valid.qr;
      const seen = new Map<Reason, number>();
      for (let n = 0; n < 20_000; n++) {
        let input: string;
        const mode = next() % 6;
        if (mode === 0) {
          const b = new Uint8Array(validBytes);
          for (let k = 0, flips = 1 + (next() % 4); k < flips; k++) b[next() % b.length] = next() & 0xff;
          input = 'PG1:' + base45Encode(b);
        } else if (mode === 1) {
          const b = validBytes.subarray(0, next() % validBytes.length);
          input = 'PG1:' + base45Encode(b);
        } else if (mode === 2) {
          const cut = next() % validBytes.length;
          const ins = Uint8Array.from({ length: 1 + (next() % 8) }, () => next() & 0xff);
          const b = new Uint8Array([...validBytes.subarray(0, cut), ...ins, ...validBytes.subarray(cut)]);
          input = 'PG1:' + base45Encode(b);
        } else if (mode === 3) {
          const chars = [...qrText];
          const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abc#';
          chars[4 + (next() % (chars.length - 4))] = alphabet[next() % alphabet.length]!;
          input = chars.join('');
        } else if (mode === 4) {
          input = 'PG1:' + base45Encode(Uint8Array.from({ length: next() % 600 }, () => next() & 0xff));
        } else {
          const b = new Uint8Array(validBytes);
          const from = next() % b.length;
          const to = next() % b.length;
          b.copyWithin(to, from, Math.min(b.length, from + 1 + (next() % 16)));
          input = 'PG1:' + base45Encode(b);
        }
        if (input === qrText) continue;
        let d;
        try {
          d = verify(input, store, at(T));
        } catch (err) {
          throw new Error(`verify threw on input ${n}: ${(err as Error).message}\n${input}`);
        }
        if (d.decision !== 'deny' || !(TOKEN_REASONS as readonly string[]).includes(d.reason))
          throw new Error(`input ${n} gave ${d.decision} ${d.reason}: ${input}`);
        seen.set(d.reason, (seen.get(d.reason) ?? 0) + 1);
      }
      console.log(`fuzz reasons: ${JSON.stringify(Object.fromEntries(seen))}`);
      expect(seen.get('malformed')).toBeGreaterThan(0);
      expect(seen.get('bad_device_signature')).toBeGreaterThan(0);
    });

    it('the valid input used above is accepted (the mutations start from a good presentation)', () => {
      expect(verify(valid.qr, trustStore(), at(T)).reason).toBe('ok');
      expect(toHex(validBytes.subarray(0, 2))).toBe('d284');
      expect(base45Decode(valid.qr.slice(4))).toEqual(validBytes);
    });
  });
});
