import { sha256 } from '@noble/hashes/sha2.js';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { decodeCbor, encodeCbor } from './cbor.js';
import {
  COSE_ALG,
  VerifyKey,
  algFromCose,
  assertPublicKey,
  coseKeyFromPublic,
  generateKeyPair,
  isCanonicalLowS,
  keyId,
  publicFromCoseKey,
  publicFromJwk,
  publicKeyFromSecret,
  sign,
} from './keys.js';

const N = p256.Point.Fn.ORDER;
const hex32 = (n: bigint): string => n.toString(16).padStart(64, '0');

describe('keys', () => {
  it('maps algs to COSE ids and back', () => {
    expect(COSE_ALG).toEqual({ EdDSA: -8, ES256: -7 });
    expect(algFromCose(-8)).toBe('EdDSA');
    expect(algFromCose(-7)).toBe('ES256');
    expect(algFromCose(-35)).toBeUndefined();
    expect(algFromCose('-7')).toBeUndefined();
  });

  for (const alg of ['EdDSA', 'ES256'] as const) {
    describe(alg, () => {
      const kp = generateKeyPair(alg);
      const key = new VerifyKey(alg, kp.publicKey);

      it('derives the public key from the secret and sizes it as documented', () => {
        expect(toHex(publicKeyFromSecret(alg, kp.secretKey))).toBe(toHex(kp.publicKey));
        expect(kp.publicKey.length).toBe(alg === 'EdDSA' ? 32 : 65);
      });

      it('kid is the first 8 bytes of SHA-256 over the raw public key', () => {
        expect(toHex(key.kid)).toBe(toHex(sha256(kp.publicKey).subarray(0, 8)));
        expect(key.kidHex).toBe(toHex(keyId(kp.publicKey)));
      });

      it('round-trips through JWK', () => {
        const jwk = key.toJwk();
        expect(jwk.alg).toBe(alg);
        expect(jwk.kty).toBe(alg === 'EdDSA' ? 'OKP' : 'EC');
        const back = publicFromJwk(jwk);
        expect(back.alg).toBe(alg);
        expect(toHex(back.publicKey)).toBe(toHex(kp.publicKey));
      });

      it('round-trips through a CBOR-encoded COSE_Key', () => {
        const encoded = encodeCbor(coseKeyFromPublic(alg, kp.publicKey, true));
        const decoded = decodeCbor(encoded) as Map<number, unknown>;
        expect(decoded.get(1)).toBe(alg === 'EdDSA' ? 1 : 2);
        expect(decoded.get(3)).toBe(COSE_ALG[alg]);
        expect(toHex(decoded.get(2) as Uint8Array)).toBe(key.kidHex);
        const back = publicFromCoseKey(decoded);
        expect(back?.alg).toBe(alg);
        expect(toHex(back!.publicKey)).toBe(toHex(kp.publicKey));
      });
    });
  }

  it('encodes the P-256 COSE_Key as {1: 2, -1: 1, -2: x, -3: y}', () => {
    const kp = generateKeyPair('ES256');
    const hex = toHex(encodeCbor(coseKeyFromPublic('ES256', kp.publicKey)));
    expect(hex).toBe(
      `a401022001215820${toHex(kp.publicKey.subarray(1, 33))}225820${toHex(kp.publicKey.subarray(33))}`,
    );
  });

  it('refuses COSE_Keys that are not Ed25519 or P-256 public keys', () => {
    const x = new Uint8Array(32);
    expect(publicFromCoseKey('key')).toBeUndefined();
    expect(
      publicFromCoseKey(
        new Map<number, unknown>([
          [1, 2],
          [-1, 2],
          [-2, x],
          [-3, x],
        ]),
      ),
    ).toBeUndefined(); // P-384
    expect(
      publicFromCoseKey(
        new Map<number, unknown>([
          [1, 2],
          [-1, 1],
          [-2, x],
        ]),
      ),
    ).toBeUndefined(); // no y
    expect(
      publicFromCoseKey(
        new Map<number, unknown>([
          [1, 1],
          [-1, 4],
          [-2, x],
        ]),
      ),
    ).toBeUndefined(); // X25519
    expect(
      publicFromCoseKey(
        new Map<number, unknown>([
          [1, 1],
          [-1, 6],
          [-2, new Uint8Array(31)],
        ]),
      ),
    ).toBeUndefined();
    expect(() => publicFromJwk({ kty: 'RSA', n: 'x', e: 'AQAB' })).toThrow(RangeError);
  });

  it('assertPublicKey refuses wrong sizes and points off the curve, naming the field', () => {
    expect(() => assertPublicKey('EdDSA', new Uint8Array(31), 'issuer key')).toThrow(/issuer key/);
    expect(() => assertPublicKey('ES256', new Uint8Array(65))).toThrow(RangeError);
    const kp = generateKeyPair('ES256');
    const offCurve = new Uint8Array(kp.publicKey);
    offCurve[64]! ^= 1;
    expect(() => assertPublicKey('ES256', offCurve)).toThrow(/not a point/);
    expect(() => assertPublicKey('ES256', kp.publicKey.subarray(0, 33))).toThrow(RangeError); // compressed form
    expect(() => new VerifyKey('EdDSA', kp.publicKey)).toThrow(RangeError);
  });

  it('isCanonicalLowS draws the line at n/2', () => {
    const r = hex32(12345n);
    expect(isCanonicalLowS(fromHex(r + hex32(N >> 1n)))).toBe(true);
    expect(isCanonicalLowS(fromHex(r + hex32((N >> 1n) + 1n)))).toBe(false);
    expect(isCanonicalLowS(fromHex(r + hex32(1n)))).toBe(true);
    expect(isCanonicalLowS(fromHex(r + hex32(0n)))).toBe(false);
    expect(isCanonicalLowS(fromHex(hex32(0n) + hex32(1n)))).toBe(false);
    expect(isCanonicalLowS(fromHex(hex32(N) + hex32(1n)))).toBe(false);
    expect(isCanonicalLowS(new Uint8Array(63))).toBe(false);
  });

  it('an Ed25519 signature must be 64 bytes; verify never throws', () => {
    const kp = generateKeyPair('EdDSA');
    const key = new VerifyKey('EdDSA', kp.publicKey);
    for (const backend of ['node', 'noble'] as const) {
      expect(key.verify(new Uint8Array(63), new Uint8Array(1), backend)).toBe(false);
      expect(key.verify(new Uint8Array(64).fill(0xff), new Uint8Array(1), backend)).toBe(false);
    }
  });
});

describe('Ed25519 signing backends', () => {
  it('node:crypto and noble give the same deterministic signature', () => {
    const kp = generateKeyPair('EdDSA');
    for (const size of [0, 1, 100, 70_000]) {
      const msg = new Uint8Array(size).map((_, i) => i * 7);
      expect(Buffer.from(sign('EdDSA', kp.secretKey, msg, 'node'))).toEqual(
        Buffer.from(sign('EdDSA', kp.secretKey, msg)),
      );
    }
  });
});
