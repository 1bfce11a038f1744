import { describe, expect, it } from 'vitest';
import { openBeacon, signBeacon } from './beacon.js';
import { fromHex } from './bytes.js';
import { Tag, decodeCbor, encodeCbor, wideUint } from './cbor.js';
import { parseSign1, signSign1 } from './cose.js';
import { encodeEvent, readEvent, type TerminalEvent } from './events.js';
import { VerifyKey, generateKeyPair, keyId } from './keys.js';
import {
  COMMANDS,
  MAX_BATCH_EVENTS,
  assertTerminalId,
  encodeStatus,
  openAck,
  openBatch,
  openCommand,
  parseTerminalTopic,
  readStatus,
  signAck,
  signBatch,
  signCommand,
  topics,
  type EventBatch,
} from './sync.js';

const terminalKey = generateKeyPair('EdDSA');
const pinnedTerminal = new VerifyKey('EdDSA', terminalKey.publicKey);
const AT = 1_767_225_600_123; // unix ms, above 2^32

function entry(seq: number, extra: Partial<TerminalEvent> = {}): TerminalEvent {
  return {
    seq,
    kind: 'entry',
    at: AT + seq,
    decision: 'accept',
    reason: 'ok',
    cti: '50470000000000000000000000000001',
    sub: 'm-000001',
    gate: 'pool-3-north',
    direction: 'in',
    t: 1_767_312_000,
    ...extra,
  };
}

