// Offline verification of a PG1 presentation, in the design's order: the first failure wins.
import { createHash } from 'node:crypto';
import { Base45Error, base45Decode } from './base45.js';
import { toHex } from './bytes.js';
import { CborError, decodeCbor, isBytes, isMap, isUint } from './cbor.js';
import { CoseFormatError, parseSign1, verifySign1, type Sign1 } from './cose.js';
import { readClaims, type CredentialClaims, type Entitlement } from './credential.js';
import { VerifyKey, type VerifyBackend } from './keys.js';
import type { Reason, TokenReason } from './reasons.js';
import type { VerifierStore } from './store.js';
import { BARCODE } from './library.js';

/** Most items one phone checkout may carry (the QR budget allows fewer: docs/token-format.md). */
export const MAX_CHECKOUT_ITEMS = 32;

export const MAX_PRESENTATION_BYTES = 2048;
/** Longest QR text that can carry MAX_PRESENTATION_BYTES: checked before any decoding work. */
export const MAX_QR_CHARS = 4 + Math.ceil(MAX_PRESENTATION_BYTES / 2) * 3;

export interface EntitlementRequirement {
  k: string;
  /** When set, the entitlement must name this venue or branch. */
  v?: string;
  /** When set, the entitlement must carry one of these classes. */
  c?: readonly string[];
}

export interface VerifyOptions {
  /** Unix seconds, the terminal's idea of now. */
  now: number;
  /** Accepted |now − t| for the presentation time (default 30 s). */
  windowSeconds?: number;
  /** Extra tolerance for declared clock skew (default 0 s). */
  skewSeconds?: number;
  requirement?: EntitlementRequirement;
  /** Record the presentation in the replay cache on accept (default true). A terminal records it with its event instead. */
  recordReplay?: boolean;
  backend?: VerifyBackend;
}

export interface Decision {
  decision: 'accept' | 'deny';
  reason: Reason;
  /** Plain explanation of a malformed input, for logs; never shown as a reason code. */
  detail?: string;
  iss?: string;
  sub?: string;
  /** Credential serial, hex. */
  cti?: string;
  /** Presentation time. */
  t?: number;
  exp?: number;
  entitlements?: Entitlement[];
  /** The entitlement that matched the requirement. */
  matched?: Entitlement;
  replayKey?: string;
  /** Unix seconds until which the replay key must be remembered. */
  replayExpiresAt?: number;
  /** Phone checkout: the item barcodes the holder scanned, signed with the presentation. */
  items?: string[];
}

export function deny(reason: Reason, extra: Partial<Decision> = {}): Decision {
  return { decision: 'deny', reason, ...extra };
}

const VERSION_PREFIX = /^PG(\d{1,3}):/;
const keyCache = new WeakMap<object, VerifyKey>();

function verifyKeyFor(trusted: { alg: VerifyKey['alg']; publicKey: Uint8Array }): VerifyKey {
  let key = keyCache.get(trusted);
  if (!key) {
    key = new VerifyKey(trusted.alg, trusted.publicKey);
    keyCache.set(trusted, key);
  }
  return key;
}

const deviceKeyCache = new Map<string, VerifyKey>();
/** The holder's key from cnf; undefined when it is not a point on P-256 (an issuer signed a bad key). */
function deviceKey(publicKey: Uint8Array): VerifyKey | undefined {
  const id = toHex(publicKey);
  let key = deviceKeyCache.get(id);
  if (!key) {
    try {
      key = new VerifyKey('ES256', publicKey);
    } catch {
      return undefined;
    }
    if (deviceKeyCache.size > 4096) deviceKeyCache.clear();
    deviceKeyCache.set(id, key);
  }
  return key;
}

interface Parsed {
  presentation: Sign1;
  credential: Sign1;
  credentialBytes: Uint8Array;
  claims: CredentialClaims;
  t: number;
  nonce: Uint8Array;
  items?: string[];
}

function malformed(detail: string): Decision {
  return deny('malformed', { detail });
}

