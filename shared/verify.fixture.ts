// Shared by verify.test.ts and verify.slow.test.ts: the vector keys, a trusting store, and presentations
// made on demand.
import { ISSUER, T0, claimsFor, vectorKeys } from '../scripts/make-vectors.js';
import { createPresentation, issueCredential, toQrText, type CredentialClaims } from './credential.js';
import { keyId, type KeyPair } from './keys.js';
import type { Reason } from './reasons.js';
import { MemoryStore } from './store.js';
import { verify, type VerifyOptions } from './verify.js';

export const keys = vectorKeys();
export const issuerEd = keys['issuer-eddsa']!;
export const issuerEs = keys['issuer-es256']!;
export const untrusted = keys['issuer-untrusted']!;
export const device = keys['device-1']!;
export const otherDevice = keys['device-2']!;
export const T = T0 + 86_400;

export function trustStore(): MemoryStore {
  const store = new MemoryStore();
  for (const kp of [issuerEd, issuerEs])
    store.addKey({ kid: keyId(kp.publicKey), alg: kp.alg, publicKey: kp.publicKey, issuer: ISSUER });
  return store;
}

export interface Make {
  issuer?: KeyPair;
  claims?: Partial<CredentialClaims>;
  signer?: KeyPair;
  t?: number;
  nonce?: number;
}
let counter = 0;
export function makeQr(m: Make = {}): { qr: string; presentation: Uint8Array; credential: Uint8Array } {
  const credential = issueCredential(m.issuer ?? issuerEd, claimsFor(device, 1, m.claims));
  const n = m.nonce ?? ++counter;
  const nonce = Uint8Array.of(9, 9, 9, 9, n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const presentation = createPresentation({
    credential,
    deviceSecretKey: (m.signer ?? device).secretKey,
    t: m.t ?? T,
    nonce,
  });
  return { qr: toQrText(presentation), presentation, credential };
}

export const at = (now: number, extra: Partial<VerifyOptions> = {}): VerifyOptions => ({ now, ...extra });
/** Every reason reasonOf() has returned in this test file (verify.test.ts checks none is left untested). */
export const observedReasons = new Set<Reason>();
export const reasonOf = (qr: string, store: MemoryStore, options: VerifyOptions): Reason => {
  const reason = verify(qr, store, options).reason;
  observedReasons.add(reason);
  return reason;
};
