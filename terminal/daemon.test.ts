// The daemon in-process: SyncPort, time beacons, fail-closed clock, full disk.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { signBeacon } from '../shared/beacon.js';
import { signList } from '../shared/lists.js';
import { makeFleet, type Fleet } from '../test/terminal/fixture.js';
import { loadConfig } from './config.js';
import { startTerminal, type RunningTerminal } from './daemon.js';
import { SqliteStore } from './store/sqlite.js';

const logger = pino({ level: 'silent' });

describe('startTerminal (in-process)', () => {
  let fleet: Fleet;
  let t: RunningTerminal | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    fleet?.cleanup();
  });

  async function start(
    overrides: Record<string, unknown> = {},
    before?: (s: SqliteStore) => void,
  ): Promise<RunningTerminal> {
    fleet = makeFleet(overrides);
    const config = loadConfig(fleet.configFile);
    if (before) {
      const s = new SqliteStore(fleet.dbFile);
      s.open();
      before(s);
      s.close();
    }
    t = await startTerminal(config, { logger, consoleOutput: false });
    for (const f of ['trust.cose', 'revocation.cose'])
      expect(t.port.applySignedList(new Uint8Array(readFileSync(`${fleet.listsDir}/${f}`)))).toMatchObject({
        outcome: 'applied',
      });
    return t;
  }

  it('implements SyncPort: lists, events, acks, status', async () => {
    const term = await start();
    const seen: number[] = [];
    const off = term.port.onEventCommitted((seq) => seen.push(seq));
    const r = await term.submit(fleet.qr(fleet.credential('m-1')));
    expect(r).toMatchObject({ decision: 'accept', seq: 3 }); // 1 and 2 are list_applied events
    expect(seen).toEqual([3]);
    off();
    const pending = term.port.pendingEvents(0, 10);
    expect(pending.map((e) => e.kind)).toEqual(['list_applied', 'list_applied', 'entry']);
    term.port.acknowledge(2);
    expect(term.port.pendingEvents(0, 10).map((e) => e.seq)).toEqual([3]);
    expect(term.port.status()).toMatchObject({
      state: 'online',
      role: 'turnstile',
      outboxDepth: 1,
      lastSeq: 3,
      clock: 'degraded',
    });
    // A redelivered list changes nothing; a forged one is refused.
    expect(
      term.port.applySignedList(new Uint8Array(readFileSync(`${fleet.listsDir}/trust.cose`))),
    ).toMatchObject({ outcome: 'already_applied' });
    const forged = signList(fleet.issuer, {
      type: 'revocation',
      version: 9,
      issuedAt: 1,
      snapshot: { serials: [], subjects: [] },
    });
    expect(term.port.applySignedList(forged)).toMatchObject({
      outcome: 'refused',
      code: 'list_bad_signature',
    });
  });

  it('time beacons make the clock trusted; replayed beacons are refused', async () => {
    const term = await start();
    expect(term.port.applyTimeBeacon(signBeacon(fleet.listKey, { t: Date.now(), seq: 1 }))).toBe(true);
    expect(term.report().clock).toBe('trusted');
    expect(term.port.applyTimeBeacon(signBeacon(fleet.listKey, { t: Date.now(), seq: 1 }))).toBe(false);
    expect(term.port.applyTimeBeacon(signBeacon(fleet.issuer, { t: Date.now(), seq: 2 }))).toBe(false);
  });

  it('fails closed on an untrusted clock (counter) until a beacon restores it', async () => {
    const future = Date.now() + 86_400_000;
    const term = await start({ role: 'counter', requirement: { k: 'venue' } }, (s) =>
      s.clock.save({ lastEventAt: future, lastGoodMs: future }),
    );
    expect(term.report()).toMatchObject({ clock: 'untrusted', healthy: false });
    const health = await fetch(`http://127.0.0.1:${term.httpPort}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { problems: string[] }).problems).toContain('clock_untrusted');
    expect(await term.submit(fleet.qr(fleet.credential('m-2')))).toMatchObject({ decision: 'deny' });
    // The event time never goes back past the last committed event.
    expect(term.port.pendingEvents(0, 10).every((e) => e.at >= future)).toBe(true);
    expect(term.port.applyTimeBeacon(signBeacon(fleet.listKey, { t: future + 1000, seq: 1 }))).toBe(true);
    expect(term.report().clock).toBe('trusted');
    // A newer signed beacon may move the clock back past the last event (a clock that had jumped ahead);
    // the jump is recorded as a clock_jump event.
    expect(term.port.applyTimeBeacon(signBeacon(fleet.listKey, { t: Date.now(), seq: 2 }))).toBe(true);
    expect(term.report().clock).toBe('trusted');
    const jump = term.port.pendingEvents(0, 100).find((e) => e.kind === 'clock_jump');
    expect(Number(jump?.data?.jump_ms)).toBeLessThan(-86_000_000);
    expect(await term.submit(fleet.qr(fleet.credential('m-3')))).toMatchObject({ decision: 'accept' });
  });

  it('denies with storage_failure when the disk is full and reports it on /healthz', async () => {
    const term = await start({ antiPassbackSeconds: 0 });
    term.store.maintenance.limitGrowth(0);
    const creds = Array.from({ length: 5 }, (_, i) => fleet.credential(`m-${i}`));
    let failure;
    for (let i = 0; i < 2000 && !failure; i++) {
      const r = await term.submit(fleet.qr(creds[i % 5]!));
      if ('reason' in r && r.reason === 'storage_failure') failure = r;
      else expect(r).toMatchObject({ decision: 'accept' });
    }
    expect(failure).toEqual({ decision: 'deny', reason: 'storage_failure', seq: null });
    expect((await fetch(`http://127.0.0.1:${term.httpPort}/healthz`)).status).toBe(503);
    const metrics = await (await fetch(`http://127.0.0.1:${term.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/passgate_storage_failures_total [1-9]/);
  });
});
