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
    expect(c.inputs).toMatchObject({ stdin: false, maxLineLength: 4096 });
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

  it('requires the fields a terminal cannot run without', () => {
    expect(() => validateConfig({})).toThrow(/terminalId: is required[\s\S]*listPublicKey: is required/);
  });

  it('checks staleness thresholds against each other', () => {
    expect(() => validateConfig({ ...good, staleness: { warnHours: 10, failHours: 5 } })).toThrow(
      /staleness.failHours/,
    );
  });
});
