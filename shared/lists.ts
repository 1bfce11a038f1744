// Signed lists (trust, revocation, card bindings, library policy): COSE_Sign1 by the list key over
// {type, version, issued_at, snapshot | (base, delta)}. Versions strictly increase; a delta names its base.
import { toHex } from './bytes.js';
import { decodeCbor, encodeCbor, isBytes, isMap, isUint, type CborLimits } from './cbor.js';
import { CoseFormatError, parseSign1, signSign1, verifySign1 } from './cose.js';
import { ALGS, assertPublicKey, keyId, type Alg, type KeyPair, type VerifyKey } from './keys.js';
import type { TrustedIssuerKey } from './store.js';

/** library: loan policy; items: the branch catalogue; members: member library status (shared/library.ts). */
export const LIST_TYPES = ['trust', 'revocation', 'cards', 'library', 'items', 'members'] as const;
export type ListType = (typeof LIST_TYPES)[number];

/** Lists can be large (a million revoked serials is ~20 MB), but stay shallow. */
export const LIST_LIMITS: CborLimits = { maxBytes: 64 * 1024 * 1024, maxDepth: 6, allowedTags: [18] };

export type ListErrorCode =
  'list_malformed' | 'list_bad_signature' | 'list_wrong_type' | 'list_rollback' | 'list_gap';

export class ListError extends Error {
  override name = 'ListError';
  constructor(
    readonly code: ListErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TrustBody {
  keys: TrustedIssuerKey[];
}
export interface TrustDelta {
  add: TrustedIssuerKey[];
  remove: Uint8Array[];
}
export interface RevocationBody {
  serials: Uint8Array[];
  subjects: string[];
}
export interface RevocationDelta {
  addSerials: Uint8Array[];
  removeSerials: Uint8Array[];
  addSubjects: string[];
  removeSubjects: string[];
}

export interface ListHeader {
  type: ListType;
  version: number;
  issuedAt: number;
  /** Present on a delta: the version it applies on top of. */
  base?: number;
}

export type SignedList =
  | (ListHeader & { type: 'trust'; snapshot: TrustBody })
  | (ListHeader & { type: 'trust'; base: number; delta: TrustDelta })
  | (ListHeader & { type: 'revocation'; snapshot: RevocationBody })
  | (ListHeader & { type: 'revocation'; base: number; delta: RevocationDelta })
  | (ListHeader & { type: MapListType; snapshot: Map<string, unknown> })
  | (ListHeader & { type: MapListType; base: number; delta: Map<string, unknown> });

/** Lists whose bodies are plain maps, read by their own module (terminal/cards.ts, shared/library.ts). */
export type MapListType = 'cards' | 'library' | 'items' | 'members';

function encodeKey(k: TrustedIssuerKey): Map<string, unknown> {
  const m = new Map<string, unknown>([
    ['kid', k.kid],
    ['alg', k.alg],
    ['key', k.publicKey],
    ['iss', k.issuer],
  ]);
  if (k.notBefore !== undefined) m.set('nbf', k.notBefore);
  if (k.notAfter !== undefined) m.set('exp', k.notAfter);
  return m;
}

function encodeBody(list: SignedList): Map<string, unknown> {
  if ('snapshot' in list) {
    if (list.type === 'trust') return new Map([['keys', list.snapshot.keys.map(encodeKey)]]);
    if (list.type === 'revocation')
      return new Map<string, unknown>([
        ['serials', list.snapshot.serials],
        ['subjects', list.snapshot.subjects],
      ]);
    return list.snapshot;
  }
  if (list.type === 'trust')
    return new Map<string, unknown>([
      ['add', list.delta.add.map(encodeKey)],
      ['remove', list.delta.remove],
    ]);
  if (list.type === 'revocation')
    return new Map<string, unknown>([
      ['add_serials', list.delta.addSerials],
      ['remove_serials', list.delta.removeSerials],
      ['add_subjects', list.delta.addSubjects],
      ['remove_subjects', list.delta.removeSubjects],
    ]);
  return list.delta;
}

export function signList(listKey: KeyPair, list: SignedList): Uint8Array {
  const payload = new Map<string, unknown>([
    ['type', list.type],
    ['version', list.version],
    ['issued_at', list.issuedAt],
  ]);
  if ('snapshot' in list) payload.set('snapshot', encodeBody(list));
  else {
    payload.set('base', list.base);
    payload.set('delta', encodeBody(list));
  }
  return signSign1(listKey.alg, listKey.secretKey, encodeCbor(payload), keyId(listKey.publicKey));
}

function fail(message: string): never {
  throw new ListError('list_malformed', message);
}

function bytesArray(v: unknown, field: string, size?: number): Uint8Array[] {
  if (!Array.isArray(v)) fail(`${field} must be an array`);
  return (v as unknown[]).map((b) => {
    if (!isBytes(b) || (size !== undefined && b.length !== size))
      fail(`${field} holds a non-${size ?? ''}-byte entry`);
    return new Uint8Array(b);
  });
}

function textArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || !(v as unknown[]).every((s) => typeof s === 'string'))
    fail(`${field} must be an array of text`);
  return v as string[];
}

