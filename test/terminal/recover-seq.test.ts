// `terminal recover` after the seq counter became unreadable must never reuse a seq (issue 13 item 3).
// Real processes and files: central in this process (embedded aedes + SQLite), the terminal daemon as a
// child process (`passgate terminal start`), `passgate terminal recover` as a child process. A terminal
// syncs 200 decisions, makes 100 more offline, its database is damaged, it is recovered and makes 30 new
// decisions online: central must end with every one of the 30.
//   header: the first 100 bytes overwritten. The rows are still in the file: raw-page salvage finds them
//           and the counter (300); the new events get 301…330.
//   wiped:  the file truncated to nothing: no row is left, the counter restarts at 0, so the outbox is
//           held until central's retained ack (200) arrives; the 30 new events are renumbered to 201…230.
import { closeSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './fixture.js';
import { centralForSuite, decide, enrollOnlineAndOffline } from './synced-terminal.js';

const suite = centralForSuite('recover-seq');

async function scenario(id: string, damage: (db: string) => void) {
  const t = await enrollOnlineAndOffline(suite.central(), suite.dir(), id);
  const synced = await decide(t.online, 200, 'synced', true);
  const offline = await decide(t.offline, 100, 'offline', false);
  damage(t.db);
  const rec = runCli(['terminal', 'recover', '--config', t.online, '--json']);
  expect(rec.code, rec.stderr).toBe(0);
  const report = JSON.parse(rec.stdout) as { seqCounterLost: boolean; keptEvents: number; lastSeq: number };
  const final = await decide(t.online, 30, 'after', true).catch((err: Error) => err);
  const atCentral = await suite.central().events(id, 0, 10_000);
  const seqs = atCentral.map((e) => e.seq);
  return { synced, offline, report, final, atCentral, seqs };
}

const run = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('terminal recover never reuses a seq', () => {
  it('header overwritten: the rows and the counter are salvaged from the raw pages; the 30 new decisions reach central', async () => {
    const r = await scenario('rec-header', (db) => {
      const f = openSync(db, 'r+');
      writeSync(f, Buffer.alloc(100, 0xab), 0, 100, 0);
      closeSync(f);
    });
    const fresh = r.atCentral.filter((e) => e.seq > r.offline && e.reason === 'malformed');
    console.info(
      `header: synced ${r.synced}, offline up to ${r.offline}; recover kept ${r.report.keptEvents}, last seq ` +
        `${r.report.lastSeq}; central holds ${r.atCentral.length}, ${fresh.length} of the 30 new decisions`,
    );
    expect(r.final).not.toBeInstanceOf(Error);
    expect(r.report.keptEvents).toBeGreaterThanOrEqual(100);
    expect(r.report.lastSeq).toBe(r.offline);
    expect(fresh).toHaveLength(30);
    expect(r.seqs).toEqual(run(r.final as number));
  }, 120_000);

  it('file wiped: the counter restarts from nothing, the outbox waits for central’s ack and the new decisions get fresh seqs', async () => {
    const r = await scenario('rec-wiped', (db) => {
      rmSync(`${db}-wal`, { force: true });
      truncateSync(db, 0);
    });
    const fresh = r.atCentral.filter((e) => e.seq > r.synced && e.reason === 'malformed');
    console.info(
      `wiped: synced ${r.synced}, offline up to ${r.offline} (destroyed); counter lost ${r.report.seqCounterLost}; ` +
        `central holds ${r.atCentral.length}, ${fresh.length} of the 30 new decisions`,
    );
    expect(r.report.seqCounterLost).toBe(true);
    expect(r.final).not.toBeInstanceOf(Error);
    // The offline decisions were destroyed with the file; the new ones follow central's last seq.
    expect(fresh).toHaveLength(30);
    expect(r.seqs).toEqual(run(r.final as number));
  }, 120_000);
});
