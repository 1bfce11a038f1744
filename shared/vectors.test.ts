// The token test vectors (shared/vectors/*.json) are the source of truth. This file checks that every
// case gives its expected decision on both verification backends, and that the generator still
// reproduces the files exactly (a change in encoding or signing must never alter a vector silently).
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildVectors, type VectorCase, type VectorFiles } from '../scripts/make-vectors.js';
import { base45Decode } from './base45.js';
import { fromHex, toHex } from './bytes.js';
import { decodeCbor, encodeCbor } from './cbor.js';
import { parseSign1, sigStructure } from './cose.js';
import { publicFromJwk } from './keys.js';
import { TOKEN_REASONS } from './reasons.js';
import { MemoryStore } from './store.js';
import { verify } from './verify.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'vectors');
const FILES = { keys: 'keys.json', cases: 'cases.json' } as const;

if (process.env.UPDATE_VECTORS === '1') {
  const built = buildVectors();
  for (const [part, file] of Object.entries(FILES))
    writeFileSync(join(DIR, file), JSON.stringify(built[part as keyof VectorFiles], null, 2) + '\n');
  console.warn('UPDATE_VECTORS=1: rewrote shared/vectors/*.json; review the diff before committing.');
}

const load = <T>(file: string): T => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as T;
const keysFile = load<VectorFiles['keys']>(FILES.keys);
const casesFile = load<VectorFiles['cases']>(FILES.cases);

function storeFor(c: VectorCase): MemoryStore {
  const store = new MemoryStore();
  for (const trust of c.store.trust) {
    const key = keysFile.keys[trust.key];
    if (!key) throw new Error(`case ${c.name}: unknown key ${trust.key}`);
    const entry = {
      kid: fromHex(key.kid),
      alg: key.alg,
      publicKey: fromHex(key.publicKey),
      issuer: trust.iss,
      ...(trust.notBefore !== undefined ? { notBefore: trust.notBefore } : {}),
      ...(trust.notAfter !== undefined ? { notAfter: trust.notAfter } : {}),
    };
    store.addKey(entry);
  }
  for (const s of c.store.revokedSerials) store.revoked.add(s);
  for (const s of c.store.suspendedSubjects) store.suspended.add(s);
  for (const s of c.store.seen) store.markSeen(s, Number.MAX_SAFE_INTEGER);
  return store;
}

describe('token vectors', () => {
  it('the generator reproduces the checked-in files exactly', () => {
    const built = JSON.parse(JSON.stringify(buildVectors())) as VectorFiles;
    expect(built.keys).toEqual(keysFile);
    expect(built.cases).toEqual(casesFile);
  });

  it('cover every reason code the token alone can trigger, and valid EdDSA and ES256 cases', () => {
    const reasons = new Set(casesFile.cases.map((c) => c.expected.reason));
    for (const r of TOKEN_REASONS) expect(reasons, r).toContain(r);
    const names = casesFile.cases.map((c) => c.name);
    expect(names).toContain('valid-eddsa');
    expect(names).toContain('valid-es256');
    expect(new Set(names).size).toBe(names.length);
  });

  it('publish JWKs that match the raw public keys', () => {
    for (const [name, key] of Object.entries(keysFile.keys)) {
      const fromJwk = publicFromJwk(key.jwk);
      expect(fromJwk.alg, name).toBe(key.alg);
      expect(Buffer.from(fromJwk.publicKey).toString('hex'), name).toBe(key.publicKey);
    }
  });

  it('valid vectors verify with nothing but the published JWKs and node:crypto (as any COSE library would)', () => {
    for (const name of ['valid-eddsa', 'valid-es256']) {
      const c = casesFile.cases.find((x) => x.name === name)!;
      const presentation = parseSign1(base45Decode(c.qr.slice(4)));
      const credentialBytes = (decodeCbor(presentation.payload) as Map<number, Uint8Array>).get(1)!;
      const credential = parseSign1(credentialBytes);
      const issuer = Object.values(keysFile.keys).find((k) => k.kid === toHex(credential.kid!))!;
      const check = (jwk: Record<string, string>, s: typeof credential): boolean => {
        const key = createPublicKey({ key: jwk, format: 'jwk' });
        const tbs = sigStructure(s.protectedBytes, s.payload);
        return jwk.kty === 'OKP'
          ? nodeVerify(null, tbs, key, s.signature)
          : nodeVerify('sha256', tbs, { key, dsaEncoding: 'ieee-p1363' }, s.signature);
      };
      expect(check(issuer.jwk, credential), name).toBe(true);
      // The device key travels in cnf as a COSE_Key: the same bytes as keys.json's coseKey for device-1.
      const claims = decodeCbor(credential.payload) as Map<unknown, Map<number, unknown>>;
      const device = keysFile.keys['device-1']!;
      expect(toHex(encodeCbor(claims.get(8)!.get(1)))).toBe(device.coseKey);
      expect(check(device.jwk, presentation), name).toBe(true);
    }
  });

  it('docs/token-format.md annotates the real valid-eddsa vector', () => {
    const doc = readFileSync(join(DIR, '..', '..', 'docs', 'token-format.md'), 'utf8');
    const c = casesFile.cases.find((x) => x.name === 'valid-eddsa')!;
    const presentation = parseSign1(base45Decode(c.qr.slice(4)));
    const credential = parseSign1((decodeCbor(presentation.payload) as Map<number, Uint8Array>).get(1)!);
    for (const sig of [presentation.signature, credential.signature]) {
      const hex = toHex(sig);
      expect(doc).toContain(hex.slice(0, 64));
      expect(doc).toContain(hex.slice(64));
    }
    expect(doc).toContain(c.qr.slice(0, 28));
    expect(doc).toContain(keysFile.keys['issuer-eddsa']!.jwk.x);
    expect(doc).toContain(keysFile.keys['device-1']!.jwk.y);
  });

  for (const backend of ['node', 'noble'] as const) {
    describe(`backend ${backend}`, () => {
      for (const c of casesFile.cases) {
        it(`${c.name} → ${c.expected.decision} ${c.expected.reason}`, () => {
          const store = storeFor(c);
          const d = verify(c.qr, store, {
            now: c.now,
            windowSeconds: c.options.windowSeconds,
            skewSeconds: c.options.skewSeconds,
            ...(c.options.requirement ? { requirement: c.options.requirement } : {}),
            backend,
          });
          expect({ decision: d.decision, reason: d.reason }, d.detail).toEqual({
            decision: c.expected.decision,
            reason: c.expected.reason,
          });
          if (c.expected.sub) expect(d.sub).toBe(c.expected.sub);
          if (c.expected.cti) expect(d.cti).toBe(c.expected.cti);
          if (c.expected.t) expect(d.t).toBe(c.expected.t);
          if (c.expected.items) expect(d.items).toEqual(c.expected.items);
          if (d.decision === 'accept') {
            // An accepted presentation is recorded: the same QR a second time is a replay.
            const again = verify(c.qr, store, { now: c.now, ...c.options, backend });
            expect(again.reason).toBe('replayed');
          }
        });
      }
    });
  }
});
