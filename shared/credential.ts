// Credentials (issuer-signed CWT in COSE_Sign1) and presentations (device-signed wrapper shown as a QR).
import { randomBytes } from 'node:crypto';
import { base45Encode } from './base45.js';
import { encodeCbor, isBytes, isMap, isUint } from './cbor.js';
import { signSign1 } from './cose.js';
import { coseKeyFromPublic, keyId, publicFromCoseKey, type KeyPair } from './keys.js';

export const QR_PREFIX = 'PG1:';

/** CWT claim keys (RFC 8392 §4) and our private claim. */
export const CLAIM = { iss: 1, sub: 2, exp: 4, nbf: 5, iat: 6, cti: 7, cnf: 8, ent: 'ent' } as const;

export interface Entitlement {
  /** Kind: venue, library, concession, … */
  k: string;
  /** Venue or branch id. */
  v?: string;
  /** Class, such as senior or student. */
  c?: string;
  /** Loan limit. */
  n?: number;
}

export interface CredentialClaims {
  iss: string;
  sub: string;
  exp: number;
  nbf: number;
  iat: number;
  cti: Uint8Array;
  /** The wallet's P-256 public key (65-byte uncompressed point). */
  devicePublicKey: Uint8Array;
  ent: Entitlement[];
}

export function encodeEntitlement(e: Entitlement): Map<string, unknown> {
  const m = new Map<string, unknown>([['k', e.k]]);
  if (e.v !== undefined) m.set('v', e.v);
  if (e.c !== undefined) m.set('c', e.c);
  if (e.n !== undefined) m.set('n', e.n);
  return m;
}

export function encodeClaims(c: CredentialClaims): Uint8Array {
  return encodeCbor(
    new Map<number | string, unknown>([
      [CLAIM.iss, c.iss],
      [CLAIM.sub, c.sub],
      [CLAIM.exp, c.exp],
      [CLAIM.nbf, c.nbf],
      [CLAIM.iat, c.iat],
      [CLAIM.cti, c.cti],
      [CLAIM.cnf, new Map([[1, coseKeyFromPublic('ES256', c.devicePublicKey)]])],
      [CLAIM.ent, c.ent.map(encodeEntitlement)],
    ]),
  );
}

/** Reads an `ent` array (at most 16 entitlement maps); a string naming the problem when malformed. */
export function readEntitlements(ent: unknown): Entitlement[] | string {
  if (!Array.isArray(ent) || ent.length > 16) return 'ent must be an array of at most 16 entitlements';
  const entitlements: Entitlement[] = [];
  for (const item of ent as unknown[]) {
    if (!isMap(item)) return 'each entitlement must be a map';
    const k = item.get('k');
    const v = item.get('v');
    const c = item.get('c');
    const n = item.get('n');
    if (typeof k !== 'string' || k.length === 0) return 'entitlement k must be text';
    if (v !== undefined && typeof v !== 'string') return 'entitlement v must be text';
    if (c !== undefined && typeof c !== 'string') return 'entitlement c must be text';
    if (n !== undefined && !isUint(n)) return 'entitlement n must be an unsigned integer';
    const e: Entitlement = { k };
    if (v !== undefined) e.v = v;
    if (c !== undefined) e.c = c;
    if (n !== undefined) e.n = n;
    entitlements.push(e);
  }
  return entitlements;
}

/** Reads claims from a decoded payload map; returns a string naming the first problem when they are malformed. */
export function readClaims(value: unknown): CredentialClaims | string {
  if (!isMap(value)) return 'claims are not a map';
  const iss = value.get(CLAIM.iss);
  const sub = value.get(CLAIM.sub);
  const exp = value.get(CLAIM.exp);
  const nbf = value.get(CLAIM.nbf);
  const iat = value.get(CLAIM.iat);
  const cti = value.get(CLAIM.cti);
  const cnf = value.get(CLAIM.cnf);
  const ent = value.get(CLAIM.ent);
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > 128) return 'iss must be text';
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) return 'sub must be text';
  if (!isUint(exp) || !isUint(nbf) || !isUint(iat)) return 'exp, nbf and iat must be unsigned integers';
  if (!isBytes(cti) || cti.length !== 16) return 'cti must be a 16-byte serial';
  if (!isMap(cnf)) return 'cnf must be a map';
  const device = publicFromCoseKey(cnf.get(1));
  if (!device || device.alg !== 'ES256') return 'cnf must hold a P-256 COSE_Key';
  const entitlements = readEntitlements(ent);
  if (typeof entitlements === 'string') return entitlements;
  return {
    iss,
    sub,
    exp,
    nbf,
    iat,
    cti: new Uint8Array(cti),
    devicePublicKey: device.publicKey,
    ent: entitlements,
  };
}

/** Issues a credential: COSE_Sign1 over the CWT claims, signed by the issuer key with its kid in the protected header. */
export function issueCredential(issuer: KeyPair, claims: CredentialClaims): Uint8Array {
  return signSign1(issuer.alg, issuer.secretKey, encodeClaims(claims), keyId(issuer.publicKey));
}

export function newSerial(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

export interface PresentationInput {
  credential: Uint8Array;
  deviceSecretKey: Uint8Array;
  /** Unix seconds when shown. */
  t: number;
  nonce?: Uint8Array;
  /** Phone checkout: item barcodes scanned on the phone (payload key 4; docs/token-format.md). */
  items?: readonly string[];
}

/** The presentation bytes: COSE_Sign1 by the device key over {1: credential, 2: t, 3: nonce, 4?: items}. */
export function createPresentation(input: PresentationInput): Uint8Array {
  const nonce = input.nonce ?? new Uint8Array(randomBytes(8));
  const body = new Map<number, unknown>([
    [1, input.credential],
    [2, input.t],
    [3, nonce],
  ]);
  if (input.items) body.set(4, [...input.items]);
  const payload = encodeCbor(body);
  return signSign1('ES256', input.deviceSecretKey, payload);
}

export function toQrText(presentation: Uint8Array): string {
  return QR_PREFIX + base45Encode(presentation);
}
