// MQTT contract between terminals and central (see docs/central.md). Topics, and the CBOR
// payloads on them. QoS 1 everywhere.
import { asUint, decodeCbor, encodeCbor, isMap, wideUint, type CborLimits } from './cbor.js';
import { parseSign1, signSign1, verifySign1 } from './cose.js';
import { encodeEvent, readEvent, type TerminalEvent } from './events.js';
import { keyId, type KeyPair, type VerifyKey } from './keys.js';
import type { ListType } from './lists.js';
import { isTerminalId } from './ids.js';

export const TOPIC_ROOT = 'passgate/v1';
// Terminal ids: one validator for the whole product (shared/ids.ts), re-exported for the wire code.
export { assertTerminalId, isTerminalId } from './ids.js';

export const topics = {
  events: (id: string) => `${TOPIC_ROOT}/t/${id}/events`,
  ack: (id: string) => `${TOPIC_ROOT}/t/${id}/ack`,
  status: (id: string) => `${TOPIC_ROOT}/t/${id}/status`,
  cmd: (id: string) => `${TOPIC_ROOT}/t/${id}/cmd`,
  /** Retained: the latest full snapshot of a list. */
  listSnapshot: (type: ListType) => `${TOPIC_ROOT}/lists/${type}/snapshot`,
  /** Retained: one cumulative delta since the retained snapshot's version. */
  listDelta: (type: ListType) => `${TOPIC_ROOT}/lists/${type}/delta`,
  lists: `${TOPIC_ROOT}/lists/#`,
  time: `${TOPIC_ROOT}/time`,
  /** Central → every terminal: signed replay keys of presentations consumed elsewhere (shared/replay-relay.ts). */
  replay: `${TOPIC_ROOT}/replay`,
  allEvents: `${TOPIC_ROOT}/t/+/events`,
  allStatus: `${TOPIC_ROOT}/t/+/status`,
  /** MQTT 5 shared subscription: N central workers split the event load. */
  sharedEvents: `$share/central/${TOPIC_ROOT}/t/+/events`,
};

/** Parses `passgate/v1/t/{id}/{leaf}`; undefined for any other topic. */
export function parseTerminalTopic(topic: string): { terminalId: string; leaf: string } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'passgate' || parts[1] !== 'v1' || parts[2] !== 't')
    return undefined;
  if (!isTerminalId(parts[3])) return undefined;
  return { terminalId: parts[3]!, leaf: parts[4]! };
}

export const MAX_BATCH_EVENTS = 500;
export const BATCH_LIMITS: CborLimits = { maxBytes: 1024 * 1024, maxDepth: 6, allowedTags: [18] };

export interface EventBatch {
  terminal: string;
  fromSeq: number;
  /** Contiguous events starting at fromSeq. */
  events: TerminalEvent[];
}

/** A batch is a COSE_Sign1 by the terminal's enrollment key over {terminal, from_seq, events}. */
export function signBatch(terminalKey: KeyPair, batch: EventBatch): Uint8Array {
  const payload = encodeCbor(
    new Map<string, unknown>([
      ['terminal', batch.terminal],
      ['from_seq', wideUint(batch.fromSeq)],
      ['events', batch.events.map(encodeEvent)],
    ]),
  );
  // Batches are tens of kilobytes: OpenSSL signs them (identical Ed25519 signatures, far faster).
  return signSign1(terminalKey.alg, terminalKey.secretKey, payload, keyId(terminalKey.publicKey), 'node');
}

/** Verifies and decodes a batch; returns a string naming what is wrong (for logs and a reason code). */
export function openBatch(
  bytes: Uint8Array,
  terminalKey: VerifyKey,
  expectedTerminal: string,
): EventBatch | string {
  let sign1;
  try {
    sign1 = parseSign1(bytes, BATCH_LIMITS);
  } catch (err) {
    return `malformed batch: ${(err as Error).message}`;
  }
  if (!verifySign1(sign1, terminalKey)) return 'batch signature does not verify with the terminal key';
  let body: unknown;
  try {
    body = decodeCbor(sign1.payload, BATCH_LIMITS);
  } catch (err) {
    return `malformed batch payload: ${(err as Error).message}`;
  }
  if (!isMap(body)) return 'batch payload must be a map';
  const terminal = body.get('terminal');
  const fromSeq = asUint(body.get('from_seq'));
  const raw = body.get('events');
  if (terminal !== expectedTerminal) return 'batch names another terminal than its topic';
  if (fromSeq === undefined || fromSeq < 1) return 'batch from_seq must be a positive integer';
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_BATCH_EVENTS)
    return `batch must hold 1-${MAX_BATCH_EVENTS} events`;
  const events: TerminalEvent[] = [];
  for (const [i, item] of (raw as unknown[]).entries()) {
    const e = readEvent(item);
    if (typeof e === 'string') return `event ${i}: ${e}`;
    if (e.seq !== fromSeq + i) return `event ${i}: seq ${e.seq} breaks the run starting at ${fromSeq}`;
    events.push(e);
  }
  return { terminal, fromSeq, events };
}

