// Terminal commands end to end: central (embedded aedes, admin API) → t/{id}/cmd → a real terminal daemon
// (SQLite outbox, MQTT sync). open_gate_once commits an accept with data.remote before the gate opens,
// and the event comes back to central; reload and resync are logged; bad requests are refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { main } from '../../cli/main.js';
import { enrollTerminal } from '../../testkit/fleet.js';
import type { Command } from '../../shared/sync.js';
import { loadConfig } from '../../terminal/config.js';
import { startTerminal, type RunningTerminal } from '../../terminal/daemon.js';
import type { GateOutput, GateSignal } from '../../terminal/outputs/output.js';
import { waitFor } from '../../testkit/wait.js';
import { capturingLogger } from '../../testkit/log-capture.js';

const TERMINAL = 'gate-cmd-1';

/** Every log line (JSON) of central and the terminal, to check what was logged. */
const { logger, lines: logLines } = capturingLogger();

/** An output that records what it was told, and whether the event was already committed then. */
class RecordingOutput implements GateOutput {
  readonly name = 'recorder';
  readonly signals: Array<GateSignal & { committedBefore: boolean }> = [];
  terminal: RunningTerminal | undefined;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async show(signal: GateSignal): Promise<void> {
    const committedBefore =
      signal.seq !== null &&
      (this.terminal?.port.pendingEvents(signal.seq - 1, 1)[0]?.seq === signal.seq ||
        (this.terminal?.store.outbox.ackedSeq ?? 0) >= signal.seq);
    this.signals.push({ ...signal, committedBefore });
  }
}

let dir: string;
let central: Central;
let token: string;
let terminal: RunningTerminal;
const output = new RecordingOutput();

async function post(
  body: unknown,
  auth: string | null = token,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${central.httpPort}/command`, {
    method: 'POST',
    headers: auth === null ? {} : { authorization: `Bearer ${auth}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-central-commands-'));
  central = await startCentral({ dataDir: dir, mqttPort: 0, httpPort: 0, logger, scryptCost: 10 });
  token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  const configFile = await enrollTerminal(central, dir, {
    id: TERMINAL,
    role: 'turnstile',
    gate: 'north',
    requirement: { k: 'venue', v: 'zoo' },
    label: 'North gate',
  });
  terminal = await startTerminal(loadConfig(configFile), {
    logger,
    consoleOutput: false,
    outputs: [output],
  });
  output.terminal = terminal;
  // Commands are not retained: wait until the terminal has subscribed (it reports online after that).
  await waitFor(
    'terminal online at central',
    async () => (await central.status()).terminals.some((t) => t.id === TERMINAL && t.online),
    20_000,
  );
}, 40_000);

