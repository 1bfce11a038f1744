// Builds the token test vectors under shared/vectors/ from fixed secrets, nonces, serials and times.
// The checked-in JSON files are the source of truth: shared/vectors.test.ts rebuilds them in memory and
// fails when they differ, so a change in encoding or signing can never slip through silently.
// To add a vector, add it here and run:  UPDATE_VECTORS=1 npx vitest run shared/vectors.test.ts
// then review the diff (an existing vector must never change; add new ones instead).
import { sha256 } from '@noble/hashes/sha2.js';
import { p256 } from '@noble/curves/nist.js';
import { base45Encode } from '../shared/base45.js';
import { fromHex, toHex } from '../shared/bytes.js';
import { Tag, encodeCbor } from '../shared/cbor.js';
import { COSE_SIGN1_TAG, parseSign1 } from '../shared/cose.js';
import {
  encodeClaims,
  issueCredential,
  createPresentation,
  toQrText,
  type CredentialClaims,
  type Entitlement,
} from '../shared/credential.js';
import {
  COSE_ALG,
  VerifyKey,
  coseKeyFromPublic,
  keyId,
  publicKeyFromSecret,
  type Alg,
  type KeyPair,
} from '../shared/keys.js';
import type { Reason } from '../shared/reasons.js';
import type { EntitlementRequirement } from '../shared/verify.js';

export const VECTOR_FORMAT = 'passgate-vectors/1';
export const ISSUER = 'https://pass.city.example';
/** 2026-01-01T00:00:00Z: every time in the vectors is an offset from here. */
export const T0 = 1_767_225_600;
const DAY = 86_400;

/** Fixed secrets: sha256 of a label (each is a valid Ed25519 seed and a P-256 scalar below n). */
function fixedSecret(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(`passgate test vector key: ${label}`));
}

function fixedKey(label: string, alg: Alg): KeyPair {
  const secretKey = fixedSecret(label);
  return { alg, secretKey, publicKey: publicKeyFromSecret(alg, secretKey) };
}

export interface VectorKey {
  alg: Alg;
  role: string;
  secretKey: string;
  publicKey: string;
  kid: string;
  jwk: Record<string, string>;
  coseKey: string;
}

export interface VectorTrust {
  /** Name of a key in keys.json. */
  key: string;
  iss: string;
  notBefore?: number;
  notAfter?: number;
}

export interface VectorCase {
  name: string;
  description: string;
  qr: string;
  /** The verifier's clock, unix seconds. */
  now: number;
  options: { windowSeconds: number; skewSeconds: number; requirement?: EntitlementRequirement };
  store: { trust: VectorTrust[]; revokedSerials: string[]; suspendedSubjects: string[]; seen: string[] };
  expected: {
    decision: 'accept' | 'deny';
    reason: Reason;
    sub?: string;
    cti?: string;
    t?: number;
    /** Phone checkout: the item barcodes carried in the presentation (payload key 4). */
    items?: string[];
  };
}

export interface VectorFiles {
  keys: { format: string; note: string; keys: Record<string, VectorKey> };
  cases: { format: string; note: string; cases: VectorCase[] };
}

const KEY_SPECS: Record<string, { alg: Alg; role: string }> = {
  'issuer-eddsa': { alg: 'EdDSA', role: 'issuer (trusted in most cases)' },
  'issuer-es256': { alg: 'ES256', role: 'issuer (trusted in most cases)' },
  'issuer-untrusted': { alg: 'EdDSA', role: 'issuer no verifier trusts' },
  'device-1': { alg: 'ES256', role: 'wallet device key (cnf of every credential)' },
  'device-2': { alg: 'ES256', role: 'another wallet: signs presentations of a credential bound to device-1' },
};

export function vectorKeys(): Record<string, KeyPair> {
  return Object.fromEntries(Object.entries(KEY_SPECS).map(([name, s]) => [name, fixedKey(name, s.alg)]));
}

function describeKey(kp: KeyPair, role: string): VectorKey {
  return {
    alg: kp.alg,
    role,
    secretKey: toHex(kp.secretKey),
    publicKey: toHex(kp.publicKey),
    kid: toHex(keyId(kp.publicKey)),
    jwk: new VerifyKey(kp.alg, kp.publicKey).toJwk(),
    coseKey: toHex(encodeCbor(coseKeyFromPublic(kp.alg, kp.publicKey))),
  };
}

/** A typical credential: two entitlements (a venue and a concession class). */
export const TYPICAL_ENTITLEMENTS: Entitlement[] = [
  { k: 'venue', v: 'pool-3' },
  { k: 'concession', c: 'senior' },
];

