// A terminal enrolled at an in-process central, run as a real daemon process (`passgate terminal start`)
// with an online config (MQTT to central) and an offline one (no sync) on the same data folder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { enrollTerminal } from '../../testkit/fleet.js';
import { waitFor } from '../../testkit/wait.js';
import { ensureBuilt, LineClient, startDaemon } from './fixture.js';

/** Online and offline configs of one enrolled terminal (same data folder), reading lines over TCP. */
export async function enrollOnlineAndOffline(
  central: Central,
  dir: string,
  id: string,
): Promise<{ online: string; offline: string; db: string }> {
  const online = await enrollTerminal(central, dir, {
    id,
    role: 'turnstile',
    gate: 'north',
    requirement: { k: 'venue', v: 'zoo' },
    label: id,
  });
  const c = JSON.parse(readFileSync(online, 'utf8')) as Record<string, unknown>;
  c.inputs = { stdin: false, tcp: { port: 0 }, repeatIgnoreMs: 0 };
  writeFileSync(online, JSON.stringify(c));
  const offline = join(dir, id, 'offline.json');
  const { mqtt: _mqtt, ...rest } = c;
  writeFileSync(offline, JSON.stringify(rest));
  return { online, offline, db: join(dir, id, 'terminal.db') };
}

export interface Status {
  lastSeq: number;
  outboxDepth: number;
  seqHold: boolean;
}

/**
 * Runs the daemon, sends n lines (each a committed `malformed` deny), waits for the outbox to drain when
 * online, stops it with SIGTERM. Returns the terminal's last seq.
 */
export async function decide(config: string, n: number, tag: string, online: boolean): Promise<number> {
  const d = await startDaemon(config);
  const status = async () => (await (await fetch(`http://127.0.0.1:${d.httpPort}/status`)).json()) as Status;
  try {
    const c = await LineClient.connect(d.tcpPort);
    for (let i = 0; i < n; i++) await c.send(`PG1:NOT-A-CODE-${tag}-${i}`);
    c.close();
    if (online)
      await waitFor(`${tag}: outbox drained`, async () => (await status()).outboxDepth === 0, 30_000);
    return (await status()).lastSeq;
  } finally {
    d.proc.kill('SIGTERM');
    await d.exited;
  }
}

/**
 * Registers beforeAll/afterAll for a suite: builds dist/ when needed, starts central in this process
 * (embedded aedes on a free port, SQLite, no HTTP, no beacons) in a temp folder, and removes it after.
 */
export function centralForSuite(name: string): { central: () => Central; dir: () => string } {
  let dir = '';
  let central: Central | undefined;
  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), `passgate-${name}-`));
    central = await startCentral({
      dataDir: join(dir, 'central'),
      mqttPort: 0,
      httpPort: -1,
      logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
      scryptCost: 10,
      beaconEveryMs: 0,
    });
  }, 120_000);
  afterAll(async () => {
    await central?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return { central: () => central!, dir: () => dir };
}
