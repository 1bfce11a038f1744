// `npm run bench -- verify`: raw signature verification rates (noble and node:crypto) against full
// verify() decisions per second, cold (both signatures) and warm (issuer signature cached), in one run.
import { createPresentation, issueCredential, newSerial, toQrText } from '../shared/credential.js';
import { generateKeyPair, keyId, sign, VerifyKey, type Alg } from '../shared/keys.js';
import { MemoryStore, type VerifierStore } from '../shared/store.js';
import { verify } from '../shared/verify.js';
import { measure, printTable, writeResult, type Rate } from './harness.js';

function setup(alg: Alg, count: number, now: number) {
  const issuer = generateKeyPair(alg);
  const device = generateKeyPair('ES256');
  const credential = issueCredential(issuer, {
    iss: 'city-pass',
    sub: 'm-bench01',
    iat: now,
    nbf: now,
    exp: now + 86400,
    cti: newSerial(),
    devicePublicKey: device.publicKey,
    ent: [
      { k: 'venue', v: 'zoo' },
      { k: 'library', v: 'main', n: 8 },
    ],
  });
  const codes = Array.from({ length: count }, () =>
    toQrText(createPresentation({ credential, deviceSecretKey: device.secretKey, t: now })),
  );
  const trusted = { kid: keyId(issuer.publicKey), alg, publicKey: issuer.publicKey, issuer: 'city-pass' };
  return { codes, trusted };
}

/** A store without the verified-credential cache: every decision checks both signatures. */
function coldStore(trusted: MemoryStore): VerifierStore {
  return {
    issuerKey: (kid) => trusted.issuerKey(kid),
    isRevoked: (cti) => trusted.isRevoked(cti),
    isSuspended: (sub) => trusted.isSuspended(sub),
    hasSeen: (k) => trusted.hasSeen(k),
    markSeen: (k, e) => trusted.markSeen(k, e),
  };
}

export async function runVerifyBench(opts: { json: boolean; seconds?: number }): Promise<object> {
  const seconds = opts.seconds ?? 1;
  const msg = new Uint8Array(200).fill(7);
  const raw: Rate[] = [];
  for (const alg of ['EdDSA', 'ES256'] as Alg[]) {
    const kp = generateKeyPair(alg);
    const sig = sign(alg, kp.secretKey, msg);
    const key = new VerifyKey(alg, kp.publicKey);
    for (const backend of ['noble', 'node'] as const)
      raw.push(
        measure(
          `raw ${alg === 'EdDSA' ? 'Ed25519' : 'P-256'} verify (${backend})`,
          () => void key.verify(sig, msg, backend),
          seconds,
        ),
      );
  }
  const rate = (n: string) => raw.find((r) => r.name === n)!.opsPerSec;
  const now = Math.floor(Date.now() / 1000);
  const decisions: (Rate & { baseline: number; ratio: number })[] = [];
  let qrChars = 0;
  for (const alg of ['EdDSA', 'ES256'] as Alg[]) {
    const { codes, trusted } = setup(alg, 4000, now);
    qrChars = Math.max(qrChars, codes[0]!.length);
    const issuerName = alg === 'EdDSA' ? 'Ed25519' : 'P-256';
    for (const backend of ['node', 'noble'] as const) {
      for (const mode of ['cold', 'warm'] as const) {
        let store = new MemoryStore();
        store.addKey(trusted);
        let s: VerifierStore = mode === 'cold' ? coldStore(store) : store;
        const r = measure(
          `verify() ${mode}, ${issuerName} issuer (${backend})`,
          (i) => {
            if (i % codes.length === 0 && i > 0) {
              store = new MemoryStore();
              store.addKey(trusted);
              s = mode === 'cold' ? coldStore(store) : store;
            }
            const d = verify(codes[i % codes.length]!, s, { now, backend });
            if (d.decision !== 'accept') throw new Error(`bench decision was ${d.reason}`);
          },
          seconds,
        );
        const device = rate(`raw P-256 verify (${backend})`);
        const issuerRaw = rate(`raw ${issuerName} verify (${backend})`);
        const baseline = mode === 'cold' ? 1 / (1 / device + 1 / issuerRaw) : device;
        decisions.push({ ...r, baseline, ratio: r.opsPerSec / baseline });
      }
    }
  }
  printTable(
    'Raw signature verification (one signature each)',
    ['operation', 'ops/s'],
    raw.map((r) => [r.name, r.opsPerSec]),
  );
  printTable(
    'Full verify() decisions (cold: issuer + device signature; warm: issuer signature cached)',
    ['operation', 'decisions/s', 'raw baseline/s', 'ratio'],
    decisions.map((d) => [d.name, d.opsPerSec, d.baseline, d.ratio]),
  );
  const speedup = {
    ed25519: rate('raw Ed25519 verify (node)') / rate('raw Ed25519 verify (noble)'),
    p256: rate('raw P-256 verify (node)') / rate('raw P-256 verify (noble)'),
  };
  console.log(
    `\nnode:crypto vs noble: Ed25519 ×${speedup.ed25519.toFixed(1)}, P-256 ×${speedup.p256.toFixed(1)}. ` +
      `Typical QR (two entitlements): ${qrChars} characters (limit 600).`,
  );
  const result = { raw, decisions, speedup, qrChars };
  const path = writeResult('verify', result);
  if (opts.json) console.log(JSON.stringify(result));
  console.log(`results written to ${path}`);
  return result;
}
