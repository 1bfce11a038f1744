// Serial devices through real ptys (socat): a scanner writes lines (codes, an over-long line, binary
// garbage, a code split over several writes) into a real daemon process, and a relay board on another
// pty records the command bytes, checked byte for byte. Both ports are closed and re-created while the
// daemon runs: it reports them gone and picks them up again by itself.
import type { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  ensureBuilt,
  loadLists,
  makeFleet,
  startDaemon,
  type Daemon,
  type Fleet,
} from '../terminal/fixture.js';
import { closePeer, openPeer, PtyPair, socatPresent, waitFor, writeTo } from '../../testkit/hardware.js';
import { devices, outbox } from '../../testkit/daemon-probe.js';

const present = socatPresent();
const ON = [0xa0, 0x01, 0x01, 0xa2];
const OFF = [0xa0, 0x01, 0x00, 0xa1];

describe.skipIf(!present)('serial scanner and relay through socat ptys (real daemon)', () => {
  let fleet: Fleet;
  let daemon: Daemon | undefined;
  let scannerPty: PtyPair;
  let relayPty: PtyPair;
  let scanner: SerialPort | undefined;
  let relay: SerialPort | undefined;
  let relayBytes: number[] = [];

  const entries = () => outbox(fleet.dbFile).filter((e) => e.kind === 'entry');
  const metrics = async () => (await fetch(`http://127.0.0.1:${daemon!.httpPort}/metrics`)).text();

  beforeAll(async () => {
    ensureBuilt();
    fleet = makeFleet({ antiPassbackSeconds: 0 });
    scannerPty = new PtyPair(join(fleet.dir, 'scanner'), join(fleet.dir, 'scanner-peer'));
    relayPty = new PtyPair(join(fleet.dir, 'relay'), join(fleet.dir, 'relay-peer'));
    const config = JSON.parse((await import('node:fs')).readFileSync(fleet.configFile, 'utf8')) as Record<
      string,
      unknown
    >;
    config.inputs = [
      {
        type: 'serial',
        name: 'scanner',
        path: scannerPty.device,
        maxLineLength: 1024,
        repeatIgnoreMs: 0,
        reopenMs: 200,
      },
    ];
    config.outputs = [
      { type: 'serial-relay', name: 'relay', path: relayPty.device, pulseMs: 100, reopenMs: 200 },
    ];
    (await import('node:fs')).writeFileSync(fleet.configFile, JSON.stringify(config));
    loadLists(fleet);
    await scannerPty.start();
    await relayPty.start();
    relay = await openPeer(relayPty.peer, (b) => relayBytes.push(...b));
    scanner = await openPeer(scannerPty.peer);
    daemon = await startDaemon(fleet.configFile);
  }, 120_000);

  afterAll(async () => {
    if (daemon) {
      daemon.proc.kill('SIGTERM');
      await daemon.exited;
    }
    await closePeer(scanner);
    await closePeer(relay);
    await scannerPty?.stop();
    await relayPty?.stop();
    fleet?.cleanup();
  });

  it('puts the relay in its idle (locked) state when it opens the port', async () => {
    await waitFor('the idle command', () => relayBytes.length >= 4, 10_000);
    expect(relayBytes.slice(0, 4)).toEqual(OFF);
  });

  it('opens the gate for an accepted code: exactly ON then OFF after the pulse, after the commit', async () => {
    relayBytes = [];
    await writeTo(scanner!, fleet.qr(fleet.credential('m-serial-1')) + '\r\n');
    await waitFor('relay pulse', () => relayBytes.length >= 8, 10_000);
    expect(relayBytes).toEqual([...ON, ...OFF]);
    expect(entries().at(-1)).toMatchObject({ decision: 'accept', reason: 'ok' });
  });

  it('sends nothing to the relay for a denial', async () => {
    relayBytes = [];
    const before = entries().length;
    await writeTo(scanner!, 'PG1:NOT-A-CODE\r');
    await waitFor('the denial', () => entries().length > before, 10_000);
    expect(entries().at(-1)).toMatchObject({ decision: 'deny', reason: 'malformed' });
    // A barrier, not a sleep: an accepted code after the denial produces the only relay bytes.
    await writeTo(scanner!, fleet.qr(fleet.credential('m-serial-2')) + '\r');
    await waitFor('relay pulse', () => relayBytes.length >= 8, 10_000);
    expect(relayBytes).toEqual([...ON, ...OFF]);
  });

  it('drops an over-long line and binary garbage, and decides a code split over several writes', async () => {
    const before = entries().length;
    await writeTo(scanner!, 'X'.repeat(3000) + '\r\n');
    await writeTo(scanner!, Buffer.from([0x01, 0xff, 0xfe, 0x80, 0x00, 0x41, 0x0d]));
    const code = fleet.qr(fleet.credential('m-serial-3'));
    await writeTo(scanner!, code.slice(0, 10));
    await writeTo(scanner!, code.slice(10, 200));
    await writeTo(scanner!, code.slice(200) + '\r\n');
    await waitFor('the split code', () => entries().length > before, 10_000);
    expect(entries().length).toBe(before + 1);
    expect(entries().at(-1)).toMatchObject({ decision: 'accept' });
    const m = await metrics();
    expect(m).toContain('passgate_input_ignored_total{why="line_too_long"} 1');
    expect(m).toMatch(/passgate_input_ignored_total\{why="(non_ascii|control_characters)"\} 1/);
  });

  it('reports the scanner port gone when its pty disappears, and reads again once it is back', async () => {
    await closePeer(scanner);
    await scannerPty.stop();
    await waitFor(
      'scanner absent',
      async () => (await devices(daemon!.httpPort)).scanner?.state === 'absent',
      10_000,
    );
    await scannerPty.start();
    await waitFor(
      'scanner back',
      async () => (await devices(daemon!.httpPort)).scanner?.state === 'ok',
      10_000,
    );
    scanner = await openPeer(scannerPty.peer);
    const before = entries().length;
    await writeTo(scanner, fleet.qr(fleet.credential('m-serial-4')) + '\r');
    await waitFor('a code after the scanner came back', () => entries().length > before, 10_000);
    const scannerFaults = () =>
      outbox(fleet.dbFile)
        .filter((e) => e.kind === 'reader_fault' && e.data?.device === 'scanner')
        .map((e) => e.data?.state);
    await waitFor('reader_fault events for the scanner', () => scannerFaults().length >= 2, 10_000);
    expect(scannerFaults()).toEqual(['absent', 'ok']);
  });

  it('reports the relay gone (failing locked), then idles it and pulses again once it is back', async () => {
    await closePeer(relay);
    await relayPty.stop();
    await waitFor(
      'relay absent',
      async () => (await devices(daemon!.httpPort)).relay?.state === 'absent',
      10_000,
    );
    const gone = await devices(daemon!.httpPort);
    expect(gone.relay?.reason).toContain('the gate fails locked');
    const h = await fetch(`http://127.0.0.1:${daemon!.httpPort}/healthz`);
    expect(JSON.stringify(await h.json())).toContain('device_absent: output relay');
    // A code while the relay is gone is still decided and committed; nothing can open.
    const before = entries().length;
    await writeTo(scanner!, fleet.qr(fleet.credential('m-serial-5')) + '\r');
    await waitFor('a decision without a relay', () => entries().length > before, 10_000);
    relayBytes = [];
    await relayPty.start();
    relay = await openPeer(relayPty.peer, (b) => relayBytes.push(...b));
    await waitFor('relay back', async () => (await devices(daemon!.httpPort)).relay?.state === 'ok', 10_000);
    // The idle command may reach the pty before this test opened its far end (then the tty drops it).
    await writeTo(scanner!, fleet.qr(fleet.credential('m-serial-6')) + '\r');
    await waitFor(
      'relay pulse after re-open',
      () => relayBytes.length >= 8 && relayBytes.at(-1) === 0xa1 && relayBytes.includes(0x01, 2),
      10_000,
    );
    expect([
      [...ON, ...OFF],
      [...OFF, ...ON, ...OFF],
    ]).toContainEqual(relayBytes);
  });
});