function serial(n: number): Uint8Array {
  const out = new Uint8Array(16);
  out.set(fromHex('5047'), 0); // "PG"
  out[15] = n;
  return out;
}

function nonce(n: number): Uint8Array {
  return fromHex(`0102030405060a${n.toString(16).padStart(2, '0')}`);
}

export function claimsFor(
  device: KeyPair,
  n: number,
  overrides: Partial<CredentialClaims> = {},
): CredentialClaims {
  return {
    iss: ISSUER,
    sub: `m-${String(n).padStart(6, '0')}`,
    iat: T0,
    nbf: T0,
    exp: T0 + 365 * DAY,
    cti: serial(n),
    devicePublicKey: device.publicKey,
    ent: TYPICAL_ENTITLEMENTS,
    ...overrides,
  };
}

/** A COSE_Sign1 assembled by hand, for credentials no honest signer would make. */
function rawSign1(
  protectedHeader: Map<number, unknown>,
  payload: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  return encodeCbor(new Tag([encodeCbor(protectedHeader), new Map(), payload, signature], COSE_SIGN1_TAG));
}

/** The high-S twin of a valid raw r‖s P-256 signature: s' = n − s (valid for lax ECDSA, refused here). */
export function highSTwin(signature: Uint8Array): Uint8Array {
  const n = p256.Point.Fn.ORDER;
  const s = BigInt('0x' + toHex(signature.subarray(32)));
  const out = new Uint8Array(signature);
  out.set(fromHex((n - s).toString(16).padStart(64, '0')), 32);
  return out;
}

function withSignature(sign1: Uint8Array, signature: Uint8Array): Uint8Array {
  const p = parseSign1(sign1);
  return encodeCbor(new Tag([p.protectedBytes, p.unprotectedHeader, p.payload, signature], COSE_SIGN1_TAG));
}

