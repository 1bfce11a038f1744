// A terminal enrolled at an in-process central, run as a real daemon process (`passgate terminal start`)
// with an online config (MQTT to central) and an offline one (no sync) on the same data folder.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Central } from '../../central/index.js';
import { enrollTerminal } from '../../demo/fleet.js';
import { waitFor } from '../helpers/components.js';
import { LineClient, startDaemon } from './fixture.js';

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
      await waitFor(async () => (await status()).outboxDepth === 0, 30_000, `${tag}: outbox drained`);
    return (await status()).lastSeq;
  } finally {
    d.proc.kill('SIGTERM');
    await d.exited;
  }
}
