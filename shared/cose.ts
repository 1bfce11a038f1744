// COSE_Sign1 (RFC 9052 §4.2, §4.4): tagged 18, [protected bstr, unprotected map, payload bstr, signature bstr].
import { COSE_ALG, algFromCose, sign, type Alg, type VerifyBackend, type VerifyKey } from './keys.js';
import {
  CborError,
  Tag,
  decodeCbor,
  encodeCbor,
  isBytes,
  isMap,
  type CborLimits,
  TOKEN_LIMITS,
} from './cbor.js';

export const COSE_SIGN1_TAG = 18;
const EMPTY = new Uint8Array(0);

export interface Sign1 {
  /** The protected header exactly as it appeared on the wire: the signature covers these bytes. */
  protectedBytes: Uint8Array;
  protectedHeader: Map<unknown, unknown>;
  unprotectedHeader: Map<unknown, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
  /** Algorithm named in the protected header, undefined when it is not one we support. */
  alg: Alg | undefined;
  algId: unknown;
  kid: Uint8Array | undefined;
}

export class CoseFormatError extends Error {
  override name = 'CoseFormatError';
}

/** Sig_structure for COSE_Sign1: ["Signature1", body_protected, external_aad, payload]. */
export function sigStructure(
  protectedBytes: Uint8Array,
  payload: Uint8Array,
  externalAad: Uint8Array = EMPTY,
): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, externalAad, payload]);
}

export function signSign1(
  alg: Alg,
  secretKey: Uint8Array,
  payload: Uint8Array,
  kid?: Uint8Array,
  backend: VerifyBackend = 'noble',
): Uint8Array {
  const header = new Map<number, unknown>([[1, COSE_ALG[alg]]]);
  if (kid) header.set(4, kid);
  const protectedBytes = encodeCbor(header);
  const signature = sign(alg, secretKey, sigStructure(protectedBytes, payload), backend);
  return encodeCbor(new Tag([protectedBytes, new Map(), payload, signature], COSE_SIGN1_TAG));
}

/** Parses a tagged COSE_Sign1 (bounded decode); throws CoseFormatError or CborError when it is not one. */
export function parseSign1(bytes: Uint8Array, limits: CborLimits = TOKEN_LIMITS): Sign1 {
  const item = decodeCbor(bytes, limits);
  if (!(item instanceof Tag) || item.tag !== COSE_SIGN1_TAG)
    throw new CoseFormatError('not a tagged COSE_Sign1 (tag 18)');
  const parts = item.value as unknown;
  if (!Array.isArray(parts) || parts.length !== 4)
    throw new CoseFormatError('COSE_Sign1 must be an array of four items');
  const [protectedBytes, unprotectedHeader, payload, signature] = parts as unknown[];
  if (!isBytes(protectedBytes)) throw new CoseFormatError('protected header must be a byte string');
  if (!isMap(unprotectedHeader)) throw new CoseFormatError('unprotected header must be a map');
  if (!isBytes(payload))
    throw new CoseFormatError('payload must be a byte string (detached payloads are not used)');
  if (!isBytes(signature)) throw new CoseFormatError('signature must be a byte string');
  let protectedHeader: Map<unknown, unknown> = new Map();
  if (protectedBytes.length > 0) {
    const decoded = decodeCbor(protectedBytes, { ...limits, allowedTags: [] });
    if (!isMap(decoded)) throw new CoseFormatError('protected header must encode a map');
    protectedHeader = decoded;
  }
  const kid = protectedHeader.get(4);
  if (kid !== undefined && !isBytes(kid)) throw new CoseFormatError('kid must be a byte string');
  const algId = protectedHeader.get(1);
  return {
    protectedBytes,
    protectedHeader,
    unprotectedHeader,
    payload,
    signature,
    alg: algFromCose(algId),
    algId,
    kid,
  };
}

/** True only when the Sign1 names the key's own algorithm and the signature checks out. */
export function verifySign1(sign1: Sign1, key: VerifyKey, backend: VerifyBackend = 'node'): boolean {
  if (sign1.alg !== key.alg) return false;
  return key.verify(sign1.signature, sigStructure(sign1.protectedBytes, sign1.payload), backend);
}

export { CborError };
