// Kiosks and central end to end (embedded aedes + SQLite): a full offline session reaching central exactly
// once with the right due dates, the member status converging back, and a two-kiosk conflict.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import {
  createPresentation,
  issueCredential,
  newSerial,
  toQrText,
  type Entitlement,
} from '../../shared/credential.js';
import { generateKeyPair } from '../../shared/keys.js';
import type { RunningTerminal } from '../../terminal/daemon.js';
import { bootTerminal, enrollTerminal } from '../../testkit/fleet.js';
import { waitFor } from '../../testkit/wait.js';
import { catalogue, POLICY } from './fixture.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const ISSUER = 'city-library-test';
let dir: string;
let central: Central;
const issuer = generateKeyPair('EdDSA');
const device = generateKeyPair('ES256');
const running: RunningTerminal[] = [];

function qr(sub: string, n: number, items?: string[]): string {
  const now = Math.floor(Date.now() / 1000);
  const ent: Entitlement[] = [{ k: 'library', v: 'main', n }];
  const credential = issueCredential(issuer, {
    iss: ISSUER,
    sub,
    iat: now - 60,
    nbf: now - 60,
    exp: now + 86_400,
    cti: newSerial(),
    devicePublicKey: device.publicKey,
    ent,
  });
  return toQrText(
    createPresentation({
      credential,
      deviceSecretKey: device.secretKey,
      t: now,
      ...(items ? { items } : {}),
    }),
  );
}

async function boot(configFile: string, online: boolean): Promise<RunningTerminal> {
  const t = await bootTerminal(configFile, logger, online);
  running.push(t);
  return t;
}
async function stop(t: RunningTerminal): Promise<void> {
  await t.stop();
  running.splice(running.indexOf(t), 1);
}

async function kiosk(id: string): Promise<string> {
  const configFile = await enrollTerminal(central, dir, {
    id,
    role: 'kiosk',
    gate: `${id}-desk`,
    requirement: { k: 'library', v: 'main' },
    label: id,
  });
  // First start online: the kiosk takes the trust, revocation and library lists, then goes offline.
  const t = await boot(configFile, true);
  await waitFor('library lists', () =>
    ['library', 'items', 'members'].every((l) => l in t.store.lists.versions()),
  );
  await stop(t);
  return configFile;
}

type Answer = {
  decision: string;
  reason: string;
  seq: number | null;
  kiosk?: { items?: Array<Record<string, unknown>> };
};
const say = async (t: RunningTerminal, line: string) => (await t.submit(line, 'test')) as Answer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-library-e2e-'));
  central = await startCentral({
    dataDir: dir,
    mqttPort: 0,
    httpPort: -1,
    logger,
    scryptCost: 10,
    beaconEveryMs: 500,
  });
  await central.trustIssuerKey({ alg: 'EdDSA', publicKey: issuer.publicKey, issuer: ISSUER });
  await central.library.setPolicy(POLICY);
  const items = catalogue();
  for (let i = 31; i <= 60; i++)
    items.push({ barcode: `b${String(i).padStart(3, '0')}`, type: 'book', loanable: true });
  await central.library.setItems(items);
  await central.library.setBlocked('m-blocked', true);
}, 60_000);