/** Small signed control messages (acks, commands): a COSE_Sign1 of a few dozen bytes. */
export const CONTROL_LIMITS: CborLimits = { maxBytes: 1024, maxDepth: 3, allowedTags: [18] };

export interface Ack {
  /** Highest contiguous seq central has committed for this terminal. */
  seq: number;
  /** Unix ms at central when signed. */
  t: number;
}

export interface SignedCommand {
  command: Command;
  /** 16 lowercase hex digits (8 random bytes): the terminal runs each id at most once. */
  id: string;
  /** Unix ms at central when signed. */
  t: number;
}

const COMMAND_ID = /^[0-9a-f]{16}$/;

function signControl(listKey: KeyPair, fields: [string, unknown][]): Uint8Array {
  return signSign1(listKey.alg, listKey.secretKey, encodeCbor(new Map(fields)), keyId(listKey.publicKey));
}

/** Verifies a control message with the pinned list key; the payload map, or why it was refused. */
function openControl(
  bytes: Uint8Array,
  listKey: VerifyKey,
  type: 'ack' | 'cmd',
  expectedTerminal: string,
): Map<unknown, unknown> | string {
  let sign1;
  try {
    sign1 = parseSign1(bytes, CONTROL_LIMITS);
  } catch (err) {
    return `malformed ${type}: ${(err as Error).message}`;
  }
  if (!verifySign1(sign1, listKey)) return `${type} signature does not verify with the pinned list key`;
  let body: unknown;
  try {
    body = decodeCbor(sign1.payload, { ...CONTROL_LIMITS, allowedTags: [] });
  } catch (err) {
    return `malformed ${type} payload: ${(err as Error).message}`;
  }
  if (!isMap(body) || body.get('type') !== type) return `${type} payload is not a ${type} message`;
  if (body.get('terminal') !== expectedTerminal) return `${type} names another terminal`;
  return body;
}

/** Central → terminal on t/{id}/ack: a COSE_Sign1 by the list key over {type: "ack", terminal, seq, t}. */
export function signAck(listKey: KeyPair, ack: Ack & { terminal: string }): Uint8Array {
  return signControl(listKey, [
    ['type', 'ack'],
    ['terminal', ack.terminal],
    ['seq', wideUint(ack.seq)],
    ['t', wideUint(ack.t)],
  ]);
}

/** Returns the ack, or a string saying why it was refused (bad signature, other terminal, malformed). */
export function openAck(bytes: Uint8Array, listKey: VerifyKey, expectedTerminal: string): Ack | string {
  const body = openControl(bytes, listKey, 'ack', expectedTerminal);
  if (typeof body === 'string') return body;
  const seq = asUint(body.get('seq'));
  const t = asUint(body.get('t'));
  if (seq === undefined || t === undefined) return 'ack seq and t must be unsigned integers';
  return { seq, t };
}

/** Central → terminal on t/{id}/cmd: a COSE_Sign1 by the list key over {type: "cmd", terminal, command, id, t}. */
export function signCommand(listKey: KeyPair, cmd: SignedCommand & { terminal: string }): Uint8Array {
  if (!COMMAND_ID.test(cmd.id)) throw new RangeError('id: must be 16 lowercase hex digits');
  return signControl(listKey, [
    ['type', 'cmd'],
    ['terminal', cmd.terminal],
    ['command', cmd.command],
    ['id', cmd.id],
    ['t', wideUint(cmd.t)],
  ]);
}

/** Returns the command, or a string saying why it was refused. Freshness and replay are the caller's. */
export function openCommand(
  bytes: Uint8Array,
  listKey: VerifyKey,
  expectedTerminal: string,
): SignedCommand | string {
  const body = openControl(bytes, listKey, 'cmd', expectedTerminal);
  if (typeof body === 'string') return body;
  const command = body.get('command');
  const id = body.get('id');
  const t = asUint(body.get('t'));
  if (typeof command !== 'string' || !(COMMANDS as readonly string[]).includes(command))
    return 'cmd command is not a known command';
  if (typeof id !== 'string' || !COMMAND_ID.test(id)) return 'cmd id must be 16 lowercase hex digits';
  if (t === undefined) return 'cmd t must be an unsigned integer';
  return { command: command as Command, id, t };
}

export type ClockState = 'trusted' | 'degraded' | 'untrusted';

export interface TerminalStatus {
  state: 'online' | 'offline';
  /** Unix ms. */
  at: number;
  role?: string;
  lists?: Record<string, { version: number; issuedAt: number }>;
  outboxDepth?: number;
  lastSeq?: number;
  clock?: ClockState;
  readers?: Record<string, string>;
  /** Outbox rows the terminal found unreadable and sent as record_lost markers. */
  outboxDamaged?: number;
  /** The terminal holds its outbox until central's ack (after a recovery lost its seq counter). */
  seqHold?: boolean;
}

