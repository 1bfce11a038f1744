// The day's loans, renewals and returns exported from central as a Koha .koc file, checked line by line,
// through the admin API (GET /library/koc, bearer token), in the library's time zone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { dayRange, kocTimestamp } from '../../central/loans/koc.js';
import type { TerminalEvent } from '../../shared/events.js';

let dir: string;
let central: Central;
const TOKEN = 'koc-test-token-0123456789abcdef';
// 2026-03-10 09:15:30.250 in Taipei (UTC+8) is 01:15:30.250 UTC.
const T = Date.UTC(2026, 2, 10, 1, 15, 30, 250);
const MIN = 60_000;

const ev = (seq: number, kind: TerminalEvent['kind'], at: number, item: string, sub?: string, data = {}) =>
  ({
    seq,
    kind,
    at,
    decision: 'accept',
    reason: 'ok',
    ...(sub ? { sub } : {}),
    data: { item, ...data },
  }) as TerminalEvent;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-koc-'));
  central = await startCentral({
    dataDir: dir,
    mqttPort: 0,
    httpPort: 0,
    logger: pino({ level: 'silent' }),
    scryptCost: 10,
    adminToken: TOKEN,
  });
  await central.store.loans.applyLoanEvents('kiosk-1', [
    ev(1, 'loan', T, '31234000000001', 'm-alice', { due: T + 21 * 1440 * MIN }),
    ev(2, 'loan', T + MIN, '31234000000002', 'm-alice', { due: T + 21 * 1440 * MIN }),
    {
      seq: 3,
      kind: 'loan',
      at: T + 2 * MIN,
      decision: 'deny',
      reason: 'loan_limit',
      sub: 'm-alice',
      data: { item: '31234000000003' },
    },
    ev(4, 'return', T + 30 * MIN, '31234000000001', 'm-alice'),
    ev(5, 'renewal', T + 40 * MIN, '31234000000002', 'm-alice', { due: T + 40 * 1440 * MIN, renewals: 1 }),
    // the next day in Taipei: not in this export
    ev(6, 'loan', T + 16 * 60 * MIN, '31234000000009', 'm-bob', { due: T + 40 * 1440 * MIN }),
  ]);
  // the day before (Taipei): a loan returned today
  await central.store.loans.applyLoanEvents('kiosk-2', [
    ev(1, 'loan', T - 1440 * MIN, '31234000000005', 'm-carol'),
  ]);
  await central.store.loans.applyLoanEvents('kiosk-1', [ev(7, 'return', T + 50 * MIN, '31234000000005')]);
}, 60_000);

afterAll(async () => {
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Koha .koc export', () => {
  it('formats timestamps as Koha reads them (date, time, milliseconds) in the library time zone', () => {
    expect(kocTimestamp(T, 'Asia/Taipei')).toBe('2026-03-10 09:15:30 250');
    expect(kocTimestamp(T, 'UTC')).toBe('2026-03-10 01:15:30 250');
    expect(dayRange('2026-03-10', 'Asia/Taipei')).toEqual([
      Date.UTC(2026, 2, 9, 16),
      Date.UTC(2026, 2, 10, 16),
    ]);
    expect(() => dayRange('10/03/2026')).toThrow(/YYYY-MM-DD/);
  });

  it('exports the day line by line: header, issues, renewal as issue, returns, in time order', async () => {
    const res = await fetch(
      `http://127.0.0.1:${central.httpPort}/library/koc?day=2026-03-10&tz=Asia/Taipei`,
      {
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    );
    expect(res.status).toBe(200);
    const lines = (await res.text()).split('\n');
    expect(lines).toEqual([
      'Version=1.0\tGenerator=passgate\tGeneratorVersion=1.0',
      '2026-03-10 09:15:30 250\tissue\tm-alice\t31234000000001',
      '2026-03-10 09:16:30 250\tissue\tm-alice\t31234000000002',
      '2026-03-10 09:45:30 250\treturn\t31234000000001',
      '2026-03-10 09:55:30 250\tissue\tm-alice\t31234000000002',
      '2026-03-10 10:05:30 250\treturn\t31234000000005',
      '',
    ]);
  });

  it('refuses a bad day or zone (400) and anyone without the token (401)', async () => {
    const get = (q: string, auth = true) =>
      fetch(
        `http://127.0.0.1:${central.httpPort}/library/koc?${q}`,
        auth ? { headers: { authorization: `Bearer ${TOKEN}` } } : {},
      );
    expect((await get('day=yesterday')).status).toBe(400);
    expect((await get('day=2026-03-10&tz=Mars/Olympus')).status).toBe(400);
    expect((await get('day=2026-03-10', false)).status).toBe(401);
    const conflicts = await fetch(`http://127.0.0.1:${central.httpPort}/library/conflicts`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await conflicts.json()).toEqual([]);
  });

  it('lets staff set the policy, the catalogue and a block over the admin API, checked like the lists', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${central.httpPort}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const policy = await post('/library/policy', {
      limit: 5,
      branch: 'main',
      types: { book: { days: 21, renewals: 2 } },
    });
    expect(await policy.json()).toEqual({ version: 1 });
    expect(
      (await post('/library/policy', { limit: 5, types: { book: { days: 0, renewals: 2 } } })).status,
    ).toBe(400);
    const items = await post('/library/items', {
      upsert: [
        { barcode: '31234000000001', type: 'book', loanable: true },
        { barcode: 'ref-1', type: 'book', loanable: false, holdFor: 'm-x' },
      ],
    });
    expect(await items.json()).toEqual({ version: 1 });
    const bad = await post('/library/items', {
      upsert: [{ barcode: 'has space', type: 'book', loanable: true }],
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/barcode/);
    expect((await post('/library/block', { sub: 'm-alice', blocked: true })).status).toBe(200);
    expect((await post('/library/block', { sub: 'm-alice', blocked: 'yes' })).status).toBe(400);
    expect((await central.library.report()).lists).toEqual({ library: 1, items: 1, members: 1 });
  });
});
