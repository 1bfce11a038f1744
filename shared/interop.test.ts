// Independent check: a third-party COSE library (@auth0/cose, with jose for keys) reads and verifies what
// `passgate wallet present` shows, using only the issuer's exported JWK and the device key in cnf.
import { Sign1 } from '@auth0/cose';
import { importJWK } from 'jose';
import { decode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { base45Decode } from './base45.js';
import { createPresentation, issueCredential, newSerial, toQrText } from './credential.js';
import { generateKeyPair, VerifyKey, type Alg } from './keys.js';

function field(m: unknown, k: number): unknown {
  return m instanceof Map ? m.get(k) : (m as Record<number, unknown>)[k];
}

describe.each(['EdDSA', 'ES256'] as Alg[])('a %s-issued presentation in another COSE library', (alg) => {
  it('verifies credential and presentation signatures', async () => {
    const issuer = generateKeyPair(alg);
    const device = generateKeyPair('ES256');
    const now = 1_790_000_000;
    const credential = issueCredential(issuer, {
      iss: 'city-pass',
      sub: 'm-interop',
      iat: now,
      nbf: now,
      exp: now + 86400,
      cti: newSerial(),
      devicePublicKey: device.publicKey,
      ent: [{ k: 'venue', v: 'zoo' }],
    });
    const qr = toQrText(createPresentation({ credential, deviceSecretKey: device.secretKey, t: now }));
    const presentation = Sign1.decode(Buffer.from(base45Decode(qr.slice(4))));
    const body = decode(Buffer.from(presentation.payload));
    const credentialBytes = field(body, 1) as Uint8Array;
    expect(field(body, 2)).toBe(now);

    const cred = Sign1.decode(Buffer.from(credentialBytes));
    const jwk = new VerifyKey(alg, issuer.publicKey).toJwk();
    await cred.verify(await importJWK(jwk, jwk.alg));

    const claims = decode(Buffer.from(cred.payload));
    expect(field(claims, 2)).toBe('m-interop');
    const coseKey = field(field(claims, 8), 1);
    const deviceJwk = {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(field(coseKey, -2) as Uint8Array).toString('base64url'),
      y: Buffer.from(field(coseKey, -3) as Uint8Array).toString('base64url'),
    };
    await presentation.verify(await importJWK(deviceJwk, 'ES256'));

    // And it notices tampering: a changed payload no longer verifies.
    const tampered = Sign1.decode(Buffer.from(credentialBytes));
    (tampered as unknown as { payload: Uint8Array }).payload = Buffer.from(cred.payload).fill(0, 5, 6);
    await expect(tampered.verify(await importJWK(jwk, jwk.alg))).rejects.toThrow();
  });
});