export function buildVectors(): VectorFiles {
  const keys = vectorKeys();
  const k = (name: string): KeyPair => keys[name]!;
  const device = k('device-1');
  const t = T0 + DAY; // presentations are shown on 2026-01-02
  const now = t + 5;
  const trustBoth: VectorTrust[] = [
    { key: 'issuer-eddsa', iss: ISSUER },
    { key: 'issuer-es256', iss: ISSUER },
  ];
  const emptyStore = (): VectorCase['store'] => ({
    trust: trustBoth,
    revokedSerials: [],
    suspendedSubjects: [],
    seen: [],
  });
  const options: VectorCase['options'] = { windowSeconds: 30, skewSeconds: 0 };
  const present = (credential: Uint8Array, n: number, at = t, signer = device): Uint8Array =>
    createPresentation({ credential, deviceSecretKey: signer.secretKey, t: at, nonce: nonce(n) });
  const qr = (credential: Uint8Array, n: number, at = t, signer = device): string =>
    toQrText(present(credential, n, at, signer));

  const cases: VectorCase[] = [];
  const add = (
    c: Omit<VectorCase, 'options' | 'store'> & Partial<Pick<VectorCase, 'options' | 'store'>>,
  ): void => {
    cases.push({
      name: c.name,
      description: c.description,
      qr: c.qr,
      now: c.now,
      options: c.options ?? options,
      store: c.store ?? emptyStore(),
      expected: c.expected,
    });
  };
  const deny = (reason: Reason): VectorCase['expected'] => ({ decision: 'deny', reason });

  // Valid credentials, one per issuer algorithm.
  const credEd = issueCredential(k('issuer-eddsa'), claimsFor(device, 1));
  const credEs = issueCredential(k('issuer-es256'), claimsFor(device, 2));
  add({
    name: 'valid-eddsa',
    description: 'Ed25519 issuer, ES256 device, two entitlements; venue pool-3 required.',
    qr: qr(credEd, 1),
    now,
    options: { ...options, requirement: { k: 'venue', v: 'pool-3' } },
    expected: { decision: 'accept', reason: 'ok', sub: 'm-000001', cti: toHex(serial(1)), t },
  });
  add({
    name: 'valid-es256',
    description: 'P-256 issuer, ES256 device, two entitlements; senior concession required.',
    qr: qr(credEs, 2),
    now,
    options: { ...options, requirement: { k: 'concession', c: ['senior', 'student'] } },
    expected: { decision: 'accept', reason: 'ok', sub: 'm-000002', cti: toHex(serial(2)), t },
  });
  add({
    name: 'valid-at-window-edge',
    description: 'Shown exactly 30 s before now: still inside the window.',
    qr: qr(credEd, 3),
    now: t + 30,
    expected: { decision: 'accept', reason: 'ok', sub: 'm-000001', cti: toHex(serial(1)), t },
  });
  add({
    name: 'valid-with-skew',
    description: 'Shown 40 s before now; a declared skew of 15 s widens the window to 45 s.',
    qr: qr(credEd, 4),
    now: t + 40,
    options: { windowSeconds: 30, skewSeconds: 15 },
    expected: { decision: 'accept', reason: 'ok', sub: 'm-000001', cti: toHex(serial(1)), t },
  });

  // malformed
  const goodPresentation = present(credEd, 5);
  add({
    name: 'malformed-no-prefix',
    description: 'Not a PG code at all.',
    qr: 'HELLO WORLD',
    now,
    expected: deny('malformed'),
  });
  add({
    name: 'malformed-base45',
    description: 'Lower-case letters are outside the base45 alphabet.',
    qr: 'PG1:' + base45Encode(goodPresentation).toLowerCase(),
    now,
    expected: deny('malformed'),
  });
  add({
    name: 'malformed-truncated',
    description: 'The presentation cut short by 10 bytes (bad CBOR).',
    qr: 'PG1:' + base45Encode(goodPresentation.subarray(0, goodPresentation.length - 10)),
    now,
    expected: deny('malformed'),
  });
  add({
    name: 'malformed-untagged',
    description: 'A COSE_Sign1 array without its tag 18.',
    qr: 'PG1:' + base45Encode(goodPresentation.subarray(1)),
    now,
    expected: deny('malformed'),
  });
  add({
    name: 'malformed-huge-length',
    description: 'A byte string announcing 2^64-1 bytes (must be refused without allocating).',
    qr: 'PG1:' + base45Encode(fromHex('5bffffffffffffffff00')),
    now,
    expected: deny('malformed'),
  });
  add({
    name: 'malformed-oversize',
    description: 'A presentation over 2 KiB (credential padded with a 2100-byte entitlement field).',
    qr: qr(
      issueCredential(
        k('issuer-eddsa'),
        claimsFor(device, 6, { ent: [{ k: 'venue', v: 'x'.repeat(2100) }] }),
      ),
      6,
    ),
    now,
    expected: deny('malformed'),
  });
  add({
    name: 'malformed-claims',
    description: 'Validly signed credential whose cti is 4 bytes instead of 16.',
    qr: qr(issueCredential(k('issuer-eddsa'), claimsFor(device, 7, { cti: fromHex('50470007') })), 7),
    now,
    expected: deny('malformed'),
  });

  // unsupported_version
  add({
    name: 'unsupported-version-prefix',
    description: 'A well-formed body under a PG2: prefix.',
    qr: 'PG2:' + base45Encode(goodPresentation),
    now,
    expected: deny('unsupported_version'),
  });
  const es384Credential = rawSign1(
    new Map<number, unknown>([
      [1, -35],
      [4, keyId(k('issuer-es256').publicKey)],
    ]),
    encodeClaims(claimsFor(device, 8)),
    new Uint8Array(96),
  );
  add({
    name: 'unsupported-version-alg',
    description: 'Credential protected header names ES384 (-35), which v1 does not support.',
    qr: qr(es384Credential, 8),
    now,
    expected: deny('unsupported_version'),
  });

  // unknown_issuer
  add({
    name: 'unknown-issuer-kid',
    description: 'Signed by a key whose kid is not on the trust list.',
    qr: qr(issueCredential(k('issuer-untrusted'), claimsFor(device, 9)), 9),
    now,
    expected: deny('unknown_issuer'),
  });
  add({
    name: 'unknown-issuer-iss-mismatch',
    description: 'The trusted key signs for another issuer name than the credential claims.',
    qr: qr(credEd, 10),
    now,
    store: { ...emptyStore(), trust: [{ key: 'issuer-eddsa', iss: 'https://other.example' }] },
    expected: deny('unknown_issuer'),
  });
  add({
    name: 'unknown-issuer-key-expired',
    description: 'The issuer key is trusted only until T0 + 1 day − 1 s.',
    qr: qr(credEd, 11),
    now,
    store: { ...emptyStore(), trust: [{ key: 'issuer-eddsa', iss: ISSUER, notBefore: T0, notAfter: t }] },
    expected: deny('unknown_issuer'),
  });

  // bad_issuer_signature
  const tampered = parseSign1(credEd);
  const tamperedCredential = encodeCbor(
    new Tag(
      [
        tampered.protectedBytes,
        new Map(),
        encodeClaims(claimsFor(device, 1, { sub: 'm-999999' })),
        tampered.signature,
      ],
      COSE_SIGN1_TAG,
    ),
  );
  add({
    name: 'bad-issuer-signature-tampered',
    description: 'Claims altered (sub changed) after the issuer signed; the device signs the result.',
    qr: qr(tamperedCredential, 12),
    now,
    expected: deny('bad_issuer_signature'),
  });
  const wrongAlg = rawSign1(
    new Map<number, unknown>([
      [1, COSE_ALG.ES256],
      [4, keyId(k('issuer-eddsa').publicKey)],
    ]),
    encodeClaims(claimsFor(device, 13)),
    new Uint8Array(64).fill(1),
  );
  add({
    name: 'bad-issuer-signature-alg-pinning',
    description:
      'kid of the Ed25519 issuer key with an ES256 protected header: a key verifies only with its own alg.',
    qr: qr(wrongAlg, 13),
    now,
    expected: deny('bad_issuer_signature'),
  });
  add({
    name: 'bad-issuer-signature-high-s',
    description: 'ES256 credential whose signature was replaced by its high-S twin (n − s).',
    qr: qr(withSignature(credEs, highSTwin(parseSign1(credEs).signature)), 14),
    now,
    expected: deny('bad_issuer_signature'),
  });

  // validity period
  add({
    name: 'not-yet-valid',
    description: 'Credential valid from T0 + 10 days.',
    qr: qr(issueCredential(k('issuer-eddsa'), claimsFor(device, 15, { nbf: T0 + 10 * DAY })), 15),
    now,
    expected: deny('not_yet_valid'),
  });
  add({
    name: 'cert-expired',
    description: 'Credential expired at T0 + 12 h.',
    qr: qr(issueCredential(k('issuer-eddsa'), claimsFor(device, 16, { exp: T0 + DAY / 2 })), 16),
    now,
    expected: deny('cert_expired'),
  });

  // lists
  add({
    name: 'revoked',
    description: 'Serial on the revocation list.',
    qr: qr(credEd, 17),
    now,
    store: { ...emptyStore(), revokedSerials: [toHex(serial(1))] },
    expected: deny('revoked'),
  });
  add({
    name: 'member-suspended',
    description: 'Subject m-000001 suspended.',
    qr: qr(credEd, 18),
    now,
    store: { ...emptyStore(), suspendedSubjects: ['m-000001'] },
    expected: deny('member_suspended'),
  });

  // device
  add({
    name: 'bad-device-signature',
    description: 'Presentation signed by device-2, but the credential is bound to device-1.',
    qr: qr(credEd, 19, t, k('device-2')),
    now,
    expected: deny('bad_device_signature'),
  });
  add({
    name: 'bad-device-signature-high-s',
    description: 'The presentation signature replaced by its high-S twin (n − s).',
    qr: toQrText(withSignature(present(credEd, 20), highSTwin(parseSign1(present(credEd, 20)).signature))),
    now,
    expected: deny('bad_device_signature'),
  });

  // freshness and replay
  add({
    name: 'stale',
    description: 'Shown 31 s before now.',
    qr: qr(credEd, 21),
    now: t + 31,
    expected: deny('stale'),
  });
  add({
    name: 'future',
    description: 'Shown 31 s after now.',
    qr: qr(credEd, 22),
    now: t - 31,
    expected: deny('future'),
  });
  add({
    name: 'replayed',
    description: 'The same (cti, t, nonce) is already in the replay cache.',
    qr: qr(credEd, 23),
    now,
    store: { ...emptyStore(), seen: [`${toHex(serial(1))}:${t}:${toHex(nonce(23))}`] },
    expected: deny('replayed'),
  });
  add({
    name: 'not-entitled',
    description: 'Library access required; the credential carries a venue and a concession only.',
    qr: qr(credEd, 24),
    now,
    options: { ...options, requirement: { k: 'library' } },
    expected: deny('not_entitled'),
  });
  add({
    name: 'not-entitled-other-venue',
    description: 'Venue pool-7 required; the credential names pool-3.',
    qr: qr(credEd, 25),
    now,
    options: { ...options, requirement: { k: 'venue', v: 'pool-7' } },
    expected: deny('not_entitled'),
  });

  // order: the first failure in the design's order wins
  add({
    name: 'order-unknown-issuer-before-expired',
    description: 'Untrusted issuer and expired: unknown_issuer comes first.',
    qr: qr(issueCredential(k('issuer-untrusted'), claimsFor(device, 26, { exp: T0 + 60 })), 26),
    now,
    expected: deny('unknown_issuer'),
  });
  add({
    name: 'order-expired-before-revoked',
    description: 'Expired and revoked: cert_expired comes first.',
    qr: qr(issueCredential(k('issuer-eddsa'), claimsFor(device, 27, { exp: T0 + 60 })), 27),
    now,
    store: { ...emptyStore(), revokedSerials: [toHex(serial(27))] },
    expected: deny('cert_expired'),
  });
  add({
    name: 'order-revoked-before-stale',
    description: 'Revoked and stale: revoked comes first.',
    qr: qr(credEd, 28),
    now: t + 3600,
    store: { ...emptyStore(), revokedSerials: [toHex(serial(1))] },
    expected: deny('revoked'),
  });
  add({
    name: 'order-suspended-before-bad-device',
    description: 'Suspended member and a presentation signed by the wrong device: member_suspended first.',
    qr: qr(credEd, 29, t, k('device-2')),
    now,
    store: { ...emptyStore(), suspendedSubjects: ['m-000001'] },
    expected: deny('member_suspended'),
  });
  add({
    name: 'order-bad-device-before-stale',
    description: 'Wrong device and stale: bad_device_signature first.',
    qr: qr(credEd, 30, t, k('device-2')),
    now: t + 3600,
    expected: deny('bad_device_signature'),
  });
  add({
    name: 'order-stale-before-replayed',
    description: 'Stale and already seen: stale first.',
    qr: qr(credEd, 31),
    now: t + 120,
    store: { ...emptyStore(), seen: [`${toHex(serial(1))}:${t}:${toHex(nonce(31))}`] },
    expected: deny('stale'),
  });
  add({
    name: 'order-replayed-before-not-entitled',
    description: 'Already seen and not entitled: replayed first.',
    qr: qr(credEd, 32),
    now,
    options: { ...options, requirement: { k: 'library' } },
    store: { ...emptyStore(), seen: [`${toHex(serial(1))}:${t}:${toHex(nonce(32))}`] },
    expected: deny('replayed'),
  });

  // Phone checkout (docs/token-format.md, "Phone checkout"): the item list rides in the device-signed
  // presentation as key 4, so it is as tamper-proof as the presentation time.
  const library: Entitlement[] = [{ k: 'library', v: 'main', n: 8 }];
  const credLib = issueCredential(k('issuer-eddsa'), claimsFor(device, 40, { ent: library }));
  const checkout = (n: number, items: string[], signer = device): string =>
    toQrText(
      createPresentation({
        credential: credLib,
        deviceSecretKey: signer.secretKey,
        t,
        nonce: nonce(n),
        items,
      }),
    );
  const libraryReq = { ...options, requirement: { k: 'library', v: 'main' } };
  const fiveItems = [
    '31234000123456',
    '31234000123457',
    '31234000123458',
    '31234000123459',
    '31234000123460',
  ];
  add({
    name: 'checkout-valid',
    description: 'Phone checkout of five 14-digit item barcodes; library main required.',
    qr: checkout(40, fiveItems),
    now,
    options: libraryReq,
    expected: {
      decision: 'accept',
      reason: 'ok',
      sub: 'm-000040',
      cti: toHex(serial(40)),
      t,
      items: fiveItems,
    },
  });
  add({
    name: 'checkout-duplicate-items',
    description: 'The same barcode twice in one checkout list.',
    qr: checkout(41, ['31234000123456', '31234000123456']),
    now,
    options: libraryReq,
    expected: deny('malformed'),
  });
  add({
    name: 'checkout-bad-device-signature',
    description: 'A checkout list signed by another device (a list swapped into someone else’s code).',
    qr: checkout(42, ['31234000123456'], k('device-2')),
    now,
    options: libraryReq,
    expected: deny('bad_device_signature'),
  });

  const keyEntries = Object.fromEntries(
    Object.entries(KEY_SPECS).map(([name, s]) => [name, describeKey(k(name), s.role)]),
  );
  return {
    keys: {
      format: VECTOR_FORMAT,
      note: 'Fixed test keys (secrets are sha256("passgate test vector key: " + name)). Never use them outside tests.',
      keys: keyEntries,
    },
    cases: {
      format: VECTOR_FORMAT,
      note:
        'Each case: verify(qr, store, {now, windowSeconds, skewSeconds, requirement}) must give expected. ' +
        'store.trust names keys in keys.json; seen holds replay keys "ctiHex:t:nonceHex". Times are unix seconds.',
      cases,
    },
  };
}