describe('sync contracts', () => {
  describe('topics and terminal ids', () => {
    it('builds and parses terminal topics', () => {
      expect(topics.events('gate-1')).toBe('passgate/v1/t/gate-1/events');
      expect(topics.ack('gate-1')).toBe('passgate/v1/t/gate-1/ack');
      expect(topics.sharedEvents).toBe('$share/central/passgate/v1/t/+/events');
      expect(parseTerminalTopic('passgate/v1/t/gate-1/events')).toEqual({
        terminalId: 'gate-1',
        leaf: 'events',
      });
      expect(parseTerminalTopic('passgate/v1/t/Gate-1/events')).toBeUndefined();
      expect(parseTerminalTopic('passgate/v1/t/gate-1/events/x')).toBeUndefined();
      expect(parseTerminalTopic('passgate/v2/t/gate-1/events')).toBeUndefined();
      expect(COMMANDS).toContain('resync');
    });

    it('assertTerminalId accepts lowercase ids and names the field otherwise', () => {
      expect(() => assertTerminalId('gate-1')).not.toThrow();
      expect(() => assertTerminalId('a'.repeat(63))).not.toThrow();
      for (const bad of ['', '-gate', 'Gate', 'gate/1', 'gate+', 'a'.repeat(64), 'gate 1'])
        expect(() => assertTerminalId(bad, 'terminal.id'), bad).toThrow(/terminal\.id/);
    });
  });

  describe('event batches', () => {
    const batch: EventBatch = {
      terminal: 'gate-1',
      fromSeq: 41,
      events: [
        entry(41),
        entry(42, { decision: 'deny', reason: 'stale' }),
        { seq: 43, kind: 'list_applied', at: AT, data: { type: 'revocation', version: 12, delta: true } },
      ],
    };

    it('round-trips (unix ms timestamps survive as integers)', () => {
      const opened = openBatch(signBatch(terminalKey, batch), pinnedTerminal, 'gate-1');
      expect(opened).toEqual(batch);
    });

    it('refuses a batch for another terminal than its topic', () => {
      expect(openBatch(signBatch(terminalKey, batch), pinnedTerminal, 'gate-2')).toMatch(/another terminal/);
    });

    it('refuses a gap in the seq run', () => {
      const gap = { ...batch, events: [entry(41), entry(43)] };
      expect(openBatch(signBatch(terminalKey, gap), pinnedTerminal, 'gate-1')).toMatch(/breaks the run/);
      const offset = { ...batch, fromSeq: 40 };
      expect(openBatch(signBatch(terminalKey, offset), pinnedTerminal, 'gate-1')).toMatch(/breaks the run/);
    });

    it('refuses a batch signed by another key, or altered after signing', () => {
      const other = generateKeyPair('EdDSA');
      expect(openBatch(signBatch(other, batch), pinnedTerminal, 'gate-1')).toMatch(/signature/);
      const s = parseSign1(signBatch(terminalKey, batch));
      const payload = new Uint8Array(s.payload);
      payload[payload.length - 1]! ^= 1;
      const altered = encodeCbor(new Tag([s.protectedBytes, new Map(), payload, s.signature], 18));
      expect(openBatch(altered, pinnedTerminal, 'gate-1')).toMatch(/signature/);
    });

    it('refuses empty and oversized batches, bad from_seq and malformed bytes', () => {
      expect(openBatch(signBatch(terminalKey, { ...batch, events: [] }), pinnedTerminal, 'gate-1')).toMatch(
        /1-500/,
      );
      const many = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => entry(1 + i));
      expect(
        openBatch(
          signBatch(terminalKey, { terminal: 'gate-1', fromSeq: 1, events: many }),
          pinnedTerminal,
          'gate-1',
        ),
      ).toMatch(/1-500/);
      expect(
        openBatch(
          signBatch(terminalKey, { ...batch, fromSeq: 0, events: [entry(0)] }),
          pinnedTerminal,
          'gate-1',
        ),
      ).toMatch(/from_seq/);
      expect(openBatch(fromHex('d28440'), pinnedTerminal, 'gate-1')).toMatch(/malformed batch/);
      expect(openBatch(fromHex('5bffffffffffffffff'), pinnedTerminal, 'gate-1')).toMatch(/malformed batch/);
    });

    it('refuses a signed batch holding an invalid event, naming it', () => {
      const payload = encodeCbor(
        new Map<string, unknown>([
          ['terminal', 'gate-1'],
          ['from_seq', 1],
          [
            'events',
            [
              encodeEvent(entry(1)),
              new Map<string, unknown>([
                ['seq', 2],
                ['kind', 'party'],
                ['at', 1],
              ]),
            ],
          ],
        ]),
      );
      const bytes = signSign1('EdDSA', terminalKey.secretKey, payload, keyId(terminalKey.publicKey));
      expect(openBatch(bytes, pinnedTerminal, 'gate-1')).toBe('event 1: event.kind is not a known kind');
    });
  });

  describe('readEvent validation', () => {
    const wire = (e: Map<string, unknown>): unknown => decodeCbor(encodeCbor(e));
    const base = (): Map<string, unknown> => encodeEvent(entry(7));

    it('accepts a full entry event', () => {
      expect(readEvent(wire(base()))).toEqual(entry(7));
    });

    it.each([
      ['seq', 0, /seq/],
      ['seq', -1, /seq/],
      ['seq', 'x', /seq/],
      ['at', 'now', /at/],
      ['kind', 'party', /kind/],
      ['decision', 'maybe', /decision/],
      ['reason', 'because', /reason/],
      ['cti', 'x'.repeat(129), /short text/],
      ['sub', 42, /short text/],
      ['direction', 'up', /direction/],
      ['t', 'soon', /event\.t/],
      ['data', 'x', /data/],
      ['data', new Map([[1, 'x']]), /keys must be text/],
      ['data', new Map([['item', new Uint8Array(2)]]), /data\.item/],
      ['data', new Map([['item', 'x'.repeat(129)]]), /data\.item/],
    ])('refuses %s = %s', (field, value, message) => {
      const m = base();
      m.set(field, value);
      expect(readEvent(wire(m))).toMatch(message);
    });

    it('refuses a non-map and a missing seq', () => {
      expect(readEvent([1])).toMatch(/map/);
      const m = base();
      m.delete('seq');
      expect(readEvent(wire(m))).toMatch(/seq/);
    });

    it('accepts small scalar data, including wide integers', () => {
      const e = {
        seq: 1,
        kind: 'loan' as const,
        at: AT,
        data: { item: 'b-1', due: AT + 1, renewals: 0, overdue: false },
      };
      const m = encodeEvent(e);
      m.set(
        'data',
        new Map<string, unknown>([
          ['item', 'b-1'],
          ['due', wideUint(AT + 1)],
          ['renewals', 0],
          ['overdue', false],
        ]),
      );
      expect(readEvent(wire(m))).toEqual(e);
    });
  });

  describe('acks and status', () => {
    const listKey = generateKeyPair('EdDSA');
    const pinnedList = new VerifyKey('EdDSA', listKey.publicKey);
    const otherKey = generateKeyPair('EdDSA');

    it('signAck/openAck round-trip, wide values included', () => {
      for (const seq of [0, 1, 500, 2 ** 32 + 5])
        expect(openAck(signAck(listKey, { terminal: 'gate-1', seq, t: AT }), pinnedList, 'gate-1')).toEqual({
          seq,
          t: AT,
        });
    });

    it('openAck refuses another terminal, another key, truncation and the old unsigned form', () => {
      const good = signAck(listKey, { terminal: 'gate-1', seq: 7, t: AT });
      expect(openAck(good, pinnedList, 'gate-2')).toBe('ack names another terminal');
      expect(openAck(signAck(otherKey, { terminal: 'gate-1', seq: 7, t: AT }), pinnedList, 'gate-1')).toMatch(
        /signature does not verify/,
      );
      expect(openAck(good.subarray(0, good.length - 3), pinnedList, 'gate-1')).toMatch(/^malformed ack/);
      expect(openAck(encodeCbor(new Map([['seq', 7]])), pinnedList, 'gate-1')).toMatch(/^malformed ack/);
      expect(openAck(new Uint8Array(0), pinnedList, 'gate-1')).toMatch(/^malformed ack/);
      // A command signed by the list key is not an ack (and the reverse).
      const cmd = signCommand(listKey, { terminal: 'gate-1', command: 'reload', id: 'ab'.repeat(8), t: AT });
      expect(openAck(cmd, pinnedList, 'gate-1')).toMatch(/not a ack message/);
      expect(openCommand(good, pinnedList, 'gate-1')).toMatch(/not a cmd message/);
      // A signed ack whose seq is not an integer.
      const bad = signSign1(
        'EdDSA',
        listKey.secretKey,
        encodeCbor(
          new Map<string, unknown>([
            ['type', 'ack'],
            ['terminal', 'gate-1'],
            ['seq', 'x'],
            ['t', wideUint(AT)],
          ]),
        ),
        keyId(listKey.publicKey),
      );
      expect(openAck(bad, pinnedList, 'gate-1')).toMatch(/seq and t must be unsigned integers/);
    });

    it('signCommand/openCommand round-trip and refusals', () => {
      const id = '0123456789abcdef';
      for (const command of COMMANDS)
        expect(
          openCommand(signCommand(listKey, { terminal: 'gate-1', command, id, t: AT }), pinnedList, 'gate-1'),
        ).toEqual({
          command,
          id,
          t: AT,
        });
      const good = signCommand(listKey, { terminal: 'gate-1', command: 'open_gate_once', id, t: AT });
      expect(openCommand(good, pinnedList, 'gate-2')).toBe('cmd names another terminal');
      expect(
        openCommand(
          signCommand(otherKey, { terminal: 'gate-1', command: 'open_gate_once', id, t: AT }),
          pinnedList,
          'gate-1',
        ),
      ).toMatch(/signature does not verify/);
      expect(openCommand(good.subarray(0, 20), pinnedList, 'gate-1')).toMatch(/^malformed cmd/);
      expect(openCommand(new TextEncoder().encode('open_gate_once'), pinnedList, 'gate-1')).toMatch(
        /^malformed cmd/,
      );
      expect(() =>
        signCommand(listKey, { terminal: 'gate-1', command: 'reload', id: 'nothex', t: AT }),
      ).toThrow(/^id:/);
      const unknown = signSign1(
        'EdDSA',
        listKey.secretKey,
        encodeCbor(
          new Map<string, unknown>([
            ['type', 'cmd'],
            ['terminal', 'gate-1'],
            ['command', 'explode'],
            ['id', id],
            ['t', wideUint(AT)],
          ]),
        ),
        keyId(listKey.publicKey),
      );
      expect(openCommand(unknown, pinnedList, 'gate-1')).toMatch(/not a known command/);
    });

    it('status round-trips and refuses junk', () => {
      const status = {
        state: 'online' as const,
        at: AT,
        role: 'gate',
        lists: { revocation: { version: 12, issuedAt: 1_767_225_600 } },
        outboxDepth: 3,
        lastSeq: 43,
        clock: 'trusted' as const,
        readers: { qr: 'ok' },
      };
      expect(readStatus(encodeStatus(status))).toEqual(status);
      expect(readStatus(encodeStatus({ state: 'offline', at: AT }))).toEqual({ state: 'offline', at: AT });
      expect(
        readStatus(
          encodeCbor(
            new Map<string, unknown>([
              ['state', 'sleeping'],
              ['at', 1],
            ]),
          ),
        ),
      ).toBeUndefined();
      expect(readStatus(fromHex('ff'))).toBeUndefined();
    });
  });

  describe('time beacons', () => {
    const listKey = generateKeyPair('EdDSA');
    const pinned = new VerifyKey('EdDSA', listKey.publicKey);

    it('sign → open round-trips with a unix-ms time', () => {
      expect(openBeacon(signBeacon(listKey, { t: AT, seq: 9 }), pinned)).toEqual({ t: AT, seq: 9 });
    });

    it('refuses another key, a non-beacon and junk, with a reason string', () => {
      expect(openBeacon(signBeacon(generateKeyPair('EdDSA'), { t: AT, seq: 1 }), pinned)).toMatch(
        /signature/,
      );
      const notBeacon = signSign1('EdDSA', listKey.secretKey, encodeCbor(new Map([['type', 'trust']])));
      expect(openBeacon(notBeacon, pinned)).toBe('not a time beacon');
      const badT = signSign1(
        'EdDSA',
        listKey.secretKey,
        encodeCbor(
          new Map<string, unknown>([
            ['type', 'time'],
            ['t', 'now'],
            ['seq', 1],
          ]),
        ),
      );
      expect(openBeacon(badT, pinned)).toMatch(/integers/);
      expect(openBeacon(fromHex('9bffffffffffffffff'), pinned)).toMatch(/malformed beacon/);
      expect(openBeacon(new Uint8Array(0), pinned)).toMatch(/malformed beacon/);
    });
  });
});

describe('events with wide integers', () => {
  it('round-trips 64-bit integers of either sign in data and t (a clock jump of months in ms)', () => {
    const key = generateKeyPair('EdDSA');
    const events: TerminalEvent[] = [
      { seq: 1, kind: 'clock_jump', at: 1_763_900_000_000, data: { jump_ms: 1_763_900_000_000 } },
      {
        seq: 2,
        kind: 'clock_jump' as const,
        at: 1_763_900_000_001,
        data: { jump_ms: -5_000_000_000, ok: true },
      },
      {
        seq: 3,
        kind: 'record_lost' as const,
        at: 1_763_900_000_002,
        t: 5_000_000_000,
        data: { recovered: true },
      },
    ];
    const opened = openBatch(
      signBatch(key, { terminal: 't1', fromSeq: 1, events }),
      new VerifyKey('EdDSA', key.publicKey),
      't1',
    );
    expect(opened).toEqual({ terminal: 't1', fromSeq: 1, events });
  });
});
