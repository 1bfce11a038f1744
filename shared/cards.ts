// Card bindings: the 'cards' signed list maps HMAC-SHA-256(card UID, fleet card key) to a member
// pseudonym and what the card entitles, so a terminal never holds a raw UID and a card tap goes through
// the same policy as a QR code (a library card does not open the zoo). Body shapes (docs/lists.md):
//   snapshot {bindings: [{h: bstr32, sub: text, ent: [entitlement], exp?: uint, blocked?: true}]}
//   delta    {upsert: [binding], remove: [bstr32]}   (cumulative since its base)
// `ent` uses the credential's entitlement maps ({k, v?, c?, n?}); `exp` is unix seconds.
import { createHmac } from 'node:crypto';
import { isBytes, isMap, isUint } from './cbor.js';
import { encodeEntitlement, readEntitlements, type Entitlement } from './credential.js';
import { ListError } from './lists.js';

export interface CardBinding {
  h: Uint8Array;
  sub: string;
  blocked: boolean;
  /** What a tap of this card may open; empty: nothing that requires an entitlement. */
  ent: Entitlement[];
  /** Unix seconds after which the binding no longer opens anything. */
  exp?: number;
}

export interface CardSnapshot {
  bindings: CardBinding[];
}
export interface CardDelta {
  upsert: CardBinding[];
  remove: Uint8Array[];
}

const UID_HEX = /^(?:[0-9a-fA-F]{2}){4,10}$/;
/** ISO 14443 UIDs: single (4), double (7) or triple (10) size. */
const UID_LENGTHS = [4, 7, 10];

/** A card UID as hex: 4, 7 or 10 bytes. Returns undefined when it is not one. */
export function parseUid(text: string): Uint8Array | undefined {
  if (!UID_HEX.test(text)) return undefined;
  const uid = new Uint8Array(Buffer.from(text, 'hex'));
  return UID_LENGTHS.includes(uid.length) ? uid : undefined;
}

export function cardHash(uid: Uint8Array, cardKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', cardKey).update(uid).digest());
}

function bad(message: string): never {
  throw new ListError('list_malformed', `cards list: ${message}`);
}

function readBinding(v: unknown, i: number): CardBinding {
  if (!isMap(v)) bad(`binding ${i} must be a map`);
  const h = v.get('h');
  const sub = v.get('sub');
  const blocked = v.get('blocked');
  const exp = v.get('exp');
  if (!isBytes(h) || h.length !== 32) bad(`binding ${i}.h must be 32 bytes`);
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) bad(`binding ${i}.sub must be text`);
  if (blocked !== undefined && typeof blocked !== 'boolean') bad(`binding ${i}.blocked must be a boolean`);
  if (exp !== undefined && !isUint(exp)) bad(`binding ${i}.exp must be unix seconds`);
  const ent = readEntitlements(v.get('ent') ?? []);
  if (typeof ent === 'string') bad(`binding ${i}: ${ent}`);
  const b: CardBinding = { h: new Uint8Array(h), sub, blocked: blocked === true, ent };
  if (exp !== undefined) b.exp = exp;
  return b;
}

function bindings(v: unknown, field: string): CardBinding[] {
  if (!Array.isArray(v)) bad(`${field} must be an array`);
  return (v as unknown[]).map(readBinding);
}

export function readCardSnapshot(body: Map<string, unknown>): CardSnapshot {
  return { bindings: bindings(body.get('bindings'), 'bindings') };
}

export function readCardDelta(body: Map<string, unknown>): CardDelta {
  const remove = body.get('remove') ?? [];
  if (!Array.isArray(remove) || !(remove as unknown[]).every((h) => isBytes(h) && h.length === 32))
    bad('remove must be an array of 32-byte hashes');
  return {
    upsert: bindings(body.get('upsert') ?? [], 'upsert'),
    remove: (remove as Uint8Array[]).map((h) => new Uint8Array(h)),
  };
}

/** Builds a cards list body (for issuers, central, tests and the bench). */
export function encodeCardSnapshot(list: readonly CardBindingInput[]): Map<string, unknown> {
  return new Map([['bindings', list.map(encodeBinding)]]);
}
export function encodeCardDelta(delta: {
  upsert: CardBindingInput[];
  remove: Uint8Array[];
}): Map<string, unknown> {
  return new Map<string, unknown>([
    ['upsert', delta.upsert.map(encodeBinding)],
    ['remove', delta.remove],
  ]);
}

export type CardBindingInput = Omit<CardBinding, 'ent'> & { ent?: Entitlement[] };

function encodeBinding(b: CardBindingInput): Map<string, unknown> {
  const m = new Map<string, unknown>([
    ['h', b.h],
    ['sub', b.sub],
    ['ent', (b.ent ?? []).map(encodeEntitlement)],
  ]);
  if (b.exp !== undefined) m.set('exp', b.exp);
  if (b.blocked) m.set('blocked', true);
  return m;
}
