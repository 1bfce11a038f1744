// Unit tests of the device logic that needs no hardware: line framing, relay commands, gate pulses, LED
// blinks, GPIO through a sysfs folder, health transitions, and the PC/SC watchdog against fake host
// processes (one that hangs like nfc-pcsc without pcscd, one that reads a card, one without nfc-pcsc).
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/wait.js';
import type { DeviceHealth, InputDevice, InputSink } from './device.js';
import { GpioOutput } from './gpio.js';
import { blinkSteps } from './led.js';
import { simulationLineToScan } from './lines.js';
import { PcscInput } from './pcsc/input.js';
import { GatePulse } from './pulse.js';
import { HealthWatch, type HealthTransition } from './registry.js';
import type { Scan } from './scan.js';
import { framedScan, normalizeTerminator } from './serial-scanner.js';
import { relayCommand } from './serial-relay.js';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'passgate-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('line framing', () => {
  it('turns simulation lines into typed scans with the input direction, a prefix overriding it', () => {
    expect(simulationLineToScan('PG1:abc', 'tcp', 'out', 5)).toEqual({
      kind: 'qr',
      text: 'PG1:abc',
      input: 'tcp',
      direction: 'out',
      at: 5,
    });
    const card = simulationLineToScan('in card:04a1b2c3', 'tcp', 'out', 5);
    expect(card).toMatchObject({ kind: 'card', direction: 'in' });
    expect((card as Extract<Scan, { kind: 'card' }>).uid).toEqual(Uint8Array.of(4, 0xa1, 0xb2, 0xc3));
    expect(simulationLineToScan('card:0102030405', 'tcp', undefined, 5)).toBeUndefined();
  });

  it('rewrites scanner terminators as line ends and strips a programmed prefix and suffix', () => {
    expect(normalizeTerminator('A\rB\r', 'cr')).toBe('A\nB\n');
    expect(normalizeTerminator('A\r\nB', 'auto')).toBe('A\n\nB');
    expect(normalizeTerminator('A\tB', 'tab')).toBe('A\nB');
    expect(normalizeTerminator('A\r\n', 'crlf')).toBe('A\r\n');
    const c = { prefix: ']Q1', suffix: '#', scan: 'barcode' as const, name: 's', direction: 'in' as const };
    expect(framedScan(']Q1ITEM-7#', c, 1)).toEqual({
      kind: 'barcode',
      text: 'ITEM-7',
      input: 's',
      at: 1,
      direction: 'in',
    });
    expect(framedScan('ITEM-7#', c, 1)).toBeUndefined();
    expect(framedScan(']Q1#', c, 1)).toBeUndefined();
  });
});

describe('gate outputs', () => {
  it('builds the 4-byte relay commands with their checksum', () => {
    expect([...relayCommand(1, true)]).toEqual([0xa0, 0x01, 0x01, 0xa2]);
    expect([...relayCommand(1, false)]).toEqual([0xa0, 0x01, 0x00, 0xa1]);
    expect([...relayCommand(4, true)]).toEqual([0xa0, 0x04, 0x01, 0xa5]);
  });

  it('pulses energised for fail-locked and released for fail-open wiring, and ends de-energised', async () => {
    for (const failMode of ['locked', 'open'] as const) {
      const driven: boolean[] = [];
      const pulse = new GatePulse(async (on) => (driven.push(on), true), { pulseMs: 20, failMode }, silent);
      await pulse.idle();
      await pulse.open();
      await waitFor('pulse end', () => driven.length === 3, 2000);
      await pulse.stop();
      expect(driven).toEqual(
        failMode === 'locked' ? [false, true, false, false] : [true, false, true, false],
      );
    }
  });

  it('plays LED blinks as switch times ending off', () => {
    expect(blinkSteps([100])).toEqual([
      { at: 0, on: true },
      { at: 100, on: false },
    ]);
    expect(blinkSteps([50, 50, 50])).toEqual([
      { at: 0, on: true },
      { at: 50, on: false },
      { at: 100, on: true },
      { at: 150, on: false },
    ]);
  });

  it('drives a GPIO lock through sysfs when there is no gpiochip, and reports a missing line as absent', async () => {
    const sysfs = join(dir, 'gpio');
    mkdirSync(join(sysfs, 'gpio17'), { recursive: true });
    writeFileSync(join(sysfs, 'export'), '');
    const config = {
      type: 'gpio' as const,
      name: 'lock',
      chip: 'gpiochip-none',
      line: 17,
      activeLow: false,
      pulseMs: 30,
      failMode: 'locked' as const,
      sysfsBase: sysfs,
    };
    const out = new GpioOutput(config, silent);
    await out.start();
    expect(out.health()).toEqual({ state: 'ok' });
    expect(readFileSync(join(sysfs, 'gpio17/direction'), 'utf8')).toBe('out');
    expect(readFileSync(join(sysfs, 'gpio17/value'), 'utf8')).toBe('0');
    await out.show({ decision: 'accept', reason: 'ok', seq: 1, gate: 'g', direction: 'in', text: '' });
    expect(readFileSync(join(sysfs, 'gpio17/value'), 'utf8')).toBe('1');
    await waitFor('lock closed again', () => readFileSync(join(sysfs, 'gpio17/value'), 'utf8') === '0', 2000);
    await out.stop();
    const missing = new GpioOutput({ ...config, line: 18, sysfsBase: join(dir, 'nowhere') }, silent);
    await missing.start();
    expect(missing.health()).toMatchObject({
      state: 'absent',
      reason: expect.stringMatching(/^gpio_missing/),
    });
  });
});

