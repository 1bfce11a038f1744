// Card bindings: the 'cards' signed list maps HMAC-SHA-256(card UID, fleet card key) to a member
// pseudonym, so a terminal never holds a raw UID. Body shapes (documented in docs/terminal.md):
//   snapshot {bindings: [{h: bstr32, sub: text, blocked?: true}]}
//   delta    {upsert: [{h, sub, blocked?}], remove: [bstr32]}   (cumulative since its base)
import { createHmac } from 'node:crypto';
import { isBytes, isMap } from '../shared/cbor.js';
import { ListError } from '../shared/lists.js';

export interface CardBinding {
  h: Uint8Array;
  sub: string;
  blocked: boolean;
}

export interface CardSnapshot {
  bindings: CardBinding[];
}
export interface CardDelta {
  upsert: CardBinding[];
  remove: Uint8Array[];
}

const UID_HEX = /^(?:[0-9a-fA-F]{2}){4,10}$/;

/** A card UID as read by a reader: 4, 7 or 10 bytes, hex. Returns undefined when it is not one. */
export function parseUid(text: string): Uint8Array | undefined {
  if (!UID_HEX.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
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
  if (!isBytes(h) || h.length !== 32) bad(`binding ${i}.h must be 32 bytes`);
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) bad(`binding ${i}.sub must be text`);
  if (blocked !== undefined && typeof blocked !== 'boolean') bad(`binding ${i}.blocked must be a boolean`);
  return { h: new Uint8Array(h), sub, blocked: blocked === true };
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

/** Builds a cards list body (for issuers, tests and the bench). */
export function encodeCardSnapshot(list: readonly CardBinding[]): Map<string, unknown> {
  return new Map([['bindings', list.map(encodeBinding)]]);
}
export function encodeCardDelta(delta: CardDelta): Map<string, unknown> {
  return new Map<string, unknown>([
    ['upsert', delta.upsert.map(encodeBinding)],
    ['remove', delta.remove],
  ]);
}
function encodeBinding(b: CardBinding): Map<string, unknown> {
  const m = new Map<string, unknown>([
    ['h', b.h],
    ['sub', b.sub],
  ]);
  if (b.blocked) m.set('blocked', true);
  return m;
}
