import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { highSTwin } from '../scripts/make-vectors.js';
import { concatBytes, fromB64u, fromHex, toHex } from './bytes.js';
import { CborError, Tag, encodeCbor } from './cbor.js';
import { CoseFormatError, parseSign1, sigStructure, signSign1, verifySign1 } from './cose.js';
import { VerifyKey, generateKeyPair, keyId, publicKeyFromSecret, sign, type Alg } from './keys.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

// RFC 9052 Appendix C.2.1 and the cose-wg/Examples key "11" (P-256) it is signed with.
const KEY_11 = {
  d: 'V8kgd2ZBRuh2dgyVINBUqpPDr7BOMGcF22CQMIUHtNM',
  x: 'usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8',
  y: 'IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4',
};
const KEY_11_PUBLIC = concatBytes(Uint8Array.of(4), fromB64u(KEY_11.x), fromB64u(KEY_11.y));
const RFC9052_C21 = fromHex(
  'd28443a10126a10442313154546869732069732074686520636f6e74656e742e5840' +
    '8eb33e4ca31d1c465ab05aac34cc6b23d58fef5c083106c4d25a91aef0b0117e' +
    '2af9a291aa32e14ab834dc56ed2a223444547e01f11d3b0916e5a4c345cacb36',
);
// cose-wg/Examples sign1-pass-02: the same content with external AAD 11aa22bb33cc44dd55006699.
// Two published signatures of it: one low-S, one high-S.
const PASS02_AAD = fromHex('11aa22bb33cc44dd55006699');
const PASS02_TBS =
  '846a5369676e61747572653143a101264c11aa22bb33cc44dd5500669954546869732069732074686520636f6e74656e742e';
const PASS02_LOW_S = fromHex(
  '10729cd711cb3813d8d8e944a8da7111e7b258c9bdca6135f7ae1adbee950989' +
    '1267837e1e33bd36c150326ae62755c6bd8e540c3e8f92d7d225e8db72b8820b',
);
const PASS02_HIGH_S = fromHex(
  '3a7487d9a528cb61dd8e99bd652c12577fc47d70ee5af2e703c420584f060fc7' +
    'a8d61e4a35862b2b531a8447030ab966aeed8dd45ebc507c761431e349995770',
);

/** Sig_structure built by hand, byte by byte, independently of our CBOR encoder (short lengths only). */
function handSigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const bstr = (b: Uint8Array): Uint8Array => {
    if (b.length < 24) return concatBytes(Uint8Array.of(0x40 + b.length), b);
    if (b.length < 256) return concatBytes(Uint8Array.of(0x58, b.length), b);
    return concatBytes(Uint8Array.of(0x59, b.length >> 8, b.length & 0xff), b);
  };
  return concatBytes(
    Uint8Array.of(0x84, 0x6a),
    utf8('Signature1'),
    bstr(protectedBytes),
    Uint8Array.of(0x40),
    bstr(payload),
  );
}

