// Central's commands at the terminal, in-process: open_gate_once is durable before visible (the accept is
// committed, then the outputs), and a failed commit keeps the gate closed; reload refreshes the caches.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../test/terminal/fixture.js';
import { loadConfig } from './config.js';
import { handleCommand, startTerminal, type RunningTerminal } from './daemon.js';
import type { GateOutput, GateSignal } from './outputs/output.js';
import { StorageFullError } from './store/sqlite.js';

const logger = pino({ level: 'silent' });

class RecordingOutput implements GateOutput {
  readonly name = 'recorder';
  readonly signals: Array<GateSignal & { lastSeqThen: number }> = [];
  terminal: RunningTerminal | undefined;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async show(signal: GateSignal): Promise<void> {
    this.signals.push({ ...signal, lastSeqThen: this.terminal?.store.outbox.lastSeq ?? -1 });
  }
}

describe('remote open (open_gate_once)', () => {
  let fleet: Fleet | undefined;
  let t: RunningTerminal | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    fleet?.cleanup();
    fleet = undefined;
  });

  async function start(overrides: Record<string, unknown> = {}) {
    fleet = makeFleet(overrides);
    const output = new RecordingOutput();
    t = await startTerminal(loadConfig(fleet.configFile), {
      logger,
      consoleOutput: false,
      outputs: [output],
    });
    output.terminal = t;
    return { term: t, output };
  }

  it('commits an accept with data.remote on the default direction, then opens the gate', async () => {
    const { term, output } = await start({ directions: ['out', 'in'] });
    const r = await term.pipeline.remoteOpen('central');
    expect(r).toEqual({ decision: 'accept', reason: 'ok', seq: 1 });
    expect(term.port.pendingEvents(0, 10)).toEqual([
      {
        seq: 1,
        kind: 'entry',
        at: expect.any(Number),
        decision: 'accept',
        reason: 'ok',
        gate: expect.any(String),
        direction: 'out',
        data: { remote: true },
      },
    ]);
    expect(output.signals).toHaveLength(1);
    // the output ran after the event was committed
    expect(output.signals[0]).toMatchObject({ decision: 'accept', seq: 1, direction: 'out', lastSeqThen: 1 });
  });

  it('a fault that is not the database denies with internal_error, not storage_failure', async () => {
    const { term, output } = await start();
    const failures: string[] = [];
    term.bus.on('storageFailure', (e) => failures.push(e.message));
    term.store.commitEvent = () => {
      throw new TypeError('a bug');
    };
    const r = await term.pipeline.remoteOpen('central');
    expect(r).toEqual({ decision: 'deny', reason: 'internal_error', seq: null });
    expect(output.signals).toEqual([expect.objectContaining({ decision: 'deny', reason: 'internal_error' })]);
    expect(failures).toEqual([]);
    expect(term.pipeline.storageFailing).toBe(false);
  });

  it('a commit that fails keeps the gate closed (deny storage_failure, nothing recorded)', async () => {
    const { term, output } = await start();
    const failures: string[] = [];
    term.bus.on('storageFailure', (e) => failures.push(e.message));
    term.store.commitEvent = () => {
      throw new StorageFullError('cannot record the event: database or disk is full', 'SQLITE_FULL');
    };
    const r = await term.pipeline.remoteOpen('central');
    expect(r).toEqual({ decision: 'deny', reason: 'storage_failure', seq: null });
    expect(output.signals.some((s) => s.decision === 'accept')).toBe(false);
    expect(output.signals).toEqual([
      expect.objectContaining({ decision: 'deny', reason: 'storage_failure' }),
    ]);
    expect(term.store.outbox.lastSeq).toBe(0);
    expect(term.pipeline.storageFailing).toBe(true);
    expect(failures).toHaveLength(1);

    // through the command handler too: logged, never thrown, still closed
    await handleCommand('open_gate_once', { pipeline: term.pipeline, store: term.store, logger });
    expect(output.signals.some((s) => s.decision === 'accept')).toBe(false);
  });

  it('runs in the same queue as scans and is refused once the pipeline drains', async () => {
    const { term, output } = await start();
    const cred = fleet!.credential('m-1');
    const [a, b] = await Promise.all([term.submit(fleet!.qr(cred)), term.pipeline.remoteOpen('central')]);
    // one after the other, each with its own seq (the scan is denied: no lists were loaded)
    expect([a, b].map((x) => ('seq' in x ? x.seq : undefined))).toEqual([1, 2]);
    expect(output.signals.map((s) => s.seq)).toEqual([1, 2]);
    await term.pipeline.drain();
    expect(await term.pipeline.remoteOpen('central')).toEqual({ ignored: 'shutting_down' });
  });

  it('reload refreshes the caches from disk', async () => {
    const { term } = await start();
    let reloaded = 0;
    const original = term.store.reloadCaches.bind(term.store);
    term.store.reloadCaches = () => {
      reloaded++;
      original();
    };
    await handleCommand('reload', { pipeline: term.pipeline, store: term.store, logger });
    expect(reloaded).toBe(1);
    expect(term.store.outbox.lastSeq).toBe(0);
  });
});
