import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from './config.js';

const good = {
  terminalId: 'gate-1',
  role: 'turnstile',
  gate: 'north-1',
  dataDir: 'data',
  listPublicKey: 'ab'.repeat(32),
  signingKeyFile: 'key.json',
};

describe('terminal config', () => {
  it('fills role defaults and resolves paths against the config folder', () => {
    const c = validateConfig(good, '/etc/passgate');
    expect(c.dataDir).toBe('/etc/passgate/data');
    expect(c.requirement).toEqual({ k: 'venue' });
    expect(c.staleness.failOpen).toBe(true);
    expect(c.inputs).toEqual([]);
    expect(c.outputs).toEqual([{ type: 'console', name: 'console' }]);
    expect(c.http).toEqual({ port: 0, host: '127.0.0.1' });
    const counter = validateConfig({ ...good, role: 'counter' });
    expect(counter.staleness.failOpen).toBe(false);
    expect(counter.clock.failOpen).toBe(false);
    expect(counter.requirement).toEqual({ k: 'concession' });
  });

  it('reports every problem at once, naming the field', () => {
    try {
      validateConfig({
        ...good,
        role: 'robot',
        gate: '',
        inputs: { tcp: { port: 99999, host: '0.0.0.0' } },
        extra: 1,
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('role: must be one of');
      expect(problems).toContain('gate:');
      expect(problems).toContain('inputs.tcp.port');
      expect(problems).toContain('inputs.tcp.host');
      expect(problems).toContain('extra: unknown setting');
    }
  });

  it('reads inputs and outputs as lists, with defaults and unique names', () => {
    const c = validateConfig(
      {
        ...good,
        inputs: [
          { type: 'tcp', port: 0 },
          { type: 'serial', path: 'dev/scanner', direction: 'out', prefix: ']Q' },
          { type: 'serial', path: '/dev/ttyACM1', baudRate: 115200, terminator: 'tab', scan: 'barcode' },
          { type: 'pcsc', name: 'reader', reader: 'ACS' },
          { type: 'hid', vendorId: 0x0c2e, productId: 0x0b61, layout: { '100': ['<', '>'] } },
        ],
        outputs: [
          { type: 'serial-relay', path: '/dev/ttyUSB0', pulseMs: 500, failMode: 'open' },
          { type: 'gpio', line: 17 },
          { type: 'led', lines: { green: 5, red: 6, buzzer: 13 } },
        ],
      },
      '/etc/passgate',
    );
    expect(c.inputs.map((i) => i.name)).toEqual(['tcp', 'serial-1', 'serial-2', 'reader', 'hid']);
    expect(c.inputs[0]).toMatchObject({ host: '127.0.0.1', maxLineLength: 4096, repeatIgnoreMs: 1500 });
    expect(c.inputs[1]).toMatchObject({
      path: '/etc/passgate/dev/scanner',
      direction: 'out',
      baudRate: 9600,
      terminator: 'auto',
      prefix: ']Q',
      suffix: '',
      scan: 'qr',
    });
    expect(c.inputs[2]).toMatchObject({ baudRate: 115200, terminator: 'tab', scan: 'barcode' });
    expect(c.inputs[3]).toEqual({ type: 'pcsc', name: 'reader', reader: 'ACS', watchdogMs: 5000 });
    expect(c.inputs[4]).toMatchObject({ mode: 'keyboard', terminator: 'enter', vendorId: 0x0c2e });
    expect(c.outputs[0]).toMatchObject({ name: 'serial-relay', channel: 1, pulseMs: 500, failMode: 'open' });
    expect(c.outputs[1]).toMatchObject({ chip: 'gpiochip0', line: 17, failMode: 'locked', pulseMs: 1000 });
    expect(c.outputs[2]).toMatchObject({ patterns: { accept: { green: [1000] } } });
  });

  it('names the entry and field of every device problem at once', () => {
    try {
      validateConfig({
        ...good,
        inputs: [
          { type: 'serial' },
          { type: 'pcsc', watchdogMs: 10 },
          { type: 'scanner' },
          { type: 'tcp', port: 1, name: 'x' },
          { type: 'stdin', name: 'x' },
        ],
        outputs: [{ type: 'serial-relay', path: '/dev/x', channel: 9, baudRate: 1234 }, { type: 'gpio' }],
      });
      expect.unreachable();
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('inputs.0.path: is required');
      expect(problems).toContain('inputs.1.watchdogMs');
      expect(problems).toContain('inputs.2.type: unknown device type');
      expect(problems).toContain('outputs.0.channel');
      expect(problems).toContain('outputs.0.baudRate');
      expect(problems).toContain('outputs.1.line: is required');
    }
    expect(() =>
      validateConfig({
        ...good,
        inputs: [
          { type: 'tcp', port: 1, name: 'x' },
          { type: 'stdin', name: 'x' },
        ],
      }),
    ).toThrow(/inputs.1.name: "x" is used twice/);
    expect(() => validateConfig({ ...good, inputs: [{ type: 'hid', vendorId: 1 }] })).toThrow(
      /needs path, or vendorId and productId/,
    );
  });

  it('migrates the old one-object inputs form and says how to write it', () => {
    const c = validateConfig({ ...good, inputs: { stdin: true, tcp: { port: 0 }, repeatIgnoreMs: 0 } });
    expect(c.inputs).toMatchObject([
      { type: 'tcp', name: 'tcp', port: 0, repeatIgnoreMs: 0 },
      { type: 'stdin', name: 'stdin', repeatIgnoreMs: 0 },
    ]);
    expect(c.notes.join()).toContain('write it as a list: "inputs": [{"type":"tcp"');
  });

  it('requires the fields a terminal cannot run without', () => {
    expect(() => validateConfig({})).toThrow(/terminalId: is required[\s\S]*listPublicKey: is required/);
  });

  it('checks staleness thresholds against each other', () => {
    expect(() => validateConfig({ ...good, staleness: { warnHours: 10, failHours: 5 } })).toThrow(
      /staleness.failHours/,
    );
  });
});
