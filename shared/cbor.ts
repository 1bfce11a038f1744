// Bounded CBOR (RFC 8949). Every untrusted byte string is walked by `checkCbor` before cbor-x sees it,
// so a hostile length prefix, a deep nesting or an unexpected type is refused without allocating.
import { Decoder, Encoder, Tag } from 'cbor-x';

export { Tag };

export class CborError extends Error {
  override name = 'CborError';
}

export interface CborLimits {
  maxBytes: number;
  maxDepth: number;
  /** Tags allowed anywhere in the item (COSE_Sign1 is 18). */
  allowedTags: readonly number[];
}

export const TOKEN_LIMITS: CborLimits = { maxBytes: 2048, maxDepth: 8, allowedTags: [18] };

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  variableMapSize: true,
  useFloat32: 0,
  pack: false,
});
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeCbor(value: unknown): Uint8Array {
  const out = encoder.encode(value);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Checks structure and limits, then decodes. Throws CborError with a plain reason on anything outside them. */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits = TOKEN_LIMITS): unknown {
  checkCbor(bytes, limits);
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw new CborError(`undecodable CBOR: ${(err as Error).message}`);
  }
}

/** Walks one complete CBOR item that must fill `bytes` exactly. */
export function checkCbor(bytes: Uint8Array, limits: CborLimits): void {
  if (bytes.length === 0) throw new CborError('empty input');
  if (bytes.length > limits.maxBytes)
    throw new CborError(`input is ${bytes.length} bytes, over the ${limits.maxBytes}-byte limit`);
  const end = walk(bytes, 0, 0, limits);
  if (end !== bytes.length) throw new CborError(`${bytes.length - end} trailing bytes after the CBOR item`);
}

interface Head {
  major: number;
  value: number;
  next: number;
}

function head(bytes: Uint8Array, pos: number): Head {
  if (pos >= bytes.length) throw new CborError('truncated CBOR');
  const ib = bytes[pos]!;
  const major = ib >> 5;
  const ai = ib & 0x1f;
  if (ai < 24) return { major, value: ai, next: pos + 1 };
  if (ai === 31) throw new CborError('indefinite-length items are not accepted');
  if (ai > 27) throw new CborError(`reserved additional information ${ai}`);
  const size = 1 << (ai - 24);
  if (pos + 1 + size > bytes.length) throw new CborError('truncated CBOR argument');
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + bytes[pos + 1 + i]!;
  if (major === 7) return { major, value: ai, next: pos + 1 + size };
  const minimum = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000;
  if (value < minimum) throw new CborError('non-shortest CBOR argument encoding');
  return { major, value, next: pos + 1 + size };
}

function walk(bytes: Uint8Array, pos: number, depth: number, limits: CborLimits): number {
  if (depth > limits.maxDepth) throw new CborError(`nesting deeper than ${limits.maxDepth}`);
  const h = head(bytes, pos);
  const remaining = bytes.length - h.next;
  switch (h.major) {
    case 0:
    case 1:
      return h.next;
    case 2:
    case 3: {
      if (h.value > remaining) throw new CborError('string length runs past the end of the input');
      const end = h.next + h.value;
      if (h.major === 3 && !isAscii(bytes, h.next, end)) {
        try {
          utf8.decode(bytes.subarray(h.next, end));
        } catch {
          throw new CborError('text string is not valid UTF-8');
        }
      }
      return end;
    }
    case 4: {
      if (h.value > remaining) throw new CborError('array count runs past the end of the input');
      let p = h.next;
      for (let i = 0; i < h.value; i++) p = walk(bytes, p, depth + 1, limits);
      return p;
    }
    case 5: {
      if (h.value * 2 > remaining) throw new CborError('map count runs past the end of the input');
      let p = h.next;
      // Small maps compare key spans byte for byte (no strings built); large ones use a set.
      const spans: number[] = [];
      const seen = h.value > 16 ? new Set<string>() : undefined;
      for (let i = 0; i < h.value; i++) {
        const keyMajor = bytes[p]! >> 5;
        if (keyMajor !== 0 && keyMajor !== 1 && keyMajor !== 3)
          throw new CborError('map keys must be integers or text');
        const keyEnd = walk(bytes, p, depth + 1, limits);
        if (seen) {
          const key = Buffer.from(bytes.buffer, bytes.byteOffset + p, keyEnd - p).toString('latin1');
          if (seen.has(key)) throw new CborError('duplicate map key');
          seen.add(key);
        } else {
          for (let k = 0; k < spans.length; k += 2)
            if (sameSpan(bytes, spans[k]!, spans[k + 1]!, p, keyEnd))
              throw new CborError('duplicate map key');
          spans.push(p, keyEnd);
        }
        p = walk(bytes, keyEnd, depth + 1, limits);
      }
      return p;
    }
    case 6:
      if (!limits.allowedTags.includes(h.value))
        throw new CborError(`CBOR tag ${h.value} is not accepted here`);
      return walk(bytes, h.next, depth + 1, limits);
    default:
      // major 7: false, true and null only; no floats, undefined or other simple values.
      if (h.value === 20 || h.value === 21 || h.value === 22) return h.next;
      throw new CborError('floats and simple values are not accepted');
  }
}

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

function sameSpan(bytes: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let i = 0; i < aEnd - a; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

export function isMap(value: unknown): value is Map<unknown, unknown> {
  return value instanceof Map;
}

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * cbor-x writes integers above 2^32 as float64; wrap such values (millisecond timestamps, large counters)
 * with `wideUint` so they go out as CBOR unsigned integers, and read them back with `asUint`.
 */
export function wideUint(n: number): number | bigint {
  return n > 0xffffffff ? BigInt(n) : n;
}

export function asUint(value: unknown): number | undefined {
  if (isUint(value)) return value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(value);
  return undefined;
}
