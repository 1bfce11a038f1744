// Row encodings shared by the SQLite and PostgreSQL stores.
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { encodeEvent, readEvent, type TerminalEvent } from '../../shared/events.js';
import type { TerminalStatus } from '../../shared/sync.js';
import type { TerminalRecord } from './types.js';

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

/** A terminals row as either driver returns it (PostgreSQL gives BIGINT columns as text). */
export interface TerminalRow {
  id: string;
  role: string;
  alg: string;
  public_key: Buffer;
  secret_hash: string;
  mosquitto_hash: string;
  created_at: number | string;
  acked_seq: number | string;
  last_seen: number | string | null;
  status_json: string | null;
}

export function terminalFromRow(r: TerminalRow): TerminalRecord {
  const out: TerminalRecord = {
    id: r.id,
    role: r.role,
    alg: r.alg as TerminalRecord['alg'],
    publicKey: new Uint8Array(r.public_key),
    secretHash: r.secret_hash,
    mosquittoHash: r.mosquitto_hash,
    createdAt: Number(r.created_at),
    ackedSeq: Number(r.acked_seq),
  };
  if (r.last_seen !== null) out.lastSeen = Number(r.last_seen);
  const status = statusFromJson(r.status_json);
  if (status) out.status = status;
  return out;
}
