// Row encodings shared by the SQLite and PostgreSQL stores.
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { encodeEvent, readEvent, type TerminalEvent } from '../../shared/events.js';
import type { TerminalStatus } from '../../shared/sync.js';

const EVENT_LIMITS = { maxBytes: 16 * 1024, maxDepth: 4, allowedTags: [] };

export function eventToBytes(e: TerminalEvent): Uint8Array {
  return encodeCbor(encodeEvent(e));
}

export function eventFromBytes(bytes: Uint8Array): TerminalEvent {
  const e = readEvent(decodeCbor(new Uint8Array(bytes), EVENT_LIMITS));
  if (typeof e === 'string') throw new Error(`stored event is corrupt: ${e}`);
  return e;
}

export function statusToJson(s: TerminalStatus): string {
  return JSON.stringify(s);
}

export function statusFromJson(text: string | null | undefined): TerminalStatus | undefined {
  return text ? (JSON.parse(text) as TerminalStatus) : undefined;
}

/**
 * Given the stored contiguous seq and the sorted seqs stored above it, the new contiguous seq: it walks
 * forward while the run has no hole.
 */
export function advanceContiguous(current: number, above: number[]): number {
  let c = current;
  for (const s of above) {
    if (s === c + 1) c = s;
    else if (s > c + 1) break;
  }
  return c;
}
