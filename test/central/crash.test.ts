// kill -9 of a terminal while it drains, and of central while it ingests: after restart every event is
// at central exactly once. Real processes: central (`passgate central start`, aedes + SQLite) and a
// simulated terminal with a durable SQLite outbox (testkit/sim-terminal.ts), both from dist/.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../shared/bytes.js';
import { generateKeyPair } from '../../shared/keys.js';
import { freePort } from '../../testkit/components.js';
import { waitFor } from '../../testkit/wait.js';

const root = join(import.meta.dirname, '..', '..');
const simTerminal = join(root, 'dist', 'testkit', 'sim-terminal.js');
let dir: string;
let mqttPort: number;
let httpPort: number;
let central: ChildProcess | undefined;

interface Status {
  terminals: { id: string; ackedSeq: number }[];
  events: number;
}

function startCentralProcess(): ChildProcess {
  return spawn(
    process.execPath,
    [
      join(root, 'bin', 'passgate.js'),
      ...['central', 'start', '--data', join(dir, 'central'), '--mqtt-port', String(mqttPort)],
      ...['--http-port', String(httpPort), '--scrypt-cost', '10'],
    ],
    { stdio: 'ignore' },
  );
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const token = readFileSync(join(dir, 'central', 'admin.token'), 'utf8').trim();
  const headers = { authorization: `Bearer ${token}` };
  const res = await fetch(
    `http://127.0.0.1:${httpPort}${path}`,
    body ? { method: 'POST', body: JSON.stringify(body), headers } : { headers },
  );
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function centralUp(): Promise<void> {
  await waitFor(
    'central',
    async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.ok === true,
    20_000,
  );
}

async function acked(id: string): Promise<number> {
  const s = await api<Status>('/status');
  return s.terminals.find((t) => t.id === id)?.ackedSeq ?? 0;
}

async function enroll(id: string): Promise<{ password: string; secretHex: string }> {
  const key = generateKeyPair('EdDSA');
  const creds = await api<{ password: string }>('/terminals', {
    id,
    role: 'turnstile',
    publicKey: toHex(key.publicKey),
  });
  return { password: creds.password, secretHex: toHex(key.secretKey) };
}

function startTerminal(id: string, t: { password: string; secretHex: string }, events: number): ChildProcess {
  return spawn(
    process.execPath,
    [
      simTerminal,
      join(dir, `${id}.db`),
      `mqtt://127.0.0.1:${mqttPort}`,
      id,
      t.password,
      t.secretHex,
      String(events),
      // Central's list public key: the terminal verifies central's signed acks with it.
      (JSON.parse(readFileSync(join(dir, 'central', 'list-key.json'), 'utf8')) as { publicKey: string })
        .publicKey,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

const exited = (p: ChildProcess) =>
  new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', r)));

beforeAll(async () => {
  if (!existsSync(simTerminal) || !existsSync(join(root, 'dist', 'cli', 'main.js')))
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')],
      {
        stdio: 'inherit',
      },
    );
  dir = mkdtempSync(join(tmpdir(), 'passgate-crash-'));
  mqttPort = await freePort();
  httpPort = await freePort();
  central = startCentralProcess();
  await centralUp();
}, 120_000);

afterAll(async () => {
  if (central && central.exitCode === null) {
    central.kill('SIGTERM');
    await exited(central);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('crashes (kill -9)', () => {
  it('terminal killed while draining: after restart every event is at central exactly once', async () => {
    const t = await enroll('crash-t');
    let term = startTerminal('crash-t', t, 3000);
    await waitFor('draining started', async () => (await acked('crash-t')) > 300, 30_000);
    term.kill('SIGKILL');
    await exited(term);
    expect(await acked('crash-t')).toBeLessThan(3000);
    term = startTerminal('crash-t', t, 3000);
    expect(await exited(term)).toBe(0);
    expect(await acked('crash-t')).toBe(3000);
    const s = await api<Status>('/status');
    expect(s.events).toBe(3000);
  }, 60_000);

  it('central killed while ingesting: after restart every event is at central exactly once', async () => {
    const t = await enroll('crash-c');
    const term = startTerminal('crash-c', t, 3000);
    await waitFor('ingest started', async () => (await acked('crash-c')) > 300, 30_000);
    central!.kill('SIGKILL');
    await exited(central!);
    central = startCentralProcess();
    await centralUp();
    expect(await exited(term)).toBe(0);
    expect(await acked('crash-c')).toBe(3000);
    const s = await api<Status>('/status');
    expect(s.events).toBe(6000);
  }, 60_000);
});
