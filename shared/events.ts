// Terminal events: what a terminal commits to its outbox and central stores. Pseudonyms and serials only:
// never names, ID numbers or raw card UIDs.
import { asUint, isMap, wideUint } from './cbor.js';
import { ALL_REASONS, type Reason } from './reasons.js';

export const EVENT_KINDS = [
  'entry',
  'card_tap',
  'loan',
  'return',
  /** A loan renewed at a kiosk (data: item, due, renewals). */
  'renewal',
  'renewal_denied',
  'tamper',
  'reader_fault',
  'list_applied',
  'clock_jump',
  /** Written by `terminal recover` in place of an outbox row it could not read, so seqs stay contiguous. */
  'record_lost',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type EventData = Record<string, string | number | boolean>;

export interface TerminalEvent {
  /** Per-terminal sequence number: contiguous from 1, never reused. */
  seq: number;
  kind: EventKind;
  /** Unix milliseconds on the terminal's clock when committed. */
  at: number;
  decision?: 'accept' | 'deny';
  reason?: Reason;
  /** Credential serial (hex). */
  cti?: string;
  /** Member pseudonym. */
  sub?: string;
  gate?: string;
  direction?: 'in' | 'out';
  /** Presentation time (unix seconds) for QR entries. */
  t?: number;
  /** Kind-specific facts (item id, list version, card hash …). Small scalars only. */
  data?: EventData;
}

export function encodeEvent(e: TerminalEvent): Map<string, unknown> {
  const m = new Map<string, unknown>([
    ['seq', wideUint(e.seq)],
    ['kind', e.kind],
    ['at', wideUint(e.at)],
  ]);
  if (e.decision !== undefined) m.set('decision', e.decision);
  if (e.reason !== undefined) m.set('reason', e.reason);
  if (e.cti !== undefined) m.set('cti', e.cti);
  if (e.sub !== undefined) m.set('sub', e.sub);
  if (e.gate !== undefined) m.set('gate', e.gate);
  if (e.direction !== undefined) m.set('direction', e.direction);
  if (e.t !== undefined) m.set('t', wideInt(e.t));
  if (e.data !== undefined)
    m.set(
      'data',
      new Map(Object.entries(e.data).map(([k, v]) => [k, typeof v === 'number' ? wideInt(v) : v])),
    );
  return m;
}

/**
 * cbor-x writes integers beyond 32 bits (either sign) as float64, which every reader here refuses: a
 * clock jump of 50 days in milliseconds would make a batch unreadable forever. Such integers go out as
 * BigInt (CBOR major type 0/1); a non-integer, which no event should carry, goes out as text.
 */
function wideInt(n: number): number | bigint | string {
  if (!Number.isInteger(n)) return String(n);
  return Math.abs(n) > 0xffffffff ? BigInt(n) : n;
}

/** Reads a CBOR integer of either sign within the safe range (cbor-x gives a bigint for 64-bit ones). */
function asInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  return undefined;
}

const SHORT_TEXT = 128;
function optText(v: unknown): v is string | undefined {
  return v === undefined || (typeof v === 'string' && v.length <= SHORT_TEXT);
}

/** Validates one event from the wire; returns a string naming the bad field. */
export function readEvent(v: unknown): TerminalEvent | string {
  if (!isMap(v)) return 'event must be a map';
  const seq = asUint(v.get('seq'));
  const at = asUint(v.get('at'));
  const kind = v.get('kind');
  const decision = v.get('decision');
  const reason = v.get('reason');
  const cti = v.get('cti');
  const sub = v.get('sub');
  const gate = v.get('gate');
  const direction = v.get('direction');
  const t = v.get('t');
  const data = v.get('data');
  if (seq === undefined || seq < 1) return 'event.seq must be a positive integer';
  if (at === undefined) return 'event.at must be an integer (unix ms)';
  if (typeof kind !== 'string' || !EVENT_KINDS.includes(kind as EventKind))
    return 'event.kind is not a known kind';
  if (decision !== undefined && decision !== 'accept' && decision !== 'deny')
    return 'event.decision must be accept or deny';
  if (reason !== undefined && !ALL_REASONS.includes(reason as Reason))
    return 'event.reason is not a known reason code';
  if (!optText(cti) || !optText(sub) || !optText(gate)) return 'event.cti, sub and gate must be short text';
  if (direction !== undefined && direction !== 'in' && direction !== 'out')
    return 'event.direction must be in or out';
  if (t !== undefined && asUint(t) === undefined) return 'event.t must be a non-negative integer';
  const e: TerminalEvent = { seq, kind: kind as EventKind, at };
  if (decision !== undefined) e.decision = decision;
  if (reason !== undefined) e.reason = reason as Reason;
  if (cti !== undefined) e.cti = cti;
  if (sub !== undefined) e.sub = sub;
  if (gate !== undefined) e.gate = gate;
  if (direction !== undefined) e.direction = direction;
  if (t !== undefined) e.t = asUint(t)!;
  if (data !== undefined) {
    if (!isMap(data) || data.size > 32) return 'event.data must be a small map';
    const out: EventData = {};
    for (const [k, val] of data) {
      if (typeof k !== 'string') return 'event.data keys must be text';
      const n = asInt(val);
      if (typeof val === 'string' ? val.length > SHORT_TEXT : typeof val !== 'boolean' && n === undefined)
        return `event.data.${k} must be a short scalar`;
      out[k] = n ?? (val as string | boolean);
    }
    e.data = out;
  }
  return e;
}
