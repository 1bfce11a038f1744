// One conformance suite for every VerifierStore: the in-memory store (CLI, tests) and the terminal's
// SQLite store must answer alike, apply lists alike and refuse the same lists.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fromHex } from '../../shared/bytes.js';
import { createPresentation, issueCredential, toQrText } from '../../shared/credential.js';
import { generateKeyPair, keyId } from '../../shared/keys.js';
import { ListError, type SequenceCheck, type SignedList } from '../../shared/lists.js';
import { MemoryStore, type TrustedIssuerKey, type VerifierStore } from '../../shared/store.js';
import { verify } from '../../shared/verify.js';
import { SqliteStore } from './sqlite.js';

interface Subject {
  store: VerifierStore;
  applyList(list: SignedList): SequenceCheck;
  close(): void;
}

const implementations: Record<string, () => Subject> = {
  memory: () => {
    const store = new MemoryStore();
    return { store, applyList: (l) => store.applyList(l), close: () => undefined };
  },
  sqlite: () => {
    const dir = mkdtempSync(join(tmpdir(), 'passgate-store-'));
    const store = new SqliteStore(join(dir, 'terminal.db'));
    store.open();
    return {
      store: store.verifier,
      applyList: (l) => store.lists.apply(l, Date.now()),
      close: () => {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const serial = (n: number) => fromHex(n.toString(16).padStart(32, '0'));
const issuer = generateKeyPair('EdDSA');
const trusted: TrustedIssuerKey = {
  kid: keyId(issuer.publicKey),
  alg: 'EdDSA',
  publicKey: issuer.publicKey,
  issuer: 'city-pass',
  notBefore: 1_700_000_000,
  notAfter: 1_900_000_000,
};
const trustV1: SignedList = { type: 'trust', version: 1, issuedAt: 1, snapshot: { keys: [trusted] } };
const revocation = (version: number, serials: number[], subjects: string[]): SignedList => ({
  type: 'revocation',
  version,
  issuedAt: version,
  snapshot: { serials: serials.map(serial), subjects },
});
const delta = (
  version: number,
  base: number,
  add: number[],
  remove: number[],
  addSubjects: string[] = [],
): SignedList => ({
  type: 'revocation',
  version,
  issuedAt: version,
  base,
  delta: { addSerials: add.map(serial), removeSerials: remove.map(serial), addSubjects, removeSubjects: [] },
});

describe.each(Object.keys(implementations))('VerifierStore conformance: %s', (name) => {
  let subject: Subject | undefined;
  const make = () => (subject = implementations[name]!());
  afterEach(() => subject?.close());

  it('starts empty', () => {
    const { store } = make();
    expect(store.issuerKey(trusted.kid)).toBeUndefined();
    expect(store.isRevoked(serial(1))).toBe(false);
    expect(store.isSuspended('m-1')).toBe(false);
    expect(store.hasSeen('x')).toBe(false);
  });

  it('serves trust keys exactly as the list published them', () => {
    const s = make();
    expect(s.applyList(trustV1)).toBe('apply');
    const k = s.store.issuerKey(trusted.kid)!;
    expect(k.alg).toBe('EdDSA');
    expect(Buffer.from(k.publicKey)).toEqual(Buffer.from(trusted.publicKey));
    expect(k.issuer).toBe('city-pass');
    expect(k.notBefore).toBe(trusted.notBefore);
    expect(k.notAfter).toBe(trusted.notAfter);
    expect(s.store.issuerKey(new Uint8Array(8))).toBeUndefined();
  });

  it('applies snapshots (replacing) and cumulative deltas, and refuses rollbacks and gaps unchanged', () => {
    const s = make();
    s.applyList(revocation(1, [1, 2], ['m-frozen']));
    expect(s.store.isRevoked(serial(1))).toBe(true);
    expect(s.store.isSuspended('m-frozen')).toBe(true);
    expect(s.applyList(delta(3, 1, [3], [1], ['m-other']))).toBe('apply');
    expect(s.store.isRevoked(serial(1))).toBe(false);
    expect(s.store.isRevoked(serial(3))).toBe(true);
    expect(s.store.isSuspended('m-other')).toBe(true);
    // A later cumulative delta from the same base applies on top of version 3.
    expect(s.applyList(delta(4, 1, [3, 4], [1]))).toBe('apply');
    expect(s.store.isRevoked(serial(4))).toBe(true);
    expect(s.applyList(delta(4, 1, [3, 4], [1]))).toBe('already_applied');
    expect(() => s.applyList(revocation(2, [9], []))).toThrow(ListError);
    expect(() => s.applyList(delta(9, 5, [9], []))).toThrow(/snapshot is needed/);
    expect(s.store.isRevoked(serial(9))).toBe(false);
    s.applyList(revocation(5, [7], []));
    expect(s.store.isRevoked(serial(2))).toBe(false);
    expect(s.store.isRevoked(serial(7))).toBe(true);
    expect(s.store.isSuspended('m-frozen')).toBe(false);
  });

  it('remembers replay keys and verified credentials', () => {
    const { store } = make();
    store.markSeen('abc:1:00', 2_000_000_000);
    expect(store.hasSeen('abc:1:00')).toBe(true);
    expect(store.hasSeen('abc:1:01')).toBe(false);
    if (store.rememberVerifiedCredential && store.isVerifiedCredential) {
      store.rememberVerifiedCredential('digest-1', 2_000_000_000);
      expect(store.isVerifiedCredential('digest-1')).toBe(true);
      expect(store.isVerifiedCredential('digest-2')).toBe(false);
    }
  });

  it('drives verify() to the same decisions', () => {
    const s = make();
    s.applyList(trustV1);
    s.applyList(revocation(1, [], []));
    const device = generateKeyPair('ES256');
    const now = 1_800_000_000;
    const credential = issueCredential(issuer, {
      iss: 'city-pass',
      sub: 'm-conform',
      iat: now,
      nbf: now,
      exp: now + 3600,
      cti: serial(42),
      devicePublicKey: device.publicKey,
      ent: [{ k: 'venue', v: 'zoo' }],
    });
    const qr = toQrText(createPresentation({ credential, deviceSecretKey: device.secretKey, t: now }));
    expect(verify(qr, s.store, { now }).reason).toBe('ok');
    expect(verify(qr, s.store, { now }).reason).toBe('replayed');
    s.applyList(delta(2, 1, [42], []));
    const fresh = toQrText(createPresentation({ credential, deviceSecretKey: device.secretKey, t: now + 1 }));
    expect(verify(fresh, s.store, { now: now + 1 }).reason).toBe('revoked');
  });
});