afterAll(async () => {
  for (const t of [...running]) await t.stop();
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('library kiosks and central', () => {
  it('a full offline session: 20 loans across 3 members, every reason, returns and a renewal reach central exactly once', async () => {
    const configFile = await kiosk('kiosk-a');
    const t = await boot(configFile, false);
    const shown = new Map<string, number>();
    const lend = async (line: string) => {
      const r = await say(t, line);
      for (const i of r.kiosk?.items ?? [])
        if (i.decision === 'accept' && i.action === 'loan') shown.set(i.item as string, i.due as number);
      return r;
    };
    // alice: limit 10 → 10 loans, then loan_limit; plus item_unknown, item_not_loanable (reference, on hold)
    expect(await say(t, qr('m-alice', 10))).toMatchObject({ decision: 'accept' });
    for (let i = 31; i <= 40; i++) expect(await lend(`item:b0${i}`)).toMatchObject({ decision: 'accept' });
    expect(await lend('item:b041')).toMatchObject({ reason: 'loan_limit' });
    expect(await lend('item:x-unknown')).toMatchObject({ reason: 'item_unknown' });
    expect(await lend('item:ref1')).toMatchObject({ reason: 'item_not_loanable' });
    expect(await lend('item:hold1')).toMatchObject({ reason: 'item_not_loanable' });
    await say(t, 'kiosk:done');
    // the blocked member is greeted, and refused every item
    await say(t, qr('m-blocked', 10));
    expect(await lend('item:b042')).toMatchObject({ reason: 'member_blocked' });
    // bob: 8 loans (one DVD), and alice's book is on loan
    await say(t, qr('m-bob', 10));
    for (const b of ['b042', 'b043', 'b044', 'b045', 'b046', 'b047', 'b048', 'd1'])
      expect(await lend(`item:${b}`)).toMatchObject({ decision: 'accept' });
    expect(await lend('item:b031')).toMatchObject({ reason: 'item_not_loanable' });
    await say(t, 'kiosk:done');
    // erin borrows two from her phone in one scan
    const phone = await lend(qr('m-erin', 3, ['b049', 'b050']));
    expect(phone.kiosk!.items!.map((i) => i.reason)).toEqual(['ok', 'ok']);
    // returns: two of alice's books; a renewal: bob renews one, the DVD cannot be renewed
    await say(t, 'kiosk:return');
    expect(await say(t, 'item:b031')).toMatchObject({ decision: 'accept' });
    expect(await say(t, 'item:b032')).toMatchObject({ decision: 'accept' });
    await say(t, 'kiosk:checkout');
    await say(t, qr('m-bob', 10));
    const renewal = await say(t, 'item:b042');
    expect(renewal.kiosk!.items![0]).toMatchObject({ action: 'renewal', decision: 'accept' });
    expect(await say(t, 'item:d1')).toMatchObject({ reason: 'renew_refused' });
    await say(t, 'kiosk:done');
    expect(shown.size).toBe(20);
    expect(await central.store.loans.loans({})).toEqual([]);
    const lastSeq = t.store.outbox.lastSeq;
    await stop(t);

    // Reconnect: the outbox drains, central's ledger holds every loan once.
    const online = await boot(configFile, true);
    await waitFor(
      'outbox drained',
      () => online.store.outbox.depth === 0 && online.store.outbox.ackedSeq >= lastSeq,
      20_000,
    );
    const loans = await central.store.loans.loans({ limit: 100 });
    expect(loans.length).toBe(20);
    expect(new Map(loans.map((l) => [l.item, l.due]))).toEqual(
      new Map(
        [...shown].map(([item, due]) => [
          item,
          item === 'b042' ? loans.find((l) => l.item === 'b042')!.due : due,
        ]),
      ),
    );
    const b042 = loans.find((l) => l.item === 'b042')!;
    expect(b042.renewals).toBe(1);
    expect(b042.due).toBe(renewal.kiosk!.items![0]!.due);
    expect(
      loans
        .filter((l) => l.state === 'returned')
        .map((l) => l.item)
        .sort(),
    ).toEqual(['b031', 'b032']);
    expect(await central.store.loans.conflicts()).toEqual([]);
    const open = await central.store.loans.loans({ sub: 'm-alice', openOnly: true });
    expect(open.length).toBe(8);
    // Redelivery changes nothing: reapplying the whole outbox history is a no-op.
    const events = await central.events('kiosk-a', 0, 1000);
    expect(await central.store.loans.applyLoanEvents('kiosk-a', events)).toEqual([]);
    expect((await central.store.loans.loans({ limit: 100 })).length).toBe(20);
    // Member status converges back: alice has 8 open loans in the kiosk's list.
    await waitFor(
      'member status back at the kiosk',
      () =>
        (online.store.connection
          .prepare("SELECT count(*) FROM library_member_loans WHERE sub = 'm-alice'")
          .pluck()
          .get() as number) === 8,
      10_000,
    );
    expect((await central.status()).library).toMatchObject({ open: 18, conflicts: 0 });
    await stop(online);
  }, 90_000);

  it('two kiosks offline: a double loan, a return before its loan, a limit across kiosks: detected, resolved, kept', async () => {
    const one = await kiosk('kiosk-b');
    const two = await kiosk('kiosk-c');
    const k1 = await boot(one, false);
    const k2 = await boot(two, false);
    // kiosk 1: frank (limit 2) borrows b052 and b054, hank borrows b051 and b055
    await say(k1, qr('m-frank', 2));
    expect(await say(k1, 'item:b052')).toMatchObject({ decision: 'accept' });
    expect(await say(k1, 'item:b054')).toMatchObject({ decision: 'accept' });
    await say(k1, qr('m-hank', 5));
    expect(await say(k1, 'item:b051')).toMatchObject({ decision: 'accept' });
    expect(await say(k1, 'item:b055')).toMatchObject({ decision: 'accept' });
    await say(k1, 'kiosk:done');
    // kiosk 2, later: gina borrows b051 too, frank borrows a third book, b055 comes back here
    await say(k2, qr('m-gina', 5));
    expect(await say(k2, 'item:b051')).toMatchObject({ decision: 'accept' });
    await say(k2, qr('m-frank', 2));
    expect(await say(k2, 'item:b053')).toMatchObject({ decision: 'accept' });
    await say(k2, 'kiosk:return');
    expect(await say(k2, 'item:b055')).toMatchObject({ decision: 'accept' });
    await stop(k1);
    await stop(k2);
    // kiosk 2 reaches central first: the return arrives before its loan
    const on2 = await boot(two, true);
    await waitFor('kiosk 2 drained', () => on2.store.outbox.depth === 0, 20_000);
    expect((await central.store.loans.conflicts({ unresolvedOnly: true })).map((c) => c.kind)).toEqual([
      'return_before_loan',
    ]);
    const on1 = await boot(one, true);
    await waitFor('kiosk 1 drained', () => on1.store.outbox.depth === 0, 20_000);
    const conflicts = await central.store.loans.conflicts();
    expect(conflicts.map((c) => [c.kind, c.resolution, c.resolved]).sort()).toEqual([
      ['double_loan', 'later_loan_kept', true],
      ['limit_exceeded', 'loan_kept', true],
      ['return_before_loan', 'matched', true],
    ]);
    const b051 = (await central.store.loans.loans({ limit: 100 })).filter((l) => l.item === 'b051');
    expect(b051.map((l) => [l.sub, l.state]).sort()).toEqual([
      ['m-gina', 'open'],
      ['m-hank', 'superseded'],
    ]);
    const b055 = (await central.store.loans.loans({ limit: 100 })).find((l) => l.item === 'b055')!;
    expect(b055).toMatchObject({ sub: 'm-hank', state: 'returned', returnTerminal: 'kiosk-c' });
    const frank = await central.store.loans.loans({ sub: 'm-frank', openOnly: true });
    expect(frank.map((l) => l.item).sort()).toEqual(['b052', 'b053', 'b054']);
    await stop(on1);
    await stop(on2);
  }, 90_000);
});
