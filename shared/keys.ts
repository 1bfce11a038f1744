// Signing keys for issuers, wallets, lists and terminals: generation, key ids, COSE_Key and JWK forms,
// and signature verification with alg pinning. noble-curves is the reference implementation and signs;
// node:crypto (OpenSSL) is the fast verification backend used on the hot path (see docs/crypto-backend.md).
import {
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toB64u, toHex, fromB64u } from './bytes.js';

export type Alg = 'EdDSA' | 'ES256';
export const ALGS: readonly Alg[] = ['EdDSA', 'ES256'];
/** COSE algorithm identifiers (RFC 9053). */
export const COSE_ALG: Record<Alg, number> = { EdDSA: -8, ES256: -7 };
export function algFromCose(id: unknown): Alg | undefined {
  return id === -8 ? 'EdDSA' : id === -7 ? 'ES256' : undefined;
}

export type VerifyBackend = 'node' | 'noble';

export interface KeyPair {
  alg: Alg;
  secretKey: Uint8Array;
  /** Ed25519: 32 bytes; P-256: 65-byte uncompressed point. */
  publicKey: Uint8Array;
}

const P256_ORDER = p256.Point.Fn.ORDER;
const P256_HALF_ORDER = P256_ORDER >> 1n;

export function generateKeyPair(alg: Alg): KeyPair {
  if (alg === 'EdDSA') {
    const { secretKey, publicKey } = ed25519.keygen();
    return { alg, secretKey, publicKey };
  }
  const { secretKey } = p256.keygen();
  return { alg, secretKey, publicKey: p256.getPublicKey(secretKey, false) };
}

export function publicKeyFromSecret(alg: Alg, secretKey: Uint8Array): Uint8Array {
  return alg === 'EdDSA' ? ed25519.getPublicKey(secretKey) : p256.getPublicKey(secretKey, false);
}

/**
 * Signs with noble (the reference). ES256 signatures are raw r‖s, low-S (the form verifiers here require).
 * Ed25519 is deterministic, so `backend: 'node'` gives the very same signature through OpenSSL, many times
 * faster on large messages (terminals sign event batches of tens of kilobytes with it).
 */
export function sign(
  alg: Alg,
  secretKey: Uint8Array,
  message: Uint8Array,
  backend: VerifyBackend = 'noble',
): Uint8Array {
  if (alg === 'EdDSA') {
    if (backend === 'node') return new Uint8Array(nodeSign(null, message, ed25519PrivateKey(secretKey)));
    return ed25519.sign(message, secretKey);
  }
  return p256.sign(message, secretKey, { lowS: true, prehash: true, format: 'compact' });
}

const privateKeys = new WeakMap<Uint8Array, KeyObject>();
function ed25519PrivateKey(secretKey: Uint8Array): KeyObject {
  let key = privateKeys.get(secretKey);
  if (!key) {
    const jwk = {
      kty: 'OKP',
      crv: 'Ed25519',
      d: toB64u(secretKey),
      x: toB64u(ed25519.getPublicKey(secretKey)),
    };
    key = createPrivateKey({ key: jwk, format: 'jwk' });
    privateKeys.set(secretKey, key);
  }
  return key;
}

/** Key id: the first 8 bytes of SHA-256 over the raw public key. */
export function keyId(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, 8);
}

/** Checks that bytes are a usable public key for alg; throws RangeError naming the problem. */
export function assertPublicKey(alg: Alg, publicKey: Uint8Array, field = 'publicKey'): void {
  if (alg === 'EdDSA') {
    if (publicKey.length !== 32)
      throw new RangeError(`${field}: an Ed25519 key is 32 bytes, got ${publicKey.length}`);
    try {
      ed25519.Point.fromBytes(publicKey);
    } catch {
      throw new RangeError(`${field}: not a valid Ed25519 point`);
    }
    return;
  }
  if (publicKey.length !== 65 || publicKey[0] !== 4)
    throw new RangeError(`${field}: a P-256 key is a 65-byte uncompressed point`);
  try {
    p256.Point.fromBytes(publicKey).assertValidity();
  } catch {
    throw new RangeError(`${field}: not a point on P-256`);
  }
}

/**
 * A public key pinned to the one algorithm it was published with. Verification never throws for a bad
 * signature: it returns false.
 */
export class VerifyKey {
  readonly kid: Uint8Array;
  private nodeKey: KeyObject | undefined;