describe('HealthWatch', () => {
  it('reports transitions (not a healthy start), including a short outage pushed between polls', () => {
    let state: DeviceHealth = { state: 'ok' };
    const device = { name: 'scanner', type: 'serial', health: () => state } as unknown as InputDevice;
    const seen: HealthTransition[] = [];
    const watch = new HealthWatch(
      () => [{ kind: 'input', device }],
      (t) => seen.push(t),
      60_000,
    );
    watch.start();
    expect(seen).toEqual([]);
    state = { state: 'absent', reason: 'port_gone' };
    device.onHealthChange?.();
    state = { state: 'ok' };
    device.onHealthChange?.();
    watch.stop();
    expect(seen.map((t) => [t.from, t.to.state])).toEqual([
      ['ok', 'absent'],
      ['absent', 'ok'],
    ]);
    expect(watch.snapshot()).toEqual({ scanner: { kind: 'input', type: 'serial', state: 'ok' } });
  });
});

describe('PcscInput against fake host processes', () => {
  const host = (name: string, body: string) => {
    const file = join(dir, `${name}.mjs`);
    writeFileSync(
      file,
      `const send = (m) => process.send(m);\nprocess.on('disconnect', () => process.exit(0));\n${body}\n`,
    );
    return file;
  };
  const sink = (scans: Scan[], ignored: string[] = []): InputSink => ({
    scan: async (s) => (scans.push(s), { decision: 'accept', reason: 'ok', seq: 1 }),
    ignored: (why) => ignored.push(why),
  });
  const config = { type: 'pcsc' as const, name: 'reader', direction: 'out' as const, watchdogMs: 1000 };

  it('kills a host whose event loop hangs (as nfc-pcsc does without pcscd) and starts another', async () => {
    const input = new PcscInput(config, silent, host('hang', "send({ type: 'alive' });\nwhile (true) {}"));
    await input.start(sink([]));
    try {
      await waitFor('watchdog', () => input.health().reason?.startsWith('pcsc_host_hung') === true, 10_000);
      expect(input.health().state).toBe('fault');
      await waitFor('a restart', () => input.starts >= 2, 10_000);
    } finally {
      await input.stop();
    }
  }, 20_000);

  it('passes a card read by the host as a typed card scan with the input direction; refuses a bad UID', async () => {
    const scans: Scan[] = [];
    const ignored: string[] = [];
    const script = host(
      'card',
      `setInterval(() => send({ type: 'alive' }), 200);
send({ type: 'service', state: 'ok' });
send({ type: 'reader', name: 'ACS ACR122U 00 00' });
send({ type: 'reader', name: 'Other 00 00' });
send({ type: 'card', reader: 'ACS ACR122U 00 00', uid: '04a1b2c3d4e5f6', atr: '3b8f8001' });
send({ type: 'card', reader: 'ACS ACR122U 00 00', uid: '0102', atr: '' });
send({ type: 'card', reader: 'Other 00 00', uid: '04a1b2c3', atr: '' });`,
    );
    const input = new PcscInput({ ...config, reader: 'ACS' }, silent, script);
    await input.start(sink(scans, ignored));
    try {
      await waitFor('the card', () => scans.length === 1 && ignored.length === 1, 10_000);
      expect(scans[0]).toMatchObject({
        kind: 'card',
        input: 'reader',
        direction: 'out',
        uid: Uint8Array.of(4, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6),
      });
      expect(ignored).toEqual(['garbage']);
      expect(input.health()).toEqual({ state: 'ok' });
      expect(Object.keys(input.details())).toEqual(['ACS ACR122U 00 00']);
    } finally {
      await input.stop();
    }
  }, 20_000);

  it('reports a missing nfc-pcsc as a fault that says how to install it, without restarting', async () => {
    const input = new PcscInput(
      config,
      silent,
      host(
        'missing',
        "send({ type: 'unavailable', reason: 'Cannot find module nfc-pcsc' });\nsetInterval(() => {}, 1000);",
      ),
    );
    await input.start(sink([]));
    try {
      await waitFor(
        'driver_missing',
        () => input.health().reason?.startsWith('driver_missing') === true,
        10_000,
      );
      expect(input.health().reason).toContain('apt-get install pcscd libpcsclite-dev');
      await new Promise((r) => setTimeout(r, 1500));
      expect(input.starts).toBe(1);
    } finally {
      await input.stop();
    }
  }, 20_000);
});