/** What an independent COSE verifier does: JWK → node:crypto, over the Sig_structure. */
function independentVerify(
  jwk: Record<string, string>,
  alg: Alg,
  tbs: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  return alg === 'EdDSA'
    ? nodeVerify(null, tbs, key, signature)
    : nodeVerify('sha256', tbs, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

describe('COSE_Sign1', () => {
  describe('RFC 9052 Appendix C.2.1', () => {
    it('key "11" from the COSE examples derives the published public key', () => {
      expect(toHex(publicKeyFromSecret('ES256', fromB64u(KEY_11.d)))).toBe(toHex(KEY_11_PUBLIC));
    });

    it('parses the example and rebuilds its Sig_structure byte for byte', () => {
      const s = parseSign1(RFC9052_C21);
      expect(toHex(s.protectedBytes)).toBe('a10126');
      expect(s.alg).toBe('ES256');
      expect(s.kid).toBeUndefined(); // the example carries kid '11' in the unprotected header
      expect(toHex(s.unprotectedHeader.get(4) as Uint8Array)).toBe('3131');
      expect(new TextDecoder().decode(s.payload)).toBe('This is the content.');
      const tbs = sigStructure(s.protectedBytes, s.payload);
      expect(toHex(tbs)).toBe('846a5369676e61747572653143a101264054546869732069732074686520636f6e74656e742e');
      expect(toHex(tbs)).toBe(toHex(handSigStructure(s.protectedBytes, s.payload)));
    });

    it('verifies the example signature on both backends', () => {
      const key = new VerifyKey('ES256', KEY_11_PUBLIC);
      const s = parseSign1(RFC9052_C21);
      expect(verifySign1(s, key, 'node')).toBe(true);
      expect(verifySign1(s, key, 'noble')).toBe(true);
    });

    it('builds the sign1-pass-02 Sig_structure with external AAD', () => {
      const s = parseSign1(RFC9052_C21);
      expect(toHex(sigStructure(s.protectedBytes, s.payload, PASS02_AAD))).toBe(PASS02_TBS);
    });

    it('accepts the low-S sign1-pass-02 signature and refuses the high-S one that lax verifiers accept', () => {
      const key = new VerifyKey('ES256', KEY_11_PUBLIC);
      const tbs = fromHex(PASS02_TBS);
      for (const backend of ['node', 'noble'] as const) {
        expect(key.verify(PASS02_LOW_S, tbs, backend)).toBe(true);
        expect(key.verify(PASS02_HIGH_S, tbs, backend)).toBe(false);
        expect(key.verify(highSTwin(PASS02_HIGH_S), tbs, backend)).toBe(true);
      }
      // OpenSSL alone accepts both: refusing high-S is our policy, enforced before the backend.
      expect(independentVerify(key.toJwk(), 'ES256', tbs, PASS02_HIGH_S)).toBe(true);
    });
  });

  describe('our signatures, checked the way any COSE library would', () => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      it(`${alg}: layout, Sig_structure and a JWK-only node:crypto check`, () => {
        const kp = generateKeyPair(alg);
        const payload = encodeCbor(new Map([[1, 'hello']]));
        const kid = keyId(kp.publicKey);
        const bytes = signSign1(alg, kp.secretKey, payload, kid);
        // d2 = tag 18, 84 = array(4), then bstr(protected) = 4d a2 01 27|26 04 48 kid…
        expect(toHex(bytes.subarray(0, 2))).toBe('d284');
        const s = parseSign1(bytes);
        const algByte = alg === 'EdDSA' ? '27' : '26';
        expect(toHex(s.protectedBytes)).toBe(`a201${algByte}0448${toHex(kid)}`);
        expect(s.unprotectedHeader.size).toBe(0);
        expect(s.signature.length).toBe(64);
        const tbs = sigStructure(s.protectedBytes, s.payload);
        expect(toHex(tbs)).toBe(toHex(handSigStructure(s.protectedBytes, s.payload)));
        const jwk = new VerifyKey(alg, kp.publicKey).toJwk();
        expect(independentVerify(jwk, alg, tbs, s.signature)).toBe(true);
        expect(
          independentVerify(jwk, alg, handSigStructure(s.protectedBytes, utf8('other')), s.signature),
        ).toBe(false);
      });
    }
  });

  describe('alg pinning', () => {
    it('an EdDSA key refuses a Sign1 whose header says ES256, even with a valid Ed25519 signature', () => {
      const ed = generateKeyPair('EdDSA');
      const protectedBytes = encodeCbor(new Map([[1, -7]]));
      const payload = utf8('pinned');
      const signature = sign('EdDSA', ed.secretKey, sigStructure(protectedBytes, payload));
      const forged = encodeCbor(new Tag([protectedBytes, new Map(), payload, signature], 18));
      const s = parseSign1(forged);
      expect(s.alg).toBe('ES256');
      const key = new VerifyKey('EdDSA', ed.publicKey);
      expect(key.verify(signature, sigStructure(protectedBytes, payload))).toBe(true); // the bytes are fine…
      expect(verifySign1(s, key, 'node')).toBe(false); // …but the alg is not the key's
      expect(verifySign1(s, key, 'noble')).toBe(false);
    });

    it('an ES256 key refuses a Sign1 whose header says EdDSA', () => {
      const es = generateKeyPair('ES256');
      const s = parseSign1(signSign1('ES256', es.secretKey, utf8('x')));
      expect(verifySign1({ ...s, alg: 'EdDSA' }, new VerifyKey('ES256', es.publicKey))).toBe(false);
      expect(verifySign1(s, new VerifyKey('ES256', es.publicKey))).toBe(true);
    });

    it('an unknown alg verifies with no key', () => {
      const es = generateKeyPair('ES256');
      const protectedBytes = encodeCbor(new Map([[1, -35]]));
      const bytes = encodeCbor(new Tag([protectedBytes, new Map(), utf8('x'), new Uint8Array(96)], 18));
      const s = parseSign1(bytes);
      expect(s.alg).toBeUndefined();
      expect(s.algId).toBe(-35);
      expect(verifySign1(s, new VerifyKey('ES256', es.publicKey))).toBe(false);
    });
  });

  describe('ES256 signature encodings', () => {
    const es = generateKeyPair('ES256');
    const key = new VerifyKey('ES256', es.publicKey);
    const msg = utf8('message');
    const good = sign('ES256', es.secretKey, msg);

    it('signs low-S raw r‖s', () => {
      expect(good.length).toBe(64);
      const s = BigInt('0x' + toHex(good.subarray(32)));
      expect(s <= p256.Point.Fn.ORDER >> 1n).toBe(true);
    });

    it('refuses the high-S twin (s′ = n − s) on both backends', () => {
      const twin = highSTwin(good);
      for (const backend of ['node', 'noble'] as const) {
        expect(key.verify(good, msg, backend)).toBe(true);
        expect(key.verify(twin, msg, backend)).toBe(false);
      }
      expect(independentVerify(key.toJwk(), 'ES256', msg, twin)).toBe(true);
    });

    it('refuses a DER-encoded signature of the same message', () => {
      const der = p256.sign(msg, es.secretKey, { lowS: true, prehash: true, format: 'der' });
      expect(der[0]).toBe(0x30);
      expect(key.verify(der, msg, 'node')).toBe(false);
      expect(key.verify(der, msg, 'noble')).toBe(false);
    });

    it('refuses r = 0, s = 0 and truncated or padded signatures', () => {
      const zeroR = new Uint8Array(good);
      zeroR.fill(0, 0, 32);
      const zeroS = new Uint8Array(good);
      zeroS.fill(0, 32);
      for (const sig of [
        zeroR,
        zeroS,
        good.subarray(0, 63),
        concatBytes(good, Uint8Array.of(0)),
        new Uint8Array(0),
      ])
        for (const backend of ['node', 'noble'] as const) expect(key.verify(sig, msg, backend)).toBe(false);
    });
  });

  describe('structure errors', () => {
    const ed = generateKeyPair('EdDSA');
    const good = parseSign1(signSign1('EdDSA', ed.secretKey, utf8('x')));
    const build = (items: unknown, tag = 18): Uint8Array => encodeCbor(new Tag(items, tag));
    it.each([
      ['untagged', encodeCbor([good.protectedBytes, new Map(), good.payload, good.signature])],
      ['COSE_Sign (tag 98)', build([good.protectedBytes, new Map(), good.payload, good.signature], 98)],
      ['three items', build([good.protectedBytes, new Map(), good.payload])],
      ['protected header as a map', build([new Map([[1, -8]]), new Map(), good.payload, good.signature])],
      [
        'unprotected header as bytes',
        build([good.protectedBytes, new Uint8Array(0), good.payload, good.signature]),
      ],
      ['detached payload (null)', build([good.protectedBytes, new Map(), null, good.signature])],
      ['signature as text', build([good.protectedBytes, new Map(), good.payload, 'sig'])],
      ['protected header not a map', build([encodeCbor([1]), new Map(), good.payload, good.signature])],
      [
        'kid as text',
        build([
          encodeCbor(
            new Map<number, unknown>([
              [1, -8],
              [4, 'kid'],
            ]),
          ),
          new Map(),
          good.payload,
          good.signature,
        ]),
      ],
    ])('refuses %s', (_what, bytes) => {
      let caught: unknown;
      try {
        parseSign1(bytes);
      } catch (err) {
        caught = err;
      }
      expect(caught instanceof CoseFormatError || caught instanceof CborError).toBe(true);
    });

    it('refuses a protected header that is itself tagged (tags are allowed only around the Sign1)', () => {
      const bytes = build([
        encodeCbor(new Tag(new Map([[1, -8]]), 18)),
        new Map(),
        good.payload,
        good.signature,
      ]);
      expect(() => parseSign1(bytes)).toThrow(CborError);
    });
  });
});
