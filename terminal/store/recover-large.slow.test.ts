// A large outbox through recover (seconds of disk work): runs with the integration project.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoverStore } from './recover.js';
import { SqliteStore } from './sqlite.js';

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'passgate-store-'));
    store = new SqliteStore(join(dir, 'terminal.db'));
    store.open();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recover keeps 200,000 outbox events and the seq counter (no spread of huge arrays)', () => {
    store.close();
    const n = 200_000;
    const raw = new Database(store.path);
    raw.transaction(() => {
      const ins = raw.prepare('INSERT INTO outbox (seq, kind, at, body) VALUES (?, ?, ?, ?)');
      for (let seq = 1; seq <= n; seq++)
        ins.run(seq, 'entry', 1_000 + seq, JSON.stringify({ seq, kind: 'entry', at: 1_000 + seq }));
      raw.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'").run(n);
      raw.prepare("UPDATE meta SET value = ? WHERE key = 'last_event_at'").run(1_000 + n);
    })();
    raw.close();
    const report = recoverStore(store.path);
    expect(report).toMatchObject({ keptEvents: n, lastSeq: n, ackedSeq: 0, lostEventRows: 0, markers: 0 });
    expect(readdirSync(dir).filter((f) => f.includes('.recovering'))).toEqual([]);
    store.open();
    expect(store.outbox.depth).toBe(n);
    expect(store.outbox.pendingEvents(n - 2, 10).map((e) => e.seq)).toEqual([n - 1, n]);
    expect(store.commitEvent({ kind: 'entry', at: 1 }).seq).toBe(n + 1);
    expect(store.clock.record().lastEventAt).toBe(1_000 + n);
  });
});