afterAll(async () => {
  await terminal?.stop();
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /command', () => {
  it('open_gate_once: the accept is committed, then the gate opens, and central gets the event', async () => {
    const before = terminal.store.outbox.lastSeq;
    const r = await post({ terminal: TERMINAL, command: 'open_gate_once' });
    expect(r).toEqual({
      status: 200,
      json: { sent: true, terminal: TERMINAL, command: 'open_gate_once', online: true },
    });

    await waitFor('the gate opened', () => output.signals.some((s) => s.decision === 'accept'), 10_000);
    const open = output.signals.find((s) => s.decision === 'accept')!;
    expect(open).toMatchObject({ reason: 'ok', gate: 'north', direction: 'in', committedBefore: true });
    expect(open.seq).toBeGreaterThan(before);

    let remote;
    await waitFor(
      'the remote accept at central',
      async () => {
        remote = (await central.events(TERMINAL, 0, 1000)).find((e) => e.data?.remote === true);
        return remote !== undefined;
      },
      15_000,
    );
    expect(remote).toMatchObject({
      seq: open.seq,
      kind: 'entry',
      decision: 'accept',
      reason: 'ok',
      gate: 'north',
      direction: 'in',
      data: { remote: true },
    });
    // central logged the command (terminal and word), the terminal logged it by its word
    expect(logLines).toContainEqual(
      expect.objectContaining({
        terminal: TERMINAL,
        command: 'open_gate_once',
        msg: 'sent a command to a terminal',
      }),
    );
    expect(logLines).toContainEqual(
      expect.objectContaining({ cmd: 'open_gate_once', decision: 'accept', msg: 'remote open from central' }),
    );
  });

  it('reload and resync reach the terminal and are logged', async () => {
    const redelivered = () =>
      logLines.filter((l) => l.msg === 'list received' && l.outcome === 'already_applied').length;
    const redeliveredBefore = redelivered();
    for (const command of ['reload', 'resync'] as const) {
      const r = await post({ terminal: TERMINAL, command });
      expect(r.status).toBe(200);
    }
    await waitFor(
      'reload logged',
      () =>
        logLines.some((l) => l.cmd === 'reload' && l.msg === 'reloaded the cached lists from the database'),
      10_000,
    );
    await waitFor(
      'resync logged',
      () => logLines.some((l) => l.cmd === 'resync' && l.msg === 'command from central'),
      10_000,
    );
    // resync re-subscribes: the retained lists arrive again (already applied, nothing changes)
    await waitFor('lists delivered again', () => redelivered() > redeliveredBefore, 10_000);
    // the gate did not open for either
    expect(output.signals.filter((s) => s.decision === 'accept')).toHaveLength(1);
  });

  it('refuses an unknown terminal or command (400 naming the field) and a missing token (401)', async () => {
    const unknownTerminal = await post({ terminal: 'nobody-9', command: 'open_gate_once' });
    expect(unknownTerminal).toMatchObject({ status: 400, json: { error: 'invalid' } });
    expect(unknownTerminal.json.message).toMatch(/^terminal: "nobody-9" is not registered/);

    const badId = await post({ terminal: 'Not An Id', command: 'reload' });
    expect(badId).toMatchObject({ status: 400, json: { message: expect.stringMatching(/^terminal/) } });

    const unknownCommand = await post({ terminal: TERMINAL, command: 'self_destruct' });
    expect(unknownCommand).toMatchObject({ status: 400, json: { error: 'invalid' } });
    expect(unknownCommand.json.message).toMatch(/^command: .*open_gate_once/);

    const missing = await post({ terminal: TERMINAL });
    expect(missing).toMatchObject({ status: 400, json: { message: expect.stringMatching(/^command/) } });

    for (const auth of [null, 'f'.repeat(64)]) {
      const r = await post({ terminal: TERMINAL, command: 'open_gate_once' }, auth);
      expect(r).toMatchObject({ status: 401, json: { error: 'unauthorized' } });
    }
    // Nothing of that opened the gate. Barrier, not a sleep: a genuine reload sent afterwards travels the
    // same way (admin API → broker → terminal); once the terminal logged it, anything before it was handled.
    const reloadsBefore = logLines.filter(
      (l) => l.msg === 'reloaded the cached lists from the database',
    ).length;
    expect(await post({ terminal: TERMINAL, command: 'reload' })).toMatchObject({ status: 200 });
    await waitFor(
      'the reload after the refused requests',
      () =>
        logLines.filter((l) => l.msg === 'reloaded the cached lists from the database').length >
        reloadsBefore,
      10_000,
    );
    expect(output.signals.filter((s) => s.decision === 'accept')).toHaveLength(1);
  });
});

describe('in-process and CLI', () => {
  it('central.sendCommand refuses an unknown terminal or command', async () => {
    await expect(central.sendCommand('nobody-9', 'reload')).rejects.toThrow(/terminal: "nobody-9"/);
    await expect(central.sendCommand(TERMINAL, 'explode' as Command)).rejects.toThrow(/^command:/);
  });

  it('passgate central command sends through the admin API', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    const url = `http://127.0.0.1:${central.httpPort}`;
    const base = ['central', 'command', '--central', url, '--terminal', TERMINAL];

    expect(await main([...base, '--central-data', dir, '--command', 'resync', '--json'], io)).toBe(0);
    expect(JSON.parse(out.pop()!)).toEqual({
      ok: true,
      central: url,
      terminal: TERMINAL,
      command: 'resync',
      online: true,
    });

    expect(await main([...base, '--token', token, '--command', 'reload'], io)).toBe(0);
    expect(out.pop()).toMatch(new RegExp(`^sent reload to ${TERMINAL}`));

    // a word that is not a command, a wrong token, an unknown terminal: exit 2 with what to do
    expect(await main([...base, '--token', token, '--command', 'open'], io)).toBe(2);
    expect(err.pop()).toMatch(/--command must be one of resync, reload, open_gate_once/);
    expect(await main([...base, '--token', 'nope', '--command', 'reload'], io)).toBe(2);
    expect(err.pop()).toMatch(/wrong admin token/);
    expect(
      await main(
        [
          'central',
          'command',
          '--central',
          url,
          '--token',
          token,
          '--terminal',
          'nobody-9',
          '--command',
          'reload',
        ],
        io,
      ),
    ).toBe(2);
    expect(err.pop()).toMatch(/not registered/);
    expect(await main([...base, '--command', 'reload'], io)).toBe(2); // no token
  });
});
