// Central's default store: one SQLite file (WAL) in the data folder. No setup.
import Database from 'better-sqlite3';
import { makePrivate, sqliteFiles, withPrivateUmask } from '../../shared/private-files.js';
import type { TerminalEvent } from '../../shared/events.js';
import type { TerminalStatus } from '../../shared/sync.js';
import {
  ackAfter,
  gapAlert,
  alertFromRow,
  eventFromBytes,
  presentationKey,
  PRESENTATION_MEMORY_MS,
  sameBytes,
  eventToBytes,
  statusToJson,
  terminalFromRow,
  type TerminalRow,
} from './codec.js';
import type {
  Alert,
  CentralListType,
  CentralStore,
  CommitResult,
  EnrollmentGrant,
  ListChange,
  ListElement,
  ListState,
  NewTerminal,
  TerminalCredentialHashes,
  TerminalRecord,
} from './types.js';
import { SqliteLoanStore } from '../loans/sqlite.js';
import { LOANS_SCHEMA } from '../loans/sql.js';
import type { StoreHealth } from './outage.js';

/**
 * Versioned migrations (PRAGMA user_version): entry i brings the schema from version i to i+1. Append
 * only; never edit a released entry. Version 1 is the spine's schema (IF NOT EXISTS, so it also adopts a
 * database made before versioning).
 */
export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE IF NOT EXISTS terminals (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, alg TEXT NOT NULL, public_key BLOB NOT NULL,
  secret_hash TEXT NOT NULL, mosquitto_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
  acked_seq INTEGER NOT NULL DEFAULT 0, last_seen INTEGER, status_json TEXT);
