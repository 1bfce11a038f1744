// kill -9 the real daemon in a loop while lines flow, then check the outbox: every answered decision
// has exactly one event with the same outcome, seqs are contiguous from 1, and the database is intact.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, LineClient, makeFleet, runCli, startDaemon, type Fleet } from './fixture.js';

const ROUNDS = 8;

describe('crash safety (kill -9 under load)', () => {
  let fleet: Fleet;
  const codes: string[] = [];

  beforeAll(() => {
    ensureBuilt();
    fleet = makeFleet({ antiPassbackSeconds: 0 });
    const loaded = runCli([
      'terminal',
      'load-lists',
      '--config',
      fleet.configFile,
      '--lists',
      fleet.listsDir,
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const creds = Array.from({ length: 40 }, (_, i) => fleet.credential(`m-${i}`));
    for (let i = 0; i < 600; i++)
      codes.push(i % 5 === 4 ? `PG1:GARBAGE-${i}` : fleet.qr(creds[i % creds.length]!));
  }, 120_000);

  afterAll(() => fleet?.cleanup());

  it('never answers without exactly one committed event, never reuses a seq', async () => {
    const answered: Array<{ seq: number; decision: string; reason: string }> = [];
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const daemon = await startDaemon(fleet.configFile);
      const clients = await Promise.all([
        LineClient.connect(daemon.tcpPort),
        LineClient.connect(daemon.tcpPort),
      ]);
      let killed = false;
      const pump = async (c: LineClient) => {
        while (!killed) {
          const line = codes[next++ % codes.length]!;
          try {
            const r = (await c.send(line)) as { seq: number | null; decision: string; reason: string };
            if (r.seq !== null && r.seq !== undefined)
              answered.push({ seq: r.seq, decision: r.decision, reason: r.reason });
          } catch {
            return; // connection died with the process: that line may or may not have committed
          }
        }
      };
      const pumps = clients.map(pump);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 350));
      killed = true;
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
      await Promise.all(pumps);
      for (const c of clients) c.close();
    }
    expect(answered.length).toBeGreaterThan(ROUNDS * 5);

    const db = new Database(fleet.dbFile, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = db.prepare('SELECT seq, body FROM outbox ORDER BY seq').all() as Array<{
        seq: number;
        body: string;
      }>;
      const seqs = rows.map((r) => r.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      const lastSeq = db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").pluck().get();
      expect(lastSeq).toBe(seqs.length);
      const bySeq = new Map(
        rows.map((r) => [r.seq, JSON.parse(r.body) as { decision: string; reason: string }]),
      );
      const seen = new Set<number>();
      for (const a of answered) {
        expect(seen.has(a.seq), `seq ${a.seq} answered twice`).toBe(false);
        seen.add(a.seq);
        expect(bySeq.get(a.seq), `answered seq ${a.seq} has no event`).toMatchObject({
          decision: a.decision,
          reason: a.reason,
        });
      }
    } finally {
      db.close();
    }
  }, 120_000);
});
