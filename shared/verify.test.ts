import { describe, expect, it } from 'vitest';
import { ISSUER, claimsFor, highSTwin } from '../scripts/make-vectors.js';
import { base45Encode } from './base45.js';
import { Tag, encodeCbor } from './cbor.js';
import { parseSign1 } from './cose.js';
import { createPresentation, issueCredential, toQrText } from './credential.js';
import { keyId } from './keys.js';
import { TOKEN_REASONS, type Reason } from './reasons.js';
import { MemoryStore } from './store.js';
import { MAX_QR_CHARS, verify, type VerifyOptions } from './verify.js';

import {
  at,
  device,
  issuerEd,
  issuerEs,
  makeQr,
  observedReasons,
  otherDevice,
  reasonOf,
  T,
  trustStore,
  untrusted,
} from './verify.fixture.js';
describe('verify', () => {
  describe('one test per reason code, in the design order', () => {
    it('ok: accepts and reports the facts, the matched entitlement and the replay key', () => {
      const { qr } = makeQr({ nonce: 0x0a0b0c0d });
      const store = trustStore();
      const d = verify(qr, store, at(T + 3, { requirement: { k: 'venue', v: 'pool-3' } }));
      expect(d).toMatchObject({
        decision: 'accept',
        reason: 'ok',
        iss: ISSUER,
        sub: 'm-000001',
        cti: '50470000000000000000000000000001',
        t: T,
        matched: { k: 'venue', v: 'pool-3' },
        replayKey: `50470000000000000000000000000001:${T}:090909090a0b0c0d`,
        replayExpiresAt: T + 31,
      });
      expect(store.hasSeen(d.replayKey!)).toBe(true);
    });

    it('malformed: not PG1, bad base45, bad CBOR, over 2 KiB, wrong types', () => {
      const store = trustStore();
      const { presentation } = makeQr();
      expect(reasonOf('', store, at(T))).toBe('malformed');
      expect(reasonOf('pg1:' + base45Encode(presentation), store, at(T))).toBe('malformed');
      expect(reasonOf('PG1:' + base45Encode(presentation) + 'A', store, at(T))).toBe('malformed');
      expect(reasonOf('PG1:' + base45Encode(presentation.subarray(3)), store, at(T))).toBe('malformed');
      expect(reasonOf('PG1:' + 'A'.repeat(MAX_QR_CHARS), store, at(T))).toBe('malformed');
      expect(verify(42 as unknown as string, store, at(T)).reason).toBe('malformed');
      const notMap = encodeCbor(
        new Tag([encodeCbor(new Map([[1, -7]])), new Map(), encodeCbor([1, 2, 3]), new Uint8Array(64)], 18),
      );
      expect(verify('PG1:' + base45Encode(notMap), store, at(T)).detail).toMatch(/not a map/);
      const badT = makeQr({ t: T }).presentation;
      const s = parseSign1(badT);
      const body = encodeCbor(
        new Map<number, unknown>([
          [1, makeQr().credential],
          [2, -5],
          [3, new Uint8Array(8)],
        ]),
      );
      const wrongTime = encodeCbor(new Tag([s.protectedBytes, new Map(), body, s.signature], 18));
      expect(verify('PG1:' + base45Encode(wrongTime), store, at(T)).detail).toMatch(/time/);
    });

    it('unsupported_version: a PG2: prefix, or an alg v1 does not know', () => {
      const store = trustStore();
      const { presentation } = makeQr();
      expect(reasonOf('PG2:' + base45Encode(presentation), store, at(T))).toBe('unsupported_version');
      expect(reasonOf('PG01:' + base45Encode(presentation), store, at(T))).toBe('unsupported_version');
      const s = parseSign1(presentation);
      const es384 = encodeCbor(
        new Tag([encodeCbor(new Map([[1, -35]])), new Map(), s.payload, new Uint8Array(96)], 18),
      );
      expect(reasonOf('PG1:' + base45Encode(es384), store, at(T))).toBe('unsupported_version');
    });

    it('unknown_issuer: kid not trusted, iss not the key’s, or key outside its validity', () => {
      expect(reasonOf(makeQr({ issuer: untrusted }).qr, trustStore(), at(T))).toBe('unknown_issuer');
      expect(reasonOf(makeQr({ claims: { iss: 'https://evil.example' } }).qr, trustStore(), at(T))).toBe(
        'unknown_issuer',
      );
      const limited = new MemoryStore();
      limited.addKey({
        kid: keyId(issuerEd.publicKey),
        alg: 'EdDSA',
        publicKey: issuerEd.publicKey,
        issuer: ISSUER,
        notBefore: T + 60,
        notAfter: T + 120,
      });
      expect(reasonOf(makeQr().qr, limited, at(T))).toBe('unknown_issuer');
      expect(reasonOf(makeQr({ t: T + 60 }).qr, limited, at(T + 60))).toBe('ok');
      expect(reasonOf(makeQr({ t: T + 120 }).qr, limited, at(T + 120))).toBe('unknown_issuer');
    });

    it('bad_issuer_signature: forged signature, or a key published for another alg', () => {
      const { credential } = makeQr();
      const s = parseSign1(credential);
      const sig = new Uint8Array(s.signature);
      sig[0]! ^= 1;
      const forged = encodeCbor(new Tag([s.protectedBytes, new Map(), s.payload, sig], 18));
      const p = createPresentation({ credential: forged, deviceSecretKey: device.secretKey, t: T });
      expect(reasonOf(toQrText(p), trustStore(), at(T))).toBe('bad_issuer_signature');
      // The store publishes the Ed25519 key as ES256: the credential's EdDSA header no longer matches.
      const mispinned = new MemoryStore();
      mispinned.addKey({
        kid: keyId(issuerEd.publicKey),
        alg: 'ES256',
        publicKey: issuerEs.publicKey,
        issuer: ISSUER,
      });
      expect(reasonOf(makeQr().qr, mispinned, at(T))).toBe('bad_issuer_signature');
    });

    it('bad_issuer_signature: the high-S twin of an ES256 issuer signature', () => {
      const { credential } = makeQr({ issuer: issuerEs });
      const s = parseSign1(credential);
      const twin = encodeCbor(new Tag([s.protectedBytes, new Map(), s.payload, highSTwin(s.signature)], 18));
      const p = createPresentation({ credential: twin, deviceSecretKey: device.secretKey, t: T });
      for (const backend of ['node', 'noble'] as const)
        expect(reasonOf(toQrText(p), trustStore(), at(T, { backend }))).toBe('bad_issuer_signature');
    });

    it('not_yet_valid and cert_expired, with skew on both edges', () => {
      const early = makeQr({ claims: { nbf: T + 100 } });
      expect(reasonOf(early.qr, trustStore(), at(T))).toBe('not_yet_valid');
      expect(
        reasonOf(
          makeQr({ claims: { nbf: T + 100 } }).qr,
          trustStore(),
          at(T, { skewSeconds: 100, windowSeconds: 30 }),
        ),
      ).toBe('ok');
      expect(reasonOf(makeQr({ claims: { exp: T } }).qr, trustStore(), at(T))).toBe('cert_expired');
      expect(reasonOf(makeQr({ claims: { exp: T + 1 } }).qr, trustStore(), at(T))).toBe('ok');
      expect(reasonOf(makeQr({ claims: { exp: T } }).qr, trustStore(), at(T, { skewSeconds: 5 }))).toBe('ok');
    });

    it('revoked and member_suspended', () => {
      const store = trustStore();
      store.revoked.add('50470000000000000000000000000001');
      expect(reasonOf(makeQr().qr, store, at(T))).toBe('revoked');
      const store2 = trustStore();
      store2.suspended.add('m-000001');
      expect(reasonOf(makeQr().qr, store2, at(T))).toBe('member_suspended');
    });

    it('bad_device_signature: another device, or the high-S twin of the device signature', () => {
      expect(reasonOf(makeQr({ signer: otherDevice }).qr, trustStore(), at(T))).toBe('bad_device_signature');
      const s = parseSign1(makeQr().presentation);
      const twin = encodeCbor(new Tag([s.protectedBytes, new Map(), s.payload, highSTwin(s.signature)], 18));
      expect(reasonOf('PG1:' + base45Encode(twin), trustStore(), at(T))).toBe('bad_device_signature');
    });

    it('stale and future: |now − t| ≤ window + skew', () => {
      expect(reasonOf(makeQr().qr, trustStore(), at(T + 30))).toBe('ok');
      expect(reasonOf(makeQr().qr, trustStore(), at(T + 31))).toBe('stale');
      expect(reasonOf(makeQr().qr, trustStore(), at(T - 30))).toBe('ok');
      expect(reasonOf(makeQr().qr, trustStore(), at(T - 31))).toBe('future');
      expect(reasonOf(makeQr().qr, trustStore(), at(T + 40, { skewSeconds: 10 }))).toBe('ok');
      expect(reasonOf(makeQr().qr, trustStore(), at(T + 70, { windowSeconds: 60, skewSeconds: 10 }))).toBe(
        'ok',
      );
      expect(reasonOf(makeQr().qr, trustStore(), at(T + 71, { windowSeconds: 60, skewSeconds: 10 }))).toBe(
        'stale',
      );
    });

    it('replayed: the same presentation twice; recordReplay: false leaves the cache alone', () => {
      const { qr } = makeQr();
      const store = trustStore();
      expect(reasonOf(qr, store, at(T, { recordReplay: false }))).toBe('ok');
      expect(store.seen.size).toBe(0);
      expect(reasonOf(qr, store, at(T))).toBe('ok');
      expect(reasonOf(qr, store, at(T + 1))).toBe('replayed');
      // A fresh presentation of the same credential (new nonce) is fine.
      expect(reasonOf(makeQr().qr, store, at(T + 1))).toBe('ok');
    });

    it('not_entitled: kind, venue and class must match', () => {
      const store = trustStore();
      expect(reasonOf(makeQr().qr, store, at(T, { requirement: { k: 'library' } }))).toBe('not_entitled');
      expect(reasonOf(makeQr().qr, store, at(T, { requirement: { k: 'venue', v: 'pool-9' } }))).toBe(
        'not_entitled',
      );
      expect(reasonOf(makeQr().qr, store, at(T, { requirement: { k: 'concession', c: ['student'] } }))).toBe(
        'not_entitled',
      );
      expect(reasonOf(makeQr().qr, store, at(T, { requirement: { k: 'concession', c: ['senior'] } }))).toBe(
        'ok',
      );
      // An entitlement without a venue covers every venue of its kind.
      const anyVenue = makeQr({ claims: { ent: [{ k: 'venue' }] } });
      expect(reasonOf(anyVenue.qr, store, at(T, { requirement: { k: 'venue', v: 'pool-9' } }))).toBe('ok');
    });

    // Runs last in this block: a reason added to shared/reasons.ts without a test above fails here.
    it('every token reason code in shared/reasons.ts is produced by a test above', () => {
      expect(TOKEN_REASONS.filter((r) => !observedReasons.has(r))).toEqual([]);
    });
  });

  it('a credential its issuer signed over an off-curve device key is denied, not thrown', () => {
    const bogus = new Uint8Array(device.publicKey);
    bogus[64]! ^= 1;
    const credential = issueCredential(issuerEd, claimsFor(device, 1, { devicePublicKey: bogus }));
    const p = createPresentation({ credential, deviceSecretKey: device.secretKey, t: T });
    for (const backend of ['node', 'noble'] as const)
      expect(reasonOf(toQrText(p), trustStore(), at(T, { backend }))).toBe('bad_device_signature');
  });

  describe('order: the first failure wins', () => {
    it('walks down the order by removing one fault at a time', () => {
      // Everything wrong at once, then fix faults from the top; each step must expose the next reason.
      const store = trustStore();
      store.revoked.add('50470000000000000000000000000001');
      store.suspended.add('m-000001');
      const expired = { exp: T - 10 };
      const steps: [Reason, string, MemoryStore, VerifyOptions][] = [
        [
          'unknown_issuer',
          makeQr({ issuer: untrusted, claims: expired, signer: otherDevice }).qr,
          store,
          at(T + 100),
        ],
        ['cert_expired', makeQr({ claims: expired, signer: otherDevice }).qr, store, at(T + 100)],
        ['revoked', makeQr({ signer: otherDevice }).qr, store, at(T + 100)],
      ];
      const noRevoked = trustStore();
      noRevoked.suspended.add('m-000001');
      steps.push(['member_suspended', makeQr({ signer: otherDevice }).qr, noRevoked, at(T + 100)]);
      steps.push(['bad_device_signature', makeQr({ signer: otherDevice }).qr, trustStore(), at(T + 100)]);
      const replay = makeQr({ nonce: 77 });
      const seen = trustStore();
      seen.markSeen(verify(replay.qr, trustStore(), at(T)).replayKey!, T + 1000);
      steps.push(['stale', replay.qr, seen, at(T + 100, { requirement: { k: 'library' } })]);
      steps.push(['replayed', replay.qr, seen, at(T, { requirement: { k: 'library' } })]);
      steps.push(['not_entitled', makeQr().qr, trustStore(), at(T, { requirement: { k: 'library' } })]);
      for (const [reason, qr, s, o] of steps) expect(reasonOf(qr, s, o), reason).toBe(reason);
    });

    it('revoked AND stale → revoked; not_yet_valid AND revoked → not_yet_valid', () => {
      const store = trustStore();
      store.revoked.add('50470000000000000000000000000001');
      expect(reasonOf(makeQr().qr, store, at(T + 3600))).toBe('revoked');
      expect(reasonOf(makeQr({ claims: { nbf: T + 7200 } }).qr, store, at(T))).toBe('not_yet_valid');
    });

    it('a truncated PG1 body is malformed', () => {
      expect(reasonOf('PG1:' + base45Encode(Uint8Array.of(0xd2, 0x84)), trustStore(), at(T))).toBe(
        'malformed',
      );
    });

    it('a valid credential stays valid when its issuer check is answered from the verified-credential cache', () => {
      const store = trustStore();
      const first = makeQr();
      expect(reasonOf(first.qr, store, at(T))).toBe('ok');
      expect(store.verified.size).toBe(1);
      // Same credential, new presentations: cached issuer check, device and freshness still enforced.
      expect(reasonOf(makeQr().qr, store, at(T))).toBe('ok');
      expect(reasonOf(makeQr({ signer: otherDevice }).qr, store, at(T))).toBe('bad_device_signature');
      store.keys.clear();
      expect(reasonOf(makeQr().qr, store, at(T))).toBe('unknown_issuer');
    });
  });

  describe('size', () => {
    it('a typical credential (two entitlements) gives QR text of at most 600 characters', () => {
      for (const issuer of [issuerEd, issuerEs]) {
        const { qr, presentation, credential } = makeQr({ issuer });
        console.log(
          `QR text for a typical ${issuer.alg} credential (two entitlements): ${qr.length} characters ` +
            `(presentation ${presentation.length} bytes, credential ${credential.length} bytes)`,
        );
        expect(qr.length).toBeLessThanOrEqual(600);
      }
    });
  });
});
