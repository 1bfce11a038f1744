// Bounded shutdown (issue 9 item 4): a terminal whose central stops answering still stops, in seconds,
// and says so; every step has a time limit (shared/deadline.ts).
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedStep } from '../../shared/deadline.js';
import { loadConfig } from '../../terminal/config.js';
import { startTerminal } from '../../terminal/daemon.js';
import { capturingLogger } from '../../testkit/log-capture.js';
import { waitFor } from '../../testkit/wait.js';
import { makeFleet } from './fixture.js';

describe('boundedStep', () => {
  it('reports a finished step, a failed step and one cut short, never rejecting', async () => {
    expect(await boundedStep(() => Promise.resolve(1), 1000)).toBe(true);
    const problems: string[] = [];
    const note = (why: 'timeout' | Error) => problems.push(why === 'timeout' ? why : why.message);
    expect(await boundedStep(() => Promise.reject(new Error('broke')), 1000, note)).toBe(true);
    expect(
      await boundedStep(
        () => {
          throw new Error('threw');
        },
        1000,
        note,
      ),
    ).toBe(true);
    const started = performance.now();
    expect(await boundedStep(() => new Promise(() => undefined), 100, note)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(problems).toEqual(['broke', 'threw', 'timeout']);
  });
});

describe('a terminal whose broker stops answering', () => {
  let broker: Aedes;
  let server: Server;
  let port: number;
  let connected = 0;
  beforeAll(async () => {
    // A broker that takes the connection and the subscriptions but never acknowledges a publish: the
    // terminal's "offline" status on stop would wait forever without a time limit.
    broker = await Aedes.createBroker({
      authorizePublish: () => undefined,
    });
    broker.on('subscribe', () => connected++);
    server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('stops within a few seconds and says it stopped', async () => {
    const fleet = makeFleet({ mqtt: { url: `mqtt://127.0.0.1:${port}`, username: 'gate-test-1' } });
    const { logger, lines } = capturingLogger();
    try {
      const t = await startTerminal(loadConfig(fleet.configFile), { logger, consoleOutput: false });
      await waitFor('the terminal to connect and subscribe', () => connected > 0, 15_000);
      const started = performance.now();
      const clean = await t.stop();
      const took = performance.now() - started;
      expect(took).toBeLessThan(8_000);
      expect(clean).toBe(false);
      expect(
        lines.some(
          (l) => l.msg === 'stop did not finish in time; going on' || l.msg === 'offline status not sent',
        ),
      ).toBe(true);
    } finally {
      fleet.cleanup();
    }
  }, 30_000);
});