CREATE TABLE IF NOT EXISTS events (
  terminal TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL,
  received_at INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (terminal, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS list_meta (
  list_type TEXT PRIMARY KEY, version INTEGER NOT NULL, snapshot_version INTEGER NOT NULL, snapshot_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS list_elements (
  list_type TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, data TEXT,
  version INTEGER NOT NULL, PRIMARY KEY (list_type, kind, key));
CREATE INDEX IF NOT EXISTS list_elements_version ON list_elements (list_type, version);
CREATE TABLE IF NOT EXISTS enrollment_codes (
  code_hash TEXT PRIMARY KEY, terminal TEXT NOT NULL, role TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER);
`,
  // 2: retired terminals, quarantined seq conflicts, presentations seen (cross-terminal replay), alerts.
  `
ALTER TABLE terminals ADD COLUMN retired_at INTEGER;
CREATE TABLE IF NOT EXISTS seq_conflicts (
  terminal TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, received_at INTEGER NOT NULL,
  PRIMARY KEY (terminal, seq, body)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS presentations (
  key TEXT PRIMARY KEY, terminal TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS presentations_age ON presentations (received_at);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, terminal TEXT NOT NULL,
  detail TEXT NOT NULL);
`,
  // 3: the library loans ledger, pending returns and loan conflicts (central/loans/sql.ts; IF NOT EXISTS:
  // databases from before the numbered migrations already have them).
  LOANS_SCHEMA('INTEGER'),
];

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length)
    throw new Error(
      `central database schema version ${current} is newer than this passgate (${MIGRATIONS.length}); upgrade passgate`,
    );
  for (let v = current; v < MIGRATIONS.length; v++)
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
}

export class SqliteCentralStore implements CentralStore {
  private db: Database.Database | undefined;
  readonly loans = new SqliteLoanStore(() => this.conn);

  constructor(private readonly file: string) {}

  private get conn(): Database.Database {
    if (!this.db) throw new Error('central store is not open: call init() first');
    return this.db;
  }

  private readonly startedAt = Date.now();

  /** A local file: it does not go away like a server does (a full disk fails each call instead). */
  health(): StoreHealth {
    return { state: 'ok', since: this.startedAt, outages: 0 };
  }

  async ping(): Promise<StoreHealth> {
    return this.health();
  }

  async init(): Promise<void> {
    // 0600 for the database and its -wal/-shm (SQLite gives side files the database file's mode).
    const db = withPrivateUmask(() => {
      const d = new Database(this.file);
      d.pragma('journal_mode = WAL');
      return d;
    });
    makePrivate(...sqliteFiles(this.file));
    // FULL: an ack tells the terminal it may delete those events, so the commit must survive a power cut
    // (NORMAL in WAL mode can lose the last commits on power loss).
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    try {
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  async addTerminal(t: NewTerminal): Promise<void> {
    this.conn
      .prepare(
        `INSERT INTO terminals (id, role, alg, public_key, secret_hash, mosquitto_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(t.id, t.role, t.alg, Buffer.from(t.publicKey), t.secretHash, t.mosquittoHash, t.createdAt);
  }

  async replaceTerminalCredentials(id: string, c: TerminalCredentialHashes): Promise<boolean> {
    const r = this.conn
      .prepare(
        'UPDATE terminals SET alg = ?, public_key = ?, secret_hash = ?, mosquitto_hash = ? WHERE id = ?',
      )
      .run(c.alg, Buffer.from(c.publicKey), c.secretHash, c.mosquittoHash, id);
    return r.changes === 1;
  }

  async terminal(id: string): Promise<TerminalRecord | undefined> {
    const row = this.conn.prepare('SELECT * FROM terminals WHERE id = ?').get(id) as TerminalRow | undefined;
    return row && terminalFromRow(row);
  }

  async terminals(): Promise<TerminalRecord[]> {
    return (this.conn.prepare('SELECT * FROM terminals ORDER BY id').all() as TerminalRow[]).map(
      terminalFromRow,
    );
  }

  async recordStatus(id: string, status: TerminalStatus, seenAt: number): Promise<void> {
    this.conn
      .prepare('UPDATE terminals SET status_json = ?, last_seen = ? WHERE id = ?')
      .run(statusToJson(status), seenAt, id);
  }

  async setSecretHash(id: string, secretHash: string): Promise<void> {
    this.conn.prepare('UPDATE terminals SET secret_hash = ? WHERE id = ?').run(secretHash, id);
  }

  async retireTerminal(id: string, at: number): Promise<boolean> {
    return (
      this.conn.prepare('UPDATE terminals SET retired_at = coalesce(retired_at, ?) WHERE id = ?').run(at, id)
        .changes > 0
    );
  }

  async commitBatch(terminal: string, events: TerminalEvent[], receivedAt: number): Promise<CommitResult> {
    const db = this.conn;
    const insert = db.prepare(
      'INSERT INTO events (terminal, seq, kind, at, received_at, body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const stored = db.prepare('SELECT body FROM events WHERE terminal = ? AND seq = ?').pluck();
    const quarantine = db.prepare(
      'INSERT INTO seq_conflicts (terminal, seq, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const present = db.prepare(
      'INSERT INTO presentations (key, terminal, seq, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const presentedBy = db.prepare('SELECT terminal, seq FROM presentations WHERE key = ?');
    return db.transaction((): CommitResult => {
      const row = db.prepare('SELECT acked_seq FROM terminals WHERE id = ?').get(terminal) as
        { acked_seq: number } | undefined;
      if (!row) throw new Error(`unknown terminal ${terminal}`);
      const before = row.acked_seq;
      const out: CommitResult = {
        acked: before,
        inserted: 0,
        beyondAck: false,
        conflicts: [],
        crossTerminal: [],
      };
      if (events.length === 0) return out;
      if (events[0]!.seq > before + 1) return { ...out, beyondAck: true };
      for (const e of events) {
        const body = eventToBytes(e);
        if (insert.run(terminal, e.seq, e.kind, e.at, receivedAt, body).changes === 1) {
          out.inserted++;
          const key = presentationKey(e);
          if (key && present.run(key, terminal, e.seq, receivedAt).changes === 0) {
            const first = presentedBy.get(key) as { terminal: string; seq: number };
            if (first.terminal !== terminal)
              out.crossTerminal.push({ key, seq: e.seq, otherTerminal: first.terminal, otherSeq: first.seq });
          }
        } else if (!sameBytes(stored.get(terminal, e.seq) as Buffer, body)) {
          quarantine.run(terminal, e.seq, body, receivedAt);
          out.conflicts.push(e.seq);
        }
      }
      out.acked = ackAfter(before, events[events.length - 1]!.seq, out.conflicts);
      if (out.acked !== before)
        db.prepare('UPDATE terminals SET acked_seq = ? WHERE id = ?').run(out.acked, terminal);
      db.prepare('DELETE FROM presentations WHERE received_at < ?').run(receivedAt - PRESENTATION_MEMORY_MS);
      return out;
    })();
  }

  async acceptGap(terminal: string, fromSeq: number, at: number): Promise<{ before: number; after: number }> {
    const db = this.conn;
    return db.transaction(() => {
      const row = db.prepare('SELECT acked_seq FROM terminals WHERE id = ?').get(terminal) as
        { acked_seq: number } | undefined;
      if (!row) throw new Error(`unknown terminal ${terminal}`);
      const before = row.acked_seq;
      const after = Math.max(before, fromSeq - 1);
      if (after !== before) {
        db.prepare('UPDATE terminals SET acked_seq = ? WHERE id = ?').run(after, terminal);
        this.insertAlert(gapAlert(terminal, before, after, at));
      }
      return { before, after };
    })();
  }

  async quarantined(terminal?: string): Promise<{ terminal: string; seq: number; receivedAt: number }[]> {
    const rows = (
      terminal
        ? this.conn
            .prepare('SELECT terminal, seq, received_at FROM seq_conflicts WHERE terminal = ? ORDER BY seq')
            .all(terminal)
        : this.conn
            .prepare('SELECT terminal, seq, received_at FROM seq_conflicts ORDER BY terminal, seq')
            .all()
    ) as { terminal: string; seq: number; received_at: number }[];
    return rows.map((r) => ({ terminal: r.terminal, seq: r.seq, receivedAt: r.received_at }));
  }

  private insertAlert(a: Omit<Alert, 'id'>): void {
    this.conn
      .prepare('INSERT INTO alerts (at, kind, terminal, detail) VALUES (?, ?, ?, ?)')
      .run(a.at, a.kind, a.terminal, JSON.stringify(a.detail));
  }

  async addAlert(a: Omit<Alert, 'id'>): Promise<void> {
    this.insertAlert(a);
  }

  async alerts(limit: number): Promise<Alert[]> {
    const rows = this.conn
      .prepare('SELECT id, at, kind, terminal, detail FROM alerts ORDER BY id DESC LIMIT ?')
      .all(limit) as { id: number; at: number; kind: Alert['kind']; terminal: string; detail: string }[];
    return rows.map(alertFromRow);
  }

  async alertCount(): Promise<number> {
    return this.conn.prepare('SELECT count(*) FROM alerts').pluck().get() as number;
  }

  async eventCount(terminal?: string): Promise<number> {
    const stmt = terminal
      ? this.conn.prepare('SELECT count(*) FROM events WHERE terminal = ?').pluck()
      : this.conn.prepare('SELECT count(*) FROM events').pluck();
    return (terminal ? stmt.get(terminal) : stmt.get()) as number;
  }

  async events(terminal: string, afterSeq: number, limit: number): Promise<TerminalEvent[]> {
    const rows = this.conn
      .prepare('SELECT body FROM events WHERE terminal = ? AND seq > ? ORDER BY seq LIMIT ?')
      .pluck()
      .all(terminal, afterSeq, limit) as Buffer[];
    return rows.map((b) => eventFromBytes(b));
  }

  async changeList(type: CentralListType, changes: ListChange[], minVersion = 0): Promise<number> {
    const db = this.conn;
    return db.transaction((): number => {
      const version = Math.max(this.metaRow(type).version + 1, minVersion);
      db.prepare(
        'INSERT INTO list_meta (list_type, version, snapshot_version, snapshot_at) VALUES (?, ?, 0, 0) ON CONFLICT (list_type) DO UPDATE SET version = excluded.version',
      ).run(type, version);
      const upsert = db.prepare(
        `INSERT INTO list_elements (list_type, kind, key, state, data, version) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (list_type, kind, key) DO UPDATE SET state = excluded.state, data = excluded.data, version = excluded.version`,
      );
      for (const c of changes) upsert.run(type, c.kind, c.key, c.state, c.data ?? null, version);
      return version;
    })();
  }

  private metaRow(type: CentralListType): ListState {
    const row = this.conn
      .prepare('SELECT version, snapshot_version, snapshot_at FROM list_meta WHERE list_type = ?')
      .get(type) as { version: number; snapshot_version: number; snapshot_at: number } | undefined;
    return row
      ? { version: row.version, snapshotVersion: row.snapshot_version, snapshotAt: row.snapshot_at }
      : { version: 0, snapshotVersion: 0, snapshotAt: 0 };
  }

  async listState(type: CentralListType): Promise<ListState> {
    return this.metaRow(type);
  }

  async listElements(
    type: CentralListType,
    sinceVersion: number,
  ): Promise<{ version: number; elements: ListElement[] }> {
    const db = this.conn;
    return db.transaction(() => {
      const version = this.metaRow(type).version;
      const rows = db
        .prepare(
          'SELECT kind, key, state, data, version FROM list_elements WHERE list_type = ? AND version > ? ORDER BY kind, key',
        )
        .all(type, sinceVersion) as (ListElement & { data: string | null })[];
      const elements = rows.map((r) => {
        const e: ListElement = { kind: r.kind, key: r.key, state: r.state, version: r.version };
        if (r.data !== null) e.data = r.data;
        return e;
      });
      return { version, elements };
    })();
  }

  async markSnapshot(type: CentralListType, version: number, at: number): Promise<void> {
    this.conn
      .prepare(
        'UPDATE list_meta SET snapshot_version = ?, snapshot_at = ? WHERE list_type = ? AND snapshot_version <= ?',
      )
      .run(version, at, type, version);
  }

  async addEnrollmentCode(codeHash: string, grant: EnrollmentGrant, expiresAt: number): Promise<void> {
    this.conn
      .prepare('INSERT INTO enrollment_codes (code_hash, terminal, role, expires_at) VALUES (?, ?, ?, ?)')
      .run(codeHash, grant.terminal, grant.role, expiresAt);
  }

  async useEnrollmentCode(codeHash: string, now: number): Promise<EnrollmentGrant | undefined> {
    const row = this.conn
      .prepare(
        `UPDATE enrollment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?
         RETURNING terminal, role`,
      )
      .get(now, codeHash, now) as EnrollmentGrant | undefined;
    return row ? { terminal: row.terminal, role: row.role } : undefined;
  }
}
