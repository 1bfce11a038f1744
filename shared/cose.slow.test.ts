// The property half of cose.test.ts (seconds of CPU): runs with the integration project.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSign1, signSign1, verifySign1 } from './cose.js';
import { VerifyKey, generateKeyPair } from './keys.js';

describe('COSE_Sign1', () => {
  describe('properties', () => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      it(`${alg}: sign → verify round-trips; any one-bit flip of payload or signature fails, on both backends`, () => {
        const kp = generateKeyPair(alg);
        const key = new VerifyKey(alg, kp.publicKey);
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat({ max: 7 }), (payload, at, bit) => {
            const s = parseSign1(signSign1(alg, kp.secretKey, payload, key.kid));
            expect(verifySign1(s, key, 'node')).toBe(true);
            expect(verifySign1(s, key, 'noble')).toBe(true);
            const sig = new Uint8Array(s.signature);
            sig[at % 64]! ^= 1 << bit;
            expect(verifySign1({ ...s, signature: sig }, key, 'node')).toBe(false);
            expect(verifySign1({ ...s, signature: sig }, key, 'noble')).toBe(false);
            if (payload.length > 0) {
              const p = new Uint8Array(payload);
              p[at % p.length]! ^= 1 << bit;
              expect(verifySign1({ ...s, payload: p }, key, 'node')).toBe(false);
            }
          }),
          { numRuns: 150 },
        );
      });
    }
  });
});