/** Decodes everything structural; a Decision means the input was refused before any key was looked up. */
export function parsePresentation(text: string): Parsed | Decision {
  if (typeof text !== 'string') return malformed('input is not text');
  if (text.length > MAX_QR_CHARS)
    return malformed(`input is ${text.length} characters, over ${MAX_QR_CHARS}`);
  const version = VERSION_PREFIX.exec(text);
  if (!version) return malformed('not a passgate code (expected PG1: prefix)');
  if (version[1] !== '1') return deny('unsupported_version', { detail: `format version ${version[1]}` });
  let bytes: Uint8Array;
  try {
    bytes = base45Decode(text.slice(version[0].length));
  } catch (err) {
    if (err instanceof Base45Error) return malformed(err.message);
    throw err;
  }
  if (bytes.length > MAX_PRESENTATION_BYTES)
    return malformed(`presentation is ${bytes.length} bytes, over 2 KiB`);
  try {
    const presentation = parseSign1(bytes);
    const body = decodeCbor(presentation.payload);
    if (!isMap(body)) return malformed('presentation payload is not a map');
    const credentialBytes = body.get(1);
    const t = body.get(2);
    const nonce = body.get(3);
    if (!isBytes(credentialBytes)) return malformed('presentation credential must be a byte string');
    if (!isUint(t)) return malformed('presentation time must be an unsigned integer');
    if (!isBytes(nonce) || nonce.length !== 8) return malformed('presentation nonce must be 8 bytes');
    const items = body.get(4);
    if (
      items !== undefined &&
      (!Array.isArray(items) ||
        items.length === 0 ||
        items.length > MAX_CHECKOUT_ITEMS ||
        !(items as unknown[]).every((b) => typeof b === 'string' && BARCODE.test(b)) ||
        new Set(items).size !== items.length)
    )
      return malformed(`checkout items must be 1-${MAX_CHECKOUT_ITEMS} distinct barcodes`);
    const credential = parseSign1(credentialBytes);
    if (presentation.algId === undefined || credential.algId === undefined)
      return malformed('alg missing from protected header');
    if (!credential.alg)
      return deny('unsupported_version', { detail: `credential alg ${String(credential.algId)}` });
    if (!presentation.alg)
      return deny('unsupported_version', { detail: `presentation alg ${String(presentation.algId)}` });
    if (!credential.kid) return malformed('credential has no kid');
    const claims = readClaims(decodeCbor(credential.payload));
    if (typeof claims === 'string') return malformed(claims);
    return {
      presentation,
      credential,
      credentialBytes,
      claims,
      t,
      nonce,
      ...(items ? { items: items as string[] } : {}),
    };
  } catch (err) {
    if (err instanceof CborError || err instanceof CoseFormatError) return malformed(err.message);
    throw err;
  }
}

export function matchEntitlement(
  ent: readonly Entitlement[],
  req: EntitlementRequirement,
): Entitlement | undefined {
  return ent.find(
    (e) =>
      e.k === req.k &&
      (req.v === undefined || e.v === undefined || e.v === req.v) &&
      (req.c === undefined || (e.c !== undefined && req.c.includes(e.c))),
  );
}

/**
 * Verifies a QR text offline against the store. Never throws for bad input: every refusal is a
 * Decision with a reason code. Throws only for broken infrastructure (a store that fails).
 */
export function verify(text: string, store: VerifierStore, options: VerifyOptions): Decision {
  const parsed = parsePresentation(text);
  if ('decision' in parsed) return parsed;
  const { presentation, credential, credentialBytes, claims, t, nonce, items } = parsed;
  const { now } = options;
  const backend = options.backend ?? 'node';
  const skew = options.skewSeconds ?? 0;
  const window = options.windowSeconds ?? 30;
  const ctiHex = toHex(claims.cti);
  const facts: Partial<Decision> = {
    iss: claims.iss,
    sub: claims.sub,
    cti: ctiHex,
    t,
    exp: claims.exp,
    entitlements: claims.ent,
    ...(items ? { items } : {}),
  };
  const refuse = (reason: TokenReason): Decision => deny(reason, facts);

  const trusted = store.issuerKey(credential.kid!);
  if (!trusted || trusted.issuer !== claims.iss) return refuse('unknown_issuer');
  if (
    (trusted.notBefore !== undefined && now < trusted.notBefore) ||
    (trusted.notAfter !== undefined && now >= trusted.notAfter)
  )
    return refuse('unknown_issuer');
  if (credential.alg !== trusted.alg) return refuse('bad_issuer_signature');

  const digest = store.isVerifiedCredential
    ? createHash('sha256').update(credentialBytes).digest('base64')
    : '';
  if (!(store.isVerifiedCredential?.(digest) ?? false)) {
    if (!verifySign1(credential, verifyKeyFor(trusted), backend)) return refuse('bad_issuer_signature');
    store.rememberVerifiedCredential?.(digest, claims.exp);
  }

  if (claims.nbf > now + skew) return refuse('not_yet_valid');
  if (claims.exp <= now - skew) return refuse('cert_expired');
  if (store.isRevoked(claims.cti)) return refuse('revoked');
  if (store.isSuspended(claims.sub)) return refuse('member_suspended');
  const holderKey = deviceKey(claims.devicePublicKey);
  if (!holderKey || !verifySign1(presentation, holderKey, backend)) return refuse('bad_device_signature');
  if (now - t > window + skew) return refuse('stale');
  if (t - now > window + skew) return refuse('future');

  const replayKey = `${ctiHex}:${t}:${toHex(nonce)}`;
  if (store.hasSeen(replayKey)) return refuse('replayed');
  let matched: Entitlement | undefined;
  if (options.requirement) {
    matched = matchEntitlement(claims.ent, options.requirement);
    if (!matched) return refuse('not_entitled');
  }
  const replayExpiresAt = t + window + skew + 1;
  if (options.recordReplay ?? true) store.markSeen(replayKey, replayExpiresAt);
  return {
    decision: 'accept',
    reason: 'ok',
    ...facts,
    ...(matched ? { matched } : {}),
    replayKey,
    replayExpiresAt,
  };
}
