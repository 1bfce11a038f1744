// Outbox damage that PRAGMA quick_check does not see must not stall the sync (issue 13 item 4): one
// broken byte in two event bodies leaves a database that opens and passes quick_check, but whose rows
// central would refuse. Real processes: central in this process (aedes + SQLite), the terminal daemon as
// a child process. The unreadable rows go out as record_lost markers, the outbox drains, nothing is
// resent in a loop, /healthz says 503 outbox_damaged and central's fleet status shows the count.
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/wait.js';
import { startDaemon } from './fixture.js';
import { centralForSuite, decide, enrollOnlineAndOffline, type Status } from './synced-terminal.js';

const suite = centralForSuite('outbox-damage');

/** Breaks one byte of the body of the row with this seq, in place in the file (every copy of it). */
function breakBody(db: string, seq: number): void {
  const bytes = readFileSync(db);
  const needle = Buffer.from(`{"seq":${seq},"kind":"entry"`);
  let found = 0;
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1), found++)
    bytes[at + needle.length - 2] = 0x01; // "entr\x01": not a known kind (and not valid JSON text either)
  if (found === 0) throw new Error(`row ${seq} not found in the file`);
  writeFileSync(db, bytes);
}

describe('outbox damage quick_check misses', () => {
  it('unreadable rows become record_lost, the outbox drains, health and central show the damage', async () => {
    const t = await enrollOnlineAndOffline(suite.central(), suite.dir(), 'dmg-gate');
    const last = await decide(t.offline, 60, 'offline', false);
    const victims = [last - 40, last - 10];
    for (const seq of victims) breakBody(t.db, seq);
    const check = new Database(t.db, { readonly: true });
    expect(check.pragma('quick_check', { simple: true })).toBe('ok');
    check.close();

    const d = await startDaemon(t.online);
    try {
      const status = async () =>
        (await (await fetch(`http://127.0.0.1:${d.httpPort}/status`)).json()) as Status & {
          outboxDamaged: number;
        };
      await waitFor('the outbox drained', async () => (await status()).outboxDepth === 0, 30_000);
      const events = await suite.central().events('dmg-gate', 0, 10_000);
      const lastSeq = (await status()).lastSeq;
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
      const lost = events.filter((e) => e.kind === 'record_lost');
      expect(lost.map((e) => e.seq)).toEqual(victims);
      const health = await fetch(`http://127.0.0.1:${d.httpPort}/healthz`);
      expect(health.status).toBe(503);
      expect(JSON.stringify(await health.json())).toMatch(/outbox_damaged: 2/);
      await waitFor(
        "central's fleet status showing the damage",
        async () =>
          (await suite.central().status()).terminals.find((x) => x.id === 'dmg-gate')?.outboxDamaged === 2,
        15_000,
      );
      // No resend loop: the batches were acked, nothing is in flight any more.
      expect(d.stderr()).not.toMatch(/could not read the outbox/);
      console.info(
        `outbox damage: ${victims.length} broken rows → ${lost.length} record_lost at central, ${events.length} events, drained`,
      );
    } finally {
      d.proc.kill('SIGTERM');
      await d.exited;
    }
  }, 120_000);
});
