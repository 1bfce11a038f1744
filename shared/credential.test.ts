import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { T0, claimsFor, vectorKeys } from '../scripts/make-vectors.js';
import { base45Decode } from './base45.js';
import { toHex } from './bytes.js';
import { decodeCbor } from './cbor.js';
import { parseSign1 } from './cose.js';
import {
  CLAIM,
  QR_PREFIX,
  createPresentation,
  encodeClaims,
  issueCredential,
  newSerial,
  readClaims,
  toQrText,
  type Entitlement,
} from './credential.js';
import { keyId } from './keys.js';

const keys = vectorKeys();
const device = keys['device-1']!;
const issuer = keys['issuer-eddsa']!;

describe('credentials and presentations', () => {
  it('claims round-trip through CBOR', () => {
    const claims = claimsFor(device, 3);
    expect(readClaims(decodeCbor(encodeClaims(claims)))).toEqual(claims);
  });

  it('uses the CWT claim keys of RFC 8392 and a cnf COSE_Key', () => {
    const m = decodeCbor(encodeClaims(claimsFor(device, 3))) as Map<unknown, unknown>;
    expect([...m.keys()]).toEqual([1, 2, 4, 5, 6, 7, 8, 'ent']);
    expect(CLAIM).toMatchObject({ iss: 1, sub: 2, exp: 4, nbf: 5, iat: 6, cti: 7, cnf: 8 });
    const cnf = m.get(8) as Map<number, Map<number, unknown>>;
    expect([...cnf.get(1)!.keys()]).toEqual([1, -1, -2, -3]);
  });

  it('entitlement fields round-trip (property)', () => {
    const text = fc.string({ minLength: 1, maxLength: 12 });
    const ent = fc.record(
      { k: text, v: text, c: text, n: fc.nat({ max: 1000 }) },
      { requiredKeys: ['k'] },
    ) as fc.Arbitrary<Entitlement>;
    fc.assert(
      fc.property(fc.array(ent, { maxLength: 16 }), (ents) => {
        const claims = claimsFor(device, 1, { ent: ents });
        expect(readClaims(decodeCbor(encodeClaims(claims)))).toEqual(claims);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['iss empty', { iss: '' }, /iss/],
    ['sub too long', { sub: 'x'.repeat(129) }, /sub/],
    ['cti of 8 bytes', { cti: new Uint8Array(8) }, /cti/],
    ['17 entitlements', { ent: Array.from({ length: 17 }, () => ({ k: 'venue' })) }, /ent/],
    ['entitlement without a kind', { ent: [{ k: '' }] }, /k must be text/],
  ])('readClaims refuses %s', (_what, override, message) => {
    expect(readClaims(decodeCbor(encodeClaims(claimsFor(device, 1, override))))).toMatch(message);
  });

  it('readClaims refuses a cnf holding an Ed25519 key and claims that are not a map', () => {
    const m = decodeCbor(encodeClaims(claimsFor(device, 1))) as Map<unknown, unknown>;
    m.set(
      8,
      new Map([
        [
          1,
          new Map<number, unknown>([
            [1, 1],
            [-1, 6],
            [-2, new Uint8Array(32)],
          ]),
        ],
      ]),
    );
    expect(readClaims(m)).toMatch(/P-256/);
    expect(readClaims([1, 2])).toMatch(/not a map/);
    m.set(4, -1);
    expect(readClaims(m)).toMatch(/unsigned/);
  });

  it('a credential is a COSE_Sign1 with {1: alg, 4: kid} protected', () => {
    const s = parseSign1(issueCredential(issuer, claimsFor(device, 1)));
    expect(s.alg).toBe('EdDSA');
    expect(toHex(s.kid!)).toBe(toHex(keyId(issuer.publicKey)));
    expect([...s.protectedHeader.keys()]).toEqual([1, 4]);
  });

  it('a presentation is an ES256 COSE_Sign1 over {1: credential, 2: t, 3: nonce} with no kid', () => {
    const credential = issueCredential(issuer, claimsFor(device, 1));
    const bytes = createPresentation({ credential, deviceSecretKey: device.secretKey, t: T0 });
    const s = parseSign1(bytes);
    expect(toHex(s.protectedBytes)).toBe('a10126');
    const body = decodeCbor(s.payload) as Map<number, unknown>;
    expect([...body.keys()]).toEqual([1, 2, 3]);
    expect(toHex(body.get(1) as Uint8Array)).toBe(toHex(credential));
    expect(body.get(2)).toBe(T0);
    expect((body.get(3) as Uint8Array).length).toBe(8);
    const qr = toQrText(bytes);
    expect(qr.startsWith(QR_PREFIX)).toBe(true);
    expect(toHex(base45Decode(qr.slice(QR_PREFIX.length)))).toBe(toHex(bytes));
  });

  it('random nonces and serials differ', () => {
    expect(toHex(newSerial())).not.toBe(toHex(newSerial()));
    expect(newSerial().length).toBe(16);
    const credential = issueCredential(issuer, claimsFor(device, 1));
    const a = createPresentation({ credential, deviceSecretKey: device.secretKey, t: T0 });
    const b = createPresentation({ credential, deviceSecretKey: device.secretKey, t: T0 });
    expect(toHex(a)).not.toBe(toHex(b));
  });
});
