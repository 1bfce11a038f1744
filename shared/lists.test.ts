import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ISSUER, T0, claimsFor, vectorKeys } from '../scripts/make-vectors.js';
import { fromHex, toHex } from './bytes.js';
import { Tag, encodeCbor } from './cbor.js';
import { parseSign1, signSign1 } from './cose.js';
import { createPresentation, issueCredential, toQrText } from './credential.js';
import { VerifyKey, generateKeyPair, keyId, type KeyPair } from './keys.js';
import {
  ListError,
  checkSequence,
  openList,
  signList,
  type ListErrorCode,
  type SignedList,
} from './lists.js';
import { MemoryStore, type TrustedIssuerKey } from './store.js';
import { verify } from './verify.js';

const listKey = generateKeyPair('EdDSA');
const pinned = new VerifyKey('EdDSA', listKey.publicKey);
const serialA = fromHex('0a'.repeat(16));
const serialB = fromHex('0b'.repeat(16));
const trusted = (kp: KeyPair, extra: Partial<TrustedIssuerKey> = {}): TrustedIssuerKey => ({
  kid: keyId(kp.publicKey),
  alg: kp.alg,
  publicKey: kp.publicKey,
  issuer: ISSUER,
  ...extra,
});

function listError(fn: () => unknown): ListErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ListError) return err.code;
    throw err;
  }
  return undefined;
}

const revocationSnapshot = (version: number, serials: Uint8Array[], subjects: string[] = []): SignedList => ({
  type: 'revocation',
  version,
  issuedAt: T0 + version,
  snapshot: { serials, subjects },
});
const revocationDelta = (
  version: number,
  base: number,
  d: {
    addSerials?: Uint8Array[];
    removeSerials?: Uint8Array[];
    addSubjects?: string[];
    removeSubjects?: string[];
  },
): SignedList => ({
  type: 'revocation',
  version,
  base,
  issuedAt: T0 + version,
  delta: {
    addSerials: d.addSerials ?? [],
    removeSerials: d.removeSerials ?? [],
    addSubjects: d.addSubjects ?? [],
    removeSubjects: d.removeSubjects ?? [],
  },
});

