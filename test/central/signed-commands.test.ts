// Commands must be signed with the list key the terminal pinned, fresh (5 minutes) and new (each id runs
// once). A real terminal daemon is pointed at a bare aedes (no ACL) so the test can publish forgeries on
// t/{id}/cmd, which the real broker's ACL would not let a terminal do: a forged or stale open_gate_once
// opens nothing and commits no event, and the same signed command delivered twice opens once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { loadOrCreateListKey } from '../../central/list-key.js';
import { enrollTerminal } from '../../testkit/fleet.js';
import { generateKeyPair, type KeyPair } from '../../shared/keys.js';
import { signCommand, topics, type Command } from '../../shared/sync.js';
import { loadConfig } from '../../terminal/config.js';
import { startTerminal, type RunningTerminal } from '../../terminal/daemon.js';
import type { GateOutput, GateSignal } from '../../terminal/outputs/output.js';
import { waitFor } from '../../testkit/wait.js';
import { capturingLogger } from '../../testkit/log-capture.js';

const TERMINAL = 'gate-signed-cmd';

const { logger, lines: logLines } = capturingLogger();

class RecordingOutput implements GateOutput {
  readonly name = 'recorder';
  readonly signals: GateSignal[] = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async show(signal: GateSignal): Promise<void> {
    this.signals.push(signal);
  }
}

let dir: string;
let central: Central;
let listKey: KeyPair;
let aedes: Aedes;
let server: Server;
let publisher: MqttClient;
let terminal: RunningTerminal;
const output = new RecordingOutput();

function sign(command: Command, opts: { id?: string; t?: number; key?: KeyPair; terminal?: string } = {}) {
  return signCommand(opts.key ?? listKey, {
    terminal: opts.terminal ?? TERMINAL,
    command,
    id: opts.id ?? randomBytes(8).toString('hex'),
    t: opts.t ?? Date.now(),
  });
}

async function publish(payload: Uint8Array): Promise<void> {
  await publisher.publishAsync(topics.cmd(TERMINAL), Buffer.from(payload), { qos: 1 });
}

const warned = (re: RegExp) => logLines.filter((l) => l.level === 40 && re.test(String(l.msg))).length;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-signed-cmd-'));
  // Central only enrolls the terminal (and holds the list key it pins).
  central = await startCentral({ dataDir: dir, mqttPort: 0, httpPort: -1, logger, scryptCost: 10 });
  listKey = loadOrCreateListKey(dir);
  const configFile = await enrollTerminal(central, dir, {
    id: TERMINAL,
    role: 'turnstile',
    gate: 'north',
    requirement: { k: 'venue', v: 'zoo' },
    label: 'North gate',
  });
  aedes = await Aedes.createBroker();
  server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const url = `mqtt://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  publisher = await mqtt.connectAsync(url, { clientId: 'central-forger', protocolVersion: 4 });
  const subscribed = new Promise<void>((resolve) =>
    aedes.on('subscribe', (subs) => {
      if (subs.some((s) => s.topic === topics.cmd(TERMINAL))) resolve();
    }),
  );
  const config = loadConfig(configFile);
  terminal = await startTerminal(
    { ...config, mqtt: { ...config.mqtt!, url } },
    { logger, consoleOutput: false, outputs: [output] },
  );
  await subscribed;
}, 40_000);

afterAll(async () => {
  await terminal?.stop();
  await publisher?.endAsync(true);
  if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
  (server as (Server & { closeAllConnections?: () => void }) | undefined)?.closeAllConnections?.();
  if (server) await new Promise<void>((r) => server.close(() => r()));
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('signed commands on a terminal daemon', () => {
  it('a forged, unsigned, stale or misaddressed open_gate_once opens nothing and commits nothing', async () => {
    const before = terminal.store.outbox.lastSeq;
    await publish(sign('open_gate_once', { key: generateKeyPair('EdDSA') }));
    await publish(new TextEncoder().encode('open_gate_once')); // the old unsigned form
    await publish(sign('open_gate_once', { terminal: 'gate-other' }));
    await waitFor('three refusals logged', () => warned(/command that does not verify/) === 3, 10_000);
    await publish(sign('open_gate_once', { t: Date.now() - 6 * 60_000 }));
    await waitFor('stale command logged', () => warned(/outside the 5-minute window/) === 1, 10_000);
    // A harmless genuine command afterwards: once it is logged, everything before it was handled.
    await publish(sign('reload'));
    await waitFor('reload handled', () => logLines.some((l) => l.cmd === 'reload'), 10_000);
    expect(output.signals).toEqual([]);
    expect(terminal.store.outbox.lastSeq).toBe(before);
  });

  it('the same signed open_gate_once delivered twice opens once', async () => {
    const before = terminal.store.outbox.lastSeq;
    const cmd = sign('open_gate_once', { id: '00112233445566ff' });
    await publish(cmd);
    await publish(cmd);
    await waitFor('the duplicate logged', () => warned(/command already run/) === 1, 10_000);
    await waitFor('the gate opened', () => output.signals.length === 1, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(output.signals.map((s) => s.decision)).toEqual(['accept']);
    expect(terminal.store.outbox.lastSeq).toBe(before + 1);
  });
});