function readKey(v: unknown): TrustedIssuerKey {
  if (!isMap(v)) fail('trust key must be a map');
  const kid = v.get('kid');
  const alg = v.get('alg');
  const key = v.get('key');
  const iss = v.get('iss');
  const nbf = v.get('nbf');
  const exp = v.get('exp');
  if (!isBytes(kid) || kid.length !== 8) fail('trust key kid must be 8 bytes');
  if (typeof alg !== 'string' || !ALGS.includes(alg as Alg)) fail('trust key alg must be EdDSA or ES256');
  if (!isBytes(key)) fail('trust key must carry its public key bytes');
  if (toHex(keyId(key)) !== toHex(kid)) fail('trust key kid does not match its public key');
  try {
    assertPublicKey(alg as Alg, key, 'trust key');
  } catch (err) {
    fail((err as Error).message);
  }
  if (typeof iss !== 'string') fail('trust key iss must be text');
  if ((nbf !== undefined && !isUint(nbf)) || (exp !== undefined && !isUint(exp)))
    fail('trust key nbf/exp must be integers');
  const out: TrustedIssuerKey = {
    kid: new Uint8Array(kid),
    alg: alg as Alg,
    publicKey: new Uint8Array(key),
    issuer: iss,
  };
  if (nbf !== undefined) out.notBefore = nbf as number;
  if (exp !== undefined) out.notAfter = exp as number;
  return out;
}

function readBody(type: ListType, body: unknown, isDelta: boolean): unknown {
  if (!isMap(body)) fail('list body must be a map');
  if (type === 'trust') {
    if (!isDelta) {
      const keys = body.get('keys');
      if (!Array.isArray(keys)) fail('trust snapshot keys must be an array');
      return { keys: (keys as unknown[]).map(readKey) } satisfies TrustBody;
    }
    const add = body.get('add');
    if (!Array.isArray(add)) fail('trust delta add must be an array');
    return {
      add: (add as unknown[]).map(readKey),
      remove: bytesArray(body.get('remove'), 'remove', 8),
    } satisfies TrustDelta;
  }
  if (type === 'revocation') {
    if (!isDelta)
      return {
        serials: bytesArray(body.get('serials'), 'serials', 16),
        subjects: textArray(body.get('subjects'), 'subjects'),
      } satisfies RevocationBody;
    return {
      addSerials: bytesArray(body.get('add_serials'), 'add_serials', 16),
      removeSerials: bytesArray(body.get('remove_serials'), 'remove_serials', 16),
      addSubjects: textArray(body.get('add_subjects'), 'add_subjects'),
      removeSubjects: textArray(body.get('remove_subjects'), 'remove_subjects'),
    } satisfies RevocationDelta;
  }
  return body;
}

/**
 * Checks a signed list against the pinned list key and decodes it. Throws ListError: list_malformed,
 * list_bad_signature (forged or signed by another key) or list_wrong_type.
 */
export function openList(bytes: Uint8Array, listKey: VerifyKey, expectedType?: ListType): SignedList {
  let sign1;
  try {
    sign1 = parseSign1(bytes, LIST_LIMITS);
  } catch (err) {
    if (err instanceof CoseFormatError || (err as Error).name === 'CborError') fail((err as Error).message);
    throw err;
  }
  if (!verifySign1(sign1, listKey))
    throw new ListError('list_bad_signature', 'list signature does not verify with the pinned list key');
  let payload: unknown;
  try {
    payload = decodeCbor(sign1.payload, LIST_LIMITS);
  } catch (err) {
    fail((err as Error).message);
  }
  if (!isMap(payload)) fail('list payload must be a map');
  const type = payload.get('type');
  const version = payload.get('version');
  const issuedAt = payload.get('issued_at');
  if (typeof type !== 'string' || !LIST_TYPES.includes(type as ListType)) fail('unknown list type');
  if (expectedType && type !== expectedType)
    throw new ListError('list_wrong_type', `expected a ${expectedType} list, got ${type}`);
  if (!isUint(version) || version < 1) fail('list version must be a positive integer');
  if (!isUint(issuedAt)) fail('list issued_at must be an integer');
  const header = { type: type as ListType, version, issuedAt };
  if (payload.has('snapshot'))
    return { ...header, snapshot: readBody(header.type, payload.get('snapshot'), false) } as SignedList;
  const base = payload.get('base');
  if (!isUint(base) || base >= version) fail('delta base must be an integer below its version');
  return { ...header, base, delta: readBody(header.type, payload.get('delta'), true) } as SignedList;
}

export type SequenceCheck = 'apply' | 'already_applied';

/**
 * Anti-rollback. A snapshot must be newer than what is held. A delta carries the final state of every
 * element changed since its base (adds and removes are idempotent), so it applies to any held version
 * from its base up to just below its own version: central can publish one cumulative delta since the
 * last snapshot. Returns already_applied for a redelivery (idempotent); throws list_rollback or list_gap.
 */
export function checkSequence(current: number | undefined, list: SignedList): SequenceCheck {
  const held = current ?? 0;
  if (list.version === held) return 'already_applied';
  if (list.version < held)
    throw new ListError(
      'list_rollback',
      `${list.type} list version ${list.version} is older than held version ${held}`,
    );
  if ('delta' in list && list.base > held)
    throw new ListError(
      'list_gap',
      `${list.type} delta applies from version ${list.base}, held version is ${held}; a snapshot is needed`,
    );
  return 'apply';
}

export function isDelta(list: SignedList): list is Extract<SignedList, { delta: unknown }> {
  return 'delta' in list;
}