describe('signed lists', () => {
  describe('sign and open', () => {
    it('round-trips a trust snapshot with key validity', () => {
      const issuer = generateKeyPair('ES256');
      const list: SignedList = {
        type: 'trust',
        version: 3,
        issuedAt: T0,
        snapshot: { keys: [trusted(issuer, { notBefore: T0, notAfter: T0 + 1000 })] },
      };
      const opened = openList(signList(listKey, list), pinned, 'trust');
      expect(opened).toEqual(list);
    });

    it('round-trips trust and revocation deltas and opaque card/library bodies', () => {
      const issuer = generateKeyPair('EdDSA');
      const trustDelta: SignedList = {
        type: 'trust',
        version: 5,
        base: 3,
        issuedAt: T0,
        delta: { add: [trusted(issuer)], remove: [fromHex('0102030405060708')] },
      };
      expect(openList(signList(listKey, trustDelta), pinned)).toEqual(trustDelta);
      const rd = revocationDelta(9, 4, {
        addSerials: [serialA],
        removeSerials: [serialB],
        addSubjects: ['m-1'],
        removeSubjects: ['m-2'],
      });
      expect(openList(signList(listKey, rd), pinned, 'revocation')).toEqual(rd);
      const cards: SignedList = {
        type: 'cards',
        version: 1,
        issuedAt: T0,
        snapshot: new Map([['abc', 'm-1']]),
      };
      const opened = openList(signList(listKey, cards), pinned, 'cards');
      expect(opened.type).toBe('cards');
      expect('snapshot' in opened && (opened.snapshot as Map<string, unknown>).get('abc')).toBe('m-1');
    });

    it('opens a list signed by an ES256 list key too', () => {
      const esKey = generateKeyPair('ES256');
      const list = revocationSnapshot(1, [serialA]);
      expect(openList(signList(esKey, list), new VerifyKey('ES256', esKey.publicKey))).toEqual(list);
    });
  });

  describe('refusals, each with a clear code', () => {
    const good = signList(listKey, revocationSnapshot(2, [serialA]));

    it('forged: signed by another key → list_bad_signature', () => {
      const other = generateKeyPair('EdDSA');
      expect(listError(() => openList(signList(other, revocationSnapshot(2, [serialA])), pinned))).toBe(
        'list_bad_signature',
      );
    });

    it('altered payload → list_bad_signature', () => {
      const s = parseSign1(good);
      const payload = new Uint8Array(s.payload);
      payload[payload.length - 1]! ^= 1;
      const altered = encodeCbor(new Tag([s.protectedBytes, new Map(), payload, s.signature], 18));
      expect(listError(() => openList(altered, pinned))).toBe('list_bad_signature');
    });

    it('a key published for another alg → list_bad_signature (alg pinning)', () => {
      const s = parseSign1(good);
      const relabelled = encodeCbor(
        new Tag([encodeCbor(new Map([[1, -7]])), new Map(), s.payload, s.signature], 18),
      );
      expect(listError(() => openList(relabelled, pinned))).toBe('list_bad_signature');
    });

    it('truncated → list_malformed', () => {
      for (const cut of [1, 10, good.length - 1])
        expect(listError(() => openList(good.subarray(0, cut), pinned))).toBe('list_malformed');
      expect(listError(() => openList(new Uint8Array(0), pinned))).toBe('list_malformed');
    });

    it('every entry of the hostile CBOR list → list_malformed', () => {
      const file = JSON.parse(
        readFileSync(new URL('../test/hostile-inputs.json', import.meta.url), 'utf8'),
      ) as {
        inputs: { name: string; hex?: string; repeat?: { hex: string; times: number }; suffix?: string }[];
      };
      for (const h of file.inputs) {
        const bytes = fromHex(
          (h.hex ?? '') + (h.repeat ? h.repeat.hex.repeat(h.repeat.times) : '') + (h.suffix ?? ''),
        );
        const code = listError(() => openList(bytes, pinned));
        // A 2 KiB byte string is fine for a list (64 MiB limit) but is not a COSE_Sign1.
        expect(code, h.name).toBe('list_malformed');
      }
    });

    it('wrong type → list_wrong_type', () => {
      expect(listError(() => openList(good, pinned, 'trust'))).toBe('list_wrong_type');
    });

    it('validly signed but malformed payloads → list_malformed', () => {
      const signed = (payload: unknown): Uint8Array =>
        signSign1(listKey.alg, listKey.secretKey, encodeCbor(payload), keyId(listKey.publicKey));
      const header = (extra: [string, unknown][]): Map<string, unknown> =>
        new Map<string, unknown>([['type', 'revocation'], ['version', 2], ['issued_at', T0], ...extra]);
      const cases: [string, unknown][] = [
        ['not a map', [1, 2]],
        [
          'unknown type',
          new Map<string, unknown>([
            ['type', 'menu'],
            ['version', 1],
            ['issued_at', T0],
            ['snapshot', new Map()],
          ]),
        ],
        [
          'version 0',
          new Map<string, unknown>([
            ['type', 'revocation'],
            ['version', 0],
            ['issued_at', T0],
            ['snapshot', new Map()],
          ]),
        ],
        [
          'serial of 15 bytes',
          header([
            [
              'snapshot',
              new Map<string, unknown>([
                ['serials', [new Uint8Array(15)]],
                ['subjects', []],
              ]),
            ],
          ]),
        ],
        [
          'subjects not text',
          header([
            [
              'snapshot',
              new Map<string, unknown>([
                ['serials', []],
                ['subjects', [1]],
              ]),
            ],
          ]),
        ],
        [
          'delta base ≥ version',
          header([
            ['base', 2],
            ['delta', new Map()],
          ]),
        ],
        ['delta without base', header([['delta', new Map()]])],
      ];
      for (const [what, payload] of cases)
        expect(
          listError(() => openList(signed(payload), pinned)),
          what,
        ).toBe('list_malformed');
    });

    it('a trust key whose kid does not match its public key → list_malformed', () => {
      const issuer = generateKeyPair('EdDSA');
      const bad = signList(listKey, {
        type: 'trust',
        version: 1,
        issuedAt: T0,
        snapshot: { keys: [{ ...trusted(issuer), kid: fromHex('0000000000000000') }] },
      });
      expect(listError(() => openList(bad, pinned))).toBe('list_malformed');
    });

    it('a trust key that is not a valid key for its alg → list_malformed', () => {
      const issuer = generateKeyPair('ES256');
      const wrongAlg = signList(listKey, {
        type: 'trust',
        version: 1,
        issuedAt: T0,
        snapshot: { keys: [{ ...trusted(issuer), alg: 'EdDSA' }] },
      });
      expect(listError(() => openList(wrongAlg, pinned))).toBe('list_malformed');
    });
  });

  describe('sequence: anti-rollback, gaps and redelivery', () => {
    it('checkSequence covers every branch', () => {
      expect(checkSequence(undefined, revocationSnapshot(1, []))).toBe('apply');
      expect(checkSequence(4, revocationSnapshot(5, []))).toBe('apply');
      expect(checkSequence(4, revocationSnapshot(9, []))).toBe('apply'); // a snapshot may skip versions
      expect(checkSequence(5, revocationSnapshot(5, []))).toBe('already_applied');
      expect(listError(() => checkSequence(5, revocationSnapshot(4, [])))).toBe('list_rollback');
      expect(checkSequence(4, revocationDelta(6, 4, {}))).toBe('apply');
      expect(checkSequence(5, revocationDelta(6, 4, {}))).toBe('apply'); // cumulative delta from an older base
      expect(listError(() => checkSequence(3, revocationDelta(6, 4, {})))).toBe('list_gap');
      expect(listError(() => checkSequence(undefined, revocationDelta(2, 1, {})))).toBe('list_gap');
      expect(checkSequence(6, revocationDelta(6, 4, {}))).toBe('already_applied');
      expect(listError(() => checkSequence(7, revocationDelta(6, 4, {})))).toBe('list_rollback');
    });

    it('MemoryStore.applyList: snapshot, cumulative delta, redelivery, rollback and gap', () => {
      const store = new MemoryStore();
      expect(store.applyList(revocationSnapshot(10, [serialA], ['m-1']))).toBe('apply');
      expect(store.isRevoked(serialA)).toBe(true);
      expect(store.isSuspended('m-1')).toBe(true);
      // Cumulative delta since 10: unrevoke A, revoke B, lift m-1, suspend m-2.
      const delta = revocationDelta(12, 10, {
        addSerials: [serialB],
        removeSerials: [serialA],
        addSubjects: ['m-2'],
        removeSubjects: ['m-1'],
      });
      expect(store.applyList(delta)).toBe('apply');
      expect([store.isRevoked(serialA), store.isRevoked(serialB)]).toEqual([false, true]);
      expect([store.isSuspended('m-1'), store.isSuspended('m-2')]).toEqual([false, true]);
      expect(store.listVersions.get('revocation')).toBe(12);
      expect(store.applyList(delta)).toBe('already_applied');
      expect(listError(() => store.applyList(revocationSnapshot(11, [])))).toBe('list_rollback');
      expect(listError(() => store.applyList(revocationDelta(20, 15, {})))).toBe('list_gap');
      expect(store.listVersions.get('revocation')).toBe(12);
      // A newer snapshot replaces everything.
      expect(store.applyList(revocationSnapshot(13, [serialA]))).toBe('apply');
      expect([store.isRevoked(serialA), store.isRevoked(serialB), store.isSuspended('m-2')]).toEqual([
        true,
        false,
        false,
      ]);
    });

    it('trust lists drive verify: snapshot adds an issuer, a delta removes it', () => {
      const keys = vectorKeys();
      const issuer = keys['issuer-eddsa']!;
      const device = keys['device-1']!;
      const t = T0 + 86_400;
      const qr = (n: number): string =>
        toQrText(
          createPresentation({
            credential: issueCredential(issuer, claimsFor(device, 1)),
            deviceSecretKey: device.secretKey,
            t,
            nonce: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, n),
          }),
        );
      const store = new MemoryStore();
      expect(verify(qr(1), store, { now: t }).reason).toBe('unknown_issuer');
      store.applyList(
        openList(
          signList(listKey, {
            type: 'trust',
            version: 1,
            issuedAt: T0,
            snapshot: { keys: [trusted(issuer)] },
          }),
          pinned,
          'trust',
        ),
      );
      expect(verify(qr(2), store, { now: t }).reason).toBe('ok');
      const remove: SignedList = {
        type: 'trust',
        version: 2,
        base: 1,
        issuedAt: T0,
        delta: { add: [], remove: [keyId(issuer.publicKey)] },
      };
      store.applyList(openList(signList(listKey, remove), pinned, 'trust'));
      expect(verify(qr(3), store, { now: t }).reason).toBe('unknown_issuer');
      // Revocation through a signed list.
      store.applyList(
        openList(
          signList(listKey, {
            type: 'trust',
            version: 3,
            issuedAt: T0,
            snapshot: { keys: [trusted(issuer)] },
          }),
          pinned,
        ),
      );
      store.applyList(openList(signList(listKey, revocationSnapshot(1, [claimsFor(device, 1).cti])), pinned));
      expect(verify(qr(4), store, { now: t }).reason).toBe('revoked');
      expect(toHex(claimsFor(device, 1).cti)).toBe('50470000000000000000000000000001');
    });
  });
});
