// The kiosk flow in-process on a real SQLite store: identification, every item reason, renewals, return
// mode, phone checkout, and what the outbox holds afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTerminal } from '../../terminal/daemon.js';
import { createPresentation, toQrText } from '../../shared/credential.js';
import { makeLibraryFleet, type LibraryFleet } from './fixture.js';

type Answer = Record<string, unknown> & {
  kiosk?: { items?: Array<Record<string, unknown>>; state?: string };
};

describe('library kiosk', () => {
  let fleet: LibraryFleet;
  let t: RunningTerminal;
  const send = async (line: string) => (await t.submit(line, 'test')) as Answer;

  beforeAll(async () => {
    fleet = makeLibraryFleet();
    fleet.writeLists();
    fleet.loadLists();
    t = await fleet.start();
  });
  afterAll(async () => {
    await t?.stop();
    fleet?.cleanup();
  });

  const member = (sub: string, n?: number) =>
    fleet.credential(sub, [{ k: 'library', v: 'main', ...(n !== undefined ? { n } : {}) }]);

  it('refuses items before identification and credentials without a library entitlement', async () => {
    expect(await send('item:b001')).toMatchObject({ decision: 'deny', reason: 'identify_first' });
    expect(await send(fleet.qr(fleet.credential('m-zoo')))).toMatchObject({
      decision: 'deny',
      reason: 'not_entitled',
    });
    expect(await send(fleet.qr(fleet.credential('m-x', [{ k: 'library', v: 'east' }])))).toMatchObject({
      reason: 'not_entitled',
    });
    expect(await send('card:04deadbeef0001')).toMatchObject({ decision: 'deny', reason: 'card_unknown' });
  });

  it('lends with a due date per item type, and gives every refusal its reason', async () => {
    expect(await send(fleet.qr(member('m-alice', 3)))).toMatchObject({
      decision: 'accept',
      kiosk: { state: 'session', member: 'm-alice' },
    });
    const b1 = await send('item:b001');
    expect(b1).toMatchObject({ decision: 'accept', reason: 'ok' });
    const due = b1.kiosk!.items![0]!.due as number;
    const day = 86_400_000;
    expect(Math.floor(due / day) - Math.floor(Date.now() / day)).toBe(21);
    const dvd = await send('item:d1');
    expect(Math.floor((dvd.kiosk!.items![0]!.due as number) / day) - Math.floor(Date.now() / day)).toBe(7);
    expect(await send('item:nope')).toMatchObject({ decision: 'deny', reason: 'item_unknown' });
    expect((await send('item:ref1')).kiosk!.items![0]).toMatchObject({
      reason: 'item_not_loanable',
      why: 'reference',
    });
    expect((await send('item:hold1')).kiosk!.items![0]).toMatchObject({
      reason: 'item_not_loanable',
      why: 'on_hold',
    });
    expect((await send('item:b030')).kiosk!.items![0]).toMatchObject({
      reason: 'item_not_loanable',
      why: 'on_loan',
    });
    expect(await send('item:b002')).toMatchObject({ decision: 'accept' });
    expect(await send('item:b003')).toMatchObject({ decision: 'deny', reason: 'loan_limit' });
    // a second scan of the same item in one session is the same answer, not a renewal
    expect(await send('item:b001')).toMatchObject({ decision: 'accept', seq: b1.seq });
    expect(await send('kiosk:done')).toMatchObject({ kiosk: { state: 'receipt' } });
    expect(t.kiosk!.view().receipt!.lines.map((l) => l.item)).toEqual(['b001', 'd1', 'b002']);
  });

  it('refuses a blocked member every item, and renews by scanning a held item again', async () => {
    await send(fleet.qr(member('m-blocked')));
    expect(await send('item:b004')).toMatchObject({ reason: 'member_blocked' });
    // carol holds b030 with 2 of 2 renewals used; the kiosk renews books, never DVDs
    await send(fleet.qr(member('m-carol')));
    expect((await send('item:b030')).kiosk!.items![0]).toMatchObject({
      reason: 'renew_refused',
      why: 'max_renewals',
    });
    expect(await send('item:hold1')).toMatchObject({ decision: 'accept' });
    // alice comes back (card-less QR) to renew b001, and the DVD cannot be renewed
    await send(fleet.qr(member('m-alice', 3)));
    const renewed = await send('item:b001');
    expect(renewed.kiosk!.items![0]).toMatchObject({ action: 'renewal', decision: 'accept' });
    expect((await send('item:d1')).kiosk!.items![0]).toMatchObject({
      reason: 'renew_refused',
      why: 'not_renewable',
    });
    await send('kiosk:done');
  });

  it('identifies by a bound card; records returns without a member', async () => {
    expect(await send('card:04c0ffee')).toMatchObject({ decision: 'accept', kiosk: { member: 'm-dave' } });
    expect(await send('item:b010')).toMatchObject({ decision: 'accept' });
    await send('kiosk:return');
    expect(await send('item:b010')).toMatchObject({ decision: 'accept', reason: 'ok' });
    expect(await send('item:b002')).toMatchObject({ decision: 'accept' });
    expect(await send('item:zzz')).toMatchObject({ decision: 'deny', reason: 'item_unknown' });
    await send('kiosk:checkout');
    // b002 came back, so alice may borrow again
    await send(fleet.qr(member('m-alice', 3)));
    expect(await send('item:b003')).toMatchObject({ decision: 'accept' });
    await send('kiosk:done');
  });

  it('lends every item of a phone checkout from one scan, each with its own decision, once', async () => {
    const qr = toQrText(
      createPresentation({
        credential: member('m-erin', 8),
        deviceSecretKey: fleet.device.secretKey,
        t: Math.floor(Date.now() / 1000),
        items: ['b020', 'b021', 'ref1', 'b022'],
      }),
    );
    const r = await send(qr);
    expect(r.kiosk!.items!.map((i) => [i.item, i.reason])).toEqual([
      ['b020', 'ok'],
      ['b021', 'ok'],
      ['ref1', 'item_not_loanable'],
      ['b022', 'ok'],
    ]);
    // the same code again is a replay, not three renewals
    expect(await send(qr)).toMatchObject({ decision: 'deny', reason: 'replayed' });
  });

  it('left one event per decision in the outbox, loans with the member and due date', () => {
    const events = t.store.outbox.pendingEvents(0, 1000).filter((e) => e.kind !== 'list_applied');
    const loans = events.filter((e) => e.kind === 'loan' && e.decision === 'accept');
    expect(loans.map((e) => e.data!.item)).toEqual([
      'b001',
      'd1',
      'b002',
      'hold1',
      'b010',
      'b003',
      'b020',
      'b021',
      'b022',
    ]);
    expect(loans.every((e) => typeof e.data!.due === 'number' && e.sub)).toBe(true);
    expect(events.filter((e) => e.kind === 'renewal').map((e) => e.data!.item)).toEqual(['b001']);
    expect(events.filter((e) => e.kind === 'renewal_denied').map((e) => e.data!.why)).toEqual([
      'max_renewals',
      'not_renewable',
    ]);
    expect(
      events.filter((e) => e.kind === 'return').map((e) => [e.data!.item, e.sub ?? null, e.reason]),
    ).toEqual([
      ['b010', 'm-dave', 'ok'],
      ['b002', 'm-alice', 'ok'],
      ['zzz', null, 'item_unknown'],
    ]);
  });
});
