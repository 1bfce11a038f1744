// kill -9 with hardware inputs and a relay: a scanner on a pty feeds codes into a real daemon whose gate
// is a relay board on another pty, and the daemon is killed at random moments. Afterwards every "open"
// command the relay received has a committed accept behind it: the relay never saw more opens than the
// outbox holds accepts, and at most the one decision in flight per kill lost its pulse.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, loadLists, makeFleet, runCli, startDaemon, type Fleet } from '../terminal/fixture.js';
import { closePeer, openPeer, PtyPair, socatPresent, writeTo } from '../../testkit/hardware.js';
import { outbox } from '../../testkit/daemon-probe.js';

const present = socatPresent();
const ROUNDS = 6;
const ON = Buffer.from([0xa0, 0x01, 0x01, 0xa2]);

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

describe.skipIf(!present)('crash safety with a serial scanner and a relay (kill -9)', () => {
  let fleet: Fleet;
  let scannerPty: PtyPair;
  let relayPty: PtyPair;
  let scanner: SerialPort | undefined;
  let relay: SerialPort | undefined;
  const relayBytes: Buffer[] = [];

  beforeAll(async () => {
    ensureBuilt();
    fleet = makeFleet({ antiPassbackSeconds: 0 });
    scannerPty = new PtyPair(join(fleet.dir, 'scanner'), join(fleet.dir, 'scanner-peer'));
    relayPty = new PtyPair(join(fleet.dir, 'relay'), join(fleet.dir, 'relay-peer'));
    const config = JSON.parse(readFileSync(fleet.configFile, 'utf8')) as Record<string, unknown>;
    config.inputs = [
      { type: 'serial', name: 'scanner', path: scannerPty.device, repeatIgnoreMs: 0, reopenMs: 100 },
    ];
    config.outputs = [
      { type: 'serial-relay', name: 'relay', path: relayPty.device, pulseMs: 5, reopenMs: 100 },
    ];
    writeFileSync(fleet.configFile, JSON.stringify(config));
    loadLists(fleet);
    await scannerPty.start();
    await relayPty.start();
    relay = await openPeer(relayPty.peer, (b) => relayBytes.push(Buffer.from(b)));
    scanner = await openPeer(scannerPty.peer);
  }, 120_000);

  afterAll(async () => {
    await closePeer(scanner);
    await closePeer(relay);
    await scannerPty?.stop();
    await relayPty?.stop();
    fleet?.cleanup();
  });

  it('never pulses the relay without a committed accept', async () => {
    const creds = Array.from({ length: 30 }, (_, i) => fleet.credential(`m-relay-${i}`));
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const daemon = await startDaemon(fleet.configFile);
      let stop = false;
      const pump = (async () => {
        while (!stop) {
          const line = next % 4 === 3 ? `PG1:GARBAGE-${next}` : fleet.qr(creds[next % creds.length]!);
          next++;
          await writeTo(scanner!, line + '\r');
          await new Promise((r) => setTimeout(r, 3));
        }
      })();
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
      stop = true;
      await Promise.race([pump, new Promise((r) => setTimeout(r, 2000))]);
    }
    // One clean run drains what the scanner left in the pty, then a clean stop.
    const last = await startDaemon(fleet.configFile);
    await new Promise((r) => setTimeout(r, 500));
    last.proc.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    await new Promise((r) => setTimeout(r, 100));

    const events = outbox(fleet.dbFile);
    const accepts = events.filter((e) => e.kind === 'entry' && e.decision === 'accept').length;
    const opens = count(Buffer.concat(relayBytes), ON);
    console.info(`kill -9 x${ROUNDS} with a relay: ${accepts} committed accepts, ${opens} relay opens`);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(accepts).toBeGreaterThan(10);
    expect(opens).toBeLessThanOrEqual(accepts);
    expect(accepts - opens).toBeLessThanOrEqual(ROUNDS);
    const check = runCli(['terminal', 'status', '--config', fleet.configFile, '--json']);
    expect(check.code, check.stderr).toBe(0);
  }, 180_000);
});
