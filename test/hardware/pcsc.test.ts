// PC/SC through the real stack: pcscd + vpcd's virtual reader + a virtual card on vpcd's socket, read by
// a real daemon process whose nfc-pcsc lives in a watched child process. Proves: no pcscd at start →
// QR decisions work and the reader input is `absent`; pcscd started → the reader appears by itself; card
// decisions go through the same policy as codes (bound and entitled, bound but not entitled, blocked,
// suspended member, unknown); pcscd killed → the input is not ok while codes are still decided → pcscd
// back → it recovers by itself. Transitions are committed as reader_fault events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  LineClient,
  makeFleet,
  loadLists,
  startDaemon,
  type Daemon,
  type Fleet,
} from '../terminal/fixture.js';
import {
  Pcscd,
  pcscComponentsPresent,
  pcscdRunningElsewhere,
  VirtualCard,
  waitFor,
} from '../../testkit/hardware.js';
import { devices, healthz, outbox, type OutboxEvent } from '../../testkit/daemon-probe.js';

const present = pcscComponentsPresent();
const READER = 'Virtual PCD 00 00';

describe.skipIf(!present)('PC/SC input through pcscd + vpcd (real processes)', () => {
  let fleet: Fleet;
  let daemon: Daemon | undefined;
  let client: LineClient | undefined;
  const pcscd = new Pcscd();

  beforeAll(async () => {
    if (pcscdRunningElsewhere())
      throw new Error('a pcscd is already running: this test needs to start it itself');
    ensureBuilt();
    fleet = makeFleet(
      {
        inputs: [
          { type: 'tcp', port: 0, repeatIgnoreMs: 0 },
          { type: 'pcsc', name: 'reader', reader: READER, direction: 'in', watchdogMs: 5000 },
        ],
      },
      {
        cards: [
          { uid: '04A1B2C3', sub: 'm-zoo' },
          { uid: '04B1B2C3', sub: 'm-library', ent: [{ k: 'library', v: 'central' }] },
          { uid: '04FFFFFF', sub: 'm-lost', blocked: true },
          { uid: '04C1C2C3', sub: 'm-suspended' },
          { uid: '04E1E2E3E4E5E6', sub: 'm-expired', exp: Math.floor(Date.now() / 1000) - 60 },
        ],
      },
    );
    loadLists(fleet);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    if (daemon) {
      daemon.proc.kill('SIGTERM');
      await daemon.exited;
    }
    await pcscd.stop();
    fleet?.cleanup();
  });

  const cardEvents = (): OutboxEvent[] => outbox(fleet.dbFile).filter((e) => e.kind === 'card_tap');

  async function tap(uid: string): Promise<OutboxEvent> {
    const before = cardEvents().length;
    const card = new VirtualCard(uid);
    await card.insert();
    try {
      await waitFor(`a decision for card ${uid}`, () => cardEvents().length > before, 45_000);
      expect(card.apdus).toContain('ffca000000');
    } finally {
      await card.remove();
    }
    return cardEvents()[before]!;
  }

  it('runs without pcscd: QR codes are decided and the reader input is absent', async () => {
    daemon = await startDaemon(fleet.configFile);
    client = await LineClient.connect(daemon.tcpPort);
    expect(await client.send(fleet.qr(fleet.credential('m-qr-1')))).toMatchObject({ decision: 'accept' });
    await waitFor(
      'reader absent because pcscd is not running',
      async () => /^pcscd_not_running/.test((await devices(daemon!.httpPort)).reader?.reason ?? ''),
      30_000,
    );
    expect((await devices(daemon.httpPort)).reader?.state).toBe('absent');
    const h = await healthz(daemon.httpPort);
    expect(h.status).toBe(200); // the TCP input still works
    expect(JSON.stringify(h.body.warnings)).toContain('device_absent: input reader (pcsc)');
    const metrics = await (await fetch(`http://127.0.0.1:${daemon.httpPort}/metrics`)).text();
    expect(metrics).toContain(
      'passgate_device_health{device="reader",kind="input",type="pcsc",state="absent"} 1',
    );
    await waitFor(
      'a reader_fault event for the absent reader',
      () => outbox(fleet.dbFile).some((e) => e.kind === 'reader_fault' && e.data?.state === 'absent'),
      30_000,
    );
  }, 120_000);

  it('sees the reader by itself once pcscd starts', async () => {
    await pcscd.start();
    await waitFor('reader ok', async () => (await devices(daemon!.httpPort)).reader?.state === 'ok', 60_000);
    const d = await devices(daemon!.httpPort);
    expect(d[`reader/${READER}`]).toMatchObject({ state: 'ok' });
    expect(d['reader/Virtual PCD 00 01']).toBeUndefined(); // filtered by the reader name
    await waitFor(
      'a reader_fault event for the recovery',
      () => outbox(fleet.dbFile).some((e) => e.kind === 'reader_fault' && e.data?.state === 'ok'),
      30_000,
    );
  }, 120_000);

  it('decides cards through the same policy as codes, with the right reason', async () => {
    expect(await tap('04A1B2C3')).toMatchObject({
      decision: 'accept',
      reason: 'ok',
      sub: 'm-zoo',
      direction: 'in',
    });
    expect(await tap('04B1B2C3')).toMatchObject({
      decision: 'deny',
      reason: 'not_entitled',
      sub: 'm-library',
    });
    expect(await tap('04FFFFFF')).toMatchObject({ decision: 'deny', reason: 'card_blocked' });
    expect(await tap('04C1C2C3')).toMatchObject({ decision: 'deny', reason: 'member_suspended' });
    expect(await tap('04E1E2E3E4E5E6')).toMatchObject({ decision: 'deny', reason: 'cert_expired' });
    const unknown = await tap('04D1D2D3D4D5D6');
    expect(unknown).toMatchObject({ decision: 'deny', reason: 'card_unknown' });
    // Never a raw UID in an event: only a prefix of the keyed hash.
    const all = JSON.stringify(outbox(fleet.dbFile)).toLowerCase();
    for (const uid of ['04a1b2c3', '04d1d2d3d4d5d6']) expect(all).not.toContain(uid);
  }, 300_000);

  it('reports a fault when pcscd is killed, keeps deciding codes, and recovers when it is back', async () => {
    await pcscd.stop('SIGKILL');
    await waitFor(
      'reader not ok',
      async () => (await devices(daemon!.httpPort)).reader?.state !== 'ok',
      60_000,
    );
    const during = await devices(daemon!.httpPort);
    expect(['fault', 'absent']).toContain(during.reader?.state);
    // The event loop is free while the PC/SC side is broken.
    for (let i = 0; i < 5; i++)
      expect(await client!.send(fleet.qr(fleet.credential(`m-during-${i}`)))).toMatchObject({
        decision: 'accept',
      });
    await pcscd.start();
    await waitFor(
      'reader ok again',
      async () => (await devices(daemon!.httpPort)).reader?.state === 'ok',
      90_000,
    );
    expect(await tap('04B1B2C3')).toMatchObject({ decision: 'deny', reason: 'not_entitled' });
    const faults = outbox(fleet.dbFile)
      .filter((e) => e.kind === 'reader_fault')
      .map((e) => e.data?.state);
    expect(faults).toEqual(expect.arrayContaining(['absent', 'ok']));
    expect(faults.filter((s) => s === 'ok').length).toBeGreaterThanOrEqual(2);
    expect(daemon!.stderr()).not.toMatch(/04b1b2c3/i);
  }, 240_000);
});