  constructor(
    readonly alg: Alg,
    readonly publicKey: Uint8Array,
  ) {
    assertPublicKey(alg, publicKey);
    this.kid = keyId(publicKey);
  }

  get kidHex(): string {
    return toHex(this.kid);
  }

  verify(signature: Uint8Array, message: Uint8Array, backend: VerifyBackend = 'node'): boolean {
    if (this.alg === 'EdDSA') {
      if (signature.length !== 64) return false;
      if (backend === 'noble')
        return safe(() => ed25519.verify(signature, message, this.publicKey, { zip215: false }));
      return safe(() => nodeVerify(null, message, this.keyObject(), signature));
    }
    if (!isCanonicalLowS(signature)) return false;
    if (backend === 'noble')
      return safe(() =>
        p256.verify(signature, message, this.publicKey, { lowS: true, prehash: true, format: 'compact' }),
      );
    return safe(() =>
      nodeVerify('sha256', message, { key: this.keyObject(), dsaEncoding: 'ieee-p1363' }, signature),
    );
  }

  toJwk(): Record<string, string> {
    if (this.alg === 'EdDSA')
      return { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: toB64u(this.kid), x: toB64u(this.publicKey) };
    return {
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      kid: toB64u(this.kid),
      x: toB64u(this.publicKey.subarray(1, 33)),
      y: toB64u(this.publicKey.subarray(33, 65)),
    };
  }

  private keyObject(): KeyObject {
    if (!this.nodeKey) {
      const { kty, crv, x } = this.toJwk();
      const jwk = this.alg === 'EdDSA' ? { kty, crv, x } : { kty, crv, x, y: this.toJwk().y };
      this.nodeKey = createPublicKey({ key: jwk as never, format: 'jwk' });
    }
    return this.nodeKey;
  }
}

function safe(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** r and s within [1, n-1] and s ≤ n/2: high-S twins of valid signatures are refused. */
export function isCanonicalLowS(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const r = BigInt('0x' + toHex(signature.subarray(0, 32)));
  const s = BigInt('0x' + toHex(signature.subarray(32, 64)));
  return r > 0n && r < P256_ORDER && s > 0n && s <= P256_HALF_ORDER;
}

/** COSE_Key (RFC 9052 §7) for a public key: OKP/Ed25519 or EC2/P-256. */
export function coseKeyFromPublic(alg: Alg, publicKey: Uint8Array, withKid = false): Map<number, unknown> {
  const key =
    alg === 'EdDSA'
      ? new Map<number, unknown>([
          [1, 1],
          [-1, 6],
          [-2, publicKey],
        ])
      : new Map<number, unknown>([
          [1, 2],
          [-1, 1],
          [-2, publicKey.subarray(1, 33)],
          [-3, publicKey.subarray(33, 65)],
        ]);
  if (withKid) {
    key.set(2, keyId(publicKey));
    key.set(3, COSE_ALG[alg]);
  }
  return key;
}

/** Reads a COSE_Key; returns undefined when it is not an Ed25519 or P-256 public key. */
export function publicFromCoseKey(value: unknown): { alg: Alg; publicKey: Uint8Array } | undefined {
  if (!(value instanceof Map)) return undefined;
  const kty = value.get(1);
  const crv = value.get(-1);
  const x = value.get(-2);
  if (!(x instanceof Uint8Array)) return undefined;
  if (kty === 1 && crv === 6 && x.length === 32) return { alg: 'EdDSA', publicKey: new Uint8Array(x) };
  const y = value.get(-3);
  if (kty === 2 && crv === 1 && x.length === 32 && y instanceof Uint8Array && y.length === 32) {
    const pk = new Uint8Array(65);
    pk[0] = 4;
    pk.set(x, 1);
    pk.set(y, 33);
    return { alg: 'ES256', publicKey: pk };
  }
  return undefined;
}

export function publicFromJwk(jwk: Record<string, unknown>): { alg: Alg; publicKey: Uint8Array } {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string')
    return { alg: 'EdDSA', publicKey: fromB64u(jwk.x) };
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string') {
    const pk = new Uint8Array(65);
    pk[0] = 4;
    pk.set(fromB64u(jwk.x), 1);
    pk.set(fromB64u(jwk.y), 33);
    return { alg: 'ES256', publicKey: pk };
  }
  throw new RangeError('jwk: only OKP/Ed25519 and EC/P-256 public keys are supported');
}
