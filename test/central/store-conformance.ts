// The one suite every CentralStore implementation passes (SQLite and PostgreSQL).
import { describe, expect, it } from 'vitest';
import type { CentralStore, NewTerminal } from '../../central/store/types.js';
import type { TerminalEvent } from '../../shared/events.js';

const ev = (seq: number): TerminalEvent => ({
  seq,
  kind: 'entry',
  at: 1_700_000_000_000 + seq,
  decision: 'accept',
  reason: 'ok',
  sub: 'p-1',
  data: { n: seq, flag: true },
});
const run = (from: number, to: number): TerminalEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ev(from + i));

const terminal = (id: string): NewTerminal => ({
  id,
  role: 'gate',
  alg: 'EdDSA',
  publicKey: new Uint8Array(32).fill(7),
  secretHash: 'scrypt$10$x$y',
  mosquittoHash: '$7$101$a$b',
  createdAt: 1,
});

export function storeConformance(name: string, open: () => Promise<CentralStore | undefined>): void {
  describe(`CentralStore conformance: ${name}`, () => {
    const withStore = (fn: (s: CentralStore) => Promise<void>) => async () => {
      const s = await open();
      if (!s) return;
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    };

    it(
      'adds terminals, refuses a duplicate id, and records status',
      withStore(async (s) => {
        await s.addTerminal(terminal('gate-1'));
        await expect(s.addTerminal(terminal('gate-1'))).rejects.toThrow();
        const t = await s.terminal('gate-1');
        expect(t?.publicKey).toEqual(new Uint8Array(32).fill(7));
        expect(t?.ackedSeq).toBe(0);
        await s.recordStatus('gate-1', { state: 'online', at: 5, outboxDepth: 3, clock: 'trusted' }, 6);
        const again = await s.terminal('gate-1');
        expect(again?.status).toMatchObject({ state: 'online', outboxDepth: 3 });
        expect(again?.lastSeen).toBe(6);
        expect((await s.terminals()).map((x) => x.id)).toEqual(['gate-1']);
        expect(await s.terminal('nope')).toBeUndefined();
      }),
    );

    it(
      'commits batches once, acks the highest contiguous seq, holds gaps until filled',
      withStore(async (s) => {
        await s.addTerminal(terminal('t1'));
        expect(await s.commitBatch('t1', run(1, 10), 1)).toEqual({ acked: 10, inserted: 10 });
        // duplicate redelivery: nothing new, same ack
        expect(await s.commitBatch('t1', run(1, 10), 1)).toEqual({ acked: 10, inserted: 0 });
        // overlapping batch
        expect(await s.commitBatch('t1', run(8, 15), 1)).toEqual({ acked: 15, inserted: 5 });
        // a gap: 21-25 arrives before 16-20
        expect(await s.commitBatch('t1', run(21, 25), 1)).toEqual({ acked: 15, inserted: 5 });
        expect(await s.commitBatch('t1', run(16, 20), 1)).toEqual({ acked: 25, inserted: 5 });
        expect(await s.eventCount('t1')).toBe(25);
        expect(await s.eventCount()).toBe(25);
        const back = await s.events('t1', 20, 3);
        expect(back).toEqual([ev(21), ev(22), ev(23)]);
        expect((await s.terminal('t1'))?.ackedSeq).toBe(25);
        await expect(s.commitBatch('ghost', run(1, 1), 1)).rejects.toThrow(/unknown terminal/);
      }),
    );

    it(
      'versions list changes and returns cumulative changes since a base',
      withStore(async (s) => {
        expect(await s.listState('revocation')).toEqual({ version: 0, snapshotVersion: 0, snapshotAt: 0 });
        const v1 = await s.changeList('revocation', []);
        expect(v1).toBe(1);
        await s.markSnapshot('revocation', 1, 100);
        const v2 = await s.changeList('revocation', [{ kind: 'serial', key: 'aa', state: 'add' }]);
        const v3 = await s.changeList('revocation', [
          { kind: 'subject', key: 'p-9', state: 'add' },
          { kind: 'serial', key: 'aa', state: 'remove' },
        ]);
        expect([v2, v3]).toEqual([2, 3]);
        expect(await s.listState('revocation')).toEqual({ version: 3, snapshotVersion: 1, snapshotAt: 100 });
        const since1 = await s.listElements('revocation', 1);
        expect(since1.version).toBe(3);
        expect(since1.elements).toEqual([
          { kind: 'serial', key: 'aa', state: 'remove', version: 3 },
          { kind: 'subject', key: 'p-9', state: 'add', version: 3 },
        ]);
        expect((await s.listElements('revocation', 3)).elements).toEqual([]);
        await s.changeList('trust', [{ kind: 'key', key: '0102', state: 'add', data: '{"x":1}' }]);
        expect((await s.listElements('trust', 0)).elements).toEqual([
          { kind: 'key', key: '0102', state: 'add', data: '{"x":1}', version: 1 },
        ]);
        // an older snapshot mark never moves the mark back
        await s.markSnapshot('revocation', 3, 200);
        await s.markSnapshot('revocation', 2, 300);
        expect((await s.listState('revocation')).snapshotVersion).toBe(3);
      }),
    );

    it(
      'uses an enrollment code once and only before it expires',
      withStore(async (s) => {
        await s.addEnrollmentCode('h1', { terminal: 'gate-2', role: 'gate' }, 1000);
        await s.addEnrollmentCode('h2', { terminal: 'gate-3', role: 'kiosk' }, 1000);
        expect(await s.useEnrollmentCode('h1', 10)).toEqual({ terminal: 'gate-2', role: 'gate' });
        expect(await s.useEnrollmentCode('h1', 11)).toBeUndefined();
        expect(await s.useEnrollmentCode('h2', 1000)).toBeUndefined();
        expect(await s.useEnrollmentCode('nope', 1)).toBeUndefined();
      }),
    );

    it(
      'keeps a loans ledger: each event once, returns, renewals, conflicts by the documented rules',
      withStore(async (s) => {
        const day = 86_400_000;
        const T = 1_800_000_000_000;
        const loan = (seq: number, item: string, sub: string, at: number, limit = 2): TerminalEvent => ({
          seq,
          kind: 'loan',
          at,
          decision: 'accept',
          reason: 'ok',
          sub,
          data: { item, due: at + 21 * day, limit },
        });
        const k1 = [
          loan(1, 'i1', 'm-a', T),
          loan(2, 'i2', 'm-a', T + 1),
          {
            seq: 3,
            kind: 'loan',
            at: T + 2,
            decision: 'deny',
            reason: 'loan_limit',
            sub: 'm-a',
            data: { item: 'i3' },
          },
          {
            seq: 4,
            kind: 'renewal',
            at: T + 5 * day,
            decision: 'accept',
            reason: 'ok',
            sub: 'm-a',
            data: { item: 'i1', due: T + 30 * day, renewals: 1 },
          },
        ] as TerminalEvent[];
        expect((await s.loans.applyLoanEvents('k1', k1)).sort()).toEqual(['m-a']);
        // redelivery: nothing changes
        expect(await s.loans.applyLoanEvents('k1', k1)).toEqual([]);
        expect(
          (await s.loans.loans({ sub: 'm-a', openOnly: true })).map((l) => [l.item, l.due, l.renewals]),
        ).toEqual([
          ['i2', T + 1 + 21 * day, 0],
          ['i1', T + 30 * day, 1],
        ]);
        // kiosk 2: returns i9 whose loan it never saw, lends i2 later to m-b, lends i4 to m-a (2 open > its limit 1)
        const k2 = [
          { seq: 1, kind: 'return', at: T + 3 * day, decision: 'accept', reason: 'ok', data: { item: 'i9' } },
          loan(2, 'i2', 'm-b', T + 2 * day),
          loan(3, 'i4', 'm-a', T + 2 * day, 1),
        ] as TerminalEvent[];
        await s.loans.applyLoanEvents('k2', k2);
        expect((await s.loans.conflicts({ unresolvedOnly: true })).map((c) => c.kind)).toEqual([
          'return_before_loan',
        ]);
        // the loan of i9 arrives: the waiting return closes it
        await s.loans.applyLoanEvents('k1', [loan(5, 'i9', 'm-c', T + day)]);
        const conflicts = await s.loans.conflicts();
        expect(conflicts.map((c) => [c.kind, c.resolution, c.resolved])).toEqual([
          ['double_loan', 'later_loan_kept', true],
          ['limit_exceeded', 'loan_kept', true],
          ['return_before_loan', 'matched', true],
        ]);
        const all = await s.loans.loans({});
        expect(all.find((l) => l.item === 'i9')).toMatchObject({
          state: 'returned',
          returnTerminal: 'k2',
          returnSeq: 1,
        });
        expect(all.filter((l) => l.item === 'i2').map((l) => [l.sub, l.state])).toEqual([
          ['m-b', 'open'],
          ['m-a', 'superseded'],
        ]);
        expect((await s.loans.openLoans(['m-a'])).map((l) => l.item)).toEqual(['i1', 'i4']);
        expect((await s.loans.activity(T + day, T + 2 * day + 1)).map((l) => l.item)).toEqual([
          'i9',
          'i2',
          'i4',
        ]);
        expect(await s.loans.summary(T + 25 * day)).toEqual({
          open: 3,
          overdue: 2,
          conflicts: 3,
          unresolved: 0,
        });
        await s.loans.setBlocked('m-a', true, 1);
        await s.loans.setBlocked('m-z', true, 1);
        await s.loans.setBlocked('m-z', false, 2);
        expect(await s.loans.blockedMembers()).toEqual(['m-a']);
      }),
    );
  });
}