export function encodeStatus(s: TerminalStatus): Uint8Array {
  return encodeCbor({ ...s, at: wideUint(s.at) } as unknown);
}

export const STATUS_LIMITS: CborLimits = { maxBytes: 16 * 1024, maxDepth: 4, allowedTags: [18] };
const STATUS_TOKEN = /^[A-Za-z0-9._:-]{1,64}$/;
const PRINTABLE = /^[\x20-\x7e]{0,64}$/;
const CLOCK_STATES: readonly string[] = ['trusted', 'degraded', 'untrusted'];

function plain(v: unknown): unknown {
  return isMap(v) ? Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)])) : v;
}
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
function count(v: unknown): number | undefined {
  if (typeof v === 'bigint') return asUint(v);
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/**
 * Validates a status field by field (type, range, length) and returns a fresh object holding only the
 * known fields; undefined when anything is wrong. Used where a status enters (MQTT) and again where it is
 * read back (central's store), so neither a hostile terminal nor an edited database row reaches
 * `central status` unchecked (issue 8 item 7).
 */
export function checkStatus(v: unknown): TerminalStatus | undefined {
  if (!isRecord(v)) return undefined;
  const at = count(v.at);
  if ((v.state !== 'online' && v.state !== 'offline') || at === undefined) return undefined;
  const out: TerminalStatus = { state: v.state, at };
  if (v.role !== undefined) {
    if (typeof v.role !== 'string' || !STATUS_TOKEN.test(v.role)) return undefined;
    out.role = v.role;
  }
  for (const k of ['outboxDepth', 'lastSeq', 'outboxDamaged'] as const)
    if (v[k] !== undefined) {
      const n = count(v[k]);
      if (n === undefined) return undefined;
      out[k] = n;
    }
  if (v.seqHold !== undefined) {
    if (typeof v.seqHold !== 'boolean') return undefined;
    out.seqHold = v.seqHold;
  }
  if (v.clock !== undefined) {
    if (typeof v.clock !== 'string' || !CLOCK_STATES.includes(v.clock)) return undefined;
    out.clock = v.clock as ClockState;
  }
  if (v.lists !== undefined) {
    if (!isRecord(v.lists) || Object.keys(v.lists).length > 16) return undefined;
    const lists: NonNullable<TerminalStatus['lists']> = {};
    for (const [type, l] of Object.entries(v.lists)) {
      if (!STATUS_TOKEN.test(type) || !isRecord(l)) return undefined;
      const version = count(l.version);
      const issuedAt = count(l.issuedAt);
      if (version === undefined || issuedAt === undefined) return undefined;
      lists[type] = { version, issuedAt };
    }
    out.lists = lists;
  }
  if (v.readers !== undefined) {
    if (!isRecord(v.readers) || Object.keys(v.readers).length > 16) return undefined;
    const readers: Record<string, string> = {};
    for (const [name, state] of Object.entries(v.readers)) {
      if (!STATUS_TOKEN.test(name) || typeof state !== 'string' || !PRINTABLE.test(state)) return undefined;
      readers[name] = state;
    }
    out.readers = readers;
  }
  return out;
}

/** An unsigned status (tests, tools): validated like a signed one. */
export function readStatus(bytes: Uint8Array): TerminalStatus | undefined {
  try {
    return checkStatus(plain(decodeCbor(bytes, { ...STATUS_LIMITS, allowedTags: [] })));
  } catch {
    return undefined;
  }
}

/**
 * Terminal → central on t/{id}/status (retained; also the last will): a COSE_Sign1 by the terminal's
 * enrollment key over {terminal, …status}, so a status is bound to its sender like a batch.
 */
export function signStatus(terminalKey: KeyPair, terminal: string, s: TerminalStatus): Uint8Array {
  const payload = encodeCbor({ ...s, terminal, at: wideUint(s.at) } as unknown);
  return signSign1(terminalKey.alg, terminalKey.secretKey, payload, keyId(terminalKey.publicKey));
}

export function openStatus(
  bytes: Uint8Array,
  terminalKey: VerifyKey,
  expectedTerminal: string,
): TerminalStatus | string {
  let sign1;
  try {
    sign1 = parseSign1(bytes, STATUS_LIMITS);
  } catch (err) {
    return `malformed status: ${(err as Error).message}`;
  }
  if (!verifySign1(sign1, terminalKey)) return 'status signature does not verify with the terminal key';
  let body: unknown;
  try {
    body = plain(decodeCbor(sign1.payload, { ...STATUS_LIMITS, allowedTags: [] }));
  } catch (err) {
    return `malformed status payload: ${(err as Error).message}`;
  }
  if (!isRecord(body) || body.terminal !== expectedTerminal) return 'status names another terminal';
  return checkStatus(body) ?? 'status field out of range';
}

export const COMMANDS = ['resync', 'reload', 'open_gate_once'] as const;
export type Command = (typeof COMMANDS)[number];
