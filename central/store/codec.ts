// Row encodings shared by the SQLite and PostgreSQL stores.
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { encodeEvent, readEvent, type TerminalEvent } from '../../shared/events.js';
import { checkStatus, type TerminalStatus } from '../../shared/sync.js';
import type { Alert, TerminalRecord } from './types.js';

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

/** Read back through the same validator as on the wire: a bad row shows no status rather than crashing. */
export function statusFromJson(text: string | null | undefined): TerminalStatus | undefined {
  if (!text) return undefined;
  try {
    return checkStatus(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Presentations older than this are forgotten: a replayed code is long stale by then. */
export const PRESENTATION_MEMORY_MS = 24 * 3_600_000;

/**
 * The replay key of the presentation an entry event consumed (`cti:t:nonce`, as shared/verify.ts builds
 * it), or undefined for events that carry none (cards, denials before the replay check, old terminals).
 */
export function presentationKey(e: TerminalEvent): string | undefined {
  const nonce = e.data?.nonce;
  if (e.kind !== 'entry' || !e.cti || e.t === undefined || typeof nonce !== 'string') return undefined;
  return `${e.cti}:${e.t}:${nonce}`;
}

/** The ack after a batch: its last seq, but never a seq whose content conflicted (nor anything past it). */
export function ackAfter(before: number, lastSeq: number, conflicts: number[]): number {
  const firstNew = conflicts.filter((c) => c > before).sort((a, b) => a - b)[0];
  return Math.max(before, firstNew !== undefined ? firstNew - 1 : lastSeq);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
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
  retired_at?: number | string | null;
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
  if (r.retired_at !== null && r.retired_at !== undefined) out.retiredAt = Number(r.retired_at);
  return out;
}

export function alertFromRow(r: {
  id: number | string;
  at: number | string;
  kind: Alert['kind'];
  terminal: string;
  detail: string;
}): Alert {
  let detail: Alert['detail'] = {};
  try {
    detail = JSON.parse(r.detail) as Alert['detail'];
  } catch {
    // an unreadable detail still shows the alert
  }
  return { id: Number(r.id), at: Number(r.at), kind: r.kind, terminal: r.terminal, detail };
}

/** The alert `acceptGap` records: the seqs an operator declared lost. */
export function gapAlert(terminal: string, before: number, after: number, at: number): Omit<Alert, 'id'> {
  return {
    at,
    kind: 'gap_accepted',
    terminal,
    detail: { missingFrom: before + 1, missingTo: after, count: after - before },
  };
}
